package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

type throttleFixture struct {
	th  *Throttle
	db  *db.DB
	clk *clock.Fake
}

func newThrottleFixture(tb testing.TB, policy ThrottlePolicy) *throttleFixture {
	tb.Helper()
	d, err := db.Open(context.Background(), tb.TempDir())
	if err != nil {
		tb.Fatalf("open database: %v", err)
	}
	tb.Cleanup(func() { d.Close() })
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	return &throttleFixture{th: NewThrottle(d, clk, policy), db: d, clk: clk}
}

// attempt is one sign-in as the sign-in flow makes it: Check, and only when allowed the password
// check, then Failure or Success. It returns the decision and, for a wrong password that was
// checked, the failure's outcome.
func (f *throttleFixture) attempt(tb testing.TB, email, addr string, rightPassword bool) (Decision, Outcome) {
	tb.Helper()
	ctx := context.Background()
	dec, err := f.th.Check(ctx, email, addr)
	if err != nil {
		tb.Fatalf("check: %v", err)
	}
	if !dec.Allowed {
		return dec, Outcome{}
	}
	if rightPassword {
		if err := f.th.Success(ctx, email, addr); err != nil {
			tb.Fatalf("success: %v", err)
		}
		return dec, Outcome{}
	}
	out, err := f.th.Failure(ctx, email, addr)
	if err != nil {
		tb.Fatalf("failure: %v", err)
	}
	return dec, out
}

func (f *throttleFixture) check(tb testing.TB, email, addr string) Decision {
	tb.Helper()
	dec, err := f.th.Check(context.Background(), email, addr)
	if err != nil {
		tb.Fatalf("check: %v", err)
	}
	if dec.Allowed {
		f.th.land(throttleKeys(email, addr)) // a probe, not an attempt
	}
	return dec
}

