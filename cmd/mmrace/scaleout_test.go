package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"mmrace/stress"
)

// TestStressShardsMerge is acceptance 5 through the command line: stress
// -shard 0/2 and -shard 1/2 with -runs run between them the executions of
// one unsharded run, and mmrace merge of their summaries has its totals and
// findings, with one reproducer per finding in one folder.
func TestStressShardsMerge(t *testing.T) {
	dir := t.TempDir()
	common := []string{"-variants", "rmap_walk_anon-no-anon_vma-lock", "-rules=false", "-runs", "1600", "-duration", "10m", "-seed", "5", "-json"}
	stressTo := func(name string, extra ...string) (string, *stress.Result) {
		out := filepath.Join(dir, name)
		code, stdout, stderr := runMain(append(append([]string{"stress", "-out", out}, extra...), common...)...)
		if code != 1 {
			t.Fatalf("stress %v: exit %d, want 1 (findings)\n%s", extra, code, stderr)
		}
		var r stress.Result
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("stress %v -json: %v", extra, err)
		}
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(out, "summary.json")
		if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		return path, &r
	}
	_, whole := stressTo("whole")
	p0, s0 := stressTo("s0", "-shard", "0/2", "-workers", "1")
	p1, s1 := stressTo("s1", "-shard", "1/2", "-workers", "2")
	if s0.Executions+s1.Executions != whole.Executions || whole.Executions != 1600 {
		t.Fatalf("executions %d + %d, unsharded %d", s0.Executions, s1.Executions, whole.Executions)
	}
	merged := filepath.Join(dir, "merged")
	code, stdout, stderr := runMain("merge", "-out", merged, p0, p1, "-json")
	if code != 1 || stderr != "" {
		t.Fatalf("merge: exit %d, stderr %q", code, stderr)
	}
	var m stress.Result
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatal(err)
	}
	sigs := func(r *stress.Result) map[string]int {
		out := map[string]int{}
		for _, f := range r.Findings {
			out[f.Signature] = f.Count
		}
		return out
	}
	if m.Executions != whole.Executions || m.Failures != whole.Failures || !reflect.DeepEqual(sigs(&m), sigs(whole)) {
		t.Fatalf("merged %d executions, %d failures, %v\nunsharded %d, %d, %v", m.Executions, m.Failures, sigs(&m), whole.Executions, whole.Failures, sigs(whole))
	}
	for _, f := range m.Findings {
		if filepath.Dir(f.Reproducer) != merged {
			t.Errorf("reproducer %s not in %s", f.Reproducer, merged)
		}
		// The reproducer replays to its finding.
		code, out, _ := runMain("replay", f.Reproducer, "-rules=false")
		if code != 1 || !strings.Contains(out, f.Invariant) {
			t.Errorf("replay %s: exit %d\n%s", f.Reproducer, code, out)
		}
	}
	t.Logf("%d executions, %d failures, %d signatures in the merge of 0/2 and 1/2 as unsharded", m.Executions, m.Failures, len(m.Findings))
}

