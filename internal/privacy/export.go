package privacy

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
)

// Row is one stored row as column → value, so that columns added by later migrations (a
// contact's custom fields, a message's details) are exported without this package knowing them.
type Row map[string]any

// Conversation is one conversation of the contact with what belongs to it.
type Conversation struct {
	Conversation Row   `json:"conversation"`
	Messages     []Row `json:"messages"`
	Notes        []Row `json:"notes,omitempty"`
	Media        []Row `json:"media,omitempty"`
}

// Export is everything held about one contact.
type Export struct {
	GeneratedAt   time.Time      `json:"generated_at"`
	GeneratedBy   string         `json:"generated_by"`
	Contact       Row            `json:"contact"`
	Consent       []Row          `json:"consent_history"`
	Labels        []Row          `json:"labels,omitempty"`
	Fields        []Row          `json:"custom_fields,omitempty"`
	Conversations []Conversation `json:"conversations"`
	Activity      []Row          `json:"activity"`
	// MediaFiles are the files' names in the archive (media/…), by media row id.
	MediaFiles map[string]string `json:"media_files,omitempty"`
}

// Gather collects what is held about contact id, which p must see; it writes nothing.
func (s *Service) Gather(ctx context.Context, p *authz.Principal, id int64) (Export, error) {
	if !p.Can(authz.ContactsExport) {
		return Export{}, ErrForbidden
	}
	if _, err := s.FindContact(ctx, p, "", id); err != nil {
		return Export{}, err
	}
	q := s.db.R
	x := Export{GeneratedAt: s.clk.Now().UTC(), GeneratedBy: p.Name, MediaFiles: map[string]string{}}
	contact, err := queryRows(ctx, q, `SELECT * FROM contacts WHERE id = ?`, id)
	if err != nil || len(contact) == 0 {
		return Export{}, fmt.Errorf("privacy: read contact: %w", err)
	}
	x.Contact = contact[0]
	if x.Consent, err = queryRows(ctx, q, `SELECT status, source, text, actor_name, recorded_at FROM contact_consents WHERE contact_id = ? ORDER BY id`, id); err != nil {
		return Export{}, err
	}
	if ok, _ := tableExists(ctx, q, "contact_labels"); ok {
		if x.Labels, err = queryRows(ctx, q, `SELECT l.name, cl.added_at FROM contact_labels cl JOIN labels l ON l.id = cl.label_id WHERE cl.contact_id = ?`, id); err != nil {
			return Export{}, err
		}
	}
	if ok, _ := tableExists(ctx, q, "contact_field_values"); ok {
		if x.Fields, err = queryRows(ctx, q, `SELECT f.label, v.value FROM contact_field_values v JOIN contact_fields f ON f.id = v.field_id WHERE v.contact_id = ?`, id); err != nil {
			return Export{}, err
		}
	}
	convs, err := queryRows(ctx, q, `SELECT * FROM conversations WHERE contact_id = ? ORDER BY id`, id)
	if err != nil {
		return Export{}, err
	}
	hasNotes, _ := tableExists(ctx, q, "conversation_notes")
	hasMedia, _ := tableExists(ctx, q, "media")
	targets := []string{"contact:" + strconv.FormatInt(id, 10)}
	for _, c := range convs {
		cid := c["id"]
		cv := Conversation{Conversation: c}
		if cv.Messages, err = queryRows(ctx, q, `SELECT * FROM messages WHERE conversation_id = ? ORDER BY id`, cid); err != nil {
			return Export{}, err
		}
		if hasNotes {
			if cv.Notes, err = queryRows(ctx, q, `SELECT n.id, n.body, n.created_at, coalesce(m.name, '') AS author
				FROM conversation_notes n LEFT JOIN members m ON m.id = n.author_id WHERE n.conversation_id = ? ORDER BY n.id`, cid); err != nil {
				return Export{}, err
			}
		}
		if hasMedia {
			if cv.Media, err = queryRows(ctx, q, `SELECT * FROM media WHERE conversation_id = ? ORDER BY id`, cid); err != nil {
				return Export{}, err
			}
		}
		x.Conversations = append(x.Conversations, cv)
		targets = append(targets, "conversation:"+fmt.Sprint(cid))
	}
	// Events that name the contact: by the contact's id or one of its conversations' ids, which
	// is how the activity log names customers (see the package comment).
	for _, t := range targets {
		typ, tid, _ := strings.Cut(t, ":")
		rows, err := queryRows(ctx, q, `SELECT id, occurred_at, actor_type, actor_name, action, target_type, target_id, changes, outcome
			FROM audit_events WHERE target_type = ? AND target_id = ? ORDER BY id`, typ, tid)
		if err != nil {
			return Export{}, err
		}
		x.Activity = append(x.Activity, rows...)
	}
	sort.Slice(x.Activity, func(i, j int) bool { return toInt(x.Activity[i]["id"]) < toInt(x.Activity[j]["id"]) })
	return x, nil
}

