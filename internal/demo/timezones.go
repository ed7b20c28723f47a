package demo

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/members"
)

// demoZones are the demo members' own time zones: Lucky Shrub is in Berlin, and its sales agent
// works the Californian number from Los Angeles, so the same campaign start and the same
// Analytics "today" read differently for the two on first start.
var demoZones = map[string]string{
	authz.RoleAdministrator: "Europe/Berlin", authz.RoleAgent: "America/Los_Angeles", authz.RoleSupport: "Europe/Berlin",
	authz.RoleDeveloper: "Europe/Lisbon", authz.RoleAnalyst: "Europe/Berlin", authz.RoleAuditor: "Europe/London",
}

// SeedTimeZones gives the demo members their zones, once: a zone a member chose since is kept.
func SeedTimeZones(ctx context.Context, m *members.Service) error {
	for role, zone := range demoZones {
		mem, err := m.Store().ByEmail(ctx, role+"@demo.switchboard.test")
		if errors.Is(err, members.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("demo: time zones: %w", err)
		}
		if mem.TimeZone != "" {
			continue
		}
		if err := m.SetTimeZone(ctx, mem.ID, zone); err != nil {
			return fmt.Errorf("demo: time zone of %s: %w", role, err)
		}
	}
	return nil
}
