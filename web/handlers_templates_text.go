package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/templates"
	"github.com/switchboard/switchboard/web/views"
)

// The words the templates pages use for the domain's codes, in one place.

func templateStatusBadge(st templates.Status) views.TemplateBadge {
	switch st {
	case templates.StatusDraft:
		return views.TemplateBadge{Label: "Draft", Kind: "grey", Title: "Being written; only its author can change it"}
	case templates.StatusInReview:
		return views.TemplateBadge{Label: "In review", Kind: "yellow", Title: "Waiting for a colleague's review"}
	case templates.StatusApproved:
		return views.TemplateBadge{Label: "Approved in review", Kind: "blue", Title: "Approved by a colleague, not yet submitted to Meta"}
	case templates.StatusSubmitted:
		return views.TemplateBadge{Label: "Submitted", Kind: "blue", Title: "Sent to Meta"}
	case templates.StatusSuperseded:
		return views.TemplateBadge{Label: "Superseded", Kind: "grey", Title: "Replaced by a newer revision"}
	case templates.StatusDeleted:
		return views.TemplateBadge{Label: "Deleted", Kind: "grey"}
	}
	return views.TemplateBadge{Label: string(st), Kind: "grey"}
}

// templateMetaBadge labels Meta's status; prefix ("Meta: ") is for places where it stands next to
// Switchboard's own status.
func templateMetaBadge(ms templates.MetaStatus, prefix string) views.TemplateBadge {
	label, kind, title := "", "grey", ""
	switch ms {
	case "":
		return views.TemplateBadge{}
	case templates.MetaApproved:
		label, kind, title = "Approved", "green", "Meta approved it: it can be sent"
	case templates.MetaPending:
		label, kind, title = "Pending", "yellow", "Meta is reviewing it, usually for minutes and at most 24 hours"
	case templates.MetaRejected:
		label, kind, title = "Rejected", "red", "Meta rejected it"
	case templates.MetaPaused:
		label, kind, title = "Paused", "yellow", "Meta paused it for low quality: it cannot be sent for now"
	case templates.MetaDisabled:
		label, kind, title = "Disabled", "red", "Meta disabled it: it cannot be sent"
	case templates.MetaInAppeal:
		label, kind = "In appeal", "yellow"
	case templates.MetaPendingDeletion:
		label = "Being deleted"
	case templates.MetaDeleted:
		label = "Deleted"
	case templates.MetaLimitExceeded:
		label, kind = "Limit exceeded", "red"
	case templates.MetaArchived:
		label = "Archived"
	case templates.MetaLocked:
		label, kind = "Locked", "red"
	default:
		label = string(ms)
	}
	return views.TemplateBadge{Label: prefix + label, Kind: kind, Title: title}
}

func templateQualityBadge(q string) views.TemplateBadge {
	switch strings.ToUpper(q) {
	case "":
		return views.TemplateBadge{}
	case "GREEN":
		return views.TemplateBadge{Label: "High", Kind: "green", Title: "Meta's quality rating: high"}
	case "YELLOW":
		return views.TemplateBadge{Label: "Medium", Kind: "yellow", Title: "Meta's quality rating: medium"}
	case "RED":
		return views.TemplateBadge{Label: "Low", Kind: "red", Title: "Meta's quality rating: low"}
	case "UNKNOWN":
		return views.TemplateBadge{Label: "Not rated", Kind: "grey", Title: "Meta has not rated it yet"}
	}
	return views.TemplateBadge{Label: q, Kind: "grey"}
}

func templateCategoryLabel(c templates.Category) string {
	switch c {
	case templates.CategoryMarketing:
		return "Marketing"
	case templates.CategoryUtility:
		return "Utility"
	case templates.CategoryAuthentication:
		return "Authentication"
	}
	return string(c)
}

