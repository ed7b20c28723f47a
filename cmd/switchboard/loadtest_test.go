package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/switchboard/switchboard/internal/app/apptest"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/demo"
	"github.com/switchboard/switchboard/internal/loadgen"
	"github.com/switchboard/switchboard/internal/webhooks"
)

// The figures, measured by TestWebhookLoadFigures when -loadtest.duration is set:
//
//	go test -run TestWebhookLoadFigures -v -timeout 10m ./cmd/switchboard -loadtest.duration=60s
var (
	loadDuration = flag.Duration("loadtest.duration", 0, "run TestWebhookLoadFigures for this long (60s for the issue's figure); 0 skips it")
	loadWorkers  = flag.Int("loadtest.workers", 48, "TestWebhookLoadFigures: requests in flight at most")
	loadRate     = flag.Float64("loadtest.rate", 0, "TestWebhookLoadFigures: bodies per second, open loop (0: closed loop, as fast as answered)")
	loadTarget   = flag.String("loadtest.target", "binary", "TestWebhookLoadFigures: binary (a built switchboard in its own process) or "+
		"apptest (the server in the test process, so that -cpuprofile sees it)")
	loadEndpoint = flag.Bool("loadtest.endpoint", true, "TestWebhookLoadFigures, apptest target: an outgoing webhook endpoint subscribed to "+
		"message.received and message.status, as a CRM would be (the binary's demo has one)")
	loadProfile = flag.String("loadtest.profile", "", "TestWebhookLoadFigures, binary target: write the server's CPU profile of the run "+
		"to this file (read with go tool pprof -top -cum FILE)")
	loadLogLevel = flag.String("loadtest.log-level", "info", "TestWebhookLoadFigures: --log-level of the binary (info is the default in production)")
)

// The targets.
const (
	targetEventsPerSecond = 3300
	targetP99             = 50 * time.Millisecond
)

// sandbox numbers as webhook metadata carries them (digits only); the same in apptest and demo.
func sandboxNumbers() []loadgen.Number {
	return []loadgen.Number{{ID: demo.NumberSales, Display: "15550783881"}, {ID: demo.NumberCare, Display: "493090182044"}}
}

// Every event answered 200 is stored once, and duplicate deliveries (10 % of the bodies) add
// no rows and no effects: a conversation's unread count is exactly its inbound messages.
func TestWebhookLoadExactlyOnce(t *testing.T) {
	in := apptest.Start(t)
	in.ConnectSandbox()
	if apptest.SandboxNumberA != demo.NumberSales || apptest.SandboxNumberB != demo.NumberCare || apptest.SandboxWABAID != demo.WABAID {
		t.Fatal("apptest's sandbox numbers differ from the demo's: update sandboxNumbers")
	}
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		URL: in.URL + "/webhooks/whatsapp", AppSecret: []byte(apptest.SandboxAppSecret), WABAID: apptest.SandboxWABAID,
		Numbers: sandboxNumbers(), Workers: 16, Duration: 4 * time.Second, Count: 40_000,
		// Few customers: many messages share a conversation, so duplicates and concurrent
		// bodies meet on the same rows.
		Customers: 300, RunID: "exactlyonce",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", res)
	if res.OK == 0 || res.NonOK() != 0 {
		t.Fatalf("%d of %d requests not answered 200: %v %v", res.NonOK(), res.Requests, res.Statuses, res.FirstErrors)
	}
	if res.DuplicatesOK == 0 {
		t.Fatal("no duplicate delivery was answered 200: the run proves nothing about deduplication")
	}
	c := checkStore(t, in.App.DB.R, res)
	c.report(t)
	c.requireExactlyOnce(t, res)
	// Every POST was answered 200, so the run's events are exactly the ones acknowledged.
	if c.messages != res.AckedOf(loadgen.KindMessage) || c.statuses != res.AckedOf(loadgen.KindStatus) {
		t.Errorf("stored %d messages and %d statuses, acknowledged %d and %d", c.messages, c.statuses,
			res.AckedOf(loadgen.KindMessage), res.AckedOf(loadgen.KindStatus))
	}
	// The raw log keeps every POST, duplicates included: one body per 200.
	if int64(c.bodies) != res.OK {
		t.Errorf("webhook_events holds %d bodies of the run, %d POSTs were answered 200", c.bodies, res.OK)
	}
}

