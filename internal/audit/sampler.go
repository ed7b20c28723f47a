package audit

import (
	"sync"
	"time"
)

// Sampler thins out events that an unauthenticated client can cause at will (a throttled
// sign-in, a refused CSRF token): the first of a kind in each window is recorded with how many
// were left out since the last one, so the log stays truthful without letting a flood of
// requests turn into a flood of fsynced writes that fills the disk.
type Sampler struct {
	window time.Duration
	mu     sync.Mutex
	seen   map[string]*sampled
}

type sampled struct {
	at         time.Time
	suppressed int
}

// maxSampledKeys bounds the memory a flood of distinct keys can take.
const maxSampledKeys = 10000

// NewSampler records each key at most once per window.
func NewSampler(window time.Duration) *Sampler {
	return &Sampler{window: window, seen: map[string]*sampled{}}
}

// Allow says whether to record the event of key now, and how many of its events were left out
// since it was last recorded.
func (s *Sampler) Allow(key string, now time.Time) (record bool, suppressed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[key]; !ok && len(s.seen) >= maxSampledKeys {
		for k, e := range s.seen {
			if now.Sub(e.at) >= s.window {
				delete(s.seen, k)
			}
		}
		if len(s.seen) >= maxSampledKeys {
			// Still full of live keys: everything new shares one key, so a flood of distinct
			// keys is thinned out too.
			key = overflowKey
		}
	}
	e, ok := s.seen[key]
	if ok && now.Sub(e.at) < s.window {
		e.suppressed++
		return false, 0
	}
	var left int
	if ok {
		left = e.suppressed
	}
	s.seen[key] = &sampled{at: now}
	return true, left
}

const overflowKey = "\x00overflow"
