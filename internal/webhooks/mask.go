package webhooks

import (
	"net/url"
	"strings"
)

// ShownURL is the endpoint's URL as pages, alerts and the activity log show it: a Slack
// incoming webhook carries its secret in the path (hooks.slack.com/services/T…/B…/SECRET), and
// whoever reads it can post to the channel, so only its last 4 characters are ever shown after
// the endpoint is created. Deliveries use URL itself.
func (e Endpoint) ShownURL() string { return MaskURL(e.URL, e.Format) }

// MaskURL shows raw with its secret tail hidden when it is a Slack-style URL (the Slack format,
// or a hooks.slack.com address): scheme, host and every path segment but the last are kept,
// the last becomes "…" and its last 4 characters; a query string and user information are
// dropped. Other URLs are shown as they are.
func MaskURL(raw, format string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if format == FormatSlack {
			return "…"
		}
		return raw
	}
	host := strings.ToLower(u.Hostname())
	if format != FormatSlack && host != "hooks.slack.com" && !strings.HasSuffix(host, ".hooks.slack.com") {
		return raw
	}
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	last := segs[len(segs)-1]
	tail := ""
	if r := []rune(last); len(r) > 8 {
		tail = string(r[len(r)-4:])
	}
	segs[len(segs)-1] = "…" + tail
	return u.Scheme + "://" + u.Host + "/" + strings.Join(segs, "/")
}
