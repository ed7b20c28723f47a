package auth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

// ThrottlePolicy says how failed sign-ins slow an attacker down (ASVS 4.0.3 2.2.1, NIST SP
// 800-63B 5.2.2). Failures are counted per account, meaning the e-mail address typed whether or
// not a member has it, so that the answer never tells which accounts exist; and per client
// address, so that one machine cannot try a few passwords on each of many accounts.
type ThrottlePolicy struct {
	// AccountFreeFailures is how many consecutive failures an account may have before it is
	// locked. The failure that reaches it starts the first lock; every further one a longer lock.
	AccountFreeFailures int
	// AddressFreeFailures is the same for failures from one client address within the last hour,
	// whatever the accounts. A success does not reset it: one valid account must not launder an
	// address that is trying passwords on others.
	AddressFreeFailures int
	// FirstLock is the first lock; each further failure doubles it, up to MaxLock.
	FirstLock time.Duration
	MaxLock   time.Duration
	// MaxFailuresPerHour is the hard limit per account: once that many failures are recorded
	// within the last hour, attempts are refused until the oldest of them is an hour old. It
	// cannot exceed 100 (NIST SP 800-63B 5.2.2), whatever the other numbers allow.
	MaxFailuresPerHour int
}

// DefaultThrottlePolicy is the product's policy. Treat it as a constant.
//
// Five free failures cover a member fumbling a password, and the lock starts on the fifth:
// "after 5 consecutive failures" in the product specification. Locks of 30 s, 1, 2, 4, 8 and then
// 15 min leave an attacker who waits out every lock 12 guesses in the first hour and 4 in
// each hour after, while a member who mistyped waits half a minute. Addresses get 20, because
// offices and mobile carriers put many people behind one address.
var DefaultThrottlePolicy = ThrottlePolicy{
	AccountFreeFailures: 5,
	AddressFreeFailures: 20,
	FirstLock:           30 * time.Second,
	MaxLock:             15 * time.Minute,
	MaxFailuresPerHour:  100,
}

// Reasons a Decision gives for a refusal.
const (
	ReasonAccountLocked = "account locked"
	ReasonAddressLocked = "address locked"
)

// Decision is Check's answer.
type Decision struct {
	Allowed    bool
	RetryAfter time.Duration // when refused: how long until an attempt can be allowed
	Reason     string        // when refused: ReasonAccountLocked or ReasonAddressLocked
}

// Outcome is what a recorded failure did to the throttle.
type Outcome struct {
	AccountFailures int // consecutive failures of the account
	AddressFailures int // failures from the client address in the last hour; 0 without an address
	// LockedNow: this failure started a lock (of the account, the address or both), which is when
	// the caller raises an alert. AccountLockedNow and AddressLockedNow say which.
	LockedNow        bool
	AccountLockedNow bool
	AddressLockedNow bool
	// Locked and RetryAfter: the next attempt with this e-mail and address will be refused for
	// RetryAfter.
	Locked     bool
	RetryAfter time.Duration
}

const (
	// throttleWindow is how far back failures count: for the hourly cap, an address's count, and
	// how long an account's consecutive failures are remembered without a new one.
	throttleWindow = time.Hour
	// hardMaxFailuresPerHour is the ceiling on MaxFailuresPerHour (NIST SP 800-63B 5.2.2).
	hardMaxFailuresPerHour = 100
	// flightTTL is how long an allowed attempt counts as in flight when its outcome never comes
	// (the caller failed between Check and Failure/Success). A password check takes well under a
	// second; a request still running after a minute has been given up on.
	flightTTL = time.Minute
	// inFlightRetry is the RetryAfter of a refusal because other attempts are still in flight.
	inFlightRetry = time.Second
)

const (
	kindAccount = "account"
	kindAddress = "address"
)

