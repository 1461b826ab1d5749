package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckBadInput: bad flags, unknown variants, bad programs, an
// unusable -out: one line on stderr, exit 2, nothing written.
func TestCheckBadInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	bad := filepath.Join(dir, "bad.txt")
	refused := filepath.Join(dir, "refused.txt")
	os.WriteFile(file, nil, 0o644)
	os.WriteFile(bad, []byte("mm mm1\nt1: munmap mm1 0x10\n"), 0o644)
	os.WriteFile(refused, []byte("mm mm1\nsetup: munmap mm1 0x300+4\nt1: fault mm1 0x10 read\n"), 0o644)
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "-variants is required"},
		{[]string{"-variants", "faithful"}, "names no variant"},
		{[]string{"-variants", "nope"}, `unknown variant "nope"`},
		{[]string{"-variants", d11bVariant, "-budget", "x"}, "-budget"},
		{[]string{"-variants", d11bVariant, "-budget", "0"}, "-budget"},
		{[]string{"-variants", d11bVariant, "-depth", "0"}, "must be positive"},
		{[]string{"-variants", d11bVariant, "-max", "0"}, "must be positive"},
		{[]string{"-variants", d11bVariant, bad}, bad + ":2: munmap: expected a range"},
		{[]string{"-variants", d11bVariant, refused}, refused + ":2"},
		{[]string{"-variants", d11bVariant, filepath.Join(dir, "none.txt")}, "no such file"},
		{[]string{"-variants", d11bVariant, "-out", file}, "not a directory"},
		{[]string{"-variants", d11bVariant, "-bogus"}, "flag provided but not defined"},
	} {
		args := append([]string{"check", "-out", out}, tc.args...)
		code, stdout, stderr := runMain(args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.args, code, stdout, stderr, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v: %s was written", tc.args, out)
		}
	}
}

// TestCheckGivenProgram: on the README's program, the deadlock variant is
// found with a counterexample and the command that replays it; the
// faithful search of a never-reached branch says not exercised.
func TestCheckGivenProgram(t *testing.T) {
	prog := writeProgram(t, "d11b.txt", d11b)
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, _ := runMain("check", "-variants", d11bVariant, "-budget", "500", "-minimize", "1s", "-out", out, prog)
	if code != exitFinding || !strings.Contains(stdout, "VERDICT: 1 distinct counterexample") || !strings.Contains(stdout, "go run ./cmd/mmrace replay") {
		t.Fatalf("check: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = runMain("check", "-variants", "test-relocate_vma_down-ignores-overlap", "-budget", "500", "-out", out)
	if code != exitClean || !strings.Contains(stdout, "VERDICT: not exercised") || strings.Contains(stdout, "no violation") {
		t.Fatalf("check of an unreached branch: exit %d\n%s", code, stdout)
	}
}
