package demo

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/campaigns"
	"github.com/switchboard/switchboard/internal/consent"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
	"github.com/switchboard/switchboard/internal/whatsapp/simulator"
)

// SandboxWABA is the demo's WhatsApp Business Account as the simulator serves it, for a
// simulator run outside the demo process (tests that kill Switchboard and keep the simulator's
// record of sends).
func SandboxWABA() simulator.WABA { return wabA() }

// SeedCampaigns shows campaigns on first start: the Marketing lead may also create campaigns;
// an imported list of opt-ins covers part of the customers of the last 90 days; a campaign the
// Marketing lead wrote and the Administrator approved has been sent through the simulator (its
// deliveries, reads and replies arrive as they would); and a second one, scheduled for next
// Saturday morning in Berlin, waits for the Administrator's approval. Call it after
// SeedCompliance; it adds nothing twice.
func SeedCampaigns(ctx context.Context, d *db.DB, m *members.Service, cp *campaigns.Service, cs *consent.Service, now time.Time) error {
	admin, err := demoPrincipal(ctx, m, "administrator")
	if err != nil {
		return err
	}
	if list, err := cp.List(ctx, admin); err != nil || len(list) > 0 {
		return err
	}
	ctx = audit.WithActor(ctx, audit.MemberActor(admin.MemberID, admin.Name))
	lead, err := m.Store().ByEmail(ctx, members.DemoApproverEmail)
	if err != nil {
		return fmt.Errorf("demo: marketing lead: %w", err)
	}
	if _, err := m.SetRolePermission(ctx, admin, lead.RoleID, authz.CampaignsManage, true); err != nil {
		return fmt.Errorf("demo: let the marketing lead create campaigns: %w", err)
	}
	author, _, err := m.Store().Principal(ctx, lead.ID)
	if err != nil {
		return err
	}
	var number, template int64
	if err := d.R.QueryRowContext(ctx, `SELECT id FROM phone_numbers WHERE phone_number_id = ?`, NumberSales).Scan(&number); err != nil {
		return fmt.Errorf("demo: sales number: %w", err)
	}
	if err := d.R.QueryRowContext(ctx, `SELECT id FROM templates WHERE name = 'we_miss_you'`).Scan(&template); err != nil {
		return fmt.Errorf("demo: template: %w", err)
	}
	if err := importOptIns(ctx, d, cs); err != nil {
		return err
	}
	binds := map[string]campaigns.Binding{"1": {Source: campaigns.SourceFirstName, Value: "there"}}
	spring := campaigns.Draft{Name: "Spring plants are in", TemplateID: template, PhoneNumberID: number, TimeZone: "Europe/Berlin",
		Segment: campaigns.Segment{ContactedSince: now.AddDate(0, 0, -90).Truncate(24 * time.Hour)}, Bindings: binds}
	c, err := cp.Create(ctx, author, spring)
	if err != nil {
		return fmt.Errorf("demo: campaign: %w", err)
	}
	if _, err := cp.Approve(ctx, admin, c.ID); err != nil {
		return fmt.Errorf("demo: approve campaign: %w", err)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.UTC
	}
	local := now.In(berlin)
	saturday := time.Date(local.Year(), local.Month(), local.Day(), 9, 0, 0, 0, berlin)
	for saturday.Weekday() != time.Saturday || !saturday.After(now) {
		saturday = saturday.AddDate(0, 0, 1)
	}
	weekend := campaigns.Draft{Name: "Weekend plant clinic", TemplateID: template, PhoneNumberID: number, TimeZone: "Europe/Berlin",
		Segment: campaigns.Segment{PhonePrefix: "+49"}, Bindings: binds, StartAt: saturday.Format("2006-01-02T15:04")}
	if _, err := cp.Create(ctx, author, weekend); err != nil {
		return fmt.Errorf("demo: scheduled campaign: %w", err)
	}
	return nil
}

// importOptIns records an opt-in for every third customer without a consent record, as an
// import from the shop's newsletter form would.
func importOptIns(ctx context.Context, d *db.DB, cs *consent.Service) error {
	rows, err := d.R.QueryContext(ctx, `SELECT c.id FROM contacts c WHERE c.wa_id IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM contact_consents cc WHERE cc.contact_id = c.id) ORDER BY c.id`)
	if err != nil {
		return fmt.Errorf("demo: contacts: %w", err)
	}
	var ids []int64
	for i := 0; rows.Next(); i++ {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		if i%3 == 0 {
			ids = append(ids, id)
		}
	}
	if err := rows.Close(); err != nil && err != sql.ErrNoRows {
		return err
	}
	for _, id := range ids {
		if _, err := cs.Set(ctx, id, "Newsletter import", consent.Change{Status: consent.StatusOptedIn, Source: consent.SourceImport,
			Text: "Yes, send me Lucky Shrub offers and plant tips on WhatsApp. I can reply STOP at any time."}); err != nil {
			return fmt.Errorf("demo: import opt-in: %w", err)
		}
	}
	return nil
}
