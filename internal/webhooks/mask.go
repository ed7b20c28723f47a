package webhooks

import (
	"net/url"
	"strings"
)

// ShownURL is the endpoint's URL as pages, alerts and the activity log show it. Incoming
// webhooks of Slack, Zapier and Make carry their secret in the path
// (hooks.slack.com/services/T…/B…/SECRET, hooks.zapier.com/hooks/catch/ACCOUNT/SECRET/,
// hook.eu1.make.com/SECRET) and whoever reads it can post through it, so only the secret's last
// 4 characters are ever shown after the endpoint is created; other URLs lose their password and
// query string, where such tokens go. Deliveries use URL itself.
func (e Endpoint) ShownURL() string { return MaskURL(e.URL, e.Format) }

// MaskURL shows raw without its secrets. For a secret-path URL (the Slack format, or a Slack,
// Zapier or Make hook address) scheme, host and every path segment but the last are kept, and
// the last becomes "…" and its last 4 characters. Every URL loses user information, and its
// query string becomes "?…".
func MaskURL(raw, format string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if format == FormatSlack {
			return "…"
		}
		return raw
	}
	shown := u.Scheme + "://" + u.Host
	if format != FormatSlack && !secretPathHost(strings.ToLower(u.Hostname())) {
		shown += u.EscapedPath()
		if u.RawQuery != "" || u.ForceQuery {
			shown += "?…"
		}
		return shown
	}
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	last := segs[len(segs)-1]
	tail := ""
	if r := []rune(last); len(r) > 8 {
		tail = string(r[len(r)-4:])
	}
	segs[len(segs)-1] = "…" + tail
	return shown + "/" + strings.Join(segs, "/")
}

// secretPathHost reports whether host receives incoming webhooks whose path is the secret:
// Slack's, Zapier's and Make's (formerly Integromat).
func secretPathHost(host string) bool {
	switch {
	case host == "hooks.slack.com", strings.HasSuffix(host, ".hooks.slack.com"),
		host == "hooks.zapier.com",
		host == "hook.integromat.com", strings.HasPrefix(host, "hook.") && strings.HasSuffix(host, ".integromat.com"),
		host == "hook.make.com", strings.HasPrefix(host, "hook.") && strings.HasSuffix(host, ".make.com"):
		return true
	}
	return false
}
