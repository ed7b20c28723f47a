package inbox

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Errors the web layer maps to answers.
var (
	// ErrNotFound: no such conversation (or message, canned response), or one outside the
	// principal's visibility. The two are deliberately the same error so that a 404 never tells
	// whether a conversation exists.
	ErrNotFound = errors.New("not found")
	// ErrForbidden is wrapped by every *RuleError of kind forbidden: the principal lacks the
	// permission the action needs.
	ErrForbidden = errors.New("forbidden")
	// ErrWindowClosed: free-form messages (text, canned replies, media) are allowed only within
	// 24 hours of the customer's last message; outside it only an approved template may be sent.
	// Meta's error 131047 maps to it too.
	// ErrNumberDisabled: the conversation's business number is switched off in the settings.
	ErrNumberDisabled = errors.New("this phone number is switched off in Settings → WhatsApp, so nothing can be sent from it")
	// ErrNumberDisconnected: the number's WhatsApp Business Account was disconnected; its
	// conversations are kept read-only.
	ErrNumberDisconnected = errors.New("this phone number's WhatsApp Business Account was disconnected, so its conversations are read-only")
	ErrWindowClosed       = errors.New("the 24-hour customer service window is closed: only an approved template can be sent")
	// ErrClosed: Submit after the Ingester was closed.
	ErrClosed = errors.New("inbox: ingester closed")
)

// RuleError is a refusal with a message for the person refused. Kind is ErrForbidden.
type RuleError struct {
	Kind    error
	Message string
}

func (e *RuleError) Error() string { return e.Message }

// Unwrap lets errors.Is(err, ErrForbidden) match.
func (e *RuleError) Unwrap() error { return e.Kind }

func forbidden(format string, args ...any) error {
	return &RuleError{Kind: ErrForbidden, Message: fmt.Sprintf(format, args...)}
}

// FieldErrors collects validation errors by field name ("body", "reason", "member", "title",
// "search", …).
type FieldErrors map[string]string

// Add records msg for field unless the field already has a message.
func (fe FieldErrors) Add(field, msg string) {
	if _, ok := fe[field]; !ok {
		fe[field] = msg
	}
}

// Err returns fe as an error, or nil when empty.
func (fe FieldErrors) Err() error {
	if len(fe) == 0 {
		return nil
	}
	return fe
}

func (fe FieldErrors) Error() string {
	fields := make([]string, 0, len(fe))
	for f := range fe {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	return fmt.Sprintf("%d invalid fields: %s", len(fe), strings.Join(fields, ", "))
}

func fieldError(field, msg string) error { return FieldErrors{field: msg} }
