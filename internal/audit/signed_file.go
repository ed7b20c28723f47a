package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// CheckpointFileName is the file in the data directory that keeps a copy of every signed
// checkpoint, one JSON object a line.
const CheckpointFileName = "audit-checkpoints.jsonl"

// PublicKeyFileName is the file in the data directory that holds the checkpoint public key.
const PublicKeyFileName = "audit-signing.pub"

// FileSink appends checkpoints to a JSON Lines file, syncing each to disk.
type FileSink struct {
	path string
}

// NewFileSink returns a sink appending to path, created (mode 0600) when missing.
func NewFileSink(path string) *FileSink { return &FileSink{path: path} }

// Name says which sink failed, in logs.
func (s *FileSink) Name() string { return s.path }

// Publish appends cp as one line.
func (s *FileSink) Publish(_ context.Context, cp SignedCheckpoint) error {
	line, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	// A checkpoint that a crash can lose from the file but not from the database would make the
	// two disagree at the next verify.
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LastPublished is the seq of the file's last line; 0 for a missing or empty file.
func (s *FileSink) LastPublished(context.Context) (int64, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	// Only the tail matters: a line is a few hundred bytes.
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	from := max(0, st.Size()-4096)
	buf := make([]byte, st.Size()-from)
	if _, err := f.ReadAt(buf, from); err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	lines := bytes.Split(bytes.TrimRight(buf, "\n"), []byte("\n"))
	last := lines[len(lines)-1]
	if len(bytes.TrimSpace(last)) == 0 {
		return 0, nil
	}
	var cp SignedCheckpoint
	if err := json.Unmarshal(last, &cp); err != nil {
		return 0, fmt.Errorf("last line of %s: %w", s.path, err)
	}
	return cp.Seq, nil
}

// checkpointReader reads a checkpoint file line by line.
type checkpointReader struct {
	sc   *bufio.Scanner
	line int
}

func newCheckpointReader(r io.Reader) *checkpointReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &checkpointReader{sc: sc}
}

// next returns the next checkpoint, io.EOF at the end.
func (r *checkpointReader) next() (SignedCheckpoint, error) {
	for r.sc.Scan() {
		r.line++
		b := bytes.TrimSpace(r.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var cp SignedCheckpoint
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cp); err != nil {
			return SignedCheckpoint{}, fmt.Errorf("checkpoint file line %d: %w", r.line, err)
		}
		return cp, nil
	}
	if err := r.sc.Err(); err != nil {
		return SignedCheckpoint{}, err
	}
	return SignedCheckpoint{}, io.EOF
}

// WritePublicKeyFile keeps DATA/audit-signing.pub up to date with pub, so the key is at hand
// for offline verification; it reports whether the file changed (a new secret key).
func WritePublicKeyFile(dataDir string, pub ed25519.PublicKey) (bool, error) {
	path := filepath.Join(dataDir, PublicKeyFileName)
	want := PublicKeyFile(pub)
	if got, err := os.ReadFile(path); err == nil && string(got) == want {
		return false, nil
	}
	if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
		return false, fmt.Errorf("audit: write %s: %w", path, err)
	}
	return true, nil
}
