package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/switchboard/switchboard/internal/audit"
	"github.com/switchboard/switchboard/internal/clock"
	"github.com/switchboard/switchboard/internal/secrets"
)

const auditUsage = "usage: switchboard audit verify [--data DIR] [--public-key FILE] [--checkpoints FILE] | switchboard audit verify-export [--public-key FILE] FILE"

func auditCommand(ctx context.Context, args []string, e env) error {
	if len(args) > 0 && args[0] == "verify-export" {
		return verifyExport(args[1:], e)
	}
	if len(args) == 0 || args[0] != "verify" {
		return errors.New(auditUsage)
	}
	var pubFile, cpFile string
	_, common, err := parseCommon("audit verify", args[1:], e, func(fs *flag.FlagSet) {
		fs.StringVar(&pubFile, "public-key", "", "the checkpoint public key (a copy of DATA/"+audit.PublicKeyFileName+" kept elsewhere); default: derived from the secret key")
		fs.StringVar(&cpFile, "checkpoints", "", "the checkpoint file; default DATA/"+audit.CheckpointFileName)
	})
	if err != nil {
		return err
	}
	// Verification only reads: it must neither create a database where there is none nor
	// migrate the one it checks.
	d, err := openExisting(ctx, common.DataDir)
	if err != nil {
		return err
	}
	defer d.Close()
	log := audit.New(d, clock.System{})
	rep, err := log.Verify(ctx)
	if err != nil {
		return err
	}
	failed := false
	switch {
	case !rep.Intact:
		fmt.Fprintf(e.stdout, "BROKEN at event %d: %s (%s checked before it)\n", rep.BrokenID, rep.Reason, plural(rep.Checked, "event"))
		failed = true
	case rep.Events == 0:
		fmt.Fprintln(e.stdout, "intact: the activity log is empty")
	default:
		from := ""
		if rep.Checkpoint.FirstID > 0 {
			from = fmt.Sprintf(" (from the retention checkpoint at event %d)", rep.Checkpoint.FirstID)
		}
		fmt.Fprintf(e.stdout, "intact: %d events, up to event %d at %s%s\n", rep.Events, rep.LastID, rep.LastAt.UTC().Format(time.RFC3339), from)
	}

	pub, keyNote, err := verifyKey(common.DataDir, pubFile, e.getenv)
	if err != nil {
		return err
	}
	if cpFile == "" {
		cpFile = filepath.Join(common.DataDir, audit.CheckpointFileName)
	}
	var file io.Reader
	if f, err := os.Open(cpFile); err == nil {
		defer f.Close()
		file = f
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	crep, err := log.VerifyCheckpoints(ctx, pub, file)
	if err != nil {
		return err
	}
	switch {
	case !crep.OK():
		failed = true
		fmt.Fprintf(e.stdout, "CHECKPOINTS FAIL (%s, %d in the database, %d in %s):\n", keyNote, crep.Stored, crep.InFile, cpFile)
		for _, p := range crep.Problems {
			fmt.Fprintf(e.stdout, "  - %s\n", p)
		}
	case !crep.HasLatest:
		fmt.Fprintf(e.stdout, "not anchored: no signed checkpoint yet, so %s could be cut off the end unseen (the server signs one every minute with new events, and at shutdown)\n", plural(crep.Unanchored, "event"))
	default:
		cp := crep.Latest
		anchor := fmt.Sprintf("checkpoint %d of %s signs event %d (hash %s…)", cp.Seq, cp.Time().Format(time.RFC3339), cp.EventID, audit.ShortHash(cp.EventHash))
		if crep.AnchorPruned {
			anchor += ", since pruned by retention"
		}
		fmt.Fprintf(e.stdout, "anchored: %s; %s after it not anchored yet. %d checkpoints agree in the database and %s; %s.\n",
			anchor, plural(crep.Unanchored, "event"), crep.Stored, cpFile, keyNote)
	}
	if failed {
		return exitCode(1)
	}
	return nil
}

// verifyKey finds the key checkpoints must be signed with: the one given, else the one derived
// from the secret key (the key the server signs with), else DATA/audit-signing.pub. The note
// says which, with its fingerprint, for the operator to compare with the copy they keep.
func verifyKey(dataDir, pubFile string, getenv func(string) string) (ed25519.PublicKey, string, error) {
	if pubFile != "" {
		pub, err := readPublicKey(pubFile)
		if err != nil {
			return nil, "", err
		}
		return pub, "key " + audit.KeyID(pub) + " from " + pubFile, nil
	}
	secret, err := secrets.ReadKey(dataDir, getenv)
	if err == nil {
		key, err := audit.SigningKey(secret)
		if err != nil {
			return nil, "", err
		}
		pub := key.Public().(ed25519.PublicKey)
		return pub, "key " + audit.KeyID(pub) + " derived from the secret key", nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, "", err
	}
	path := filepath.Join(dataDir, audit.PublicKeyFileName)
	pub, err := readPublicKey(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "no public key found", nil
	}
	if err != nil {
		return nil, "", err
	}
	return pub, "key " + audit.KeyID(pub) + " from " + path, nil
}

func readPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pub, err := audit.ParsePublicKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pub, nil
}

