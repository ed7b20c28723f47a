package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Template categories Meta accepts at creation.
const (
	CategoryMarketing      = "MARKETING"
	CategoryUtility        = "UTILITY"
	CategoryAuthentication = "AUTHENTICATION"
)

// Template statuses as Meta reports them.
const (
	TemplateApproved        = "APPROVED"
	TemplatePending         = "PENDING"
	TemplateRejected        = "REJECTED"
	TemplatePaused          = "PAUSED"
	TemplateDisabled        = "DISABLED"
	TemplateInAppeal        = "IN_APPEAL"
	TemplatePendingDeletion = "PENDING_DELETION"
	TemplateDeleted         = "DELETED"
	TemplateLimitExceeded   = "LIMIT_EXCEEDED"
	TemplateArchived        = "ARCHIVED"
	TemplateLocked          = "LOCKED"
)

// PhoneNumber is a business phone number of a WABA.
type PhoneNumber struct {
	ID                     string `json:"id"`
	DisplayPhoneNumber     string `json:"display_phone_number"`
	VerifiedName           string `json:"verified_name,omitempty"`
	QualityRating          string `json:"quality_rating,omitempty"` // GREEN, YELLOW, RED, UNKNOWN
	Status                 string `json:"status,omitempty"`         // CONNECTED, …
	CodeVerificationStatus string `json:"code_verification_status,omitempty"`
	NameStatus             string `json:"name_status,omitempty"`
	// MessagingLimit is whatsapp_business_manager_messaging_limit, e.g. "TIER_250"; the set
	// of values changes, so it stays an open string.
	MessagingLimit FlexString  `json:"whatsapp_business_manager_messaging_limit,omitempty"`
	Throughput     *Throughput `json:"throughput,omitempty"`
}

// Throughput is the number's messages-per-second level.
type Throughput struct {
	Level string `json:"level"`
}

const phoneNumberFields = "id,display_phone_number,verified_name,quality_rating,status," +
	"code_verification_status,name_status,throughput,whatsapp_business_manager_messaging_limit"

// ListPhoneNumbers returns every phone number of the WABA, following the cursors.
func (c *Client) ListPhoneNumbers(ctx context.Context, creds Credentials, wabaID string) ([]PhoneNumber, error) {
	if err := checkID("WABA id", wabaID); err != nil {
		return nil, err
	}
	q := url.Values{"fields": {phoneNumberFields}, "limit": {"100"}}
	return listAll[PhoneNumber](ctx, c, creds, wabaID+"/phone_numbers", q)
}

// TemplateDefinition is the body of POST /{waba-id}/message_templates.
type TemplateDefinition struct {
	Name                string              `json:"name"`
	Language            string              `json:"language"`
	Category            string              `json:"category"`
	ParameterFormat     string              `json:"parameter_format,omitempty"` // "positional" or "named"
	AllowCategoryChange bool                `json:"allow_category_change,omitempty"`
	Components          []TemplateComponent `json:"components"`
}

// TemplateComponent is one part of a template definition: HEADER, BODY, FOOTER or BUTTONS.
type TemplateComponent struct {
	Type    string           `json:"type"`
	Format  string           `json:"format,omitempty"` // HEADER: TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION
	Text    string           `json:"text,omitempty"`
	Example *TemplateExample `json:"example,omitempty"`
	Buttons []TemplateButton `json:"buttons,omitempty"`
}

// TemplateExample gives Meta's reviewers a sample for every parameter (required).
type TemplateExample struct {
	HeaderText            []string            `json:"header_text,omitempty"`
	HeaderTextNamedParams []NamedParamExample `json:"header_text_named_params,omitempty"`
	HeaderHandle          []string            `json:"header_handle,omitempty"`
	BodyText              [][]string          `json:"body_text,omitempty"`
	BodyTextNamedParams   []NamedParamExample `json:"body_text_named_params,omitempty"`
}

// NamedParamExample is the sample for one named parameter.
type NamedParamExample struct {
	ParamName string `json:"param_name"`
	Example   string `json:"example"`
}

