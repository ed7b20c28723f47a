package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

// Label is a tag the team puts on conversations and contacts ("VIP", "Refund", "Wholesale").
// Labels are defined by members with labels.manage; any member who may work a conversation may
// put them on it and on its contact.
type Label struct {
	ID          int64
	Name        string
	Color       string
	Description string
	// Uses counts the conversations and contacts that carry it (Labels only).
	Uses int
}

// LabelInput is the form of a label.
type LabelInput struct {
	Name        string
	Color       string
	Description string
}

// LabelColors are the colours a label may take, in the order a form offers them. They map to
// the badge colours of the stylesheet, which meet the contrast rules on white.
var LabelColors = []string{"grey", "blue", "green", "yellow", "red", "purple"}

const (
	maxLabelName        = 40
	maxLabelDescription = 200
)

func (in *LabelInput) normalise() {
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	in.Description = strings.TrimSpace(in.Description)
	if in.Color == "" {
		in.Color = "grey"
	}
}

func (in LabelInput) validate() FieldErrors {
	fe := FieldErrors{}
	switch {
	case in.Name == "":
		fe.Add("name", "Give the label a name.")
	case utf8.RuneCountInString(in.Name) > maxLabelName:
		fe.Add("name", fmt.Sprintf("Use at most %d characters.", maxLabelName))
	case strings.ContainsRune(in.Name, 0):
		fe.Add("name", "The name contains a character that cannot be stored.")
	}
	if !slices.Contains(LabelColors, in.Color) {
		fe.Add("color", "Choose one of the colours offered.")
	}
	if utf8.RuneCountInString(in.Description) > maxLabelDescription {
		fe.Add("description", fmt.Sprintf("Use at most %d characters.", maxLabelDescription))
	} else if strings.ContainsRune(in.Description, 0) {
		fe.Add("description", "The description contains a character that cannot be stored.")
	}
	return fe
}

// Labels lists every label by name, with how often it is used. Labels are workspace
// vocabulary, not customer data: any member who sees conversations (or defines labels) reads
// them.
func (s *Service) Labels(ctx context.Context, p *authz.Principal) ([]Label, error) {
	if !canReadLabels(p) {
		return nil, forbidden("Labels are for members who work conversations or define labels.")
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT l.id, l.name, l.color, l.description,
		(SELECT count(*) FROM conversation_labels cl WHERE cl.label_id = l.id) +
		(SELECT count(*) FROM contact_labels tl WHERE tl.label_id = l.id)
		FROM labels l ORDER BY l.name COLLATE NOCASE, l.id`)
	if err != nil {
		return nil, fmt.Errorf("list labels: %w", err)
	}
	defer rows.Close()
	var out []Label
	for rows.Next() {
		var l Label
		if err := rows.Scan(&l.ID, &l.Name, &l.Color, &l.Description, &l.Uses); err != nil {
			return nil, fmt.Errorf("scan label: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

func canReadLabels(p *authz.Principal) bool {
	return p.CanAny(authz.LabelsManage, authz.ConversationsViewAssigned, authz.ConversationsViewAll, authz.ConversationsAssign)
}

// CreateLabel defines a label (labels.manage).
func (s *Service) CreateLabel(ctx context.Context, p *authz.Principal, in LabelInput) (Label, error) {
	const action = "label.created"
	if !p.Can(authz.LabelsManage) {
		return Label{}, s.refuseLabel(ctx, p, action, 0)
	}
	in.normalise()
	if err := in.validate().Err(); err != nil {
		return Label{}, err
	}
	var out Label
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := millis(s.now())
		res, err := tx.ExecContext(ctx, `INSERT INTO labels (name, color, description, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, in.Name, in.Color, in.Description, nullID(p.MemberID), now, now)
		if isUniqueViolation(err) {
			return fieldError("name", "A label with this name exists already.")
		}
		if err != nil {
			return fmt.Errorf("create label: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if _, err := s.audit.Append(ctx, tx, audit.Event{Actor: memberActor(p), Action: action, Target: labelTarget(id),
			Changes: []audit.Change{{Field: "name", After: in.Name}, {Field: "color", After: in.Color}, {Field: "description", After: in.Description}}}); err != nil {
			return err
		}
		out, err = labelByID(ctx, tx, id)
		return err
	})
	return out, err
}

