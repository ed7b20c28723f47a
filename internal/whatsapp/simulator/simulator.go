// Package simulator is a local stand-in for Meta's WhatsApp Cloud API, for tests and for
// `switchboard serve --demo`. It answers on Meta's paths with Meta's JSON, so the real
// whatsapp.Client works against it unchanged, and it plays the customer by posting signed
// webhooks to Switchboard. It is never in the production path unless sandbox mode is chosen.
//
// What it enforces is what Switchboard must cope with: the bearer token (190), unknown ids
// (100), the 24-hour customer service window (131047), template existence, approval and
// parameter counts (132001, 132015, 132016, 132000), and Meta's interactive limits (131009).
// Time comes from the injected clock, so a test can move past the 24 hours.
package simulator

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Options configure a Simulator.
type Options struct {
	Clock clock.Clock // defaults to clock.System
	// AccessToken is the only bearer token accepted; a wrong or missing one gets code 190.
	AccessToken string
	// AppSecret signs outgoing webhooks (X-Hub-Signature-256) and checks appsecret_proof.
	AppSecret string
	// RequireAppSecretProof refuses calls without appsecret_proof, like the app setting
	// "Require app secret" does.
	RequireAppSecretProof bool
	WABAs                 []WABA
	// WebhookURL receives the signed webhooks; empty means none are sent (state still changes).
	WebhookURL string
	HTTPClient *http.Client // for webhook deliveries; defaults to a client with a 10 s timeout
	// WebhookAttempts bounds deliveries of one webhook (default 3); Meta retries any answer but
	// 200, so the simulator does too, briefly.
	WebhookAttempts int
	// WebhookBackoff is the wait before the first retry, doubled each time (default 200 ms).
	WebhookBackoff time.Duration

	// Progress, TalkBack and AutoApproveTemplates drive Run, for the demo.
	Progress             *Progress
	TalkBack             *TalkBack
	AutoApproveTemplates time.Duration // 0: templates stay PENDING until SetTemplateStatus

	Seed   uint64 // seeds the demo's random choices; 0 picks one
	Logger *slog.Logger
}

// WABA is a WhatsApp Business Account with its phone numbers and, optionally, templates that
// exist from the start (Status defaults to APPROVED, ID is generated when empty).
type WABA struct {
	ID           string
	Name         string
	PhoneNumbers []whatsapp.PhoneNumber
	Templates    []whatsapp.Template
}

// SentMessage is one POST /{phone-number-id}/messages the simulator received, accepted or not.
type SentMessage struct {
	ID            string // wamid; empty when refused
	PhoneNumberID string
	To            string // the customer: wa_id digits, or the business-scoped user id
	Type          string // the message type, or "read" for a mark-read request
	Text          string // a one-line summary: body, caption, "template order_confirmation", …
	Message       whatsapp.OutgoingMessage
	Raw           json.RawMessage
	At            time.Time
	// Status is the last status webhook sent for it ("accepted" until then).
	Status string
	// TemplateCategory is the approved template's category, for pricing.
	TemplateCategory string
	Err              *whatsapp.APIError // why it was refused
}

// ErrUnknown is returned by the test-facing methods for an id the simulator does not know.
var ErrUnknown = errors.New("simulator: unknown id")

// Simulator is the fake Cloud API. Its methods are safe for concurrent use.
type Simulator struct {
	opts   Options
	clock  clock.Clock
	client *http.Client
	log    *slog.Logger

	mu           sync.Mutex
	wabas        map[string]*waba
	phones       map[string]*phone
	templates    map[string]*template
	windows      map[customerKey]time.Time
	names        map[customerKey]string
	inbound      map[string]customerKey // inbound message id → who sent it to which number
	sent         []SentMessage
	sentIndex    map[string]int
	media        map[string]*media
	failNext     []*whatsapp.APIError
	tokenExpired bool
	subs         map[int]chan notice
	nextSub      int
	rng          *mrand.Rand
}

type waba struct {
	id, name  string
	phones    []string
	templates []string // ids, in creation order
}

type phone struct {
	info   whatsapp.PhoneNumber
	wabaID string
}

type template struct {
	t      whatsapp.Template
	wabaID string
	edits  []time.Time
}

type media struct {
	id, mimeType string
	data         []byte
}

// customerKey is one conversation: the window is per business number and customer.
type customerKey struct {
	phoneID  string
	customer string
}

// notice tells the demo loops what happened.
type notice struct {
	sent       *SentMessage
	templateID string
}

