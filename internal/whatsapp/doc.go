// Package whatsapp is Switchboard's wire layer for Meta's WhatsApp Business Platform (Cloud API):
// the webhook envelope and its payloads, signature and challenge verification, and one HTTP
// client for the Graph API calls Switchboard makes (sending, templates, phone numbers, media).
//
// The facts it follows are in shared/spec/whatsapp-cloud-api.md. Two of them shape the whole
// package. First, Meta's payloads change without notice (new fields, new message types, the 2026
// business-scoped user ids), so decoding is tolerant and every message and status keeps its raw
// JSON for the store. Second, Meta's errors are told apart by `code`, never by HTTP status, so
// every failed call becomes an *APIError with helpers that branch on the code.
//
// The package holds no state of its own and touches no database: credentials are passed on each
// call because they belong to a WhatsApp Business Account and live, encrypted, in storage.
package whatsapp