// Throttle limits failed sign-ins. It keeps its counters in SQLite, so a restart does not hand
// an attacker fresh attempts, and stores only hashes of the keys.
//
// Each attempt is Check, then (when allowed) the password check, then exactly one of Failure or
// Success. Between Check and the outcome the attempt counts as in flight: Check refuses an
// attempt that, should every attempt in flight fail, could pass the point where a lock starts or
// the hourly cap. Without that, a burst of simultaneous requests would all pass Check before the
// first failure is recorded. The in-flight count lives in this process, which is enough for a
// single binary over one SQLite file.
type Throttle struct {
	db     *db.DB
	clk    clock.Clock
	policy ThrottlePolicy
	// addressKeep is how many failures per address are stored: enough to reach MaxLock and to
	// report counts up to the hourly cap. Accounts keep exactly MaxFailuresPerHour.
	addressKeep int

	mu        sync.Mutex
	flights   map[[32]byte][]time.Time // key hash → expiry of each attempt in flight
	lastSweep time.Time
}

// NewThrottle returns a Throttle over d. Fields of policy left zero take DefaultThrottlePolicy's
// values, and MaxFailuresPerHour is held to at most 100.
func NewThrottle(d *db.DB, clk clock.Clock, policy ThrottlePolicy) *Throttle {
	def := DefaultThrottlePolicy
	if policy.AccountFreeFailures <= 0 {
		policy.AccountFreeFailures = def.AccountFreeFailures
	}
	if policy.AddressFreeFailures <= 0 {
		policy.AddressFreeFailures = def.AddressFreeFailures
	}
	if policy.FirstLock <= 0 {
		policy.FirstLock = def.FirstLock
	}
	if policy.MaxLock <= 0 {
		policy.MaxLock = def.MaxLock
	}
	policy.MaxLock = max(policy.MaxLock, policy.FirstLock)
	if policy.MaxFailuresPerHour <= 0 || policy.MaxFailuresPerHour > hardMaxFailuresPerHour {
		policy.MaxFailuresPerHour = hardMaxFailuresPerHour
	}
	steps := 0
	for lock := policy.FirstLock; lock < policy.MaxLock; lock *= 2 {
		steps++
	}
	return &Throttle{
		db: d, clk: clk, policy: policy,
		addressKeep: max(policy.MaxFailuresPerHour, policy.AddressFreeFailures+steps+1),
		flights:     make(map[[32]byte][]time.Time),
	}
}

// Policy returns the policy in force, defaults filled in.
func (t *Throttle) Policy() ThrottlePolicy { return t.policy }

// Check tells whether a sign-in attempt with this e-mail address from this client address may go
// on to the password check. Call it before checking the password; a refused attempt must not
// check it, so a locked account stays locked even for the right password. An allowed attempt
// must be followed by Failure or Success.
//
// An empty addr throttles by account only (the caller could not tell the client's address).
func (t *Throttle) Check(ctx context.Context, email, addr string) (Decision, error) {
	keys := throttleKeys(email, addr)
	// One lock around the read and the reservation: an attempt that lands (records its outcome
	// and leaves flight) does so after its write commits, so this read either sees the write or
	// still counts the attempt in flight.
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clk.Now()
	t.sweepFlights(now)
	states, err := readThrottleStates(ctx, t.db.R, keys)
	if err != nil {
		return Decision{}, err
	}
	var dec Decision
	dec.Allowed = true
	for _, k := range keys {
		wait := t.refusal(k, states[k.hash], t.inFlight(k.hash, now), now)
		if wait <= 0 {
			continue
		}
		if dec.Allowed {
			dec.Reason = reasonFor(k.kind)
		}
		dec.Allowed = false
		dec.RetryAfter = max(dec.RetryAfter, wait)
	}
	if dec.Allowed {
		for _, k := range keys {
			t.flights[k.hash] = append(t.flights[k.hash], now.Add(flightTTL))
		}
	}
	return dec, nil
}

// refusal returns how long an attempt on k must wait, 0 when it may go on.
func (t *Throttle) refusal(k throttleKey, st throttleState, inFlight int, now time.Time) time.Duration {
	nowMs := now.UnixMilli()
	if st.forgotten(nowMs, throttleWindow.Milliseconds()) {
		st = throttleState{}
	}
	if st.lockedUntil > nowMs {
		return time.Duration(st.lockedUntil-nowMs) * time.Millisecond
	}
	if inFlight == 0 {
		return 0
	}
	free := t.policy.AddressFreeFailures
	if k.kind == kindAccount {
		free = t.policy.AccountFreeFailures
		if st.recent+inFlight >= t.policy.MaxFailuresPerHour {
			return inFlightRetry
		}
	}
	if st.failures+inFlight >= free {
		return inFlightRetry
	}
	return 0
}

