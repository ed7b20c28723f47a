package webhooks

import "testing"

func TestMaskURLHidesWebhookSecrets(t *testing.T) {
	for _, c := range []struct{ raw, format, want string }{
		{"https://hooks.slack.com/services/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", FormatSlack,
			"https://hooks.slack.com/services/T0123ABCD/B0456EFGH/…aBcD"},
		// A Slack address is masked whatever format was chosen; a query goes too.
		{"https://hooks.slack.com/services/T1/B2/abcdefghijkl?x=1", FormatStandard, "https://hooks.slack.com/services/T1/B2/…ijkl"},
		// A short tail is not shown at all (4 of 6 characters would give most of it away).
		{"https://hooks.slack.com/services/T1/B2/abcdef", FormatSlack, "https://hooks.slack.com/services/T1/B2/…"},
		{"http://127.0.0.1:8080/services/T1/B2/s3cr3tW3bh00kT0k3n", FormatSlack, "http://127.0.0.1:8080/services/T1/B2/…0k3n"},
		{"https://crm.example.com/hooks/switchboard", FormatStandard, "https://crm.example.com/hooks/switchboard"},
		// Zapier and Make keep the secret in the path too; a trailing slash does not show it.
		{"https://hooks.zapier.com/hooks/catch/1234567/3ab4cdef9/", FormatStandard, "https://hooks.zapier.com/hooks/catch/1234567/…def9"},
		{"https://hook.eu1.make.com/k3j5h6g7f8d9s0a1p2o3i4u5", FormatStandard, "https://hook.eu1.make.com/…i4u5"},
		{"https://hook.integromat.com/abcdefghijklmnop", FormatStandard, "https://hook.integromat.com/…mnop"},
		// Elsewhere a password and a query string (where tokens go) are not shown.
		{"https://bot:s3cret@crm.example.com/in?token=abc123&x=1", FormatStandard, "https://crm.example.com/in?…"},
		{"https://www.make.com/en/help", FormatStandard, "https://www.make.com/en/help"},
		{"https://user:pw@hooks.slack.com/services/T1/B2/abcdefghijkl", FormatSlack, "https://hooks.slack.com/services/T1/B2/…ijkl"},
	} {
		if got := MaskURL(c.raw, c.format); got != c.want {
			t.Errorf("MaskURL(%q, %s) = %q, want %q", c.raw, c.format, got, c.want)
		}
	}
}
