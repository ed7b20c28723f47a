package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
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
func VerifyExport(r io.Reader) (Report, error) { return VerifyExportWith(r, nil) }

// Reasons VerifyExport gives about the checkpoint at the end of an export.
const (
	ReasonExportCut       = "the export ends before the event its signed checkpoint anchors: rows were cut off its end"
	ReasonExportAnchor    = "the event the checkpoint anchors does not have the hash it signed: the row was changed"
	ReasonExportSignature = "the checkpoint at the end of the export is not validly signed: it was altered or forged"
	ReasonExportHoles     = "ids skip in an export of the whole log: rows were removed from it"
	ReasonExportAfter     = "rows follow the checkpoint at the end of the export: they were added"
)

// ExportAnchor is what VerifyExportWith found about the checkpoint that ends an export.
type ExportAnchor struct {
	Checkpoint SignedCheckpoint
	Filter     string // the export's filter; "" for the whole log
	// KeyID is the key the signature was checked with, and KeyFromFile says it was the key the
	// export itself names (no key was given), which proves only that the file is consistent.
	KeyID       string
	KeyFromFile bool
	// Complete: the export holds the anchored event, so nothing up to it can be cut unseen.
	Complete bool
}

// VerifyExportWith is VerifyExport that also checks the signed checkpoint at the end of the
// export with pub (or, when pub is nil, with the public key the export names). Report.Export is
// nil for an export without one (made before checkpoints existed, or with its end cut off).
func VerifyExportWith(r io.Reader, pub ed25519.PublicKey) (Report, error) {
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
		trailer          *exportTrailer
		firstGap         int64
		after            bool // a row came after the trailer
	)
	for n := 1; ; n++ {
		row, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Report{}, fmt.Errorf("audit: export row %d: %w", n, err)
		}
		if row.trailer != nil {
			if trailer != nil {
				return Report{}, fmt.Errorf("audit: export row %d: a second checkpoint trailer", n)
			}
			trailer = row.trailer
			continue
		}
		if trailer != nil {
			after = true
		}
		rep.Events++
		if rep.Events == 1 {
			rep.FirstID = row.ID
		}
		rep.LastID, rep.LastAt = row.ID, time.UnixMilli(row.At).UTC()
		if !rep.Intact {
			continue
		}
		buf = appendEventCanonical(buf[:0], row.PrevHash, row.ID, row.At, &row.Text, row.TargetName)
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
		rep.Checked++
		if rep.Events > 1 && row.ID > prevID+1 {
			rep.Gaps++
			if firstGap == 0 {
				firstGap = row.ID
			}
		}
		prevID, prevHash = row.ID, row.Hash
	}
	if rep.Events == 0 {
		return Report{}, errors.New("audit: the export holds no events")
	}
	if trailer != nil {
		checkExportAnchor(&rep, trailer, pub, prevID, prevHash, firstGap, after)
	}
	return rep, nil
}

// checkExportAnchor judges the trailer against the rows read; lastID and lastHash are the last
// intact row's.
func checkExportAnchor(rep *Report, t *exportTrailer, pub ed25519.PublicKey, lastID int64, lastHash string, firstGap int64, after bool) {
	cp := t.Checkpoint
	a := &ExportAnchor{Checkpoint: cp, Filter: t.Filter}
	rep.Export = a
	if pub == nil {
		k, err := ParsePublicKey(t.PublicKey)
		if err == nil {
			pub, a.KeyFromFile = k, true
		}
	}
	broken := func(id int64, reason string) {
		if rep.Intact {
			rep.Intact, rep.BrokenID, rep.Reason = false, id, reason
		}
	}
	if pub == nil || cp.VerifySignature(pub) != nil {
		broken(cp.EventID, ReasonExportSignature)
	}
	if pub != nil {
		a.KeyID = KeyID(pub)
	}
	if !rep.Intact && rep.Reason != ReasonExportSignature {
		return // the rows are broken already; the first break is what matters
	}
	switch {
	case after:
		broken(cp.EventID, ReasonExportAfter)
	case lastID == cp.EventID:
		a.Complete = true
		if lastHash != cp.EventHash {
			broken(cp.EventID, ReasonExportAnchor)
		}
	case lastID < cp.EventID && t.Filter == "":
		broken(lastID+1, ReasonExportCut)
	}
	if t.Filter == "" && firstGap != 0 {
		broken(firstGap, ReasonExportHoles)
	}
}

// csvRows reads the header and returns a reader of rows. Fields are read byte for byte (a
// quoted field keeps its \r\n, which encoding/csv would turn into \n) and one leading
// apostrophe is removed, undoing the formula guard of the encoder.
func csvRows(br *bufio.Reader) (func() (*exportRow, error), error) {
	header, err := readCSVRecord(br)
	if err != nil {
		return nil, fmt.Errorf("audit: export header: %w", err)
	}
	if len(header) < hashedExportColumns {
		return nil, fmt.Errorf("audit: not an activity export: %d columns in the header", len(header))
	}
	for i, name := range exportColumns[:hashedExportColumns] {
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
		if rec[0] == csvTrailerMark {
			return trailerRow([]byte(rec[1]))
		}
		for i, f := range rec {
			if len(f) > 0 && f[0] == '\'' {
				rec[i] = f[1:]
			}
		}
		return rowFromFields(rec)
	}, nil
}

func trailerRow(b []byte) (*exportRow, error) {
	var t exportTrailer
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("checkpoint trailer: %w", err)
	}
	return &exportRow{trailer: &t}, nil
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
	if len(rec) > 5+textColumns {
		r.TargetName = rec[5+textColumns]
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
		var line json.RawMessage
		if err := dec.Decode(&line); err != nil {
			return nil, err
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(line, &m); err != nil {
			return nil, err
		}
		if _, ok := m["checkpoint"]; ok {
			return trailerRow(line)
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
					if name == "time_utc" || name == "target_name" {
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
