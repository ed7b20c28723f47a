package simulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/switchboard/switchboard/internal/whatsapp"
)

// maxUpload is Meta's largest media file (a document).
const maxUpload = 100 << 20

// uploadMedia is POST /{phone-number-id}/media: a multipart form with messaging_product=whatsapp
// and the file, answered with the new media id, which GET /{media-id}, the download URL and
// message sends then know.
func (s *Simulator) uploadMedia(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.writeError(w, errInvalidValue("The file is larger than WhatsApp accepts."))
			return
		}
		s.writeError(w, errMissing("The request is not a multipart form with a file."))
		return
	}
	if r.FormValue("messaging_product") != "whatsapp" {
		s.writeError(w, errMissing("messaging_product must be whatsapp."))
		return
	}
	file, header, err := r.FormFile("file")
	if err != nil {
		s.writeError(w, errMissing("The parameter file is required."))
		return
	}
	defer file.Close()
	data, err := io.ReadAll(file)
	if err != nil {
		s.writeError(w, errInvalidValue("The file could not be read."))
		return
	}
	mimeType := header.Header.Get("Content-Type")
	if t := r.FormValue("type"); t != "" {
		mimeType = t
	}
	if _, _, err := mime.ParseMediaType(mimeType); err != nil || len(data) == 0 {
		s.writeError(w, errInvalidValue("The file's type is missing or the file is empty."))
		return
	}
	writeJSON(w, http.StatusOK, whatsapp.UploadResult{ID: s.AddMedia(mimeType, data)})
}

// Uploaded returns the content and type of a media id (uploaded or added), for tests.
func (s *Simulator) Uploaded(id string) ([]byte, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	md, ok := s.media[id]
	if !ok {
		return nil, "", false
	}
	return append([]byte(nil), md.data...), md.mimeType, true
}

// CustomerSendsMedia plays a customer sending a file: kind is image, video, audio, document or
// sticker. The file is served like Meta's (GET /{media-id}, then the URL with the token).
func (s *Simulator) CustomerSendsMedia(ctx context.Context, phoneNumberID, from, name, kind, mimeType string, data []byte, caption, fileName string) (string, error) {
	md := &whatsapp.Media{ID: s.AddMedia(mimeType, data), MimeType: mimeType, SHA256: "", Caption: caption, Filename: fileName}
	m := whatsapp.Message{Type: kind}
	switch kind {
	case whatsapp.TypeImage:
		m.Image = md
	case whatsapp.TypeVideo:
		m.Video = md
	case whatsapp.TypeAudio:
		md.Caption = ""
		m.Audio = md
	case whatsapp.TypeDocument:
		m.Document = md
	case whatsapp.TypeSticker:
		md.Caption = ""
		m.Sticker = md
	default:
		return "", fmt.Errorf("simulator: %q is not a media type", kind)
	}
	return s.CustomerSends(ctx, phoneNumberID, from, name, m)
}

// CustomerEdits plays a customer editing an earlier message (WhatsApp Business app
// coexistence): the edit webhook carries the new text and names the original.
func (s *Simulator) CustomerEdits(ctx context.Context, phoneNumberID, from, name, originalID, text string) (string, error) {
	return s.CustomerSends(ctx, phoneNumberID, from, name, whatsapp.Message{Type: whatsapp.TypeEdit,
		Edit: &whatsapp.Edit{OriginalMessageID: originalID, Message: &whatsapp.Message{Type: whatsapp.TypeText,
			Context: &whatsapp.MessageContext{ID: originalID}, Text: &whatsapp.Text{Body: text}}}})
}

// CustomerRevokes plays a customer deleting an earlier message for everyone.
func (s *Simulator) CustomerRevokes(ctx context.Context, phoneNumberID, from, name, originalID string) (string, error) {
	return s.CustomerSends(ctx, phoneNumberID, from, name, whatsapp.Message{Type: whatsapp.TypeRevoke,
		Revoke: &whatsapp.Revoke{OriginalMessageID: originalID}})
}

// CustomerReacts plays a customer reacting to a message with emoji; "" removes the reaction.
func (s *Simulator) CustomerReacts(ctx context.Context, phoneNumberID, from, name, messageID, emoji string) (string, error) {
	return s.CustomerSends(ctx, phoneNumberID, from, name, whatsapp.Message{Type: whatsapp.TypeReaction,
		Reaction: &whatsapp.Reaction{MessageID: messageID, Emoji: emoji}})
}

// CustomerChangesNumber posts WhatsApp's user_changed_number system notice.
func (s *Simulator) CustomerChangesNumber(ctx context.Context, phoneNumberID, from, newWaID string) (string, error) {
	return s.CustomerSends(ctx, phoneNumberID, from, "", whatsapp.Message{Type: whatsapp.TypeSystem,
		System: &whatsapp.System{Body: "User changed from " + from + " to " + newWaID, NewWaID: newWaID, Type: "user_changed_number"}})
}

// PhoneNumberQualityChanges posts a phone_number_quality_update for a business number (event
// FLAGGED, UNFLAGGED, UPGRADE, DOWNGRADE) with its new messaging limit.
func (s *Simulator) PhoneNumberQualityChanges(ctx context.Context, phoneNumberID, event, limit string) error {
	ph, err := s.phone(phoneNumberID)
	if err != nil {
		return err
	}
	return s.post(ctx, ph.wabaID, whatsapp.Change{Field: whatsapp.FieldPhoneNumberQuality, PhoneNumberQuality: &whatsapp.PhoneNumberQualityUpdate{
		DisplayPhoneNumber: digitsOnly(ph.info.DisplayPhoneNumber), Event: event, CurrentLimit: whatsapp.FlexString(limit)}})
}

// PhoneNumberNameDecided posts Meta's decision on a requested display name.
func (s *Simulator) PhoneNumberNameDecided(ctx context.Context, phoneNumberID, decision, name, reason string) error {
	ph, err := s.phone(phoneNumberID)
	if err != nil {
		return err
	}
	if decision == "APPROVED" {
		s.mu.Lock()
		ph.info.VerifiedName = name
		s.mu.Unlock()
	}
	return s.post(ctx, ph.wabaID, whatsapp.Change{Field: whatsapp.FieldPhoneNumberName, PhoneNumberName: &whatsapp.PhoneNumberNameUpdate{
		DisplayPhoneNumber: digitsOnly(ph.info.DisplayPhoneNumber), Decision: decision, RequestedVerifiedName: name, RejectionReason: reason}})
}

// AccountUpdates posts an account_update for a WABA (verified, banned, restricted…).
func (s *Simulator) AccountUpdates(ctx context.Context, wabaID string, u whatsapp.AccountUpdate) error {
	return s.post(ctx, wabaID, whatsapp.Change{Field: whatsapp.FieldAccountUpdate, AccountUpdate: &u})
}

func (s *Simulator) phone(id string) (*phone, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ph, ok := s.phones[id]
	if !ok {
		return nil, fmt.Errorf("%w: phone number %s", ErrUnknown, id)
	}
	return ph, nil
}
