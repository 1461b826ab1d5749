package hunt_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"mmrace/hunt"
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
