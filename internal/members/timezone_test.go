package members_test

import (
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/members"
)

// Zones keeps LoadTimeZone's rules and loads each zone once.
func TestZonesLoadOnceWithTheMembersRules(t *testing.T) {
	var z members.Zones
	for _, name := range []string{"", "UTC"} {
		if loc, err := z.Load(name); err != nil || loc != time.UTC {
			t.Errorf("%q: %v %v, want UTC", name, loc, err)
		}
	}
	berlin, err := z.Load("Europe/Berlin")
	if err != nil || berlin.String() != "Europe/Berlin" {
		t.Fatalf("Europe/Berlin: %v %v", berlin, err)
	}
	if again, _ := z.Load("Europe/Berlin"); again != berlin {
		t.Error("the second load parsed the zone again")
	}
	for _, bad := range []string{"Local", "local", "Mars/Olympus_Mons", "Europe/" + string(make([]byte, 64))} {
		if loc, err := z.Load(bad); err == nil {
			t.Errorf("%q loaded as %v", bad, loc)
		}
	}
}
