package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mmrace/oracle"
)

// needOracle skips a test where this machine cannot run the oracle's host
// side.
func needOracle(t *testing.T) {
	t.Helper()
	if _, err := oracle.Helper(); errors.Is(err, oracle.ErrUnavailable) {
		t.Skipf("skipped: %v", err)
	}
}

// TestDiffCommand runs `mmrace diff` on a program the model and the kernel
// agree on, and on one where a planted variant (mprotect that forgets
// vm_flags) makes them differ, in text and in JSON.
func TestDiffCommand(t *testing.T) {
	needOracle(t)
	dir := t.TempDir()
	prog := filepath.Join(dir, "prog.txt")
	src := "mm mm1\nsetup: mmap mm1 0x10+4 anon rw\n# a comment\nt1: store mm1 0x11 5\nt1: mprotect mm1 0x12+2 r\nt1: load mm1 0x11\n"
	if err := os.WriteFile(prog, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runMain("diff", prog)
	if code != 0 || !strings.Contains(out, "NO DIFFERENCE in 4 ops") || errs != "" {
		t.Fatalf("agreeing program: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runMain("diff", prog, "-variants", "test-mprotect-skips-vm_flags")
	for _, want := range []string{"DIFFERENCE at op 3 (line 5): t1: mprotect mm1 0x12+2 r", "kind: mprotect: vma-split", "\nhost ", "\nmodel ", "[0x12,0x14) r anon"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Fatalf("planted difference: exit %d, want %q in\n%s%s", code, want, out, errs)
		}
	}
	// The printed command reproduces the difference.
	i := strings.Index(out, "go run ./cmd/mmrace ")
	if i < 0 {
		t.Fatalf("no reproduce command in\n%s", out)
	}
	cmd := strings.Fields(strings.SplitN(out[i:], "\n", 2)[0])[3:]
	if code2, out2, _ := runMain(cmd...); code2 != 1 || !strings.Contains(out2, "kind: mprotect: vma-split") {
		t.Fatalf("%v: exit %d\n%s", cmd, code2, out2)
	}
	code, out, _ = runMain("diff", prog, "-variants", "test-mprotect-skips-vm_flags", "-json")
	var doc struct {
		File       string
		Differs    bool
		Difference struct {
			Kind, Op string
			Line     int
			Host     struct{ MMs []oracle.MMState }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 1 {
		t.Fatalf("-json: exit %d, %v\n%s", code, err, out)
	}
	if !doc.Differs || doc.Difference.Kind != "mprotect: vma-split" || doc.Difference.Line != 5 || len(doc.Difference.Host.MMs) != 1 {
		t.Errorf("-json: %+v", doc)
	}
	// A corpus scenario is read like a program.
	if code, out, _ := runMain("diff", "../../corpus/mremap_to_a_fresh_vma_needs_no_rmap_locks.txt"); code != 0 {
		t.Errorf("corpus scenario: exit %d\n%s", code, out)
	}
}

// TestDiffBadInput: bad command lines and programs exit 2 with one line on
// stderr and nothing on stdout.
func TestDiffBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	good := filepath.Join(dir, "good.txt")
	os.WriteFile(bad, []byte("mm mm1\nt1: mremap mm1 0x10+2 sideways\n"), 0o644)
	os.WriteFile(good, []byte("mm mm1\nt1: load mm1 0x10\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"diff"}, "expected a program or scenario file"},
		{[]string{"diff", "-json"}, "expected a program or scenario file"},
		{[]string{"diff", filepath.Join(dir, "none.txt")}, "no such file"},
		{[]string{"diff", bad}, bad + ":2: mremap: expected"},
		{[]string{"diff", good, "-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"diff", good, "-variants", "nope"}, `unknown variant "nope"`},
		{[]string{"diff", good, "extra"}, `unexpected argument "extra"`},
	} {
		code, out, errs := runMain(tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 and one line containing %q", tc.args, code, errs, out, tc.want)
		}
	}
}
