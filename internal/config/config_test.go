package config

import (
	"flag"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func envOf(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func parseServe(t *testing.T, args []string, vars map[string]string) (ServeFlags, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f ServeFlags
	RegisterServe(fs, &f)
	err := Parse(fs, args, envOf(vars))
	return f, err
}

func TestEnvName(t *testing.T) {
	for flagName, want := range map[string]string{
		"data": "SWITCHBOARD_DATA", "base-url": "SWITCHBOARD_BASE_URL", "idle-timeout": "SWITCHBOARD_IDLE_TIMEOUT",
		"trusted-proxies": "SWITCHBOARD_TRUSTED_PROXIES",
	} {
		if got := EnvName(flagName); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", flagName, got, want)
		}
	}
}

func TestParseDefaultsWithoutFlagsOrEnvironment(t *testing.T) {
	f, err := parseServe(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Addr != "127.0.0.1:8080" || f.DataDir != "./data" || f.Demo || f.IdleTimeout != 30*time.Minute ||
		f.AbsoluteTimeout != 12*time.Hour || f.LogLevel != "info" || f.LogFormat != "text" {
		t.Errorf("defaults: %+v", f)
	}
}

func TestParseReadsTheEnvironmentForFlagsNotGiven(t *testing.T) {
	f, err := parseServe(t, nil, map[string]string{
		"SWITCHBOARD_DATA":                     "/srv/switchboard",
		"SWITCHBOARD_ADDR":                     "0.0.0.0:9000",
		"SWITCHBOARD_BASE_URL":                 "https://chat.example.com",
		"SWITCHBOARD_DEMO":                     "true",
		"SWITCHBOARD_TRUSTED_PROXIES":          "10.0.0.0/8",
		"SWITCHBOARD_IDLE_TIMEOUT":             "15m",
		"SWITCHBOARD_ABSOLUTE_TIMEOUT":         "8h",
		"SWITCHBOARD_LOG_LEVEL":                "debug",
		"SWITCHBOARD_LOG_FORMAT":               "json",
		"SWITCHBOARD_GRAPH_URL":                "http://127.0.0.1:9999",
		"SWITCHBOARD_CAMPAIGN_THROUGHPUT":      "250",
		"SWITCHBOARD_CAMPAIGN_RECONCILE_AFTER": "10m",
		"DATA":                                 "/not/this", // only the prefixed name counts
	})
	if err != nil {
		t.Fatal(err)
	}
	want := ServeFlags{
		Common: Common{DataDir: "/srv/switchboard", LogLevel: "debug", LogFormat: "json"},
		Addr:   "0.0.0.0:9000", BaseURL: "https://chat.example.com", Demo: true, TrustedProxies: "10.0.0.0/8",
		IdleTimeout: 15 * time.Minute, AbsoluteTimeout: 8 * time.Hour, GraphURL: "http://127.0.0.1:9999",
		CampaignThroughput: 250, CampaignReconcileAfter: 10 * time.Minute,
	}
	if f != want {
		t.Errorf("got  %+v\nwant %+v", f, want)
	}
}

func TestParseFlagWinsOverTheEnvironment(t *testing.T) {
	f, err := parseServe(t, []string{"--data", "/from/flag", "--idle-timeout=5m"}, map[string]string{
		"SWITCHBOARD_DATA":         "/from/env",
		"SWITCHBOARD_IDLE_TIMEOUT": "not a duration", // never read: the flag was given
		"SWITCHBOARD_ADDR":         "127.0.0.1:9999", // still read: no flag for it
	})
	if err != nil {
		t.Fatalf("an environment value for a flag given on the command line was parsed: %v", err)
	}
	if f.DataDir != "/from/flag" || f.IdleTimeout != 5*time.Minute {
		t.Errorf("flags lost to the environment: data %q, idle %v", f.DataDir, f.IdleTimeout)
	}
	if f.Addr != "127.0.0.1:9999" {
		t.Errorf("environment ignored for a flag not given: addr %q", f.Addr)
	}

	// A boolean flag given as false also wins over a true environment value.
	f, err = parseServe(t, []string{"--demo=false"}, map[string]string{"SWITCHBOARD_DEMO": "true"})
	if err != nil || f.Demo {
		t.Errorf("--demo=false with SWITCHBOARD_DEMO=true: demo %v, err %v", f.Demo, err)
	}
}

func TestParseBadEnvironmentValueNamesTheVariable(t *testing.T) {
	_, err := parseServe(t, nil, map[string]string{
		"SWITCHBOARD_IDLE_TIMEOUT": "thirty minutes",
		"SWITCHBOARD_DEMO":         "maybe",
	})
	if err == nil {
		t.Fatal("bad durations and booleans in the environment were accepted")
	}
	for _, name := range []string{"SWITCHBOARD_IDLE_TIMEOUT", "SWITCHBOARD_DEMO"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestParseUnknownFlagIsAnError(t *testing.T) {
	if _, err := parseServe(t, []string{"--dta", "/tmp"}, nil); err == nil {
		t.Error("a misspelt flag was accepted")
	}
}

func validFlags() ServeFlags {
	return ServeFlags{
		Common: Common{DataDir: "./data", LogLevel: "info", LogFormat: "text"},
		Addr:   "127.0.0.1:8080", IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 12 * time.Hour,
	}
}

func TestServeDefaultsTheBaseURLToTheAddress(t *testing.T) {
	c, err := Serve(validFlags())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.BaseURL.String(); got != "http://127.0.0.1:8080" {
		t.Errorf("base URL %q", got)
	}
	if c.Secure() {
		t.Error("plain http is treated as TLS")
	}
	if c.IdleTimeout != 30*time.Minute || c.AbsoluteTimeout != 12*time.Hour || c.DataDir != "./data" {
		t.Errorf("config %+v", c)
	}
}

func TestServeHTTPSBaseURLTurnsOnSecureCookies(t *testing.T) {
	f := validFlags()
	f.BaseURL = "https://chat.example.com/"
	c, err := Serve(f)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Secure() {
		t.Error("an https base URL does not turn on Secure")
	}
	if got := c.BaseURL.String(); got != "https://chat.example.com" {
		t.Errorf("base URL %q, want the trailing slash removed", got)
	}
	if (Config{}).Secure() {
		t.Error("a zero Config is Secure")
	}
}

func TestServeTakesALoopbackProfilerAddress(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060"} {
		f := validFlags()
		f.DebugAddr = addr
		c, err := Serve(f)
		if err != nil || c.DebugAddr != addr {
			t.Errorf("--debug-addr %s: %v, config %q", addr, err, c.DebugAddr)
		}
	}
}

func TestServeRefusesBadValues(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*ServeFlags)
		flag   string // the flag the error must name
	}{
		{"addr without port", func(f *ServeFlags) { f.Addr = "localhost" }, "--addr"},
		{"empty addr", func(f *ServeFlags) { f.Addr = "" }, "--addr"},
		{"base URL without scheme", func(f *ServeFlags) { f.BaseURL = "chat.example.com" }, "--base-url"},
		{"base URL with another scheme", func(f *ServeFlags) { f.BaseURL = "ftp://chat.example.com" }, "--base-url"},
		{"base URL without host", func(f *ServeFlags) { f.BaseURL = "https://" }, "--base-url"},
		{"base URL unparsable", func(f *ServeFlags) { f.BaseURL = "http://[::1" }, "--base-url"},
		{"proxy not a CIDR", func(f *ServeFlags) { f.TrustedProxies = "10.0.0.0/8, proxy.internal" }, "--trusted-proxies"},
		{"proxy prefix too long", func(f *ServeFlags) { f.TrustedProxies = "10.0.0.0/33" }, "--trusted-proxies"},
		{"idle longer than absolute", func(f *ServeFlags) { f.IdleTimeout, f.AbsoluteTimeout = 2*time.Hour, time.Hour }, "--idle-timeout"},
		{"idle under a minute", func(f *ServeFlags) { f.IdleTimeout = 30 * time.Second }, "--idle-timeout"},
		{"idle zero", func(f *ServeFlags) { f.IdleTimeout = 0 }, "--idle-timeout"},
		// The profiler shows memory and goroutines: never on an address others can reach.
		{"profiler on every interface", func(f *ServeFlags) { f.DebugAddr = ":6060" }, "--debug-addr"},
		{"profiler on a public address", func(f *ServeFlags) { f.DebugAddr = "192.0.2.10:6060" }, "--debug-addr"},
		{"profiler on a host name", func(f *ServeFlags) { f.DebugAddr = "localhost:6060" }, "--debug-addr"},
		{"profiler without port", func(f *ServeFlags) { f.DebugAddr = "127.0.0.1" }, "--debug-addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := validFlags()
			tc.change(&f)
			c, err := Serve(f)
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if !strings.Contains(err.Error(), tc.flag) {
				t.Errorf("error %q does not name %s", err, tc.flag)
			}
		})
	}
}

