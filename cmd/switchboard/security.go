package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard/switchboard/internal/audit"
)

// securityCommand is the way back in when the IP allow-list shuts everyone out: whoever can run
// commands on the server may clear it, and the activity log names the command that did.
func securityCommand(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "clear-allowlist" {
		return errors.New("usage: switchboard security clear-allowlist [--data DIR]")
	}
	_, common, err := parseCommon("security clear-allowlist", args[1:], e, nil)
	if err != nil {
		return err
	}
	core, err := openCore(ctx, common, e)
	if err != nil {
		return err
	}
	defer core.Close()
	actor := audit.SystemActor("switchboard security clear-allowlist")
	n, err := core.AllowList.Clear(ctx, actor)
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintln(e.stdout, "the IP allow-list was empty: members can sign in from any address")
		return nil
	}
	fmt.Fprintf(e.stdout, "cleared the IP allow-list (%d networks): members can sign in from any address\n", n)
	return nil
}
