// Package inbox is the shared inbox's domain: contacts, conversations (one per contact and
// business phone number), messages in both directions, assignment, escalation, the 24-hour
// customer service window, canned responses, and the webhook ingest that feeds them.
//
// # Access
//
// Every read and every change goes through one visibility predicate, visibilityClause, which
// is authz.Visibility.Allows written in SQL: number scope, and for members with
// conversations.view_assigned only, the conversations assigned to them or that they escalated
// or replied to. A conversation outside it is ErrNotFound, exactly like one that does not
// exist, in lists, counts, search, single reads, message reads, sends and changes.
//
// On top of visibility, each box and action needs a permission (the service checks them itself;
// the web layer's route guard is the first line):
//
//	box / action           permission (any of)                          lists / does
//	mine                   view_assigned, view_all                      open, assigned to me
//	unassigned             view_all, assign                             open, nobody assigned
//	escalated              assign, view_all                             open, escalated
//	all                    view_all, assign, view_assigned              open
//	closed                 view_assigned, view_all                      closed
//	Counts                 (per box as above; -1 for a box not allowed) + unread
//	Get, Messages          (visibility only)
//	Assign                 conversations.assign                         target: active, sees it
//	Escalate               conversations.escalate                       reason required
//	Close, Reopen          conversations.assign, or being the assignee
//	MarkRead               any send permission or assign (else a no-op)
//	SendText               messages.send_text                           window open
//	SendCanned             messages.send_canned                         window open
//	SendMedia              messages.send_media                          window open
//	SendTemplate           messages.send_template                       any time
//	canned responses       list: send_canned or canned_responses.manage; change: manage
//
// "all" is open to view_assigned too: for such a member it lists what they are involved in,
// which includes conversations they escalated or replied to after someone else took them; no
// other box would show those. Escalations reach the members who hold conversations.assign
// within what they see (the Administrator and anyone with view_all; a member with assign but
// only view_assigned sees the escalations they are involved in).
//
// Members without contacts.view_pii see phone numbers as "+49 ••• •••• 1234" and display
// names that are phone numbers masked alike (MaskPhone, MaskName, View); they may search by
// name or the last four digits, never by a longer number.
//
// # Unread
//
// The unread count is the team's, one counter per conversation: a shared inbox is read by
// whoever works a conversation, and a counter keeps "unread" one indexed count at 100k
// conversations, where per-member read markers would need a row per member and conversation
// and a join on every count. It is cleared when a member who may reply or assign opens the
// conversation, or replies.
//
// # Ingest
//
// The webhook handler verifies the signature, parses the body and calls Ingester.Submit, which
// returns once the raw body (webhook_events) and its effects are committed; only then does
// Meta get its 200. Submissions that arrive together share one transaction and one fsync.
// ApplyEvents deduplicates inbound messages by wamid and statuses by (wamid, status), never
// moves a message's status backwards, and parks a status that overtakes its message.
package inbox
