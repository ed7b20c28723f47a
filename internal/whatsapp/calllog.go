package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Call is one request made to the Cloud API as the call log keeps it: what was called and what
// came back, never the access token (it travels in a header, which is not kept), the request
// body or a response body (customers' messages and numbers), or query values that could be
// secrets (appsecret_proof, a media URL's signature).
type Call struct {
	At       time.Time
	Method   string
	Path     string
	Status   int // 0: no HTTP answer
	Duration time.Duration
	// ErrorCode and ErrorMessage are Meta's error, when it answered with one (ErrorCode is
	// CodeUnknown for a failure without a Graph error object); ErrorMessage also says why a
	// call got no answer.
	ErrorCode    int
	ErrorMessage string
	HasError     bool
}

// CallRecorder keeps calls; it must not block (the call log writes in the background).
type CallRecorder func(ctx context.Context, c Call)

// CallLogTransport is an http.RoundTripper that tells a CallRecorder about every call made
// through it. The request's context reaches the recorder, so it can say who caused the call.
type CallLogTransport struct {
	Base   http.RoundTripper // http.DefaultTransport when nil
	Record CallRecorder
}

// maxErrorRead bounds what is read of a failed answer to find Meta's error in it.
const maxErrorRead = 64 << 10

// RoundTrip sends req and records it.
func (t *CallLogTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	start := time.Now()
	resp, err := base.RoundTrip(req)
	c := Call{At: start.UTC(), Method: req.Method, Path: RedactedPath(req.URL), Duration: time.Since(start)}
	if err != nil {
		c.HasError, c.ErrorCode, c.ErrorMessage = true, CodeUnknown, "No answer: "+transportError(err)
		t.Record(req.Context(), c)
		return resp, err
	}
	c.Status = resp.StatusCode
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Read the start of the body for Meta's error, and hand the caller the same bytes.
		head, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorRead))
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
		e := parseAPIError(resp.StatusCode, head, "")
		c.HasError, c.ErrorCode, c.ErrorMessage = true, e.Code, RedactedText(firstNonEmpty(e.Message, http.StatusText(resp.StatusCode)))
	}
	t.Record(req.Context(), c)
	return resp, nil
}

// transportError says why there was no answer, without the URL (*url.Error repeats it).
func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	return RedactedText(err.Error())
}

// keptQuery are query parameters whose values say what was asked and carry nothing secret or
// personal; every other parameter is listed by name only.
var keptQuery = map[string]bool{"fields": true, "limit": true, "status": true, "category": true, "language": true, "name": true}

// RedactedPath is the URL's path and its query with values that are not known to be harmless
// replaced: appsecret_proof, access_token, a media URL's signature, cursors.
func RedactedPath(u *url.URL) string {
	p := u.EscapedPath()
	q := u.Query()
	if len(q) == 0 {
		return p
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := "…"
		if keptQuery[k] {
			// Escaped just enough to stay one value: "fields=id,name" reads better than %2C.
			v = strings.NewReplacer("%", "%25", "&", "%26", "#", "%23", " ", "+").Replace(q.Get(k))
		}
		parts = append(parts, url.QueryEscape(k)+"="+v)
	}
	return p + "?" + strings.Join(parts, "&")
}

// RedactedText masks what could be a customer's phone number in a text from Meta (an error
// message can quote a parameter): any run of seven or more digits keeps its last four, and
// the text is cut to 300 characters.
func RedactedText(s string) string {
	var b strings.Builder
	flush := func(digits string) {
		if len(digits) >= 7 {
			b.WriteString("•••" + digits[len(digits)-4:])
		} else {
			b.WriteString(digits)
		}
	}
	start := -1
	for i, r := range s {
		if r >= '0' && r <= '9' {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			flush(s[start:i])
			start = -1
		}
		b.WriteRune(r)
	}
	if start >= 0 {
		flush(s[start:])
	}
	out := b.String()
	for utf8.RuneCountInString(out) > 300 {
		_, size := utf8.DecodeLastRuneInString(out)
		out = out[:len(out)-size]
	}
	return out
}
