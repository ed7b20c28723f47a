package privacy

import (
	"context"
	"fmt"
)

// Record is one line of the records of processing: a kind of data the workspace stores, about
// whom, where, why, and for how long, as the settings say now.
type Record struct {
	Data      string
	Subjects  string
	Where     string
	Purpose   string
	Retention string
}

func keep(days int, forever string) string {
	if days == 0 {
		return forever
	}
	if days == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", days)
}

// Records describes what the workspace stores, generated from the current settings, so the page
// an auditor prints never disagrees with what the retention jobs do.
func (s *Service) Records(ctx context.Context) ([]Record, Settings, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, Settings{}, err
	}
	db := "SQLite database " + s.db.Path
	return []Record{
		{"Customer profile: WhatsApp number, profile name, username, the team's name and custom fields", "Customers",
			db + " (contacts), search index (contacts_fts)", "Answering customers in the shared inbox",
			"Until the customer is erased (privacy requests)"},
		{"Marketing consent: status, source, time, the wording agreed to", "Customers", db + " (contact_consents)",
			"Proof of opt-in before marketing templates are sent", "Until the customer is erased"},
		{"Messages in both directions, their delivery status and Meta's raw message", "Customers, members who reply",
			db + " (messages, message_statuses), search index (messages_fts)", "The conversation history of the shared inbox",
			keep(st.MessagesDays, "Kept until erased (no retention set)")},
		{"Media files customers send and members attach", "Customers", "Files under " + s.mediaDir + ", listed in " + db + " (media)",
			"Showing media in conversations", keep(st.MediaDays, keep(st.MessagesDays, "Kept until erased (no retention set)"))},
		{"Internal notes about conversations", "Customers, members", db + " (conversation_notes)",
			"Team coordination, never sent to customers", "With their conversation, until the customer is erased"},
		{"Webhook bodies as Meta delivered them", "Customers", db + " (webhook_events)",
			"Reprocessing and investigating deliveries", keep(st.WebhookDays, "Kept forever") + " once processed; failed ones until reprocessed"},
		{"Activity log: who did what, when, from which address", "Members; customers by internal id only",
			db + " (audit_events), signed checkpoints in the data directory", "Accountability and security investigation",
			keep(st.ActivityDays, "Kept forever (no retention set)")},
		{"Member accounts: name, e-mail, password hash, 2FA secret (encrypted), sign-in addresses", "Members",
			db + " (members, sessions, member_sign_in_addresses)", "Signing in and access control", "Until the member is deleted"},
		{"E-mail outbox: recipient, subject; bodies sealed and erased once sent", "Members", db + " (mail_outbox)",
			"Invitations, password resets, security alerts", "Bodies erased once delivered"},
	}, st, nil
}
