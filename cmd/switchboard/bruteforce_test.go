package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/loadgen"
)

// Issue 4's figures (sign-in cost, and what the throttle sustains under a brute-force loop), measured
// by TestBruteForceFigures when -bruteforce.duration is set:
//
//	go test -run TestBruteForceFigures -v ./cmd/switchboard -bruteforce.duration=20s
var (
	bruteDuration = flag.Duration("bruteforce.duration", 0, "run TestBruteForceFigures, each of its three brute-force scenarios for this long "+
		"(at most 3m); 0 skips it")
	bruteWorkers = flag.Int("bruteforce.workers", 16, "TestBruteForceFigures: concurrent attempts in flight (at most 256)")
)

// Bounds of the figures run, whatever the flags say.
const (
	bruteMaxDuration    = 3 * time.Minute
	bruteMaxWorkers     = 256
	bruteMaxAttempts    = 1_000_000 // per scenario
	bruteRequestTimeout = 10 * time.Second
	// A refusal while other attempts are in flight says Retry-After: 2 (auth's inFlightRetry of
	// 1 s, plus the handler's rounding up); a refusal for a lock says the lock's remaining time,
	// 30 s and more. Anything above this is counted as a lock.
	bruteInFlightRetryAfter = 2
)

// The always-on check: the throttle holds over HTTP, in the server's own sign-in path. In
// process (apptest, fake clock: no lock runs out while the test runs), from 127.0.0.1 only: 15
// failures in all, under the address's 20.
func TestBruteForceIsThrottled(t *testing.T) {
	in := apptest.Start(t)
	const right = "correct horse battery staple 4"
	in.CreateMemberWithout2FA("brute@example.test", "Brute Target", authz.RoleAgent, right)
	in.CreateMemberWithout2FA("burst@example.test", "Burst Target", authz.RoleAgent, right)
	u, err := loadgen.CheckURL(in.URL)
	if err != nil {
		t.Fatal(err)
	}
	client := newBruteClient(t, "", 16)
	ctx := context.Background()
	post := func(email, password string) bruteAnswer {
		t.Helper()
		a, err := postSignIn(ctx, client, u.String(), email, password)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := post("brute@example.test", right); a.status != http.StatusSeeOther {
		t.Fatalf("the right password before any failure: status %d, want 303", a.status)
	}
	policy := auth.DefaultThrottlePolicy
	// The same sequence for a member and for an e-mail address nobody has.
	sequence := func(email string) []int {
		var got []int
		for i := range policy.AccountFreeFailures {
			got = append(got, post(email, fmt.Sprintf("wrong guess %d", i)).status)
		}
		a := post(email, right)
		if a.status == http.StatusTooManyRequests && a.retryAfter <= bruteInFlightRetryAfter {
			t.Errorf("%s: the attempt after the lock was refused with Retry-After %d s, not for the lock", email, a.retryAfter)
		}
		return append(got, a.status)
	}
	want := []int{401, 401, 401, 401, 401, 429}
	known := sequence("brute@example.test")
	if !slices.Equal(known, want) {
		t.Errorf("member: 5 wrong passwords then the right one answered %v, want %v (the 6th refused without a check)", known, want)
	}
	unknown := sequence("nobody@example.test")
	if !slices.Equal(unknown, known) {
		t.Errorf("unknown e-mail answered %v, the member %v: the throttle tells accounts apart", unknown, known)
	}

	// 100 attempts at once on one account: at most 5 reach the password check, even with the
	// burst in flight before the first failure is recorded.
	const attempts, workers = 100, 16
	var statuses sync.Map
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > attempts {
					return
				}
				a, err := postSignIn(ctx, client, u.String(), "burst@example.test", fmt.Sprintf("guess %d", i))
				if err != nil {
					t.Error(err)
					return
				}
				n, _ := statuses.LoadOrStore(a.status, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
			}
		}()
	}
	wg.Wait()
	count := map[int]int64{}
	statuses.Range(func(k, v any) bool { count[k.(int)] = v.(*atomic.Int64).Load(); return true })
	t.Logf("%d concurrent attempts on one account: %v", attempts, count)
	if count[401] > int64(policy.AccountFreeFailures) || count[401] == 0 {
		t.Errorf("%d of %d attempts had their password checked (401), want 1 to %d", count[401], attempts, policy.AccountFreeFailures)
	}
	if count[401]+count[429] != attempts {
		t.Errorf("answers other than 401 and 429: %v", count)
	}
	if a := post("burst@example.test", right); a.status != http.StatusTooManyRequests {
		t.Errorf("the right password after the burst: status %d, want 429", a.status)
	}
}

