package simulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/internal/whatsapp"
)

var versionRe = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// maxRequestBody bounds what the simulator reads from a caller.
const maxRequestBody = 1 << 20

// Handler serves the Cloud API under any /vNN.N/ prefix (the handler may also be mounted below
// a path, with or without http.StripPrefix), plus the media download URLs it hands out.
func (s *Simulator) Handler() http.Handler { return http.HandlerFunc(s.serve) }

func (s *Simulator) serve(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if i := indexOf(segs, "whatsapp_business"); i >= 0 && i+1 < len(segs) && segs[i+1] == "attachments" {
		if s.authorize(w, r) {
			s.download(w, r)
		}
		return
	}
	v := -1
	for i, seg := range segs {
		if versionRe.MatchString(seg) {
			v = i
			break
		}
	}
	if v < 0 || len(segs)-v < 2 {
		s.writeError(w, &whatsapp.APIError{HTTPStatus: http.StatusBadRequest, Code: 2500, Type: "OAuthException",
			Message: "Unknown path components: " + r.URL.Path})
		return
	}
	if !s.authorize(w, r) {
		return
	}
	rest := segs[v+1:]
	switch len(rest) {
	case 1:
		s.node(w, r, rest[0])
	case 2:
		s.edge(w, r, rest[0], rest[1])
	default:
		s.writeError(w, &whatsapp.APIError{HTTPStatus: http.StatusBadRequest, Code: 2500, Type: "OAuthException",
			Message: "Unknown path components: /" + strings.Join(rest[1:], "/")})
	}
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

// authorize checks the bearer token (or access_token parameter, which Graph also accepts) and,
// when given or required, appsecret_proof. Meta checks the token before anything else, so an
// unknown id with a bad token is a 190, not a 100.
func (s *Simulator) authorize(w http.ResponseWriter, r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		token = r.URL.Query().Get("access_token")
	}
	if token == "" || s.opts.AccessToken == "" ||
		subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.AccessToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token - Cannot parse access token"`)
		s.writeError(w, &whatsapp.APIError{HTTPStatus: http.StatusUnauthorized, Code: whatsapp.CodeAccessToken,
			Type: "OAuthException", Message: "Invalid OAuth access token - Cannot parse access token"})
		return false
	}
	s.mu.Lock()
	expired := s.tokenExpired
	s.mu.Unlock()
	if expired {
		s.writeError(w, &whatsapp.APIError{HTTPStatus: http.StatusUnauthorized, Code: whatsapp.CodeAccessToken,
			Subcode: whatsapp.SubcodeTokenExpired, Type: "OAuthException",
			Message: "Error validating access token: Session has expired on " + s.clock.Now().Format("Monday, 02-Jan-06 15:04:05 MST") + "."})
		return false
	}
	proof := r.URL.Query().Get("appsecret_proof")
	if proof == "" && s.opts.RequireAppSecretProof {
		s.writeError(w, &whatsapp.APIError{HTTPStatus: http.StatusBadRequest, Code: whatsapp.CodeInvalidParameter,
			Type: "GraphMethodException", Message: "API calls from the server require an appsecret_proof argument"})
		return false
	}
	if proof != "" && s.opts.AppSecret != "" {
		got, err := hex.DecodeString(proof)
		m := hmac.New(sha256.New, []byte(s.opts.AppSecret))
		m.Write([]byte(token))
		if err != nil || !hmac.Equal(got, m.Sum(nil)) {
			s.writeError(w, &whatsapp.APIError{HTTPStatus: http.StatusBadRequest, Code: whatsapp.CodeInvalidParameter,
				Type: "GraphMethodException", Message: "Invalid appsecret_proof provided in the API argument"})
			return false
		}
	}
	return true
}

