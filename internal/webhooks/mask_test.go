package webhooks

import "testing"

func TestMaskURLHidesASlackSecret(t *testing.T) {
	for _, c := range []struct{ raw, format, want string }{
		{"https://hooks.slack.com/services/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", FormatSlack,
			"https://hooks.slack.com/services/T0123ABCD/B0456EFGH/…aBcD"},
		// A Slack address is masked whatever format was chosen; a query goes too.
		{"https://hooks.slack.com/services/T1/B2/abcdefghijkl?x=1", FormatStandard, "https://hooks.slack.com/services/T1/B2/…ijkl"},
		// A short tail is not shown at all (4 of 6 characters would give most of it away).
		{"https://hooks.slack.com/services/T1/B2/abcdef", FormatSlack, "https://hooks.slack.com/services/T1/B2/…"},
		{"http://127.0.0.1:8080/services/T1/B2/s3cr3tW3bh00kT0k3n", FormatSlack, "http://127.0.0.1:8080/services/T1/B2/…0k3n"},
		{"https://crm.example.com/hooks/switchboard", FormatStandard, "https://crm.example.com/hooks/switchboard"},
		{"https://user:pw@hooks.slack.com/services/T1/B2/abcdefghijkl", FormatSlack, "https://hooks.slack.com/services/T1/B2/…ijkl"},
	} {
		if got := MaskURL(c.raw, c.format); got != c.want {
			t.Errorf("MaskURL(%q, %s) = %q, want %q", c.raw, c.format, got, c.want)
		}
	}
}
