package inbox

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/whatsapp"
)

// Upload is a file a member sends, as their browser gave it.
type Upload struct {
	FileName string
	MimeType string
	Data     []byte
	Caption  string
}

// AcceptedMedia lists the file types WhatsApp accepts, for the file picker's accept attribute.
const AcceptedMedia = "image/jpeg,image/png,video/mp4,video/3gpp,audio/aac,audio/amr,audio/mpeg,audio/mp4,audio/ogg," +
	"text/plain,application/pdf,application/msword,application/vnd.ms-excel,application/vnd.ms-powerpoint," +
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document," +
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet," +
	"application/vnd.openxmlformats-officedocument.presentationml.presentation"

// SendMediaFile sends a file: messages.send_media, inside the 24-hour window. Meta's type and
// size limits are checked before anything is uploaded; the file is kept (content-addressed, like
// received media) so the conversation shows what was sent, uploaded to Meta
// (POST /{phone-number-id}/media), and sent as a message naming the uploaded media id.
func (s *Service) SendMediaFile(ctx context.Context, p *authz.Principal, convID int64, up Upload) (Message, error) {
	if !p.Can(authz.MessagesSendMedia) {
		return Message{}, s.refuse(ctx, p, "message.sent", convID, forbidden("Sending files needs the permission “%s”.", authz.MessagesSendMedia.Label()))
	}
	kind, err := s.checkUpload(up)
	if err != nil {
		return Message{}, err
	}
	if s.Transport == nil || s.Media == nil {
		return Message{}, fmt.Errorf("inbox: media uploads are not configured")
	}
	// The window and visibility are checked again by send; checking them first keeps a file
	// that could not be sent from being uploaded at all.
	c, err := visibleConversation(ctx, s.db.R, p.Conversations(), convID)
	if err != nil {
		return Message{}, err
	}
	if !windowAt(c.LastInboundAt, s.now()).Open {
		return Message{}, ErrWindowClosed
	}
	sha, err := s.Media.store.Put(up.Data)
	if err != nil {
		return Message{}, err
	}
	name := cleanFileName(up.FileName)
	mediaID, err := s.Transport.UploadMedia(ctx, c.MetaNumberID, up.MimeType, name, up.Data)
	if err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrSendFailed, err)
	}
	m := whatsapp.MediaMessage{Type: kind, ID: mediaID, Caption: strings.TrimSpace(up.Caption)}
	if kind == whatsapp.TypeDocument {
		m.Filename = name
	}
	msg, sendErr := s.SendMedia(ctx, p, convID, m)
	if msg.ID == 0 {
		return msg, sendErr
	}
	// The file belongs to the message whether Meta took it or not: a failed message shows what
	// was tried.
	now := millis(s.now())
	if _, err := s.db.W.ExecContext(ctx, `INSERT INTO media (message_id, conversation_id, kind, meta_media_id, mime_type,
		file_name, sha256, size, state, attempts, created_at, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'stored', 0, ?, ?)`,
		msg.ID, convID, kind, mediaID, up.MimeType, name, sha, len(up.Data), now, now); err != nil {
		return msg, fmt.Errorf("record sent media: %w", err)
	}
	s.Live.Publish(convID)
	return msg, sendErr
}

// checkUpload applies Meta's rules for the file's type and size, and Switchboard's own cap.
func (s *Service) checkUpload(up Upload) (string, error) {
	if len(up.Data) == 0 {
		return "", fieldError("file", "Choose a file to send.")
	}
	kind, limit := mediaKindOf(up.MimeType)
	if kind == "" {
		return "", fieldError("file", "WhatsApp does not accept this kind of file. Send a JPEG or PNG image, an MP4 video, "+
			"AAC, MP3, M4A or OGG audio, or a PDF, Word, Excel, PowerPoint or text document.")
	}
	if max := s.Media.maxBytes(); limit > max {
		limit = max
	}
	if int64(len(up.Data)) > limit {
		return "", fieldError("file", fmt.Sprintf("WhatsApp accepts %s files up to %s; this one is %s.", kind, humanBytes(limit), humanBytes(int64(len(up.Data)))))
	}
	caption := strings.TrimSpace(up.Caption)
	switch {
	case kind == whatsapp.TypeAudio && caption != "":
		return "", fieldError("caption", "WhatsApp sends audio without a caption: leave it empty.")
	case utf8.RuneCountInString(caption) > whatsapp.MaxCaption:
		return "", fieldError("caption", fmt.Sprintf("Use at most %d characters.", whatsapp.MaxCaption))
	}
	return kind, nil
}

// humanBytes is a size as people read it: "5 MB", "812 KB".
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		if n%(1<<20) == 0 {
			return fmt.Sprintf("%d MB", n>>20)
		}
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
