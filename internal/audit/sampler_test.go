package audit

import (
	"testing"
	"time"
)

func TestSamplerRecordsOncePerWindowAndCountsTheRest(t *testing.T) {
	s := NewSampler(time.Minute)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if ok, n := s.Allow("a", t0); !ok || n != 0 {
		t.Fatalf("first: %v %d", ok, n)
	}
	for i := 1; i <= 5; i++ {
		if ok, _ := s.Allow("a", t0.Add(time.Duration(i)*time.Second)); ok {
			t.Fatalf("event %d inside the window was recorded", i)
		}
	}
	if ok, _ := s.Allow("b", t0.Add(time.Second)); !ok {
		t.Error("another key was held back")
	}
	ok, n := s.Allow("a", t0.Add(61*time.Second))
	if !ok || n != 5 {
		t.Errorf("after the window: %v, %d left out, want true, 5", ok, n)
	}
}

func TestSamplerMemoryIsBounded(t *testing.T) {
	s := NewSampler(time.Minute)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3*maxSampledKeys; i++ {
		s.Allow(string(rune(i+0x4e00)), t0)
	}
	if len(s.seen) > maxSampledKeys+1 {
		t.Errorf("%d keys kept", len(s.seen))
	}
	recorded := 0
	for i := 0; i < 1000; i++ {
		if ok, _ := s.Allow(string(rune(i+0x9000)), t0.Add(time.Second)); ok {
			recorded++
		}
	}
	if recorded > 1 {
		t.Errorf("%d of 1000 new keys recorded while full, want at most 1", recorded)
	}
}