// TemplateButton is one button of a BUTTONS component.
type TemplateButton struct {
	Type        string `json:"type"` // QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, OTP, FLOW
	Text        string `json:"text,omitempty"`
	URL         string `json:"url,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
	// Example is a list for URL buttons but a single string for COPY_CODE; both decode.
	Example StringList `json:"example,omitempty"`
}

// StringList is a list of strings that also accepts a single JSON string.
type StringList []string

// UnmarshalJSON accepts ["a","b"] or "a".
func (l *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = StringList{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*l = ss
	return nil
}

// TemplateCreated is the answer to a creation: the template id, PENDING, and the category
// Meta assigned (which may differ from the one asked for).
type TemplateCreated struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Category string `json:"category"`
}

// Template is a template as listed by Meta.
type Template struct {
	ID              string              `json:"id"`
	Name            string              `json:"name"`
	Language        string              `json:"language"`
	Status          string              `json:"status"`
	Category        string              `json:"category"`
	ParameterFormat string              `json:"parameter_format,omitempty"`
	Components      []TemplateComponent `json:"components,omitempty"`
	RejectedReason  string              `json:"rejected_reason,omitempty"`
	QualityScore    *QualityScore       `json:"quality_score,omitempty"`
}

// QualityScore is a template's quality rating.
type QualityScore struct {
	Score string `json:"score"`
}

// TemplateFilter narrows ListTemplates; empty fields do not filter.
type TemplateFilter struct {
	Name     string
	Status   string
	Category string
	Language string
}

const templateFields = "id,name,language,status,category,parameter_format,components,rejected_reason,quality_score"

// CreateTemplate submits a template for review. Deeper rules (parameters in sequence, examples
// for each) belong to the templates package; here only what would make the request malformed.
func (c *Client) CreateTemplate(ctx context.Context, creds Credentials, wabaID string, t TemplateDefinition) (TemplateCreated, error) {
	if err := checkID("WABA id", wabaID); err != nil {
		return TemplateCreated{}, err
	}
	if !templateNameRe.MatchString(t.Name) {
		return TemplateCreated{}, invalid("name", "%q must be 1–512 lower-case letters, digits or underscores", t.Name)
	}
	if !languageRe.MatchString(t.Language) {
		return TemplateCreated{}, invalid("language", "%q is not a language code", t.Language)
	}
	switch t.Category {
	case CategoryMarketing, CategoryUtility, CategoryAuthentication:
	default:
		return TemplateCreated{}, invalid("category", "%q is not MARKETING, UTILITY or AUTHENTICATION", t.Category)
	}
	if len(t.Components) == 0 {
		return TemplateCreated{}, invalid("components", "a template needs a BODY")
	}
	var out TemplateCreated
	if err := c.do(ctx, creds, http.MethodPost, wabaID+"/message_templates", nil, t, &out); err != nil {
		return TemplateCreated{}, err
	}
	return out, nil
}

// ListTemplates returns every template of the WABA that matches f, following the cursors.
func (c *Client) ListTemplates(ctx context.Context, creds Credentials, wabaID string, f TemplateFilter) ([]Template, error) {
	if err := checkID("WABA id", wabaID); err != nil {
		return nil, err
	}
	q := url.Values{"fields": {templateFields}, "limit": {"100"}}
	for k, v := range map[string]string{"name": f.Name, "status": f.Status, "category": f.Category, "language": f.Language} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return listAll[Template](ctx, c, creds, wabaID+"/message_templates", q)
}

// TemplateEdit replaces a template's components (whole, not merged) and optionally its
// category. Meta allows edits only of APPROVED, REJECTED or PAUSED templates, and approved ones
// once per 24 hours and 10 times per 30 days.
type TemplateEdit struct {
	Category   string              `json:"category,omitempty"`
	Components []TemplateComponent `json:"components,omitempty"`
}

// EditTemplate posts an edit to POST /{template-id}.
func (c *Client) EditTemplate(ctx context.Context, creds Credentials, templateID string, e TemplateEdit) error {
	if err := checkID("template id", templateID); err != nil {
		return err
	}
	if e.Category == "" && len(e.Components) == 0 {
		return invalid("template edit", "nothing to change")
	}
	return c.doSuccess(ctx, creds, http.MethodPost, templateID, nil, e)
}

// DeleteTemplate deletes a template by name: every language of it, or only the one whose id is
// hsmID when given.
func (c *Client) DeleteTemplate(ctx context.Context, creds Credentials, wabaID, name, hsmID string) error {
	if err := checkID("WABA id", wabaID); err != nil {
		return err
	}
	if !templateNameRe.MatchString(name) {
		return invalid("name", "%q is not a template name", name)
	}
	q := url.Values{"name": {name}}
	if hsmID != "" {
		if err := checkID("template id", hsmID); err != nil {
			return err
		}
		q.Set("hsm_id", hsmID)
	}
	return c.doSuccess(ctx, creds, http.MethodDelete, wabaID+"/message_templates", q, nil)
}

// MediaInfo describes an uploaded or received media object. URL expires after 5 minutes and
// needs the bearer token (DownloadMedia).
type MediaInfo struct {
	MessagingProduct string `json:"messaging_product,omitempty"`
	ID               string `json:"id"`
	URL              string `json:"url"`
	MimeType         string `json:"mime_type"`
	SHA256           string `json:"sha256"`
	FileSize         int64  `json:"file_size"`
}

// UnmarshalJSON accepts file_size as a number or a string, as Meta sends both.
func (m *MediaInfo) UnmarshalJSON(b []byte) error {
	var w struct {
		MessagingProduct string     `json:"messaging_product"`
		ID               string     `json:"id"`
		URL              string     `json:"url"`
		MimeType         string     `json:"mime_type"`
		SHA256           string     `json:"sha256"`
		FileSize         FlexString `json:"file_size"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*m = MediaInfo{MessagingProduct: w.MessagingProduct, ID: w.ID, URL: w.URL, MimeType: w.MimeType, SHA256: w.SHA256}
	if w.FileSize != "" {
		n, err := strconv.ParseInt(string(w.FileSize), 10, 64)
		if err != nil {
			return fmt.Errorf("file_size %q: %w", w.FileSize, err)
		}
		m.FileSize = n
	}
	return nil
}

