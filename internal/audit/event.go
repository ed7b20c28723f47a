// Package audit is Switchboard's activity log: one append-only, hash-chained event for every
// state change and every sensitive read, written in the same transaction as the change itself so
// that the two commit or roll back together. Verify recomputes the chain and names the first
// event that no longer matches, which is what an auditor relies on.
package audit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
)

// ErrInvalid marks an event that Append refuses before touching the database.
var ErrInvalid = errors.New("invalid audit event")

// Outcome says how the attempted action ended.
type Outcome string

const (
	OutcomeSuccess Outcome = "success"
	// OutcomeDenied: refused by an access check, a throttle or a policy before anything was tried.
	OutcomeDenied Outcome = "denied"
	// OutcomeFailed: tried and did not succeed, such as a wrong password or a Cloud API error.
	OutcomeFailed Outcome = "failed"
)

// ActorType says who acted.
type ActorType string

const (
	ActorMember ActorType = "member"
	ActorAPIKey ActorType = "api_key"
	// ActorSystem is Switchboard itself: set-up, scheduled jobs, webhook processing.
	ActorSystem ActorType = "system"
	// ActorAnonymous is a request with no signed-in member or key, such as a failed sign-in.
	// It is the default so that an event is never attributed to someone who did not act.
	ActorAnonymous ActorType = "anonymous"
)

// Actor is who performed the action. ID is the member or API key id as text.
type Actor struct {
	Type ActorType
	ID   string
	Name string
}

// MemberActor is a signed-in member.
func MemberActor(id int64, name string) Actor {
	return Actor{Type: ActorMember, ID: strconv.FormatInt(id, 10), Name: name}
}

// APIKeyActor is a request authenticated by an API key.
func APIKeyActor(id int64, name string) Actor {
	return Actor{Type: ActorAPIKey, ID: strconv.FormatInt(id, 10), Name: name}
}

// PrincipalActor is whoever the principal is: its API key when the request came with one, the
// member otherwise. A nil principal is Anonymous.
func PrincipalActor(p *authz.Principal) Actor {
	switch {
	case p == nil:
		return Anonymous()
	case p.APIKeyID != 0:
		return APIKeyActor(p.APIKeyID, p.APIKeyName)
	}
	return MemberActor(p.MemberID, p.Name)
}

// System is Switchboard acting on its own.
func System() Actor { return Actor{Type: ActorSystem, Name: "system"} }

// SystemActor is Switchboard acting through a named part of itself: a scheduled job
// ("retention") or a command run on the server ("switchboard user reset-password"). The name is
// kept in the event (and its hash), so the log says which command changed what:
//
//	log.Record(audit.WithActor(ctx, audit.SystemActor("switchboard user reset-password")), ev)
//
// or set ev.Actor to it. An empty name is plain System.
func SystemActor(name string) Actor {
	if name = strings.TrimSpace(name); name == "" {
		return System()
	}
	return Actor{Type: ActorSystem, Name: name}
}

// Anonymous is a caller that has not authenticated.
func Anonymous() Actor { return Actor{Type: ActorAnonymous} }

// Target is what the action was done to, named in the domain's words ("member", "role", …).
type Target struct {
	Type string
	ID   string
	// Name is what the target was called when the event was recorded ("Grace Hopper"). Append
	// fills it through the Log's TargetNamer when left empty.
	Name string
}

// NewTarget names a row by its type and integer id.
func NewTarget(typ string, id int64) Target {
	return Target{Type: typ, ID: strconv.FormatInt(id, 10)}
}

// Change is one field's value before and after the action. Before and After must be
// JSON-encodable; nil means "absent" (created or cleared).
type Change struct {
	Field  string `json:"field"`
	Before any    `json:"before"`
	After  any    `json:"after"`
}

// Event is one entry of the activity log.
type Event struct {
	ID         int64
	At         time.Time // UTC, millisecond precision; set by the Log from its clock
	Actor      Actor
	Action     string // dotted id, e.g. "member.signed_in"
	Target     Target
	Changes    []Change
	ClientAddr string
	UserAgent  string
	RequestID  string
	Outcome    Outcome
	PrevHash   string // hex SHA-256 of the previous event, GenesisHash for the first
	Hash       string // hex SHA-256 of the canonical form (see chain.go), which starts with PrevHash
}

// maxUserAgent bounds a header the client controls, so one request cannot bloat the log.
const maxUserAgent = 512

func (ev *Event) validate() error {
	if !validAction(ev.Action) {
		return fmt.Errorf("%w: action %q is not a dotted lower-case id", ErrInvalid, ev.Action)
	}
	switch ev.Outcome {
	case OutcomeSuccess, OutcomeDenied, OutcomeFailed:
	default:
		return fmt.Errorf("%w: outcome %q", ErrInvalid, ev.Outcome)
	}
	switch ev.Actor.Type {
	case ActorMember, ActorAPIKey:
		if ev.Actor.ID == "" {
			return fmt.Errorf("%w: %s actor without id", ErrInvalid, ev.Actor.Type)
		}
	case ActorSystem, ActorAnonymous:
	default:
		return fmt.Errorf("%w: actor type %q", ErrInvalid, ev.Actor.Type)
	}
	if ev.Target.ID != "" && ev.Target.Type == "" {
		return fmt.Errorf("%w: target id %q without a type", ErrInvalid, ev.Target.ID)
	}
	for _, c := range ev.Changes {
		if c.Field == "" {
			return fmt.Errorf("%w: change without a field name", ErrInvalid)
		}
	}
	return nil
}

// validAction accepts ids like "member.signed_in": at least two dot-separated segments of
// [a-z0-9_]. A fixed shape keeps the auditor's action filter and the alert rules reliable.
func validAction(s string) bool {
	if len(s) > 100 {
		return false
	}
	segments, segLen := 1, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if segLen == 0 {
				return false
			}
			segments++
			segLen = 0
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_':
			segLen++
		default:
			return false
		}
	}
	return segments >= 2 && segLen > 0
}
