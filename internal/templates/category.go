package templates

import (
	"context"
	"errors"

	"github.com/switchboard/switchboard/internal/db"
)

// IsMarketing reports whether the template with this name and language in the WABA is a
// MARKETING template: as Meta classified it, or as written while Meta has not said. Marketing
// templates need the contact's opt-in (internal/consent). A template not found is not called
// marketing; sending it fails at Meta anyway.
func (s *Store) IsMarketing(ctx context.Context, q db.Querier, wabaID, name, language string) (bool, error) {
	t, err := s.byName(ctx, q, wabaID, name, language)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if t.MetaCategory != "" {
		return t.MetaCategory == CategoryMarketing, nil
	}
	if t.Live != nil {
		return t.Live.Content.Category == CategoryMarketing, nil
	}
	return t.Content.Category == CategoryMarketing, nil
}
