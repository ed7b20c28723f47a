package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// DefaultBaseURL is Meta's Graph API host. Sandbox mode points the client at the simulator.
const DefaultBaseURL = "https://graph.facebook.com"

// DefaultVersion is the Graph API version the client calls unless told otherwise.
const DefaultVersion = "v23.0"

// maxResponseBody bounds what the client reads from Meta; Graph answers are small, and an
// unbounded read of a misbehaving proxy would let it exhaust memory.
const maxResponseBody = 8 << 20

// maxPages bounds cursor paging: 250 templates per WABA (6,000 verified) at 100 a page is far
// below it, so reaching it means the server is looping.
const maxPages = 1000

var versionRe = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// ErrNoToken is returned before any request when the credentials carry no access token.
var ErrNoToken = errors.New("whatsapp: no access token")

// Credentials are one WhatsApp Business Account's secrets, read from (encrypted) storage for
// each call. AppSecret is optional; when set, every call carries appsecret_proof.
type Credentials struct {
	Token     string
	AppSecret string
}

// String never prints the secrets, so that a Credentials value logged by mistake leaks nothing
// (no tokens or secrets in logs).
func (c Credentials) String() string {
	return fmt.Sprintf("whatsapp.Credentials{Token:%s AppSecret:%s}", redacted(c.Token), redacted(c.AppSecret))
}

// GoString is String, for %#v.
func (c Credentials) GoString() string { return c.String() }

// LogValue keeps secrets out of slog output.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("token", redacted(c.Token)), slog.String("app_secret", redacted(c.AppSecret)))
}

func redacted(s string) string {
	if s == "" {
		return "(none)"
	}
	return "(redacted)"
}

// Client calls the Cloud API. It is safe for concurrent use and holds no credentials.
type Client struct {
	baseURL string
	version string
	http    *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithVersion sets the Graph API version path segment, such as "v24.0".
func WithVersion(v string) Option { return func(c *Client) { c.version = v } }

// NewClient returns a client for baseURL (DefaultBaseURL when empty; the simulator's URL in
// sandbox mode). A nil httpClient gets one with a 30 s timeout: http.DefaultClient has none, and
// a hung Graph call would hold an agent's request forever.
func NewClient(baseURL string, httpClient *http.Client, opts ...Option) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	c := &Client{baseURL: strings.TrimRight(baseURL, "/"), version: DefaultVersion, http: httpClient}
	for _, o := range opts {
		o(c)
	}
	return c
}

// BaseURL is the host the client calls.
func (c *Client) BaseURL() string { return c.baseURL }

// Version is the Graph API version the client calls.
func (c *Client) Version() string { return c.version }

// do sends one Graph request. path is relative to the version ("123/messages"); in, when not
// nil, is sent as JSON; out, when not nil, receives the JSON answer.
func (c *Client) do(ctx context.Context, creds Credentials, method, path string, query url.Values, in, out any) error {
	if creds.Token == "" {
		return ErrNoToken
	}
	if !versionRe.MatchString(c.version) {
		return fmt.Errorf("whatsapp: version %q is not of the form v23.0", c.version)
	}
	u, err := url.Parse(c.baseURL + "/" + c.version + "/" + path)
	if err != nil {
		return fmt.Errorf("whatsapp: base URL: %w", err)
	}
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	if creds.AppSecret != "" {
		q.Set("appsecret_proof", AppSecretProof(creds.Token, creds.AppSecret))
	}
	u.RawQuery = q.Encode()

	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("whatsapp: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("whatsapp: %s %s: %w", method, path, err)
	}
	// The token travels in the header, never in the URL, so that it stays out of access logs.
	req.Header.Set("Authorization", "Bearer "+creds.Token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error repeats the URL, which carries appsecret_proof; report the cause only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("whatsapp: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return fmt.Errorf("whatsapp: %s %s: read response: %w", method, path, err)
	}
	if len(raw) > maxResponseBody {
		return fmt.Errorf("whatsapp: %s %s: response larger than %d bytes", method, path, maxResponseBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("whatsapp: %s %s: %w", method, path, parseAPIError(resp.StatusCode, raw, resp.Header.Get("X-Fb-Trace-Id")))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("whatsapp: %s %s: decode response: %w", method, path, err)
	}
	return nil
}

// Page is Graph's cursor-paged list shape.
type Page[T any] struct {
	Data   []T     `json:"data"`
	Paging *Paging `json:"paging,omitempty"`
}

// Paging is Graph's paging object.
type Paging struct {
	Cursors  Cursors `json:"cursors"`
	Next     string  `json:"next,omitempty"`
	Previous string  `json:"previous,omitempty"`
}

// Cursors are the opaque positions before and after the page.
type Cursors struct {
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// listAll follows cursors.after until the last page. Graph keeps returning cursors on the last
// page; the absence of `next` is what marks the end ("stop paging when the next link no longer
// appears"), and an empty page can still have a next. The request is rebuilt from our own base
// URL with the after cursor rather than by following `next`, whose URL can carry the access
// token in its query and names Meta's host even when we talk to the simulator.
func listAll[T any](ctx context.Context, c *Client, creds Credentials, path string, query url.Values) ([]T, error) {
	var all []T
	seen := map[string]bool{}
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	for range maxPages {
		var p Page[T]
		if err := c.do(ctx, creds, http.MethodGet, path, q, nil, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Data...)
		if p.Paging == nil || p.Paging.Next == "" || p.Paging.Cursors.After == "" {
			return all, nil
		}
		after := p.Paging.Cursors.After
		if seen[after] {
			return nil, fmt.Errorf("whatsapp: GET %s: paging cursor %q repeated", path, after)
		}
		seen[after] = true
		q.Set("after", after)
	}
	return nil, fmt.Errorf("whatsapp: GET %s: more than %d pages", path, maxPages)
}

// SuccessResponse is Graph's {"success":true}.
type SuccessResponse struct {
	Success bool `json:"success"`
}

func (c *Client) doSuccess(ctx context.Context, creds Credentials, method, path string, query url.Values, in any) error {
	var r SuccessResponse
	if err := c.do(ctx, creds, method, path, query, in, &r); err != nil {
		return err
	}
	if !r.Success {
		return fmt.Errorf("whatsapp: %s %s: Meta answered success=false", method, path)
	}
	return nil
}