func (f *throttleFixture) count(tb testing.TB, query string, args ...any) int {
	tb.Helper()
	var n int
	if err := f.db.R.QueryRow(query, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}

// ASVS 4.0.3 2.2.1: the 6th wrong password is locked even if the 7th is right.
func TestThrottleSixthAttemptIsLockedEvenWithTheRightPassword(t *testing.T) {
	f := newThrottleFixture(t, DefaultThrottlePolicy)
	const email, addr = "ada@example.com", "203.0.113.7"
	for i := 1; i <= 5; i++ {
		dec, out := f.attempt(t, email, addr, false)
		if !dec.Allowed {
			t.Fatalf("attempt %d refused: %+v", i, dec)
		}
		if out.AccountFailures != i {
			t.Fatalf("attempt %d: AccountFailures = %d", i, out.AccountFailures)
		}
		wantLock := i == 5
		if out.LockedNow != wantLock || out.AccountLockedNow != wantLock || out.Locked != wantLock || out.AddressLockedNow {
			t.Fatalf("attempt %d: outcome %+v, want locked now = %v", i, out, wantLock)
		}
	}
	dec, _ := f.attempt(t, email, addr, false)
	if dec.Allowed || dec.Reason != ReasonAccountLocked || dec.RetryAfter != 30*time.Second {
		t.Fatalf("6th attempt: %+v, want refused for 30s (account locked)", dec)
	}
	f.clk.Advance(time.Second)
	dec, _ = f.attempt(t, email, addr, true)
	if dec.Allowed || dec.Reason != ReasonAccountLocked || dec.RetryAfter != 29*time.Second {
		t.Fatalf("7th attempt with the right password: %+v, want refused for 29s", dec)
	}
	// The refused attempts were not failures: the lock did not grow.
	f.clk.Advance(29 * time.Second)
	if dec, _ := f.attempt(t, email, addr, true); !dec.Allowed {
		t.Fatalf("right password after the lock: %+v", dec)
	}
}

func TestThrottleSuccessResetsTheAccount(t *testing.T) {
	f := newThrottleFixture(t, DefaultThrottlePolicy)
	const email, addr = "ada@example.com", "203.0.113.7"
	for range 4 {
		f.attempt(t, email, addr, false)
	}
	if dec, _ := f.attempt(t, email, addr, true); !dec.Allowed {
		t.Fatalf("right password refused: %+v", dec)
	}
	for i := 1; i <= 4; i++ {
		dec, out := f.attempt(t, email, addr, false)
		if !dec.Allowed || out.AccountFailures != i || out.Locked {
			t.Fatalf("failure %d after the success: %+v %+v", i, dec, out)
		}
	}
	// The address is not reset by a success: 9 failures from it in the last hour.
	_, out := f.attempt(t, email, addr, false)
	if out.AddressFailures != 9 || !out.AccountLockedNow {
		t.Fatalf("5th failure after the success: %+v", out)
	}

	// After a lock has run out, a success also forgets the lock's growth.
	f.clk.Advance(30 * time.Second)
	f.attempt(t, email, addr, true)
	for range 4 {
		f.attempt(t, email, addr, false)
	}
	if _, out := f.attempt(t, email, addr, false); out.RetryAfter != 30*time.Second {
		t.Fatalf("first lock after a success: %v, want 30s", out.RetryAfter)
	}
}

func TestThrottleLockedAccountDoesNotLockOthers(t *testing.T) {
	f := newThrottleFixture(t, DefaultThrottlePolicy)
	for range 5 {
		f.attempt(t, "ada@example.com", "203.0.113.7", false)
	}
	tests := []struct {
		email, addr string
		allowed     bool
	}{
		{"ada@example.com", "203.0.113.7", false},
		{"ADA@example.com ", "198.51.100.1", false}, // the account's lock follows it everywhere
		{"grace@example.com", "203.0.113.7", true},
		{"grace@example.com", "198.51.100.1", true},
		{"ada@example.org", "203.0.113.7", true},
	}
	for _, tc := range tests {
		dec := f.check(t, tc.email, tc.addr)
		if dec.Allowed != tc.allowed {
			t.Errorf("Check(%q, %q) = %+v, want allowed = %v", tc.email, tc.addr, dec, tc.allowed)
		}
	}
}

func TestThrottleAddressLockStopsManyAccountsFromOneAddress(t *testing.T) {
	f := newThrottleFixture(t, DefaultThrottlePolicy)
	const stuffer, office = "203.0.113.7", "198.51.100.1"
	// Credential stuffing: one password for each of many accounts.
	for i := 1; i <= 20; i++ {
		dec, out := f.attempt(t, fmt.Sprintf("user%d@example.com", i), stuffer, false)
		if !dec.Allowed {
			t.Fatalf("attempt %d refused: %+v", i, dec)
		}
		if out.AccountFailures != 1 || out.AddressFailures != i || out.AccountLockedNow {
			t.Fatalf("attempt %d: %+v", i, out)
		}
		if want := i == 20; out.AddressLockedNow != want || out.LockedNow != want {
			t.Fatalf("attempt %d: address locked now = %v, want %v", i, out.AddressLockedNow, want)
		}
	}
	for _, email := range []string{"user1@example.com", "user21@example.com", "someone@example.org"} {
		if dec := f.check(t, email, stuffer); dec.Allowed || dec.Reason != ReasonAddressLocked || dec.RetryAfter != 30*time.Second {
			t.Errorf("Check(%q) from the stuffing address = %+v, want address locked for 30s", email, dec)
		}
		if dec := f.check(t, email, office); !dec.Allowed {
			t.Errorf("Check(%q) from another address = %+v, want allowed", email, dec)
		}
	}

	// One valid account does not launder the address: after a success from it, the next failure
	// starts the next, longer lock.
	f.clk.Advance(30 * time.Second)
	if dec, _ := f.attempt(t, "insider@example.com", stuffer, true); !dec.Allowed {
		t.Fatalf("right password after the address lock: %+v", dec)
	}
	_, out := f.attempt(t, "user22@example.com", stuffer, false)
	if out.AddressFailures != 21 || !out.AddressLockedNow || out.RetryAfter != time.Minute {
		t.Fatalf("failure after the success: %+v, want the address locked for 1m", out)
	}

	// The address count decays: failures older than an hour are forgotten.
	f.clk.Advance(time.Hour)
	_, out = f.attempt(t, "user23@example.com", stuffer, false)
	if out.AddressFailures != 1 || out.Locked {
		t.Fatalf("failure an hour later: %+v", out)
	}
}

func TestThrottleLocksGrowAndCap(t *testing.T) {
	tests := []struct {
		name  string
		email func(i int) string
		addr  func(i int) string
		free  int
	}{
		{"account", func(int) string { return "ada@example.com" }, func(i int) string { return fmt.Sprintf("192.0.2.%d", i) }, 5},
		{"address", func(i int) string { return fmt.Sprintf("user%d@example.com", i) }, func(int) string { return "203.0.113.7" }, 20},
	}
	locks := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		15 * time.Minute, 15 * time.Minute, 15 * time.Minute}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newThrottleFixture(t, DefaultThrottlePolicy)
			for i := 1; i < tc.free; i++ {
				if _, out := f.attempt(t, tc.email(i), tc.addr(i), false); out.Locked {
					t.Fatalf("failure %d locked: %+v", i, out)
				}
			}
			for j, want := range locks {
				i := tc.free + j
				dec, out := f.attempt(t, tc.email(i), tc.addr(i), false)
				if !dec.Allowed {
					t.Fatalf("failure %d refused: %+v", i, dec)
				}
				if !out.LockedNow || out.RetryAfter != want {
					t.Fatalf("failure %d: %+v, want a new lock of %v", i, out, want)
				}
				// The lock runs out with time, not before.
				f.clk.Advance(want - time.Millisecond)
				if dec := f.check(t, tc.email(i+1), tc.addr(i+1)); dec.Allowed || dec.RetryAfter != time.Millisecond {
					t.Fatalf("1ms before the end of lock %d: %+v", j, dec)
				}
				f.clk.Advance(time.Millisecond)
				if dec := f.check(t, tc.email(i+1), tc.addr(i+1)); !dec.Allowed {
					t.Fatalf("at the end of lock %d: %+v", j, dec)
				}
			}
		})
	}
}

