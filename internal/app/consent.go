package app

import (
	"context"

	"github.com/switchboard/switchboard/internal/consent"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/templates"
)

// marketingGate is the inbox's TemplateGate: a MARKETING template goes only to a contact whose
// newest consent record is an opt-in.
type marketingGate struct {
	templates *templates.Store
	consent   *consent.Service
}

// noConsentError is the refusal the member reads beside the template picker.
type noConsentError struct{ who string }

func (e noConsentError) Error() string {
	return e.who + " has not opted in to marketing messages, so MARKETING templates cannot be sent to them. " +
		"Record their consent on the contact panel first, or send a utility template."
}
func (e noConsentError) Unwrap() error { return inbox.ErrNoConsent }

func (g marketingGate) CheckTemplate(ctx context.Context, q db.Querier, conversationID int64, name, language string) error {
	contactID, wabaID, who, err := inbox.ConversationParties(ctx, q, conversationID)
	if err != nil {
		return err
	}
	marketing, err := g.templates.IsMarketing(ctx, q, wabaID, name, language)
	if err != nil || !marketing {
		return err
	}
	ok, err := g.consent.OptedIn(ctx, q, contactID)
	if err != nil || ok {
		return err
	}
	if who == "" {
		who = "This contact"
	}
	return noConsentError{who: who}
}