// templateLanguages are the languages offered when composing: Meta's codes for the languages
// businesses use most. A template in another language (imported from Meta) keeps its own.
var templateLanguages = []views.Option{
	{Value: "af", Label: "Afrikaans"}, {Value: "ar", Label: "Arabic"}, {Value: "bn", Label: "Bengali"},
	{Value: "zh_CN", Label: "Chinese (China)"}, {Value: "zh_HK", Label: "Chinese (Hong Kong)"}, {Value: "zh_TW", Label: "Chinese (Taiwan)"},
	{Value: "hr", Label: "Croatian"}, {Value: "cs", Label: "Czech"}, {Value: "da", Label: "Danish"}, {Value: "nl", Label: "Dutch"},
	{Value: "en", Label: "English"}, {Value: "en_GB", Label: "English (UK)"}, {Value: "en_US", Label: "English (US)"},
	{Value: "fil", Label: "Filipino"}, {Value: "fi", Label: "Finnish"}, {Value: "fr", Label: "French"}, {Value: "de", Label: "German"},
	{Value: "el", Label: "Greek"}, {Value: "he", Label: "Hebrew"}, {Value: "hi", Label: "Hindi"}, {Value: "hu", Label: "Hungarian"},
	{Value: "id", Label: "Indonesian"}, {Value: "it", Label: "Italian"}, {Value: "ja", Label: "Japanese"}, {Value: "ko", Label: "Korean"},
	{Value: "ms", Label: "Malay"}, {Value: "nb", Label: "Norwegian"}, {Value: "pl", Label: "Polish"},
	{Value: "pt_BR", Label: "Portuguese (Brazil)"}, {Value: "pt_PT", Label: "Portuguese (Portugal)"}, {Value: "ro", Label: "Romanian"},
	{Value: "ru", Label: "Russian"}, {Value: "es", Label: "Spanish"}, {Value: "es_AR", Label: "Spanish (Argentina)"},
	{Value: "es_ES", Label: "Spanish (Spain)"}, {Value: "es_MX", Label: "Spanish (Mexico)"}, {Value: "sv", Label: "Swedish"},
	{Value: "th", Label: "Thai"}, {Value: "tr", Label: "Turkish"}, {Value: "uk", Label: "Ukrainian"}, {Value: "vi", Label: "Vietnamese"},
}

func templateLanguageLabel(code string) string {
	for _, o := range templateLanguages {
		if o.Value == code {
			return o.Label
		}
	}
	return code
}

// templateLanguageOptions lists the languages with their codes, keeping current when it is not
// one of them.
func templateLanguageOptions(current string) []views.Option {
	out := make([]views.Option, 0, len(templateLanguages)+1)
	found := current == ""
	for _, o := range templateLanguages {
		out = append(out, views.Option{Value: o.Value, Label: o.Label + " · " + o.Value})
		found = found || o.Value == current
	}
	if !found {
		out = append(out, views.Option{Value: current, Label: current})
	}
	return out
}

// templateEvent says what a decision was, for the history and the author's dashboard.
func templateEvent(at func(time.Time) string, d templates.Decision) views.TemplateEvent {
	e := views.TemplateEvent{Actor: d.ActorName, Revision: d.Revision, Kind: "grey", Comment: d.Comment,
		When: at(d.At), WhenISO: d.At.UTC().Format(time.RFC3339)}
	if d.ActorID == 0 {
		e.Actor = "Meta"
	} else if e.Actor == "" {
		e.Actor = "A former member"
	}
	switch d.Kind {
	case templates.DecisionCreated:
		e.Text, e.Kind = "created it as a draft", "grey"
	case templates.DecisionSubmittedForReview:
		e.Text, e.Kind = "submitted it for review", "yellow"
	case templates.DecisionApproved:
		e.Text, e.Kind = "approved it in review", "blue"
	case templates.DecisionSentBack:
		e.Text, e.Kind = "sent it back to its author", "red"
	case templates.DecisionSubmittedToMeta:
		e.Text, e.Kind = "submitted it to Meta", "blue"
	case templates.DecisionRevisionStarted:
		e.Text, e.Kind = "started a new revision", "grey"
	case templates.DecisionDeleted:
		e.Text, e.Kind = "deleted it", "grey"
	case templates.DecisionImported:
		e.Actor, e.Kind = "Switchboard", "grey"
		e.Text = "imported it from Meta" + metaStatusSuffix(d.ToMetaStatus)
		e.Comment = ""
	case templates.DecisionSynced:
		e.Text, e.Kind = "reported at sync: "+metaWords(d.ToMetaStatus), metaKind(d.ToMetaStatus)
		if d.Comment != "" {
			e.Comment = "Reason: " + d.Comment
		}
	case templates.DecisionMetaStatus:
		e.Text, e.Kind = metaEventWords(d.MetaEvent, d.ToMetaStatus), metaKind(d.ToMetaStatus)
		if d.Comment != "" {
			e.Comment = "Reason: " + d.Comment
		}
	case templates.DecisionQualityChanged:
		e.Text, e.Kind = "rated its quality "+strings.ToLower(templateQualityBadge(d.Comment).Label), "grey"
		e.Comment = ""
	default:
		e.Text = string(d.Kind)
	}
	return e
}

