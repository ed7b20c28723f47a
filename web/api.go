package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/switchboard/switchboard/internal/apikeys"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/templates"
)

// The JSON API lives under apiPrefix. It authenticates with API keys only (Authorization:
// Bearer sb_live_…): the session cookie is not even read there, so a browser tab cannot be
// made to call it (no CSRF), and a stolen key is all an attacker could use.
const apiPrefix = "/api/v1"

func isAPI(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/api/") }

// problemType is one kind of API error (RFC 9457). Its type URI is stable: clients switch on
// it. The reference page documents each under its anchor.
type problemType struct {
	name   string
	status int
	title  string
}

func (t problemType) uri() string { return apiPrefix + "/docs#problem-" + t.name }

var (
	problemUnauthorized     = problemType{"unauthorized", http.StatusUnauthorized, "Missing or invalid API key"}
	problemMissingScope     = problemType{"missing-scope", http.StatusForbidden, "The API key lacks the permission this needs"}
	problemForbidden        = problemType{"forbidden", http.StatusForbidden, "Not allowed"}
	problemNotFound         = problemType{"not-found", http.StatusNotFound, "Not found"}
	problemMethod           = problemType{"method-not-allowed", http.StatusMethodNotAllowed, "Method not allowed"}
	problemBadRequest       = problemType{"bad-request", http.StatusBadRequest, "The request could not be read"}
	problemMediaType        = problemType{"unsupported-media-type", http.StatusUnsupportedMediaType, "Send JSON"}
	problemTooLarge         = problemType{"payload-too-large", http.StatusRequestEntityTooLarge, "The request body is too large"}
	problemValidation       = problemType{"validation-failed", http.StatusUnprocessableEntity, "Some fields are not valid"}
	problemConflict         = problemType{"conflict", http.StatusConflict, "That cannot be done now"}
	problemWindowClosed     = problemType{"window-closed", http.StatusConflict, "The 24-hour customer service window is closed"}
	problemNumberDisabled   = problemType{"number-disabled", http.StatusConflict, "The phone number is switched off"}
	problemIdempotencyReuse = problemType{"idempotency-key-reused", http.StatusUnprocessableEntity, "Idempotency-Key used for another request"}
	problemIdempotencyBusy  = problemType{"idempotency-key-in-progress", http.StatusConflict, "A request with this Idempotency-Key is in progress"}
	problemRateLimited      = problemType{"rate-limited", http.StatusTooManyRequests, "Too many requests"}
	problemSendFailed       = problemType{"send-failed", http.StatusBadGateway, "WhatsApp did not accept the message"}
	problemInternal         = problemType{"internal", http.StatusInternalServerError, "Something went wrong on our side"}
)

// problemTypes lists every problem type, for the reference page and the OpenAPI document.
var problemTypes = []problemType{
	problemUnauthorized, problemMissingScope, problemForbidden, problemNotFound, problemMethod, problemBadRequest,
	problemMediaType, problemTooLarge, problemValidation, problemConflict, problemWindowClosed, problemNumberDisabled,
	problemIdempotencyReuse, problemIdempotencyBusy, problemRateLimited, problemSendFailed, problemInternal,
}

// Problem is an RFC 9457 problem details object. Validation errors name their fields.
type Problem struct {
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Instance string         `json:"instance,omitempty"`
	Errors   []FieldProblem `json:"errors,omitempty"`
}

// FieldProblem is what is wrong with one field of the request.
type FieldProblem struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// apiError is an error with its problem type, raised by the API's own checks.
type apiError struct {
	kind   problemType
	detail string
	fields []FieldProblem
}

func (e *apiError) Error() string { return e.kind.name + ": " + e.detail }

func apiProblem(kind problemType, format string, args ...any) error {
	return &apiError{kind: kind, detail: fmt.Sprintf(format, args...)}
}

func fieldProblem(field, detail string) error {
	return &apiError{kind: problemValidation, detail: "Check " + field + ".", fields: []FieldProblem{{Field: field, Detail: detail}}}
}

// problemOf maps an error to its problem: the API's counterpart of classify.
func problemOf(err error) Problem {
	var (
		ae   *apiError
		he   *echo.HTTPError
		kind = problemInternal
		out  Problem
	)
	switch {
	case errors.As(err, &ae):
		kind, out.Detail, out.Errors = ae.kind, ae.detail, ae.fields
	case errors.As(err, &he):
		switch he.Code {
		case http.StatusUnauthorized:
			kind = problemUnauthorized
		case http.StatusForbidden:
			kind = problemForbidden
		case http.StatusNotFound:
			kind = problemNotFound
		case http.StatusMethodNotAllowed:
			kind = problemMethod
		case http.StatusRequestEntityTooLarge:
			kind = problemTooLarge
		case http.StatusBadRequest:
			kind = problemBadRequest
		case http.StatusTooManyRequests:
			kind = problemRateLimited
		}
		if msg, ok := he.Message.(string); ok && he.Code < 500 && he.Code != http.StatusNotFound {
			out.Detail = msg
		}
	case fieldMap(err) != nil:
		kind = problemValidation
		fm := fieldMap(err)
		for _, f := range sortedKeys(fm) {
			out.Errors = append(out.Errors, FieldProblem{Field: f, Detail: fm[f]})
		}
		out.Detail = "Check " + strings.Join(sortedKeys(fm), ", ") + "."
	case errors.Is(err, inbox.ErrNotFound), errors.Is(err, members.ErrNotFound), errors.Is(err, templates.ErrNotFound),
		errors.Is(err, audit.ErrNotFound), errors.Is(err, apikeys.ErrNotFound), errors.Is(err, members.ErrInvitationInvalid):
		kind = problemNotFound
	case errors.Is(err, inbox.ErrForbidden), errors.Is(err, members.ErrForbidden), errors.Is(err, templates.ErrForbidden), errors.Is(err, apikeys.ErrForbidden):
		kind, out.Detail = problemForbidden, err.Error()
	case errors.Is(err, members.ErrConflict), errors.Is(err, templates.ErrNotSendable), errors.Is(err, templates.ErrInvalidState):
		kind, out.Detail = problemConflict, err.Error()
	case errors.Is(err, inbox.ErrWindowClosed):
		kind, out.Detail = problemWindowClosed, "Only an approved template can be sent until the customer writes again."
	case errors.Is(err, inbox.ErrNumberDisabled), errors.Is(err, inbox.ErrNumberDisconnected):
		kind, out.Detail = problemNumberDisabled, err.Error()
	case errors.Is(err, inbox.ErrSendFailed):
		kind, out.Detail = problemSendFailed, err.Error()
	case errors.Is(err, apikeys.ErrIdempotencyMismatch):
		kind, out.Detail = problemIdempotencyReuse, err.Error()
	case errors.Is(err, apikeys.ErrIdempotencyInProgress):
		kind, out.Detail = problemIdempotencyBusy, err.Error()
	}
	if kind == problemNotFound {
		out.Detail = "There is nothing here, or the API key does not have access to it."
	}
	out.Type, out.Title, out.Status = kind.uri(), kind.title, kind.status
	return out
}

// fieldMap returns the field messages of a domain validation error, or nil.
func fieldMap(err error) map[string]string {
	var (
		ife inbox.FieldErrors
		mfe members.FieldErrors
		mve *members.ValidationError
		tfe templates.FieldErrors
		afe apikeys.FieldErrors
	)
	switch {
	case errors.As(err, &ife):
		return ife
	case errors.As(err, &mfe):
		return mfe
	case errors.As(err, &mve):
		return map[string]string{mve.Field: mve.Message}
	case errors.As(err, &tfe):
		return tfe
	case errors.As(err, &afe):
		return afe
	}
	return nil
}

// writeProblem answers an API request with the problem of err.
func (s *Server) writeProblem(c echo.Context, err error) {
	p := problemOf(err)
	p.Instance = c.Request().URL.Path
	if p.Status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
	}
	if p.Status == http.StatusNotFound && principalOf(c) != nil {
		s.recordDenied(c, "access.not_found", "record missing or outside the API key's visibility")
	}
	if p.Status >= 500 {
		s.Logger.ErrorContext(c.Request().Context(), "API request failed", "error", err,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	}
	b, merr := json.Marshal(p)
	if merr != nil {
		b = []byte(`{"type":"` + problemInternal.uri() + `","title":"Internal error","status":500}`)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	_ = c.Blob(p.Status, "application/problem+json", b)
}

// apiAuth turns the bearer key of an API request into the request's principal, and applies
// the key's rate limit. A request without Authorization goes on as anonymous: the guard
// refuses it on every route but the public documentation.
func (s *Server) apiAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !isAPI(c) {
			return next(c)
		}
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		if h == "" {
			return next(c)
		}
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return apiProblem(problemUnauthorized, "Send the API key as Authorization: Bearer sb_live_….")
		}
		// The sign-in allow-list holds for keys too: from elsewhere a key is not even looked at.
		if s.AllowList != nil && !s.AllowList.Allowed(c.RealIP()) {
			s.recordDenied(c, "api_key.refused", "address not on the IP allow-list")
			return apiProblem(problemForbidden, "Requests from this address are not allowed by the workspace's IP allow-list.")
		}
		ctx := c.Request().Context()
		p, err := s.APIKeys.Authenticate(ctx, strings.TrimSpace(token), c.RealIP())
		if errors.Is(err, apikeys.ErrUnauthorized) {
			s.recordDenied(c, "api_key.refused", "unknown, revoked or expired API key, or its creator lost access")
			return apiProblem(problemUnauthorized, "The API key is not valid: it may be revoked or expired, or its creator no longer has access.")
		}
		if err != nil {
			return err
		}
		if err := s.apiLimiter.take(c, p.APIKeyID, s.Clock.Now()); err != nil {
			return err
		}
		c.Set(principalKey, p)
		c.SetRequest(c.Request().WithContext(audit.WithActor(ctx, audit.PrincipalActor(p))))
		return next(c)
	}
}

