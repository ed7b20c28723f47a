package inbox

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
)

const exportBatch = 500

// Export calls fn for every conversation p sees (open and closed, oldest first), with contacts
// masked as for any other read unless p holds contacts.view_pii: without it no export by full
// number is offered. It needs contacts.export and records one activity event with the number of
// conversations exported (the web layer asks for a fresh sign-in first). fn's error stops the
// export and is returned.
func (s *Service) Export(ctx context.Context, p *authz.Principal, fn func(Conversation) error) (int, error) {
	const action = "conversations.exported"
	if !p.Can(authz.ContactsExport) {
		return 0, s.refuse(ctx, p, action, 0, forbidden("Exporting conversations needs the contacts.export permission."))
	}
	view := ViewFor(p)
	vis, visArgs := visibilityClause(p.Conversations(), "c")
	now := s.now()
	n := 0
	var after int64
	var exportErr error
	for {
		args := append([]any{after}, visArgs...)
		args = append(args, exportBatch)
		rows, err := s.db.Reports.QueryContext(ctx, `SELECT `+conversationColumns+conversationFrom+
			` WHERE c.id > ? AND `+vis+` ORDER BY c.id LIMIT ?`, args...)
		if err != nil {
			exportErr = fmt.Errorf("export conversations: %w", err)
			break
		}
		batch, err := scanAll(rows, view, now)
		if err != nil {
			exportErr = err
			break
		}
		for _, c := range batch {
			if err := fn(c); err != nil {
				exportErr = err
				break
			}
			n++
			after = c.ID
		}
		if exportErr != nil || len(batch) < exportBatch {
			break
		}
	}
	outcome := audit.OutcomeSuccess
	if exportErr != nil {
		outcome = audit.OutcomeFailed
	}
	scope := "all numbers"
	if v := p.Conversations(); !v.AllNumbers {
		scope = fmt.Sprintf("numbers %v", v.NumberIDs)
	}
	if _, err := s.audit.Record(context.WithoutCancel(ctx), audit.Event{Actor: memberActor(p), Action: action, Outcome: outcome,
		Changes: []audit.Change{{Field: "conversations", After: n}, {Field: "masked", After: !view.PII},
			{Field: "scope", After: strings.TrimSpace(scope)}}}); err != nil {
		return n, fmt.Errorf("record export: %w", err)
	}
	return n, exportErr
}

func scanAll(rows *sql.Rows, view View, now time.Time) ([]Conversation, error) {
	defer rows.Close()
	var out []Conversation
	for rows.Next() {
		c, err := scanConversation(rows, view, now)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("export conversations: %w", err)
	}
	return out, nil
}
