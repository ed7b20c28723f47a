package inbox

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/switchboard/switchboard/internal/authz"
)

// LabelChange names the labels to put on a conversation or contact and those to take off, by
// id: what an integration sends in one request.
type LabelChange struct {
	Add    []int64
	Remove []int64
}

// check refuses a change naming no label, an unknown label or one both added and removed,
// naming the field (add[1], remove[0]) so nothing is half done.
func (s *Service) checkLabelChange(ctx context.Context, ch LabelChange) error {
	if len(ch.Add)+len(ch.Remove) == 0 {
		return fieldError("add", "Name at least one label to add or remove.")
	}
	fe := FieldErrors{}
	for _, part := range []struct {
		name string
		ids  []int64
	}{{"add", ch.Add}, {"remove", ch.Remove}} {
		for i, id := range part.ids {
			field := fmt.Sprintf("%s[%d]", part.name, i)
			if part.name == "remove" && slices.Contains(ch.Add, id) {
				fe.Add(field, "This label is in add too: add it or remove it.")
				continue
			}
			if _, err := labelByID(ctx, s.db.R, id); errors.Is(err, ErrNotFound) {
				fe.Add(field, "No label has this id: list the labels to find it.")
			} else if err != nil {
				return err
			}
		}
	}
	if len(fe) > 0 {
		return fe
	}
	return nil
}

// ChangeConversationLabels adds and removes labels on a conversation p sees (ErrNotFound
// outside it), under LabelConversation's rule: its assignee, or a member who assigns. Each
// label that changes is recorded in the activity log; the conversation's labels are returned.
func (s *Service) ChangeConversationLabels(ctx context.Context, p *authz.Principal, convID int64, ch LabelChange) ([]Label, error) {
	if _, err := visibleConversation(ctx, s.db.R, p.Conversations(), convID); err != nil {
		return nil, err
	}
	if err := s.checkLabelChange(ctx, ch); err != nil {
		return nil, err
	}
	for _, op := range labelOps(ch) {
		// A refusal comes with the first label, before anything changed.
		if err := s.LabelConversation(ctx, p, convID, op.id, op.on); err != nil {
			return nil, err
		}
	}
	return s.ConversationLabels(ctx, p, convID)
}

// ChangeContactLabels adds and removes labels on a contact p sees through a conversation
// (ErrNotFound otherwise), under LabelContact's rule, and returns the contact's labels.
func (s *Service) ChangeContactLabels(ctx context.Context, p *authz.Principal, contactID int64, ch LabelChange) ([]Label, error) {
	if _, err := s.Contact(ctx, p, contactID); err != nil {
		return nil, err
	}
	if err := s.checkLabelChange(ctx, ch); err != nil {
		return nil, err
	}
	for _, op := range labelOps(ch) {
		if err := s.LabelContact(ctx, p, contactID, op.id, op.on); err != nil {
			return nil, err
		}
	}
	return s.ContactLabels(ctx, p, contactID)
}

// ContactLabels lists the labels on a contact p sees through a conversation.
func (s *Service) ContactLabels(ctx context.Context, p *authz.Principal, contactID int64) ([]Label, error) {
	_, labels, err := s.ContactLabelled(ctx, p, contactID)
	return labels, err
}

// ContactLabelled is Contact with the contact's labels, behind one visibility check.
func (s *Service) ContactLabelled(ctx context.Context, p *authz.Principal, contactID int64) (Contact, []Label, error) {
	c, err := s.Contact(ctx, p, contactID)
	if err != nil {
		return Contact{}, nil, err
	}
	byContact, err := contactLabelsOf(ctx, s.db.R, []int64{contactID})
	if err != nil {
		return Contact{}, nil, err
	}
	return c, byContact[contactID], nil
}

type labelOp struct {
	id int64
	on bool
}

func labelOps(ch LabelChange) []labelOp {
	ops := make([]labelOp, 0, len(ch.Add)+len(ch.Remove))
	for _, id := range ch.Add {
		ops = append(ops, labelOp{id, true})
	}
	for _, id := range ch.Remove {
		ops = append(ops, labelOp{id, false})
	}
	return ops
}