// API rate limit: a token bucket per key, refilled at apiRate per second up to apiBurst.
const (
	apiRate  = 10
	apiBurst = 100
)

type keyLimiter struct {
	mu    sync.Mutex
	limit rate.Limit
	burst int
	keys  map[int64]*rate.Limiter
}

func newKeyLimiter(r rate.Limit, burst int) *keyLimiter {
	return &keyLimiter{limit: r, burst: burst, keys: map[int64]*rate.Limiter{}}
}

// take spends one token of key id, sets the RateLimit headers, and returns a rate-limited
// problem (with Retry-After) when the bucket is empty.
func (l *keyLimiter) take(c echo.Context, id int64, now time.Time) error {
	l.mu.Lock()
	lim, ok := l.keys[id]
	if !ok {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.keys[id] = lim
	}
	allowed := lim.AllowN(now, 1)
	tokens := lim.TokensAt(now)
	l.mu.Unlock()

	h := c.Response().Header()
	remaining := int(math.Max(0, math.Floor(tokens)))
	full := time.Duration((float64(l.burst) - tokens) / float64(l.limit) * float64(time.Second))
	h.Set("RateLimit-Limit", strconv.Itoa(l.burst))
	h.Set("RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil(full.Seconds()))))
	h.Set("RateLimit-Policy", fmt.Sprintf("%d;w=%d", l.burst, int(math.Ceil(float64(l.burst)/float64(l.limit)))))
	if allowed {
		return nil
	}
	wait := math.Max(1, math.Ceil((1-tokens)/float64(l.limit)))
	h.Set("Retry-After", strconv.Itoa(int(wait)))
	return apiProblem(problemRateLimited, "This API key made too many requests. Wait %d seconds; the limit is %d requests, refilled at %d per second.",
		int(wait), l.burst, int(l.limit))
}

// apiRead wraps a read: reads are recorded in the activity log like denied requests, sampled
// (the first per key and route each minute, with how many were left out), so the log shows
// what a key looked at without one event per request. Writes are recorded in full by the
// domain services, with the key as actor.
func (s *Server) apiRead(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := h(c); err != nil {
			return err
		}
		p := principalOf(c)
		if p == nil || c.Response().Status >= 400 {
			return nil
		}
		key := strconv.FormatInt(p.APIKeyID, 10) + "|" + c.Path()
		record, left := s.apiReadSampler.Allow(key, s.Clock.Now())
		if !record {
			return nil
		}
		ev := audit.Event{Action: "api.read", Target: audit.Target{Type: "route", ID: c.Request().Method + " " + c.Request().URL.Path}}
		if q := c.Request().URL.RawQuery; q != "" {
			ev.Changes = append(ev.Changes, audit.Change{Field: "query", After: q})
		}
		if left > 0 {
			ev.Changes = append(ev.Changes, audit.Change{Field: "reads_not_recorded_before", After: left})
		}
		if _, err := s.Audit.Record(c.Request().Context(), ev); err != nil {
			s.Logger.ErrorContext(c.Request().Context(), "record API read", "error", err)
		}
		return nil
	}
}

