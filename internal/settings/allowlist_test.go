package settings

import (
	"net/netip"
	"testing"
)

func TestAllowedBy(t *testing.T) {
	list := func(cidrs ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, c := range cidrs {
			p, err := ParseNetwork(c)
			if err != nil {
				t.Fatalf("%s: %v", c, err)
			}
			out = append(out, p)
		}
		return out
	}
	for _, tc := range []struct {
		list []netip.Prefix
		addr string
		want bool
	}{
		{nil, "198.51.100.1", true}, // empty list: off
		{nil, "garbage", true},
		{list("203.0.113.0/24"), "203.0.113.200", true},
		{list("203.0.113.0/24"), "203.0.114.1", false},
		{list("203.0.113.0/24"), "::ffff:203.0.113.9", true}, // IPv4-mapped IPv6 is the IPv4 address
		{list("::ffff:203.0.113.0/120"), "203.0.113.9", true},
		{list("2001:db8::/48"), "2001:db8:0:1::5", true},
		{list("2001:db8::/48"), "2001:db9::1", false},
		{list("127.0.0.1"), "127.0.0.1", true},
		{list("127.0.0.1"), "127.0.0.2", false},
		{list("203.0.113.0/24"), "", false}, // unreadable address: refused while the list is on
		{list("203.0.113.0/24"), "not an address", false},
	} {
		if got := allowedBy(tc.list, tc.addr); got != tc.want {
			t.Errorf("%v allows %q: %v, want %v", tc.list, tc.addr, got, tc.want)
		}
	}
	if p, _ := ParseNetwork("203.0.113.77/24"); p.String() != "203.0.113.0/24" {
		t.Errorf("not masked: %s", p)
	}
	for _, bad := range []string{"", "203.0.113.0/33", "example.com", "10.0.0.0/8/8"} {
		if _, err := ParseNetwork(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