// WriteExport writes contact id's export as one ZIP to w: contact.json (everything, one
// document), the parts as their own JSON files, index.html to read in a browser, and the media
// files under media/. The export is recorded (contact.exported) before a byte is written: a
// sensitive read is logged whether or not the download completes.
func (s *Service) WriteExport(ctx context.Context, p *authz.Principal, id int64, w io.Writer) error {
	x, err := s.Gather(ctx, p, id)
	if err != nil {
		if err == ErrForbidden {
			_, _ = s.audit.Record(ctx, audit.Event{Actor: audit.PrincipalActor(p), Action: "contact.exported", Target: contactTarget(id),
				Outcome: audit.OutcomeDenied, Changes: []audit.Change{{Field: "reason", After: "needs contacts.export"}}})
		}
		return err
	}
	messages, media := 0, 0
	for _, c := range x.Conversations {
		messages += len(c.Messages)
		media += len(c.Media)
	}
	if _, err := s.audit.Record(ctx, audit.Event{Actor: audit.PrincipalActor(p), Action: "contact.exported", Target: contactTarget(id),
		Changes: []audit.Change{{Field: "conversations", After: len(x.Conversations)}, {Field: "messages", After: messages},
			{Field: "media", After: media}, {Field: "activity_events", After: len(x.Activity)}}}); err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	var files []mediaFile
	for _, c := range x.Conversations {
		for _, m := range c.Media {
			sha, _ := m["sha256"].(string)
			if len(sha) < 3 || m["state"] != "stored" {
				continue
			}
			name := fmt.Sprintf("media/%v-%s", m["id"], safeName(fmt.Sprint(m["file_name"]), sha[:12]))
			x.MediaFiles[fmt.Sprint(m["id"])] = name
			files = append(files, mediaFile{name: name, path: filepath.Join(s.mediaDir, sha[:2], sha)})
		}
	}
	parts := []struct {
		name string
		v    any
	}{
		{"contact", x}, {"profile", x.Contact}, {"consent", x.Consent},
		{"conversations", x.Conversations}, {"activity", x.Activity},
	}
	for _, part := range parts {
		f, err := zw.Create(part.name + ".json")
		if err != nil {
			return err
		}
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		if err := enc.Encode(part.v); err != nil {
			return err
		}
	}
	f, err := zw.Create("index.html")
	if err != nil {
		return err
	}
	if err := exportPage.Execute(f, exportView(x)); err != nil {
		return err
	}
	for _, m := range files {
		if err := copyInto(zw, m); err != nil {
			s.logger.WarnContext(ctx, "privacy: media file missing from export", "file", m.name, "error", err)
		}
	}
	return zw.Close()
}

type mediaFile struct{ name, path string }

