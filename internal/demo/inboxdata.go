package demo

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// demoMedia are the small files the demo's customers send (drawn for the demo, a few KB).
//
//go:embed media/*
var demoMedia embed.FS

// demoLabels are the labels of the demo workspace, as a plant shop would use them.
var demoLabels = []inbox.LabelInput{
	{Name: "VIP", Color: "purple", Description: "Customers who order more than twice a year"},
	{Name: "Delivery", Color: "blue", Description: "Questions about shipping and delivery dates"},
	{Name: "Plant care", Color: "green", Description: "Advice on watering, light and pests"},
	{Name: "Refund", Color: "red", Description: "Returns and refunds waiting for a decision"},
	{Name: "Wholesale", Color: "yellow", Description: "Garden centres and landscapers"},
}

// SeedInboxData shows labels, contacts with custom fields and media in the demo: the
// Administrator defines the labels and puts them on the first conversations. Call it after the
// customers have written in; it adds nothing twice.
func (s *Sandbox) SeedInboxData(ctx context.Context, m *members.Service, ib *inbox.Service) error {
	admin, err := demoPrincipal(ctx, m, "administrator")
	if err != nil {
		return err
	}
	ctx = audit.WithActor(ctx, audit.MemberActor(admin.MemberID, admin.Name))
	existing, err := ib.Labels(ctx, admin)
	if err != nil {
		return err
	}
	for _, l := range existing {
		if l.Uses > 0 {
			return nil // labelled before
		}
	}
	// SeedAutomation may have defined them already, for its welcome menu.
	ids, err := ensureDemoLabels(ctx, ib, admin)
	if err != nil {
		return err
	}
	page, err := ib.List(ctx, admin, inbox.ListQuery{Box: inbox.BoxAll})
	if err != nil {
		return err
	}
	byContact := map[string][]string{
		"Sheena Nelson": {"VIP", "Delivery"},
		"Jonas Weber":   {"Plant care"},
	}
	var errs []error
	for i, c := range page.Conversations {
		names, ok := byContact[c.Contact.Name]
		if !ok && i < 6 {
			names = []string{demoLabels[i%len(demoLabels)].Name}
		}
		for _, n := range names {
			errs = append(errs, ib.LabelConversation(ctx, admin, c.ID, ids[n], true))
		}
	}
	errs = append(errs, seedContacts(ctx, ib, admin, page.Conversations, ids))
	errs = append(errs, s.customersSendEveryKind(ctx))
	return errors.Join(errs...)
}

// seedContacts defines the contact fields and fills them in for the first customers.
func seedContacts(ctx context.Context, ib *inbox.Service, admin *authz.Principal, convs []inbox.Conversation, labels map[string]int64) error {
	var fields []inbox.ContactField
	for _, in := range []inbox.ContactFieldInput{
		{Label: "Customer tier", Kind: "choice", Choices: "Gold\nSilver\nBronze"},
		{Label: "Customer since", Kind: "date"},
		{Label: "Loyalty points", Kind: "number"},
		{Label: "Preferred delivery", Kind: "text"},
	} {
		f, err := ib.CreateContactField(ctx, admin, in)
		if err != nil {
			return fmt.Errorf("demo: contact field %s: %w", in.Label, err)
		}
		fields = append(fields, f)
	}
	people := map[string]inbox.ContactInput{
		"Sheena Nelson": {DisplayName: "Sheena Nelson", Notes: "Buys olive trees for her garden centre twice a year. Prefers deliveries on Tuesdays.",
			Fields: map[int64]string{fields[0].ID: "Gold", fields[1].ID: "2023-04-12", fields[2].ID: "1840", fields[3].ID: "Tuesday mornings"}},
		"Jonas Weber": {DisplayName: "Jonas Weber", Notes: "Monstera owner; asked about yellow leaves.",
			Fields: map[int64]string{fields[0].ID: "Silver", fields[1].ID: "2025-01-20", fields[2].ID: "320"}},
	}
	var errs []error
	for _, c := range convs {
		in, ok := people[c.Contact.Name]
		if !ok {
			continue
		}
		errs = append(errs, ib.UpdateContact(ctx, admin, c.Contact.ID, in))
		if c.Contact.Name == "Sheena Nelson" {
			errs = append(errs, ib.LabelContact(ctx, admin, c.Contact.ID, labels["VIP"], true),
				ib.LabelContact(ctx, admin, c.Contact.ID, labels["Wholesale"], true))
		}
	}
	return errors.Join(errs...)
}

