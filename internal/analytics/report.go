package analytics

import "time"

// Filter is what the viewer narrowed the page to. Zero values mean "all".
type Filter struct {
	NumberID int64
	MemberID int64
	Template string
	// LabelID narrows the conversation figures (opened, closed, first response, resolution) to
	// conversations that carry the label now. Message figures are not kept by label: see
	// LabelApplies.
	LabelID int64
}

// LabelApplies names the sections a label filter narrows; the others cover every conversation.
const LabelApplies = "conversations opened and closed, first response and resolution times (overall, per number and per agent)"

// Counts are outgoing messages by their current status, incoming messages and template replies.
type Counts struct {
	Inbound, Outbound                      int64
	Pending, Sent, Delivered, Read, Failed int64
	Replies                                int64
	// Clicks are quick-reply button presses answering a template message (analytics_messages
	// only: the number-hour table and the bars do not carry them).
	Clicks int64
}

// DeliveredOrRead is every outgoing message that reached the phone.
func (c Counts) DeliveredOrRead() int64 { return c.Delivered + c.Read }

// Ratio is part/whole in percent, or -1 when whole is 0.
func Ratio(part, whole int64) float64 {
	if whole == 0 {
		return -1
	}
	return 100 * float64(part) / float64(whole)
}

func (c *Counts) add(o Counts) {
	c.Inbound += o.Inbound
	c.Outbound += o.Outbound
	c.Pending += o.Pending
	c.Sent += o.Sent
	c.Delivered += o.Delivered
	c.Read += o.Read
	c.Failed += o.Failed
	c.Replies += o.Replies
	c.Clicks += o.Clicks
}

// Bar is one bar of the messages-over-time chart.
type Bar struct {
	Start time.Time // a whole UTC hour; shown in the viewer's zone
	Counts
}

// FailureRow is how many outgoing messages failed with one Meta error code.
type FailureRow struct {
	Code    int
	Meaning string
	N       int64
}

// NumberRow is the per-number part of the conversations and response figures.
type NumberRow struct {
	NumberID      int64
	Name          string
	Opened        int64
	Closed        int64
	FirstResponse Dist
	Resolution    Dist
}

// AgentRow is one member's work in the range, on the numbers the viewer sees.
type AgentRow struct {
	MemberID      int64
	Name          string
	Sent          int64 // messages sent
	Closed        int64 // conversations closed while assigned to them
	FirstResponse Dist
	Resolution    Dist
}

// TemplateRow is one template language's sends and what became of them, with its state at
// Meta. Language is "" for sends made before languages were kept whose name Meta has in
// several languages.
type TemplateRow struct {
	Name     string
	Language string
	Counts   Counts
	Status   string // Meta's status of its languages, e.g. "APPROVED"
	Quality  string
	Category string
}

// Report is every figure of the Analytics page for one period, filter and viewer.
type Report struct {
	Period Period
	Filter Filter

	Totals        Counts
	Bars          []Bar
	Failures      []FailureRow
	Numbers       []NumberRow
	FirstResponse Dist
	Resolution    Dist
	// Heat[w][h]: incoming messages on local weekday w (0 = Monday) at local hour h.
	Heat      [7][24]int64
	Agents    []AgentRow
	Templates []TemplateRow
	Opened    int64
	Closed    int64
}

// Option is a choice of a filter's drop-down.
type Option struct {
	ID   int64
	Name string
}

// Options are the filter choices the viewer has: only numbers in their scope, and only members
// and templates with figures on those numbers.
type Options struct {
	Numbers   []Option
	Members   []Option
	Templates []string
	Labels    []Option
}
