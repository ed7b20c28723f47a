package audit

import (
	"context"
	"strings"
)

// Request is what the web layer knows about the request that caused an event.
type Request struct {
	ClientAddr string
	UserAgent  string
	RequestID  string
}

type (
	requestKey struct{}
	actorKey   struct{}
)

// WithRequest attaches request metadata that Append uses for events recorded under ctx, so
// that domain code records events without passing HTTP details around.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the metadata attached by WithRequest, or the zero Request.
func RequestFrom(ctx context.Context) Request {
	r, _ := ctx.Value(requestKey{}).(Request)
	return r
}

// WithActor attaches the authenticated actor of the request.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor attached by WithActor.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// withDefaults fills what the caller left empty: actor and request metadata from ctx, then
// Anonymous and OutcomeSuccess. The actor is taken whole, never field by field, so an event can
// not end up with one actor's id and another's name.
func withDefaults(ctx context.Context, ev Event) Event {
	if ev.Actor == (Actor{}) {
		if a, ok := ActorFrom(ctx); ok {
			ev.Actor = a
		} else {
			ev.Actor = Anonymous()
		}
	}
	r := RequestFrom(ctx)
	if ev.ClientAddr == "" {
		ev.ClientAddr = r.ClientAddr
	}
	if ev.UserAgent == "" {
		ev.UserAgent = r.UserAgent
	}
	if ev.RequestID == "" {
		ev.RequestID = r.RequestID
	}
	ev.UserAgent = truncateUTF8(strings.ToValidUTF8(ev.UserAgent, "\uFFFD"), maxUserAgent)
	if ev.Outcome == "" {
		ev.Outcome = OutcomeSuccess
	}
	return ev
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
