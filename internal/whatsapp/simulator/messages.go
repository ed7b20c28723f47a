package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/switchboard/switchboard/internal/whatsapp"
)

var bsuidRe = regexp.MustCompile(`^[A-Z]{2}(\.ENT)?\.[A-Za-z0-9]{1,128}$`)

func (s *Simulator) postMessage(w http.ResponseWriter, r *http.Request, ph *phone) {
	raw, apiErr := readBody(r)
	if apiErr != nil {
		s.writeError(w, apiErr)
		return
	}
	var msg whatsapp.OutgoingMessage
	if err := json.Unmarshal(raw, &msg); err != nil {
		s.writeError(w, errParam("Invalid parameter", "request body is not valid JSON for a message: "+err.Error()))
		return
	}
	if msg.MessagingProduct != "whatsapp" {
		s.writeError(w, errParam("The parameter messaging_product is required.", ""))
		return
	}
	if msg.Status != "" {
		s.markRead(w, ph, msg, raw)
		return
	}

	s.mu.Lock()
	rec := SentMessage{PhoneNumberID: ph.info.ID, Type: msg.Type, Message: msg, Raw: raw, At: s.clock.Now(), Status: "accepted"}
	apiErr = s.acceptLocked(ph, &msg, &rec)
	if apiErr == nil && len(s.failNext) > 0 {
		apiErr, s.failNext = s.failNext[0], s.failNext[1:]
	}
	if apiErr != nil {
		rec.Err = apiErr
	} else {
		rec.ID = newWamid()
		s.sentIndex[rec.ID] = len(s.sent)
	}
	s.sent = append(s.sent, rec)
	if rec.ID != "" {
		recCopy := rec
		s.publishLocked(notice{sent: &recCopy})
	}
	s.mu.Unlock()

	if apiErr != nil {
		s.writeError(w, apiErr)
		return
	}
	resp := whatsapp.SendResponse{MessagingProduct: "whatsapp",
		Contacts: []whatsapp.SendResponseContact{{Input: firstNonEmpty(msg.To, msg.Recipient)}},
		Messages: []whatsapp.SendResponseMessage{{ID: rec.ID}}}
	if bsuidRe.MatchString(rec.To) {
		resp.Contacts[0].UserID = rec.To
	} else {
		resp.Contacts[0].WaID = rec.To
	}
	if msg.Type == whatsapp.TypeTemplate {
		resp.Messages[0].MessageStatus = "accepted"
	}
	writeJSON(w, http.StatusOK, resp)
}

