package db

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strings"
)

// WALPages says what the WAL holds: how many frames and commits, and which table or index
// each written page belongs to. Every page a commit changes is written whole to the WAL, so
// this is where a workload's disk writes go (the checkpoint then copies each distinct page
// once more into the database file). It reads the WAL as it is on disk: with checkpoints
// off, that is everything written since the WAL last started over.
type WALPages struct {
	PageSize int
	Bytes    int64 // the WAL file's size
	Frames   int
	Commits  int
	// ByObject counts frames by the table or index owning the page, most first. Pages freed
	// or added since the commit that wrote them count as "(freed or new since)".
	ByObject []ObjectFrames
}

// ObjectFrames is one table's or index's share of the WAL.
type ObjectFrames struct {
	Name   string
	Frames int
}

// frameHeader is the size of the header before each page in the WAL.
const frameHeader = 24

// ReadWALPages reads d's WAL and attributes each frame through SQLite's dbstat table.
func (d *DB) ReadWALPages(ctx context.Context) (WALPages, error) {
	wal, err := os.ReadFile(d.Path + "-wal")
	if err != nil {
		return WALPages{}, fmt.Errorf("read wal: %w", err)
	}
	var w WALPages
	w.Bytes = int64(len(wal))
	if len(wal) < 32 {
		return w, nil
	}
	w.PageSize = int(binary.BigEndian.Uint32(wal[8:12]))
	owner := map[uint32]string{}
	rows, err := d.R.QueryContext(ctx, `SELECT name, pageno FROM dbstat`)
	if err != nil {
		return w, fmt.Errorf("read page owners: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var page uint32
		if err := rows.Scan(&name, &page); err != nil {
			return w, fmt.Errorf("read page owners: %w", err)
		}
		owner[page] = name
	}
	if err := rows.Err(); err != nil {
		return w, fmt.Errorf("read page owners: %w", err)
	}
	by := map[string]int{}
	for off := 32; off+frameHeader+w.PageSize <= len(wal); off += frameHeader + w.PageSize {
		page := binary.BigEndian.Uint32(wal[off : off+4])
		// The second field is the database size after a commit, and 0 in every other frame.
		if binary.BigEndian.Uint32(wal[off+4:off+8]) != 0 {
			w.Commits++
		}
		w.Frames++
		name := owner[page]
		if name == "" {
			name = "(freed or new since)"
		}
		by[name]++
	}
	for name, n := range by {
		w.ByObject = append(w.ByObject, ObjectFrames{Name: name, Frames: n})
	}
	sort.Slice(w.ByObject, func(i, j int) bool {
		if w.ByObject[i].Frames != w.ByObject[j].Frames {
			return w.ByObject[i].Frames > w.ByObject[j].Frames
		}
		return w.ByObject[i].Name < w.ByObject[j].Name
	})
	return w, nil
}

// FrameBytes is what one frame takes in the WAL.
func (w WALPages) FrameBytes() int { return w.PageSize + frameHeader }

// Report is the WAL's figures per event, for a load test's log: events is how many webhook
// events (or other units of work) wrote it.
func (w WALPages) Report(events int) string {
	var b strings.Builder
	per := func(frames int) float64 { return float64(frames*w.FrameBytes()) / float64(max(events, 1)) }
	fmt.Fprintf(&b, "WAL: %d bytes, %d frames in %d commits: %.1f pages a commit, %.0f bytes an event "+
		"(the checkpoint then copies each distinct page once more)\n",
		w.Bytes, w.Frames, w.Commits, float64(w.Frames)/float64(max(w.Commits, 1)), per(w.Frames))
	for _, o := range w.ByObject {
		fmt.Fprintf(&b, "  %-45s %7d frames  %5.1f a commit  %6.0f bytes an event\n", o.Name, o.Frames,
			float64(o.Frames)/float64(max(w.Commits, 1)), per(o.Frames))
	}
	return b.String()
}