// UpdateLabel renames, recolours or redescribes a label (labels.manage). Conversations and
// contacts keep it.
func (s *Service) UpdateLabel(ctx context.Context, p *authz.Principal, id int64, in LabelInput) (Label, error) {
	const action = "label.updated"
	if !p.Can(authz.LabelsManage) {
		return Label{}, s.refuseLabel(ctx, p, action, id)
	}
	in.normalise()
	if err := in.validate().Err(); err != nil {
		return Label{}, err
	}
	var out Label
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := labelByID(ctx, tx, id)
		if err != nil {
			return err
		}
		var changes []audit.Change
		for _, c := range []audit.Change{{Field: "name", Before: cur.Name, After: in.Name},
			{Field: "color", Before: cur.Color, After: in.Color}, {Field: "description", Before: cur.Description, After: in.Description}} {
			if c.Before != c.After {
				changes = append(changes, c)
			}
		}
		if len(changes) == 0 {
			out = cur
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE labels SET name = ?, color = ?, description = ?, updated_at = ? WHERE id = ?`,
			in.Name, in.Color, in.Description, millis(s.now()), id)
		if isUniqueViolation(err) {
			return fieldError("name", "A label with this name exists already.")
		}
		if err != nil {
			return fmt.Errorf("update label: %w", err)
		}
		if _, err := s.audit.Append(ctx, tx, audit.Event{Actor: memberActor(p), Action: action, Target: labelTarget(id), Changes: changes}); err != nil {
			return err
		}
		out, err = labelByID(ctx, tx, id)
		return err
	})
	return out, err
}

// DeleteLabel removes a label from the workspace and from every conversation and contact that
// carried it (labels.manage). The activity event says how many lost it.
func (s *Service) DeleteLabel(ctx context.Context, p *authz.Principal, id int64) error {
	const action = "label.deleted"
	if !p.Can(authz.LabelsManage) {
		return s.refuseLabel(ctx, p, action, id)
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		cur, err := labelByID(ctx, tx, id)
		if err != nil {
			return err
		}
		var convs, contacts int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM conversation_labels WHERE label_id = ?),
			(SELECT count(*) FROM contact_labels WHERE label_id = ?)`, id, id).Scan(&convs, &contacts); err != nil {
			return fmt.Errorf("count label uses: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM labels WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete label: %w", err)
		}
		_, err = s.audit.Append(ctx, tx, audit.Event{Actor: memberActor(p), Action: action, Target: labelTarget(id),
			Changes: []audit.Change{{Field: "name", Before: cur.Name}, {Field: "conversations", Before: convs}, {Field: "contacts", Before: contacts}}})
		return err
	})
}

// ConversationLabels lists the labels on a conversation p sees (ErrNotFound outside it).
func (s *Service) ConversationLabels(ctx context.Context, p *authz.Principal, convID int64) ([]Label, error) {
	if _, err := visibleConversation(ctx, s.db.R, p.Conversations(), convID); err != nil {
		return nil, err
	}
	return queryLabels(ctx, s.db.R, `SELECT l.id, l.name, l.color, l.description FROM conversation_labels cl
		JOIN labels l ON l.id = cl.label_id WHERE cl.conversation_id = ? ORDER BY l.name COLLATE NOCASE`, convID)
}

// LabelConversation puts label on a conversation, or takes it off (on = false). It needs a
// member who may work the conversation: its assignee, or one who assigns conversations.
// Doing what is already done changes nothing and records nothing.
func (s *Service) LabelConversation(ctx context.Context, p *authz.Principal, convID, labelID int64, on bool) error {
	action := "conversation.labelled"
	if !on {
		action = "conversation.unlabelled"
	}
	var refusal error
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		c, err := visibleConversation(ctx, tx, p.Conversations(), convID)
		if err != nil {
			return err
		}
		if !canWork(p, c) {
			refusal = forbidden("Only the assignee or a member who assigns conversations can label it.")
			return refusal
		}
		l, err := labelByID(ctx, tx, labelID)
		if errors.Is(err, ErrNotFound) {
			return fieldError("label", "Choose one of the labels offered.")
		}
		if err != nil {
			return err
		}
		changed, err := setLabel(ctx, tx, "conversation_labels", "conversation_id", convID, labelID, p.MemberID, millis(s.now()), on)
		if err != nil || !changed {
			return err
		}
		return s.appendEvent(ctx, tx, p, action, convID, []audit.Change{{Field: "label", After: l.Name}})
	})
	if refusal != nil && errors.Is(err, refusal) {
		return s.refuse(ctx, p, action, convID, refusal)
	}
	return s.changed(convID, err)
}

