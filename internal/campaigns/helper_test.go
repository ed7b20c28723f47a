package campaigns_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/campaigns"
	"github.com/switchboard/switchboard/internal/consent"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// fixture is a running Switchboard with the sandbox connected, two administrators (an author and
// an approver), a MARKETING and a UTILITY template approved at Meta.
type fixture struct {
	t          *testing.T
	in         *apptest.Instance
	ctx        context.Context
	author     *authz.Principal
	approver   *authz.Principal
	numberA    int64 // ours, for apptest.SandboxNumberA
	marketing  int64 // template ids
	utility    int64
	nextNumber int
}

func newFixture(t *testing.T, opts apptest.Options) *fixture {
	t.Helper()
	in := apptest.StartWith(t, opts)
	in.ConnectSandbox()
	f := &fixture{t: t, in: in, ctx: context.Background()}
	f.marketing = f.template("spring_sale", "MARKETING", "Hi {{1}}, spring plants are in! Code {{2}} gives 10% off.", "Pablo", "SPRING10")
	f.utility = f.template("delivery_update", "UTILITY", "Hello {{1}}, deliveries resume on Monday.", "Pablo")
	a := in.CreateMember("ada@example.com", "Ada Author", "administrator", "correct horse battery staple")
	b := in.CreateMember("bo@example.com", "Bo Approver", "administrator", "correct horse battery staple")
	f.author, f.approver = f.principal(a.ID), f.principal(b.ID)
	if err := in.App.DB.R.QueryRow(`SELECT id FROM phone_numbers WHERE phone_number_id = ?`, apptest.SandboxNumberA).Scan(&f.numberA); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) principal(id int64) *authz.Principal {
	f.t.Helper()
	p, _, err := f.in.App.Members.Store().Principal(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// template creates a template at the simulator, has Meta approve it and syncs it in.
func (f *fixture) template(name, category, body string, examples ...string) int64 {
	f.t.Helper()
	creds, err := f.in.App.Workspace.CredentialsForWABA(f.ctx, apptest.SandboxWABAID)
	if err != nil {
		f.t.Fatal(err)
	}
	created, err := f.in.App.WhatsApp.CreateTemplate(f.ctx, creds, apptest.SandboxWABAID, whatsapp.TemplateDefinition{
		Name: name, Language: "en_US", Category: category,
		Components: []whatsapp.TemplateComponent{{Type: "BODY", Text: body, Example: &whatsapp.TemplateExample{BodyText: [][]string{examples}}}},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.in.Sim.SetTemplateStatus(f.ctx, created.ID, "APPROVED", ""); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.in.App.Templates.SyncFromMeta(f.ctx, apptest.SandboxWABAID); err != nil {
		f.t.Fatal(err)
	}
	var id int64
	if err := f.in.App.DB.R.QueryRow(`SELECT id FROM templates WHERE name = ?`, name).Scan(&id); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// customer has a customer write in (a real webhook), optionally records their consent, and
// returns the contact id and wa_id.
func (f *fixture) customer(name string, st consent.Status) (int64, string) {
	f.t.Helper()
	f.nextNumber++
	waID := fmt.Sprintf("49151%07d", f.nextNumber)
	if _, err := f.in.Sim.CustomerSays(f.ctx, apptest.SandboxNumberA, waID, name, "Hello!"); err != nil {
		f.t.Fatal(err)
	}
	var id int64
	if err := f.in.App.DB.R.QueryRow(`SELECT id FROM contacts WHERE wa_id = ?`, waID).Scan(&id); err != nil {
		f.t.Fatal(err)
	}
	if st != consent.StatusNone {
		text := "Yes, send me offers."
		if _, err := f.in.App.Consent.Set(f.ctx, id, "Ada Author", consent.Change{Status: st, Source: consent.SourceForm, Text: text}); err != nil {
			f.t.Fatal(err)
		}
	}
	return id, waID
}

// bulkCustomers adds n opted-in contacts directly, without webhooks, for tests that need many.
func (f *fixture) bulkCustomers(n int) {
	f.t.Helper()
	now := time.Now().UnixMilli()
	tx, err := f.in.App.DB.W.Begin()
	if err != nil {
		f.t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		f.nextNumber++
		res, err := tx.Exec(`INSERT INTO contacts (wa_id, profile_name, created_at, updated_at) VALUES (?, ?, ?, ?)`,
			fmt.Sprintf("49151%07d", f.nextNumber), fmt.Sprintf("Customer %d", f.nextNumber), now, now)
		if err != nil {
			f.t.Fatal(err)
		}
		id, _ := res.LastInsertId()
		if _, err := tx.Exec(`INSERT INTO contact_consents (contact_id, status, source, text, actor_name, recorded_at)
			VALUES (?, 'opted_in', 'import', 'Offers by WhatsApp: yes', 'Import', ?)`, id, now); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) draft(name string, template int64) campaigns.Draft {
	binds := map[string]campaigns.Binding{"1": {Source: campaigns.SourceFirstName, Value: "there"}}
	if template == f.marketing {
		binds["2"] = campaigns.Binding{Source: campaigns.SourceFixed, Value: "SPRING10"}
	}
	return campaigns.Draft{Name: name, TemplateID: template, PhoneNumberID: f.numberA, Bindings: binds, TimeZone: "Europe/Berlin"}
}

// waitFor polls cond until it holds (generous: the machine is shared).
func (f *fixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (f *fixture) status(id int64) campaigns.Status {
	c, err := f.in.App.Campaigns.Get(f.ctx, f.approver, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c.Status
}

func (f *fixture) progress(id int64) campaigns.Progress {
	p, err := f.in.App.Campaigns.Progress(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// acceptedTemplates counts, per customer, the template messages the simulator accepted.
func (f *fixture) acceptedTemplates() map[string]int {
	out := map[string]int{}
	for _, m := range f.in.Sim.Sent() {
		if m.ID != "" && m.Type == whatsapp.TypeTemplate {
			out[m.To]++
		}
	}
	return out
}
