package templates

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Errors the web layer maps to answers.
var (
	// ErrNotFound: no such template, or one outside the principal's accounts (answered as 404 so
	// that its existence does not leak).
	ErrNotFound = errors.New("template not found")
	// ErrForbidden: the principal lacks the permission the action needs.
	ErrForbidden = errors.New("not permitted")
	// ErrOwnTemplate: four eyes. Whoever wrote a revision may not approve, send back or submit
	// it to Meta, whatever their role.
	ErrOwnTemplate = errors.New("you wrote this template: another member must review it")
	// ErrInvalidState is wrapped by every *StateError.
	ErrInvalidState = errors.New("the template's state does not allow this")
	// ErrNotSendable: BuildMessage refused (not approved by Meta, wrong values).
	ErrNotSendable = errors.New("template cannot be sent")
	// ErrUnknownEvent: a status webhook carried an event this package does not know.
	ErrUnknownEvent = errors.New("unknown template status event")
)

// StateError says why the template's state does not allow an action, in words for its author.
type StateError struct {
	Message string
}

func (e *StateError) Error() string { return e.Message }

// Unwrap lets errors.Is(err, ErrInvalidState) match.
func (e *StateError) Unwrap() error { return ErrInvalidState }

func invalidState(format string, args ...any) error {
	return &StateError{Message: fmt.Sprintf(format, args...)}
}

// FieldErrors collects the validation errors of a form by field name. Field names are the
// form's: "name", "body.text", "body.examples.2", "buttons.1.url", "buttons"…
type FieldErrors map[string]string

// Add records msg for field unless the field already has a message: the first problem found
// is the one to fix first.
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
