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
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/switchboard/switchboard/internal/app"
	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/config"
	"github.com/switchboard/switchboard/internal/db"
	"github.com/switchboard/switchboard/internal/members"
)

// commandActor is who the activity log names for changes made from the command line: the
// system, with the command that was run.
func commandActor(command string) audit.Actor {
	return audit.Actor{Type: audit.ActorSystem, Name: "command line: switchboard " + command}
}

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
	return openCoreWithMail(ctx, c, e, mailFlags{})
}

// mailFlags let a command queue e-mail (an alert it raises) for the server to deliver: the same
// --smtp-url, --smtp-from and --base-url as the server, usually from SWITCHBOARD_* variables.
type mailFlags struct{ smtpURL, smtpFrom, baseURL string }

func (m *mailFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.smtpURL, "smtp-url", "", "mail server, as for serve: alerts this command raises are e-mailed")
	fs.StringVar(&m.smtpFrom, "smtp-from", "", "address mail is sent from, as for serve")
	fs.StringVar(&m.baseURL, "base-url", "", "public URL of the instance, for links in e-mail")
}

func openCoreWithMail(ctx context.Context, c config.Common, e env, m mailFlags) (*app.Core, error) {
	logger, err := newLogger(e.stderr, c.LogLevel, c.LogFormat)
	if err != nil {
		return nil, err
	}
	smtp, err := config.ParseSMTP(m.smtpURL, m.smtpFrom)
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(m.baseURL, "/")
	if base == "" {
		base = "http://localhost:8080"
	}
	return app.OpenCore(ctx, app.CoreOptions{DataDir: c.DataDir, Logger: logger, Getenv: e.getenv, SMTP: smtp, BaseURL: base})
}

const userUsage = `usage:
  switchboard user create --email E --name N --role ROLE --password-stdin
  switchboard user reset-password --email E --password-stdin
  switchboard user list`

func userCommand(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return errors.New(userUsage)
	}
	switch args[0] {
	case "create":
		return userCreate(ctx, args[1:], e)
	case "reset-password":
		return userResetPassword(ctx, args[1:], e)
	case "list":
		return userList(ctx, args[1:], e)
	}
	return errors.New(userUsage)
}

// readPassword takes the first line of standard input: a password on the command line would be
// visible to every user of the machine (ps).
func readPassword(e env, given bool) (string, error) {
	if !given {
		return "", errors.New("give the password on standard input with --password-stdin")
	}
	password, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && password == "" {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	return strings.TrimRight(password, "\r\n"), nil
}

// printFieldErrors reports a form's refusals under the flags that carried the values.
func printFieldErrors(e env, err error) error {
	var fe members.FieldErrors
	if !errors.As(err, &fe) {
		return err
	}
	for field, msg := range fe {
		fmt.Fprintf(e.stderr, "--%s: %s\n", strings.Replace(field, "password", "password-stdin", 1), msg)
	}
	return exitCode(1)
}

func userCreate(ctx context.Context, args []string, e env) error {
	var email, name, role string
	var admin, passwordStdin bool
	var mf mailFlags
	_, common, err := parseCommon("user create", args, e, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the member's e-mail address")
		fs.StringVar(&name, "name", "", "the member's name")
		fs.StringVar(&role, "role", "", "built-in role: "+strings.Join(builtinRoleKeys(), ", "))
		fs.BoolVar(&admin, "admin", false, "shorthand for --role administrator")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
		mf.register(fs)
	})
	if err != nil {
		return err
	}
	if admin {
		role = authz.RoleAdministrator
	}
	password, err := readPassword(e, passwordStdin)
	if err != nil {
		return err
	}
	core, err := openCoreWithMail(ctx, common, e, mf)
	if err != nil {
		return err
	}
	defer core.Close()
	ctx = audit.WithActor(ctx, commandActor("user create"))
	// A new Administrator raises the alert the Alerts page promises, as a promotion does.
	m, err := core.Members.CreateFromCommandLine(ctx, members.NewMember{Email: email, Name: name, Password: password, RoleKey: role})
	if err != nil {
		return printFieldErrors(e, err)
	}
	fmt.Fprintf(e.stdout, "created member %d: %s <%s>, %s\n", m.ID, m.Name, m.Email, m.RoleName)
	return nil
}