func (s *Simulator) writeError(w http.ResponseWriter, e *whatsapp.APIError) {
	e.FBTraceID = newTraceID()
	w.Header().Set("X-Fb-Trace-Id", e.FBTraceID)
	writeJSON(w, e.HTTPStatus, e.Envelope())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Meta's errors, shaped as Meta shapes them.

func errUnsupported(method, id string) *whatsapp.APIError {
	return &whatsapp.APIError{HTTPStatus: http.StatusBadRequest, Code: whatsapp.CodeInvalidParameter, Subcode: 33,
		Type: "GraphMethodException",
		Message: fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, "+
			"or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
			strings.ToLower(method), id)}
}

func errNoField(edge, nodeType string) *whatsapp.APIError {
	return &whatsapp.APIError{HTTPStatus: http.StatusBadRequest, Code: whatsapp.CodeInvalidParameter, Type: "OAuthException",
		Message: fmt.Sprintf("(#100) Tried accessing nonexisting field (%s) on node type (%s)", edge, nodeType)}
}

func errParam(message, details string) *whatsapp.APIError {
	return &whatsapp.APIError{HTTPStatus: http.StatusBadRequest, Code: whatsapp.CodeInvalidParameter, Type: "OAuthException",
		Message: "(#100) " + message, Details: details}
}

func errMissing(details string) *whatsapp.APIError {
	return &whatsapp.APIError{HTTPStatus: http.StatusBadRequest, Code: whatsapp.CodeParamMissing, Type: "OAuthException",
		Message: "(#131008) Required parameter is missing", Details: details}
}

func errInvalidValue(details string) *whatsapp.APIError {
	return &whatsapp.APIError{HTTPStatus: http.StatusBadRequest, Code: whatsapp.CodeParamInvalid, Type: "OAuthException",
		Message: "(#131009) Parameter value is not valid", Details: details}
}

func errOutsideWindow() *whatsapp.APIError {
	return &whatsapp.APIError{HTTPStatus: http.StatusBadRequest, Code: whatsapp.CodeOutsideWindow, Type: "OAuthException",
		Message: "(#131047) Re-engagement message",
		Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}
}

func (s *Simulator) node(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	ph, isPhone := s.phones[id]
	tpl, isTemplate := s.templates[id]
	md, isMedia := s.media[id]
	wb, isWABA := s.wabas[id]
	var body any
	switch {
	case r.Method == http.MethodGet && isPhone:
		body = ph.info
	case r.Method == http.MethodGet && isTemplate:
		body = tpl.t
	case r.Method == http.MethodGet && isWABA:
		body = map[string]string{"id": wb.id, "name": wb.name}
	case r.Method == http.MethodGet && isMedia:
		sum := sha256.Sum256(md.data)
		body = whatsapp.MediaInfo{MessagingProduct: "whatsapp", ID: md.id, MimeType: md.mimeType,
			SHA256: hex.EncodeToString(sum[:]), FileSize: int64(len(md.data)),
			URL: baseURL(r) + "/whatsapp_business/attachments/?mid=" + md.id + "&ext=" + strconv.FormatInt(s.clock.Now().Unix(), 10)}
	}
	s.mu.Unlock()
	switch {
	case body != nil:
		writeJSON(w, http.StatusOK, body)
	case r.Method == http.MethodPost && isTemplate:
		s.editTemplate(w, r, id)
	default:
		s.writeError(w, errUnsupported(r.Method, id))
	}
}

func (s *Simulator) edge(w http.ResponseWriter, r *http.Request, id, edge string) {
	s.mu.Lock()
	ph, isPhone := s.phones[id]
	_, isWABA := s.wabas[id]
	s.mu.Unlock()
	switch {
	case isPhone:
		switch {
		case edge == "messages" && r.Method == http.MethodPost:
			s.postMessage(w, r, ph)
		case edge == "register" && r.Method == http.MethodPost:
			writeJSON(w, http.StatusOK, whatsapp.SuccessResponse{Success: true})
		case edge == "media" && r.Method == http.MethodPost:
			s.uploadMedia(w, r)
		case edge == "messages" || edge == "register":
			s.writeError(w, errUnsupported(r.Method, id))
		default:
			s.writeError(w, errNoField(edge, "WhatsAppBusinessPhoneNumber"))
		}
	case isWABA:
		switch {
		case edge == "phone_numbers" && r.Method == http.MethodGet:
			s.listPhoneNumbers(w, r, id)
		case edge == "message_templates" && r.Method == http.MethodGet:
			s.listTemplates(w, r, id)
		case edge == "message_templates" && r.Method == http.MethodPost:
			s.createTemplate(w, r, id)
		case edge == "message_templates" && r.Method == http.MethodDelete:
			s.deleteTemplate(w, r, id)
		case edge == "phone_numbers" || edge == "message_templates":
			s.writeError(w, errUnsupported(r.Method, id))
		default:
			s.writeError(w, errNoField(edge, "WhatsAppBusinessAccount"))
		}
	default:
		s.writeError(w, errUnsupported(r.Method, id))
	}
}

