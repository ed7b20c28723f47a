package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Cloud API error codes Switchboard branches on (Meta's error-code reference; see the wire-facts
// file). Branch on these, never on the HTTP status: Meta answers 400 for most of them alike.
const (
	CodeAuthException     = 0
	CodeAPITooManyCalls   = 4
	CodeTemporary         = 2 // service temporarily unavailable (503)
	CodePermissionDenied  = 10
	CodeInvalidParameter  = 100
	CodeAccessToken       = 190
	CodeRateLimitBusiness = 80007
	CodeThroughput        = 130429
	CodeSomethingWrong    = 131000
	CodeUnavailable       = 131016
	CodeParamMissing      = 131008
	CodeParamInvalid      = 131009
	CodeUndeliverable     = 131026
	CodeOutsideWindow     = 131047
	CodeSpamRateLimit     = 131048
	CodeMarketingLimit    = 131049
	CodeUserStopped       = 131050
	CodeUnsupportedType   = 131051
	CodePairRateLimit     = 131056
	CodeMaintenance       = 131057
	CodeTemplateParams    = 132000
	CodeTemplateMissing   = 132001
	CodeTemplateTextLong  = 132005
	CodeTemplateFormat    = 132012
	CodeTemplatePaused    = 132015
	CodeTemplateDisabled  = 132016

	// SubcodeTokenExpired accompanies code 190 when the access token has expired.
	SubcodeTokenExpired = 463

	// CodeUnknown marks a response that carried no Graph error object (a proxy's HTML page, a
	// truncated body). It is never a Meta code, so no helper misreads it as code 0 (auth).
	CodeUnknown = -1
)

// APIError is a failed Cloud API call, parsed from Meta's {"error":{…}} body.
type APIError struct {
	HTTPStatus  int
	Code        int
	Subcode     int
	Type        string
	Message     string
	Details     string // error_data.details: the specific reason
	FBTraceID   string // quote it to Meta support
	IsTransient bool
	UserTitle   string // error_user_title: meant for the person using the app
	UserMsg     string // error_user_msg
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("whatsapp: API error ")
	b.WriteString(strconv.Itoa(e.Code))
	if e.Subcode != 0 {
		b.WriteString("/" + strconv.Itoa(e.Subcode))
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Details != "" {
		b.WriteString(" (" + e.Details + ")")
	}
	b.WriteString(" [HTTP " + strconv.Itoa(e.HTTPStatus))
	if e.FBTraceID != "" {
		b.WriteString(", fbtrace_id " + e.FBTraceID)
	}
	b.WriteString("]")
	return b.String()
}

// IsOutsideWindow: the customer has not written in the last 24 hours, so only an approved
// template may be sent (131047).
func (e *APIError) IsOutsideWindow() bool { return e.Code == CodeOutsideWindow }

// IsAuth: the access token is invalid, expired or revoked (0, 190). A person must replace it;
// retrying will not help.
func (e *APIError) IsAuth() bool { return e.Code == CodeAuthException || e.Code == CodeAccessToken }

// IsTokenExpired: code 190 with subcode 463.
func (e *APIError) IsTokenExpired() bool {
	return e.Code == CodeAccessToken && e.Subcode == SubcodeTokenExpired
}

// IsPermission: the token lacks a scope or the asset is not shared with the app (10, 200–299).
func (e *APIError) IsPermission() bool {
	return e.Code == CodePermissionDenied || (e.Code >= 200 && e.Code <= 299)
}

// IsRateLimited: management-API limits (4, 80007), throughput (130429), spam limit (131048) or
// the pair limit of about one message per 6 s to the same customer (131056). Back off.
func (e *APIError) IsRateLimited() bool {
	switch e.Code {
	case CodeAPITooManyCalls, CodeRateLimitBusiness, CodeThroughput, CodeSpamRateLimit, CodePairRateLimit:
		return true
	}
	return false
}

// Temporary: Meta says trying again later may succeed (131000, 131016, 131057, 2, or
// is_transient). A response with no Graph error at all counts when its HTTP status is 5xx,
// because then there is no code to branch on and a gateway error is the likely cause.
func (e *APIError) Temporary() bool {
	switch e.Code {
	case CodeSomethingWrong, CodeUnavailable, CodeMaintenance, CodeTemporary:
		return true
	case CodeUnknown:
		return e.HTTPStatus >= 500
	}
	return e.IsTransient
}

// AsAPIError unwraps err to the *APIError inside it, if any.
func AsAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

// ErrorEnvelope is Meta's error body: {"error":{…}}.
type ErrorEnvelope struct {
	Error ErrorObject `json:"error"`
}

// ErrorObject is the inside of ErrorEnvelope.
type ErrorObject struct {
	Message     string     `json:"message"`
	Type        string     `json:"type,omitempty"`
	Code        int        `json:"code"`
	Subcode     int        `json:"error_subcode,omitempty"`
	ErrorData   *ErrorData `json:"error_data,omitempty"`
	IsTransient bool       `json:"is_transient,omitempty"`
	UserTitle   string     `json:"error_user_title,omitempty"`
	UserMsg     string     `json:"error_user_msg,omitempty"`
	FBTraceID   string     `json:"fbtrace_id,omitempty"`
}

// ErrorData is error_data. Some Graph endpoints send it as a JSON-encoded string instead of an
// object; that string is kept as Details.
type ErrorData struct {
	MessagingProduct string `json:"messaging_product,omitempty"`
	Details          string `json:"details,omitempty"`
}

type errorDataAlias ErrorData

// UnmarshalJSON accepts an object or a string.
func (d *ErrorData) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = ErrorData{Details: s}
		return nil
	}
	var a errorDataAlias
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	*d = ErrorData(a)
	return nil
}