// setLabel adds or removes one (owner, label) row of table; changed reports whether it did.
func setLabel(ctx context.Context, tx *sql.Tx, table, ownerCol string, ownerID, labelID, memberID, at int64, on bool) (bool, error) {
	var (
		res sql.Result
		err error
	)
	if on {
		res, err = tx.ExecContext(ctx, `INSERT INTO `+table+` (`+ownerCol+`, label_id, added_by, added_at) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, ownerID, labelID, nullID(memberID), at)
	} else {
		res, err = tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+ownerCol+` = ? AND label_id = ?`, ownerID, labelID)
	}
	if err != nil {
		return false, fmt.Errorf("set label: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (s *Service) refuseLabel(ctx context.Context, p *authz.Principal, action string, id int64) error {
	cause := forbidden("Defining labels needs the labels.manage permission.")
	ev := audit.Event{Actor: memberActor(p), Action: action, Outcome: audit.OutcomeDenied,
		Changes: []audit.Change{{Field: "reason", After: cause.Error()}}}
	if id != 0 {
		ev.Target = labelTarget(id)
	}
	if _, err := s.audit.Record(ctx, ev); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

func labelByID(ctx context.Context, q db.Querier, id int64) (Label, error) {
	var l Label
	err := q.QueryRowContext(ctx, `SELECT id, name, color, description FROM labels WHERE id = ?`, id).
		Scan(&l.ID, &l.Name, &l.Color, &l.Description)
	if errors.Is(err, sql.ErrNoRows) {
		return Label{}, ErrNotFound
	}
	if err != nil {
		return Label{}, fmt.Errorf("load label: %w", err)
	}
	return l, nil
}

func queryLabels(ctx context.Context, q db.Querier, query string, args ...any) ([]Label, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list labels: %w", err)
	}
	defer rows.Close()
	var out []Label
	for rows.Next() {
		var l Label
		if err := rows.Scan(&l.ID, &l.Name, &l.Color, &l.Description); err != nil {
			return nil, fmt.Errorf("scan label: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// labelsOf returns the labels of each conversation in ids, for a page of the list: one query
// for the page, not one per row.
func labelsOf(ctx context.Context, q db.Querier, ids []int64) (map[int64][]Label, error) {
	out := map[int64][]Label{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := q.QueryContext(ctx, `SELECT cl.conversation_id, l.id, l.name, l.color, l.description FROM conversation_labels cl
		JOIN labels l ON l.id = cl.label_id WHERE cl.conversation_id IN (`+placeholders(len(ids))+`)
		ORDER BY l.name COLLATE NOCASE`, args...)
	if err != nil {
		return nil, fmt.Errorf("labels of page: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			conv int64
			l    Label
		)
		if err := rows.Scan(&conv, &l.ID, &l.Name, &l.Color, &l.Description); err != nil {
			return nil, fmt.Errorf("scan label: %w", err)
		}
		out[conv] = append(out[conv], l)
	}
	return out, rows.Err()
}

func labelTarget(id int64) audit.Target { return audit.NewTarget("label", id) }

// attachLabels fills the labels of a page of conversations.
func (s *Service) attachLabels(ctx context.Context, convs []Conversation) error {
	ids := make([]int64, len(convs))
	for i, c := range convs {
		ids[i] = c.ID
	}
	byConv, err := labelsOf(ctx, s.db.R, ids)
	if err != nil {
		return err
	}
	for i := range convs {
		convs[i].Labels = byConv[convs[i].ID]
	}
	return nil
}

// GetLabelled is Get with the conversation's labels, for answers that carry them (the API);
// the pages load labels with their own panel.
func (s *Service) GetLabelled(ctx context.Context, p *authz.Principal, id int64) (Conversation, error) {
	c, err := s.Get(ctx, p, id)
	if err != nil {
		return Conversation{}, err
	}
	convs := []Conversation{c}
	if err := s.attachLabels(ctx, convs); err != nil {
		return Conversation{}, err
	}
	return convs[0], nil
}

// CanLabel reports whether p may put labels on conversation id (ErrNotFound outside p's
// visibility): the same rule as LabelConversation, for showing the forms only to those.
func (s *Service) CanLabel(ctx context.Context, p *authz.Principal, id int64) (bool, error) {
	c, err := visibleConversation(ctx, s.db.R, p.Conversations(), id)
	if err != nil {
		return false, err
	}
	return canWork(p, c), nil
}
