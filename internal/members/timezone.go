package members

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // a member's zone must load on hosts without /usr/share/zoneinfo

	"github.com/switchboard/switchboard/internal/audit"
)

// LoadTimeZone loads a member's zone by its IANA name; "" is UTC. "Local" is refused: it names
// the server's zone, which means nothing to the member reading the page.
func LoadTimeZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if strings.EqualFold(name, "local") || len(name) > 64 {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: %w", name, err)
	}
	return loc, nil
}

// SetTimeZone records the member's own time zone. A name time.LoadLocation does not know is
// refused with a field error and changes nothing.
func (s *Service) SetTimeZone(ctx context.Context, memberID int64, zone string) error {
	zone = strings.TrimSpace(zone)
	if _, err := LoadTimeZone(zone); err != nil || zone == "" {
		return FieldErrors{"time_zone": "Choose a time zone from the list, such as Europe/Berlin or America/New_York."}
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var before string
		if err := tx.QueryRowContext(ctx, `SELECT time_zone FROM members WHERE id = ?`, memberID).Scan(&before); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return fmt.Errorf("read time zone: %w", err)
		}
		if before == zone {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE members SET time_zone = ?, updated_at = ? WHERE id = ?`,
			zone, millis(s.clock.Now()), memberID); err != nil {
			return fmt.Errorf("save time zone: %w", err)
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Action: "member.time_zone_changed", Target: memberTarget(memberID),
			Changes: []audit.Change{{Field: "time_zone", Before: before, After: zone}}})
		return err
	})
}

// Zones loads zones by name once each, with LoadTimeZone's rules: time.LoadLocation parses the
// zone database on every call, a tenth of a page's time. Only zones that exist are kept, so it
// holds at most the database's few hundred names. The zero value is ready to use.
type Zones struct {
	loaded sync.Map // name → *time.Location
}

// Load is LoadTimeZone, from memory after the first time; "UTC" is UTC too.
func (z *Zones) Load(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if loc, ok := z.loaded.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := LoadTimeZone(name)
	if err != nil {
		return nil, err
	}
	z.loaded.Store(name, loc)
	return loc, nil
}