// TestBruteForceFigures measures what issue 4 asks: the cost of one sign-in (argon2id), and what
// the throttle sustains and lets through when this test process brute-forces a switchboard
// binary in its own process, on loopback, with -bruteforce.workers attempts in flight:
//
//	(a) one known account, (b) one e-mail address nobody has, (c) spraying: 50 e-mail
//	addresses round robin from one client address.
//
// Each scenario comes from its own loopback address (127.0.0.11, .12, .13; the cost from .10), so
// that the per-address counts of one do not lock the next. It runs only when asked:
//
//	go test -run TestBruteForceFigures -v ./cmd/switchboard -bruteforce.duration=20s
func TestBruteForceFigures(t *testing.T) {
	if *bruteDuration <= 0 {
		t.Skip("set -bruteforce.duration (20s for the issue's figures) to measure sign-in under brute force")
	}
	if *bruteDuration > bruteMaxDuration || *bruteWorkers < 1 || *bruteWorkers > bruteMaxWorkers {
		t.Fatalf("-bruteforce.duration %v (at most %v), -bruteforce.workers %d (1 to %d)", *bruteDuration, bruteMaxDuration,
			*bruteWorkers, bruteMaxWorkers)
	}
	for _, ip := range []string{"127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13"} {
		l, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Skipf("needs the whole of 127.0.0.0/8 on loopback (Linux) to attack from several addresses: %v", err)
		}
		l.Close()
	}
	bin := buildSwitchboard(t)
	dir := t.TempDir()
	srv := startSwitchboard(t, bin, dir, freeLoopbackAddr(t), "info")
	if _, err := loadgen.CheckURL(srv.url); err != nil {
		t.Fatal(err)
	}
	pid := srv.cmd.Process.Pid
	creds := demoCredentials(t, srv)
	if len(creds) < 3 {
		t.Fatalf("want at least 3 demo members on the server's output, got %d\n%s", len(creds), srv.logTail())
	}
	policy := auth.DefaultThrottlePolicy
	t.Logf("server: switchboard serve --demo --log-level info (pid %d); attacker: this test process, %d workers; "+
		"throttle: account locked at %d failures, address at %d an hour, locks %v doubling to %v, at most %d failures an hour an account",
		pid, *bruteWorkers, policy.AccountFreeFailures, policy.AddressFreeFailures, policy.FirstLock, policy.MaxLock, policy.MaxFailuresPerHour)

	cost := measureSignInCost(t, srv, pid, creds[0])

	known := runBruteForce(t, srv, pid, bruteScenario{name: "(a) one known account", source: "127.0.0.11", emails: []string{creds[1].email}})
	unknown := runBruteForce(t, srv, pid, bruteScenario{name: "(b) one unknown e-mail", source: "127.0.0.12",
		emails: []string{"nobody-here@demo.switchboard.test"}})
	spray := []string{}
	for _, c := range creds[2:] { // real members among the sprayed, (a)'s locked one left out
		spray = append(spray, c.email)
	}
	for i := 0; len(spray) < 50; i++ {
		spray = append(spray, fmt.Sprintf("spray-%02d@demo.switchboard.test", i))
	}
	sprayed := runBruteForce(t, srv, pid, bruteScenario{name: "(c) spraying 50 accounts from one address", source: "127.0.0.13",
		emails: spray, perAddress: true})

	for _, r := range []*bruteResult{known, unknown, sprayed} {
		r.report(t)
		r.check(t)
	}
	compareKnownUnknown(t, known, unknown)

	// The server's own record: one sign_in_failed event per password checked, one
	// sign_in_throttled per refusal.
	srv.stop(t)
	audited := auditedSignIns(t, dir)
	for _, r := range []*bruteResult{known, unknown, sprayed} {
		got := audited[r.scenario.source]
		t.Logf("%s: audit log holds %d member.sign_in_failed and %d member.sign_in_throttled from %s", r.scenario.name,
			got["member.sign_in_failed"], got["member.sign_in_throttled"], r.scenario.source)
		if got["member.sign_in_failed"] != r.count(classChecked) || got["member.sign_in_throttled"] != r.count(classInFlight)+r.count(classLocked) {
			t.Errorf("%s: the server recorded %d failed and %d throttled sign-ins, the attacker saw %d 401 and %d 429", r.scenario.name,
				got["member.sign_in_failed"], got["member.sign_in_throttled"], r.count(classChecked), r.count(classInFlight)+r.count(classLocked))
		}
	}
	t.Logf("figures: argon2id %s; sign-in with the right password p50 %v, a wrong one (401) p50 %v (unknown e-mail %v), "+
		"%.1f ms server CPU per checked attempt", cost.derivation, cost.rightP50, cost.wrongP50, cost.unknownP50, cost.cpuPerCheck*1000)
	for _, r := range []*bruteResult{known, unknown, sprayed} {
		t.Logf("figures: %s: %.0f attempts/s answered (%.0f refused/s), p50 %v, p99 %v; %d password checks (%d before the first lock), "+
			"%.3f ms server CPU per attempt", r.scenario.name, r.perSecond(), float64(r.count(classInFlight)+r.count(classLocked))/r.window.Seconds(),
			r.latency(-1, 50), r.latency(-1, 99), r.count(classChecked), r.checksBeforeLock(), r.serverCPU/float64(max(len(r.attempts), 1))*1000)
	}
}