// customersSendEveryKind has the demo's customers send what Meta's webhooks carry besides text:
// a photo, a document, a location, a list reply with its description, a reaction, an edit, an
// order and a message from an ad, so every kind shows in the inbox.
func (s *Sandbox) customersSendEveryKind(ctx context.Context) error {
	read := func(name string) []byte {
		b, _ := demoMedia.ReadFile("media/" + name)
		return b
	}
	sim := s.Sim
	const sheena, jonas = "16505551234", "4915112341234"
	var errs []error
	step := func(_ string, err error) { errs = append(errs, err) }
	step(sim.CustomerSendsMedia(ctx, NumberSales, sheena, "Sheena Nelson", whatsapp.TypeImage, "image/png", read("olive-tree.png"),
		"It arrived today, but two leaves are brown already", ""))
	step(sim.CustomerSendsMedia(ctx, NumberSales, sheena, "Sheena Nelson", whatsapp.TypeImage, "image/png", read("receipt.png"), "My receipt", ""))
	step(sim.CustomerSends(ctx, NumberSales, sheena, "Sheena Nelson", whatsapp.Message{Type: whatsapp.TypeInteractive,
		Interactive: &whatsapp.InteractiveReply{Type: "list_reply", ListReply: &whatsapp.ReplyChoice{ID: "priority", Title: "Priority delivery",
			Description: "Next working day, before noon"}}}))
	first, err := sim.CustomerSays(ctx, NumberSales, sheena, "Sheena Nelson", "Could it come on Tusday?")
	errs = append(errs, err)
	if err == nil {
		step(sim.CustomerEdits(ctx, NumberSales, sheena, "Sheena Nelson", first, "Could it come on Tuesday?"))
		step(sim.CustomerReacts(ctx, NumberSales, sheena, "Sheena Nelson", first, "🙏"))
	}
	step(sim.CustomerSends(ctx, NumberSales, sheena, "Sheena Nelson", whatsapp.Message{Type: whatsapp.TypeOrder,
		Order: &whatsapp.Order{CatalogID: "194836987003835", Text: "Two more for the shop", ProductItems: []whatsapp.OrderItem{
			{ProductRetailerID: "olive-tree-120cm", Quantity: "2", ItemPrice: "89.00", Currency: "USD"},
			{ProductRetailerID: "terracotta-pot-xl", Quantity: "2", ItemPrice: "24.50", Currency: "USD"}}}}))
	step(sim.CustomerSendsMedia(ctx, NumberCare, jonas, "Jonas Weber", whatsapp.TypeDocument, "application/pdf", read("care-guide.pdf"),
		"Is this guide still right?", "olive-care-guide.pdf"))
	step(sim.CustomerSends(ctx, NumberCare, jonas, "Jonas Weber", whatsapp.Message{Type: whatsapp.TypeLocation,
		Location: &whatsapp.Location{Latitude: 52.52437, Longitude: 13.41053, Name: "Lucky Shrub Berlin", Address: "Alexanderplatz 1, 10178 Berlin"}}))
	step(sim.CustomerSends(ctx, NumberCare, "4917612345678", "Lea Schmidt", whatsapp.Message{Type: whatsapp.TypeText,
		Text: &whatsapp.Text{Body: "Hallo! Gilt das Angebot noch?"}, Referral: &whatsapp.Referral{SourceType: "ad", Headline: "Spring sale: 20% off olive trees",
			SourceURL: "https://fb.me/lucky-shrub-spring", Body: "Tap to chat with our plant team"}}))
	// Meta's news about the numbers and the account: a higher messaging limit for the care
	// number, its display name approved, the business verified (Phone numbers page, Activity).
	errs = append(errs, sim.PhoneNumberQualityChanges(ctx, NumberCare, "UPGRADE", "TIER_1K"),
		sim.PhoneNumberNameDecided(ctx, NumberCare, "APPROVED", "Lucky Shrub Care", ""),
		sim.AccountUpdates(ctx, WABAID, whatsapp.AccountUpdate{PhoneNumber: "15550783881", Event: "VERIFIED_ACCOUNT"}))
	return errors.Join(errs...)
}
