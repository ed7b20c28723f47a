package inbox

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/db"
)

// MediaTransport moves media files to and from Meta. phoneNumberID is Meta's id of the business
// number, whose WABA's token is used. The wiring adapts whatsapp.Client (GET /{media-id}, the
// download URL with the bearer token, POST /{phone-number-id}/media).
type MediaTransport interface {
	FetchMedia(ctx context.Context, phoneNumberID, mediaID string, maxBytes int64) (data []byte, mimeType string, err error)
	UploadMedia(ctx context.Context, phoneNumberID, mimeType, fileName string, data []byte) (mediaID string, err error)
}

// MediaFile is a stored media file as the viewer may reach it.
type MediaFile struct {
	ID             int64
	ConversationID int64
	MessageID      int64
	Kind           string // image, video, audio, document, sticker
	MimeType       string
	FileName       string
	Size           int64
	SHA256         string
	// State is pending (being fetched from Meta), stored or failed (Error says why).
	State string
	Error string
}

// Media states.
const (
	MediaPending = "pending"
	MediaStored  = "stored"
	MediaFailed  = "failed"
)

// DefaultMaxMediaBytes is the largest file Switchboard keeps (Meta allows documents up to
// 100 MB; a shared inbox keeps what agents need to see, and a bounded disk).
const DefaultMaxMediaBytes = 25 << 20

// MediaStore keeps files under Dir by the SHA-256 of their content: DIR/ab/abcdef….
type MediaStore struct {
	Dir string
}

// Put stores data and returns its hex SHA-256. Writing to a temporary file and renaming it
// means a reader never sees half a file, and storing the same content twice is harmless.
func (st MediaStore) Put(data []byte) (string, error) {
	sum := sha256.Sum256(data)
	name := hex.EncodeToString(sum[:])
	path := st.path(name)
	if _, err := os.Stat(path); err == nil {
		return name, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", fmt.Errorf("media dir: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".part-*")
	if err != nil {
		return "", fmt.Errorf("media file: %w", err)
	}
	_, werr := tmp.Write(data)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("write media: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("store media: %w", err)
	}
	return name, nil
}

// Open opens the stored file of a SHA-256 name.
func (st MediaStore) Open(sha string) (*os.File, error) {
	if len(sha) != 64 || strings.Trim(sha, "0123456789abcdef") != "" {
		return nil, ErrNotFound
	}
	return os.Open(st.path(sha))
}

func (st MediaStore) path(sha string) string { return filepath.Join(st.Dir, sha[:2], sha) }

