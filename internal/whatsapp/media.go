package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

// UploadResult is Meta's answer to a media upload.
type UploadResult struct {
	ID string `json:"id"`
}

// UploadMedia uploads a file for sending (POST /{phone-number-id}/media, multipart with
// messaging_product=whatsapp, type and file) and returns its media id, which Meta keeps for 30
// days. The caller checks Meta's type and size limits first.
func (c *Client) UploadMedia(ctx context.Context, creds Credentials, phoneNumberID, mimeType, fileName string, data []byte) (string, error) {
	if creds.Token == "" {
		return "", ErrNoToken
	}
	if err := checkID("phone number id", phoneNumberID); err != nil {
		return "", err
	}
	if !versionRe.MatchString(c.version) {
		return "", fmt.Errorf("whatsapp: version %q is not of the form v23.0", c.version)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("messaging_product", "whatsapp")
	_ = w.WriteField("type", mimeType)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, strings.ReplaceAll(fileName, `"`, "")))
	h.Set("Content-Type", mimeType)
	part, err := w.CreatePart(h)
	if err != nil {
		return "", fmt.Errorf("whatsapp: upload media: %w", err)
	}
	if _, err := part.Write(data); err != nil {
		return "", fmt.Errorf("whatsapp: upload media: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("whatsapp: upload media: %w", err)
	}
	u, err := url.Parse(c.baseURL + "/" + c.version + "/" + phoneNumberID + "/media")
	if err != nil {
		return "", fmt.Errorf("whatsapp: base URL: %w", err)
	}
	if creds.AppSecret != "" {
		u.RawQuery = url.Values{"appsecret_proof": {AppSecretProof(creds.Token, creds.AppSecret)}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), &body)
	if err != nil {
		return "", fmt.Errorf("whatsapp: upload media: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+creds.Token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("whatsapp: upload media: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return "", fmt.Errorf("whatsapp: upload media: read response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", fmt.Errorf("whatsapp: upload media: %w", parseAPIError(resp.StatusCode, raw, resp.Header.Get("X-Fb-Trace-Id")))
	}
	var out UploadResult
	if err := json.Unmarshal(raw, &out); err != nil || out.ID == "" {
		return "", fmt.Errorf("whatsapp: upload media: no media id in the answer")
	}
	return out.ID, nil
}