// Failure records a failed attempt (wrong password, unknown account, deactivated member: the
// throttle must not tell them apart) and reports whether it started a lock.
func (t *Throttle) Failure(ctx context.Context, email, addr string) (Outcome, error) {
	keys := throttleKeys(email, addr)
	// Deferred, so the attempt leaves flight after the commit (or the rollback).
	defer t.land(keys)
	now := t.clk.Now()
	nowMs := now.UnixMilli()
	var out Outcome
	err := t.db.Tx(ctx, func(tx *sql.Tx) error {
		out = Outcome{}
		if err := pruneThrottle(ctx, tx, nowMs, throttleWindow.Milliseconds()); err != nil {
			return err
		}
		for _, k := range keys {
			failures, until, lockedNow, err := t.recordFailure(ctx, tx, k, nowMs)
			if err != nil {
				return err
			}
			if k.kind == kindAccount {
				out.AccountFailures, out.AccountLockedNow = failures, lockedNow
			} else {
				out.AddressFailures, out.AddressLockedNow = failures, lockedNow
			}
			if until > nowMs {
				out.Locked = true
				out.RetryAfter = max(out.RetryAfter, time.Duration(until-nowMs)*time.Millisecond)
			}
		}
		out.LockedNow = out.AccountLockedNow || out.AddressLockedNow
		return nil
	})
	if err != nil {
		return Outcome{}, err
	}
	return out, nil
}

// recordFailure adds one failure to k and returns its count, the end of its lock and whether
// this failure started the lock. The window has been pruned already.
func (t *Throttle) recordFailure(ctx context.Context, tx *sql.Tx, k throttleKey, now int64) (int, int64, bool, error) {
	since := now - throttleWindow.Milliseconds()
	st, err := readThrottleState(ctx, tx, k)
	if err != nil {
		return 0, 0, false, err
	}
	recent, err := countFailures(ctx, tx, k, since)
	if err != nil {
		return 0, 0, false, err
	}
	keep := t.addressKeep
	if k.kind == kindAccount {
		keep = t.policy.MaxFailuresPerHour
	}
	// Past keep, another row tells nothing new: the cap's lock already runs from the oldest of
	// them, and an address's lock is already at its longest. Not storing it bounds the table.
	if recent < keep {
		if err := insertFailure(ctx, tx, k, now); err != nil {
			return 0, 0, false, err
		}
		recent++
	}

	next := throttleState{recent: recent, lockedUntil: st.lockedUntil, lastFailure: now}
	free := t.policy.AddressFreeFailures
	if k.kind == kindAccount {
		free = t.policy.AccountFreeFailures
		next.failures = st.failures + 1
	} else {
		next.failures = recent
	}
	if lock := t.lockFor(next.failures, free); lock > 0 {
		next.lockedUntil = max(next.lockedUntil, now+lock.Milliseconds())
	}
	if k.kind == kindAccount && recent >= t.policy.MaxFailuresPerHour {
		oldest, ok, err := nthNewestFailure(ctx, tx, k, since, t.policy.MaxFailuresPerHour)
		if err != nil {
			return 0, 0, false, err
		}
		if ok {
			next.lockedUntil = max(next.lockedUntil, oldest+throttleWindow.Milliseconds())
		}
	}
	if err := writeThrottleState(ctx, tx, k, next); err != nil {
		return 0, 0, false, err
	}
	lockedNow := st.lockedUntil <= now && next.lockedUntil > now
	return next.failures, next.lockedUntil, lockedNow, nil
}

// lockFor is the lock after the given number of failures: none below free, FirstLock at free,
// doubling with each further failure up to MaxLock.
func (t *Throttle) lockFor(failures, free int) time.Duration {
	if failures < free {
		return 0
	}
	d := t.policy.FirstLock
	for i := free; i < failures && d < t.policy.MaxLock; i++ {
		d *= 2
	}
	return min(d, t.policy.MaxLock)
}

