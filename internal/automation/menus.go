package automation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Menu is a number's welcome menu: a message with choices, each of which may open further
// choices (a small tree), answer, label the conversation and route it to a team.
type Menu struct {
	PhoneNumberID int64
	NumberName    string
	Exists        bool
	Body          string
	Enabled       bool
	Options       []MenuOption // the first level; each with its Children
}

// MenuOption is one choice.
type MenuOption struct {
	ID          int64
	ParentID    int64
	Title       string
	Description string
	// Reply is sent when the choice is made: the answer, or the text above the next choices.
	Reply    string
	TeamID   int64
	TeamName string
	Label    string
	Children []MenuOption
}

// Limits of a menu level: Meta allows three reply buttons or ten list rows.
const (
	maxChoices   = 10
	maxListTitle = 24
	maxRowDesc   = 72
)

// menuIDPrefix starts the id of a menu choice on the wire; what follows is the option's id.
const menuIDPrefix = "menu:"

// Interactive is the welcome message.
func (m Menu) Interactive() whatsapp.InteractiveMessage { return levelMessage(m.Body, m.Options) }

// levelMessage is one level of the tree: buttons for up to three choices without
// descriptions, a list otherwise.
func levelMessage(body string, opts []MenuOption) whatsapp.InteractiveMessage {
	im := whatsapp.InteractiveMessage{Body: body}
	withDesc := false
	for _, o := range opts {
		withDesc = withDesc || o.Description != ""
	}
	if len(opts) <= 3 && !withDesc {
		for _, o := range opts {
			im.Buttons = append(im.Buttons, whatsapp.ReplyButton{ID: menuIDPrefix + strconv.FormatInt(o.ID, 10), Title: o.Title})
		}
		return im
	}
	im.ListButton = "Choose"
	var rows []whatsapp.ListRow
	for _, o := range opts {
		rows = append(rows, whatsapp.ListRow{ID: menuIDPrefix + strconv.FormatInt(o.ID, 10), Title: o.Title, Description: o.Description})
	}
	im.Sections = []whatsapp.ListSection{{Rows: rows}}
	return im
}

// Menus returns every connected number's menu (an empty one where none was saved).
func (s *Service) Menus(ctx context.Context) ([]Menu, error) {
	nums, err := s.Numbers(ctx)
	if err != nil {
		return nil, err
	}
	var out []Menu
	for _, n := range nums {
		m, err := menu(ctx, s.db.R, n.ID)
		if err != nil {
			return nil, err
		}
		m.NumberName = n.Name
		out = append(out, m)
	}
	return out, nil
}

func menu(ctx context.Context, q db.Querier, pn int64) (Menu, error) {
	m := Menu{PhoneNumberID: pn}
	var enabled int
	err := q.QueryRowContext(ctx, `SELECT body, enabled FROM automation_menus WHERE phone_number_id = ?`, pn).Scan(&m.Body, &enabled)
	if errors.Is(err, sql.ErrNoRows) {
		return m, nil
	}
	if err != nil {
		return m, fmt.Errorf("read menu: %w", err)
	}
	m.Exists, m.Enabled = true, enabled == 1
	all, err := menuOptions(ctx, q, pn)
	if err != nil {
		return m, err
	}
	children := map[int64][]MenuOption{}
	for _, o := range all {
		children[o.ParentID] = append(children[o.ParentID], o)
	}
	var build func(parent int64, depth int) []MenuOption
	build = func(parent int64, depth int) []MenuOption {
		list := children[parent]
		if depth < 3 {
			for i := range list {
				list[i].Children = build(list[i].ID, depth+1)
			}
		}
		return list
	}
	m.Options = build(0, 0)
	return m, nil
}

