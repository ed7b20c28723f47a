package inbox

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/authz"
)

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{
		"+4915112341234":     "+49 ••• •••• 1234",
		"4915112341234":      "+49 ••• •••• 1234", // a wa_id has no "+"
		"+49 151 1234-1234":  "+49 ••• •••• 1234",
		"+16505551234":       "+1 ••• •••• 1234",
		"+79161234567":       "+7 ••• •••• 4567",
		"+351912345678":      "+351 ••• •••• 5678",
		"+353861234567":      "+353 ••• •••• 4567",
		"+971501234567":      "+971 ••• •••• 4567",
		"+447911123456":      "+44 ••• •••• 3456",
		"+5511912345678":     "+55 ••• •••• 5678",
		"+8613812345678":     "+86 ••• •••• 5678",
		"+85291234567":       "+852 ••• •••• 4567",
		"+2348012345678":     "+234 ••• •••• 5678",
		"+2712345678":        "+27 ••• •••• 5678",
		"":                   "••• •••• ••••",
		"+49":                "••• •••• ••••",
		"12":                 "••• •••• ••••",
		"Sheena":             "••• •••• ••••",
		"US.1349120865530":   "••• •••• ••••",
		"0151 1234 1234":     "••• •••• ••••", // no country code: nothing to keep
		"+49 151 1234 1234x": "••• •••• ••••",
	} {
		if got := MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskName(t *testing.T) {
	const phone = "4915112341234"
	for in, want := range map[string]string{
		"Sheena Nelson":         "Sheena Nelson",
		"Room 101":              "Room 101",
		"Agent 007, since 2024": "Agent 007, since 2024",
		// Runs joined by separators count together: masking errs on the side of hiding.
		"Agent 007 (2024)":          "Agent ••• •••• ••••)",
		"+4915112341234":            "+49 ••• •••• 1234",
		"4915112341234":             "+49 ••• •••• 1234",
		"+49 151 1234 1234":         "+49 ••• •••• 1234",
		"0151 12341234":             "+49 ••• •••• 1234", // own number, national form
		"Mama (+49 151 12341234)":   "Mama (+49 ••• •••• 1234)",
		"Call +44 7911 123456 now":  "Call +44 ••• •••• 3456 now",
		"Other 0170 9876543":        "Other ••• •••• 6543",
		"Bob 0044 7911 123456":      "Bob +44 ••• •••• 3456",
		"":                          "",
		"Zoë 🙂 +49-151-1234-1234 x": "Zoë 🙂 +49 ••• •••• 1234 x",
	} {
		if got := MaskName(in, phone); got != want {
			t.Errorf("MaskName(%q) = %q, want %q", in, got, want)
		}
	}
}

// Without contacts.view_pii numbers and number-like names are masked in what the service
// returns, search by a full number is refused, and the last four digits still find the contact.
func TestMaskingInTheService(t *testing.T) {
	f := newFixture(t)
	c := f.customerWrites("4915112341234", "+49 151 12341234", "hello")
	other := f.customerWrites("4915199990000", "Nina Named", "hello")
	agent := f.member("Alice", authz.RoleAgent)
	piiRole := f.member("Ada Again", authz.RoleAdministrator)
	for _, id := range []int64{c, other} {
		if err := f.svc.Assign(f.ctx, f.admin, id, agent.MemberID); err != nil {
			t.Fatal(err)
		}
	}

	got, err := f.svc.Get(f.ctx, agent, c)
	if err != nil {
		t.Fatal(err)
	}
	if got.Contact.Phone != "+49 ••• •••• 1234" || got.Contact.Name != "+49 ••• •••• 1234" || !got.Contact.Masked {
		t.Errorf("masked contact %+v", got.Contact)
	}
	page, _ := f.svc.List(f.ctx, agent, ListQuery{Box: BoxMine})
	for _, conv := range page.Conversations {
		if strings.Contains(conv.Contact.Phone, "1123") || strings.Contains(conv.Contact.Name, "12341234") || strings.Contains(conv.Contact.Phone, "9999") {
			t.Errorf("list shows %+v", conv.Contact)
		}
	}
	full, _ := f.svc.Get(f.ctx, piiRole, c)
	if full.Contact.Phone != "+4915112341234" || full.Contact.Name != "+49 151 12341234" || full.Contact.Masked {
		t.Errorf("unmasked contact %+v", full.Contact)
	}

	for _, q := range []string{"+4915112341234", "4915112341234", "0151 1234 1234", "12341234", "51123", "Nina 12345"} {
		_, err := f.svc.List(f.ctx, agent, ListQuery{Box: BoxMine, Search: q})
		if !errors.Is(err, ErrForbidden) {
			t.Errorf("search %q without view_pii: %v, want refused", q, err)
		}
	}
	if ids := f.list(agent, ListQuery{Box: BoxMine, Search: "1234"}); !slices.Equal(ids, []int64{c}) {
		t.Errorf("last-4 search: %v", ids)
	}
	if ids := f.list(agent, ListQuery{Box: BoxMine, Search: "nina"}); !slices.Equal(ids, []int64{other}) {
		t.Errorf("name search: %v", ids)
	}
	// A digit query never looks into (possibly number-like) names without view_pii.
	if ids := f.list(agent, ListQuery{Box: BoxMine, Search: "151"}); len(ids) != 0 {
		t.Errorf("digits matched a masked name: %v", ids)
	}
	if ids := f.list(piiRole, ListQuery{Box: BoxAll, Search: "+49 151 1234"}); !slices.Equal(ids, []int64{c}) {
		t.Errorf("full-number search with view_pii: %v", ids)
	}
}

// Export goes through the same predicate and masking; it needs contacts.export and is recorded.
func TestExportMasksWithoutPII(t *testing.T) {
	f := newFixture(t)
	c := f.customerWrites("4915112341234", "+49 151 12341234", "hello")
	f.customerWrites("4915199990000", "On B", "hello", metaNumberB)
	agent := f.member("Alice", authz.RoleAgent, numberA)
	if err := f.svc.Assign(f.ctx, f.admin, c, agent.MemberID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Export(f.ctx, agent, func(Conversation) error { return nil }); !errors.Is(err, ErrForbidden) {
		t.Fatalf("export without contacts.export: %v", err)
	}
	exporter := *agent
	exporter.Permissions = exporter.Permissions.With(authz.ContactsExport)
	var got []Conversation
	n, err := f.svc.Export(f.ctx, &exporter, func(c Conversation) error { got = append(got, c); return nil })
	if err != nil || n != 1 || len(got) != 1 || got[0].ID != c {
		t.Fatalf("export: %d %v %+v", n, err, got)
	}
	if got[0].Contact.Phone != "+49 ••• •••• 1234" || strings.Contains(got[0].Contact.Name, "12341234") {
		t.Errorf("exported contact without view_pii: %+v", got[0].Contact)
	}
	n, err = f.svc.Export(f.ctx, f.admin, func(c Conversation) error { return nil })
	if err != nil || n != 2 {
		t.Errorf("administrator export: %d %v", n, err)
	}
	ev := f.events("conversations.exported")
	if len(ev) != 3 || ev[0].Outcome != "denied" || ev[1].Outcome != "success" || !strings.Contains(ev[1].Changes, `"masked","before":null,"after":true`) {
		t.Errorf("export events %+v", ev)
	}
}

func TestRevealContactIsRecorded(t *testing.T) {
	f := newFixture(t)
	c := f.customerWrites("4915112341234", "Nina", "hello")
	ct, err := f.svc.RevealContact(f.ctx, f.admin, c)
	if err != nil || ct.Phone != "+4915112341234" {
		t.Fatalf("reveal: %+v %v", ct, err)
	}
	agent := f.member("Alice", authz.RoleAgent)
	if _, err := f.svc.RevealContact(f.ctx, agent, c); !errors.Is(err, ErrForbidden) {
		t.Errorf("agent reveals: %v", err)
	}
	_, err = f.svc.RevealContact(f.ctx, f.member("Scoped Admin", authz.RoleAdministrator, numberB), c)
	mustBe(t, err, ErrNotFound, "reveal outside scope")
	if ev := f.events("contact.revealed"); len(ev) != 2 || ev[0].Outcome != "success" || ev[1].Outcome != "denied" {
		t.Errorf("reveal events %+v", ev)
	}
}