// kill -9 in the middle of the load, restart on the same data: every event that got a 200 is
// there. A killed process loses nothing that reached the kernel, so this holds the server to
// answering only after its commit; surviving a power cut as well is synchronous=FULL's part,
// whose setting internal/db's tests check.
func TestKillDuringLoadKeepsEveryAcknowledgedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it under load (about 15 s)")
	}
	bin := buildSwitchboard(t)
	dir, addr := t.TempDir(), freeLoopbackAddr(t)
	srv := startSwitchboard(t, bin, dir, addr, "warn")

	r, err := loadgen.New(loadgen.Config{URL: srv.url + "/webhooks/whatsapp", AppSecret: []byte(demo.AppSecret),
		WABAID: demo.WABAID, Numbers: sandboxNumbers(), Workers: 32, Duration: 3 * time.Second, Customers: 1000, RunID: "killed"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan *loadgen.Result, 1)
	start := time.Now()
	go func() { done <- r.Run(ctx) }()
	// Kill once the load is well under way: some time passed and plenty acknowledged.
	for time.Since(start) < 1500*time.Millisecond || r.OK() < 300 {
		if time.Since(start) > 10*time.Second {
			cancel()
			t.Fatalf("only %d of %d requests answered 200 in 10 s:\n%s", r.OK(), r.Requests(), srv.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.kill(t)
	// The requests in flight fail with the process; stop sending into the closed port.
	cancel()
	res := <-done
	t.Logf("killed after %v\n%s", time.Since(start).Round(time.Millisecond), res)
	if res.Errors == 0 {
		t.Error("no request failed: the kill did not land in the middle of the load")
	}

	// The restarted server recovers the database and takes webhooks again.
	srv = startSwitchboard(t, bin, dir, addr, "warn")
	after, err := loadgen.Run(context.Background(), loadgen.Config{URL: srv.url + "/webhooks/whatsapp", AppSecret: []byte(demo.AppSecret),
		WABAID: demo.WABAID, Numbers: sandboxNumbers(), Workers: 8, Count: 300, Duration: 20 * time.Second, Customers: 1000, RunID: "restarted"})
	if err != nil {
		t.Fatal(err)
	}
	if after.OK != after.Requests {
		t.Errorf("after the restart %d of %d requests were answered 200: %v %v", after.OK, after.Requests, after.Statuses, after.FirstErrors)
	}
	srv.stop(t)

	d := openReadOnly(t, dir)
	var check string
	if err := d.QueryRow(`PRAGMA quick_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("quick_check after the kill: %q, %v", check, err)
	}
	c := checkStore(t, d, res)
	c.report(t)
	c.requireExactlyOnce(t, res)
	t.Logf("acknowledged before the kill: %d events (%d messages, %d statuses) in %d bodies; stored: %d messages, %d statuses "+
		"in %d bodies (%d bodies committed whose 200 the kill cut off)", len(res.Acked), res.AckedOf(loadgen.KindMessage),
		res.AckedOf(loadgen.KindStatus), res.OK, c.messages, c.statuses, c.bodies, int64(c.bodies)-res.OK)
	ca := checkStore(t, d, after)
	ca.requireExactlyOnce(t, after)
}

// TestWebhookLoadFigures measures the figure: signed webhooks from a load generator on
// loopback (messages and statuses, 10 % duplicates), ≥ 3,300 events/s sustained with
// synchronous FULL and p99 time to 200 ≤ 50 ms, then each event exactly once in the database.
// It runs only when asked, for -loadtest.duration:
//
//	go test -run TestWebhookLoadFigures -v -timeout 10m ./cmd/switchboard -loadtest.duration=60s
//	go test -run TestWebhookLoadFigures -v -timeout 10m ./cmd/switchboard -loadtest.duration=60s -loadtest.rate=3300
//	go test -run TestWebhookLoadFigures -v -timeout 10m -cpuprofile /tmp/cpu.out -o /tmp/switchboard.test ./cmd/switchboard \
//	    -loadtest.duration=60s -loadtest.target=apptest
//	go tool pprof -top -cum /tmp/switchboard.test /tmp/cpu.out
func TestWebhookLoadFigures(t *testing.T) {
	if *loadDuration <= 0 {
		t.Skip("set -loadtest.duration (60s for the issue's figure) to measure webhook ingest")
	}
	cfg := loadgen.Config{Numbers: sandboxNumbers(), Workers: *loadWorkers, Duration: *loadDuration, Rate: *loadRate,
		Count: loadgen.MaxCount, Customers: 5000, RunID: "figures"}
	var (
		store     func() *sql.DB
		after     func()
		server    string
		serverPID int // the server's own process, when it has one
	)
	switch *loadTarget {
	case "binary":
		bin := buildSwitchboard(t)
		dir := t.TempDir()
		var extra []string
		debug := freeLoopbackAddr(t)
		if *loadProfile != "" {
			extra = append(extra, "--debug-addr", debug)
		}
		srv := startSwitchboard(t, bin, dir, freeLoopbackAddr(t), *loadLogLevel, extra...)
		var profiled <-chan struct{}
		if *loadProfile != "" {
			// From the moment the server answers, so that the demo's seeding is not in it; the
			// server is stopped only once the profile is written.
			profiled = profileServer(t, "http://"+debug, *loadDuration, *loadProfile)
		}
		cfg.URL, cfg.AppSecret, cfg.WABAID = srv.url+"/webhooks/whatsapp", []byte(demo.AppSecret), demo.WABAID
		store = func() *sql.DB {
			if profiled != nil {
				<-profiled
			}
			srv.stop(t)
			return openReadOnly(t, dir)
		}
		serverPID = srv.cmd.Process.Pid
		server = "switchboard serve --demo --log-level " + *loadLogLevel + " (own process)"
	case "apptest":
		in := apptest.StartWith(t, apptest.Options{Sandbox: true})
		in.ConnectSandbox()
		if *loadEndpoint {
			received := subscribeCRM(t, in)
			defer func() { t.Logf("CRM endpoint: %d deliveries received", received.Load()) }()
		}
		cfg.URL, cfg.AppSecret, cfg.WABAID = in.URL+"/webhooks/whatsapp", []byte(apptest.SandboxAppSecret), apptest.SandboxWABAID
		store = func() *sql.DB { return in.App.DB.R }
		after = func() {
			st := in.App.Ingester.Stats()
			t.Logf("ingester: %d bodies in %d batches (%.1f a batch), %v in transactions (%.0f %% of the run), %d kept unprocessed",
				st.Bodies, st.Batches, float64(st.Bodies)/float64(max(st.Batches, 1)), st.Busy.Round(time.Millisecond),
				100*st.Busy.Seconds()/loadDuration.Seconds(), st.Kept)
		}
		server = "apptest (in the test process, debug logging to memory)"
	default:
		t.Fatalf("-loadtest.target %q: want binary or apptest", *loadTarget)
	}
	cpu := startCPUAccount(serverPID)
	res, err := loadgen.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("CPU during the run: %s", cpu.stop())
	if after != nil {
		after()
	}
	c := checkStore(t, store(), res)
	p50, p99 := res.Latency.Percentile(50), res.Latency.Percentile(99)
	// Bodies are sent during the run's window only; what is answered after it is the drain of
	// the requests in flight, so the window is what the rate is over.
	window := res.Duration
	rate := float64(res.EventsOK) / window.Seconds()
	t.Logf("\nserver: %s\n%s", server, res)
	t.Logf("figures: %.0f events/s over the %v window (target ≥ %d), slowest whole second %d, p50 %v, p99 %v (target ≤ %v), max %v, 200s %d, not 200 %d",
		rate, window, targetEventsPerSecond, res.SlowestSecond(), p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond),
		targetP99, res.Latency.Max().Round(10*time.Microsecond), res.OK, res.NonOK())
	t.Logf("200s in each second: %v", res.PerSecond)
	c.report(t)
	c.requireExactlyOnce(t, res)
	if rate < targetEventsPerSecond {
		t.Errorf("%.0f events/s, below the target of %d", rate, targetEventsPerSecond)
	}
	if p99 > targetP99 {
		t.Errorf("p99 time to 200 %v, above the target of %v", p99, targetP99)
	}
	if res.NonOK() != 0 {
		t.Errorf("%d requests not answered 200: %v %v", res.NonOK(), res.Statuses, res.FirstErrors)
	}
}

// storeCheck is what the database holds of one load run.
type storeCheck struct {
	messages, statuses int // distinct events of the run stored
	bodies             int // raw webhook bodies of the run stored (one per POST taken)
	kept               int // of them, kept unprocessed because applying failed
	missing            []string
	unknown            []string // stored, but never sent by the run
	doubled            int      // events stored more than once
	misdirected        int      // run wamids stored as outgoing messages
	unreadMismatch     int      // conversations whose unread count is not their inbound messages
}

// checkStore reads the run's rows (recognised by their wamid prefix) from q.
func checkStore(t *testing.T, q *sql.DB, res *loadgen.Result) storeCheck {
	t.Helper()
	ctx := context.Background()
	// wamids of the run sort between prefix and prefix with its final "." raised to "/": a
	// range the wamid index answers.
	lo := loadgen.WAMIDPrefix(res.RunID)
	hi := strings.TrimSuffix(lo, ".") + "/"
	var c storeCheck
	stored := map[loadgen.Key]bool{}
	scan := func(query string, kind loadgen.Kind) {
		rows, err := q.QueryContext(ctx, query, lo, hi)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			k := loadgen.Key{Kind: kind}
			var n int
			var dir string
			if err := rows.Scan(&k.WAMID, &k.Status, &dir, &n); err != nil {
				t.Fatal(err)
			}
			if kind == loadgen.KindMessage && dir != "in" {
				c.misdirected++
			}
			stored[k] = true
			if n > 1 {
				c.doubled++
			}
			if _, ok := res.Sent[k]; !ok && len(c.unknown) < 10 {
				c.unknown = append(c.unknown, k.String())
			}
			if kind == loadgen.KindMessage {
				c.messages++
			} else {
				c.statuses++
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	scan(`SELECT wamid, '', min(direction), count(*) FROM messages WHERE wamid >= ? AND wamid < ? GROUP BY wamid`, loadgen.KindMessage)
	scan(`SELECT wamid, status, '', count(*) FROM message_statuses WHERE wamid >= ? AND wamid < ? GROUP BY wamid, status`, loadgen.KindStatus)
	for k := range res.Acked {
		if !stored[k] {
			c.missing = append(c.missing, k.String())
		}
	}
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM conversations c
		WHERE c.id IN (SELECT conversation_id FROM messages WHERE wamid >= ? AND wamid < ?)
		AND c.unread_count <> (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in' AND m.type <> 'system')`,
		lo, hi).Scan(&c.unreadMismatch)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(processed = 0), 0) FROM webhook_events WHERE instr(body, ?) > 0`,
		[]byte(`"`+lo)).Scan(&c.bodies, &c.kept); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c storeCheck) report(t *testing.T) {
	t.Helper()
	t.Logf("database: %d messages and %d statuses of the run, %d raw bodies (%d kept unprocessed); "+
		"acknowledged but missing %d, stored but never sent %d, stored twice %d, conversations with a wrong unread count %d",
		c.messages, c.statuses, c.bodies, c.kept, len(c.missing), len(c.unknown), c.doubled, c.unreadMismatch)
}

// requireExactlyOnce fails unless every acknowledged event is stored, once, with nothing
// invented and no effect applied twice.
func (c storeCheck) requireExactlyOnce(t *testing.T, res *loadgen.Result) {
	t.Helper()
	if len(c.missing) > 0 {
		t.Errorf("%d events answered 200 are not in the database, e.g. %v", len(c.missing), c.missing[:min(len(c.missing), 10)])
	}
	if len(c.unknown) > 0 {
		t.Errorf("events the run never sent are stored: %v", c.unknown)
	}
	if c.doubled > 0 || c.misdirected > 0 {
		t.Errorf("%d events stored more than once, %d inbound messages stored as outgoing", c.doubled, c.misdirected)
	}
	if c.unreadMismatch > 0 {
		t.Errorf("%d conversations count a different number of unread messages than they hold: a duplicate was applied twice", c.unreadMismatch)
	}
	if c.kept > 0 {
		t.Errorf("%d bodies of the run were kept unprocessed: applying them failed", c.kept)
	}
	if int64(c.bodies) < res.OK {
		t.Errorf("%d raw bodies stored for %d POSTs answered 200", c.bodies, res.OK)
	}
}

// buildSwitchboard builds this command, as a user would run it.
func buildSwitchboard(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "switchboard")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// switchboardProcess is `switchboard serve --demo` running in its own process.
type switchboardProcess struct {
	cmd    *exec.Cmd
	url    string
	logs   string
	exited chan struct{}
	err    error
}

// startSwitchboard starts the binary on dir and waits until it answers. --demo connects the
// sandbox WABA (demo.AppSecret) with an in-process simulator: a connected WABA in another
// process with no set-up steps.
func startSwitchboard(t *testing.T, bin, dir, addr, logLevel string, extraArgs ...string) *switchboardProcess {
	t.Helper()
	logs := filepath.Join(t.TempDir(), "switchboard.log")
	f, err := os.Create(logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	cmd := exec.Command(bin, append([]string{"serve", "--demo", "--data", dir, "--addr", addr, "--log-level", logLevel}, extraArgs...)...)
	cmd.Stdout, cmd.Stderr = f, f
	// The machine's SWITCHBOARD_* settings are not this test's.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWITCHBOARD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &switchboardProcess{cmd: cmd, url: "http://" + addr, logs: logs, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-p.exited:
			t.Fatalf("switchboard exited while starting: %v\n%s", p.err, p.logTail())
		default:
		}
		resp, err := client.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("switchboard did not answer /healthz within 20 s\n%s", p.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the process with SIGKILL: no shutdown, no flush, no deferred close.
func (p *switchboardProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	var exit *exec.ExitError
	if !errors.As(p.err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("switchboard did not die of SIGKILL: %v", p.err)
	}
}

// stop asks for a graceful shutdown and waits for a clean exit.
func (p *switchboardProcess) stop(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
		return
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Fatalf("switchboard did not stop within 30 s of SIGTERM\n%s", p.logTail())
	}
	if p.err != nil {
		t.Errorf("switchboard exited with %v\n%s", p.err, p.logTail())
	}
}

func (p *switchboardProcess) logTail() string {
	b, err := os.ReadFile(p.logs)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// openReadOnly opens the stopped server's database file as an operator would.
func openReadOnly(t *testing.T, dir string) *sql.DB {
	t.Helper()
	d, err := sql.Open("sqlite", fmt.Sprintf("file:%s?mode=ro&_pragma=busy_timeout(5000)", filepath.Join(dir, db.FileName)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// cpuAccount tells where the machine's CPU time went during a run, from /proc (Linux): the
// figures mean little if something else on the machine took half of it.
type cpuAccount struct {
	serverPID                   int
	start                       time.Time
	machine, self, server, idle float64 // CPU seconds at the start
	written                     int64   // bytes the server's process had written to disk at the start
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports for /proc/*/stat.
const clockTicks = 100

func startCPUAccount(serverPID int) *cpuAccount {
	a := &cpuAccount{serverPID: serverPID, start: time.Now()}
	a.machine, a.idle = machineCPU()
	a.self, a.server = processCPU(os.Getpid()), processCPU(serverPID)
	a.written = diskWrites(a.serverProcess())
	return a
}

// serverProcess is the pid of the process the server runs in: its own, or this one.
func (a *cpuAccount) serverProcess() int {
	if a.serverPID != 0 {
		return a.serverPID
	}
	return os.Getpid()
}

func (a *cpuAccount) stop() string {
	machine, idle := machineCPU()
	if machine == 0 {
		return "not measured (no /proc/stat)"
	}
	wall := time.Since(a.start).Seconds()
	busy := (machine - a.machine) - (idle - a.idle)
	self := processCPU(os.Getpid()) - a.self
	server := processCPU(a.serverPID) - a.server
	cores := float64(runtime.NumCPU())
	s := fmt.Sprintf("%d cores busy %.0f %% (%.1f of %.1f CPU-s); test process (load generator", runtime.NumCPU(),
		100*busy/(wall*cores), busy, wall*cores)
	if a.serverPID == 0 {
		s += " and server"
	}
	s += fmt.Sprintf(") %.1f CPU-s", self)
	if a.serverPID != 0 {
		s += fmt.Sprintf(", server process %.1f CPU-s", server)
	}
	// Per-process times are sampled at the tick, the machine's summed: a little either way.
	s += fmt.Sprintf(", everything else (other processes, kernel writeback) %.1f CPU-s", max(0, busy-self-server))
	if w := diskWrites(a.serverProcess()); w > 0 {
		s += fmt.Sprintf("; the server's process wrote %.0f MB to disk (%.1f MB/s)", float64(w-a.written)/1e6, float64(w-a.written)/1e6/wall)
	}
	return s
}

// diskWrites is write_bytes of /proc/PID/io: what the process caused to be written to storage.
func diskWrites(pid int) int64 { return procField(pid, "io", "write_bytes", "") }

// machineCPU returns all CPU seconds and idle (with iowait) seconds since boot.
func machineCPU() (total, idle float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 6 || fields[0] != "cpu" {
		return 0, 0
	}
	for i, f := range fields[1:] {
		if i >= 8 { // guest time is already counted in user
			break
		}
		v, _ := strconv.ParseFloat(f, 64)
		total += v / clockTicks
		if i == 3 || i == 4 {
			idle += v / clockTicks
		}
	}
	return total, idle
}

// processCPU returns the user and system CPU seconds of a process (0 for pid 0 or without /proc).
func processCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after it are space-separated.
	_, rest, ok := strings.Cut(string(b), ") ")
	fields := strings.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / clockTicks
}

// subscribeCRM creates an outgoing webhook endpoint for message.received and message.status
// on a receiver that answers 204 at once, and returns the count of requests it got.
func subscribeCRM(t *testing.T, in *apptest.Instance) *atomic.Int64 {
	t.Helper()
	var got atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)
	ctx := context.Background()
	m := in.CreateMember("crm-admin@example.com", "Carla Admin", authz.RoleAdministrator, "a long and unguessable passphrase")
	p, _, err := in.App.Members.Store().Principal(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := in.App.Webhooks.Create(ctx, p, webhooks.NewEndpoint{URL: rcv.URL + "/crm",
		Events: []string{webhooks.MessageReceived, webhooks.MessageStatus}, Format: webhooks.FormatStandard, AllNumbers: true}); err != nil {
		t.Fatal(err)
	}
	return &got
}

// profileServer fetches the server's CPU profile over the run from its --debug-addr, into
// file; the returned channel closes when it is written. It waits for the server to listen.
func profileServer(t *testing.T, debugURL string, run time.Duration, file string) <-chan struct{} {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		var resp *http.Response
		var err error
		for range 100 {
			resp, err = http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", debugURL, max(1, int(run.Seconds()))))
			if err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("server profile: %v", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(file)
		if err != nil {
			t.Errorf("server profile: %v", err)
			return
		}
		defer f.Close()
		if _, err := io.Copy(f, resp.Body); err != nil {
			t.Errorf("server profile: %v", err)
		}
	}()
	return done
}
