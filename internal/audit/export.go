package audit

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ExportFormat is a file format of Export.
type ExportFormat string

const (
	ExportCSV   ExportFormat = "csv"
	ExportJSONL ExportFormat = "jsonl"
)

// ActionExported is the event every export writes before its first row.
const ActionExported = "audit.exported"

// exportColumns are the column names of both formats: every stored column, so that each row
// can be verified on its own (docs/audit-verification.md), then the time in a readable form,
// which is not hashed.
var exportColumns = [...]string{"id", "occurred_at", "actor_type", "actor_id", "actor_name", "action",
	"target_type", "target_id", "changes", "client_addr", "user_agent", "request_id", "outcome",
	"prev_hash", "hash", "time_utc", "target_name"}

// hashedExportColumns is how many columns every export has: the rest came later (time_utc is
// not hashed; target_name is hashed when not empty, and absent from older exports).
const hashedExportColumns = 4 + textColumns

const exportTimeLayout = "2006-01-02T15:04:05.000Z"

// exportFlushEvery is how many rows are written between flushes to the client, so a long
// export shows progress and its memory stays that of one buffer.
const exportFlushEvery = 1000

// exportRow is one event as stored, changes as the JSON text that was hashed.
type exportRow struct {
	ID, At     int64
	Text       [textColumns]string // actor_type … outcome, canonical order
	PrevHash   string
	Hash       string
	TargetName string
	timeText   string         // time_utc as read back by VerifyExport
	trailer    *exportTrailer // set instead of the rest for the trailer line, as read back
}

// ExportResult is what an export did.
type ExportResult struct {
	Event Event // the audit.exported event, recorded before the first row
	Rows  int64
}