// demoCredential is a sign-in of the demo workspace, as `serve --demo` prints it.
type demoCredential struct{ email, password string }

var demoCredentialLine = regexp.MustCompile(`(?m)^\s+\S.*?\s(\S+@demo\.switchboard\.test)\s+(\S+)\s*$`)

// demoCredentials reads the demo members' e-mail addresses and passwords from the server's
// standard output, which startSwitchboard writes to its log file; they are printed before it
// listens.
func demoCredentials(t *testing.T, p *switchboardProcess) []demoCredential {
	t.Helper()
	b, err := os.ReadFile(p.logs)
	if err != nil {
		t.Fatal(err)
	}
	var out []demoCredential
	for _, m := range demoCredentialLine.FindAllStringSubmatch(string(b), -1) {
		out = append(out, demoCredential{email: m[1], password: m[2]})
	}
	return out
}

// signInCost is what one sign-in costs.
type signInCost struct {
	derivation         string        // argon2id in this process: parameters and time
	rightP50, wrongP50 time.Duration // sign-in over HTTP, one at a time
	unknownP50         time.Duration // a wrong password for an e-mail address nobody has
	cpuPerCheck        float64       // server CPU seconds per attempt whose password was checked
}

// measureSignInCost times the argon2id derivation itself, then sign-ins with the right and a
// wrong password one at a time from 127.0.0.10, with the server's CPU for each, and a wrong
// password for an e-mail address nobody has. Rounds of 4 wrong passwords and the right one keep
// the account under its lock (a success clears it); 16 failures in all keep the address under
// its 20.
func measureSignInCost(t *testing.T, p *switchboardProcess, pid int, cred demoCredential) signInCost {
	t.Helper()
	var c signInCost
	params := auth.DefaultPasswordParams
	v, err := auth.NewVerifier(params)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := v.Hash("the right password")
	if err != nil {
		t.Fatal(err)
	}
	var derive loadgen.Latencies
	for range 20 {
		start := time.Now()
		if ok, err := v.Verify("a wrong password", hash); ok || err != nil {
			t.Fatalf("verify: %v %v", ok, err)
		}
		derive = append(derive, time.Since(start))
	}
	slices.Sort(derive)
	c.derivation = fmt.Sprintf("m=%d KiB t=%d p=%d: %v a derivation (p50 of %d in the test process, min %v)", params.Memory, params.Time,
		params.Threads, derive.Percentile(50).Round(10*time.Microsecond), len(derive), derive[0].Round(10*time.Microsecond))

	client := newBruteClient(t, "127.0.0.10", 1)
	ctx := context.Background()
	post := func(email, password string, want int) time.Duration {
		t.Helper()
		start := time.Now()
		a, err := postSignIn(ctx, client, p.url, email, password)
		if err != nil {
			t.Fatal(err)
		}
		if a.status != want {
			t.Fatalf("sign-in as %s: status %d, want %d\n%s", email, a.status, want, p.logTail())
		}
		return time.Since(start)
	}
	post(cred.email, cred.password, http.StatusSeeOther) // the first from this address raises the new-address alert
	var right, wrong, unknown loadgen.Latencies
	var rightCPU, wrongCPU float64
	for round := range 3 {
		before := processCPU(pid)
		for i := range 4 {
			wrong = append(wrong, post(cred.email, fmt.Sprintf("wrong %d.%d", round, i), http.StatusUnauthorized))
		}
		mid := processCPU(pid)
		for range 5 {
			right = append(right, post(cred.email, cred.password, http.StatusSeeOther))
		}
		wrongCPU, rightCPU = wrongCPU+mid-before, rightCPU+processCPU(pid)-mid
	}
	for i := range 4 {
		unknown = append(unknown, post("cost-nobody@demo.switchboard.test", fmt.Sprintf("wrong %d", i), http.StatusUnauthorized))
	}
	for _, l := range []loadgen.Latencies{right, wrong, unknown} {
		slices.Sort(l)
	}
	p50 := func(l loadgen.Latencies) time.Duration { return l.Percentile(50).Round(10 * time.Microsecond) }
	c.rightP50, c.wrongP50, c.unknownP50 = p50(right), p50(wrong), p50(unknown)
	c.cpuPerCheck = wrongCPU / float64(len(wrong))
	t.Logf("sign-in cost, one at a time over HTTP as %s: right password (303) p50 %v max %v, %.1f ms server CPU each (%d); "+
		"wrong password (401) p50 %v max %v, %.1f ms server CPU each (%d); wrong password for an unknown e-mail (401) p50 %v max %v (%d); "+
		"argon2id %s", cred.email, c.rightP50, right.Max().Round(10*time.Microsecond), 1000*rightCPU/float64(len(right)), len(right),
		c.wrongP50, wrong.Max().Round(10*time.Microsecond), 1000*c.cpuPerCheck, len(wrong),
		c.unknownP50, unknown.Max().Round(10*time.Microsecond), len(unknown), c.derivation)
	return c
}

