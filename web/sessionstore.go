package web

import (
	"time"

	"github.com/alexedwards/scs/sqlite3store"
)

// sessionStore keeps scs sessions in SQLite and reads them through the reader pool: every
// request loads its session, and reading through the single writer connection would queue each
// page behind webhook commits. Writes (and the expiry cleanup) go through the writer.
type sessionStore struct {
	reader *sqlite3store.SQLite3Store
	writer *sqlite3store.SQLite3Store
}

func (s sessionStore) Find(token string) ([]byte, bool, error) { return s.reader.Find(token) }

func (s sessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.writer.Commit(token, b, expiry)
}

func (s sessionStore) Delete(token string) error { return s.writer.Delete(token) }

// StopCleanup stops the writer's expiry cleanup.
func (s sessionStore) StopCleanup() { s.writer.StopCleanup() }
