package simulator

import (
	"context"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Progress is how the demo moves sent messages along: each field is the wait after the
// previous step (sent after acceptance, delivered after sent, read after delivered). A negative
// wait stops the progression before that step, e.g. Read: -1 leaves messages delivered.
type Progress struct {
	Sent, Delivered, Read time.Duration
}

// DefaultProgress is a pace that reads naturally in the demo.
func DefaultProgress() Progress {
	return Progress{Sent: 300 * time.Millisecond, Delivered: 1200 * time.Millisecond, Read: 4 * time.Second}
}

// TalkBack is the demo customer: some time after an agent writes, the customer answers with
// one of Replies, or taps one of the buttons or list rows the agent offered.
type TalkBack struct {
	Delay   time.Duration // before answering; up to half as much again is added at random
	Replies []string      // DefaultReplies when empty
}

// DefaultTalkBack answers after a few seconds.
func DefaultTalkBack() TalkBack { return TalkBack{Delay: 4 * time.Second} }

// DefaultReplies are friendly, generic customer answers.
func DefaultReplies() []string {
	return []string{
		"Thanks, that helps!",
		"Great, thank you 😊",
		"Perfect. When will it arrive?",
		"Ok, I'll wait for your update.",
		"Could you send me the tracking link?",
		"That works for me.",
		"Thanks for the quick answer!",
		"Can I change the delivery address?",
		"👍",
	}
}

// Run drives whatever Options enable (Progress, TalkBack, AutoApproveTemplates) until ctx is
// done, then returns nil once every timer it started has stopped.
func (s *Simulator) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if s.opts.Progress != nil {
		p := *s.opts.Progress
		wg.Go(func() { _ = s.AutoProgress(ctx, p) })
	}
	if s.opts.TalkBack != nil {
		tb := *s.opts.TalkBack
		wg.Go(func() { _ = s.CustomerTalksBack(ctx, tb) })
	}
	if d := s.opts.AutoApproveTemplates; d > 0 {
		wg.Go(func() { _ = s.AutoApprove(ctx, d) })
	}
	wg.Wait()
	return nil
}

// AutoProgress sends sent → delivered → read status webhooks for every message accepted from
// now on, paced by p, until ctx is done. It returns nil when stopped.
func (s *Simulator) AutoProgress(ctx context.Context, p Progress) error {
	return s.onNotice(ctx, func(ctx context.Context, n notice) {
		if n.sent == nil {
			return
		}
		id := n.sent.ID
		for _, step := range []struct {
			status string
			wait   time.Duration
		}{{whatsapp.StatusSent, p.Sent}, {whatsapp.StatusDelivered, p.Delivered}, {whatsapp.StatusRead, p.Read}} {
			if step.wait < 0 || !sleep(ctx, step.wait) {
				return
			}
			if err := s.Deliver(ctx, id, step.status); err != nil {
				s.log.Warn("simulator: auto-progress stopped", "message", id, "status", step.status, "err", err)
				return
			}
		}
	})
}

// CustomerTalksBack plays the customer (see TalkBack) until ctx is done. While an answer is
// pending for a conversation, further agent messages do not queue more, so a busy agent is not
// flooded.
func (s *Simulator) CustomerTalksBack(ctx context.Context, tb TalkBack) error {
	if len(tb.Replies) == 0 {
		tb.Replies = DefaultReplies()
	}
	var mu sync.Mutex
	pending := map[customerKey]bool{}
	return s.onNotice(ctx, func(ctx context.Context, n notice) {
		if n.sent == nil {
			return
		}
		sent := *n.sent
		key := customerKey{sent.PhoneNumberID, sent.To}
		mu.Lock()
		if pending[key] {
			mu.Unlock()
			return
		}
		pending[key] = true
		mu.Unlock()
		defer func() {
			mu.Lock()
			delete(pending, key)
			mu.Unlock()
		}()
		wait := tb.Delay
		if tb.Delay > 1 {
			wait += time.Duration(s.randIntn(int(tb.Delay/2) + 1))
		}
		if !sleep(ctx, wait) {
			return
		}
		s.mu.Lock()
		name := s.names[key]
		s.mu.Unlock()
		if name == "" {
			name = "Customer"
		}
		if _, err := s.CustomerSends(ctx, sent.PhoneNumberID, sent.To, name, s.answer(sent, tb.Replies)); err != nil {
			s.log.Warn("simulator: customer reply not delivered", "err", err)
		}
	})
}

// answer picks the customer's reply: a tap on one of the offered buttons or rows, quoting the
// interactive message as WhatsApp does, or else a text.
func (s *Simulator) answer(sent SentMessage, replies []string) whatsapp.Message {
	if in := sent.Message.Interactive; in != nil {
		ctx := &whatsapp.MessageContext{ID: sent.ID}
		switch {
		case len(in.Action.Buttons) > 0:
			b := in.Action.Buttons[s.randIntn(len(in.Action.Buttons))].Reply
			return whatsapp.Message{Type: whatsapp.TypeInteractive, Context: ctx, Interactive: &whatsapp.InteractiveReply{
				Type: "button_reply", ButtonReply: &whatsapp.ReplyChoice{ID: b.ID, Title: b.Title}}}
		case len(in.Action.Sections) > 0:
			var rows []whatsapp.ListRow
			for _, sec := range in.Action.Sections {
				rows = append(rows, sec.Rows...)
			}
			if len(rows) > 0 {
				r := rows[s.randIntn(len(rows))]
				return whatsapp.Message{Type: whatsapp.TypeInteractive, Context: ctx, Interactive: &whatsapp.InteractiveReply{
					Type: "list_reply", ListReply: &whatsapp.ReplyChoice{ID: r.ID, Title: r.Title, Description: r.Description}}}
			}
		}
	}
	return whatsapp.Message{Type: whatsapp.TypeText, Text: &whatsapp.Text{Body: replies[s.randIntn(len(replies))]}}
}

// AutoApprove approves every template created or edited from now on after d, as Meta's review
// would (in up to 24 hours), until ctx is done.
func (s *Simulator) AutoApprove(ctx context.Context, d time.Duration) error {
	return s.onNotice(ctx, func(ctx context.Context, n notice) {
		if n.templateID == "" || !sleep(ctx, d) {
			return
		}
		if t, ok := s.Template(n.templateID); !ok || t.Status != whatsapp.TemplatePending {
			return
		}
		if err := s.SetTemplateStatus(ctx, n.templateID, "APPROVED", ""); err != nil {
			s.log.Warn("simulator: auto-approve not delivered", "template", n.templateID, "err", err)
		}
	})
}

// onNotice runs handle in its own goroutine for each notice until ctx is done, then waits for
// those goroutines, so that a stopped loop leaves nothing running.
func (s *Simulator) onNotice(ctx context.Context, handle func(context.Context, notice)) error {
	ch, cancel := s.subscribe()
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-ch:
			wg.Go(func() { handle(ctx, n) })
		}
	}
}

// sleep waits d unless ctx ends first; it reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