// A base URL is an origin: the server answers at the root of it (routes, the __Host- cookie on
// path /, the links it prints), so a path, query or credentials in it cannot be honoured and
// must be refused rather than printed into set-up links.
func TestServeRefusesABaseURLThatIsNotAnOrigin(t *testing.T) {
	for _, base := range []string{
		"https://example.com/switchboard",
		"https://example.com?x=1",
		"https://example.com#top",
		"https://admin:secret@example.com",
		"http://:8080",
	} {
		f := validFlags()
		f.BaseURL = base
		if c, err := Serve(f); err == nil {
			t.Errorf("--base-url %q accepted as %q", base, c.BaseURL)
		}
	}

	// Listening on every interface must not print set-up links such as http://:8080/setup.
	f := validFlags()
	f.Addr = ":8080"
	if c, err := Serve(f); err == nil && c.BaseURL.Hostname() == "" {
		t.Errorf("--addr :8080 without --base-url gives base URL %q, which has no host", c.BaseURL)
	}
}

func TestServeParsesTrustedProxies(t *testing.T) {
	f := validFlags()
	f.TrustedProxies = " 10.0.0.0/8 ,, 192.168.1.0/24,fd00::/8 "
	c, err := Serve(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("fd00::/8"),
	}
	if !slices.Equal(c.TrustedProxies, want) {
		t.Errorf("trusted proxies %v, want %v", c.TrustedProxies, want)
	}

	f.TrustedProxies = ""
	if c, err = Serve(f); err != nil || len(c.TrustedProxies) != 0 {
		t.Errorf("no proxies: %v, %v", c.TrustedProxies, err)
	}
}

func TestServeAcceptsEqualIdleAndAbsoluteTimeouts(t *testing.T) {
	f := validFlags()
	f.IdleTimeout, f.AbsoluteTimeout = time.Hour, time.Hour
	if _, err := Serve(f); err != nil {
		t.Errorf("idle = absolute refused: %v", err)
	}
}
