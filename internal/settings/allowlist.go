package settings

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

// AllowList is the workspace's IP allow-list for signing in (and, once they exist, API keys):
// when it has entries, only client addresses inside one of them may sign in or keep a session.
// An empty list allows every address.
//
// Allowed is called on every request, so the list is cached; the cache is refreshed after a
// change made through this process at once, and otherwise every cacheTTL, which is how a
// `switchboard security clear-allowlist` run beside the server reaches it.
type AllowList struct {
	db    *db.DB
	audit *audit.Log
	clock clock.Clock

	mu       sync.Mutex
	cached   []netip.Prefix
	loadedAt time.Time
}

// AllowEntry is one allowed network.
type AllowEntry struct {
	ID            int64
	CIDR          string
	Note          string
	CreatedByName string
	CreatedAt     time.Time
}

// Limits of the allow-list.
const (
	maxAllowEntries = 200
	maxAllowNote    = 100
	cacheTTL        = 2 * time.Second
)

// ErrLockOut refuses a change that would shut out the member making it.
var ErrLockOut = errors.New("the change would lock you out")

// LockOutError says which address would be shut out.
type LockOutError struct{ Addr string }

func (e *LockOutError) Error() string {
	return "This change would lock you out: your address " + e.Addr + " would no longer be allowed. Add a network that includes it first."
}
func (e *LockOutError) Unwrap() error { return ErrLockOut }

// NewAllowList returns the allow-list over d.
func NewAllowList(d *db.DB, log *audit.Log, clk clock.Clock) *AllowList {
	return &AllowList{db: d, audit: log, clock: clk}
}

// ParseNetwork reads a CIDR ("203.0.113.0/24", "2001:db8::/48") or a single address, which
// stands for itself alone, and returns it in its canonical, masked form.
func ParseNetwork(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return netip.PrefixFrom(p.Addr().Unmap(), unmappedBits(p)).Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("enter a network such as 203.0.113.0/24 or 2001:db8::/48, or a single address")
}

func unmappedBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return max(p.Bits()-96, 0)
	}
	return p.Bits()
}

// Allowed reports whether a client address may sign in and use a session. It fails closed: an
// address that cannot be read is refused whenever the list has entries, and so is every
// address when the list cannot be read at all.
func (a *AllowList) Allowed(addr string) bool {
	prefixes, err := a.prefixes(context.Background())
	if err != nil {
		return false
	}
	return allowedBy(prefixes, addr)
}

func allowedBy(prefixes []netip.Prefix, addr string) bool {
	if len(prefixes) == 0 {
		return true
	}
	ip, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		return false
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (a *AllowList) prefixes(ctx context.Context) ([]netip.Prefix, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.loadedAt.IsZero() && time.Since(a.loadedAt) < cacheTTL {
		return a.cached, nil
	}
	entries, err := a.entries(ctx, a.db.R)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(entries))
	for _, e := range entries {
		if p, err := ParseNetwork(e.CIDR); err == nil {
			out = append(out, p)
		}
	}
	a.cached, a.loadedAt = out, time.Now()
	return out, nil
}

func (a *AllowList) forget() {
	a.mu.Lock()
	a.loadedAt = time.Time{}
	a.mu.Unlock()
}

// Entries lists the allowed networks, oldest first.
func (a *AllowList) Entries(ctx context.Context) ([]AllowEntry, error) {
	return a.entries(ctx, a.db.R)
}

func (a *AllowList) entries(ctx context.Context, q db.Querier) ([]AllowEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, cidr, note, created_by_name, created_at FROM ip_allowlist ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("read allow-list: %w", err)
	}
	defer rows.Close()
	var out []AllowEntry
	for rows.Next() {
		var e AllowEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.CIDR, &e.Note, &e.CreatedByName, &at); err != nil {
			return nil, fmt.Errorf("scan allow-list: %w", err)
		}
		e.CreatedAt = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Add allows a network. clientAddr is the address of the member making the change, as the