// userResetPassword is for the owner who is locked out: whoever can run commands on the server
// can read the database anyway. Sessions end; two-factor authentication stays.
func userResetPassword(ctx context.Context, args []string, e env) error {
	var email string
	var passwordStdin bool
	_, common, err := parseCommon("user reset-password", args, e, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the member's e-mail address")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the new password from the first line of standard input")
	})
	if err != nil {
		return err
	}
	if email == "" {
		return errors.New("give the member's address with --email (switchboard user list shows them)")
	}
	password, err := readPassword(e, passwordStdin)
	if err != nil {
		return err
	}
	core, err := openCore(ctx, common, e)
	if err != nil {
		return err
	}
	defer core.Close()
	ctx = audit.WithActor(ctx, commandActor("user reset-password"))
	m, err := core.Members.SetPasswordByEmail(ctx, email, password)
	if errors.Is(err, members.ErrNotFound) {
		return fmt.Errorf("no member has the address %q (switchboard user list shows them)", email)
	}
	if err != nil {
		return printFieldErrors(e, err)
	}
	tfa := ""
	if m.TwoFactorEnabled {
		tfa = " Two-factor authentication stays on: sign in with a code (or a recovery code)."
	}
	fmt.Fprintf(e.stdout, "password changed for member %d: %s <%s>; every session ended.%s\n", m.ID, m.Name, m.Email, tfa)
	return nil
}

func userList(ctx context.Context, args []string, e env) error {
	_, common, err := parseCommon("user list", args, e, nil)
	if err != nil {
		return err
	}
	core, err := openCore(ctx, common, e)
	if err != nil {
		return err
	}
	defer core.Close()
	ctx = audit.WithActor(ctx, commandActor("user list"))
	list, err := core.Members.ListFromCommandLine(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tE-MAIL\tNAME\tROLE\tSTATUS\t2FA\tLAST SIGN-IN")
	for _, m := range list {
		tfa, last := "off", "never"
		if m.TwoFactorEnabled {
			tfa = "on"
		}
		if !m.LastSignInAt.IsZero() {
			last = m.LastSignInAt.UTC().Format(time.RFC3339)
		}
		// Names are members' own text: no control characters reach the terminal.
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, printable(m.Email), printable(m.Name), printable(m.RoleName), m.Status, tfa, last)
	}
	return w.Flush()
}

func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
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
	// A backup is a copy of every customer's data; the log says where it went.
	recordDatabaseCommand(ctx, e, d, "backup", "database.backed_up", audit.Change{Field: "file", After: dest})
	fmt.Fprintf(e.stdout, "backed up %s to %s\n", d.Path, dest)
	return nil
}

// recordDatabaseCommand writes a command's event about the database file as a whole. Its work
// is done by then, so a database that cannot take the event (a schema older than this release,
// which backup is run before upgrading; a read-only file) gets a warning, not a failed command.
func recordDatabaseCommand(ctx context.Context, e env, d *db.DB, command, action string, changes ...audit.Change) {
	_, err := audit.New(d, clock.System{}).Record(ctx, audit.Event{Actor: commandActor(command), Action: action,
		Target: audit.Target{Type: "database", ID: db.FileName, Name: d.Path}, Changes: changes})
	if err != nil {
		fmt.Fprintf(e.stderr, "switchboard %s: done, but not recorded in the activity log: %v\n", command, err)
	}
}

// openExisting opens the database of dataDir without creating or migrating it.
func openExisting(ctx context.Context, dataDir string) (*db.DB, error) {
	src := filepath.Join(dataDir, db.FileName)
	if _, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("no database at %s: %w", src, err)
	}
	return db.OpenFile(ctx, src)
}

// compact rewrites the database with the page size new databases have, with the server
// stopped: db.Compact refuses while the server has the file open.
func compact(ctx context.Context, args []string, e env) error {
	fs, common, err := parseCommon("compact", args, e, nil)
	if err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errors.New("usage: switchboard compact [--data DIR]")
	}
	path := filepath.Join(common.DataDir, db.FileName)
	start := time.Now()
	before, after, err := db.Compact(ctx, path)
	if err != nil {
		return err
	}
	d, err := openExisting(ctx, common.DataDir)
	if err != nil {
		return err
	}
	defer d.Close()
	recordDatabaseCommand(ctx, e, d, "compact", "database.compacted",
		audit.Change{Field: "page_size", Before: before.PageSize, After: after.PageSize},
		audit.Change{Field: "bytes", Before: before.Bytes(), After: after.Bytes()})
	fmt.Fprintf(e.stdout, "compacted %s in %v: %d-byte pages, %.1f MB (%d pages free) → %d-byte pages, %.1f MB\n",
		path, time.Since(start).Round(time.Millisecond), before.PageSize, float64(before.Bytes())/1e6, before.FreePages,
		after.PageSize, float64(after.Bytes())/1e6)
	return nil
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
