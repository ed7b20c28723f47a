package inbox

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/db"
)

// Search rules.
//
//   - Words match words in contact names and usernames and in message text, all words
//     required, diacritics folded (FTS5). In names every word may be the start of one ("she
//     nel" finds Sheena Nelson); in messages the words typed before the last must be whole
//     and the last may be the start of one ("warranty rep" finds a warranty repair). A
//     one-letter query looks at names only.
//   - A query of only digits (and "+", spaces, dashes) of four digits also matches the last four
//     digits of the number; with contacts.view_pii a longer one matches the start of the number
//     (international form, "4915…" or "+49 15…").
//   - Without contacts.view_pii a query with five or more digits is refused: no search by full
//     number is offered to someone who is shown numbers masked. For the same reason such a
//     member's query with any digit does not look into names, which may be phone numbers.
//   - Matches come from the newest searchMessageCap matching messages and as many matching
//     contacts, which keeps a query for a common word or name bounded at millions of messages
//     (a broad query shows recent matches; a narrower one finds the rest).
const (
	maxSearchRunes   = 100
	searchMessageCap = 1000
	// maxMaskedDigits is the most digits a query may hold without contacts.view_pii.
	maxMaskedDigits = 4
	maxSearchWords  = 8
)

type search struct {
	match string // FTS5 query over names: every word as a quoted prefix
	text  string // FTS5 query over messages: words exact, the last one as a prefix
	// exact is text with every word exact, when text ends in a prefix. A prefix reads the
	// whole posting list of every word it expands to (measured at 1M messages: 11-12 ms for
	// "repair*" or "order*", against 0.8-1.6 ms for the exact words), so preferExact asks for
	// the prefix only when the exact words fill fewer than searchMessageCap matches: a complete
	// word that is common stays fast, and one being typed still finds its completions.
	exact    string
	messages bool // match message text too
	names    bool
	last4    string
	waPrefix string
}

// parseSearch reads the search box. ok is false for an empty query.
func parseSearch(q string, v View) (s search, ok bool, err error) {
	// A space after the last word says it is complete (read before trimming, which drops it).
	lastComplete := strings.HasSuffix(q, " ")
	q = strings.TrimSpace(q)
	if q == "" {
		return search{}, false, nil
	}
	if utf8.RuneCountInString(q) > maxSearchRunes {
		return search{}, false, fieldError("search", "Search for at most 100 characters.")
	}
	digitCount := 0
	for i := 0; i < len(q); i++ {
		if q[i] >= '0' && q[i] <= '9' {
			digitCount++
		}
	}
	if !v.PII && digitCount > maxMaskedDigits {
		return search{}, false, forbidden("Searching by phone number needs the permission to see customers' numbers (contacts.view_pii). Search by name, or by the last 4 digits.")
	}
	if digits, phone := phoneDigits(q); phone {
		if len(digits) == 4 {
			s.last4 = digits
		}
		if v.PII && len(digits) >= 5 {
			s.waPrefix = digits
		}
	}
	words := strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > maxSearchWords {
		words = words[:maxSearchWords]
	}
	// Quoted, so that FTS5 syntax in the box (AND, NEAR, ^, column filters) is just text. Names
	// are short and few, so every word may be a prefix there. In messages only the last word
	// is (the one being typed): a prefix query reads the whole posting list of every word it
	// expands to, where an exact word stops after the newest searchMessageCap matches.
	names := make([]string, len(words))
	text := make([]string, len(words))
	for i, w := range words {
		names[i] = `"` + w + `"*`
		text[i] = `"` + w + `"`
	}
	if len(text) > 0 && !lastComplete {
		s.exact = strings.Join(text, " ")
		text[len(text)-1] += "*"
	}
	s.match = strings.Join(names, " ")
	s.text = strings.Join(text, " ")
	s.names = s.match != "" && (v.PII || digitCount == 0)
	s.messages = s.match != "" && utf8.RuneCountInString(strings.Join(words, "")) >= 2
	return s, true, nil
}