// bruteScenario is one brute-force loop.
type bruteScenario struct {
	name   string
	source string   // the attacker's loopback address
	emails []string // tried round robin, each with a fresh wrong password
	// perAddress: the scenario is meant to meet the address's lock (AddressFreeFailures), not
	// an account's.
	perAddress bool
}

// attempt is one sign-in the attacker sent, times from the scenario's start.
type attempt struct {
	start, took time.Duration
	email       int32
	status      int16
	retryAfter  int32 // seconds; 0 without the header
}

func (a attempt) end() time.Duration { return a.start + a.took }

// Classes of answers.
const (
	classChecked  = iota // 401: the password was checked, and was wrong
	classInFlight        // 429 while other attempts on the key were in flight: refused before any check
	classLocked          // 429 for a lock
	classOther
	classes
)

var classNames = [classes]string{"401 checked", "429 in flight", "429 locked", "other"}

func (a attempt) class() int {
	switch {
	case a.status == http.StatusUnauthorized:
		return classChecked
	case a.status == http.StatusTooManyRequests && a.retryAfter <= bruteInFlightRetryAfter:
		return classInFlight
	case a.status == http.StatusTooManyRequests:
		return classLocked
	}
	return classOther
}

type bruteResult struct {
	scenario  bruteScenario
	window    time.Duration // from the first attempt sent to the last answered
	attempts  []attempt     // in the order answered
	errors    int
	firstErr  error
	serverCPU float64 // CPU seconds of the server's process during the scenario
	cpu       string  // where the machine's CPU went
}