// Export writes the events matching f, oldest first, as CSV or JSON Lines. It first records an
// audit.exported event with the filter (so an export that fails half way is on record too), then
// calls open for the writer and streams rows into it as they are read: memory stays constant
// whatever the size. The export stops at its own event, which it includes when the filter
// matches it.
func (l *Log) Export(ctx context.Context, f Filter, format ExportFormat, open func() io.Writer) (ExportResult, error) {
	if format != ExportCSV && format != ExportJSONL {
		return ExportResult{}, fmt.Errorf("%w: export format %q", ErrInvalid, format)
	}
	ev, err := l.Record(ctx, Event{
		Action: ActionExported,
		Target: Target{Type: "audit_log"},
		Changes: []Change{
			{Field: "filter", After: f.Encode()},
			{Field: "format", After: string(format)},
		},
	})
	if err != nil {
		return ExportResult{}, err
	}
	res := ExportResult{Event: ev}
	// The export reaches up to the anchored event, so that a complete export ends with the very
	// event its checkpoint signs, and cutting rows off its end shows.
	trailer, err := l.exportTrailer(ctx, f, ev)
	if err != nil {
		return res, err
	}
	upTo := ev.ID
	if trailer != nil {
		upTo = max(upTo, trailer.Checkpoint.EventID)
	}
	w := open()
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := newExportEncoder(format, bw)
	if err := enc.header(); err != nil {
		return res, err
	}
	err = l.exportRows(ctx, f, upTo, func(r *exportRow) error {
		if err := enc.row(r); err != nil {
			return err
		}
		res.Rows++
		if res.Rows%exportFlushEvery == 0 {
			return flush(bw, w)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if trailer != nil {
		if err := enc.trailer(trailer); err != nil {
			return res, err
		}
	}
	return res, flush(bw, w)
}

// exportTrailer is the export's last line: the signed checkpoint it ends at, and what it
// holds. Only the checkpoint is signed; the rest says how to judge the file.
type exportTrailer struct {
	Checkpoint SignedCheckpoint `json:"checkpoint"`
	// Filter is the export's filter ("" for the whole log), as its audit.exported event records it.
	Filter        string `json:"filter"`
	ExportEventID int64  `json:"export_event_id"`
	PublicKey     string `json:"public_key,omitempty"`
}

// csvTrailerMark starts the CSV row that holds the trailer, as JSON in the next field.
const csvTrailerMark = "#checkpoint"

// exportTrailer signs the head now when a Checkpointer is set, or takes the newest stored
// checkpoint; nil when there is none. A checkpointer that refuses (the log was cut) does not
// stop the export: an auditor needs the file most then; the newest stored checkpoint goes in.
func (l *Log) exportTrailer(ctx context.Context, f Filter, ev Event) (*exportTrailer, error) {
	t := &exportTrailer{Filter: f.Encode(), ExportEventID: ev.ID}
	if c := l.checkpointer; c != nil {
		t.PublicKey = FormatPublicKey(c.PublicKey())
		cp, ok, err := c.Checkpoint(ctx)
		if err == nil && ok {
			t.Checkpoint = cp
			return t, nil
		}
	}
	cp, ok, err := latestSigned(ctx, l.db.R)
	if err != nil || !ok {
		return nil, err
	}
	t.Checkpoint = cp
	return t, nil
}

func flush(bw *bufio.Writer, w io.Writer) error {
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	if f, ok := w.(interface{ Flush() }); ok {
		f.Flush()
	}
	return nil
}

// exportRows calls fn for every event matching f with id <= upTo, in id order, from one
// read snapshot.
func (l *Log) exportRows(ctx context.Context, f Filter, upTo int64, fn func(*exportRow) error) error {
	tx, err := l.db.Reports.BeginTx(ctx, nil) // one snapshot for the whole file: off the page views' readers
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // read only: nothing to undo
	p, err := planFilter(ctx, tx, f)
	if err != nil || p.empty {
		return err
	}
	query, args := p.streamQuery(p.lo, min(p.hi, upTo))
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	defer rows.Close()
	var r exportRow
	dest := []any{&r.ID, &r.At}
	for i := range r.Text {
		dest = append(dest, &r.Text[i])
	}
	dest = append(dest, &r.PrevHash, &r.Hash, &r.TargetName)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	return nil
}

// streamQuery reads every match in [lo, hi] in id order, unbounded. With one branch its index
// yields them in order; several branches would need a sort of everything matched, so the table
// is read in id order instead with the branches as a condition, which keeps memory constant.
func (p *plan) streamQuery(lo, hi int64) (string, []any) {
	var (
		sb   strings.Builder
		args []any
	)
	sb.WriteString(`SELECT ` + listColumns + ` FROM audit_events `)
	var conds []string
	switch {
	case len(p.branches) == 1:
		sb.WriteString("INDEXED BY " + p.index + " ")
		for i, col := range p.eqCols {
			conds = append(conds, col+" = ?")
			args = append(args, p.branches[0][i])
		}
	case len(p.branches) > 1:
		sb.WriteString("NOT INDEXED ")
		var ors []string
		for _, vals := range p.branches {
			var ands []string
			for i, col := range p.eqCols {
				ands = append(ands, col+" = ?")
				args = append(args, vals[i])
			}
			ors = append(ors, "("+strings.Join(ands, " AND ")+")")
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	default:
		sb.WriteString("NOT INDEXED ")
	}
	conds = append(conds, p.residual...)
	args = append(args, p.args...)
	conds = append(conds, "id BETWEEN ? AND ?")
	args = append(args, lo, hi)
	sb.WriteString("WHERE " + strings.Join(conds, " AND ") + " ORDER BY id")
	return sb.String(), args
}

type exportEncoder interface {
	header() error
	row(*exportRow) error
	trailer(*exportTrailer) error
}

func newExportEncoder(format ExportFormat, w *bufio.Writer) exportEncoder {
	if format == ExportCSV {
		cw := csv.NewWriter(w)
		return &csvEncoder{w: cw, buf: w}
	}
	return &jsonlEncoder{w: w}
}

// csvEncoder writes RFC 4180 CSV with \n line ends, bytes unchanged, except that a field
// starting with = + - @ tab or carriage return gets a leading apostrophe, so that a spreadsheet
// does not run it as a formula (an actor name or user agent is anyone's to choose). A field
// that starts with an apostrophe gets one more, so the change is undone exactly: strip one
// leading apostrophe from every field that has one.
type csvEncoder struct {
	w      *csv.Writer
	buf    *bufio.Writer
	fields [len(exportColumns)]string
}

func (e *csvEncoder) header() error {
	return e.w.Write(exportColumns[:])
}

func (e *csvEncoder) row(r *exportRow) error {
	f := e.fields[:0]
	f = append(f, strconv.FormatInt(r.ID, 10), strconv.FormatInt(r.At, 10))
	f = append(f, r.Text[:]...)
	f = append(f, r.PrevHash, r.Hash, time.UnixMilli(r.At).UTC().Format(exportTimeLayout), r.TargetName)
	for i := range f {
		f[i] = csvNeutralise(f[i])
	}
	if err := e.w.Write(f); err != nil {
		return err
	}
	// csv.Writer buffers on its own: hand its bytes to the shared buffer row by row.
	e.w.Flush()
	return e.w.Error()
}

func (e *csvEncoder) trailer(t *exportTrailer) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	f := e.fields[:0]
	f = append(f, csvTrailerMark, string(b))
	for len(f) < len(exportColumns) {
		f = append(f, "")
	}
	if err := e.w.Write(f); err != nil {
		return err
	}
	e.w.Flush()
	return e.w.Error()
}

func csvNeutralise(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\'':
		return "'" + s
	}
	return s
}

// jsonlEncoder writes one JSON object per line, keys in the column order. JSON can only hold
// UTF-8 text, so a field whose stored bytes are not UTF-8 is written base64-encoded under its
// name with "_b64" appended: every byte survives, which the hash needs.
type jsonlEncoder struct {
	w   *bufio.Writer
	buf []byte
}

func (e *jsonlEncoder) header() error { return nil }

func (e *jsonlEncoder) row(r *exportRow) error {
	b := append(e.buf[:0], `{"id":`...)
	b = strconv.AppendInt(b, r.ID, 10)
	b = append(b, `,"occurred_at":`...)
	b = strconv.AppendInt(b, r.At, 10)
	for i, s := range r.Text {
		b = appendJSONField(b, exportColumns[2+i], s)
	}
	b = appendJSONField(b, "prev_hash", r.PrevHash)
	b = appendJSONField(b, "hash", r.Hash)
	b = appendJSONField(b, "time_utc", time.UnixMilli(r.At).UTC().Format(exportTimeLayout))
	b = appendJSONField(b, "target_name", r.TargetName)
	b = append(b, "}\n"...)
	e.buf = b
	_, err := e.w.Write(b)
	return err
}

func (e *jsonlEncoder) trailer(t *exportTrailer) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	_, err = e.w.Write(append(b, '\n'))
	return err
}

func appendJSONField(b []byte, key, s string) []byte {
	if !utf8.ValidString(s) {
		b = append(b, `,"`+key+`_b64":"`...)
		b = base64.StdEncoding.AppendEncode(b, []byte(s))
		return append(b, '"')
	}
	b = append(b, `,"`+key+`":`...)
	return appendJSONString(b, s)
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes valid UTF-8 as a JSON string. Control characters, and U+2028/U+2029
// (line ends to some JavaScript), are escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}