// MediaFetcher downloads the media of inbound messages from Meta, off the webhook's path. Its
// jobs are the pending rows of the media table, written in the webhook's transaction, so a
// crash or a restart loses none: Run picks up whatever is due.
type MediaFetcher struct {
	db        *db.DB
	store     MediaStore
	transport MediaTransport
	clock     clock.Clock
	logger    *slog.Logger
	// MaxBytes caps a file (DefaultMaxMediaBytes when 0).
	MaxBytes int64
	// Published is told of a conversation whose media arrived (the live updates).
	Published func(conversationID int64)

	wakeCh chan struct{}
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// NewMediaFetcher builds a fetcher; start it with Start.
func NewMediaFetcher(d *db.DB, store MediaStore, t MediaTransport, clk clock.Clock, logger *slog.Logger) *MediaFetcher {
	if logger == nil {
		logger = slog.Default()
	}
	return &MediaFetcher{db: d, store: store, transport: t, clock: clk, logger: logger,
		wakeCh: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// Store is where the files are kept.
func (f *MediaFetcher) Store() MediaStore { return f.store }

func (f *MediaFetcher) wake() {
	if f == nil {
		return
	}
	select {
	case f.wakeCh <- struct{}{}:
	default:
	}
}

// mediaAttempts is how often a download is tried before the file is marked failed; the waits
// grow from 15 s to about an hour, inside the 30 days Meta keeps a file.
const mediaAttempts = 9

// Start runs the fetcher until Close.
func (f *MediaFetcher) Start() {
	go func() {
		defer close(f.done)
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			// Downloads are background work: their writes yield to webhook ingest.
			for f.FetchDue(db.Background(context.Background())) > 0 {
			}
			select {
			case <-f.stop:
				return
			case <-f.wakeCh:
			case <-tick.C:
			}
		}
	}()
}

// Close stops the fetcher and waits for the download under way.
func (f *MediaFetcher) Close() {
	if f == nil {
		return
	}
	f.once.Do(func() { close(f.stop) })
	<-f.done
}

func (f *MediaFetcher) maxBytes() int64 {
	if f.MaxBytes > 0 {
		return f.MaxBytes
	}
	return DefaultMaxMediaBytes
}

type mediaJob struct {
	id, convID, attempts int64
	metaID, numberID     string
	mime                 string
}

// FetchDue downloads up to ten files that are due and returns how many it tried.
func (f *MediaFetcher) FetchDue(ctx context.Context) int {
	now := f.clock.Now()
	rows, err := f.db.R.QueryContext(ctx, `SELECT md.id, md.conversation_id, md.attempts, md.meta_media_id, pn.phone_number_id, md.mime_type
		FROM media md JOIN conversations c ON c.id = md.conversation_id JOIN phone_numbers pn ON pn.id = c.phone_number_id
		WHERE md.state = 'pending' AND md.next_attempt_at <= ? ORDER BY md.next_attempt_at LIMIT 10`, millis(now))
	if err != nil {
		f.logger.ErrorContext(ctx, "media: list due downloads", "error", err)
		return 0
	}
	var jobs []mediaJob
	for rows.Next() {
		var j mediaJob
		if err := rows.Scan(&j.id, &j.convID, &j.attempts, &j.metaID, &j.numberID, &j.mime); err != nil {
			rows.Close()
			f.logger.ErrorContext(ctx, "media: scan job", "error", err)
			return 0
		}
		jobs = append(jobs, j)
	}
	rows.Close()
	for _, j := range jobs {
		f.fetch(ctx, j)
	}
	return len(jobs)
}

func (f *MediaFetcher) fetch(ctx context.Context, j mediaJob) {
	callCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	data, mimeType, err := f.transport.FetchMedia(callCtx, j.numberID, j.metaID, f.maxBytes())
	cancel()
	var sha string
	if err == nil {
		sha, err = f.store.Put(data)
	}
	now := f.clock.Now()
	var dbErr error
	if err == nil {
		if j.mime == "" {
			j.mime = mimeType
		}
		dbErr = f.db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE media SET state = 'stored', sha256 = ?, size = ?, mime_type = ?, error = '',
				attempts = attempts + 1, next_attempt_at = NULL, stored_at = ? WHERE id = ? AND state = 'pending'`,
				sha, len(data), j.mime, millis(now), j.id)
			return err
		})
	} else {
		attempts := j.attempts + 1
		state, next := MediaPending, any(millis(now.Add(retryWait(attempts))))
		tooLarge := strings.Contains(err.Error(), "larger than")
		if attempts >= mediaAttempts || tooLarge {
			state, next = MediaFailed, nil
		}
		reason := "WhatsApp did not hand over the file"
		if tooLarge {
			reason = fmt.Sprintf("The file is larger than the %d MB Switchboard keeps", f.maxBytes()>>20)
		}
		f.logger.WarnContext(ctx, "media: download failed", "media", j.id, "attempt", attempts, "error", err)
		dbErr = f.db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE media SET state = ?, error = ?, attempts = ?, next_attempt_at = ? WHERE id = ?`,
				state, reason, attempts, next, j.id)
			return err
		})
	}
	if dbErr != nil {
		f.logger.ErrorContext(ctx, "media: record download", "media", j.id, "error", dbErr)
		return
	}
	if f.Published != nil {
		f.Published(j.convID)
	}
}

func retryWait(attempt int64) time.Duration {
	d := 15 * time.Second
	for i := int64(1); i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return d
}