// GetMedia looks up a media id (from an inbound image, document, …).
func (c *Client) GetMedia(ctx context.Context, creds Credentials, mediaID string) (MediaInfo, error) {
	if err := checkID("media id", mediaID); err != nil {
		return MediaInfo{}, err
	}
	var m MediaInfo
	if err := c.do(ctx, creds, http.MethodGet, mediaID, nil, nil, &m); err != nil {
		return MediaInfo{}, err
	}
	return m, nil
}

// DownloadMedia fetches the bytes behind a MediaInfo.URL (at most maxBytes). The URL must be
// https, or on the client's own base host (the simulator): the bearer token goes with the
// request, and it must not be handed to whatever host a response names.
func (c *Client) DownloadMedia(ctx context.Context, creds Credentials, mediaURL string, maxBytes int64) (data []byte, contentType string, err error) {
	if creds.Token == "" {
		return nil, "", ErrNoToken
	}
	u, err := url.Parse(mediaURL)
	if err != nil || u.Host == "" {
		return nil, "", invalid("media url", "is not an absolute URL")
	}
	base, _ := url.Parse(c.baseURL)
	if u.Scheme != "https" && (base == nil || !strings.EqualFold(u.Host, base.Host) || u.Scheme != base.Scheme) {
		return nil, "", invalid("media url", "must be https")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("whatsapp: download media: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+creds.Token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("whatsapp: download media: %w", err)
	}
	defer resp.Body.Close()
	data, err = io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("whatsapp: download media: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("whatsapp: download media: %w", parseAPIError(resp.StatusCode, data, resp.Header.Get("X-Fb-Trace-Id")))
	}
	if int64(len(data)) > maxBytes {
		return nil, "", fmt.Errorf("whatsapp: download media: larger than %d bytes", maxBytes)
	}
	return data, resp.Header.Get("Content-Type"), nil
}
