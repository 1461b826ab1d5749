package hunt_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"mmrace/harness"
	"mmrace/hunt"
	"mmrace/internal/scenario"
	"mmrace/kernelsim"
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
		t.Fatalf("faithful kernel fails the reproducer: %s", r.Summary())
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
