// Package templates is the domain of WhatsApp message templates: their model, Meta's rules for
// them (Validate), a preview with sample values (Render), the internal four-eyes review before a
// template goes to Meta, Meta's verdicts arriving by webhook or sync, and the template object a
// Cloud API send needs (BuildMessage).
//
// Lifecycle of a revision: draft → in_review → approved (internally) → submitted (Meta: PENDING →
// APPROVED / REJECTED / PAUSED / …). A reviewer may send a revision back to draft with a comment.
// Editing an approved template starts a new revision, which is reviewed again while the
// revision Meta approved stays the one that is sent.
package templates

import "time"

// Category is Meta's template category; it decides pricing and review.
type Category string

// Categories.
const (
	CategoryMarketing      Category = "MARKETING"
	CategoryUtility        Category = "UTILITY"
	CategoryAuthentication Category = "AUTHENTICATION"
)

// Valid reports whether c is one of Meta's categories.
func (c Category) Valid() bool {
	switch c {
	case CategoryMarketing, CategoryUtility, CategoryAuthentication:
		return true
	}
	return false
}

// ParameterFormat says how variables are written: {{1}}, {{2}}… or {{first_name}}.
type ParameterFormat string

// Parameter formats. Empty means positional, Meta's default.
const (
	ParameterFormatPositional ParameterFormat = "positional"
	ParameterFormatNamed      ParameterFormat = "named"
)

// HeaderFormat is what the header shows.
type HeaderFormat string

// Header formats. LOCATION exists at Meta and may arrive with an imported template, but
// Switchboard does not compose or send location headers.
const (
	HeaderNone     HeaderFormat = "NONE"
	HeaderText     HeaderFormat = "TEXT"
	HeaderImage    HeaderFormat = "IMAGE"
	HeaderDocument HeaderFormat = "DOCUMENT"
	HeaderVideo    HeaderFormat = "VIDEO"
	HeaderLocation HeaderFormat = "LOCATION"
)

// IsMedia reports whether the header shows an image, document or video.
func (f HeaderFormat) IsMedia() bool {
	return f == HeaderImage || f == HeaderDocument || f == HeaderVideo
}

// ButtonType is the kind of a template button.
type ButtonType string

// Button types Switchboard composes. OTP and FLOW exist at Meta and are kept when imported.
const (
	ButtonQuickReply  ButtonType = "QUICK_REPLY"
	ButtonURL         ButtonType = "URL"
	ButtonPhoneNumber ButtonType = "PHONE_NUMBER"
	ButtonCopyCode    ButtonType = "COPY_CODE"
	ButtonOTP         ButtonType = "OTP"
	ButtonFlow        ButtonType = "FLOW"
)

// Header is the optional first line of a template: text with at most one variable, or media.
type Header struct {
	Format HeaderFormat `json:"format"`
	Text   string       `json:"text,omitempty"`
	// Example is the sample value of the text's variable, which Meta's reviewers see.
	Example string `json:"example,omitempty"`
	// MediaHandle is the sample image, document or video Meta reviews with a media header: the
	// handle Meta's resumable upload returns (example.header_handle).
	MediaHandle string `json:"media_handle,omitempty"`
}

// Body is the template's main text.
type Body struct {
	Text string `json:"text"`
	// Examples holds one sample value per variable, keyed like the variable: "1", "2"… or
	// "first_name".
	Examples map[string]string `json:"examples,omitempty"`
}

// Button is one button under the message.
type Button struct {
	Type        ButtonType `json:"type"`
	Text        string     `json:"text,omitempty"`
	URL         string     `json:"url,omitempty"`
	PhoneNumber string     `json:"phone_number,omitempty"`
	// Example is, for a URL ending in {{1}}, the sample value of that variable; for COPY_CODE,
	// the sample code.
	Example string `json:"example,omitempty"`
}

// Content is what a revision says: everything Meta reviews except the name and language.
type Content struct {
	Category        Category        `json:"category"`
	ParameterFormat ParameterFormat `json:"parameter_format"`
	Header          Header          `json:"header"`
	Body            Body            `json:"body"`
	Footer          string          `json:"footer,omitempty"`
	Buttons         []Button        `json:"buttons,omitempty"`
}

// Draft is the input for composing a template.
type Draft struct {
	WABAID   string // Meta's id of the WhatsApp Business Account
	Name     string
	Language string // Meta's language code, such as en or en_US
	Content
}

// Status is where a template stands in Switchboard's own workflow.
type Status string

