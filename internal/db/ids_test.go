package db

import (
	"slices"
	"testing"
)

func TestIDListsRoundTripSortedWithoutJunk(t *testing.T) {
	if got := ParseIDs(FormatIDs([]int64{12, 3, 7})); !slices.Equal(got, []int64{3, 7, 12}) {
		t.Errorf("round trip gave %v", got)
	}
	if got := ParseIDs(" 5 x -2 0 4 "); !slices.Equal(got, []int64{4, 5}) {
		t.Errorf("junk kept: %v", got)
	}
	if FormatIDs(nil) != "" || ParseIDs("") != nil {
		t.Error("an empty list is not the empty string")
	}
}