// server determines it (trusted proxies included): the change is refused if that address would
// not be allowed afterwards, so nobody locks themselves out.
func (a *AllowList) Add(ctx context.Context, cidr, note, actorName, clientAddr string) (AllowEntry, error) {
	p, err := ParseNetwork(cidr)
	if err != nil {
		return AllowEntry{}, InvalidError{"cidr": "Enter a network such as 203.0.113.0/24 or 2001:db8::/48, or a single address."}
	}
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > maxAllowNote || strings.ContainsAny(note, "\r\n\x00") {
		return AllowEntry{}, InvalidError{"note": fmt.Sprintf("Use one line of at most %d characters.", maxAllowNote)}
	}
	var out AllowEntry
	err = a.db.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := a.entries(ctx, tx)
		if err != nil {
			return err
		}
		if len(cur) >= maxAllowEntries {
			return InvalidError{"cidr": fmt.Sprintf("The allow-list holds at most %d networks.", maxAllowEntries)}
		}
		next := []netip.Prefix{p}
		for _, e := range cur {
			if e.CIDR == p.String() {
				return InvalidError{"cidr": p.String() + " is on the list already."}
			}
			if q, err := ParseNetwork(e.CIDR); err == nil {
				next = append(next, q)
			}
		}
		if !allowedBy(next, clientAddr) {
			return &LockOutError{Addr: clientAddr}
		}
		now := a.clock.Now()
		res, err := tx.ExecContext(ctx, `INSERT INTO ip_allowlist (cidr, note, created_by_name, created_at) VALUES (?, ?, ?, ?)`,
			p.String(), note, actorName, now.UnixMilli())
		if err != nil {
			return fmt.Errorf("add to allow-list: %w", err)
		}
		id, _ := res.LastInsertId()
		out = AllowEntry{ID: id, CIDR: p.String(), Note: note, CreatedByName: actorName, CreatedAt: now}
		changes := []audit.Change{{Field: "network", After: p.String()}}
		if len(cur) == 0 {
			changes = append(changes, audit.Change{Field: "allow_list", Before: "off", After: "on"})
		}
		_, err = a.audit.Append(ctx, tx, audit.Event{Action: "security.allowlist_changed", Target: allowListTarget, Changes: changes})
		return err
	})
	a.forget()
	return out, err
}

var allowListTarget = audit.Target{Type: "settings", ID: "ip_allowlist"}

// Remove takes a network off the list, with the same lock-out guard as Add. Removing the last
// entry turns the list off, which never locks anyone out.
func (a *AllowList) Remove(ctx context.Context, id int64, clientAddr string) error {
	err := a.db.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := a.entries(ctx, tx)
		if err != nil {
			return err
		}
		var removed string
		var next []netip.Prefix
		for _, e := range cur {
			if e.ID == id {
				removed = e.CIDR
				continue
			}
			if q, err := ParseNetwork(e.CIDR); err == nil {
				next = append(next, q)
			}
		}
		if removed == "" {
			return ErrNotFound
		}
		if !allowedBy(next, clientAddr) {
			return &LockOutError{Addr: clientAddr}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ip_allowlist WHERE id = ?`, id); err != nil {
			return fmt.Errorf("remove from allow-list: %w", err)
		}
		changes := []audit.Change{{Field: "network", Before: removed}}
		if len(next) == 0 {
			changes = append(changes, audit.Change{Field: "allow_list", Before: "on", After: "off"})
		}
		_, err = a.audit.Append(ctx, tx, audit.Event{Action: "security.allowlist_changed", Target: allowListTarget, Changes: changes})
		return err
	})
	a.forget()
	return err
}

// ErrNotFound is an allow-list entry that does not exist.
var ErrNotFound = errors.New("allow-list entry not found")

// Clear empties the list, for the command line when nobody can reach the server any more;
// actor names the command in the activity log.
func (a *AllowList) Clear(ctx context.Context, actor audit.Actor) (int, error) {
	var n int
	err := a.db.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := a.entries(ctx, tx)
		if err != nil {
			return err
		}
		n = len(cur)
		if n == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ip_allowlist`); err != nil {
			return fmt.Errorf("clear allow-list: %w", err)
		}
		names := make([]string, n)
		for i, e := range cur {
			names[i] = e.CIDR
		}
		_, err = a.audit.Append(ctx, tx, audit.Event{Actor: actor, Action: "security.allowlist_cleared", Target: allowListTarget,
			Changes: []audit.Change{{Field: "networks", Before: strings.Join(names, " ")}, {Field: "allow_list", Before: "on", After: "off"}}})
		return err
	})
	a.forget()
	return n, err
}

// NetworkContains reports whether the network cidr holds addr (the page marks the entry that
// lets the member in).
func NetworkContains(cidr, addr string) bool {
	p, err := ParseNetwork(cidr)
	if err != nil {
		return false
	}
	return allowedBy([]netip.Prefix{p}, addr)
}
