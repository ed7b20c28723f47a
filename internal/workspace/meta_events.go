package workspace

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// webhookActor is who changes a number or account when Meta reports it: Switchboard, on
// Meta's word.
func webhookActor(field string) audit.Actor { return audit.SystemActor("webhook: " + field) }

// ApplyNumberQuality records a phone_number_quality_update: the number's messaging limit
// becomes Meta's current one, and a FLAGGED number is rated RED until it is UNFLAGGED (Meta
// flags a number whose quality fell to low; unflagging means it recovered).
func (s *Service) ApplyNumberQuality(ctx context.Context, e whatsapp.PhoneNumberQuality) error {
	return s.applyToNumber(ctx, e.WABAID, e.DisplayPhone, whatsapp.FieldPhoneNumberQuality, func(q db.Querier, id int64, cur numberState) ([]audit.Change, error) {
		next := cur
		if e.CurrentLimit != "" {
			next.limit = e.CurrentLimit
		}
		switch strings.ToUpper(e.Event) {
		case "FLAGGED":
			next.quality = "RED"
		case "UNFLAGGED":
			next.quality = "GREEN"
		}
		var changes []audit.Change
		if next.limit != cur.limit {
			changes = append(changes, audit.Change{Field: "messaging_limit", Before: cur.limit, After: next.limit})
		}
		if next.quality != cur.quality {
			changes = append(changes, audit.Change{Field: "quality_rating", Before: cur.quality, After: next.quality})
		}
		if len(changes) == 0 {
			return nil, nil
		}
		_, err := q.ExecContext(ctx, `UPDATE phone_numbers SET messaging_limit = ?, quality_rating = ?, updated_at = ? WHERE id = ?`,
			next.limit, next.quality, s.clock.Now().UnixMilli(), id)
		return append(changes, audit.Change{Field: "event", After: e.Event}), err
	})
}

// ApplyNumberName records Meta's decision on a requested display name: an approved name
// becomes the number's verified name; any decision is kept as the name's status.
func (s *Service) ApplyNumberName(ctx context.Context, e whatsapp.PhoneNumberName) error {
	return s.applyToNumber(ctx, e.WABAID, e.DisplayPhone, whatsapp.FieldPhoneNumberName, func(q db.Querier, id int64, cur numberState) ([]audit.Change, error) {
		decision := strings.ToUpper(e.Decision)
		name := cur.verifiedName
		if decision == "APPROVED" && e.RequestedName != "" {
			name = e.RequestedName
		}
		if decision == cur.nameStatus && name == cur.verifiedName && e.RequestedName == cur.requestedName {
			return nil, nil
		}
		_, err := q.ExecContext(ctx, `UPDATE phone_numbers SET verified_name = ?, name_status = ?, requested_name = ?, updated_at = ? WHERE id = ?`,
			name, decision, e.RequestedName, s.clock.Now().UnixMilli(), id)
		changes := []audit.Change{{Field: "name_status", Before: cur.nameStatus, After: decision}, {Field: "requested_name", After: e.RequestedName}}
		if name != cur.verifiedName {
			changes = append(changes, audit.Change{Field: "verified_name", Before: cur.verifiedName, After: name})
		}
		if e.RejectionReason != "" {
			changes = append(changes, audit.Change{Field: "rejection_reason", After: e.RejectionReason})
		}
		return changes, err
	})
}

// ApplyAccountUpdate records an account_update on the WABA: its standing (Event) and what Meta
// said about it.
func (s *Service) ApplyAccountUpdate(ctx context.Context, e whatsapp.AccountUpdated) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var (
			ref            int64
			status, detail string
		)
		err := tx.QueryRowContext(ctx, `SELECT id, account_status, account_status_detail FROM wabas WHERE waba_id = ?`, e.WABAID).Scan(&ref, &status, &detail)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("find waba: %w", err)
		}
		if status == e.Event && detail == e.Detail {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE wabas SET account_status = ?, account_status_detail = ?, updated_at = ? WHERE id = ?`,
			e.Event, e.Detail, s.clock.Now().UnixMilli(), ref); err != nil {
			return fmt.Errorf("update waba: %w", err)
		}
		actor := webhookActor(whatsapp.FieldAccountUpdate)
		_, err = s.audit.Append(audit.WithActor(ctx, actor), tx, audit.Event{Actor: actor, Action: "waba.account_updated",
			Target: audit.NewTarget("waba", ref), Changes: []audit.Change{{Field: "account_status", Before: status, After: e.Event},
				{Field: "detail", Before: detail, After: e.Detail}}})
		return err
	})
}

type numberState struct {
	quality, limit, verifiedName, nameStatus, requestedName string
}

// applyToNumber finds the number of a WABA by its display number (webhooks name numbers by
// their digits, the phone numbers API formats them) and applies change in a transaction with
// its activity event.
func (s *Service) applyToNumber(ctx context.Context, wabaID, display, field string,
	change func(q db.Querier, id int64, cur numberState) ([]audit.Change, error)) error {
	want := digits(display)
	if want == "" {
		return ErrNotFound
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT p.id, p.display_phone_number, p.quality_rating, p.messaging_limit, p.verified_name,
			p.name_status, p.requested_name FROM phone_numbers p JOIN wabas w ON w.id = p.waba_ref WHERE w.waba_id = ?`, wabaID)
		if err != nil {
			return fmt.Errorf("find number: %w", err)
		}
		var (
			id  int64
			cur numberState
		)
		for rows.Next() {
			var (
				rid   int64
				disp  string
				state numberState
			)
			if err := rows.Scan(&rid, &disp, &state.quality, &state.limit, &state.verifiedName, &state.nameStatus, &state.requestedName); err != nil {
				rows.Close()
				return err
			}
			if digits(disp) == want {
				id, cur = rid, state
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if id == 0 {
			return ErrNotFound
		}
		changes, err := change(tx, id, cur)
		if err != nil || len(changes) == 0 {
			return err
		}
		actor := webhookActor(field)
		_, err = s.audit.Append(audit.WithActor(ctx, actor), tx, audit.Event{Actor: actor, Action: "phone_number.meta_updated",
			Target: audit.NewTarget("phone_number", id), Changes: changes})
		return err
	})
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
