package hunt_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"mmrace/harness"
	"mmrace/hunt"
	"mmrace/internal/scenario"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestHuntWritesReplayableScenarios hunts two variants with a run budget and
// checks the detections and the written corpus scenarios.
func TestHuntWritesReplayableScenarios(t *testing.T) {
	var vs []kernelsim.Variant
	for _, v := range kernelsim.AllVariants {
		if v.Name == "move_ptes-skip-rmap-locks" || v.Name == "vmf_anon_prepare-blocking-mmap-lock" {
			vs = append(vs, v)
		}
	}
	dir := t.TempDir()
	res, err := hunt.Run(hunt.Options{Variants: vs, PerVariant: time.Minute, PerVariantRuns: 12000, MinimizeBudget: 2 * time.Second, Faithful: time.Second, OutDir: dir, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() {
		t.Fatalf("hunt failed: %+v", res)
	}
	for _, v := range res.Variants {
		b, err := os.ReadFile(v.Reproducer)
		if err != nil || !strings.Contains(string(b), "run variants="+v.Name) {
			t.Fatalf("%s: reproducer %s: %v", v.Name, v.Reproducer, err)
		}
		t.Logf("%s: semantic-only %+v, rules on %+v, %d ops", v.Name, v.Semantic, v.Rules, v.MinOps)
	}
}

// TestHuntScenarioReplays: a scenario hunt writes replays to the same
// violation under its variant, and the faithful kernel passes it; its
// narrative has at most 10 numbered steps.
func TestHuntScenarioReplays(t *testing.T) {
	var vs []kernelsim.Variant
	for _, v := range kernelsim.AllVariants {
		if v.Name == "copy_vma-merge-skips-rmap-locks" {
			vs = append(vs, v)
		}
	}
	dir := t.TempDir()
	res, err := hunt.Run(hunt.Options{Variants: vs, PerVariant: time.Minute, PerVariantRuns: 12000, MinimizeBudget: 5 * time.Second, Faithful: time.Millisecond, OutDir: dir, Seed: 3})
	if err != nil || !res.Variants[0].Detected {
		t.Fatalf("%v %+v", err, res)
	}
	row := res.Variants[0]
	b, err := os.ReadFile(row.Reproducer)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Read(row.Reproducer, string(b))
	if err != nil {
		t.Fatal(err)
	}
	p, err := sc.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if r := harness.Run(p, harness.Options{}); !r.OK() {
		t.Fatalf("faithful kernel fails the reproducer: %s\n%s", r.Summary(), b)
	}
	p.Variants = kernelsim.Variants{row.Name: true}
	r := harness.Run(p, harness.Options{SemanticOnly: true})
	if r.Verdict.Violation.Invariant != row.Semantic.Invariant {
		t.Fatalf("replays to %q, hunt found %q", r.Verdict.Violation.Invariant, row.Semantic.Invariant)
	}
	if n := strings.Count(r.Narrative(10), ". "); p.Ops() > 8 || strings.Contains(r.Narrative(10), "\n11. ") {
		t.Fatalf("%d ops, narrative:\n%s (%d)", p.Ops(), r.Narrative(10), n)
	}
	t.Logf("%s: %d ops\n%s", row.Name, p.Ops(), r.Narrative(10))
}

// TestHuntInterrupted cancels a hunt mid-search and checks the partial
// result: the variant being searched is marked interrupted with the runs it
// made, the variants after it are named, the faithful kernel never runs,
// and nothing is minimized or written.
func TestHuntInterrupted(t *testing.T) {
	// The planted internal error is never a detection: its search runs
	// until the context ends.
	planted, _ := kernelsim.LookupVariant("test-harness-internal-error")
	next, _ := kernelsim.LookupVariant("move_ptes-skip-rmap-locks")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	dir := t.TempDir()
	var progress []string
	start := time.Now()
	res, err := hunt.Run(hunt.Options{Variants: []kernelsim.Variant{planted, next}, PerVariant: time.Minute, MinimizeBudget: time.Second,
		Faithful: time.Minute, OutDir: dir, Seed: 1, Context: ctx, Progress: func(l string) { progress = append(progress, l) }})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the hunt took %v after its context ended", d)
	}
	if !res.Interrupted || len(res.Variants) != 1 || !slices.Equal(res.NotSearched, []string{next.Name}) {
		t.Fatalf("interrupted %v, %d rows, not searched %v", res.Interrupted, len(res.Variants), res.NotSearched)
	}
	row := res.Variants[0]
	if !row.Interrupted || row.Detected || !row.Semantic.Interrupted || row.Semantic.Executions == 0 || !row.Rules.Interrupted || row.Rules.Executions != 0 {
		t.Errorf("the partial row: %+v", row)
	}
	if !res.Faithful.Interrupted || res.Faithful.Executions != 0 {
		t.Errorf("faithful: %+v", res.Faithful)
	}
	if res.OK() || res.InternalErrors() == 0 {
		t.Errorf("the internal errors met before the interruption are lost: OK %v", res.OK())
	}
	if len(progress) != 1 || !strings.Contains(progress[0], "interrupted") {
		t.Errorf("progress %q", progress)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("wrote %d files", len(ents))
	}
}

// TestRulesReplay: the semantic-only counterexample of a variant, replayed
// with rule checks on, detects it again; a run that found nothing does not.
func TestRulesReplay(t *testing.T) {
	const text = `mm mm1
file file1 16
variants move_normal_pmd-no-pmd-recheck
setup: mmap mm1 0x10+8 file1@0x0 shared rw thp
setup: store mm1 0x10 1
setup: madvise mm1 0x10+1 dontneed
t1: collapse mm1 0x10
t2: mremap mm1 0x10+8 -> 0x30
`
	p, err := kernelsim.Parse("test", text)
	if err != nil {
		t.Fatal(err)
	}
	var found *harness.Report
	for seed := uint64(1); seed <= 3000 && found == nil; seed++ {
		if rep := harness.Run(p, harness.Options{Strategy: sched.NewPCT(seed, 3, 150), SemanticOnly: true}); rep.Finding() {
			found = rep
		}
	}
	if found == nil {
		t.Fatal("move_normal_pmd-no-pmd-recheck: no semantic-only failure in 3000 PCT runs")
	}
	var d hunt.Detection
	if q, rep := hunt.RulesReplayForTest(&d, p, found); q == nil || !d.Detected || !d.Replayed || !rep.Finding() || d.Executions != 1 {
		t.Fatalf("replay with rules on: %+v", d)
	}
	faithful := *p
	faithful.Variants = kernelsim.Variants{}
	rep := harness.Run(&faithful, harness.Options{Strategy: sched.NewPCT(1, 3, 150), SemanticOnly: true})
	var e hunt.Detection
	if q, _ := hunt.RulesReplayForTest(&e, &faithful, rep); q != nil || e.Detected {
		t.Fatalf("the faithful kernel's run, replayed with rules on, detected: %+v\n%s", e, rep.Summary())
	}
}
