// Command switchboard runs the Switchboard server and its maintenance commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const usage = `Switchboard: run a WhatsApp Business workspace as a team, with access under control.

Usage:
  switchboard [serve] [--addr 127.0.0.1:8080] [--data ./data] [--demo]
  switchboard user create --email E --name N --role administrator --password-stdin
  switchboard user reset-password --email E --password-stdin
  switchboard user list
  switchboard audit verify
  switchboard audit verify-export FILE
  switchboard backup FILE
  switchboard security clear-allowlist
  switchboard migrate
  switchboard compact
  switchboard simulator [--addr 127.0.0.1:9090] [--webhook-url URL]
  switchboard dev seed --events N [--members 50] [--append]
  switchboard version

Every command takes --data DIR. Every flag can also be set as SWITCHBOARD_<NAME>,
for example SWITCHBOARD_DATA or SWITCHBOARD_BASE_URL. Run a command with -h for its flags.
`

// env is what a command may use from its surroundings; tests pass their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	cmd, rest := "serve", args
	if len(args) > 0 && (args[0] == "" || args[0][0] != '-') {
		cmd, rest = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, rest, e)
	case "user":
		err = userCommand(ctx, rest, e)
	case "audit":
		err = auditCommand(ctx, rest, e)
	case "backup":
		err = backup(ctx, rest, e)
	case "security":
		err = securityCommand(ctx, rest, e)
	case "migrate":
		err = migrate(ctx, rest, e)
	case "compact":
		err = compact(ctx, rest, e)
	case "simulator":
		err = simulatorCommand(ctx, rest, e)
	case "dev":
		err = devCommand(ctx, rest, e)
	case "version":
		fmt.Fprintln(stdout, "switchboard", version())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "switchboard: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if ec, ok := err.(exitCode); ok {
			return int(ec)
		}
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	return 0
}

// exitCode ends a command with a status and no further message (the command printed its own).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }
