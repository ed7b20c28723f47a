package analytics

import (
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/analytics/rollup"
)

// Bounds are the upper ends (exclusive, in seconds) of the duration histogram's buckets; bucket
// len(Bounds) holds everything from a week on. Medians and p90s are read from the histogram, so
// they are known to the bucket: a minute or two under half an hour, hours beyond. The rollup
// package, which keeps the histograms, owns them.
var Bounds = rollup.Bounds

// BucketOf is the bucket of a duration of s seconds.
func BucketOf(s int64) int { return rollup.BucketOf(s) }

// BucketLabel names bucket i as a range, "5–10 min".
func BucketLabel(i int) string {
	if i < 0 {
		return "–"
	}
	if i >= len(Bounds) {
		return "7 d or more"
	}
	lo := int64(0)
	if i > 0 {
		lo = Bounds[i-1]
	}
	hi := Bounds[i]
	if lo == 0 {
		return "under " + shortDuration(hi)
	}
	return shortDuration(lo) + "–" + shortDuration(hi)
}

func shortDuration(s int64) string {
	d := time.Duration(s) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", s)
	case d < time.Hour:
		return fmt.Sprintf("%d min", s/60)
	case d < 48*time.Hour:
		if s%3600 != 0 {
			return fmt.Sprintf("%.1f h", float64(s)/3600)
		}
		return fmt.Sprintf("%d h", s/3600)
	default:
		return fmt.Sprintf("%d d", s/86400)
	}
}

// Dist is a duration histogram: counts per bucket.
type Dist struct {
	Counts [len0]int64
	N      int64
}

const len0 = 23 // len(Bounds)+1; a test checks it

func (d *Dist) add(bucket int, n int64) {
	if bucket < 0 || bucket >= len(d.Counts) {
		bucket = len(d.Counts) - 1
	}
	d.Counts[bucket] += n
	d.N += n
}

// Quantile is the bucket holding the nearest-rank pct-th percentile (the ⌈pct·N/100⌉-th
// smallest duration), or -1 when empty.
func (d Dist) Quantile(pct int64) int {
	if d.N <= 0 {
		return -1
	}
	rank := max((pct*d.N+99)/100, 1)
	var cum int64
	for i, c := range d.Counts {
		cum += c
		if cum >= rank {
			return i
		}
	}
	return len(d.Counts) - 1
}

// Median and P90 are the buckets of the median and the 90th percentile.
func (d Dist) Median() int { return d.Quantile(50) }
func (d Dist) P90() int    { return d.Quantile(90) }
