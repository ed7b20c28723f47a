package loadgen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Kind tells a message from a status.
type Kind uint8

// The kinds of event a body carries.
const (
	KindMessage Kind = iota + 1
	KindStatus
)

// Key names one event the way the server deduplicates it: an inbound message by its wamid, a
// status by wamid and status.
type Key struct {
	Kind   Kind
	WAMID  string
	Status string // KindStatus only
}

func (k Key) String() string {
	if k.Kind == KindStatus {
		return k.WAMID + "/" + k.Status
	}
	return k.WAMID
}

// Body is one webhook POST, signed as Meta signs it.
type Body struct {
	Raw       []byte
	Signature string // the X-Hub-Signature-256 value
	Events    []Key
	// Duplicate: Raw is byte for byte a body sent before, as Meta's retries are.
	Duplicate bool
}

// Workload makes the bodies of one worker. It is not safe for concurrent use: each worker has
// its own, seeded from Config.Seed and the worker's number, so a run is reproducible.
type Workload struct {
	cfg    *Config
	worker int
	rng    *rand.Rand
	now    func() time.Time
	seq    int
	// recent keeps the last bodies sent, the pool that duplicates are drawn from.
	recent []Body
	next   int
	// outgoing are messages "we sent" whose statuses are still to come (sent → delivered → read).
	outgoing []outgoing
}

type outgoing struct {
	wamid, to, number string
	step              int
}

const recentBodies = 1024

// NewWorkload returns worker's workload for cfg (normalized by New, or as given when used on
// its own in tests).
func NewWorkload(cfg Config, worker int) *Workload {
	c := cfg.withDefaults()
	return &Workload{cfg: &c, worker: worker, now: time.Now,
		rng: rand.New(rand.NewPCG(c.Seed, uint64(worker)+1))}
}

// Next returns the next body: a duplicate of an earlier one with probability Duplicates,
// otherwise a fresh inbound message or status body.
func (w *Workload) Next() Body {
	if len(w.recent) > 0 && w.rng.Float64() < w.cfg.Duplicates {
		b := w.recent[w.rng.IntN(len(w.recent))]
		b.Duplicate = true
		return b
	}
	var b Body
	if w.rng.Float64() < w.cfg.StatusShare {
		b = w.statusBody()
	} else {
		b = w.messageBody()
	}
	if len(w.recent) < recentBodies {
		w.recent = append(w.recent, b)
	} else {
		w.recent[w.next] = b
		w.next = (w.next + 1) % recentBodies
	}
	return b
}

// wamid makes an id that is unique per run, worker and body, and recognisable: a check finds
// a run's rows with the prefix WAMIDPrefix(runID).
func (w *Workload) wamid(kind byte) string {
	w.seq++
	return WAMIDPrefix(w.cfg.RunID) + string(kind) + strconv.Itoa(w.worker) + "." + strconv.Itoa(w.seq)
}

// WAMIDPrefix is how every wamid of a run begins. Real wamids are base64 after "wamid.HBgL";
// these keep the same opening so that nothing treats them as unusual.
func WAMIDPrefix(runID string) string { return "wamid.HBgL" + runID + "." }

func (w *Workload) number() Number { return w.cfg.Numbers[w.rng.IntN(len(w.cfg.Numbers))] }

// customer returns the wa_id and profile name of customer i. The pool is shared by all
// workers, so most messages land in conversations that exist already, as in a real inbox.
func customer(i int) (waID, name string) {
	first := firstNames[i%len(firstNames)]
	last := lastNames[(i/len(firstNames))%len(lastNames)]
	return fmt.Sprintf("4917%09d", i), first + " " + last
}

var (
	firstNames = []string{"Sheena", "Jonas", "Zoë", "Pablo", "Aiko", "Jürgen", "Fatima", "Liam", "Priya", "Chidi", "Mateo", "Ингрид"}
	lastNames  = []string{"Nelson", "Weber", "Müller", "García", "Tanaka", "Okafor", "Dubois", "Kowalski", "Rossi", "Ahmed", "O'Brien"}
	texts      = []string{
		"Hi! Do you deliver olive trees to Palo Alto?",
		"Is my order %d on its way?",
		"Hallo, meine Monstera hat gelbe Blätter. Was tun? 🌿",
		"Can I change the delivery address for order %d?",
		"Thanks, the plant arrived in perfect shape 😊",
		"¿Tienen macetas de 30 cm en stock?",
		"I'd like to return order %d, the pot is cracked.",
		"What are your opening hours on Saturday?",
	}
)

