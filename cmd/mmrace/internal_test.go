package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mmrace/fuzz"
	"mmrace/hunt"
	"mmrace/kernelsim"
	"mmrace/stress"
)

// TestInternalErrorIsNeverAFinding plants an internal error of the harness
// (the test-only variant test-harness-internal-error fails every migration
// of a mapped folio with one) and checks that hunt, run, minimize, stress
// and the fuzz target report it loudly as the harness's own failure and
// never count it as a detection.
func TestInternalErrorIsNeverAFinding(t *testing.T) {
	const planted = "test-harness-internal-error"
	v, _ := kernelsim.LookupVariant(planted)

	// hunt: the variant's runs are internal errors, not detections, and the
	// hunt fails.
	res, err := hunt.Run(hunt.Options{Variants: []kernelsim.Variant{v}, PerVariant: time.Minute, PerVariantRuns: 300, MinimizeBudget: time.Second, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	row := res.Variants[0]
	if row.Detected || row.Semantic.Detected || row.Rules.Detected {
		t.Errorf("hunt counted an internal error as a detection: %+v", row)
	}
	if row.Semantic.InternalErrors == 0 || res.InternalErrors() == 0 || res.OK() {
		t.Errorf("hunt did not report the internal errors: %+v, OK=%v", row, res.OK())
	}

	// run and minimize: exit 3, loud, not 1.
	dir := t.TempDir()
	prog := filepath.Join(dir, "prog.txt")
	src := "mm mm1\nsetup: mmap mm1 0x10+4 anon rw\nsetup: store mm1 0x10 1\nt1: migrate mm1 0x10\nt2: load mm1 0x10\n"
	if err := os.WriteFile(prog, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"run", prog, "-variants", planted, "-runs", "20"},
		{"minimize", prog, "-variants", planted, "-runs", "20", "-budget", "2s"},
	} {
		code, out, errOut := runMain(args...)
		if code != exitInternal || !strings.Contains(out, "MMRACE INTERNAL ERROR") || !strings.Contains(errOut, "MMRACE INTERNAL ERROR") {
			t.Errorf("%v: exit %d, want %d with a loud report\nstdout:\n%s\nstderr:\n%s", args, code, exitInternal, out, errOut)
		}
		if strings.Contains(out, "minimized") {
			t.Errorf("%v: minimized an internal error:\n%s", args, out)
		}
	}

	// stress: counted apart from findings.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sres, err := stress.Run(ctx, stress.Options{Variants: kernelsim.Variants{planted: true}, Workers: 1, Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sres.InternalErrors == 0 || len(sres.Findings) != 0 || sres.Failures != 0 {
		t.Errorf("stress: %d internal errors, %d findings, %d failures; want internal errors only", sres.InternalErrors, len(sres.Findings), sres.Failures)
	}

	// The fuzz target's run: an internal error, not a finding.
	cfg := fuzz.Config{Variants: kernelsim.Variants{planted: true}}
	seen := false
	for _, s := range fuzz.Seeds() {
		rep := fuzz.Run(s, cfg)
		if rep.Finding() && rep.Verdict.Violation.Invariant == "internal-error" {
			t.Fatalf("an internal error classified as a finding: %s", rep.Summary())
		}
		seen = seen || rep.InternalError()
	}
	if !seen {
		t.Error("no seed migrates a mapped folio: the planted error never fired")
	}
}