// baseURL is where this handler is reachable, prefix included, so that the URLs it hands out
// work however it is mounted. RequestURI is used because http.StripPrefix rewrites URL.Path.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && r.RequestURI != "" {
		path = u.Path
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	prefix := ""
	for i, seg := range segs {
		if versionRe.MatchString(seg) || seg == "whatsapp_business" {
			prefix = strings.Join(segs[:i], "/")
			break
		}
	}
	if prefix != "" {
		prefix = "/" + prefix
	}
	return scheme + "://" + r.Host + prefix
}

func (s *Simulator) download(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	md, ok := s.media[r.URL.Query().Get("mid")]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", md.mimeType)
	w.Header().Set("Content-Length", strconv.Itoa(len(md.data)))
	_, _ = w.Write(md.data)
}

// page serves items with Graph's cursor paging: cursors on every non-empty page, `next` only
// when more remain. Cursors are opaque base64 offsets.
func page[T any](r *http.Request, items []T) (whatsapp.Page[T], *whatsapp.APIError) {
	q := r.URL.Query()
	limit := 25
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return whatsapp.Page[T]{}, errParam("Param limit must be a positive integer", "")
		}
		limit = min(n, 100)
	}
	start := 0
	if a := q.Get("after"); a != "" {
		b, err := base64.RawURLEncoding.DecodeString(a)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "offset:"))
		if err != nil || err2 != nil || n < 0 || n > len(items) {
			return whatsapp.Page[T]{}, errParam("Invalid parameter", "invalid after cursor")
		}
		start = n
	}
	end := min(start+limit, len(items))
	p := whatsapp.Page[T]{Data: append([]T{}, items[start:end]...)}
	if end > start {
		cursor := func(n int) string { return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(n))) }
		p.Paging = &whatsapp.Paging{Cursors: whatsapp.Cursors{Before: cursor(start), After: cursor(end)}}
		if end < len(items) {
			next := *r.URL
			nq := next.Query()
			nq.Set("after", p.Paging.Cursors.After)
			nq.Set("limit", strconv.Itoa(limit))
			nq.Del("appsecret_proof")
			next.RawQuery = nq.Encode()
			p.Paging.Next = baseURL(r) + "/" + strings.TrimLeft(trimToVersion(next.Path), "/") + "?" + next.RawQuery
		}
	}
	return p, nil
}

// trimToVersion drops any mount prefix before the version segment.
func trimToVersion(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, seg := range segs {
		if versionRe.MatchString(seg) {
			return strings.Join(segs[i:], "/")
		}
	}
	return path
}

func (s *Simulator) listPhoneNumbers(w http.ResponseWriter, r *http.Request, wabaID string) {
	s.mu.Lock()
	var nums []whatsapp.PhoneNumber
	for _, id := range s.wabas[wabaID].phones {
		nums = append(nums, s.phones[id].info)
	}
	s.mu.Unlock()
	p, apiErr := page(r, nums)
	if apiErr != nil {
		s.writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func readBody(r *http.Request) ([]byte, *whatsapp.APIError) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil || len(b) > maxRequestBody {
		return nil, errParam("Invalid parameter", "request body unreadable or too large")
	}
	return b, nil
}
