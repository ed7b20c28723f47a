package workspace_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/secrets"
	"github.com/switchboard/switchboard/internal/whatsapp"
	"github.com/switchboard/switchboard/internal/whatsapp/simulator"
	"github.com/switchboard/switchboard/internal/workspace"
)

const (
	token     = "EAAGsimulatortokenABCD1234"
	appSecret = "0123456789abcdef0123456789abcdef"
	verify    = "a-verify-token-of-some-length"
)

func newService(t *testing.T) (*workspace.Service, *db.DB, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	d, err := db.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	clk := clock.NewFake(time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC))
	sim := simulator.New(simulator.Options{Clock: clk, AccessToken: token, AppSecret: appSecret, WABAs: []simulator.WABA{{
		ID: "102290129340398", Name: "Lucky Shrub",
		PhoneNumbers: []whatsapp.PhoneNumber{
			{ID: "106540352242922", DisplayPhoneNumber: "+1 555-078-3881", VerifiedName: "Lucky Shrub", QualityRating: "GREEN", MessagingLimit: "TIER_1K"},
			{ID: "106540352242923", DisplayPhoneNumber: "+49 30 901820", VerifiedName: "Lucky Shrub DE", QualityRating: "YELLOW"},
		},
	}}})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	box, err := secrets.NewBox(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return workspace.NewService(d, workspace.NewStore(d), audit.New(d, clk), box, whatsapp.NewClient(srv.URL, nil), clk), d, dir
}

func TestConnectStoresSecretsEncryptedAndWriteOnly(t *testing.T) {
	svc, d, dir := newService(t)
	ctx := context.Background()
	w, err := svc.Connect(ctx, workspace.WABAInput{WABAID: "102290129340398", Name: "Lucky Shrub", AccessToken: token, AppSecret: appSecret, VerifyToken: verify})
	if err != nil {
		t.Fatal(err)
	}
	if w.AccessTokenLast4 != "1234" || w.AppSecretLast4 != "cdef" || !w.HasVerifyToken {
		t.Errorf("shown: %+v", w)
	}
	creds, err := svc.Credentials(ctx, w.ID)
	if err != nil || creds.Token != token || creds.AppSecret != appSecret {
		t.Fatalf("credentials do not decrypt: %v", err)
	}
	d.W.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	raw, err := os.ReadFile(dir + "/" + db.FileName)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{token, appSecret, verify} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the database file contains %q in clear", secret)
		}
	}
	events, _, err := audit.New(d, clock.System{}).List(ctx, audit.ListQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		for _, c := range e.Changes {
			if s, ok := c.After.(string); ok && (s == token || s == appSecret) {
				t.Errorf("event %s holds a secret in %s", e.Action, c.Field)
			}
		}
	}
	// An update without secrets keeps them.
	if err := svc.Update(ctx, w.ID, workspace.WABAInput{Name: "Lucky Shrub EU"}); err != nil {
		t.Fatal(err)
	}
	if creds, _ := svc.Credentials(ctx, w.ID); creds.Token != token {
		t.Error("an update without a token dropped the token")
	}
	if _, err := svc.Connect(ctx, workspace.WABAInput{WABAID: "102290129340398", AccessToken: "x", AppSecret: "y", VerifyToken: verify}); err == nil {
		t.Error("the same WABA was connected twice")
	}
	if _, err := svc.Connect(ctx, workspace.WABAInput{WABAID: "not-a-number", AccessToken: "x", AppSecret: "y", VerifyToken: "short"}); err == nil {
		t.Error("bad input was accepted")
	}
}

func TestSyncNumbersAndTestConnection(t *testing.T) {
	svc, _, _ := newService(t)
	ctx := context.Background()
	w, err := svc.Connect(ctx, workspace.WABAInput{WABAID: "102290129340398", AccessToken: token, AppSecret: appSecret, VerifyToken: verify})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.TestConnection(ctx, w.ID); err != nil {
		t.Fatalf("test connection: %v", err)
	}
	n, err := svc.SyncNumbers(ctx, w.ID)
	if err != nil || n != 2 {
		t.Fatalf("sync: %d %v", n, err)
	}
	numbers, err := svc.Store().PhoneNumbers(ctx)
	if err != nil || len(numbers) != 2 {
		t.Fatalf("numbers: %v %v", numbers, err)
	}
	if err := svc.SetNumber(ctx, numbers[0].ID, "Support line", false); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SyncNumbers(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	numbers, _ = svc.Store().PhoneNumbers(ctx)
	if numbers[0].Label != "Support line" || numbers[0].Enabled {
		t.Errorf("a sync overwrote the workspace's label or switch: %+v", numbers[0])
	}
	if err := svc.Update(ctx, w.ID, workspace.WABAInput{AccessToken: "EAAGwrongtoken9999"}); err != nil {
		t.Fatal(err)
	}
	err = svc.TestConnection(ctx, w.ID)
	if apiErr, ok := whatsapp.AsAPIError(err); !ok || !apiErr.IsAuth() {
		t.Errorf("a wrong token tested as %v", err)
	}
}
