package harness_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mmrace/fuzz"
	"mmrace/harness"
	"mmrace/internal/scenario"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// execution is one run of TestPoolInterleavedDeterminism's mix.
type execution struct {
	p    *kernelsim.Program
	opts func() harness.Options // a fresh strategy each time
}

// outcome is what must not depend on the goroutines a run was given.
type outcome struct {
	hash, runHash uint64
	schedule      string
	phase         string
	verdict       sched.Verdict
	steps         int
}

func outcomeOf(rep *harness.Report) outcome {
	v := rep.Verdict
	v.Violation.Detail, _, _ = strings.Cut(v.Violation.Detail, "\n") // an internal error's stack names goroutines
	return outcome{rep.Trace.Hash(), rep.RunTrace.Hash(), rep.Schedule, rep.Phase, v, rep.Steps}
}

// TestPoolInterleavedDeterminism: executions of different programs
// interleaved on one sched.Pool (shuffled, with free-mode runs in between,
// each reusing the last one's report) give the same trace hashes, schedules
// and verdicts as the same executions on fresh goroutines and fresh memory. The mix: the standard program set of BenchmarkExec
// (both forms), generated programs under PCT on the faithful kernel and with
// a variant, and the FuzzKernel crashers under fuzz/testdata with their
// variant, and the corpus scenarios with the variants of their run
// directives, semantic-only and with rule checks, under their own (pinned)
// schedule and under PCT, so that many runs end early (violations,
// deadlocks) and unwind their tasks back into the pool.
func TestPoolInterleavedDeterminism(t *testing.T) {
	var mix []execution
	for _, switching := range []bool{false, true} {
		progs, scheds := standardSet(switching)
		for i := range progs {
			mix = append(mix, execution{progs[i], func() harness.Options {
				return harness.Options{Strategy: sched.NewBytes(scheds[i]), MaxSteps: fuzz.MaxSteps}
			}})
		}
	}
	n := 150
	if testing.Short() {
		n = 30
	}
	for i := 0; i < n; i++ {
		p := fuzz.Generate(rand.New(rand.NewPCG(uint64(i), 11)), 2+i%3)
		mix = append(mix, execution{p, func() harness.Options {
			return harness.Options{Strategy: sched.NewPCT(uint64(i), 3, 60*p.Ops()), MaxSteps: fuzz.MaxSteps}
		}})
		v := kernelsim.AllVariants[i%len(kernelsim.AllVariants)]
		q := *p
		q.Variants = kernelsim.Variants{v.Name: true}
		mix = append(mix, execution{&q, func() harness.Options {
			return harness.Options{Strategy: sched.NewPCT(uint64(i), 2+i%2, 60*q.Ops()), MaxSteps: fuzz.MaxSteps, SemanticOnly: true}
		}})
	}
	crashers, err := filepath.Glob("../fuzz/testdata/fuzz/FuzzKernel/*")
	if err != nil || len(crashers) == 0 {
		t.Fatalf("no crashers: %v", err)
	}
	for _, file := range crashers {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		data, err := fuzz.ParseCrasher(string(b))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		name := filepath.Base(file)
		variant := name[:strings.LastIndex(name, "-")]
		p, sb := fuzz.Decode(data)
		p.Variants = kernelsim.Variants{variant: true}
		for _, semantic := range []bool{true, false} {
			mix = append(mix, execution{p, func() harness.Options {
				return harness.Options{Strategy: sched.NewBytes(sb), MaxSteps: fuzz.MaxSteps, SemanticOnly: semantic}
			}})
			for seed := uint64(0); seed < 4; seed++ {
				mix = append(mix, execution{p, func() harness.Options {
					return harness.Options{Strategy: sched.NewPCT(seed, 3, 60*p.Ops()), MaxSteps: fuzz.MaxSteps, SemanticOnly: semantic}
				}})
			}
		}
	}
	files, err := filepath.Glob("../corpus/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := scenario.Read(file, string(b))
		if err != nil {
			t.Fatal(err)
		}
		p, err := kernelsim.Parse(file, sc.Program)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range sc.Runs {
			vs, err := kernelsim.ParseVariants(r.Args["variants"])
			if err != nil {
				t.Fatalf("%s:%d: %v", file, r.Line, err)
			}
			q := *p
			q.Variants = vs
			for _, semantic := range []bool{true, false} {
				mix = append(mix, execution{&q, func() harness.Options { return harness.Options{SemanticOnly: semantic} }})
				for seed := uint64(0); seed < 3; seed++ {
					mix = append(mix, execution{&q, func() harness.Options {
						return harness.Options{Strategy: sched.NewPCT(seed, 3, 100), SemanticOnly: semantic}
					}})
				}
			}
		}
	}
	fresh := make([]outcome, len(mix))
	endings := map[sched.Outcome]int{}
	for i, x := range mix {
		rep := harness.Run(x.p, x.opts())
		fresh[i] = outcomeOf(rep)
		endings[rep.Verdict.Outcome]++
	}
	if endings[sched.Failed]+endings[sched.Deadlock] == 0 {
		t.Fatalf("endings %v: the mix should end some runs early", endings)
	}
	pool := sched.NewPool()
	defer pool.Close()
	rng := rand.New(rand.NewPCG(5, 5))
	var last *harness.Report // each run reuses the memory of the one before, as stress does
	for round := 0; round < 2; round++ {
		for _, i := range rng.Perm(len(mix)) {
			// A free-mode run of another program in between; not under the
			// race detector, which reports the model's own free-mode races
			// (vma->anon_vma is read and written by tasks in parallel).
			if i%7 == 0 && !raceDetector {
				o := mix[(i+1)%len(mix)].opts()
				o.Strategy, o.Mode, o.Seed, o.YieldOneIn, o.Pool = nil, sched.Free, uint64(i), 3, pool
				harness.Run(mix[(i+1)%len(mix)].p, o)
			}
			o := mix[i].opts()
			o.Pool, o.Reuse = pool, last
			last = harness.Run(mix[i].p, o)
			if got := outcomeOf(last); got != fresh[i] {
				t.Fatalf("execution %d on the pool differs from a fresh run:\npool:  %+v\nfresh: %+v\nprogram:\n%s", i, got, fresh[i], mix[i].p)
			}
		}
	}
	t.Logf("%d executions, twice each in shuffled order on a pool of %d goroutines, match fresh runs; endings %v", len(mix), pool.Started(), endings)
}