func (w *Workload) messageBody() Body {
	num := w.number()
	waID, name := customer(w.rng.IntN(w.cfg.Customers))
	text := texts[w.rng.IntN(len(texts))]
	if strings.Contains(text, "%d") {
		text = fmt.Sprintf(text, 100000+w.rng.IntN(900000))
	}
	id := w.wamid('i')
	value := &whatsapp.MessagesValue{MessagingProduct: "whatsapp", Metadata: num.metadata(),
		Contacts: []whatsapp.Contact{{Profile: whatsapp.Profile{Name: name}, WaID: waID}},
		Messages: []whatsapp.Message{{From: waID, ID: id, Timestamp: whatsapp.TimestampOf(w.now()),
			Type: whatsapp.TypeText, Text: &whatsapp.Text{Body: text}}}}
	return w.sign(value, []Key{{Kind: KindMessage, WAMID: id}})
}

var progression = []string{whatsapp.StatusSent, whatsapp.StatusDelivered, whatsapp.StatusRead}

func (w *Workload) statusBody() Body {
	n := w.cfg.StatusesPerBody
	var (
		statuses []whatsapp.Status
		keys     []Key
		num      Number
	)
	for i := range n {
		// Statuses of one POST belong to one business number, as Meta groups them.
		o := w.pickOutgoing(i == 0, num)
		num = Number{ID: o.number}
		for _, c := range w.cfg.Numbers {
			if c.ID == o.number {
				num = c
			}
		}
		st := whatsapp.Status{ID: o.wamid, Status: progression[o.step], Timestamp: whatsapp.TimestampOf(w.now()), RecipientID: o.to}
		if o.step == 1 && w.rng.IntN(50) == 0 {
			// Now and then a message cannot be delivered: 131026 comes only as a failed status.
			st.Status = whatsapp.StatusFailed
			st.Errors = []whatsapp.WebhookError{{Code: whatsapp.CodeUndeliverable, Title: "Message undeliverable",
				Message: "Message undeliverable", ErrorData: &whatsapp.ErrorData{Details: "Message Undeliverable."},
				Href: "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}}
			o.step = len(progression)
		} else {
			if o.step < 2 {
				// Pricing comes with sent and with one of delivered/read.
				st.Pricing = &whatsapp.Pricing{Billable: false, PricingModel: "PMP", Type: "free_customer_service", Category: "service"}
			}
			o.step++
		}
		statuses = append(statuses, st)
		keys = append(keys, Key{Kind: KindStatus, WAMID: st.ID, Status: st.Status})
	}
	value := &whatsapp.MessagesValue{MessagingProduct: "whatsapp", Metadata: num.metadata(), Statuses: statuses}
	return w.sign(value, keys)
}

// pickOutgoing returns a message with a status still to come, on number (any number when
// first), starting a new one when there are few or none, and drops finished ones.
func (w *Workload) pickOutgoing(first bool, number Number) *outgoing {
	keep := w.outgoing[:0]
	for _, o := range w.outgoing {
		if o.step < len(progression) {
			keep = append(keep, o)
		}
	}
	w.outgoing = keep
	var candidates []int
	for i, o := range w.outgoing {
		if first || o.number == number.ID {
			candidates = append(candidates, i)
		}
	}
	if len(candidates) == 0 || (len(w.outgoing) < 64 && w.rng.IntN(3) == 0) {
		if first {
			number = w.number()
		}
		to, _ := customer(w.rng.IntN(w.cfg.Customers))
		w.outgoing = append(w.outgoing, outgoing{wamid: w.wamid('o'), to: to, number: number.ID})
		return &w.outgoing[len(w.outgoing)-1]
	}
	return &w.outgoing[candidates[w.rng.IntN(len(candidates))]]
}

func (w *Workload) sign(value *whatsapp.MessagesValue, keys []Key) Body {
	raw, err := json.Marshal(whatsapp.Webhook{Object: whatsapp.ObjectWABA, Entry: []whatsapp.Entry{{ID: w.cfg.WABAID,
		Changes: []whatsapp.Change{{Field: whatsapp.FieldMessages, Messages: value}}}}})
	if err != nil {
		// The values are plain strings and numbers made above; failing to encode them is a bug.
		panic(fmt.Sprintf("loadgen: encode webhook: %v", err))
	}
	return Body{Raw: raw, Signature: whatsapp.Sign(w.cfg.AppSecret, raw), Events: keys}
}

// Number is a business phone number of the WABA under test.
type Number struct {
	ID string // Meta's phone_number_id
	// Display is the number as webhook metadata carries it: digits only.
	Display string
}

func (n Number) metadata() whatsapp.Metadata {
	return whatsapp.Metadata{DisplayPhoneNumber: n.Display, PhoneNumberID: n.ID}
}