// TestMergeReach: the reach matrices of two shards of a faithful -reach
// run merge into the unsharded run's matrix (every cell's count), and
// merge prints it as stress does.
func TestMergeReach(t *testing.T) {
	dir := t.TempDir()
	common := []string{"-reach", "-runs", "400", "-duration", "10m", "-seed", "3", "-json", "-workers", "1"}
	stressTo := func(name string, extra ...string) (string, *stress.Result) {
		code, stdout, stderr := runMain(append(append([]string{"stress", "-out", filepath.Join(dir, name)}, extra...), common...)...)
		if code != 0 {
			t.Fatalf("stress %v: exit %d\n%s", extra, code, stderr)
		}
		var r stress.Result
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name+".json")
		if err := os.WriteFile(path, []byte(stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		return path, &r
	}
	_, whole := stressTo("whole")
	p0, _ := stressTo("s0", "-shard", "0/2")
	p1, _ := stressTo("s1", "-shard", "1/2")
	code, stdout, stderr := runMain("merge", "-out", filepath.Join(dir, "merged"), p0, p1)
	if code != 0 || stderr != "" {
		t.Fatalf("merge: exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "reach: 400 runs;") || !strings.Contains(stdout, "the generators' gaps") {
		t.Fatalf("merge printed no reach matrix:\n%s", stdout)
	}
	var m stress.Result
	b, err := os.ReadFile(filepath.Join(dir, "merged", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(whole.ReachCells) == 0 || !reflect.DeepEqual(m.ReachCells, whole.ReachCells) {
		t.Fatalf("merged reach cells differ from the unsharded run's (%d and %d cells)", len(m.ReachCells), len(whole.ReachCells))
	}
}

// TestScaleoutBadInput: bad -shard, -runs and merge input is one line on
// stderr, exit 2, nothing written.
func TestScaleoutBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	notJSON := filepath.Join(dir, "prog.txt")
	os.WriteFile(notJSON, []byte("mm mm1\n"), 0o644)
	full := filepath.Join(dir, "full")
	os.MkdirAll(full, 0o755)
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	summary := filepath.Join(dir, "s0.json")
	os.WriteFile(summary, []byte(`{"mode":"controlled","seed":1,"shards":["0/2"],"findings":[{"signature":"x: y","count":1,"reproducer":"/nowhere/finding-001.txt"}]}`), 0o644)
	clean := filepath.Join(dir, "s1.json")
	os.WriteFile(clean, []byte(`{"mode":"controlled","seed":1,"shards":["1/2"]}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"stress", "-out", out, "-shard", "2/2"}, "want 0 <= i < N"},
		{[]string{"stress", "-out", out, "-shard", "0/0"}, "want 0 <= i < N"},
		{[]string{"stress", "-out", out, "-shard", "1"}, "want i/N"},
		{[]string{"stress", "-out", out, "-shard", "a/b"}, "decimal"},
		{[]string{"stress", "-out", out, "-runs", "-3"}, "-runs must not be negative"},
		{[]string{"merge", "-out", out}, "want -out DIR and one or more"},
		{[]string{"merge", summary}, "want -out DIR and one or more"},
		{[]string{"merge", "-out", out, "-bogus", summary}, "flag provided but not defined"},
		{[]string{"merge", "-out", out, filepath.Join(dir, "missing.json")}, "no such file"},
		{[]string{"merge", "-out", out, notJSON}, "not a stress summary"},
		{[]string{"merge", "-out", out, clean, clean}, "given twice"},
		{[]string{"merge", "-out", out, summary}, "reproducer /nowhere/finding-001.txt not found"},
		{[]string{"merge", "-out", full, summary}, "is not empty"},
	} {
		code, stdout, stderr := runMain(tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 and one line containing %q", tc.args, code, stderr, stdout, tc.want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatalf("%v wrote %s", tc.args, out)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
			t.Fatalf("%v left %v", tc.args, left)
		}
	}
}

// TestReplayLibFuzzerCrash: a libFuzzer crash file of FuzzKernel (written by
// scripts/libfuzzer-check.sh) replays with one command, exit 1 under its
// variant and 0 on the faithful kernel; the printed To reproduce command
// gives the same verdict; minimize reads it too.
func TestReplayLibFuzzerCrash(t *testing.T) {
	files, _ := filepath.Glob("../../fuzz/testdata/libfuzzer/FuzzKernel/crash-*")
	if len(files) == 0 {
		t.Fatal("no libFuzzer crash file in fuzz/testdata/libfuzzer/FuzzKernel")
	}
	crash := files[0]
	code, out, stderr := runMain("replay", crash, "-variants", "move_ptes-skip-rmap-locks", "-rules=false")
	if code != 1 || !strings.Contains(out, "CRASH FILE") || !strings.Contains(out, "libFuzzer") || !strings.Contains(out, "violation") {
		t.Fatalf("replay: exit %d, stderr %q\n%s", code, stderr, out)
	}
	verdict := func(s string) string { return s[strings.Index(s, "VERDICT"):strings.Index(s, "STORY")] }
	i := strings.Index(out, "go run ./cmd/mmrace ")
	cmd := strings.Fields(strings.SplitN(out[i:], "\n", 2)[0])[3:]
	code2, out2, _ := runMain(cmd...)
	if code2 != 1 || verdict(out2) != verdict(out) {
		t.Fatalf("%v: exit %d\n%s\n---\n%s", cmd, code2, out2, out)
	}
	if code, out, _ := runMain("replay", crash, "-rules=false"); code != 0 {
		t.Fatalf("faithful replay: exit %d\n%s", code, out)
	}
	code, out, _ = runMain("minimize", crash, "-variants", "move_ptes-skip-rmap-locks", "-rules=false", "-budget", "5s")
	if code != 1 || !strings.Contains(out, "minimized") {
		t.Fatalf("minimize: exit %d\n%s", code, out)
	}
}
