package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrNotLoopback refuses a target outside this machine: a load generator that signs bodies
// with a real app secret and sends thousands of them a second must never be pointed at
// someone else's server, by mistake or by a crafted URL.
var ErrNotLoopback = errors.New("loadgen: target is not a loopback address (127.0.0.0/8, ::1 or localhost)")

// CheckURL parses target and refuses it unless it is http(s) to 127.0.0.0/8, ::1 or localhost.
func CheckURL(target string) (*url.URL, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("loadgen: target %q: %w", target, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("loadgen: target %q: want http or https", target)
	}
	if u.User != nil {
		return nil, fmt.Errorf("loadgen: target %q: credentials in the URL are not supported", target)
	}
	if !loopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("%w: %q", ErrNotLoopback, target)
	}
	return u, nil
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// guardLoopback runs on every connection the client opens, with the address actually dialled:
// "localhost" that resolves elsewhere (a doctored hosts file) is refused here too.
func guardLoopback(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("loadgen: dial %q: %w", address, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%w: dial %s", ErrNotLoopback, address)
	}
	return nil
}

// newClient returns an HTTP client with one kept-alive connection per worker, that dials
// loopback addresses only and never follows a redirect (a 3xx is an answer like any other
// that is not 200, and following it could leave the machine).
func newClient(workers int, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: guardLoopback}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        workers,
		MaxIdleConnsPerHost: workers,
		MaxConnsPerHost:     workers,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
