// Package benchdb keeps the generated databases of benchmarks and load tests between runs:
// generating a million events or a hundred thousand conversations takes from a minute to
// several, and every run would otherwise pay it.
package benchdb

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/switchboard/switchboard/internal/db"
)

// Dir returns a data directory under the system's temporary directory holding the database
// build makes, building it on first use. The directory is named by key, version (the
// generator's: "" when it has none) and db.Layout, so a schema, page size or generator change
// builds afresh, and the databases of earlier ones under the same key are removed. build writes
// into an empty directory that is renamed into place only when it succeeds. The database is
// shared: copy it before changing it.
func Dir(key, version string, build func(dir string) error) (string, error) {
	layout, err := db.Layout()
	if err != nil {
		return "", err
	}
	parent := filepath.Join(os.TempDir(), "switchboard-bench")
	name := key + "-" + layout
	if version != "" {
		name = key + "-" + version + "-" + layout
	}
	dir := filepath.Join(parent, name)
	if _, err := os.Stat(filepath.Join(dir, db.FileName)); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(parent, key+"-building-")
	if err != nil {
		return "", err
	}
	if err := build(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(filepath.Join(dir, db.FileName)); serr == nil {
			return dir, nil // built by a run beside this one
		}
		return "", err
	}
	// Databases of earlier layouts or versions are never used again, and some are half a
	// gigabyte.
	stale, _ := filepath.Glob(filepath.Join(parent, key+"-*"))
	for _, old := range stale {
		if old != dir && !strings.Contains(filepath.Base(old), "-building-") {
			os.RemoveAll(old)
		}
	}
	return dir, nil
}
