package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// procStatusBytes reads a kB field of /proc/PID/status (VmRSS, VmHWM) in bytes; 0 without it.
func procStatusBytes(pid int, field string) int64 {
	return procField(pid, "status", field, " kB") << 10
}

// procField reads the number of "field:" in /proc/PID/file, with unit after it; 0 without it.
func procField(pid int, file, field, unit string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), unit), 10, 64)
			return n
		}
	}
	return 0
}

// resetPeakRSS sets VmHWM back to the current VmRSS (Linux's clear_refs 5), so that the peak
// read later is the load's and not the demo's seeding or the members' password hashing.
func resetPeakRSS(pid int) bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
}

// rssSampler reads VmRSS at a fixed interval: the highest, and one figure a second to show
// whether memory settles or keeps growing.
type rssSampler struct {
	stopped chan struct{}
	result  chan rssSamples
}

type rssSamples struct {
	highest   int64
	perSecond []int64 // the highest of each second
}

func (r rssSamples) String() string {
	parts := make([]string, len(r.perSecond))
	for i, b := range r.perSecond {
		parts[i] = strconv.Itoa(int(mb(b) + 0.5))
	}
	return strings.Join(parts, " ")
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{stopped: make(chan struct{}), result: make(chan rssSamples, 1)}
	go func() {
		var r rssSamples
		start := time.Now()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			v := procStatusBytes(pid, "VmRSS")
			r.highest = max(r.highest, v)
			sec := int(time.Since(start) / time.Second)
			for len(r.perSecond) <= sec {
				r.perSecond = append(r.perSecond, 0)
			}
			r.perSecond[sec] = max(r.perSecond[sec], v)
			select {
			case <-s.stopped:
				s.result <- r
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() rssSamples {
	close(s.stopped)
	return <-s.result
}

func saveHeapProfile(debugURL, file string) error {
	resp, err := http.Get(debugURL + "/debug/pprof/heap")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /debug/pprof/heap: %s", resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// liveMetrics reads the server's own live-update counters and Go memory figures from /metrics.
func liveMetrics(base string) string {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return "metrics: " + err.Error()
	}
	defer resp.Body.Close()
	var parts []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		for _, name := range []string{"switchboard_live_subscribers", "switchboard_live_events_delivered_total", "switchboard_live_changes_dropped_total",
			"go_goroutines", "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes", "go_memstats_sys_bytes", "go_memstats_heap_released_bytes"} {
			v, ok := strings.CutPrefix(line, name+" ")
			if !ok {
				continue
			}
			if n, err := strconv.ParseFloat(v, 64); err == nil && strings.HasSuffix(name, "_bytes") {
				v = fmt.Sprintf("%.1f MB", n/1e6)
			}
			parts = append(parts, strings.TrimPrefix(name, "switchboard_")+" "+v)
		}
	}
	return strings.Join(parts, ", ")
}