// New builds a simulator from opts.
func New(opts Options) *Simulator {
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.WebhookAttempts <= 0 {
		opts.WebhookAttempts = 3
	}
	if opts.WebhookBackoff <= 0 {
		opts.WebhookBackoff = 200 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	seed := opts.Seed
	if seed == 0 {
		seed = randomUint64()
	}
	s := &Simulator{
		opts: opts, clock: opts.Clock, client: opts.HTTPClient, log: opts.Logger,
		wabas: map[string]*waba{}, phones: map[string]*phone{}, templates: map[string]*template{},
		windows: map[customerKey]time.Time{}, names: map[customerKey]string{}, inbound: map[string]customerKey{},
		sentIndex: map[string]int{}, media: map[string]*media{}, subs: map[int]chan notice{},
		rng: mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	for _, w := range opts.WABAs {
		wb := &waba{id: w.ID, name: w.Name}
		s.wabas[w.ID] = wb
		for _, p := range w.PhoneNumbers {
			if p.QualityRating == "" {
				p.QualityRating = "GREEN"
			}
			if p.Status == "" {
				p.Status = "CONNECTED"
			}
			if p.MessagingLimit == "" {
				p.MessagingLimit = "TIER_250"
			}
			s.phones[p.ID] = &phone{info: p, wabaID: w.ID}
			wb.phones = append(wb.phones, p.ID)
		}
		for _, t := range w.Templates {
			if t.ID == "" {
				t.ID = newNumericID()
			}
			if t.Status == "" {
				t.Status = whatsapp.TemplateApproved
			}
			s.templates[t.ID] = &template{t: t, wabaID: w.ID}
			wb.templates = append(wb.templates, t.ID)
		}
	}
	return s
}

// Sent returns every message request received so far, in order.
func (s *Simulator) Sent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SentMessage(nil), s.sent...)
}

// Template returns a template by id.
func (s *Simulator) Template(id string) (whatsapp.Template, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.templates[id]
	if !ok {
		return whatsapp.Template{}, false
	}
	return t.t, true
}

// WindowOpen reports whether the business number may send free-form messages to customer now.
func (s *Simulator) WindowOpen(phoneNumberID, customer string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.windowOpenLocked(customerKey{phoneNumberID, customer})
}

func (s *Simulator) windowOpenLocked(k customerKey) bool {
	last, ok := s.windows[k]
	return ok && s.clock.Now().Sub(last) < whatsapp.CustomerServiceWindow
}

// ExpireToken makes the access token answer 190/463 (expired) from now on, as a user token
// does after a few hours.
func (s *Simulator) ExpireToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenExpired = true
}

// FailNext makes the next message request fail with e (e.g. 130429 throughput, 131000), for
// tests of error handling. Calls queue up.
func (s *Simulator) FailNext(e whatsapp.APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.HTTPStatus == 0 {
		e.HTTPStatus = http.StatusBadRequest
	}
	s.failNext = append(s.failNext, &e)
}

// AddMedia stores a media object that GET /{media-id} and its download URL will serve; use its
// id in an inbound image or document.
func (s *Simulator) AddMedia(mimeType string, data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := newNumericID()
	s.media[id] = &media{id: id, mimeType: mimeType, data: append([]byte(nil), data...)}
	return id
}

func (s *Simulator) subscribe() (<-chan notice, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextSub
	s.nextSub++
	ch := make(chan notice, 256)
	s.subs[id] = ch
	return ch, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs, id)
	}
}

// publishLocked never blocks: a demo loop that falls behind misses a notice rather than
// stalling the API.
func (s *Simulator) publishLocked(n notice) {
	for _, ch := range s.subs {
		select {
		case ch <- n:
		default:
			s.log.Warn("simulator: demo loop is behind; notice dropped")
		}
	}
}

func (s *Simulator) randIntn(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.IntN(n)
}

func randomUint64() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// newNumericID makes a 16-digit id like Meta's. Random rather than counted, so that ids from a
// restarted demo never collide with those already stored.
func newNumericID() string {
	return "1" + leftPad(randomUint64()%1_000_000_000_000_000, 15)
}

func leftPad(n uint64, width int) string {
	s := []byte(strings.Repeat("0", width))
	for i := width - 1; i >= 0 && n > 0; i-- {
		s[i] = byte('0' + n%10)
		n /= 10
	}
	return string(s)
}

// newWamid makes a message id shaped like Meta's ("wamid." and base64).
func newWamid() string {
	b := make([]byte, 30)
	_, _ = rand.Read(b)
	return "wamid.HBgL" + base64.StdEncoding.EncodeToString(b)
}

func newTraceID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "A" + base64.RawURLEncoding.EncodeToString(b)
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