func metaStatusSuffix(ms templates.MetaStatus) string {
	if ms == "" {
		return ""
	}
	return " (" + metaWords(ms) + ")"
}

func metaWords(ms templates.MetaStatus) string {
	b := templateMetaBadge(ms, "")
	if b.Label == "" {
		return "no status"
	}
	return strings.ToLower(b.Label)
}

func metaKind(ms templates.MetaStatus) string {
	switch ms {
	case templates.MetaApproved:
		return "green"
	case templates.MetaRejected, templates.MetaDisabled, templates.MetaLocked, templates.MetaLimitExceeded:
		return "red"
	case templates.MetaPending, templates.MetaPaused, templates.MetaInAppeal:
		return "yellow"
	}
	return "grey"
}

func metaEventWords(ev templates.MetaEvent, to templates.MetaStatus) string {
	switch ev {
	case templates.EventApproved:
		return "approved it: it can be sent"
	case templates.EventRejected:
		return "rejected it"
	case templates.EventPending:
		return "is reviewing it"
	case templates.EventPaused:
		return "paused it"
	case templates.EventDisabled:
		return "disabled it"
	case templates.EventFlagged:
		return "flagged its quality"
	case templates.EventReinstated:
		return "reinstated it"
	case templates.EventDeleted, templates.EventPendingDeletion:
		return "deleted it"
	}
	return "set its status to " + metaWords(to)
}

// templateStage says in one sentence where the template stands and whose move it is, for the
// member looking at it.
func templateStage(at func(time.Time) string, t templates.Template, viewerID int64) string {
	author := t.AuthorName
	if author == "" {
		author = "its author"
	}
	switch t.Status {
	case templates.StatusDeleted:
		return "This template was deleted on " + at(t.DeletedAt) + ". Its history stays here."
	case templates.StatusDraft:
		if t.AuthorID == viewerID {
			return "This is your draft. When it reads right, submit it for review: a colleague checks it before it goes to Meta."
		}
		return "A draft by " + author + ". It goes to review when they submit it."
	case templates.StatusInReview:
		if t.AuthorID == viewerID {
			return "Waiting for a colleague's review. You will see their decision on your dashboard."
		}
		return "Waiting for review by a member with templates.approve other than " + author + "."
	case templates.StatusApproved:
		return "Approved in review. A reviewer other than " + author + " submits it to Meta next."
	case templates.StatusSubmitted:
		switch t.MetaStatus {
		case templates.MetaPending:
			return "Submitted to Meta. Meta usually decides within minutes, at most within 24 hours; the status updates by itself."
		case templates.MetaApproved:
			return "Approved by Meta: agents can send it."
		case templates.MetaRejected:
			return "Meta rejected this revision. Edit it as a new revision to fix it and submit it again."
		case templates.MetaPaused:
			return "Meta paused this template because customers reacted badly to it; it cannot be sent while paused."
		case templates.MetaDisabled:
			return "Meta disabled this template; it cannot be sent any more."
		}
		return "At Meta: " + metaWords(t.MetaStatus) + "."
	}
	return ""
}

// templateButtonSummary is one button in words, for a revision's content.
func templateButtonSummary(b templates.Button) string {
	switch b.Type {
	case templates.ButtonQuickReply:
		return fmt.Sprintf("Quick reply “%s”", b.Text)
	case templates.ButtonURL:
		return fmt.Sprintf("“%s” opens %s", b.Text, b.URL)
	case templates.ButtonPhoneNumber:
		return fmt.Sprintf("“%s” calls %s", b.Text, b.PhoneNumber)
	case templates.ButtonCopyCode:
		return fmt.Sprintf("Copy code (sample %s)", b.Example)
	}
	return fmt.Sprintf("%s “%s”", b.Type, b.Text)
}
