// Package reviews runs access reviews: an overview of who holds what access and whether they
// use it, review campaigns in which reviewers keep, change or revoke each member's access, the
// report a closed campaign leaves for an auditor, and a schedule that opens campaigns by itself.
//
// Changes go through the members service as the reviewer, so the one rule for acting on
// another member (internal/members/rules.go) decides what a reviewer may do; this package never
// repeats it.
package reviews

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
)

// Errors the web layer maps to answers. Refusals by the members rules arrive as
// *members.RuleError and keep their own message.
var (
	ErrNotFound = errors.New("access review not found")
	ErrConflict = errors.New("access review conflict")
)

// ConflictError is a request the review's state does not allow (closed, already decided).
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return e.Message }
func (e *ConflictError) Unwrap() error { return ErrConflict }

func conflict(format string, args ...any) error {
	return &ConflictError{Message: fmt.Sprintf(format, args...)}
}

// FieldErrors are a form's validation errors by field name (members' type, reused so the web
// layer shows them the same way).
type FieldErrors = members.FieldErrors

// Flag is something about a member's access a reviewer should look at.
type Flag string

// Flags.
const (
	FlagInactive          Flag = "inactive"
	FlagNoTwoFactor       Flag = "no_2fa"
	FlagAdministrator     Flag = "administrator"
	FlagUnusedPermissions Flag = "unused_permissions"
	FlagNeverSignedIn     Flag = "never_signed_in"
)

// Label is the flag for people.
func (f Flag) Label() string {
	switch f {
	case FlagInactive:
		return "Inactive"
	case FlagNoTwoFactor:
		return "2FA missing"
	case FlagAdministrator:
		return "Administrator"
	case FlagUnusedPermissions:
		return "Unused permissions"
	case FlagNeverSignedIn:
		return "Never signed in"
	}
	return string(f)
}

func joinFlags(fs []Flag) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = string(f)
	}
	return strings.Join(parts, " ")
}

func splitFlags(s string) []Flag {
	var out []Flag
	for _, f := range strings.Fields(s) {
		out = append(out, Flag(f))
	}
	return out
}

// MemberAccess is one member as the Reviews page shows them.
type MemberAccess struct {
	Member       members.Member
	Permissions  authz.Set
	LastActivity time.Time // zero when the log holds nothing they did
	// Unused are traceable permissions held and not used within UsageWindow; Untraceable
	// counts held permissions whose use leaves no event.
	Unused      []authz.Permission
	Untraceable int
	Flags       []Flag
}

// Has reports whether the member carries flag f.
func (m MemberAccess) Has(f Flag) bool {
	for _, g := range m.Flags {
		if g == f {
			return true
		}
	}
	return false
}

// Overview is the Reviews page's picture of the workspace.
type Overview struct {
	Members     []MemberAccess
	Invitations []members.Invitation
	Settings    Settings
	Since       time.Time // start of the usage window
}

// Settings are the access-review settings.
type Settings struct {
	InactiveDays   int
	ScheduleMonths int // 0: no schedule
	DueDays        int
	NextRunAt      time.Time
	ReviewerIDs    []int64 // empty: every member holding access_reviews.manage
}

// Status of a campaign.
type Status string

// Statuses.
const (
	StatusOpen   Status = "open"
	StatusClosed Status = "closed"
)

// Decision on one member.
type Decision string

// Decisions.
const (
	DecisionNone       Decision = ""
	DecisionKeep       Decision = "keep"
	DecisionChangeRole Decision = "change_role"
	DecisionRevoke     Decision = "revoke"
)

// Label is the decision for people and the report.
func (d Decision) Label() string {
	switch d {
	case DecisionKeep:
		return "Keep"
	case DecisionChangeRole:
		return "Change role"
	case DecisionRevoke:
		return "Revoke"
	}
	return "Not reviewed"
}

// Campaign is one access review.
type Campaign struct {
	ID            int64
	Title         string
	ScopeLabel    string
	DueAt         time.Time
	Status        Status
	CreatedByName string
	CreatedAt     time.Time
	ClosedAt      time.Time
	ClosedByName  string
	Reviewers     []Reviewer
	Total         int
	Decided       int
}

// Overdue reports whether an open campaign is past its due date at now.
func (c Campaign) Overdue(now time.Time) bool { return c.Status == StatusOpen && now.After(c.DueAt) }

// IsReviewer reports whether member id reviews the campaign.
func (c Campaign) IsReviewer(id int64) bool {
	for _, r := range c.Reviewers {
		if r.MemberID == id {
			return true
		}
	}
	return false
}

// Reviewer is a member asked to review.
type Reviewer struct {
	MemberID int64
	Name     string
}

// Item is one member under review and the decision on them.
type Item struct {
	ID            int64
	CampaignID    int64
	MemberID      int64
	MemberName    string
	MemberEmail   string
	RoleName      string
	Numbers       string
	Flags         []Flag
	Decision      Decision
	NewRoleName   string
	Comment       string
	Change        string
	DecidedBy     int64
	DecidedByName string
	DecidedAt     time.Time
}

// CampaignInput opens a campaign.
type CampaignInput struct {
	Title       string
	AllMembers  bool
	RoleIDs     []int64
	NumberIDs   []int64
	ReviewerIDs []int64
	DueAt       time.Time
}

// DecisionInput is a reviewer's decision on one member.
type DecisionInput struct {
	Decision Decision
	RoleID   int64 // for DecisionChangeRole
	Comment  string
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