// runBruteForce sends wrong passwords for the scenario's e-mail addresses from -bruteforce.workers
// goroutines until -bruteforce.duration has passed or bruteMaxAttempts were sent.
func runBruteForce(t *testing.T, p *switchboardProcess, pid int, sc bruteScenario) *bruteResult {
	t.Helper()
	workers := *bruteWorkers
	client := newBruteClient(t, sc.source, workers)
	ctx, cancel := context.WithTimeout(context.Background(), *bruteDuration+2*bruteRequestTimeout)
	defer cancel()
	res := &bruteResult{scenario: sc}
	cpu, cpuBefore := startCPUAccount(pid), processCPU(pid)
	var (
		next atomic.Int64
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []attempt
			var errs int
			var firstErr error
			for time.Since(start) < *bruteDuration {
				i := next.Add(1) - 1
				if i >= bruteMaxAttempts {
					break
				}
				email := int32(i % int64(len(sc.emails)))
				sent := time.Since(start)
				a, err := postSignIn(ctx, client, p.url, sc.emails[email], "guess-"+strconv.FormatInt(i, 36))
				if err != nil {
					errs++
					if firstErr == nil {
						firstErr = err
					}
					if ctx.Err() != nil {
						break
					}
					continue
				}
				mine = append(mine, attempt{start: sent, took: time.Since(start) - sent, email: email,
					status: int16(a.status), retryAfter: int32(a.retryAfter)})
			}
			mu.Lock()
			defer mu.Unlock()
			res.attempts = append(res.attempts, mine...)
			res.errors += errs
			if res.firstErr == nil {
				res.firstErr = firstErr
			}
		}()
	}
	wg.Wait()
	res.window = time.Since(start)
	res.serverCPU = processCPU(pid) - cpuBefore
	res.cpu = cpu.stop()
	slices.SortFunc(res.attempts, func(a, b attempt) int { return cmp.Compare(a.end(), b.end()) })
	return res
}

func (r *bruteResult) count(class int) int {
	n := 0
	for _, a := range r.attempts {
		if a.class() == class {
			n++
		}
	}
	return n
}

// counts is the number of answers of each class.
func (r *bruteResult) counts() [classes]int {
	var n [classes]int
	for _, a := range r.attempts {
		n[a.class()]++
	}
	return n
}

func (r *bruteResult) perSecond() float64 { return float64(len(r.attempts)) / r.window.Seconds() }

// latency is the percentile of the answers of one class, or of all with class -1.
func (r *bruteResult) latency(class int, p float64) time.Duration {
	var l loadgen.Latencies
	for _, a := range r.attempts {
		if class < 0 || a.class() == class {
			l = append(l, a.took)
		}
	}
	slices.Sort(l)
	return l.Percentile(p).Round(10 * time.Microsecond)
}

// firstLock is the first answer refused for a lock, or ok false when none was.
func (r *bruteResult) firstLock() (attempt, bool) {
	for _, a := range r.attempts {
		if a.class() == classLocked {
			return a, true
		}
	}
	return attempt{}, false
}

// checksBeforeLock counts the passwords checked in attempts sent before the first refusal for a
// lock was answered: what got through before the lock started.
func (r *bruteResult) checksBeforeLock() int {
	lock, ok := r.firstLock()
	n := 0
	for _, a := range r.attempts {
		if a.class() == classChecked && (!ok || a.start < lock.end()) {
			n++
		}
	}
	return n
}

// checksPerAccount is, for each e-mail address tried, its passwords checked in all and the most
// in any hour.
func (r *bruteResult) checksPerAccount() (total, hourly []int) {
	times := make([][]time.Duration, len(r.scenario.emails))
	for _, a := range r.attempts {
		if a.class() == classChecked {
			times[a.email] = append(times[a.email], a.end())
		}
	}
	total, hourly = make([]int, len(times)), make([]int, len(times))
	for i, ts := range times {
		slices.Sort(ts)
		total[i] = len(ts)
		for lo, hi := 0, 0; hi < len(ts); hi++ {
			for ts[hi]-ts[lo] >= time.Hour {
				lo++
			}
			hourly[i] = max(hourly[i], hi-lo+1)
		}
	}
	return total, hourly
}

// mostChecksAllowed is what the policy lets through on one key within d of its first failure
// when the attacker never stops: the free failures, then one attempt each time a lock runs out.
func mostChecksAllowed(free int, d time.Duration) int {
	policy := auth.DefaultThrottlePolicy
	n, at, lock := free, time.Duration(0), policy.FirstLock
	for {
		at += lock
		if at >= d {
			return n
		}
		n++
		lock = min(2*lock, policy.MaxLock)
	}
}

