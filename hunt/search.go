package hunt

import (
	"context"
	"math/rand/v2"
	"time"

	"mmrace/fuzz"
	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// SearchOptions configure Search.
type SearchOptions struct {
	Variants     kernelsim.Variants // the kernel searched (nil: the faithful kernel)
	SemanticOnly bool
	Mode         sched.Mode
	Budget       time.Duration // wall-clock budget; 0: none (Runs must bound it)
	Runs         int           // at most this many runs; 0: none (Budget must bound it)
	Seed         uint64
	// Mutant mutates one lock acquisition site in every run (mmrace locks).
	Mutant *ksync.Mutant
	// AfterRun, when not nil, is called after every run with its report.
	AfterRun func(rep *harness.Report)
}

// SearchResult is what Search found.
type SearchResult struct {
	Detection
	Program *kernelsim.Program // the first failing program, nil when none
	Report  *harness.Report    // its run
	// HarnessLimits counts runs cut short by the step limit or the
	// watchdog: neither findings nor clean runs.
	HarnessLimits int
}

// Search looks for a failure within the budget, as a small
// coverage-guided fuzzer would: start from the seed corpus (fuzz.Seeds),
// mutate an input (its program choices or its schedule bytes), run it,
// keep it when it shows interleaving pairs never seen before. Every other
// run replaces the byte schedule by PCT. It stops at the first finding;
// internal errors are counted (Detection.InternalErrors), never findings.
// Deterministic for a seed and a run count (hunt, mmrace locks); the end
// of ctx stops it, marked Interrupted.
func Search(ctx context.Context, o SearchOptions) SearchResult {
	rng := rand.New(rand.NewPCG(o.Seed, 0x68756e74))
	start := time.Now()
	corpus := fuzz.Seeds()
	seen := map[uint32]bool{}
	var r SearchResult
	d := &r.Detection
	for i := 0; (o.Budget <= 0 || time.Since(start) < o.Budget) && (o.Runs <= 0 || i < o.Runs); i++ {
		if ctx.Err() != nil {
			d.Interrupted = true
			break
		}
		data := mutate(rng, corpus[rng.IntN(len(corpus))])
		p, sb := fuzz.Decode(data)
		p.Variants = o.Variants
		var st sched.Strategy = sched.NewBytes(sb)
		if i%2 == 1 {
			st = sched.NewPCT(rng.Uint64(), 2+rng.IntN(2), 60+12*p.Ops())
		}
		rep := harness.Run(p, harness.Options{Mode: o.Mode, Strategy: st, SemanticOnly: o.SemanticOnly, MaxSteps: fuzz.MaxSteps, Seed: rng.Uint64(), YieldOneIn: 3, Mutant: o.Mutant})
		d.Executions++
		if o.AfterRun != nil {
			o.AfterRun(rep)
		}
		if rep.InternalError() {
			d.internal(rep, p)
			continue
		}
		if rep.HarnessLimit() {
			r.HarnessLimits++
		}
		if rep.Finding() {
			d.Detected, d.Invariant = true, rep.Verdict.Violation.Invariant
			d.Seconds = time.Since(start).Seconds()
			r.Program, r.Report = p, rep
			return r
		}
		fresh := false
		for _, h := range fuzz.InterleavingPairs(&rep.RunTrace) {
			if !seen[h] {
				seen[h], fresh = true, true
			}
		}
		if fresh && len(corpus) < 4096 {
			corpus = append(corpus, data)
		}
	}
	d.Seconds = time.Since(start).Seconds()
	return r
}
