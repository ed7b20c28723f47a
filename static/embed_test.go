package static

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func newTestAssets(t *testing.T) *Assets {
	t.Helper()
	a, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func embeddedNames(t *testing.T) []string {
	t.Helper()
	var names []string
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			names = append(names, name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no embedded files")
	}
	return names
}

func get(t *testing.T, h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestPathHashesEveryFile(t *testing.T) {
	a := newTestAssets(t)
	hashed := regexp.MustCompile(`^/static/(.+)\.([0-9a-f]{10})(\.[a-z0-9]+)$`)
	seen := map[string]string{}
	for _, name := range embeddedNames(t) {
		p := a.Path(name)
		m := hashed.FindStringSubmatch(p)
		if m == nil {
			t.Errorf("Path(%q) = %q, want /static/<name>.<10 hex>.<ext>", name, p)
			continue
		}
		if got := m[1] + m[3]; got != name {
			t.Errorf("Path(%q) = %q names %q", name, p, got)
		}
		data, err := fs.ReadFile(files, name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if want := hex.EncodeToString(sum[:])[:10]; m[2] != want {
			t.Errorf("Path(%q) hash = %s, want %s", name, m[2], want)
		}
		if other, dup := seen[p]; dup {
			t.Errorf("%q and %q share the URL %s", other, name, p)
		}
		seen[p] = name
	}
}

func TestPathOfExpectedFiles(t *testing.T) {
	a := newTestAssets(t)
	for _, name := range []string{"css/app.css", "js/app.js", "js/htmx.min.js", "img/logo.svg", "img/favicon.svg"} {
		if p := a.Path(name); p == "/static/"+name || !strings.HasPrefix(p, "/static/") {
			t.Errorf("Path(%q) = %q, want a hashed URL", name, p)
		}
	}
	if p := a.Path("js/htmx.min.js"); !regexp.MustCompile(`^/static/js/htmx\.min\.[0-9a-f]{10}\.js$`).MatchString(p) {
		t.Errorf("hash goes before the last extension only: got %q", p)
	}
	if p, q := a.Path("css/app.css"), a.Path("/css/app.css"); p != q {
		t.Errorf("a leading slash should not matter: %q vs %q", p, q)
	}
}

func TestPathOfUnknownFileIsUnhashed(t *testing.T) {
	a := newTestAssets(t)
	if got, want := a.Path("css/nope.css"), "/static/css/nope.css"; got != want {
		t.Errorf("Path(unknown) = %q, want %q", got, want)
	}
}

func TestHandlerServesHashedURLs(t *testing.T) {
	a := newTestAssets(t)
	h := a.Handler()
	wantType := map[string]string{
		".css": "text/css; charset=utf-8",
		".js":  "text/javascript; charset=utf-8",
		".svg": "image/svg+xml",
	}
	for _, name := range embeddedNames(t) {
		rec := get(t, h, http.MethodGet, a.Path(name), nil)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", a.Path(name), rec.Code)
			continue
		}
		data, _ := fs.ReadFile(files, name)
		if rec.Body.String() != string(data) {
			t.Errorf("GET %s: body differs from %s", a.Path(name), name)
		}
		hdr := rec.Header()
		if got := hdr.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s: Cache-Control = %q", name, got)
		}
		if got := hdr.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options = %q", name, got)
		}
		ext := name[strings.LastIndex(name, "."):]
		if want, ok := wantType[ext]; ok && hdr.Get("Content-Type") != want {
			t.Errorf("GET %s: Content-Type = %q, want %q", name, hdr.Get("Content-Type"), want)
		}
	}
}

func TestHandlerRevalidatesWithETag(t *testing.T) {
	a := newTestAssets(t)
	h := a.Handler()
	p := a.Path("css/app.css")
	etag := get(t, h, http.MethodGet, p, nil).Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	rec := get(t, h, http.MethodGet, p, http.Header{"If-None-Match": {etag}})
	if rec.Code != http.StatusNotModified {
		t.Errorf("conditional GET: status %d, want 304", rec.Code)
	}
	if rec := get(t, h, http.MethodHead, p, nil); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD: status %d, body %d bytes; want 200 and none", rec.Code, rec.Body.Len())
	}
}

func TestHandlerRefuses(t *testing.T) {
	a := newTestAssets(t)
	h := a.Handler()
	css := a.Path("css/app.css")
	stale := regexp.MustCompile(`\.[0-9a-f]{10}\.css$`).ReplaceAllString(css, ".0000000000.css")
	if stale == css {
		t.Fatal("test setup: hash not replaced")
	}
	notFound := []string{
		"/static/css/app.css",             // unhashed name
		stale,                             // hash of another version
		"/static/css/nope.0123456789.css", // unknown file
		"/static/",                        // directory listing
		"/static/css/",
		"/static/css",
		"/static/../embed.go",
		strings.TrimPrefix(css, "/static"), // hashed name outside the prefix
		strings.ToUpper(css),
	}
	for _, target := range notFound {
		if rec := get(t, h, http.MethodGet, target, nil); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", target, rec.Code)
		} else if rec.Header().Get("Cache-Control") != "" {
			t.Errorf("GET %s: a 404 must not be cached as immutable", target)
		}
	}
	if rec := get(t, h, http.MethodPost, css, nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", rec.Code)
	}
}

func TestContentTypeFallback(t *testing.T) {
	for name, want := range map[string]string{
		"x.css":   "text/css; charset=utf-8",
		"x.JS":    "text/javascript; charset=utf-8",
		"x.svg":   "image/svg+xml",
		"x.woff2": "font/woff2",
		"x.bin3":  "application/octet-stream",
	} {
		if got := contentType(name); got != want {
			t.Errorf("contentType(%q) = %q, want %q", name, got, want)
		}
	}
}