func TestThrottleLockDurations(t *testing.T) {
	th := NewThrottle(nil, clock.System{}, DefaultThrottlePolicy)
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {4, 0}, {5, 30 * time.Second}, {6, time.Minute}, {7, 2 * time.Minute}, {8, 4 * time.Minute},
		{9, 8 * time.Minute}, {10, 15 * time.Minute}, {11, 15 * time.Minute}, {1 << 20, 15 * time.Minute},
	}
	for _, tc := range tests {
		if got := th.lockFor(tc.failures, 5); got != tc.want {
			t.Errorf("lockFor(%d) = %v, want %v", tc.failures, got, tc.want)
		}
	}
}

// NIST SP 800-63B 5.2.2: never more than 100 failures an hour on one account, whatever the policy
// and however patient the attacker.
func TestThrottleNeverMoreThan100FailuresAnHour(t *testing.T) {
	tests := []struct {
		name   string
		policy ThrottlePolicy
		// every is how often the attacker tries when nothing stops him.
		every time.Duration
		// capBinds: the policy alone would allow more than 100 an hour.
		capBinds bool
	}{
		{"no locks at all", ThrottlePolicy{AccountFreeFailures: 1 << 20, AddressFreeFailures: 1 << 20, MaxFailuresPerHour: 1000}, 15 * time.Second, true},
		{"short locks waited out", ThrottlePolicy{AccountFreeFailures: 1, AddressFreeFailures: 1 << 20, FirstLock: 10 * time.Second, MaxLock: 20 * time.Second}, 0, true},
		{"default policy", DefaultThrottlePolicy, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newThrottleFixture(t, tc.policy)
			if got := f.th.Policy().MaxFailuresPerHour; got != 100 {
				t.Fatalf("MaxFailuresPerHour = %d, want 100", got)
			}
			start := f.clk.Now()
			var failures []time.Time
			for i := 0; f.clk.Now().Sub(start) < 2*time.Hour; i++ {
				// A clever attacker also changes address every time.
				addr := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
				dec, _ := f.attempt(t, "ada@example.com", addr, false)
				if !dec.Allowed {
					if dec.RetryAfter <= 0 {
						t.Fatalf("refused without a retry time: %+v", dec)
					}
					f.clk.Advance(dec.RetryAfter)
					continue
				}
				failures = append(failures, f.clk.Now())
				f.clk.Advance(tc.every)
			}
			worst := 0
			for i := range failures {
				n := 0
				for j := i; j < len(failures) && failures[j].Sub(failures[i]) < time.Hour; j++ {
					n++
				}
				worst = max(worst, n)
			}
			if worst > 100 {
				t.Fatalf("%d failures within one hour", worst)
			}
			t.Logf("%d failures in 2 hours, at most %d in any hour", len(failures), worst)
			if tc.capBinds && worst != 100 {
				t.Fatalf("at most %d failures in an hour, want the cap of 100 to be what stops him", worst)
			}
			account := throttleKeys("ada@example.com", "")[0]
			if got := f.count(t, `SELECT count(*) FROM sign_in_failures WHERE key_hash = ?`, account.hash[:]); got > 100 {
				t.Fatalf("%d failure rows kept for one account", got)
			}
		})
	}
}

