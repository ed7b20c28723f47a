package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/switchboard/switchboard/internal/config"
)

// SMTP delivers through a mail server with github.com/wneessen/go-mail.
type SMTP struct {
	cfg config.SMTP
	// TLS overrides the TLS settings (tests trust their own certificate authority); nil
	// verifies the server's certificate against the system's roots for cfg.Host.
	TLS *tls.Config
}

// NewSMTP returns a sender for cfg.
func NewSMTP(cfg config.SMTP) *SMTP { return &SMTP{cfg: cfg} }

// Open connects, secures the connection as configured and authenticates.
func (s *SMTP) Open(ctx context.Context) (Conn, error) {
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.cfg.Timeout)}
	switch s.cfg.TLS {
	case config.SMTPImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case config.SMTPNoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		// STARTTLS or nothing: a server that does not offer it gets no mail (and no password).
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.TLS != nil {
		opts = append(opts, gomail.WithTLSConfig(s.TLS))
	}
	if s.cfg.Username != "" {
		// The strongest mechanism both sides offer; PLAIN and LOGIN only over TLS.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return nil, err
	}
	dialCtx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := c.DialWithContext(dialCtx); err != nil {
		return nil, err
	}
	return &smtpConn{c: c, from: s.cfg.From.String()}, nil
}

type smtpConn struct {
	c    *gomail.Client
	from string
}

func (c *smtpConn) Send(_ context.Context, q Queued) error {
	m := gomail.NewMsg()
	if err := m.From(c.from); err != nil {
		return &PermanentError{Err: fmt.Errorf("from address: %w", err)}
	}
	if err := m.To(q.To); err != nil {
		return &PermanentError{Err: fmt.Errorf("recipient: %w", err)}
	}
	m.Subject(q.Subject)
	m.SetMessageIDWithValue(q.MessageID)
	m.SetDateWithValue(time.Now())
	// RFC 3834: an automatic message; out-of-office replies are not wanted.
	m.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	m.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	m.SetBodyString(gomail.TypeTextPlain, q.Text)
	if q.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, q.HTML)
	}
	err := c.c.Send(m)
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 &&
		(se.Reason == gomail.ErrSMTPRcptTo || se.Reason == gomail.ErrSMTPDataClose) {
		return &PermanentError{Err: err}
	}
	return err
}

func (c *smtpConn) Close() error { return c.c.Close() }