func menuOptions(ctx context.Context, q db.Querier, pn int64) ([]MenuOption, error) {
	rows, err := q.QueryContext(ctx, `SELECT o.id, coalesce(o.parent_id, 0), o.title, o.description, o.reply, coalesce(o.team_id, 0),
		coalesce(t.name, ''), o.label FROM automation_menu_options o LEFT JOIN automation_teams t ON t.id = o.team_id
		WHERE o.phone_number_id = ? ORDER BY o.position, o.id`, pn)
	if err != nil {
		return nil, fmt.Errorf("read menu options: %w", err)
	}
	defer rows.Close()
	var out []MenuOption
	for rows.Next() {
		var o MenuOption
		if err := rows.Scan(&o.ID, &o.ParentID, &o.Title, &o.Description, &o.Reply, &o.TeamID, &o.TeamName, &o.Label); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// option reads one option with its children (one level).
func option(ctx context.Context, q db.Querier, id int64) (MenuOption, int64, error) {
	var (
		o  MenuOption
		pn int64
	)
	err := q.QueryRowContext(ctx, `SELECT o.id, coalesce(o.parent_id, 0), o.title, o.description, o.reply, coalesce(o.team_id, 0),
		coalesce(t.name, ''), o.label, o.phone_number_id FROM automation_menu_options o LEFT JOIN automation_teams t ON t.id = o.team_id
		WHERE o.id = ?`, id).Scan(&o.ID, &o.ParentID, &o.Title, &o.Description, &o.Reply, &o.TeamID, &o.TeamName, &o.Label, &pn)
	if errors.Is(err, sql.ErrNoRows) {
		return o, 0, ErrNotFound
	}
	if err != nil {
		return o, 0, fmt.Errorf("read menu option: %w", err)
	}
	all, err := menuOptions(ctx, q, pn)
	if err != nil {
		return o, 0, err
	}
	for _, c := range all {
		if c.ParentID == o.ID {
			o.Children = append(o.Children, c)
		}
	}
	return o, pn, nil
}

// SaveMenu sets a number's welcome text and whether the menu is sent.
func (s *Service) SaveMenu(ctx context.Context, p *authz.Principal, pn int64, body string, enabled bool) error {
	const action = "automation.menu_updated"
	if err := s.allowed(ctx, p, action); err != nil {
		return err
	}
	body = strings.TrimSpace(body)
	switch n := utf8.RuneCountInString(body); {
	case n == 0:
		return FieldErrors{"body": "Write the welcome message the choices come with."}
	case n > maxBody:
		return FieldErrors{"body": fmt.Sprintf("Use at most %d characters.", maxBody)}
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.numberExists(ctx, tx, pn); err != nil {
			return err
		}
		before, err := menu(ctx, tx, pn)
		if err != nil {
			return err
		}
		if enabled && len(before.Options) == 0 {
			return FieldErrors{"enabled": "Add at least one choice before switching the menu on."}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO automation_menus (phone_number_id, body, enabled, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (phone_number_id) DO UPDATE SET body = excluded.body, enabled = excluded.enabled, updated_at = excluded.updated_at`,
			pn, body, boolInt(enabled), s.clock.Now().UnixMilli()); err != nil {
			return fmt.Errorf("save menu: %w", err)
		}
		return s.record(ctx, tx, p, action, target("phone_number", pn),
			audit.Change{Field: "body", Before: before.Body, After: body}, audit.Change{Field: "enabled", Before: before.Enabled, After: enabled})
	})
}

// OptionInput is the form of a new choice.
type OptionInput struct {
	ParentID    string
	Title       string
	Description string
	Reply       string
	TeamID      string
	Label       string
}

// AddOption adds a choice to a number's menu (under ParentID, or at the first level).
func (s *Service) AddOption(ctx context.Context, p *authz.Principal, pn int64, in OptionInput) error {
	const action = "automation.menu_option_added"
	if err := s.allowed(ctx, p, action); err != nil {
		return err
	}
	o := MenuOption{Title: strings.TrimSpace(in.Title), Description: strings.TrimSpace(in.Description),
		Reply: strings.TrimSpace(in.Reply), Label: strings.TrimSpace(in.Label)}
	fe := FieldErrors{}
	switch n := utf8.RuneCountInString(o.Title); {
	case n == 0:
		fe["title"] = "Give the choice a title, such as “Order status”."
	case n > maxListTitle:
		fe["title"] = fmt.Sprintf("WhatsApp shows at most %d characters (20 as a button).", maxListTitle)
	}
	if utf8.RuneCountInString(o.Description) > maxRowDesc {
		fe["description"] = fmt.Sprintf("Use at most %d characters.", maxRowDesc)
	}
	if utf8.RuneCountInString(o.Reply) > maxBody {
		fe["reply"] = fmt.Sprintf("Use at most %d characters.", maxBody)
	}
	if utf8.RuneCountInString(o.Label) > 40 {
		fe["label"] = "Use at most 40 characters."
	}
	parse := func(field, v string) int64 {
		if v = strings.TrimSpace(v); v == "" || v == "0" {
			return 0
		}
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			fe[field] = "Choose one of the list."
		}
		return id
	}
	o.ParentID, o.TeamID = parse("parent_id", in.ParentID), parse("team_id", in.TeamID)
	if len(fe) > 0 {
		return fe
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		m, err := menu(ctx, tx, pn)
		if err != nil {
			return err
		}
		if !m.Exists {
			return FieldErrors{"title": "Save the welcome message first."}
		}
		siblings := 0
		if o.ParentID != 0 {
			parent, ppn, err := option(ctx, tx, o.ParentID)
			if err != nil || ppn != pn {
				return FieldErrors{"parent_id": "Choose a choice of this menu."}
			}
			if parent.ParentID != 0 {
				var grand int64
				_ = tx.QueryRowContext(ctx, `SELECT coalesce(parent_id, 0) FROM automation_menu_options WHERE id = ?`, parent.ParentID).Scan(&grand)
				if grand != 0 {
					return FieldErrors{"parent_id": "Menus go three levels deep at most."}
				}
			}
			if parent.Reply == "" {
				return FieldErrors{"parent_id": "Give “" + parent.Title + "” a reply first: it is the text shown above its choices."}
			}
			siblings = len(parent.Children)
		} else {
			siblings = len(m.Options)
		}
		if siblings >= maxChoices {
			return FieldErrors{"title": "A level has at most 10 choices (WhatsApp's limit for a list)."}
		}
		if o.TeamID != 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM automation_teams WHERE id = ?`, o.TeamID).Scan(&one); err != nil {
				return FieldErrors{"team_id": "Choose one of the teams."}
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO automation_menu_options (phone_number_id, parent_id, position, title, description,
			reply, team_id, label) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, pn, nullID(o.ParentID), siblings, o.Title, o.Description,
			o.Reply, nullID(o.TeamID), o.Label)
		if err != nil {
			return fmt.Errorf("add menu option: %w", err)
		}
		id, _ := res.LastInsertId()
		return s.record(ctx, tx, p, action, target("phone_number", pn), audit.Change{Field: "option_id", After: id},
			audit.Change{Field: "title", After: o.Title}, audit.Change{Field: "parent_id", After: nullID(o.ParentID)},
			audit.Change{Field: "team_id", After: nullID(o.TeamID)}, audit.Change{Field: "label", After: o.Label})
	})
}

// DeleteOption removes a choice and the choices under it.
func (s *Service) DeleteOption(ctx context.Context, p *authz.Principal, pn, id int64) error {
	const action = "automation.menu_option_deleted"
	if err := s.allowed(ctx, p, action); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		o, opn, err := option(ctx, tx, id)
		if err != nil {
			return err
		}
		if opn != pn {
			return ErrNotFound
		}
		// The foreign keys cascade, but only with foreign_keys on: delete the subtree by hand.
		if _, err := tx.ExecContext(ctx, `WITH RECURSIVE sub(id) AS (SELECT ? UNION ALL
			SELECT o.id FROM automation_menu_options o JOIN sub ON o.parent_id = sub.id)
			DELETE FROM automation_menu_options WHERE id IN (SELECT id FROM sub)`, id); err != nil {
			return fmt.Errorf("delete menu option: %w", err)
		}
		if m, err := menu(ctx, tx, pn); err == nil && len(m.Options) == 0 && m.Enabled {
			if _, err := tx.ExecContext(ctx, `UPDATE automation_menus SET enabled = 0 WHERE phone_number_id = ?`, pn); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, p, action, target("phone_number", pn), audit.Change{Field: "option_id", Before: id},
			audit.Change{Field: "title", Before: o.Title})
	})
}
