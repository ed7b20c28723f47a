// Package config turns flags and SWITCHBOARD_* environment variables into one validated Config.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// EnvPrefix starts the name of every environment variable that sets a flag: --data is
// SWITCHBOARD_DATA, --base-url is SWITCHBOARD_BASE_URL.
const EnvPrefix = "SWITCHBOARD_"

// Config is what the server needs to start.
type Config struct {
	Addr            string
	DataDir         string
	BaseURL         *url.URL
	Demo            bool
	LogLevel        string
	LogFormat       string
	TrustedProxies  []netip.Prefix
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	GraphURL        string
	// SMTP is the mail server; its zero value means none (links are shown to copy).
	SMTP SMTP
	// CampaignThroughput is messages per second per number for campaigns (Meta's default 80);
	// CampaignReconcileAfter is how long a send a crash left unconfirmed waits for its status
	// webhook before it is sent again (internal/campaigns).
	CampaignThroughput     float64
	CampaignReconcileAfter time.Duration
	// DebugAddr, when set, serves Go's profiler (net/http/pprof) on this loopback address.
	DebugAddr string
}

// DefaultGraphURL is Meta's Graph API.
const DefaultGraphURL = "https://graph.facebook.com"

// Common holds the flags every subcommand takes.
type Common struct {
	DataDir   string
	LogLevel  string
	LogFormat string
}

// RegisterCommon adds --data, --log-level and --log-format to fs.
func RegisterCommon(fs *flag.FlagSet, c *Common) {
	fs.StringVar(&c.DataDir, "data", "./data", "directory that holds the database and keys")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "text", "text or json")
}

// ServeFlags are the raw values of the serve command's flags.
type ServeFlags struct {
	Common
	Addr            string
	BaseURL         string
	Demo            bool
	TrustedProxies  string
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	GraphURL        string
	SMTPURL         string
	SMTPFrom        string

	CampaignThroughput     float64
	CampaignReconcileAfter time.Duration
	DebugAddr              string
}

// RegisterServe adds the serve command's flags to fs.
func RegisterServe(fs *flag.FlagSet, f *ServeFlags) {
	RegisterCommon(fs, &f.Common)
	fs.StringVar(&f.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&f.BaseURL, "base-url", "", "public URL of this instance (default http://ADDR); https turns on Secure cookies")
	fs.BoolVar(&f.Demo, "demo", false, "seed a demo workspace with one member per built-in role")
	fs.StringVar(&f.TrustedProxies, "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed")
	fs.DurationVar(&f.IdleTimeout, "idle-timeout", 30*time.Minute, "sign members out after this long without a request")
	fs.DurationVar(&f.AbsoluteTimeout, "absolute-timeout", 12*time.Hour, "sign members out this long after sign-in, active or not")
	fs.StringVar(&f.GraphURL, "graph-url", DefaultGraphURL, "base URL of Meta's Graph API (--demo uses the local simulator)")
	fs.StringVar(&f.SMTPURL, "smtp-url", "", "mail server: smtp://user:password@host:587?tls=starttls|tls|none (none: links are shown to copy)")
	fs.StringVar(&f.SMTPFrom, "smtp-from", "", "address mail is sent from, such as \"Switchboard <switchboard@example.com>\"")
	fs.Float64Var(&f.CampaignThroughput, "campaign-throughput", 80, "campaign messages per second per number (Meta's default throughput is 80)")
	fs.DurationVar(&f.CampaignReconcileAfter, "campaign-reconcile-after", 5*time.Minute,
		"how long a campaign send left unconfirmed by a crash waits for WhatsApp's status before it is sent again")
	fs.StringVar(&f.DebugAddr, "debug-addr", "", "loopback address (such as 127.0.0.1:6060) to serve Go's profiler on; off when empty")
}

// Parse parses args into fs, then fills every flag not given on the command line from its
// environment variable. Command-line flags win over the environment.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		name := EnvName(f.Name)
		if v := getenv(name); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, &EnvError{Variable: name, Err: err})
			}
		}
	})
	return errors.Join(errs...)
}

// EnvError is an environment variable whose value its flag does not accept.
type EnvError struct {
	Variable string
	Err      error
}

func (e *EnvError) Error() string { return e.Variable + ": " + e.Err.Error() }
func (e *EnvError) Unwrap() error { return e.Err }

// EnvName is the environment variable that sets the flag called name.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Serve validates the serve flags into a Config.
func Serve(f ServeFlags) (Config, error) {
	c := Config{
		Addr: f.Addr, DataDir: f.DataDir, Demo: f.Demo, LogLevel: f.LogLevel, LogFormat: f.LogFormat,
		IdleTimeout: f.IdleTimeout, AbsoluteTimeout: f.AbsoluteTimeout, GraphURL: strings.TrimRight(f.GraphURL, "/"),
		CampaignThroughput: f.CampaignThroughput, CampaignReconcileAfter: f.CampaignReconcileAfter, DebugAddr: f.DebugAddr,
	}
	if f.DebugAddr != "" {
		// The profiler shows memory and goroutines: never on an address others can reach.
		host, _, err := net.SplitHostPort(f.DebugAddr)
		ip, perr := netip.ParseAddr(host)
		if err != nil || perr != nil || !ip.IsLoopback() {
			return Config{}, fmt.Errorf("--debug-addr %q: want a loopback address and port, such as 127.0.0.1:6060", f.DebugAddr)
		}
	}
	if c.CampaignThroughput < 0 || c.CampaignThroughput > 1000 {
		return Config{}, fmt.Errorf("--campaign-throughput %v: want 1 to 1000 messages per second (Meta's range)", f.CampaignThroughput)
	}
	if c.GraphURL == "" {
		c.GraphURL = DefaultGraphURL
	}
	if g, err := url.Parse(c.GraphURL); err != nil || (g.Scheme != "http" && g.Scheme != "https") || g.Host == "" {
		return Config{}, fmt.Errorf("--graph-url %q: want http(s)://host", f.GraphURL)
	}
	if _, _, err := net.SplitHostPort(f.Addr); err != nil {
		return Config{}, fmt.Errorf("--addr %q: %w", f.Addr, err)
	}
	base := f.BaseURL
	if base == "" {
		host, port, _ := net.SplitHostPort(f.Addr)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		base = "http://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return Config{}, fmt.Errorf("--base-url %q: want an origin such as https://switchboard.example.com[:port], with no path", f.BaseURL)
	}
	c.BaseURL = u
	if c.SMTP, err = ParseSMTP(f.SMTPURL, f.SMTPFrom); err != nil {
		return Config{}, err
	}
	for _, s := range strings.Split(f.TrustedProxies, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Config{}, fmt.Errorf("--trusted-proxies: %w", err)
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	if f.IdleTimeout < time.Minute || f.AbsoluteTimeout < f.IdleTimeout {
		return Config{}, errors.New("--idle-timeout must be at least 1m and no longer than --absolute-timeout")
	}
	return c, nil
}

// Secure reports whether the instance is served over TLS, which turns on Secure cookies.
func (c Config) Secure() bool { return c.BaseURL != nil && c.BaseURL.Scheme == "https" }
