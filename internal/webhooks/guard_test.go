package webhooks

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestGuardRefusesEveryNonPublicRange(t *testing.T) {
	for _, tc := range []struct {
		ip      string
		public  bool
		sandbox bool // allowed in the sandbox
	}{
		{"93.184.216.34", true, true},
		{"2606:2800:220:1:248:1893:25c8:1946", true, true},
		{"10.0.0.1", false, false},
		{"172.16.5.4", false, false},
		{"192.168.1.1", false, false},
		{"169.254.169.254", false, false}, // cloud metadata
		{"100.64.0.1", false, false},      // carrier-grade NAT
		{"0.0.0.0", false, false},
		{"255.255.255.255", false, false},
		{"224.0.0.1", false, false},
		{"198.18.0.1", false, false},
		{"::", false, false},
		{"fe80::1", false, false},
		{"fd00::1", false, false},
		{"::ffff:10.0.0.1", false, false}, // IPv4-mapped
		{"64:ff9b::a00:1", false, false},  // NAT64 of 10.0.0.1
		{"2002:a00:1::1", false, false},   // 6to4 of 10.0.0.1
		{"127.0.0.1", false, true},
		{"::1", false, true},
		{"::ffff:127.0.0.1", false, true},
	} {
		ip := netip.MustParseAddr(tc.ip)
		if got := (Guard{}).Allowed(ip); got != tc.public {
			t.Errorf("%s: allowed = %v, want %v", tc.ip, got, tc.public)
		}
		if got := (Guard{AllowLoopback: true}).Allowed(ip); got != tc.sandbox {
			t.Errorf("%s in the sandbox: allowed = %v, want %v", tc.ip, got, tc.sandbox)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url     string
		sandbox bool
		ok      bool
	}{
		{"https://hooks.example.com/switchboard", false, true},
		{"http://hooks.example.com/switchboard", false, false},
		{"http://127.0.0.1:9000/hook", false, false},
		{"http://127.0.0.1:9000/hook", true, true},
		{"http://localhost:9000/hook", true, true},
		{"http://hooks.example.com/hook", true, false},
		{"https://user:pass@hooks.example.com/", false, false},
		{"https://10.1.2.3/", true, false},
		{"https://[::1]:8443/", false, false},
		{"javascript:alert(1)", false, false},
		{"", false, false},
	} {
		_, msg := Guard{AllowLoopback: tc.sandbox}.checkURL(tc.url)
		if (msg == "") != tc.ok {
			t.Errorf("%q (sandbox %v): %q", tc.url, tc.sandbox, msg)
		}
	}
}

// Retries back off exponentially from 10 s to an hour, with jitter, and fill the 24 hours.
func TestRetryWaitBacksOffWithJitter(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 40; n++ {
		d := min(firstRetry<<min(n-1, 20), maxRetryWait)
		for range 50 {
			w := RetryWait(n, r)
			if w < d/2 || w > d {
				t.Fatalf("attempt %d: wait %v outside [%v, %v]", n, w, d/2, d)
			}
		}
	}
	var total time.Duration
	n := 0
	for total < RetryFor {
		n++
		total += RetryWait(n, r)
	}
	if n < 20 || n > 60 {
		t.Errorf("%d attempts in 24 hours", n)
	}
	if s := excerpt([]byte(strings.Repeat("é", 400))); len(s) > responseExcerpt || !strings.HasPrefix(s, "é") {
		t.Errorf("excerpt: %d bytes", len(s))
	}
}
