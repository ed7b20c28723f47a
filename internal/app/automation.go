package app

import (
	"context"

	"github.com/switchboard/switchboard/internal/whatsapp"
)

// SendInteractive sends reply buttons or a list: automation's menus, button replies and rating
// requests (inbox.InteractiveSender).
func (s cloudSender) SendInteractive(ctx context.Context, phoneNumberID, to string, m whatsapp.InteractiveMessage) (string, error) {
	creds, err := s.workspace.CredentialsForNumber(ctx, phoneNumberID)
	if err != nil {
		return "", err
	}
	res, err := s.client.SendInteractive(ctx, creds, phoneNumberID, to, m)
	return res.MessageID, err
}
