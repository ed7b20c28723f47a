package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/web/views/layout"
)

const (
	// liveRecheck is how often an open stream checks that its session and permissions still
	// hold: a deactivated member, a revoked session or a narrowed scope stops or narrows the
	// stream within this time, as the next request would.
	liveRecheck = 5 * time.Second
	// liveHeartbeat keeps proxies from closing a quiet stream and finds dead clients.
	liveHeartbeat = 25 * time.Second
	livePath      = "/inbox/live"
	// liveListEvery spaces out the "conversation" events that make an open list reload: a
	// supervisor who sees every conversation of a busy workspace would otherwise reload it for
	// every message. The first change is told at once, later ones at the end of the interval.
	liveListEvery = 500 * time.Millisecond
)

// inboxLiveAccess admits the members who read conversations, as the inbox pages do.
var inboxLiveAccess = authz.RequireAny(authz.ConversationsViewAssigned, authz.ConversationsViewAll, authz.ConversationsAssign)

// inboxLive streams server-sent events naming the conversations that changed among those the
// member may see: "conversation" for the list, "c<id>" for an open conversation, and "resync"
// when the member fell behind. The page fetches the changes through its usual routes.
func (s *Server) inboxLive(c echo.Context) error {
	if s.Live == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	sub := s.Live.Subscribe(principalOf(c))
	defer s.Live.Unsubscribe(sub)

	w := c.Response()
	h := w.Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set(echo.HeaderCacheControl, "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on at once
	w.WriteHeader(http.StatusOK)
	// A client reconnects after 3 s when the stream drops (the server restarts, the network blinks).
	if _, err := fmt.Fprint(w, "retry: 3000\n\n"); err != nil {
		return nil
	}
	w.Flush()

	ctx := c.Request().Context()
	recheck := time.NewTicker(liveRecheck)
	defer recheck.Stop()
	heartbeat := time.NewTicker(liveHeartbeat)
	defer heartbeat.Stop()
	var (
		lastList time.Time
		listDue  <-chan time.Time // set while a list event waits for its interval
	)
	for {
		var frame string
		select {
		case <-ctx.Done():
			return nil
		case <-s.shuttingDown:
			return nil
		case <-sub.Done():
			return nil
		case <-recheck.C:
			if !s.liveStillAllowed(c, sub) {
				// The page refreshes once more: that request meets the ended session (or the lost
				// permission) and takes the member to sign in, saying why, instead of a page that
				// silently stops updating.
				fmt.Fprint(w, "event: resync\ndata: 0\n\nevent: conversation\ndata: 0\n\n")
				w.Flush()
				return nil
			}
			continue
		case <-heartbeat.C:
			frame = ": ping\n\n"
		case <-listDue:
			listDue, lastList = nil, time.Now()
			frame = "event: conversation\ndata: 0\n\n"
		case ev := <-sub.Events():
			frame = conversationFrame(ev)
			if ev.Kind != inbox.LiveChanged {
				break // presence and mentions leave the list as it is
			}
			if listDue == nil {
				if wait := liveListEvery - time.Since(lastList); wait > 0 {
					listDue = time.After(wait)
				} else {
					lastList = time.Now()
					frame += "event: conversation\ndata: 0\n\n"
				}
			}
		}
		if _, err := fmt.Fprint(w, frame); err != nil {
			return nil // the client went away
		}
		w.Flush()
	}
}

// livePage is a page that listens to the inbox's event stream.
func (s *Server) livePage(c echo.Context, title, current string) layout.Page {
	p := s.page(c, title, current)
	if s.Live != nil {
		p.LiveURL = livePath
	}
	return p
}

// conversationFrame tells an open conversation that it changed; 0 tells every open page to
// refresh (the stream fell behind).
// "p<id>" says who is on the conversation changed, "notice" that the member was mentioned.
func conversationFrame(ev inbox.LiveEvent) string {
	switch {
	case ev.ConversationID == 0:
		return "event: resync\ndata: 0\n\n"
	case ev.Kind == inbox.LivePresence:
		return fmt.Sprintf("event: p%d\ndata: %d\n\n", ev.ConversationID, ev.ConversationID)
	case ev.Kind == inbox.LiveMention:
		return fmt.Sprintf("event: notice\ndata: %d\n\n", ev.ConversationID)
	}
	return fmt.Sprintf("event: c%d\ndata: %d\n\n", ev.ConversationID, ev.ConversationID)
}

// liveStillAllowed runs the checks of a new request for a stream that stays open: the session
// must still be valid and the member must still read conversations. The member's current
// visibility then filters what the stream sends.
func (s *Server) liveStillAllowed(c echo.Context, sub *inbox.Subscription) bool {
	p, _, _, reason, err := s.sessionPrincipal(c, s.Sessions.GetInt64(c.Request().Context(), sessionMemberID))
	if err != nil || reason != "" {
		return false
	}
	if !inboxLiveAccess.Allows(p) {
		return false
	}
	sub.SetPrincipal(p)
	return true
}