// decodeJSON reads a JSON body strictly: unknown fields and trailing data are refused, and a
// value of the wrong type names its field.
func decodeJSON(c echo.Context, v any) error {
	req := c.Request()
	if req.ContentLength == 0 && req.Header.Get(echo.HeaderContentType) == "" {
		return apiProblem(problemBadRequest, "Send a JSON body.")
	}
	mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return apiProblem(problemMediaType, "Send the body as application/json.")
	}
	dec := json.NewDecoder(req.Body)
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	var (
		typeErr *json.UnmarshalTypeError
		maxErr  *http.MaxBytesError
	)
	switch {
	case err == nil:
	case errors.As(err, &maxErr):
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
	case errors.As(err, &typeErr):
		return fieldProblem(typeErr.Field, "Expected "+typeErr.Type.String()+", got a JSON "+typeErr.Value+".")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fieldProblem(field, "This field is not part of the request.")
	case errors.Is(err, io.EOF):
		return apiProblem(problemBadRequest, "Send a JSON body.")
	default:
		return apiProblem(problemBadRequest, "The body is not valid JSON: %v.", err)
	}
	if dec.More() {
		return apiProblem(problemBadRequest, "Send one JSON object.")
	}
	return nil
}

// page is the envelope of every list: the items and where the next page starts (null on the
// last page).
type page[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func newPage[T any](items []T, next string) page[T] {
	if items == nil {
		items = []T{}
	}
	p := page[T]{Data: items}
	if next != "" {
		p.NextCursor = &next
	}
	return p
}

// limitParam reads ?limit=, 1 to max, def when absent.
func limitParam(c echo.Context, def, max int) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, fieldProblem("limit", fmt.Sprintf("Ask for 1 to %d items.", max))
	}
	return n, nil
}

// apiPathID reads :id, answering 404 for anything that is not an id.
func apiPathID(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, apiProblem(problemNotFound, "")
	}
	return id, nil
}

func apiTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}
