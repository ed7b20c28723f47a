// Package mailtest runs a real SMTP server (github.com/emersion/go-smtp) in the test process, on
// a loopback port, and keeps what it receives: the mail tests deliver to it over the network as
// they would to a production server, with STARTTLS, implicit TLS and authentication.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLS modes, as in --smtp-url's tls parameter.
const (
	StartTLS = "starttls"
	Implicit = "tls"
	None     = "none"
)

// Options shape the server.
type Options struct {
	TLS      string // None when empty
	Username string // when set, AUTH PLAIN is required
	Password string
	// Hold, when it returns true for the n-th message (1-based, counting every DATA), keeps
	// that DATA unanswered until Release: a mail server that stalls, or the moment to kill.
	Hold func(n int) bool
}

// Received is one accepted message.
type Received struct {
	From, To  string
	MessageID string // without angle brackets
	Subject   string
	Text      string // the text/plain part
	HTML      string // the text/html part
	Raw       []byte
}

// Server is a running SMTP server.
type Server struct {
	t      testing.TB
	opts   Options
	srv    *smtp.Server
	addr   string
	caPool *x509.CertPool

	mu       sync.Mutex
	received []Received
	datas    int
	changed  chan struct{}
	held     chan struct{} // signalled when a DATA is held
	release  chan error
}

// Start runs a server until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.TLS == "" {
		opts.TLS = None
	}
	s := &Server{t: t, opts: opts, changed: make(chan struct{}), held: make(chan struct{}, 100), release: make(chan error)}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "mail.test"
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	s.srv.MaxMessageBytes = 10 << 20
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.TLS != None {
		cert, pool := selfSigned(t)
		s.caPool = pool
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if opts.TLS == Implicit {
			l = tls.NewListener(l, s.srv.TLSConfig)
		}
	}
	s.addr = l.Addr().String()
	go func() { _ = s.srv.Serve(l) }()
	t.Cleanup(func() {
		close(s.release)
		_ = s.srv.Close()
	})
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return s.addr }

// URL is the --smtp-url that reaches the server.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr, RawQuery: "tls=" + s.opts.TLS + "&timeout=5s"}
	if s.opts.Username != "" {
		u.User = url.UserPassword(s.opts.Username, s.opts.Password)
	}
	return u.String()
}

// ClientTLS trusts the server's certificate (nil without TLS).
func (s *Server) ClientTLS() *tls.Config {
	if s.caPool == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.caPool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// Messages returns what was accepted so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// WaitFor waits until at least n messages were accepted, and returns them.
func (s *Server) WaitFor(n int, timeout time.Duration) []Received {
	s.t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		got, ch := len(s.received), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Messages()
		}
		select {
		case <-ch:
		case <-deadline:
			s.t.Fatalf("mailtest: %d messages after %v, want %d", got, timeout, n)
		}
	}
}

// Held waits until a DATA is being held.
func (s *Server) Held(timeout time.Duration) {
	s.t.Helper()
	select {
	case <-s.held:
	case <-time.After(timeout):
		s.t.Fatalf("mailtest: no message held within %v", timeout)
	}
}

// Release answers one held DATA: accepted when err is nil, refused otherwise.
func (s *Server) Release(err error) { s.release <- err }

// NewSession implements smtp.Backend.
func (s *Server) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }

type session struct {
	s        *Server
	from     string
	to       []string
	authDone bool
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.opts.Username || password != ss.s.opts.Password {
			return errors.New("invalid credentials")
		}
		ss.authDone = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && !ss.authDone {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

// Rcpt refuses nobody@… for good (550), as a server refuses an unknown mailbox.
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "nobody@") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.s
	s.mu.Lock()
	s.datas++
	n := s.datas
	s.mu.Unlock()
	if s.opts.Hold != nil && s.opts.Hold(n) {
		s.held <- struct{}{}
		if err, ok := <-s.release; !ok || err != nil {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "not accepted"}
		}
	}
	rec, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
	}
	rec.From = ss.from
	rec.To = strings.Join(ss.to, ",")
	s.mu.Lock()
	s.received = append(s.received, rec)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// parse reads the headers and the text and HTML parts of a message.
func parse(raw []byte) (Received, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Received{}, err
	}
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	rec := Received{Raw: raw, Subject: subject,
		MessageID: strings.Trim(strings.TrimSpace(msg.Header.Get("Message-Id")), "<>")}
	if err := readParts(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, &rec); err != nil {
		return Received{}, err
	}
	return rec, nil
}

func readParts(contentType, encoding string, body io.Reader, rec *Received) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := readParts(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, rec); err != nil {
				return err
			}
		}
	}
	text, err := decodeBody(encoding, body)
	if err != nil {
		return err
	}
	switch mt {
	case "text/plain":
		rec.Text = text
	case "text/html":
		rec.HTML = text
	}
	return nil
}

func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailtest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}
