// Package inbox is the shared inbox's domain: contacts, conversations (one per contact and
// business phone number), messages in both directions, assignment, escalation, the 24-hour
// customer service window, canned responses, search, and the webhook ingest that feeds them.
// It owns the tables of migrations/0009_inbox.sql and has no HTTP in it.
//
// # Access
//
// Every read and every change goes through one visibility predicate, visibilityClause, which
// is authz.Visibility.Allows written in SQL: the number scope, and for members with
// conversations.view_assigned only, the conversations assigned to them or that they escalated
// or replied to (conversation_participants). A conversation outside it is ErrNotFound, exactly
// like one that does not exist, in List, Counts, search, Get, Messages, Export, the sends and
// every change. TestVisibilityClauseMatchesAllows checks the SQL against Allows on random data.
//
// On top of visibility, each box and action needs a permission. The service checks them
// itself (the web layer's route guard is the first line, this the second); a missing
// permission is ErrForbidden and, for changes, an activity event with outcome "denied".
//
//	box / action        permission (any of)                         what it lists / does
//	mine                view_assigned, view_all                     open, assigned to me
//	unassigned          view_all, assign                            open, nobody assigned
//	escalated           assign, view_all                            open, escalated
//	all                 view_all, assign, view_assigned             open
//	closed              view_assigned, view_all                     closed
//	Counts              per box as above (-1: not allowed), unread  capped at CountCap
//	Get, Messages       (visibility only)
//	Assign              conversations.assign                        target: active, would see it
//	Escalate            conversations.escalate                      reason required
//	Close, Reopen       conversations.assign, or being the assignee
//	MarkRead            assign or any messages.send_*               otherwise a no-op
//	SendText            messages.send_text                          window open
//	SendCanned          messages.send_canned                        window open
//	SendMedia           messages.send_media                         window open
//	SendTemplate        messages.send_template                      any time
//	CannedResponses     messages.send_canned, canned_responses.manage
//	Create/Update/DeleteCanned   canned_responses.manage
//	Export              contacts.export                             masked without view_pii
//	RevealContact       contacts.view_pii                           recorded
//
// "all" is open to view_assigned as well: for such a member it lists what they are involved
// in, which includes conversations they escalated or replied to after someone else took them
// over, and no other box shows those. Escalations reach the members who hold
// conversations.assign within what they see: the Administrator and anyone with view_all see
// every escalation in their numbers; a member with assign but only view_assigned sees the
// escalations they are involved in. Assigning or closing a conversation deals with its
// escalation (the flag clears; reason, escalator and time stay).
//
// Members without contacts.view_pii see phone numbers as "+49 ••• •••• 1234" and display
// names that are (or contain) phone numbers masked alike (MaskPhone, MaskName, View, the
// Masked flag on Contact); they may search by name or by the last four digits, never by a
// longer number, and their exports are masked too.
//
// # Unread
//
// The unread count is the team's, one counter per conversation: a shared inbox is read by
// whoever works a conversation, and a counter keeps "unread" one small indexed count at 100k
// conversations, where per-member read markers would need a row per member and conversation
// and a join on every count. It is cleared when a member who may reply or assign opens the
// conversation (MarkRead) or replies; a read-only viewer reading along leaves it.
//
// # Sending
//
// The window is computed from last_inbound_at (Meta's timestamp of the customer's newest
// message) with the service clock, and free-form sends outside it are refused with
// ErrWindowClosed before Meta is called; Meta's 131047 maps to the same error. The outgoing
// row is committed as pending before the call, because status webhooks can overtake the
// call's answer; it then gets its wamid (and any status that arrived early) or Meta's error.
// The activity event of a send names the conversation, type, template and canned response,
// never the text, which is customer correspondence.
//
// # Ingest
//
// The webhook handler verifies the signature, parses the body and calls Ingester.Submit, which
// returns once the raw body (webhook_events) and its effects are committed; only then does
// Meta get its 200. Submissions that arrive together share one transaction and one fsync.
// ApplyEvents deduplicates inbound messages by wamid and statuses by (wamid, status), never
// moves a message's status backwards, and parks a status that overtakes its message until the
// message has that wamid. A body whose events fail to apply is kept with processed = 0 for
// Ingester.Reprocess and does not cost the other bodies of its batch.
package inbox
