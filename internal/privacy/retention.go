package privacy

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
)

// Job is a retention job.
type Job string

const (
	JobMessages Job = "messages"
	JobMedia    Job = "media"
	JobWebhooks Job = "webhooks"
	JobActivity Job = "activity"
)

// Jobs in the order the settings page shows them.
func Jobs() []Job { return []Job{JobMessages, JobMedia, JobWebhooks, JobActivity} }

// Label names the job for people.
func (j Job) Label() string {
	switch j {
	case JobMessages:
		return "Messages"
	case JobMedia:
		return "Media files"
	case JobWebhooks:
		return "Webhook bodies"
	case JobActivity:
		return "Activity log"
	}
	return string(j)
}

// Run is one run of a retention job.
type Run struct {
	Job        Job
	StartedAt  time.Time
	FinishedAt time.Time
	Cutoff     time.Time // zero: the job keeps everything
	Removed    int64
	Detail     string
	Error      string
}

// WebhookPruner deletes processed webhook bodies received before a time (inbox.Ingester's).
type WebhookPruner func(ctx context.Context, before time.Time) (int64, error)

// SetWebhookPruner is wired by the app to the ingester's pruning, so the rule for which bodies
// may go (processed ones only) stays with the inbox.
func (s *Service) SetWebhookPruner(p WebhookPruner) { s.pruneWebhooks = p }

// batch bounds the rows one retention transaction deletes, so that a first run over years of
// messages never holds the write lock for long.
const batch = 1000

// RunRetention runs every job once and records each run (and, when something was removed, a
// retention.ran activity event by the "retention" system actor).
func (s *Service) RunRetention(ctx context.Context) ([]Run, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	ctx = audit.WithActor(ctx, audit.SystemActor("retention"))
	var runs []Run
	for _, j := range Jobs() {
		r := Run{Job: j, StartedAt: s.clk.Now()}
		switch j {
		case JobMessages:
			r = s.runDays(ctx, r, st.MessagesDays, s.pruneMessages)
		case JobMedia:
			r = s.runDays(ctx, r, st.MediaDays, s.pruneMedia)
		case JobWebhooks:
			r = s.runDays(ctx, r, st.WebhookDays, func(ctx context.Context, cutoff time.Time) (int64, string, error) {
				if s.pruneWebhooks == nil {
					return 0, "", nil
				}
				n, err := s.pruneWebhooks(ctx, cutoff)
				return n, "processed bodies only; bodies kept for reprocessing stay", err
			})
		case JobActivity:
			res, err := s.audit.Prune(ctx)
			r.Removed, r.Cutoff = res.Deleted, res.Plan.Cutoff
			if err != nil {
				r.Error = err.Error()
			}
			if res.Deleted > 0 {
				r.Detail = "a checkpoint keeps the chain verifiable"
			}
		}
		r.FinishedAt = s.clk.Now()
		if err := s.recordRun(ctx, r); err != nil {
			return runs, err
		}
		runs = append(runs, r)
	}
	return runs, nil
}

func (s *Service) runDays(ctx context.Context, r Run, days int, prune func(context.Context, time.Time) (int64, string, error)) Run {
	if days == 0 {
		r.Detail = "kept forever"
		return r
	}
	r.Cutoff = s.clk.Now().Add(-time.Duration(days) * 24 * time.Hour)
	n, detail, err := prune(ctx, r.Cutoff)
	r.Removed, r.Detail = n, detail
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

func (s *Service) recordRun(ctx context.Context, r Run) error {
	var cutoff int64
	if !r.Cutoff.IsZero() {
		cutoff = r.Cutoff.UnixMilli()
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO retention_runs (job, started_at, finished_at, cutoff, removed, detail, error)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, string(r.Job), r.StartedAt.UnixMilli(), r.FinishedAt.UnixMilli(), cutoff, r.Removed, r.Detail, r.Error); err != nil {
			return fmt.Errorf("privacy: record retention run: %w", err)
		}
		// Keep the last 100 runs of each job.
		if _, err := tx.ExecContext(ctx, `DELETE FROM retention_runs WHERE job = ? AND id NOT IN
			(SELECT id FROM retention_runs WHERE job = ? ORDER BY id DESC LIMIT 100)`, string(r.Job), string(r.Job)); err != nil {
			return err
		}
		if r.Removed == 0 || r.Job == JobActivity { // the activity log records its own pruning
			return nil
		}
		_, err := s.audit.Append(ctx, tx, audit.Event{Action: "retention.ran", Target: audit.Target{Type: "retention", ID: string(r.Job)},
			Changes: []audit.Change{{Field: "removed", After: r.Removed}, {Field: "cutoff", After: r.Cutoff.UTC().Format(time.RFC3339)}}})
		return err
	})
}