func TestThrottleHourlyCapSurvivesASuccess(t *testing.T) {
	f := newThrottleFixture(t, ThrottlePolicy{AccountFreeFailures: 1 << 20, AddressFreeFailures: 1 << 20})
	const email = "ada@example.com"
	for i := range 99 {
		f.attempt(t, email, fmt.Sprintf("10.0.0.%d", i), false)
		f.clk.Advance(time.Second)
	}
	if dec, _ := f.attempt(t, email, "10.0.1.1", true); !dec.Allowed {
		t.Fatalf("right password after 99 failures: %+v", dec)
	}
	_, out := f.attempt(t, email, "10.0.1.2", false)
	// The 100th failure of the hour: refused until the first of them is an hour old.
	if !out.AccountLockedNow || out.AccountFailures != 1 || out.RetryAfter != time.Hour-99*time.Second {
		t.Fatalf("100th failure: %+v", out)
	}
	if dec := f.check(t, email, "10.0.1.3"); dec.Allowed {
		t.Fatalf("101st attempt allowed: %+v", dec)
	}
}

// ASVS 5.0 6.3.8: the throttle answers the same for an e-mail address that belongs to a member
// and for one that does not; it never looks.
func TestThrottleKnownAndUnknownEmailsBehaveAlike(t *testing.T) {
	f := newThrottleFixture(t, DefaultThrottlePolicy)
	ctx := context.Background()
	if _, err := f.db.W.ExecContext(ctx, `INSERT INTO roles (key, name, created_at, updated_at) VALUES ('r', 'R', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.W.ExecContext(ctx, `INSERT INTO members (email, name, password_hash, role_id, created_at, updated_at)
		VALUES ('ada@example.com', 'Ada', 'x', (SELECT id FROM roles WHERE key = 'r'), 0, 0)`); err != nil {
		t.Fatal(err)
	}
	type step struct {
		Decision Decision
		Outcome  Outcome
	}
	run := func(email, addr string) []step {
		var steps []step
		for i := range 12 {
			dec, out := f.attempt(t, email, addr, i == 9)
			steps = append(steps, step{dec, out})
			f.clk.Advance(20 * time.Second)
		}
		return steps
	}
	start := f.clk.Now()
	known := run("ada@example.com", "203.0.113.7")
	f.clk.Set(start)
	unknown := run("nobody@example.com", "203.0.113.8")
	if !reflect.DeepEqual(known, unknown) {
		t.Fatalf("member and non-member differ:\n%+v\n%+v", known, unknown)
	}
}

func TestThrottleStoresOnlyHashes(t *testing.T) {
	f := newThrottleFixture(t, DefaultThrottlePolicy)
	const typed, addr = "  Ada.Lovelace@Example.COM", "203.0.113.77"
	for range 6 {
		f.attempt(t, typed, addr, false)
	}
	secrets := [][]byte{[]byte("ada.lovelace@example.com"), []byte("Ada.Lovelace@Example.COM"), []byte(addr)}
	for _, table := range []string{"sign_in_throttle", "sign_in_failures"} {
		rows, err := f.db.R.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		n := 0
		for rows.Next() {
			n++
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				b := []byte(fmt.Sprint(v))
				if raw, ok := v.([]byte); ok {
					b = raw
				}
				for _, s := range secrets {
					if bytes.Contains(bytes.ToLower(b), bytes.ToLower(s)) {
						t.Errorf("%s.%s holds %q", table, cols[i], s)
					}
				}
			}
		}
		rows.Close()
		if n == 0 {
			t.Fatalf("%s is empty", table)
		}
	}
	want := sha256.Sum256([]byte("account\x00ada.lovelace@example.com"))
	if n := f.count(t, `SELECT count(*) FROM sign_in_throttle WHERE key_hash = ? AND kind = 'account'`, want[:]); n != 1 {
		t.Fatalf("no account row keyed by the SHA-256 of the normalised e-mail")
	}
	// Nor anywhere in the database file or its write-ahead log.
	for _, path := range []string{f.db.Path, f.db.Path + "-wal"} {
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(bytes.ToLower(b), bytes.ToLower(s)) {
				t.Errorf("%s contains %q", path, s)
			}
		}
	}
}

// Simultaneous attempts cannot all pass Check before the first failure is recorded.
func TestThrottleBurstOfParallelAttempts(t *testing.T) {
	tests := []struct {
		name   string
		policy ThrottlePolicy
		max    int
	}{
		{"default policy", DefaultThrottlePolicy, 5},
		{"hourly cap", ThrottlePolicy{AccountFreeFailures: 1 << 20, AddressFreeFailures: 1 << 20}, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newThrottleFixture(t, tc.policy)
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				allowed int
			)
			for i := range 3 * tc.max {
				wg.Go(func() {
					ctx := context.Background()
					addr := fmt.Sprintf("10.0.%d.%d", i/256, i%256)
					dec, err := f.th.Check(ctx, "ada@example.com", addr)
					if err != nil {
						t.Error(err)
						return
					}
					if !dec.Allowed {
						return
					}
					mu.Lock()
					allowed++
					mu.Unlock()
					time.Sleep(5 * time.Millisecond) // the password check
					if _, err := f.th.Failure(ctx, "ada@example.com", addr); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if allowed == 0 || allowed > tc.max {
				t.Fatalf("%d attempts allowed, want 1 to %d", allowed, tc.max)
			}
			if dec := f.check(t, "ada@example.com", "192.0.2.1"); dec.Allowed && allowed == tc.max {
				t.Fatalf("attempt after the burst allowed: %+v", dec)
			}
		})
	}
}

// An attempt whose outcome never comes (the caller failed in between) stops counting after a
// minute.
func TestThrottleAttemptsInFlightExpire(t *testing.T) {
	f := newThrottleFixture(t, DefaultThrottlePolicy)
	ctx := context.Background()
	for i := range 5 {
		if dec, err := f.th.Check(ctx, "ada@example.com", ""); err != nil || !dec.Allowed {
			t.Fatalf("check %d: %+v %v", i, dec, err)
		}
	}
	dec, err := f.th.Check(ctx, "ada@example.com", "")
	if err != nil || dec.Allowed || dec.Reason != ReasonAccountLocked || dec.RetryAfter != time.Second {
		t.Fatalf("6th attempt with 5 in flight: %+v %v", dec, err)
	}
	f.clk.Advance(time.Minute)
	if dec := f.check(t, "ada@example.com", ""); !dec.Allowed {
		t.Fatalf("after the attempts in flight expired: %+v", dec)
	}
}

func TestThrottleForgetsAfterAnHourWithoutFailures(t *testing.T) {
	f := newThrottleFixture(t, DefaultThrottlePolicy)
	for range 4 {
		f.attempt(t, "ada@example.com", "203.0.113.7", false)
	}
	f.clk.Advance(time.Hour)
	for i := 1; i <= 4; i++ {
		if _, out := f.attempt(t, "grace@example.com", "198.51.100.1", false); out.Locked {
			t.Fatalf("unrelated failure %d locked: %+v", i, out)
		}
	}
	// Grace's failures pruned Ada's rows, which had nothing left to say.
	want := sha256.Sum256([]byte("account\x00ada@example.com"))
	if n := f.count(t, `SELECT count(*) FROM sign_in_throttle WHERE key_hash = ?`, want[:]); n != 0 {
		t.Fatalf("Ada's counter kept an hour after her last failure")
	}
	if n := f.count(t, `SELECT count(*) FROM sign_in_failures WHERE key_hash = ?`, want[:]); n != 0 {
		t.Fatalf("Ada's failures kept an hour later")
	}
	if _, out := f.attempt(t, "ada@example.com", "203.0.113.7", false); out.AccountFailures != 1 || out.AddressFailures != 1 {
		t.Fatalf("an hour later: %+v", out)
	}
}

func TestThrottleWithoutAddress(t *testing.T) {
	f := newThrottleFixture(t, DefaultThrottlePolicy)
	for range 5 {
		f.attempt(t, "ada@example.com", "", false)
	}
	if dec := f.check(t, "ada@example.com", ""); dec.Allowed || dec.Reason != ReasonAccountLocked {
		t.Fatalf("account without address: %+v", dec)
	}
	if n := f.count(t, `SELECT count(*) FROM sign_in_throttle WHERE kind = 'address'`); n != 0 {
		t.Fatalf("%d address rows for attempts without an address", n)
	}
}

func TestClientNetwork(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"203.0.113.7", "203.0.113.7"},
		{" 203.0.113.7 ", "203.0.113.7"},
		{"203.0.113.7:4431", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:DB8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2::9]:443", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"Unknown", "unknown"},
	}
	for _, tc := range tests {
		if got := ClientNetwork(tc.in); got != tc.want {
			t.Errorf("ClientNetwork(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// These run once per sign-in attempt, beside an argon2id hash of tens of milliseconds.
func BenchmarkThrottleFailure(b *testing.B) {
	f := newThrottleFixture(b, DefaultThrottlePolicy)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		f.clk.Advance(100 * time.Millisecond)
		if _, err := f.th.Failure(ctx, fmt.Sprintf("user%d@example.com", i%1000), fmt.Sprintf("10.0.0.%d", i%50)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkThrottleCheck(b *testing.B) {
	f := newThrottleFixture(b, DefaultThrottlePolicy)
	ctx := context.Background()
	for i := range 1000 {
		if _, err := f.th.Failure(ctx, fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("10.0.0.%d", i%50)); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		email, addr := fmt.Sprintf("user%d@example.com", i%2000), fmt.Sprintf("10.0.0.%d", i%100)
		if _, err := f.th.Check(ctx, email, addr); err != nil {
			b.Fatal(err)
		}
		f.th.land(throttleKeys(email, addr))
		i++
	}
}
