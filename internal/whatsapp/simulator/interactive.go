package simulator

import (
	"context"
	"fmt"

	"github.com/switchboard/switchboard/internal/whatsapp"
)

// CustomerChooses plays the customer tapping a reply button or a list row of an interactive
// message the business sent them (messageID, a wamid from Sent), found by its title: the signed
// webhook carries Meta's button_reply or list_reply with the choice's id and title, quoting the
// message in its context, exactly as WhatsApp sends it.
func (s *Simulator) CustomerChooses(ctx context.Context, messageID, title string) (string, error) {
	s.mu.Lock()
	i, ok := s.sentIndex[messageID]
	var rec SentMessage
	if ok {
		rec = s.sent[i]
	}
	name := s.names[customerKey{rec.PhoneNumberID, rec.To}]
	s.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("%w: message %s", ErrUnknown, messageID)
	}
	in := rec.Message.Interactive
	if rec.Type != whatsapp.TypeInteractive || in == nil {
		return "", fmt.Errorf("simulator: message %s is not interactive", messageID)
	}
	reply := &whatsapp.InteractiveReply{}
	for _, b := range in.Action.Buttons {
		if b.Reply.Title == title {
			reply.Type, reply.ButtonReply = "button_reply", &whatsapp.ReplyChoice{ID: b.Reply.ID, Title: b.Reply.Title}
		}
	}
	for _, sec := range in.Action.Sections {
		for _, r := range sec.Rows {
			if r.Title == title {
				reply.Type, reply.ListReply = "list_reply", &whatsapp.ReplyChoice{ID: r.ID, Title: r.Title, Description: r.Description}
			}
		}
	}
	if reply.Type == "" {
		return "", fmt.Errorf("simulator: message %s offers no choice %q", messageID, title)
	}
	return s.CustomerSends(ctx, rec.PhoneNumberID, rec.To, name, whatsapp.Message{Type: whatsapp.TypeInteractive,
		Interactive: reply, Context: &whatsapp.MessageContext{ID: messageID}})
}
