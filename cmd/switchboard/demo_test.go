package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer the server writes to while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The demo shows four-eyes template approval without adding anyone by hand: a Marketing lead
// (a custom role that approves templates) is printed with the other sign-ins, and a template the
// Administrator wrote waits in review for them.
func TestTheDemoHasASecondApproverWithWorkWaiting(t *testing.T) {
	dir := t.TempDir()
	// The second start finds the role, the member and the template already there.
	for range 2 {
		demoApproverStart(t, dir)
	}
}

func demoApproverStart(t *testing.T, dir string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &lockedBuffer{}, &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--demo", "--data", dir, "--addr", addr}, strings.NewReader(""), out, errOut,
			func(string) string { return "" })
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve --demo exited %d: %s", code, errOut.String())
		}
	}()
	base := "http://" + addr
	signIn := regexp.MustCompile(`Marketing lead\s+(\S+@demo\.switchboard\.test)\s+(\S+)`)
	var m []string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if m = signIn.FindStringSubmatch(out.String()); m != nil {
			if r, err := http.Get(base + "/healthz"); err == nil {
				r.Body.Close()
				break
			}
		}
	}
	if m == nil {
		t.Fatalf("the demo did not print the Marketing lead's sign-in:\n%s\n%s", out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "spring_offer") {
		t.Error("the start-up text does not point to the template waiting for review")
	}

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	get := func(path string) string {
		t.Helper()
		r, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return string(b)
	}
	csrf := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindStringSubmatch(get("/login"))
	if csrf == nil {
		t.Fatal("no CSRF token on the sign-in page")
	}
	r, err := c.PostForm(base+"/login", url.Values{"email": {m[1]}, "password": {m[2]}, "_csrf": {csrf[1]}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	list := get("/templates")
	link := regexp.MustCompile(`href="(/templates/\d+)"[^>]*>\s*spring_offer`).FindStringSubmatch(list)
	if link == nil {
		t.Fatalf("the Marketing lead does not see spring_offer on the templates page (signed in: %v)", strings.Contains(list, "Sign out"))
	}
	detail := get(link[1])
	if !strings.Contains(detail, `action="`+link[1]+`/approve"`) {
		t.Error("the Marketing lead is not offered to approve the Administrator's template")
	}
	if !strings.Contains(detail, "Demo Administrator") {
		t.Error("the template in review is not shown as written by the Administrator")
	}
}