// Statuses. A template's status is its newest revision's, or deleted.
const (
	StatusDraft     Status = "draft"
	StatusInReview  Status = "in_review"
	StatusApproved  Status = "approved" // approved internally, not yet sent to Meta
	StatusSubmitted Status = "submitted"
	// StatusSuperseded is a revision replaced by a newer one.
	StatusSuperseded Status = "superseded"
	// StatusDeleted is a template that was deleted; it is kept for its history.
	StatusDeleted Status = "deleted"
)

// MetaStatus is the template's status at Meta. Empty until submitted or imported.
type MetaStatus string

// Meta's template statuses.
const (
	MetaApproved        MetaStatus = "APPROVED"
	MetaPending         MetaStatus = "PENDING"
	MetaRejected        MetaStatus = "REJECTED"
	MetaPaused          MetaStatus = "PAUSED"
	MetaDisabled        MetaStatus = "DISABLED"
	MetaInAppeal        MetaStatus = "IN_APPEAL"
	MetaPendingDeletion MetaStatus = "PENDING_DELETION"
	MetaDeleted         MetaStatus = "DELETED"
	MetaLimitExceeded   MetaStatus = "LIMIT_EXCEEDED"
	MetaArchived        MetaStatus = "ARCHIVED"
	MetaLocked          MetaStatus = "LOCKED"
)

// Template is a template with its newest revision's content.
type Template struct {
	ID       int64
	WABAID   string
	Name     string
	Language string
	// Content is the newest revision's: what the editor shows.
	Content
	Revision   int   // the newest revision's number, from 1
	RevisionID int64 // the newest revision's id
	// AuthorID wrote the newest revision; 0 when it was imported from Meta.
	AuthorID   int64
	AuthorName string
	Status     Status

	MetaStatus     MetaStatus
	MetaTemplateID string
	MetaCategory   Category // as Meta classified it, which may differ from Category
	RejectedReason string
	QualityScore   string // GREEN, YELLOW, RED, UNKNOWN, or empty when unknown
	// Flagged: Meta warned that the quality is dropping; the template may soon be paused.
	Flagged bool
	// Live is the revision Meta holds, the one that is sent; nil before the first submission.
	// It is the newest revision unless an edit is under way.
	Live *Revision

	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt time.Time // zero unless deleted

	// Meta's last applied status event and its time, for ordering webhooks.
	lastEvent   MetaEvent
	lastEventAt time.Time
}

// Sendable reports whether the template may be sent: Meta approved the revision it holds.
func (t Template) Sendable() bool {
	return t.Status != StatusDeleted && t.Live != nil && t.MetaStatus == MetaApproved
}

// Revision is one version of a template's content.
type Revision struct {
	ID         int64
	TemplateID int64
	Number     int
	Status     Status
	AuthorID   int64 // 0 when imported from Meta
	AuthorName string
	Content
	CreatedAt   time.Time
	UpdatedAt   time.Time
	SubmittedAt time.Time // zero until sent to Meta
}

// DecisionKind names what happened to a template.
type DecisionKind string

// Decision kinds.
const (
	DecisionCreated            DecisionKind = "created"
	DecisionSubmittedForReview DecisionKind = "submitted_for_review"
	DecisionApproved           DecisionKind = "approved"
	DecisionSentBack           DecisionKind = "sent_back"
	DecisionSubmittedToMeta    DecisionKind = "submitted_to_meta"
	DecisionRevisionStarted    DecisionKind = "revision_started"
	DecisionDeleted            DecisionKind = "deleted"
	DecisionImported           DecisionKind = "imported"
	DecisionSynced             DecisionKind = "synced"
	DecisionMetaStatus         DecisionKind = "meta_status"
	DecisionQualityChanged     DecisionKind = "quality_changed"
)

// Decision is one entry of a template's history: who decided what about which revision.
type Decision struct {
	ID         int64
	TemplateID int64
	RevisionID int64
	Revision   int // the revision's number
	Kind       DecisionKind
	// ActorID is the member who decided; 0 for Switchboard or Meta.
	ActorID        int64
	ActorName      string
	Comment        string // the reviewer's comment, Meta's reason or the new quality score
	FromStatus     Status
	ToStatus       Status
	FromMetaStatus MetaStatus
	ToMetaStatus   MetaStatus
	MetaEvent      MetaEvent
	At             time.Time
}

// History is a template with every revision and decision, oldest first.
type History struct {
	Template  Template
	Revisions []Revision
	Decisions []Decision
}

// StatusChange is a decision about a template, for its author's dashboard.
type StatusChange struct {
	Decision
	WABAID       string
	TemplateName string
	Language     string
}
