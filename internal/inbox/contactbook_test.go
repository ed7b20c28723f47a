package inbox

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/authz"
)

func TestContactFieldsAndEditingAreRecorded(t *testing.T) {
	f := newFixture(t)
	agent := f.member("Alan Agent", authz.RoleAgent)
	other := f.member("Olga Other", authz.RoleAgent)
	conv := f.customerWrites("4915112340001", "Lena", "Hello")
	if err := f.svc.Assign(f.ctx, f.admin, conv, agent.MemberID); err != nil {
		t.Fatal(err)
	}
	var contactID int64
	if err := f.db.R.QueryRowContext(f.ctx, `SELECT contact_id FROM conversations WHERE id = ?`, conv).Scan(&contactID); err != nil {
		t.Fatal(err)
	}
	tier, err := f.svc.CreateContactField(f.ctx, f.admin, ContactFieldInput{Label: "Tier", Kind: "choice", Choices: "Gold\nSilver"})
	if err != nil {
		t.Fatal(err)
	}
	since, err := f.svc.CreateContactField(f.ctx, f.admin, ContactFieldInput{Label: "Customer since", Kind: "date"})
	if err != nil || since.Key != "customer_since" {
		t.Fatalf("%+v %v", since, err)
	}
	_, err = f.svc.CreateContactField(f.ctx, agent, ContactFieldInput{Label: "Nope", Kind: "text"})
	mustBe(t, err, ErrForbidden, "agent defines a field")

	// The assignee edits; a bad date is refused with the field's name and changes nothing.
	err = f.svc.UpdateContact(f.ctx, agent, contactID, ContactInput{DisplayName: "Lena Fischer", Fields: map[int64]string{since.ID: "yesterday"}})
	var fe FieldErrors
	if !errors.As(err, &fe) || !strings.Contains(fe.Error(), "field_") {
		t.Fatalf("bad date: %v", err)
	}
	if n := f.count(`SELECT count(*) FROM contacts WHERE name <> ''`); n != 0 {
		t.Fatal("a refused edit changed the contact")
	}
	if err := f.svc.UpdateContact(f.ctx, agent, contactID, ContactInput{DisplayName: "Lena Fischer", Notes: "Prefers mornings",
		Fields: map[int64]string{tier.ID: "gold", since.ID: "2024-03-01"}}); err != nil {
		t.Fatal(err)
	}
	rec, err := f.svc.ContactRecord(f.ctx, agent, contactID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.DisplayName != "Lena Fischer" || rec.Notes != "Prefers mornings" || rec.Fields[0].Value != "Gold" || rec.Fields[1].Value != "2024-03-01" ||
		len(rec.Conversations) != 1 || !rec.CanEdit || !rec.Masked {
		t.Fatalf("record %+v", rec)
	}
	ev := f.events("contact.updated")
	if len(ev) != 1 || !strings.Contains(ev[0].Changes, "field.tier") || !strings.Contains(ev[0].Changes, "Lena Fischer") {
		t.Fatalf("activity %+v", ev)
	}
	// Another agent does not see the contact at all.
	_, err = f.svc.ContactRecord(f.ctx, other, contactID)
	mustBe(t, err, ErrNotFound, "other agent opens the contact")
	mustBe(t, f.svc.UpdateContact(f.ctx, other, contactID, ContactInput{DisplayName: "x"}), ErrNotFound, "other agent edits")

	vip, _ := f.svc.CreateLabel(f.ctx, f.admin, LabelInput{Name: "VIP"})
	if err := f.svc.LabelContact(f.ctx, agent, contactID, vip.ID, true); err != nil {
		t.Fatal(err)
	}
	page, err := f.svc.ContactBook(f.ctx, f.admin, ContactQuery{LabelID: vip.ID})
	if err != nil || len(page.Contacts) != 1 || page.Contacts[0].Labels[0].Name != "VIP" {
		t.Fatalf("label filter %+v %v", page, err)
	}
}

const importCSV = "Phone,Name,Tier,Labels\n+49 151 1234 0001,Lena Fischer,Gold,VIP\n+4915112340002,Max Bauer,Silver,\n"

func TestImportWithABadRowChangesNothing(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.CreateContactField(f.ctx, f.admin, ContactFieldInput{Label: "Tier", Kind: "choice", Choices: "Gold\nSilver"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateLabel(f.ctx, f.admin, LabelInput{Name: "VIP"}); err != nil {
		t.Fatal(err)
	}
	bad := importCSV + "not a number,Broken,Gold,\n+4915112340004,Mia,Platinum,Unknown label\n"
	_, pv, err := f.svc.ImportContacts(f.ctx, f.admin, []byte(bad), nil)
	mustBe(t, err, ErrImportRows, "import with bad rows")
	if len(pv.Errors) != 2 || pv.Errors[0].Line != 4 || !strings.Contains(pv.Errors[0].Message, "not a phone number") ||
		pv.Errors[1].Line != 5 || !strings.Contains(pv.Errors[1].Message, "Tier") || !strings.Contains(pv.Errors[1].Message, "Unknown label") {
		t.Fatalf("errors %+v", pv.Errors)
	}
	if n := f.count(`SELECT count(*) FROM contacts`); n != 0 {
		t.Fatalf("a refused import created %d contacts", n)
	}
	if len(f.events("contacts.imported")) != 0 {
		t.Fatal("an import with bad rows was recorded as done")
	}
	// The agent may not import at all.
	agent := f.member("Alan Agent", authz.RoleAgent)
	_, _, err = f.svc.ImportContacts(f.ctx, agent, []byte(importCSV), nil)
	mustBe(t, err, ErrForbidden, "agent imports")

	pv2, err := f.svc.PreviewImport(f.ctx, f.admin, []byte(importCSV), nil)
	if err != nil || pv2.Creates != 2 || pv2.Mapping[0] != TargetPhone || pv2.Mapping[2] != "field:tier" || pv2.Mapping[3] != TargetLabels {
		t.Fatalf("preview %+v %v", pv2, err)
	}
	res, _, err := f.svc.ImportContacts(f.ctx, f.admin, []byte(importCSV), nil)
	if err != nil || res.Created != 2 {
		t.Fatalf("import %+v %v", res, err)
	}
	if n := f.count(`SELECT count(*) FROM contact_labels`); n != 1 {
		t.Fatalf("labels imported: %d", n)
	}
	// Importing again updates, by number.
	res, _, err = f.svc.ImportContacts(f.ctx, f.admin, []byte(importCSV), nil)
	if err != nil || res.Updated != 2 || res.Created != 0 {
		t.Fatalf("re-import %+v %v", res, err)
	}
	if ev := f.events("contacts.imported"); len(ev) != 3 || ev[0].Outcome != "denied" || strings.Contains(ev[1].Changes, "4915112340001") {
		t.Fatalf("activity %+v", ev)
	}
}

func TestExportNeedsThePermissionAndMasksWithoutPII(t *testing.T) {
	f := newFixture(t)
	if _, _, err := f.svc.ImportContacts(f.ctx, f.admin, []byte("Phone,Name\n+4915112340001,=cmd|' /C calc'!A0\n"), nil); err != nil {
		t.Fatal(err)
	}
	agent := f.member("Alan Agent", authz.RoleAgent)
	opened := false
	_, err := f.svc.ExportContacts(f.ctx, agent, func() io.Writer { opened = true; return io.Discard })
	mustBe(t, err, ErrForbidden, "agent exports")
	if opened {
		t.Fatal("a refused export wrote output")
	}
	if ev := f.events("contacts.exported"); len(ev) != 1 || ev[0].Outcome != "denied" {
		t.Fatalf("refusal recorded as %+v", ev)
	}
	var buf bytes.Buffer
	n, err := f.svc.ExportContacts(f.ctx, f.admin, func() io.Writer { return &buf })
	if err != nil || n != 1 {
		t.Fatal(n, err)
	}
	if !strings.Contains(buf.String(), "+4915112340001") || !strings.Contains(buf.String(), "'=cmd") {
		t.Fatalf("export %q", buf.String())
	}
}
