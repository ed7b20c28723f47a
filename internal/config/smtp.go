package config

import (
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TLS modes of an SMTP connection.
const (
	// SMTPStartTLS connects in plain text and upgrades with STARTTLS, refusing to go on when the
	// server does not offer it (submission, port 587).
	SMTPStartTLS = "starttls"
	// SMTPImplicitTLS speaks TLS from the first byte (SMTPS, port 465).
	SMTPImplicitTLS = "tls"
	// SMTPNoTLS never encrypts: only for a relay on the same machine or private network.
	SMTPNoTLS = "none"
)

// DefaultSMTPTimeout bounds connecting and each command of a delivery.
const DefaultSMTPTimeout = 15 * time.Second

// SMTP is where and how e-mail is delivered, parsed from --smtp-url and --smtp-from. The zero
// value (Host "") means no mail server: pages show links to copy instead.
type SMTP struct {
	Host     string
	Port     int
	TLS      string // SMTPStartTLS, SMTPImplicitTLS or SMTPNoTLS
	Username string
	Password string
	Timeout  time.Duration
	From     netmail.Address
}

// Enabled reports whether a mail server is configured.
func (s SMTP) Enabled() bool { return s.Host != "" }

// String is the URL without its password, for logs.
func (s SMTP) String() string {
	if !s.Enabled() {
		return "(none)"
	}
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), RawQuery: "tls=" + s.TLS}
	if s.Username != "" {
		u.User = url.UserPassword(s.Username, "xxxxx")
	}
	return u.String()
}

// ParseSMTP reads an SMTP URL and a from-address:
//
//	smtp://USER:PASSWORD@HOST[:PORT][?tls=starttls|tls|none][&timeout=15s]
//	smtps://USER:PASSWORD@HOST[:PORT]          (the same as ?tls=tls)
//
// tls defaults to starttls for smtp:// and tls for smtps://; the port to 587, 465 or 25 for
// starttls, tls and none. User and password are percent-encoded in the URL. An empty rawURL is
// no mail server. Credentials are refused over tls=none unless the host is a loopback address,
// because they would cross the network in clear text.
func ParseSMTP(rawURL, from string) (SMTP, error) {
	if strings.TrimSpace(rawURL) == "" {
		if strings.TrimSpace(from) != "" {
			return SMTP{}, errors.New("--smtp-from is set but --smtp-url is not: give both, or neither")
		}
		return SMTP{}, nil
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("--smtp-url: "+format+" (want smtp://user:password@host:587?tls=starttls|tls|none)", args...)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's message repeats the URL, password included: say what is wrong without it.
		return SMTP{}, bad("not a URL")
	}
	s := SMTP{Host: u.Hostname(), Timeout: DefaultSMTPTimeout}
	switch u.Scheme {
	case "smtp":
		s.TLS = SMTPStartTLS
	case "smtps":
		s.TLS = SMTPImplicitTLS
	default:
		return SMTP{}, bad("scheme %q", u.Scheme)
	}
	if s.Host == "" {
		return SMTP{}, bad("no host")
	}
	if u.Path != "" && u.Path != "/" {
		return SMTP{}, bad("unexpected path %q", u.Path)
	}
	q := u.Query()
	for k := range q {
		if k != "tls" && k != "timeout" {
			return SMTP{}, bad("unknown parameter %q", k)
		}
	}
	if t := q.Get("tls"); t != "" {
		switch t {
		case SMTPStartTLS, SMTPImplicitTLS, SMTPNoTLS:
			if u.Scheme == "smtps" && t != SMTPImplicitTLS {
				return SMTP{}, bad("smtps:// is implicit TLS, not tls=%s", t)
			}
			s.TLS = t
		default:
			return SMTP{}, bad("tls=%q", t)
		}
	}
	if t := q.Get("timeout"); t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d < time.Second || d > 5*time.Minute {
			return SMTP{}, bad("timeout=%q: give a duration between 1s and 5m", t)
		}
		s.Timeout = d
	}
	switch s.TLS {
	case SMTPStartTLS:
		s.Port = 587
	case SMTPImplicitTLS:
		s.Port = 465
	default:
		s.Port = 25
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return SMTP{}, bad("port %q", p)
		}
		s.Port = n
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	if s.Username != "" && s.TLS == SMTPNoTLS {
		if ip := net.ParseIP(s.Host); s.Host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return SMTP{}, bad("tls=none would send the password in clear text to %s; use starttls or tls", s.Host)
		}
	}
	if strings.TrimSpace(from) == "" {
		return SMTP{}, errors.New("--smtp-from: give the address mail is sent from, such as \"Switchboard <switchboard@example.com>\"")
	}
	a, err := netmail.ParseAddress(from)
	if err != nil {
		return SMTP{}, fmt.Errorf("--smtp-from %q: want an address such as \"Switchboard <switchboard@example.com>\"", from)
	}
	s.From = *a
	return s, nil
}
