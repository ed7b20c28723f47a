package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// nonPublic are the ranges a webhook may never reach besides the ones netip classifies
// (private, loopback, link-local, multicast, unspecified): shared address space, the IETF
// protocol block, benchmarking, documentation, reserved and broadcast, NAT64 (which can embed
// any IPv4 address), Teredo, 6to4, and IPv6's documentation range. A request to one of these
// is how a server-side request forgery reaches a cloud's metadata service or an internal admin
// page.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fec0::/10"),
}

// Guard decides which addresses webhooks may connect to.
type Guard struct {
	// AllowLoopback lets webhooks reach this machine: only in sandbox mode, where the receiver
	// under test runs beside Switchboard.
	AllowLoopback bool
}

// Allowed reports whether ip may be connected to.
func (g Guard) Allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() {
		return false
	}
	if ip.IsLoopback() {
		return g.AllowLoopback
	}
	if ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || ip == netip.IPv4Unspecified() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// control runs for every connection the sender opens, after name resolution and before the
// connect: checking here rather than when the URL is saved is what defeats a name that
// resolves to a public address when saved and to 169.254.169.254 when used (DNS rebinding).
func (g Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrAddressNotAllowed, address)
	}
	if !g.Allowed(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrAddressNotAllowed, ap.Addr())
	}
	return nil
}

// LookupFunc resolves a host name; tests give names that resolve to private addresses.
type LookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

// dialer returns a DialContext that resolves with lookup (net.DefaultResolver when nil) and
// connects through a net.Dialer whose Control applies the guard to each address tried.
func (g Guard) dialer(lookup LookupFunc) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	if lookup == nil {
		return d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		if _, err := netip.ParseAddr(host); err == nil {
			return d.DialContext(ctx, network, addr)
		}
		ips, err := lookup(ctx, host)
		if err != nil {
			return nil, err
		}
		var errs []error
		for _, ip := range ips {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
			if err == nil {
				return c, nil
			}
			errs = append(errs, err)
		}
		if len(errs) == 0 {
			return nil, fmt.Errorf("no address for %s", host)
		}
		return nil, errors.Join(errs...)
	}
}

// checkURL validates an endpoint's URL as typed: https, or http to a loopback address in the
// sandbox; no credentials in it; a literal address must be allowed. Names are checked again
// at every connection.
func (g Guard) checkURL(raw string) (string, string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", "Enter the URL that receives the events, such as https://example.com/hooks/switchboard."
	}
	if len(raw) > 2000 {
		return "", "Use a URL of at most 2,000 characters."
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", "Enter a full URL starting with https://."
	}
	if u.User != nil {
		return "", "Leave user names and passwords out of the URL: the signature authenticates Switchboard."
	}
	host := u.Hostname()
	ip, ipErr := netip.ParseAddr(strings.Trim(host, "[]"))
	loopback := host == "localhost" || strings.HasSuffix(host, ".localhost") || (ipErr == nil && ip.Unmap().IsLoopback())
	switch u.Scheme {
	case "https":
	case "http":
		if !(g.AllowLoopback && loopback) {
			return "", "Use https://: events carry customers' messages. Plain http is accepted only for this machine in sandbox mode."
		}
	default:
		return "", "Use an https:// URL."
	}
	if loopback && !g.AllowLoopback {
		return "", "This machine cannot receive webhooks outside sandbox mode; use a public https:// URL."
	}
	if ipErr == nil && !g.Allowed(ip) {
		return "", "That address is on a private or reserved network; Switchboard only sends to public internet addresses."
	}
	u.Fragment = ""
	return u.String(), ""
}