// acceptLocked applies Meta's rules to one send. It fills rec.To, rec.Text and
// rec.TemplateCategory as it goes.
func (s *Simulator) acceptLocked(ph *phone, msg *whatsapp.OutgoingMessage, rec *SentMessage) *whatsapp.APIError {
	switch {
	case msg.To != "":
		digits, ok := whatsapp.NormalizePhone(msg.To)
		if !ok {
			return errParam("Invalid parameter", fmt.Sprintf("Recipient phone number %q is not a valid WhatsApp phone number", msg.To))
		}
		rec.To = digits
	case msg.Recipient != "":
		if !bsuidRe.MatchString(msg.Recipient) {
			return errParam("Invalid parameter", fmt.Sprintf("Recipient %q is not a valid business-scoped user ID", msg.Recipient))
		}
		rec.To = msg.Recipient
	default:
		return errMissing("The parameter to is required.")
	}
	if msg.Type == "" && msg.Text != nil {
		// Meta's type defaults to text.
		msg.Type = whatsapp.TypeText
		rec.Type = msg.Type
	}
	key := customerKey{ph.info.ID, rec.To}
	needWindow := true
	switch msg.Type {
	case whatsapp.TypeText:
		if msg.Text == nil || strings.TrimSpace(msg.Text.Body) == "" {
			return errMissing("Parameter 'text.body' is required.")
		}
		if utf8.RuneCountInString(msg.Text.Body) > whatsapp.MaxTextBody {
			return errParam("Param text['body'] must be at most 4096 characters long.", "")
		}
		rec.Text = msg.Text.Body
	case whatsapp.TypeImage, whatsapp.TypeVideo, whatsapp.TypeAudio, whatsapp.TypeDocument, whatsapp.TypeSticker:
		obj := map[string]*whatsapp.MediaObject{whatsapp.TypeImage: msg.Image, whatsapp.TypeVideo: msg.Video,
			whatsapp.TypeAudio: msg.Audio, whatsapp.TypeDocument: msg.Document, whatsapp.TypeSticker: msg.Sticker}[msg.Type]
		if obj == nil || (obj.Link == "" && obj.ID == "") {
			return errMissing(fmt.Sprintf("Parameter '%s.link' or '%s.id' is required.", msg.Type, msg.Type))
		}
		if obj.Link != "" && obj.ID != "" {
			return errInvalidValue("Media can be given by link or by id, not both.")
		}
		if obj.Link != "" {
			if u, err := url.Parse(obj.Link); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return errInvalidValue("Media link must be an http or https URL.")
			}
		} else if _, ok := s.media[obj.ID]; !ok {
			return errInvalidValue(fmt.Sprintf("Media ID %s does not exist.", obj.ID))
		}
		if utf8.RuneCountInString(obj.Caption) > whatsapp.MaxCaption {
			return errParam("Param "+msg.Type+"['caption'] must be at most 1024 characters long.", "")
		}
		rec.Text = firstNonEmpty(obj.Caption, "["+msg.Type+"]")
	case whatsapp.TypeInteractive:
		if msg.Interactive == nil {
			return errMissing("Parameter 'interactive' is required.")
		}
		if err := whatsapp.ValidateInteractive(*msg.Interactive); err != nil {
			var ve *whatsapp.ValidationError
			if errors.As(err, &ve) {
				return errInvalidValue(ve.Field + " " + ve.Problem)
			}
			return errInvalidValue(err.Error())
		}
		rec.Text = msg.Interactive.Body.Text
	case whatsapp.TypeTemplate:
		if msg.Template == nil {
			return errMissing("Parameter 'template' is required.")
		}
		tpl, apiErr := s.checkTemplateLocked(ph.wabaID, *msg.Template)
		if apiErr != nil {
			return apiErr
		}
		rec.Text = "template " + tpl.t.Name
		rec.TemplateCategory = tpl.t.Category
		// Approved templates are the one kind of message allowed outside the window.
		needWindow = false
	case whatsapp.TypeReaction, whatsapp.TypeLocation, whatsapp.TypeContacts:
		if (msg.Type == whatsapp.TypeReaction && msg.Reaction == nil) || (msg.Type == whatsapp.TypeLocation && msg.Location == nil) {
			return errMissing(fmt.Sprintf("Parameter '%s' is required.", msg.Type))
		}
		rec.Text = "[" + msg.Type + "]"
	default:
		return errParam("Param type must be one of {AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE, LOCATION, REACTION, STICKER, TEMPLATE, TEXT, VIDEO}", "")
	}
	if needWindow && !s.windowOpenLocked(key) {
		return errOutsideWindow()
	}
	return nil
}

func (s *Simulator) markRead(w http.ResponseWriter, ph *phone, msg whatsapp.OutgoingMessage, raw []byte) {
	if msg.Status != whatsapp.StatusRead {
		s.writeError(w, errParam("Invalid parameter", fmt.Sprintf("status %q is not supported", msg.Status)))
		return
	}
	s.mu.Lock()
	k, known := s.inbound[msg.MessageID]
	// An id the simulator never saw is still accepted if it looks like a wamid: a restarted demo
	// has forgotten the messages Switchboard kept, and the conversation page marks them read.
	ok := (known && k.phoneID == ph.info.ID) || (!known && strings.HasPrefix(msg.MessageID, "wamid."))
	rec := SentMessage{PhoneNumberID: ph.info.ID, To: k.customer, Type: whatsapp.StatusRead, Text: msg.MessageID,
		Message: msg, Raw: raw, At: s.clock.Now()}
	var apiErr *whatsapp.APIError
	if !ok {
		apiErr = errParam("Invalid parameter", fmt.Sprintf("Message %q was not received by this phone number.", msg.MessageID))
		rec.Err = apiErr
	}
	s.sent = append(s.sent, rec)
	s.mu.Unlock()
	if apiErr != nil {
		s.writeError(w, apiErr)
		return
	}
	writeJSON(w, http.StatusOK, whatsapp.SuccessResponse{Success: true})
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
