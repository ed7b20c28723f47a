package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
)

// commandActor is who the activity log names for changes made from the command line.
var commandActor = audit.Actor{Type: audit.ActorSystem, Name: "command line"}

func parseCommon(name string, args []string, e env, extra func(*flag.FlagSet)) (*flag.FlagSet, config.Common, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var c config.Common
	config.RegisterCommon(fs, &c)
	if extra != nil {
		extra(fs)
	}
	if err := config.Parse(fs, args, e.getenv); err != nil {
		return nil, c, exitIfHelp(err, e)
	}
	if _, err := newLogger(e.stderr, c.LogLevel, c.LogFormat); err != nil {
		return nil, c, err
	}
	return fs, c, nil
}

func openCore(ctx context.Context, c config.Common, e env) (*app.Core, error) {
	logger, err := newLogger(e.stderr, c.LogLevel, c.LogFormat)
	if err != nil {
		return nil, err
	}
	return app.OpenCore(ctx, app.CoreOptions{DataDir: c.DataDir, Logger: logger, Getenv: e.getenv})
}

func userCommand(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: switchboard user create --email E --name N --role ROLE --password-stdin")
	}
	var email, name, role string
	var admin, passwordStdin bool
	_, common, err := parseCommon("user create", args[1:], e, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the member's e-mail address")
		fs.StringVar(&name, "name", "", "the member's name")
		fs.StringVar(&role, "role", "", "built-in role: "+strings.Join(builtinRoleKeys(), ", "))
		fs.BoolVar(&admin, "admin", false, "shorthand for --role administrator")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	})
	if err != nil {
		return err
	}
	if admin {
		role = authz.RoleAdministrator
	}
	if !passwordStdin {
		// A password on the command line would be visible to every user of the machine (ps).
		return errors.New("give the password on standard input with --password-stdin")
	}
	password, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && password == "" {
		return fmt.Errorf("read password from standard input: %w", err)
	}
	password = strings.TrimRight(password, "\r\n")

	core, err := openCore(ctx, common, e)
	if err != nil {
		return err
	}
	defer core.Close()
	ctx = audit.WithActor(ctx, commandActor)
	m, err := core.Members.Create(ctx, members.NewMember{Email: email, Name: name, Password: password, RoleKey: role})
	var fe members.FieldErrors
	if errors.As(err, &fe) {
		for field, msg := range fe {
			fmt.Fprintf(e.stderr, "--%s: %s\n", strings.Replace(field, "password", "password-stdin", 1), msg)
		}
		return exitCode(1)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created member %d: %s <%s>, %s\n", m.ID, m.Name, m.Email, m.RoleName)
	return nil
}

func builtinRoleKeys() []string {
	var keys []string
	for _, r := range authz.BuiltinRoles() {
		keys = append(keys, r.Key)
	}
	return keys
}

func backup(ctx context.Context, args []string, e env) error {
	fs, common, err := parseCommon("backup", args, e, nil)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: switchboard backup [--data DIR] FILE")
	}
	dest, err := filepath.Abs(fs.Arg(0))
	if err != nil {
		return err
	}
	d, err := openExisting(ctx, common.DataDir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Backup(ctx, dest); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backed up %s to %s\n", d.Path, dest)
	return nil
}

// openExisting opens the database of dataDir without creating or migrating it.
func openExisting(ctx context.Context, dataDir string) (*db.DB, error) {
	src := filepath.Join(dataDir, db.FileName)
	if _, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("no database at %s: %w", src, err)
	}
	return db.OpenFile(ctx, src)
}

func migrate(ctx context.Context, args []string, e env) error {
	_, common, err := parseCommon("migrate", args, e, nil)
	if err != nil {
		return err
	}
	d, applied, err := db.OpenAndMigrate(ctx, common.DataDir)
	if err != nil {
		return err
	}
	defer d.Close()
	for _, name := range applied {
		fmt.Fprintf(e.stdout, "applied %s\n", name)
	}
	fmt.Fprintf(e.stdout, "database %s is up to date\n", d.Path)
	return nil
}

func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}