// Success records a correct password: the account's consecutive failures and its growing lock
// are cleared. The address keeps its count, which only time lowers, and the account keeps the
// failures of the last hour toward the hourly cap.
func (t *Throttle) Success(ctx context.Context, email, addr string) error {
	keys := throttleKeys(email, addr)
	defer t.land(keys)
	nowMs := t.clk.Now().UnixMilli()
	account := keys[0]
	return t.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := pruneThrottle(ctx, tx, nowMs, throttleWindow.Milliseconds()); err != nil {
			return err
		}
		since := nowMs - throttleWindow.Milliseconds()
		var capUntil int64
		oldest, ok, err := nthNewestFailure(ctx, tx, account, since, t.policy.MaxFailuresPerHour)
		if err != nil {
			return err
		}
		if ok {
			capUntil = oldest + throttleWindow.Milliseconds()
		}
		return resetAccount(ctx, tx, account, capUntil)
	})
}

// Release ends an allowed attempt that was neither a failure nor a full success: a right
// password of a member with 2FA, whose sign-in succeeds only with the code. Nothing is reset, so
// entering the password again cannot clear a lock the code step earned.
func (t *Throttle) Release(email, addr string) {
	t.land(throttleKeys(email, addr))
}

// land takes one attempt of each key out of flight.
func (t *Throttle) land(keys []throttleKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		f := t.flights[k.hash]
		switch len(f) {
		case 0:
		case 1:
			delete(t.flights, k.hash)
		default:
			t.flights[k.hash] = f[1:]
		}
	}
}

// inFlight counts the attempts of a key still in flight at now. t.mu held.
func (t *Throttle) inFlight(h [32]byte, now time.Time) int {
	n := 0
	for _, exp := range t.flights[h] {
		if exp.After(now) {
			n++
		}
	}
	return n
}

// sweepFlights forgets attempts whose outcome never came, at most once per flightTTL. t.mu held.
func (t *Throttle) sweepFlights(now time.Time) {
	if now.Sub(t.lastSweep) < flightTTL && now.After(t.lastSweep) {
		return
	}
	t.lastSweep = now
	for h, f := range t.flights {
		kept := f[:0]
		for _, exp := range f {
			if exp.After(now) {
				kept = append(kept, exp)
			}
		}
		if len(kept) == 0 {
			delete(t.flights, h)
		} else {
			t.flights[h] = kept
		}
	}
}

func reasonFor(kind string) string {
	if kind == kindAccount {
		return ReasonAccountLocked
	}
	return ReasonAddressLocked
}

// throttleKey is a throttled key as stored: its kind and the SHA-256 of the kind and the key.
// The kind is hashed in so that an address typed into the e-mail field does not share a counter
// with that address.
type throttleKey struct {
	kind string
	hash [32]byte
}

// throttleKeys returns the account key and, when addr is not empty, the address key.
func throttleKeys(email, addr string) []throttleKey {
	keys := make([]throttleKey, 1, 2)
	keys[0] = throttleKey{kind: kindAccount,
		hash: sha256.Sum256([]byte(kindAccount + "\x00" + strings.ToLower(strings.TrimSpace(email))))}
	if n := ClientNetwork(addr); n != "" {
		keys = append(keys, throttleKey{kind: kindAddress, hash: sha256.Sum256([]byte(kindAddress + "\x00" + n))})
	}
	return keys
}

// ClientNetwork is the unit a client address is counted in: an IPv4 address as it is (an
// IPv4-mapped IPv6 address as IPv4), an IPv6 address as its /64, because one subscriber gets a
// whole /64 and privacy addresses change within it daily. A port or zone is dropped; text that is
// not an IP address is kept, lower-cased. It returns "" for an empty address.
func ClientNetwork(addr string) string {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return ""
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return strings.ToLower(addr)
		}
		ip = ap.Addr()
	}
	ip = ip.WithZone("").Unmap()
	if ip.Is6() {
		return netip.PrefixFrom(ip, 64).Masked().String()
	}
	return ip.String()
}
