package app

import (
	"context"
	"fmt"

	"github.com/switchboard/switchboard/internal/whatsapp"
	"github.com/switchboard/switchboard/internal/workspace"
)

// cloudSender sends the inbox's messages through the Cloud API with the credentials of the
// WABA that owns the phone number.
type cloudSender struct {
	client    *whatsapp.Client
	workspace *workspace.Service
}

func (s cloudSender) SendText(ctx context.Context, phoneNumberID, to, body string) (string, error) {
	creds, err := s.workspace.CredentialsForNumber(ctx, phoneNumberID)
	if err != nil {
		return "", err
	}
	res, err := s.client.SendText(ctx, creds, phoneNumberID, to, body, "")
	return res.MessageID, err
}

func (s cloudSender) SendTemplate(ctx context.Context, phoneNumberID, to string, t whatsapp.TemplateMessage) (string, error) {
	creds, err := s.workspace.CredentialsForNumber(ctx, phoneNumberID)
	if err != nil {
		return "", err
	}
	res, err := s.client.SendTemplate(ctx, creds, phoneNumberID, to, t)
	return res.MessageID, err
}

func (s cloudSender) SendMedia(ctx context.Context, phoneNumberID, to string, m whatsapp.MediaMessage) (string, error) {
	creds, err := s.workspace.CredentialsForNumber(ctx, phoneNumberID)
	if err != nil {
		return "", err
	}
	res, err := s.client.SendMedia(ctx, creds, phoneNumberID, to, m)
	return res.MessageID, err
}

func (s cloudSender) MarkRead(ctx context.Context, phoneNumberID, wamid string) error {
	creds, err := s.workspace.CredentialsForNumber(ctx, phoneNumberID)
	if err != nil {
		return err
	}
	return s.client.MarkRead(ctx, creds, phoneNumberID, wamid)
}

// FetchMedia downloads an inbound file: GET /{media-id} for its short-lived URL, then the URL
// with the WABA's token.
func (s cloudSender) FetchMedia(ctx context.Context, phoneNumberID, mediaID string, maxBytes int64) ([]byte, string, error) {
	creds, err := s.workspace.CredentialsForNumber(ctx, phoneNumberID)
	if err != nil {
		return nil, "", err
	}
	info, err := s.client.GetMedia(ctx, creds, mediaID)
	if err != nil {
		return nil, "", err
	}
	if info.FileSize > maxBytes {
		return nil, "", fmt.Errorf("whatsapp: media %s is larger than %d bytes", mediaID, maxBytes)
	}
	data, contentType, err := s.client.DownloadMedia(ctx, creds, info.URL, maxBytes)
	if err != nil {
		return nil, "", err
	}
	if info.MimeType != "" {
		contentType = info.MimeType
	}
	return data, contentType, nil
}

// UploadMedia uploads a file to send from the number.
func (s cloudSender) UploadMedia(ctx context.Context, phoneNumberID, mimeType, fileName string, data []byte) (string, error) {
	creds, err := s.workspace.CredentialsForNumber(ctx, phoneNumberID)
	if err != nil {
		return "", err
	}
	return s.client.UploadMedia(ctx, creds, phoneNumberID, mimeType, fileName, data)
}

// SendTemplateTagged sends a template with biz_opaque_callback_data, which Meta echoes on the
// message's status webhooks (inbox.TaggedSender): campaigns use it to recognise a send whose
// answer was lost.
func (s cloudSender) SendTemplateTagged(ctx context.Context, phoneNumberID, to string, t whatsapp.TemplateMessage, callbackData string) (string, error) {
	creds, err := s.workspace.CredentialsForNumber(ctx, phoneNumberID)
	if err != nil {
		return "", err
	}
	if err := whatsapp.ValidateTemplateMessage(t); err != nil {
		return "", err
	}
	msg := whatsapp.OutgoingMessage{Type: whatsapp.TypeTemplate, Template: &t, BizOpaqueCallbackData: callbackData}
	if err := msg.SetRecipient(to); err != nil {
		return "", err
	}
	res, err := s.client.Send(ctx, creds, phoneNumberID, msg)
	return res.MessageID, err
}
