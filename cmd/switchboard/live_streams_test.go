package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// liveStream is one member's open event stream and what arrived on it.
type liveStream struct {
	member liveMember
	events []liveEvent // in order of arrival; read only after done
	err    error       // why the stream ended, when the test did not end it
	done   chan struct{}
}

type liveEvent struct {
	kind byte  // 'c' changed, 'p' presence, 'n' mention notice, 'r' resync, 'l' list refresh
	conv int64 // the conversation named, or 0
	at   time.Time
}

var streamURLPattern = regexp.MustCompile(`sse-connect="([^"]+)"`)

// openStreams signs every member in as a browser does (the sign-in page's CSRF token, the
// password, the session cookie), loads their inbox page and opens the event stream that page
// names, and returns once the server has subscribed all of them.
func openStreams(ctx context.Context, t *testing.T, base string, team []liveMember) []*liveStream {
	t.Helper()
	// Keep-alive connections for the pages; each stream holds one of its own.
	tr := &http.Transport{MaxIdleConnsPerHost: 8, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	streams := make([]*liveStream, len(team))
	ready := make(chan error, len(team))
	// Sign-ins hash a password each (argon2id, 19 MiB): a few at a time, as members arrive.
	sem := make(chan struct{}, 4)
	for i, m := range team {
		s := &liveStream{member: m, done: make(chan struct{})}
		streams[i] = s
		go func() {
			sem <- struct{}{}
			resp, err := openStream(ctx, tr, base, m)
			<-sem
			if err != nil {
				ready <- fmt.Errorf("%s: %w", m.email, err)
				close(s.done)
				return
			}
			s.read(ctx, resp.Body, ready)
		}()
	}
	deadline := time.After(2 * time.Minute)
	for range team {
		select {
		case err := <-ready:
			if err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatal("the members' streams did not open within 2 minutes")
		}
	}
	return streams
}

func openStream(ctx context.Context, tr http.RoundTripper, base string, m liveMember) (*http.Response, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second}
	page := func(resp *http.Response, err error) (string, error) {
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return "", err
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%s %s: %s", resp.Request.Method, resp.Request.URL.Path, resp.Status)
		}
		return string(b), nil
	}
	login, err := page(c.Get(base + "/login"))
	if err != nil {
		return nil, err
	}
	csrf := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(login)
	if csrf == nil {
		return nil, errors.New("no CSRF token on the sign-in page")
	}
	if _, err := page(c.PostForm(base+"/login", url.Values{"email": {m.email}, "password": {livePassword}, "_csrf": {csrf[1]}})); err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	inbox, err := page(c.Get(base + "/inbox"))
	if err != nil {
		return nil, err
	}
	stream := streamURLPattern.FindStringSubmatch(inbox)
	if stream == nil {
		return nil, errors.New("the inbox page opens no event stream (no sse-connect)")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+stream[1], nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	// The stream lasts as long as the page: no client time-out.
	resp, err := (&http.Client{Transport: tr, Jar: jar}).Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s, %s", stream[1], resp.Status, resp.Header.Get("Content-Type"))
	}
	return resp, nil
}

// read parses the stream until it ends. The server subscribes before it writes its first
// line (retry:), so that line tells the member is subscribed.
func (s *liveStream) read(ctx context.Context, body io.ReadCloser, ready chan<- error) {
	defer close(s.done)
	defer body.Close()
	r := bufio.NewReader(body)
	var name, data string
	subscribed := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if !subscribed {
				ready <- fmt.Errorf("%s: stream ended before it began: %w", s.member.email, err)
			} else if ctx.Err() == nil {
				s.err = err
			}
			return
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "retry:"):
			if !subscribed {
				subscribed = true
				ready <- nil
			}
		case strings.HasPrefix(line, "event:"):
			name = strings.TrimSpace(line[len("event:"):])
		case strings.HasPrefix(line, "data:"):
			data = strings.TrimSpace(line[len("data:"):])
		case line == "" && name != "":
			s.events = append(s.events, parseLiveEvent(name, data, time.Now()))
			name, data = "", ""
		}
	}
}

// parseLiveEvent reads the frames of web/handlers_inbox_live.go: "c<id>" a conversation changed,
// "p<id>" who is on it changed, "notice" a mention in it, "resync" refresh everything,
// "conversation" refresh the list.
func parseLiveEvent(name, data string, at time.Time) liveEvent {
	ev := liveEvent{at: at}
	id, _ := strconv.ParseInt(data, 10, 64)
	switch {
	case name == "resync":
		ev.kind = 'r'
	case name == "conversation":
		ev.kind = 'l'
	case name == "notice":
		ev.kind, ev.conv = 'n', id
	case strings.HasPrefix(name, "c"), strings.HasPrefix(name, "p"):
		ev.kind, ev.conv = name[0], id
		if n, err := strconv.ParseInt(name[1:], 10, 64); err != nil || n != id {
			ev.conv = -1 // a malformed frame: counted as naming a conversation no one may see
		}
	default:
		ev.kind = '?'
	}
	return ev
}
