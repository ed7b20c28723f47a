package demo

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/automation"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/inbox"
	"github.com/switchboard/switchboard/internal/members"
)

// SeedAutomation shows automation on first start: business hours and an away message on both
// numbers, two keyword auto-replies, a welcome menu on the sales number routing to two teams,
// auto-assignment with the demo Agent and Support member available, and customers' ratings of
// past closed conversations. Call it after SeedHistory and before the server runs (the history
// must get no automated answers); it adds nothing twice.
func SeedAutomation(ctx context.Context, d *db.DB, m *members.Service, au *automation.Service, ib *inbox.Service) error {
	var configured int
	if err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM automation_numbers`).Scan(&configured); err != nil || configured > 0 {
		return err
	}
	if err := au.SkipHistory(ctx); err != nil {
		return err
	}
	admin, err := demoPrincipal(ctx, m, "administrator")
	if err != nil {
		return err
	}
	ctx = audit.WithActor(ctx, audit.MemberActor(admin.MemberID, admin.Name))
	agent, err := demoPrincipal(ctx, m, "agent")
	if err != nil {
		return err
	}
	support, err := demoPrincipal(ctx, m, "support")
	if err != nil {
		return err
	}
	for _, p := range []*authz.Principal{agent, support} {
		if err := au.SetAvailable(ctx, p, true); err != nil {
			return err
		}
	}
	sales, err := au.SaveTeam(ctx, admin, 0, "Sales", []int64{agent.MemberID})
	if err != nil {
		return fmt.Errorf("demo: team: %w", err)
	}
	care, err := au.SaveTeam(ctx, admin, 0, "Plant care", []int64{support.MemberID, agent.MemberID})
	if err != nil {
		return fmt.Errorf("demo: team: %w", err)
	}
	numbers := map[string]int64{}
	for _, meta := range []string{NumberSales, NumberCare} {
		var id int64
		if err := d.R.QueryRowContext(ctx, `SELECT id FROM phone_numbers WHERE phone_number_id = ?`, meta).Scan(&id); err != nil {
			return fmt.Errorf("demo: number %s: %w", meta, err)
		}
		numbers[meta] = id
	}
	week := func(weekday, saturday string) [7]string {
		return [7]string{"", weekday, weekday, weekday, weekday, weekday, saturday}
	}
	for meta, in := range map[string]automation.NumberInput{
		NumberSales: {TimeZone: "America/Los_Angeles", Days: week("09:00-18:00", "10:00-14:00"), Holidays: "2026-12-25 2027-01-01",
			AwayEnabled: true, AwayMessage: "Thanks for writing to Lucky Shrub! We are closed right now: our team is back Monday to Friday " +
				"from 9:00 (Pacific time) and answers first thing.", AutoAssign: true, AssignLimit: "8", RatingEnabled: true},
		NumberCare: {TimeZone: "Europe/Berlin", Days: week("08:00-17:00", ""), Holidays: "2026-12-24 2026-12-25 2026-12-26",
			AwayEnabled: true, AwayMessage: "Danke für deine Nachricht! Unser Pflanzenteam ist montags bis freitags von 8 bis 17 Uhr da " +
				"und meldet sich dann sofort.", AutoAssign: true, AssignLimit: "5", RatingEnabled: true},
	} {
		if err := au.SaveNumber(ctx, admin, numbers[meta], in); err != nil {
			return fmt.Errorf("demo: automation settings: %w", err)
		}
	}
	canned, err := ib.CannedResponses(ctx, admin)
	if err != nil {
		return err
	}
	hours := int64(0)
	for _, c := range canned {
		if c.Title == "Opening hours" {
			hours = c.ID
		}
	}
	for _, r := range []automation.RuleInput{
		{Name: "Opening hours", Match: "contains", Pattern: "open", Priority: "10", ReplyKind: automation.ReplyCanned, CannedID: strconv.FormatInt(hours, 10)},
		{Name: "Order number", Match: "regex", Pattern: `\b\d{6}\b`, Priority: "20", ReplyKind: automation.ReplyButtons,
			Body: "Looking for an order? Choose what you need and we take it from there.", Buttons: "Track my order\nChange my order\nTalk to someone"},
	} {
		if _, err := au.CreateRule(ctx, admin, r); err != nil {
			return fmt.Errorf("demo: rule %s: %w", r.Name, err)
		}
	}
	if err := seedMenu(ctx, au, admin, numbers[NumberSales], sales, care); err != nil {
		return fmt.Errorf("demo: menu: %w", err)
	}
	return seedRatings(ctx, d)
}

func seedMenu(ctx context.Context, au *automation.Service, admin *authz.Principal, number, sales, care int64) error {
	const welcome = "Welcome to Lucky Shrub! What can we help you with today?"
	if err := au.SaveMenu(ctx, admin, number, welcome, false); err != nil {
		return err
	}
	team := func(id int64) string { return strconv.FormatInt(id, 10) }
	for _, o := range []automation.OptionInput{
		{Title: "Buy plants", Description: "Trees, shrubs and indoor plants", Reply: "Lovely! A plant expert from our sales team will be with you in a moment.", TeamID: team(sales), Label: "sales"},
		{Title: "My order", Description: "Delivery, changes, returns", Reply: "Sure, what about your order?"},
		{Title: "Plant care", Description: "Advice for a plant you have", Reply: "Our gardeners will help: a photo of the plant helps a lot!", TeamID: team(care), Label: "plant-care"},
	} {
		if err := au.AddOption(ctx, admin, number, o); err != nil {
			return err
		}
	}
	menus, err := au.Menus(ctx)
	if err != nil {
		return err
	}
	for _, mn := range menus {
		if mn.PhoneNumberID != number {
			continue
		}
		order := strconv.FormatInt(mn.Options[1].ID, 10)
		for _, o := range []automation.OptionInput{
			{ParentID: order, Title: "Where is it?", Reply: "We are checking the delivery for you right now.", TeamID: team(sales), Label: "delivery"},
			{ParentID: order, Title: "Change or cancel", Reply: "No problem: a colleague will change it with you.", TeamID: team(sales), Label: "order-change"},
		} {
			if err := au.AddOption(ctx, admin, number, o); err != nil {
				return err
			}
		}
	}
	return au.SaveMenu(ctx, admin, number, welcome, true)
}

// seedRatings gives past closed conversations the ratings their customers would have left.
func seedRatings(ctx context.Context, d *db.DB) error {
	rows, err := d.R.QueryContext(ctx, `SELECT id, phone_number_id, coalesce(assignee_id, 0), closed_at FROM conversations
		WHERE status = 'closed' AND closed_at IS NOT NULL ORDER BY closed_at DESC LIMIT 90`)
	if err != nil {
		return err
	}
	type closed struct{ id, pn, assignee, at int64 }
	var list []closed
	for rows.Next() {
		var c closed
		if err := rows.Scan(&c.id, &c.pn, &c.assignee, &c.at); err != nil {
			rows.Close()
			return err
		}
		list = append(list, c)
	}
	rows.Close()
	scores := []int{5, 5, 4, 5, 3, 4, 5, 2, 4, 5, 0, 4, 5, 1, 4, 5, 3, 0}
	comments := map[int]string{0: "Super fast answer and the olive tree arrived in perfect shape.", 4: "Helpful, but I had to wait a day.",
		7: "Nobody told me the delivery was late.", 13: "Still waiting for my refund.", 9: "Great advice for my Monstera, thank you!"}
	return d.Tx(ctx, func(tx *sql.Tx) error {
		for i, c := range list {
			score := scores[i%len(scores)]
			var s, rated any
			if score > 0 {
				s, rated = score, c.at+int64(3+i%40)*60_000
			}
			comment := ""
			if score > 0 {
				comment = comments[i%len(scores)]
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO conversation_ratings (conversation_id, phone_number_id, assignee_id,
				closed_at, asked_at, score, comment, rated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.id, c.pn, nullMember(c.assignee),
				c.at, c.at+1000, s, comment, rated); err != nil {
				return err
			}
		}
		return nil
	})
}

func nullMember(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