// MediaFile returns a stored media file of a conversation p sees. Outside p's visibility, and
// for a file not (yet) stored, it is ErrNotFound: the media route answers exactly as for a
// conversation that does not exist.
func (s *Service) MediaFile(ctx context.Context, p *authz.Principal, id int64) (MediaFile, error) {
	vis, args := visibilityClause(p.Conversations(), "c")
	row := s.db.R.QueryRowContext(ctx, `SELECT `+mediaColumns+` FROM media md JOIN conversations c ON c.id = md.conversation_id
		JOIN messages m ON m.id = md.message_id
		WHERE md.id = ? AND m.deleted_at IS NULL AND `+vis, append([]any{id}, args...)...)
	f, err := scanMedia(row)
	if err != nil {
		return MediaFile{}, err
	}
	if f.State != MediaStored {
		return MediaFile{}, ErrNotFound
	}
	return f, nil
}

// OpenMedia opens the stored content of f.
func (s *Service) OpenMedia(f MediaFile) (io.ReadSeekCloser, error) {
	if s.Media == nil {
		return nil, ErrNotFound
	}
	file, err := s.Media.store.Open(f.SHA256)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	return file, err
}

const mediaColumns = `md.id, md.conversation_id, md.message_id, md.kind, md.mime_type, md.file_name, md.size, md.sha256, md.state, md.error`

func scanMedia(row interface{ Scan(...any) error }) (MediaFile, error) {
	var f MediaFile
	err := row.Scan(&f.ID, &f.ConversationID, &f.MessageID, &f.Kind, &f.MimeType, &f.FileName, &f.Size, &f.SHA256, &f.State, &f.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return MediaFile{}, ErrNotFound
	}
	if err != nil {
		return MediaFile{}, fmt.Errorf("scan media: %w", err)
	}
	return f, nil
}

// attachMedia fills the media of a page of messages: one query for the page.
func (s *Service) attachMedia(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	args := make([]any, len(msgs))
	at := map[int64]int{}
	for i, m := range msgs {
		args[i] = m.ID
		at[m.ID] = i
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+mediaColumns+` FROM media md WHERE md.message_id IN (`+placeholders(len(msgs))+`)`, args...)
	if err != nil {
		return fmt.Errorf("media of messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		f, err := scanMedia(rows)
		if err != nil {
			return err
		}
		if i, ok := at[f.MessageID]; ok {
			msgs[i].Media = &f
		}
	}
	return rows.Err()
}

// mediaKindOf is the WhatsApp media type for a MIME type Meta accepts, with Meta's size limit;
// "" when Meta accepts no such file.
func mediaKindOf(mimeType string) (kind string, limit int64) {
	mt, _, err := mime.ParseMediaType(mimeType)
	if err != nil {
		return "", 0
	}
	switch mt {
	case "image/jpeg", "image/png":
		return "image", 5 << 20
	case "audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg":
		return "audio", 16 << 20
	case "video/mp4", "video/3gpp":
		return "video", 16 << 20
	case "text/plain", "application/pdf", "application/vnd.ms-powerpoint", "application/msword",
		"application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"application/vnd.openxmlformats-officedocument.presentationml.presentation",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
		return "document", 100 << 20
	}
	return "", 0
}

// PruneMediaFiles deletes stored files that no media row names any more: after an erasure
// removed a contact's messages (the rows go with them, ON DELETE CASCADE), their files must not
// stay on disk. Files are shared by content, so a file goes only when nothing refers to it.
// It returns how many files it deleted.
func (s *Service) PruneMediaFiles(ctx context.Context) (int, error) {
	if s.Media == nil {
		return 0, nil
	}
	dir := s.Media.store.Dir
	subdirs, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("list media: %w", err)
	}
	n := 0
	for _, sub := range subdirs {
		if !sub.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, sub.Name()))
		if err != nil {
			return n, fmt.Errorf("list media: %w", err)
		}
		for _, f := range files {
			var used int
			if err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM media WHERE sha256 = ?`, f.Name()).Scan(&used); err != nil {
				return n, fmt.Errorf("media in use: %w", err)
			}
			if used > 0 || strings.HasPrefix(f.Name(), ".part-") {
				continue
			}
			if err := os.Remove(filepath.Join(dir, sub.Name(), f.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return n, fmt.Errorf("delete media: %w", err)
			}
			n++
		}
	}
	return n, nil
}
