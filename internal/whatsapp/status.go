package whatsapp

import "time"

// Message statuses carried by status webhooks.
const (
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusFailed    = "failed"
	StatusPlayed    = "played" // voice messages, after read
)

// StatusRank orders statuses so that a message never moves backwards: Meta delivers statuses out
// of order and more than once, and `read` may arrive without `delivered` ("never move a message
// backwards (read > delivered > sent)").
//
// failed sits just above sent: a failure reported after `sent` is applied (the message did not
// arrive), but a late `failed` never overrides `delivered` or `read`, which prove the customer
// has it. Unknown statuses (and our own pre-webhook states such as "accepted") rank 0 and so
// never replace a known one.
func StatusRank(status string) int {
	switch status {
	case StatusSent:
		return 1
	case StatusFailed:
		return 2
	case StatusDelivered:
		return 3
	case StatusRead:
		return 4
	case StatusPlayed:
		return 5
	}
	return 0
}

// StatusAdvances reports whether a message now at current should take next. Equal ranks do not
// advance, which also makes a duplicated webhook a no-op.
func StatusAdvances(current, next string) bool {
	return StatusRank(next) > StatusRank(current)
}

// CustomerServiceWindow is how long a customer's message lets the business send free-form
// messages: 24 hours, restarted by each new message; outside it only approved templates
// (anything else fails with 131047).
const CustomerServiceWindow = 24 * time.Hour
