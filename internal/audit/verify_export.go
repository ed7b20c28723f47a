package audit

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Reasons VerifyExport gives besides those of Verify.
const (
	ReasonExportOrder = "ids do not increase: rows were reordered or repeated"
	ReasonExportTime  = "time_utc does not match occurred_at: the readable time was edited"
)

// VerifyExport checks a CSV or JSON Lines file written by Export, without the database: every
// row's hash must match its content, and where two rows are consecutive events their link must
// hold. A filtered export skips ids; those places are counted in Report.Gaps, and the link
// across them can only be checked against the live log (or a complete export). It answers an
// error, not a report, for a file that is not an export at all.
func VerifyExport(r io.Reader) (Report, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := br.Peek(1)
	if errors.Is(err, io.EOF) {
		return Report{}, errors.New("audit: empty export")
	}
	if err != nil {
		return Report{}, err
	}
	var next func() (*exportRow, error)
	if first[0] == '{' {
		next = jsonlRows(br)
	} else {
		next, err = csvRows(br)
		if err != nil {
			return Report{}, err
		}
	}

	rep := Report{Intact: true}
	hs := newHasher()
	var (
		buf              []byte
		prevID           int64
		prevHash, stored string
	)
	for n := 1; ; n++ {
		row, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Report{}, fmt.Errorf("audit: export row %d: %w", n, err)
		}
		rep.Events++
		if rep.Events == 1 {
			rep.FirstID = row.ID
		}
		rep.LastID, rep.LastAt = row.ID, time.UnixMilli(row.At).UTC()
		if !rep.Intact {
			continue
		}
		buf = appendCanonical(buf[:0], row.PrevHash, row.ID, row.At, &row.Text)
		stored = row.Hash
		reason := ""
		switch {
		case string(hs.hash(buf)) != stored:
			reason = ReasonHashMismatch
		case rep.Events > 1 && row.ID <= prevID:
			reason = ReasonExportOrder
		case rep.Events > 1 && row.ID == prevID+1 && row.PrevHash != prevHash:
			reason = ReasonPrevMismatch
		case row.ID == 1 && row.PrevHash != GenesisHash:
			reason = ReasonGenesis
		case row.timeText != "" && row.timeText != time.UnixMilli(row.At).UTC().Format(exportTimeLayout):
			reason = ReasonExportTime
		}
		if reason != "" {
			rep.Intact, rep.BrokenID, rep.Reason = false, row.ID, reason
			continue
		}
		if rep.Events > 1 && row.ID > prevID+1 {
			rep.Gaps++
		}
		prevID, prevHash = row.ID, row.Hash
	}
	if rep.Events == 0 {
		return Report{}, errors.New("audit: the export holds no events")
	}
	return rep, nil
}

// csvRows reads the header and returns a reader of rows. Fields are read byte for byte (a
// quoted field keeps its \r\n, which encoding/csv would turn into \n) and one leading
// apostrophe is removed, undoing the formula guard of the encoder.
func csvRows(br *bufio.Reader) (func() (*exportRow, error), error) {
	header, err := readCSVRecord(br)
	if err != nil {
		return nil, fmt.Errorf("audit: export header: %w", err)
	}
	if len(header) < len(exportColumns)-1 {
		return nil, fmt.Errorf("audit: not an activity export: %d columns in the header", len(header))
	}
	for i, name := range exportColumns[:len(exportColumns)-1] {
		if header[i] != name {
			return nil, fmt.Errorf("audit: not an activity export: column %d is %q, want %q", i+1, header[i], name)
		}
	}
	return func() (*exportRow, error) {
		rec, err := readCSVRecord(br)
		if err != nil {
			return nil, err
		}
		if len(rec) != len(header) {
			return nil, fmt.Errorf("%d fields, the header has %d", len(rec), len(header))
		}
		for i, f := range rec {
			if len(f) > 0 && f[0] == '\'' {
				rec[i] = f[1:]
			}
		}
		return rowFromFields(rec)
	}, nil
}

func rowFromFields(rec []string) (*exportRow, error) {
	var r exportRow
	var err error
	if r.ID, err = strconv.ParseInt(rec[0], 10, 64); err != nil {
		return nil, fmt.Errorf("id: %w", err)
	}
	if r.At, err = strconv.ParseInt(rec[1], 10, 64); err != nil {
		return nil, fmt.Errorf("occurred_at: %w", err)
	}
	copy(r.Text[:], rec[2:2+textColumns])
	r.PrevHash, r.Hash = rec[2+textColumns], rec[3+textColumns]
	if len(rec) > 4+textColumns {
		r.timeText = rec[4+textColumns]
	}
	return &r, nil
}

// readCSVRecord reads one RFC 4180 record, keeping every byte of its fields.
func readCSVRecord(br *bufio.Reader) ([]string, error) {
	var (
		fields   []string
		field    []byte
		quoted   bool
		anything bool
	)
	for {
		b, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			if quoted {
				return nil, io.ErrUnexpectedEOF
			}
			if !anything {
				return nil, io.EOF
			}
			return append(fields, string(field)), nil
		}
		if err != nil {
			return nil, err
		}
		anything = true
		if quoted {
			if b != '"' {
				field = append(field, b)
				continue
			}
			if nb, err := br.ReadByte(); err == nil {
				if nb == '"' {
					field = append(field, '"')
					continue
				}
				_ = br.UnreadByte()
			}
			quoted = false
			continue
		}
		switch b {
		case '"':
			if len(field) == 0 {
				quoted = true
			} else {
				field = append(field, b)
			}
		case ',':
			fields = append(fields, string(field))
			field = field[:0]
		case '\n':
			return append(fields, string(field)), nil
		case '\r':
			if nb, err := br.ReadByte(); err == nil {
				if nb == '\n' {
					return append(fields, string(field)), nil
				}
				_ = br.UnreadByte()
			}
			field = append(field, b)
		default:
			field = append(field, b)
		}
	}
}

// jsonlRows returns a reader of JSON Lines rows. A text field may come as "name" (a JSON
// string) or as "name_b64" (its bytes in base64, for text that is not UTF-8).
func jsonlRows(br *bufio.Reader) func() (*exportRow, error) {
	dec := json.NewDecoder(br)
	dec.UseNumber()
	return func() (*exportRow, error) {
		var m map[string]json.RawMessage
		if err := dec.Decode(&m); err != nil {
			return nil, err
		}
		fields := make([]string, len(exportColumns))
		for i, name := range exportColumns {
			raw, ok := m[name]
			switch {
			case ok && (name == "id" || name == "occurred_at"):
				var n json.Number
				if err := json.Unmarshal(raw, &n); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				fields[i] = n.String()
			case ok:
				if err := json.Unmarshal(raw, &fields[i]); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
			default:
				b64, ok := m[name+"_b64"]
				if !ok {
					if name == "time_utc" {
						continue
					}
					return nil, fmt.Errorf("no %q", name)
				}
				var s string
				if err := json.Unmarshal(b64, &s); err != nil {
					return nil, fmt.Errorf("%s_b64: %w", name, err)
				}
				b, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return nil, fmt.Errorf("%s_b64: %w", name, err)
				}
				fields[i] = string(b)
			}
		}
		return rowFromFields(fields)
	}
}
