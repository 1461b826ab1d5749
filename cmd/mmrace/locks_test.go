package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mmrace/locks"
)

// TestLocksBadInput: bad flags, an unknown site, an unwritable -out: one
// line on stderr, exit 2, nothing written.
func TestLocksBadInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-budget", "x"}, "-budget"},
		{[]string{"-budget", "0"}, "-budget"},
		{[]string{"-sites", "no_such_function"}, "names no acquisition site"},
		{[]string{"-sites", "["}, "-sites"},
		{[]string{"-kinds", "delete"}, "unknown mutant kind"},
		{[]string{"-workers", "0"}, "-workers"},
		{[]string{"-sites", "vmaLinkFile:vma_lock#1"}, "no mutant selected"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"-out", file}, "not a directory"},
		{[]string{"-out", filepath.Join(file, "sub")}, "-out"},
	} {
		args := append([]string{"locks", "-out", out, "-budget", "5"}, tc.args...)
		code, stdout, stderr := runMain(args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", tc.args, code, stdout, stderr, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v: %s was written", tc.args, out)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("files left in %s: %v", dir, ents)
	}
}

func TestLocksList(t *testing.T) {
	code, out, errs := runMain("locks", "-list", "-sites", "mm/memory.c,pmdAlloc")
	if code != exitClean || errs != "" || !strings.Contains(out, "pmdAlloc:page_table_lock#1") || !strings.Contains(out, "__pmd_alloc") {
		t.Fatalf("locks -list: exit %d, stderr %q\n%s", code, errs, out)
	}
}

// TestLocksRun runs one mutant that the search kills, then the replay
// command it prints, which must fail the same way.
func TestLocksRun(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runMain("locks", "-sites", "rmapWalk:anon_vma_rwsem#1", "-kinds", "remove", "-budget", "400", "-out", dir, "-json")
	if code != exitClean || errs != "" {
		t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
	}
	var rep locks.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || rep.Results[0].Verdict != locks.Killed {
		t.Fatalf("%+v", rep.Results)
	}
	r := rep.Results[0]
	for _, f := range []string{r.Scenario, r.Timeline, filepath.Join(dir, "index.html")} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	page, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	if !strings.Contains(string(page), `href="timelines/`) {
		t.Errorf("index.html links no timeline")
	}
	args := strings.Fields(strings.TrimPrefix(r.Replay, "go run ./cmd/mmrace "))
	for i, a := range args {
		args[i] = strings.Trim(a, "'")
	}
	code, rout, errs := runMain(args...)
	if code != exitFinding || errs != "" || !strings.Contains(rout, "violation in run: "+r.Invariant) {
		t.Errorf("%s: exit %d, stderr %q\n%s", r.Replay, code, errs, rout)
	}
	// The text table of the same (finished) run.
	code, out, _ = runMain("locks", "-sites", "rmapWalk:anon_vma_rwsem#1", "-kinds", "remove", "-budget", "400", "-out", dir)
	if code != exitClean || !strings.Contains(out, "killed: "+r.Invariant) || !strings.Contains(out, "kill rate over exercised mutants: 1/1 = 100%") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
}

// TestLocksInterrupt: interrupted at its first progress line (one mutant
// finished), locks prints the finished row, says how many were not run
// and exits 0; the rerun with the same -out finishes the rest only.
func TestLocksInterrupt(t *testing.T) {
	dir := t.TempDir()
	args := []string{"locks", "-sites", "pmdAlloc:page_table_lock#1,pteAlloc:ptl#1", "-budget", "200", "-workers", "1", "-out", dir}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &interruptingWriter{cancel: cancel}
	var stdout bytes.Buffer
	code := runContext(ctx, args, &stdout, stderr)
	out := stdout.String()
	if code != exitClean || !strings.Contains(out, "INTERRUPTED: ") || !strings.HasPrefix(stderr.String(), "[1] ") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	code, out, errs := runMain(args...)
	if code != exitClean || strings.Contains(out, "INTERRUPTED") || !strings.Contains(out, "4 mutants selected, 4 finished") || strings.Count(errs, "\n") >= 4 {
		t.Errorf("rerun: exit %d\n%s\nprogress:\n%s", code, out, errs)
	}
}