// verifyExport checks an exported activity log (CSV or JSON Lines) on its own, without the
// database: each event's hash, its link to the event before it in the file, and the signed
// checkpoint at its end.
func verifyExport(args []string, e env) error {
	fs := flag.NewFlagSet("audit verify-export", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	pubFile := fs.String("public-key", "", "the workspace's checkpoint public key (DATA/"+audit.PublicKeyFileName+"); default: the key the export names, which proves only that the file is consistent")
	noCheckpoint := fs.Bool("no-checkpoint", false, "accept an export without a signed checkpoint (made before checkpoints existed)")
	if err := fs.Parse(args); err != nil {
		return exitIfHelp(err, e)
	}
	// The file may come before the flags, too.
	var files []string
	for fs.NArg() > 0 {
		files = append(files, fs.Arg(0))
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return exitIfHelp(err, e)
		}
	}
	if len(files) != 1 {
		return errors.New("usage: switchboard audit verify-export [--public-key FILE] FILE")
	}
	var pub ed25519.PublicKey
	if *pubFile != "" {
		var err error
		if pub, err = readPublicKey(*pubFile); err != nil {
			return err
		}
	}
	f, err := os.Open(files[0])
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := audit.VerifyExportWith(f, pub)
	if err != nil {
		return err
	}
	if !rep.Intact {
		fmt.Fprintf(e.stdout, "BROKEN at event %d: %s (%s checked before it)\n", rep.BrokenID, rep.Reason, plural(rep.Checked, "event"))
		if a := rep.Export; a != nil && rep.Reason == audit.ReasonExportCut {
			fmt.Fprintf(e.stdout, "  the file ends at event %d; checkpoint %d signs event %d (hash %s…)\n", rep.LastID, a.Checkpoint.Seq, a.Checkpoint.EventID, audit.ShortHash(a.Checkpoint.EventHash))
		}
		return exitCode(1)
	}
	gaps := ""
	if rep.Gaps > 0 {
		gaps = fmt.Sprintf("; %d gaps from the export's filter, across which links cannot be checked from the file alone", rep.Gaps)
	}
	fmt.Fprintf(e.stdout, "intact: %d events, %d to %d%s\n", rep.Events, rep.FirstID, rep.LastID, gaps)
	a := rep.Export
	if a == nil {
		if *noCheckpoint {
			fmt.Fprintln(e.stdout, "not anchored: the export carries no signed checkpoint, so rows cut off its end would not show")
			return nil
		}
		fmt.Fprintln(e.stdout, "BROKEN: the export carries no signed checkpoint at its end: its end was cut off, or it was made before checkpoints existed (check it with --no-checkpoint to accept that)")
		return exitCode(1)
	}
	key := "key " + a.KeyID
	if a.KeyFromFile {
		key += " named by the export itself (give --public-key to check it against the workspace's key)"
	}
	switch {
	case a.Complete:
		fmt.Fprintf(e.stdout, "anchored: ends at event %d, signed by checkpoint %d of %s with %s\n", a.Checkpoint.EventID, a.Checkpoint.Seq, a.Checkpoint.Time().Format(time.RFC3339), key)
	default:
		fmt.Fprintf(e.stdout, "signed: checkpoint %d of %s (event %d) verifies with %s, but this filtered export (%s) does not hold that event, so rows cut off its end would not show\n",
			a.Checkpoint.Seq, a.Checkpoint.Time().Format(time.RFC3339), a.Checkpoint.EventID, key, a.Filter)
	}
	return nil
}

// plural is "1 event", "3 events".
func plural(n int64, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, one)
}
