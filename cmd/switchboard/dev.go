package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/audit/auditgen"
	"github.com/switchboard/switchboard/internal/auth"
	"github.com/switchboard/switchboard/internal/authz"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/members"
)

// devCommand holds tools for developers; nothing here is for a production workspace.
func devCommand(ctx context.Context, args []string, e env) error {
	if len(args) > 0 && args[0] == "outbox" {
		return devOutbox(ctx, args[1:], e)
	}
	if len(args) == 0 || args[0] != "seed" {
		return errors.New("usage: switchboard dev seed --events N [--members 50] [--append] [--data DIR]\n" +
			"       switchboard dev outbox --count N --to ADDRESS --smtp-url URL --smtp-from ADDRESS [--data DIR]")
	}
	return devSeed(ctx, args[1:], e)
}

// devOutbox queues test e-mails for a running server to deliver: to measure delivery and to
// test that a killed server loses and repeats none of them.
func devOutbox(ctx context.Context, args []string, e env) error {
	var count int
	var to string
	var mf mailFlags
	_, common, err := parseCommon("dev outbox", args, e, func(fs *flag.FlagSet) {
		fs.IntVar(&count, "count", 100, "test e-mails to queue")
		fs.StringVar(&to, "to", "", "recipient")
		mf.register(fs)
	})
	if err != nil {
		return err
	}
	if count < 1 || to == "" {
		return errors.New("give --count 1 or more and --to ADDRESS")
	}
	core, err := openCoreWithMail(ctx, common, e, mf)
	if err != nil {
		return err
	}
	defer core.Close()
	if core.Mail == nil {
		return errors.New("give --smtp-url and --smtp-from (or SWITCHBOARD_SMTP_URL and SWITCHBOARD_SMTP_FROM)")
	}
	ctx = audit.WithActor(ctx, commandActor("dev outbox"))
	for i := 0; i < count; i++ {
		if err := core.Mail.SendTest(ctx, to, "switchboard dev outbox"); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "queued %d test e-mails to %s\n", count, to)
	return nil
}

// devSeed fills a workspace with members and a large, realistic activity log, to see the
// activity pages at scale and to measure them. The log is append-only, so seeded events can
// never be removed again: it refuses a log that already holds events unless --append says so.
func devSeed(ctx context.Context, args []string, e env) error {
	var (
		events, memberCount int
		appendToLog         bool
	)
	_, common, err := parseCommon("dev seed", args, e, func(fs *flag.FlagSet) {
		fs.IntVar(&events, "events", 100_000, "activity events to generate")
		fs.IntVar(&memberCount, "members", 50, "members to create (they act in the events)")
		fs.BoolVar(&appendToLog, "append", false, "add to an activity log that already holds events")
	})
	if err != nil {
		return err
	}
	if events < 0 || memberCount < 1 || memberCount > 1000 {
		return errors.New("--events must be 0 or more and --members from 1 to 1000")
	}
	core, err := openCore(ctx, common, e)
	if err != nil {
		return err
	}
	defer core.Close()

	var existing sql.NullInt64
	if err := core.DB.R.QueryRowContext(ctx, `SELECT max(id) FROM audit_events`).Scan(&existing); err != nil {
		return err
	}
	if existing.Valid && !appendToLog {
		return fmt.Errorf("the activity log in %s already holds events, and seeded ones can never be removed: "+
			"use an empty --data directory, or --append", common.DataDir)
	}

	ctx = audit.WithActor(ctx, commandActor("dev seed"))
	// The members join before the history they act in, so that event times keep growing with
	// ids (the time filter relies on it): their service runs on a clock set back to its start.
	step := 30 * time.Second
	clk := clock.NewFake(time.Now().Add(-time.Duration(events)*step - time.Minute))
	passwords, err := auth.NewVerifier(auth.DefaultPasswordParams)
	if err != nil {
		return err
	}
	svc := members.NewService(core.DB, core.Members.Store(), audit.New(core.DB, clk), passwords, clk)
	actors, err := seedMembers(ctx, svc, memberCount)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d members ready (random passwords; add yourself with `switchboard user create`)\n", len(actors))

	start := time.Now()
	last := start
	err = auditgen.Generate(ctx, core.DB, auditgen.Options{
		Events: events, Members: actors, Step: step, Seed: uint64(time.Now().UnixNano()),
		Progress: func(done int) {
			if time.Since(last) > 2*time.Second || done == events {
				last = time.Now()
				fmt.Fprintf(e.stdout, "%d/%d events (%.0f/s)\n", done, events, float64(done)/time.Since(start).Seconds())
			}
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "seeded %d events in %s\n", events, time.Since(start).Round(time.Millisecond))
	return nil
}

// seedMembers creates the members "Seed member N" (or finds them from an earlier run), with
// roles taken in turn from the built-in ones, and returns them as actors.
func seedMembers(ctx context.Context, svc *members.Service, n int) ([]audit.Actor, error) {
	names := auditgen.DefaultMembers()
	roles := []string{authz.RoleAgent, authz.RoleAgent, authz.RoleSupport, authz.RoleAnalyst, authz.RoleDeveloper, authz.RoleAuditor}
	out := make([]audit.Actor, 0, n)
	for i := range n {
		email := fmt.Sprintf("seed.member.%d@example.com", i+1)
		m, err := svc.Store().ByEmail(ctx, email)
		if errors.Is(err, members.ErrNotFound) {
			name := names[i%len(names)].Name
			if i >= len(names) {
				name = fmt.Sprintf("%s %d", name, i/len(names)+1)
			}
			m, err = svc.Create(ctx, members.NewMember{Email: email, Name: name, Password: rand.Text(), RoleKey: roles[i%len(roles)]})
		}
		if err != nil {
			return nil, fmt.Errorf("seed member %s: %w", email, err)
		}
		out = append(out, audit.MemberActor(m.ID, m.Name))
	}
	return out, nil
}
