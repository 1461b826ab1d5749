package stress_test

import (
	"context"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
	"mmrace/stress"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStressFaithful(t *testing.T) {
	for _, mode := range []sched.Mode{sched.Controlled, sched.Free} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		res, err := stress.Run(ctx, stress.Options{Mode: mode, Seed: 1}, nil)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if res.Executions == 0 || len(res.Findings) != 0 {
			t.Fatalf("%s: %d executions, findings %+v", mode, res.Executions, res.Findings)
		}
		t.Logf("%s mode: %d executions (%.0f/s), goroutines %d -> %d", mode, res.Executions, res.PerSecond, res.GoroutinesStart, res.GoroutinesEnd)
	}
}

func TestStressFindsAndDedups(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := stress.Run(ctx, stress.Options{Variants: kernelsim.Variants{"remove_migration_pte-installs-into-none": true}, SemanticOnly: true, OutDir: dir, Seed: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) == 0 || res.Failures < int64(len(res.Findings)) {
		t.Fatalf("no finding in %d executions", res.Executions)
	}
	for _, f := range res.Findings {
		if _, err := os.Stat(f.Reproducer); err != nil {
			t.Fatalf("reproducer of %q: %v", f.Signature, err)
		}
	}
	t.Logf("%d failures, %d distinct: %v", res.Failures, len(res.Findings), res.Findings[0].Signature)
}

func TestSignature(t *testing.T) {
	a := stress.Signature(sched.Violation{Invariant: "x", Detail: "mm1 0x15 maps f3, freed at step 31 by t2"})
	b := stress.Signature(sched.Violation{Invariant: "x", Detail: "mm2 0x21 maps f7, freed at step 99 by t2"})
	if a != b {
		t.Fatalf("%q != %q", a, b)
	}
}