// APIError turns the wire object into the error value callers branch on.
func (o ErrorObject) APIError(httpStatus int) *APIError {
	e := &APIError{
		HTTPStatus: httpStatus, Code: o.Code, Subcode: o.Subcode, Type: o.Type, Message: o.Message,
		FBTraceID: o.FBTraceID, IsTransient: o.IsTransient, UserTitle: o.UserTitle, UserMsg: o.UserMsg,
	}
	if o.ErrorData != nil {
		e.Details = o.ErrorData.Details
	}
	return e
}

// Envelope is the wire form of e, as Meta (and so the simulator) writes it.
func (e *APIError) Envelope() ErrorEnvelope {
	o := ErrorObject{
		Message: e.Message, Type: e.Type, Code: e.Code, Subcode: e.Subcode,
		IsTransient: e.IsTransient, UserTitle: e.UserTitle, UserMsg: e.UserMsg, FBTraceID: e.FBTraceID,
	}
	if e.Details != "" {
		o.ErrorData = &ErrorData{MessagingProduct: "whatsapp", Details: e.Details}
	}
	return ErrorEnvelope{Error: o}
}

// parseAPIError reads Meta's error body. A body that is not a Graph error still yields an
// *APIError (CodeUnknown) so that callers have one type to inspect.
func parseAPIError(httpStatus int, body []byte, traceHeader string) *APIError {
	var env struct {
		Error *ErrorObject `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Error == nil {
		msg := strings.TrimSpace(string(body))
		if r := []rune(msg); len(r) > 200 {
			msg = string(r[:200]) + "…"
		}
		return &APIError{HTTPStatus: httpStatus, Code: CodeUnknown, Message: msg, FBTraceID: traceHeader}
	}
	e := env.Error.APIError(httpStatus)
	if e.FBTraceID == "" {
		e.FBTraceID = traceHeader
	}
	return e
}

// ErrInvalidInput is wrapped by every *ValidationError, for errors.Is.
var ErrInvalidInput = errors.New("whatsapp: invalid input")

// ValidationError is an input the client refuses before calling Meta, naming the field so the
// caller can show it next to the right form control.
type ValidationError struct {
	Field   string
	Problem string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("whatsapp: invalid %s: %s", e.Field, e.Problem)
}

// Unwrap makes errors.Is(err, ErrInvalidInput) true.
func (e *ValidationError) Unwrap() error { return ErrInvalidInput }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Problem: fmt.Sprintf(format, args...)}
}