// LastRuns returns each job's newest run (zero StartedAt: never ran).
func (s *Service) LastRuns(ctx context.Context) (map[Job]Run, error) {
	out := map[Job]Run{}
	for _, j := range Jobs() {
		var (
			r                        Run
			started, finished, cutof int64
		)
		err := s.db.R.QueryRowContext(ctx, `SELECT started_at, finished_at, cutoff, removed, detail, error FROM retention_runs
			WHERE job = ? ORDER BY id DESC LIMIT 1`, string(j)).Scan(&started, &finished, &cutof, &r.Removed, &r.Detail, &r.Error)
		if err == sql.ErrNoRows {
			out[j] = Run{Job: j}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("privacy: read retention runs: %w", err)
		}
		r.Job, r.StartedAt, r.FinishedAt = j, time.UnixMilli(started).UTC(), time.UnixMilli(finished).UTC()
		if cutof != 0 {
			r.Cutoff = time.UnixMilli(cutof).UTC()
		}
		out[j] = r
	}
	return out, nil
}

// pruneMessages deletes messages created before cutoff, with their statuses and media rows
// (their files go when nothing else uses them), in batches.
func (s *Service) pruneMessages(ctx context.Context, cutoff time.Time) (int64, string, error) {
	var total int64
	hasMedia, _ := tableExists(ctx, s.db.R, "media")
	for {
		var n int64
		var shas []string
		err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			sel := `SELECT id FROM messages WHERE created_at < ? ORDER BY id LIMIT ?`
			if hasMedia {
				rows, err := tx.QueryContext(ctx, `SELECT DISTINCT sha256 FROM media WHERE sha256 <> '' AND message_id IN (`+sel+`)`, cutoff.UnixMilli(), batch)
				if err != nil {
					return err
				}
				for rows.Next() {
					var sha string
					_ = rows.Scan(&sha)
					shas = append(shas, sha)
				}
				rows.Close()
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM message_statuses WHERE wamid IN (SELECT wamid FROM messages
				WHERE wamid IS NOT NULL AND id IN (`+sel+`))`, cutoff.UnixMilli(), batch); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE id IN (`+sel+`)`, cutoff.UnixMilli(), batch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, "", fmt.Errorf("privacy: prune messages: %w", err)
		}
		s.removeMediaFiles(ctx, shas)
		total += n
		if n < batch || ctx.Err() != nil {
			return total, "with their delivery statuses and media", ctx.Err()
		}
	}
}

// pruneMedia deletes media rows (and then unused files) of messages created before cutoff; the
// messages stay and show that their media are no longer kept.
func (s *Service) pruneMedia(ctx context.Context, cutoff time.Time) (int64, string, error) {
	if ok, _ := tableExists(ctx, s.db.R, "media"); !ok {
		return 0, "no media stored yet", nil
	}
	var total int64
	for {
		var n int64
		var shas []string
		err := s.db.Tx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT id, sha256 FROM media WHERE created_at < ? ORDER BY id LIMIT ?`, cutoff.UnixMilli(), batch)
			if err != nil {
				return err
			}
			var ids []int64
			for rows.Next() {
				var id int64
				var sha string
				_ = rows.Scan(&id, &sha)
				ids = append(ids, id)
				if sha != "" {
					shas = append(shas, sha)
				}
			}
			rows.Close()
			if len(ids) == 0 {
				return nil
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM media WHERE id IN (`+idList(ids)+`)`)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, "", fmt.Errorf("privacy: prune media: %w", err)
		}
		s.removeMediaFiles(ctx, shas)
		total += n
		if n < batch || ctx.Err() != nil {
			return total, "files no other message uses are deleted", ctx.Err()
		}
	}
}

func idList(list []int64) string { return ids(list) }

// RetentionEvery runs the retention jobs now and then every interval until ctx ends.
func (s *Service) RetentionEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.RunRetention(ctx); err != nil && ctx.Err() == nil {
			s.logger.ErrorContext(ctx, "privacy: retention", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