// hits is a SELECT of the ids of conversations that match, or "" when nothing can.
func (s search) hits() (string, []any) {
	var (
		parts []string
		args  []any
	)
	if s.names {
		parts = append(parts, `SELECT c2.id FROM conversations c2 WHERE c2.contact_id IN
			(SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ? ORDER BY rowid DESC LIMIT ?)`)
		args = append(args, s.match, searchMessageCap)
	}
	if s.messages {
		parts = append(parts, `SELECT m.conversation_id FROM messages m WHERE m.id IN
			(SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT ?)`)
		args = append(args, s.text, searchMessageCap)
	}
	if s.last4 != "" {
		parts = append(parts, `SELECT c2.id FROM conversations c2 JOIN contacts ct2 ON ct2.id = c2.contact_id
			WHERE ct2.wa_id IS NOT NULL AND ct2.phone_last4 = ?`)
		args = append(args, s.last4)
	}
	if s.waPrefix != "" {
		// ':' follows '9': [prefix, prefix:) is every wa_id that starts with prefix.
		parts = append(parts, `SELECT c2.id FROM conversations c2 JOIN contacts ct2 ON ct2.id = c2.contact_id
			WHERE ct2.wa_id >= ? AND ct2.wa_id < ?`)
		args = append(args, s.waPrefix, s.waPrefix+":")
	}
	return strings.Join(parts, " UNION "), args
}

// preferExact searches the exact words instead of the prefix when they alone fill
// searchMessageCap matches (see search.exact). Counting them stops at the cap: under a
// millisecond at 1M messages.
func (s *search) preferExact(ctx context.Context, q db.Querier) error {
	if !s.messages || s.exact == "" {
		return nil
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? LIMIT ?)`,
		s.exact, searchMessageCap).Scan(&n); err != nil {
		return fmt.Errorf("search: %w", err)
	}
	if n >= searchMessageCap {
		s.text = s.exact
	}
	return nil
}

// defaultSearchLag is how long, while webhook bodies keep queuing, the Ingester may leave new
// messages out of the search index. FTS5 writes a segment, its structure record and the
// document sizes at every indexing: 4–5 pages, about a tenth of what a commit wrote at 1,000
// events/s (cmd/switchboard TestWebhookDiskFigures). Under load a batch therefore indexes only
// when the last indexing is this old, or when no body waits behind it; the last batch of any
// burst has none waiting, so once webhooks pause every message is searchable, and at a
// quieter pace every batch indexes its own messages at once, as before.
const defaultSearchLag = 250 * time.Millisecond

// searchIndexedWithin reports whether IndexSearch ran less than d ago.
func (s *Service) searchIndexedWithin(d time.Duration) bool {
	return time.Since(time.Unix(0, s.searchIndexed.Load())) < d
}

// IndexSearch adds the messages written since the last call to the search index, in one
// statement, inside the caller's write transaction q. ApplyEvents arranges it once per
// Ingester batch (at once outside one) and the send path runs it; call it only after writing
// messages some other way. It is idempotent and catches up on whatever was missed. (Why not a
// trigger: see migrations/0009_inbox.sql.)
func (s *Service) IndexSearch(ctx context.Context, q db.Querier) error {
	s.searchIndexed.Store(time.Now().UnixNano())
	_, err := execQ(ctx, q, `INSERT INTO messages_fts (rowid, text)
		SELECT id, text FROM messages
		WHERE id > (SELECT messages_indexed_to FROM inbox_search_state) AND text <> ''`)
	if err != nil {
		return fmt.Errorf("index messages for search: %w", err)
	}
	_, err = execQ(ctx, q, `UPDATE inbox_search_state
		SET messages_indexed_to = (SELECT coalesce(max(id), 0) FROM messages)
		WHERE messages_indexed_to < (SELECT coalesce(max(id), 0) FROM messages)`)
	if err != nil {
		return fmt.Errorf("index messages for search: %w", err)
	}
	return nil
}
