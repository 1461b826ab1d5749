package stress_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
	"mmrace/stress"
)

// often is a variant that fails in about one execution in a hundred.
var often = kernelsim.Variants{"rmap_walk_anon-no-anon_vma-lock": true}

func runs(t *testing.T, o stress.Options) *stress.Result {
	t.Helper()
	res, err := stress.Run(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// findings maps each signature to its count and example index.
func findings(r *stress.Result) map[string][2]int64 {
	m := map[string][2]int64{}
	for _, f := range r.Findings {
		m[f.Signature] = [2]int64{int64(f.Count), f.Index}
	}
	return m
}

// TestShardsCoverOneRun is acceptance 5: shards 0/2 and 1/2 of a run with an
// execution budget run, between them, exactly the executions of the
// unsharded run, whatever their worker counts, and Merge of the two is the
// unsharded result: executions, failures, and every signature with its
// count and example.
func TestShardsCoverOneRun(t *testing.T) {
	n := int64(4000)
	if testing.Short() {
		n = 1500
	}
	o := stress.Options{Variants: often, SemanticOnly: true, Seed: 7, Runs: n, Workers: 2}
	whole := runs(t, o)
	o0, o1 := o, o
	o0.Shard, o0.Workers = stress.Shard{Index: 0, Count: 2}, 1
	o1.Shard, o1.Workers = stress.Shard{Index: 1, Count: 2}, 3
	s0, s1 := runs(t, o0), runs(t, o1)
	if whole.Executions != n || s0.Executions != n/2 || s1.Executions != n/2 {
		t.Fatalf("executions: whole %d, shards %d + %d; want %d = %d + %d", whole.Executions, s0.Executions, s1.Executions, n, n/2, n/2)
	}
	if len(whole.Findings) < 2 {
		t.Fatalf("want a run with several signatures, got %d in %d executions", len(whole.Findings), n)
	}
	m, err := stress.Merge(s1, s0)
	if err != nil {
		t.Fatal(err)
	}
	if m.Executions != whole.Executions || m.Failures != whole.Failures || m.InternalErrors != whole.InternalErrors {
		t.Errorf("merged %d executions, %d failures, %d internal; unsharded %d, %d, %d",
			m.Executions, m.Failures, m.InternalErrors, whole.Executions, whole.Failures, whole.InternalErrors)
	}
	if !reflect.DeepEqual(findings(m), findings(whole)) {
		t.Errorf("merged findings differ:\n%v\nunsharded:\n%v", findings(m), findings(whole))
	}
	if !m.Complete() || strings.Join(m.Shards, " ") != "0/2 1/2" {
		t.Errorf("merged shards %v, complete %v", m.Shards, m.Complete())
	}
	t.Logf("%d executions, %d failures, %d signatures: unsharded = shard 0/2 + shard 1/2", n, whole.Failures, len(whole.Findings))
}

// TestMergeRefuses: shards of different runs, a shard twice, or shards of
// different counts do not merge.
func TestMergeRefuses(t *testing.T) {
	a := &stress.Result{Mode: "controlled", Seed: 1, Shards: []string{"0/2"}}
	for _, tc := range []struct {
		b    stress.Result
		want string
	}{
		{stress.Result{Mode: "controlled", Seed: 2, Shards: []string{"1/2"}}, "different runs"},
		{stress.Result{Mode: "controlled", Seed: 1, Shards: []string{"0/2"}}, "given twice"},
		{stress.Result{Mode: "controlled", Seed: 1, Shards: []string{"1/3"}}, "different counts"},
		{stress.Result{Mode: "controlled", Seed: 1}, "without shards"},
	} {
		if _, err := stress.Merge(a, &tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.b, err, tc.want)
		}
	}
}

// TestMergeFiles: the summaries and reproducer folders of two shards, each
// numbering its reproducers from 1, merge into one folder with one
// reproducer per signature, each replaying to a failure; a folder that is
// not empty is refused with nothing written.
func TestMergeFiles(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := 0; i < 2; i++ {
		o := stress.Options{Variants: often, SemanticOnly: true, Seed: 3, Runs: 1200, Workers: 2,
			Shard: stress.Shard{Index: i, Count: 2}, OutDir: filepath.Join(dir, "shard", string(rune('0'+i)))}
		res := runs(t, o)
		b, _ := json.Marshal(res)
		// As in the Kubernetes Job: the summary beside the reproducers.
		path := filepath.Join(o.OutDir, "summary.json")
		if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	// The shards' folders moved elsewhere: reproducers are found beside
	// their summaries.
	moved := filepath.Join(dir, "downloaded")
	if err := os.Rename(filepath.Join(dir, "shard"), moved); err != nil {
		t.Fatal(err)
	}
	for i := range paths {
		paths[i] = strings.Replace(paths[i], filepath.Join(dir, "shard"), moved, 1)
	}
	out := filepath.Join(dir, "merged")
	m, err := stress.MergeFiles(out, paths)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Findings) < 2 {
		t.Fatalf("want several findings to merge, got %d", len(m.Findings))
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != len(m.Findings)+1 {
		t.Errorf("%d files in %s for %d findings and the summary", len(entries), out, len(m.Findings))
	}
	b, err := os.ReadFile(filepath.Join(out, stress.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var again stress.Result
	if err := json.Unmarshal(b, &again); err != nil || !reflect.DeepEqual(findings(&again), findings(m)) {
		t.Fatalf("summary.json: %v", err)
	}
	for _, f := range m.Findings {
		text, err := os.ReadFile(f.Reproducer)
		if err != nil {
			t.Fatal(err)
		}
		p, err := kernelsim.Parse(f.Reproducer, string(text))
		if err != nil {
			t.Fatal(err)
		}
		s, err := sched.ParseSchedule(p.Schedule)
		if err != nil {
			t.Fatal(err)
		}
		rep := harness.Run(p, harness.Options{SemanticOnly: true, Strategy: sched.NewReplay(s)})
		if !rep.Finding() || stress.Signature(rep.Verdict.Violation) != f.Signature {
			t.Errorf("%s replays to %q, want %q", f.Reproducer, rep.Summary(), f.Signature)
		}
	}
	// Again into the same folder: refused, nothing changed.
	if _, err := stress.MergeFiles(out, paths); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("merge into a full folder: %v", err)
	}
	if after, _ := os.ReadDir(out); len(after) != len(entries) {
		t.Fatalf("a refused merge changed %s", out)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".merged.merge-*")); len(left) != 0 {
		t.Fatalf("temporary folders left: %v", left)
	}
}
