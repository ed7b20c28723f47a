package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/demo"
)

func TestSimulatorCommandServesTheCloudAPI(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"simulator", "--addr", addr}, strings.NewReader(""), &out, &errOut, func(string) string { return "" })
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("simulator exited %d: %s", code, errOut.String())
		}
	}()
	var resp *http.Response
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v23.0/"+demo.WABAID+"/phone_numbers", nil)
		req.Header.Set("Authorization", "Bearer "+demo.Token)
		if resp, err = http.DefaultClient.Do(req); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("the simulator does not answer: %v", err)
	}
	defer resp.Body.Close()
	var page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK || len(page.Data) != 2 {
		t.Fatalf("phone numbers: %d %v %+v", resp.StatusCode, err, page)
	}
	if !strings.Contains(out.String(), "--graph-url http://"+addr) {
		t.Errorf("the simulator does not say how to use it: %q", out.String())
	}
	// A wrong token is refused as Meta does (code 190).
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v23.0/"+demo.WABAID+"/phone_numbers", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d, want 401", r2.StatusCode)
	}
}
