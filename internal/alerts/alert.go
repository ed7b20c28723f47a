// Package alerts raises suspicious-activity alerts for administrators: repeated failed sign-ins,
// a sign-in from a new address, two-factor resets and removals, TOTP replays, a role raised to
// Administrator, API keys created, mass exports, webhook signature failures. An alert is raised
// in the transaction of the change that caused it and written to the activity log; repeats of an
// open alert are counted on it rather than added, so a brute-force run is one alert, not
// thousands. Administrators list and acknowledge alerts; a Notifier delivers new ones onwards.
package alerts

import (
	"errors"
	"strconv"
	"time"
)

// Errors the web layer maps to answers.
var (
	ErrNotFound = errors.New("alert not found")
	ErrInvalid  = errors.New("invalid alert")
)

// Kind is what an alert is about.
type Kind string

const (
	// KindRepeatedSignInFailures: an account was locked by failed sign-ins.
	KindRepeatedSignInFailures Kind = "repeated_sign_in_failures"
	// KindSignInFailuresFromAddress: a client address was locked by failed sign-ins, whatever
	// the accounts (password spraying, credential stuffing).
	KindSignInFailuresFromAddress Kind = "sign_in_failures_from_address"
	// KindSignInFromNewAddress: a member signed in from an address (IPv6: a /64) they have not
	// used before, having signed in from elsewhere before.
	KindSignInFromNewAddress      Kind = "sign_in_from_new_address"
	KindTwoFactorReset            Kind = "two_factor_reset"
	KindTwoFactorRemoved          Kind = "two_factor_removed"
	KindTOTPReplay                Kind = "totp_replay"
	KindRoleRaisedToAdministrator Kind = "role_raised_to_administrator"
	KindAPIKeyCreated             Kind = "api_key_created"
	KindMassExport                Kind = "mass_export"
	KindWebhookSignatureFailures  Kind = "webhook_signature_failures"
	// KindAccessReviewOpened: the access-review schedule opened a campaign (or could not).
	KindAccessReviewOpened Kind = "access_review_opened"
	// KindAccessReviewOverdue: an access review is past its due date and still open.
	KindAccessReviewOverdue Kind = "access_review_overdue"
	// KindWebhookEndpointDisabled: an outgoing webhook endpoint failed for 5 days and was disabled.
	KindWebhookEndpointDisabled Kind = "webhook_endpoint_disabled"
	// KindCampaignPaused: a campaign stopped sending on a quality or limit error from Meta.
	KindCampaignPaused Kind = "campaign_paused"
)

// Severity is how urgently an administrator should look.
type Severity string

const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

func (s Severity) rank() int {
	switch s {
	case SeverityInfo:
		return 1
	case SeverityWarning:
		return 2
	case SeverityCritical:
		return 3
	}
	return 0
}

// Valid reports whether s is one of the severities.
func (s Severity) Valid() bool { return s.rank() > 0 }

type kindInfo struct {
	severity Severity
	title    string
}

// kinds is the catalogue: each kind's default severity and title.
var kinds = map[Kind]kindInfo{
	KindRepeatedSignInFailures:    {SeverityWarning, "Repeated failed sign-ins"},
	KindSignInFailuresFromAddress: {SeverityWarning, "Repeated failed sign-ins from one address"},
	KindSignInFromNewAddress:      {SeverityInfo, "Sign-in from a new address"},
	KindTwoFactorReset:            {SeverityWarning, "Two-factor authentication reset"},
	KindTwoFactorRemoved:          {SeverityCritical, "Two-factor authentication removed"},
	KindTOTPReplay:                {SeverityWarning, "Authentication code used twice"},
	KindRoleRaisedToAdministrator: {SeverityWarning, "Role raised to Administrator"},
	KindAPIKeyCreated:             {SeverityInfo, "API key created"},
	KindMassExport:                {SeverityWarning, "Large export"},
	KindWebhookSignatureFailures:  {SeverityWarning, "Webhook signature failures"},
	KindAccessReviewOpened:        {SeverityInfo, "Access review opened"},
	KindAccessReviewOverdue:       {SeverityWarning, "Access review overdue"},
	KindWebhookEndpointDisabled:   {SeverityWarning, "Webhook endpoint disabled"},
	KindCampaignPaused:            {SeverityWarning, "Campaign paused by WhatsApp"},
}

// Kinds returns every kind, in the order the alerts page lists them.
func Kinds() []Kind {
	return []Kind{
		KindRepeatedSignInFailures, KindSignInFailuresFromAddress, KindSignInFromNewAddress,
		KindTwoFactorReset, KindTwoFactorRemoved, KindTOTPReplay, KindRoleRaisedToAdministrator,
		KindAPIKeyCreated, KindMassExport, KindWebhookSignatureFailures,
		KindAccessReviewOpened, KindAccessReviewOverdue, KindWebhookEndpointDisabled, KindCampaignPaused,
	}
}

// Valid reports whether k is in the catalogue.
func (k Kind) Valid() bool {
	_, ok := kinds[k]
	return ok
}

// DefaultSeverity is the severity an alert of kind k gets when Raise is given none.
func (k Kind) DefaultSeverity() Severity { return kinds[k].severity }

// Label is the kind's name for people, also the title an alert gets when Raise is given none.
func (k Kind) Label() string { return kinds[k].title }

// Subject is what an alert is about, in the domain's words: Subject{"member", "7"}, or
// Subject{"address", "2001:db8::/64"}. Repeats are counted per kind and subject.
type Subject struct {
	Type string
	ID   string
}

// MemberSubject names a member.
func MemberSubject(id int64) Subject { return Subject{Type: "member", ID: strconv.FormatInt(id, 10)} }

// String is "member 7", or "" for no subject.
func (s Subject) String() string {
	if s.ID == "" {
		return s.Type
	}
	return s.Type + " " + s.ID
}

// Alert is one alert. Title is a sentence for an administrator; it may name a member, but never
// an e-mail address typed by someone who is not a member, a password or a code. Details hold
// short facts (counts, an address, a key's name) under snake_case keys.
type Alert struct {
	ID       int64
	Kind     Kind
	Severity Severity
	Title    string
	Subject  Subject
	Details  map[string]string
	// Count is how many times the alert was raised while open, within DedupWindow of the last.
	Count      int
	CreatedAt  time.Time
	LastSeenAt time.Time
	// Zero while the alert is open.
	AcknowledgedAt     time.Time
	AcknowledgedBy     int64 // member id
	AcknowledgedByName string
}

// Open reports whether no one has acknowledged the alert yet.
func (a Alert) Open() bool { return a.AcknowledgedAt.IsZero() }