// sequence is the run-length form of the classes in the order answered, the first runs only.
func (r *bruteResult) sequence(runs int) string {
	var parts []string
	for i := 0; i < len(r.attempts); {
		c, j := r.attempts[i].class(), i
		for j < len(r.attempts) && r.attempts[j].class() == c {
			j++
		}
		if len(parts) == runs {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%s×%d", classNames[c], j-i))
		i = j
	}
	return strings.Join(parts, ", ")
}

func (r *bruteResult) report(t *testing.T) {
	t.Helper()
	var counts []string
	for c := range classes {
		counts = append(counts, fmt.Sprintf("%s %d", classNames[c], r.count(c)))
	}
	t.Logf("%s, from %s: %d attempts in %v = %.0f/s answered; %s; transport errors %d %v",
		r.scenario.name, r.scenario.source, len(r.attempts), r.window.Round(time.Millisecond), r.perSecond(),
		strings.Join(counts, ", "), r.errors, r.firstErr)
	t.Logf("  latency: all p50 %v p99 %v max %v; 401 p50 %v p99 %v; 429 in flight p50 %v p99 %v; 429 locked p50 %v p99 %v",
		r.latency(-1, 50), r.latency(-1, 99), r.latency(-1, 100), r.latency(classChecked, 50), r.latency(classChecked, 99),
		r.latency(classInFlight, 50), r.latency(classInFlight, 99), r.latency(classLocked, 50), r.latency(classLocked, 99))
	t.Logf("  server CPU %.2f s = %.3f ms an attempt; %s", r.serverCPU, 1000*r.serverCPU/float64(max(len(r.attempts), 1)), r.cpu)
	if lock, ok := r.firstLock(); ok {
		var lastCheck time.Duration
		for _, a := range r.attempts {
			if a.class() == classChecked && a.start < lock.end() {
				lastCheck = max(lastCheck, a.end())
			}
		}
		t.Logf("  lock: %d passwords checked before it, the last answered %v into the run; first refused for the lock %v into "+
			"the run (Retry-After %d s); %d attempts refused after it", r.checksBeforeLock(), lastCheck.Round(time.Millisecond),
			lock.end().Round(time.Millisecond), lock.retryAfter, len(r.attempts)-slices.Index(r.attempts, lock))
	}
	total, hourly := r.checksPerAccount()
	checked, most := 0, 0
	for i := range total {
		if total[i] > 0 {
			checked++
		}
		most = max(most, hourly[i])
	}
	t.Logf("  password checks per account: %d of %d e-mail addresses checked at all, at most %d on one (%v), at most %d in any hour",
		checked, len(total), slices.Max(total), total[:min(len(total), 10)], most)
	t.Logf("  answers in order (first runs): %s", r.sequence(12))
}

// check holds the scenario to the policy.
func (r *bruteResult) check(t *testing.T) {
	t.Helper()
	policy := auth.DefaultThrottlePolicy
	name := r.scenario.name
	if n := r.count(classOther); n > 0 || r.errors > 0 {
		t.Errorf("%s: %d answers neither 401 nor 429, %d transport errors (%v)", name, n, r.errors, r.firstErr)
	}
	if _, ok := r.firstLock(); !ok {
		t.Errorf("%s: no attempt was refused for a lock", name)
	}
	total, hourly := r.checksPerAccount()
	for i := range total {
		if hourly[i] > policy.MaxFailuresPerHour {
			t.Errorf("%s: %s had %d passwords checked within an hour, more than %d", name, r.scenario.emails[i], hourly[i], policy.MaxFailuresPerHour)
		}
		if limit := mostChecksAllowed(policy.AccountFreeFailures, r.window); total[i] > limit {
			t.Errorf("%s: %s had %d passwords checked in %v, the policy allows %d", name, r.scenario.emails[i], total[i], r.window, limit)
		}
	}
	free := policy.AccountFreeFailures
	if r.scenario.perAddress {
		free = policy.AddressFreeFailures
		if limit := mostChecksAllowed(free, r.window); r.count(classChecked) > limit {
			t.Errorf("%s: %d passwords checked from one address in %v, the policy allows %d", name, r.count(classChecked), r.window, limit)
		}
	}
	if n := r.checksBeforeLock(); n > free || n == 0 {
		t.Errorf("%s: %d passwords checked before the first lock, want 1 to %d", name, n, free)
	}
}

// compareKnownUnknown: the throttle must not tell a member's e-mail address from one nobody has.
// Concurrent answers arrive in no fixed order, so what is compared is what the policy fixes: the
// checks before the lock and in all, the lock's length, and the kinds of answer.
func compareKnownUnknown(t *testing.T, known, unknown *bruteResult) {
	t.Helper()
	kl, _ := known.firstLock()
	ul, _ := unknown.firstLock()
	// The 401s' latencies under the burst depend on where they fell in it, not on the account:
	// measureSignInCost compares the two one at a time.
	t.Logf("known vs unknown e-mail: checks before the lock %d vs %d, in all %d vs %d, first lock Retry-After %d vs %d s, "+
		"answers %v vs %v\n  known:   %s\n  unknown: %s", known.checksBeforeLock(), unknown.checksBeforeLock(),
		known.count(classChecked), unknown.count(classChecked), kl.retryAfter, ul.retryAfter,
		known.counts(), unknown.counts(), known.sequence(8), unknown.sequence(8))
	if known.checksBeforeLock() != unknown.checksBeforeLock() || known.count(classChecked) != unknown.count(classChecked) {
		t.Errorf("known and unknown e-mail addresses got different numbers of password checks")
	}
	if d := kl.retryAfter - ul.retryAfter; d < -2 || d > 2 {
		t.Errorf("known and unknown e-mail addresses were locked for different times: Retry-After %d vs %d s", kl.retryAfter, ul.retryAfter)
	}
	for c := range classes {
		if (known.count(c) == 0) != (unknown.count(c) == 0) {
			t.Errorf("answers %q: %d for the known e-mail, %d for the unknown", classNames[c], known.count(c), unknown.count(c))
		}
	}
}

// auditedSignIns counts the stopped server's sign-in events by client address and action.
func auditedSignIns(t *testing.T, dir string) map[string]map[string]int {
	t.Helper()
	d := openReadOnly(t, dir)
	rows, err := d.Query(`SELECT client_addr, action, count(*) FROM audit_events
		WHERE action IN ('member.sign_in_failed', 'member.sign_in_throttled') GROUP BY client_addr, action`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var addr, action string
		var n int
		if err := rows.Scan(&addr, &action, &n); err != nil {
			t.Fatal(err)
		}
		if out[addr] == nil {
			out[addr] = map[string]int{}
		}
		out[addr][action] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// newBruteClient is the attacker's HTTP client: connections from source (any loopback address
// when empty) to loopback only, one kept alive per worker, redirects not followed.
func newBruteClient(t *testing.T, source string, workers int) *http.Client {
	t.Helper()
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("brute force: refusing to dial %q, not loopback", address)
		}
		return nil
	}}
	if source != "" {
		ip := net.ParseIP(source)
		if ip == nil || !ip.IsLoopback() {
			t.Fatalf("brute force: source %q is not a loopback address", source)
		}
		dialer.LocalAddr = &net.TCPAddr{IP: ip}
	}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		MaxIdleConns:        workers,
		MaxIdleConnsPerHost: workers,
		MaxConnsPerHost:     workers,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: bruteRequestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type bruteAnswer struct {
	status     int
	retryAfter int // seconds, 0 without the header
}

// postSignIn posts the sign-in form as a browser on the site would: Sec-Fetch-Site: same-origin
// passes the CSRF check without a token.
func postSignIn(ctx context.Context, client *http.Client, base, email, password string) (bruteAnswer, error) {
	form := url.Values{"email": {email}, "password": {password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return bruteAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := client.Do(req)
	if err != nil {
		return bruteAnswer{}, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return bruteAnswer{}, err
	}
	a := bruteAnswer{status: resp.StatusCode}
	if v := resp.Header.Get("Retry-After"); v != "" {
		if a.retryAfter, err = strconv.Atoi(v); err != nil {
			return a, errors.New("Retry-After " + strconv.Quote(v) + " is not seconds")
		}
	}
	return a, nil
}
