// js/htmx.min.js is htmx 2.0.11: dist/htmx.min.js of the npm package htmx.org@2.0.11, unmodified (0BSD; sha256 d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717).
// js/htmx-ext-sse.min.js is htmx's SSE extension 2.2.4: dist/sse.min.js of the npm package htmx-ext-sse@2.2.4, unmodified (0BSD; sha256 98a46496de0c3605fbffdce9167ba427bdd9553184f83f149c261891a92c0136).

// Package static holds the stylesheets, scripts and images of the web interface, embedded in the
// binary and served under content-hashed URLs.
//
// A hashed URL names exactly one version of a file, so it can be cached for a year and marked
// immutable: a changed file gets a new URL, and a page never mixes an old stylesheet with new markup.
// Views ask Assets.Path for the URL; Assets.Handler serves only those URLs.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed css js img
var files embed.FS

// Prefix is the URL path under which Handler serves the assets.
const Prefix = "/static/"

// hashLen is how many hex digits of the SHA-256 name a version: 40 bits, ample for a few dozen files.
const hashLen = 10

type asset struct {
	name        string // "css/app.css"
	hash        string // first hashLen hex digits of the SHA-256 of data
	data        []byte
	contentType string
}

// Assets maps embedded files to content-hashed URLs and serves them. It is immutable after New
// and safe for concurrent use.
type Assets struct {
	byName   map[string]*asset // "css/app.css" → asset
	byHashed map[string]*asset // "css/app.3f2a1b9c0d.css" → asset
}

// New reads every embedded file and computes its hashed name.
func New() (*Assets, error) {
	a := &Assets{byName: map[string]*asset{}, byHashed: map[string]*asset{}}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		data, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		as := &asset{
			name:        name,
			hash:        hex.EncodeToString(sum[:])[:hashLen],
			data:        data,
			contentType: contentType(name),
		}
		a.byName[name] = as
		a.byHashed[hashedName(name, as.hash)] = as
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("static: reading embedded files: %w", err)
	}
	return a, nil
}

// hashedName puts the hash before the last extension: "js/htmx.min.js" → "js/htmx.min.<hash>.js".
func hashedName(name, hash string) string {
	ext := path.Ext(name)
	return strings.TrimSuffix(name, ext) + "." + hash + ext
}

// contentType fixes the types of the extensions we ship, so a host's /etc/mime.types (which
// mime.TypeByExtension consults) cannot change what a browser is told: with nosniff, a wrong type
// would stop a stylesheet or script from loading.
func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".webp":
		return "image/webp"
	case ".woff2":
		return "font/woff2"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Path returns the URL of an embedded file, e.g. "css/app.css" → "/static/css/app.3f2a1b9c0d.css".
// For a name that is not embedded it returns "/static/"+name, which Handler answers with 404:
// a typo in a view shows up as a broken asset, not as a crash.
func (a *Assets) Path(name string) string {
	name = strings.TrimPrefix(name, "/")
	if as, ok := a.byName[name]; ok {
		return Prefix + hashedName(as.name, as.hash)
	}
	return Prefix + name
}

// Handler serves the hashed URLs that Path returns (the full request path, "/static/" included)
// with a year-long immutable cache lifetime. Unhashed names, stale hashes and directories are 404.
func (a *Assets) Handler() http.Handler {
	return http.HandlerFunc(a.serve)
}

func (a *Assets) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	as, ok := a.byHashed[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", as.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+as.hash+`"`)
	// ServeContent answers If-None-Match from the ETag and handles HEAD and Range; the zero
	// time leaves Last-Modified out, since the embedded files carry no modification time.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(as.data))
}
