package alerts

import (
	"strconv"

	"github.com/switchboard/switchboard/internal/auth"
)

// The alerts of the sign-in flow, built here so their titles are the same everywhere and never
// carry what was typed.

// AccountLocked is the alert for an account that failed sign-ins have just locked
// (auth.Outcome.AccountLockedNow). memberID and memberName are the member's when the e-mail
// address typed is a member's, and 0 and "" otherwise: the typed address is not put in an alert,
// and all such accounts share one alert. addr is the client address of the failure that locked it.
func AccountLocked(memberID int64, memberName string, failures int, addr string) Alert {
	a := Alert{
		Kind:    KindRepeatedSignInFailures,
		Details: map[string]string{"failures": strconv.Itoa(failures)},
	}
	if addr != "" {
		a.Details["last_address"] = addr
	}
	if memberID > 0 {
		a.Subject = MemberSubject(memberID)
		a.Title = "Repeated failed sign-ins for " + memberName
	} else {
		a.Subject = Subject{Type: "account"}
		a.Title = "Repeated failed sign-ins for an e-mail address that is not a member's"
	}
	return a
}

// AddressLocked is the alert for a client address that failed sign-ins have just locked
// (auth.Outcome.AddressLockedNow), whatever the accounts tried. Repeats are counted per network
// (an IPv6 /64), like the throttle counts them.
func AddressLocked(addr string, failures int) Alert {
	return Alert{
		Kind:    KindSignInFailuresFromAddress,
		Title:   "Repeated failed sign-ins from " + addr,
		Subject: Subject{Type: "address", ID: auth.ClientNetwork(addr)},
		Details: map[string]string{"address": addr, "failures_last_hour": strconv.Itoa(failures)},
	}
}

// NewAddressSignIn is the alert for a member signing in from a new address (Service.SignedInFrom).
func NewAddressSignIn(memberID int64, memberName, addr string) Alert {
	return Alert{
		Kind:    KindSignInFromNewAddress,
		Title:   memberName + " signed in from a new address",
		Subject: MemberSubject(memberID),
		Details: map[string]string{"address": addr},
	}
}