func copyInto(zw *zip.Writer, m mediaFile) error {
	src, err := os.Open(m.path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := zw.Create(m.name)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	return err
}

// safeName keeps a file name to letters, digits, dots and dashes.
func safeName(name, fallback string) string {
	var b strings.Builder
	for _, r := range name {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 || b.String() == "." || b.String() == ".." {
		return fallback
	}
	return b.String()
}

func queryRows(ctx context.Context, q db.Querier, query string, args ...any) ([]Row, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("privacy: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []Row
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("privacy: %w", err)
		}
		r := Row{}
		for i, c := range cols {
			v := vals[i]
			if b, ok := v.([]byte); ok {
				if utf8.Valid(b) {
					v = string(b)
				}
			}
			if s, ok := v.(string); ok && (c == "raw" || c == "changes" || c == "detail") && json.Valid([]byte(s)) {
				v = json.RawMessage(s)
			}
			r[c] = v
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	}
	i, _ := strconv.ParseInt(fmt.Sprint(v), 10, 64)
	return i
}

// The readable page of the export: plain HTML with its styles inline, no script, opened from the
// ZIP by the customer.
type exportPageView struct {
	Generated     string
	By            string
	Contact       [][2]string
	Consent       []Row
	Conversations []exportConversation
	Activity      []exportEvent
}

type exportConversation struct {
	ID       string
	Messages []exportMessage
	Notes    []Row
	Media    int
}

type exportMessage struct {
	At, Direction, Type, Text, Status string
}

type exportEvent struct {
	At, Actor, Action, Target string
}

func when(v any) string {
	ms := toInt(v)
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04 UTC")
}

func exportView(x Export) exportPageView {
	v := exportPageView{Generated: x.GeneratedAt.Format("2 January 2006 15:04 UTC"), By: x.GeneratedBy, Consent: x.Consent}
	keys := make([]string, 0, len(x.Contact))
	for k := range x.Contact {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := x.Contact[k]
		if strings.HasSuffix(k, "_at") {
			val = when(val)
		}
		if val == nil {
			val = ""
		}
		v.Contact = append(v.Contact, [2]string{k, fmt.Sprint(val)})
	}
	for _, c := range x.Conversations {
		ec := exportConversation{ID: fmt.Sprint(c.Conversation["id"]), Notes: c.Notes, Media: len(c.Media)}
		for _, m := range c.Messages {
			ec.Messages = append(ec.Messages, exportMessage{At: when(m["created_at"]), Direction: map[string]string{"in": "From the customer", "out": "To the customer"}[fmt.Sprint(m["direction"])],
				Type: fmt.Sprint(m["type"]), Text: fmt.Sprint(m["text"]), Status: fmt.Sprint(m["status"])})
		}
		v.Conversations = append(v.Conversations, ec)
	}
	for _, e := range x.Activity {
		v.Activity = append(v.Activity, exportEvent{At: when(e["occurred_at"]), Actor: fmt.Sprint(e["actor_name"]),
			Action: audit.ActionLabel(fmt.Sprint(e["action"])), Target: fmt.Sprint(e["target_type"], " ", e["target_id"])})
	}
	return v
}

var exportPage = template.Must(template.New("export").Funcs(template.FuncMap{"when": when}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your data held by this business</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2330;line-height:1.5}
table{border-collapse:collapse;width:100%;margin:0 0 1.5rem}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #d9dde5;vertical-align:top}
th{background:#f3f5f8}h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}.muted{color:#5b6472}</style></head><body>
<h1>Your data held by this business</h1>
<p class="muted">A copy of everything stored about you, made on {{.Generated}} at your request. The same data is in the JSON files beside this page, for use by other programs.</p>
<h2>Profile</h2>
<table><tbody>{{range .Contact}}<tr><th scope="row">{{index . 0}}</th><td>{{index . 1}}</td></tr>{{end}}</tbody></table>
<h2>Marketing consent</h2>
{{if .Consent}}<table><thead><tr><th>When</th><th>Status</th><th>How</th><th>Wording</th></tr></thead><tbody>
{{range .Consent}}<tr><td>{{when .recorded_at}}</td><td>{{.status}}</td><td>{{.source}}</td><td>{{.text}}</td></tr>{{end}}</tbody></table>
{{else}}<p>No consent was recorded.</p>{{end}}
<h2>Conversations</h2>
{{range .Conversations}}<h3>Conversation {{.ID}}</h3>
<table><thead><tr><th>When</th><th>Direction</th><th>Type</th><th>Text</th><th>Status</th></tr></thead><tbody>
{{range .Messages}}<tr><td>{{.At}}</td><td>{{.Direction}}</td><td>{{.Type}}</td><td>{{.Text}}</td><td>{{.Status}}</td></tr>{{end}}</tbody></table>
{{if .Notes}}<p><strong>Internal notes about this conversation</strong></p><ul>{{range .Notes}}<li>{{when .created_at}} · {{.author}}: {{.body}}</li>{{end}}</ul>{{end}}
{{if .Media}}<p>{{.Media}} media file(s): in the media folder of this archive.</p>{{end}}
{{else}}<p>No conversations.</p>{{end}}
<h2>Activity that concerns you</h2>
{{if .Activity}}<table><thead><tr><th>When</th><th>Who</th><th>What</th><th>About</th></tr></thead><tbody>
{{range .Activity}}<tr><td>{{.At}}</td><td>{{.Actor}}</td><td>{{.Action}}</td><td>{{.Target}}</td></tr>{{end}}</tbody></table>
{{else}}<p>None.</p>{{end}}
</body></html>
`))
