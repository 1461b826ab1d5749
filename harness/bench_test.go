package harness_test

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"mmrace/fuzz"
	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// standardSet returns the standard program set of BenchmarkExec: every
// input of the fuzz seed corpus (fuzz.Seeds()) decoded by fuzz.Decode into
// its program and schedule bytes. The seeds carry no schedule bytes, so they
// run the non-preemptive schedule of sched.Bytes; with switching set, 32
// fixed pseudo-random bytes (the same at every commit) are appended to every
// seed's schedule so that tasks switch about as often as under
// mmrace stress -strategy bytes.
func standardSet(switching bool) (progs []*kernelsim.Program, scheds [][]byte) {
	rng := rand.New(rand.NewPCG(12, 0))
	for _, data := range fuzz.Seeds() {
		p, sb := fuzz.Decode(data)
		if switching {
			sb = append([]byte(nil), sb...)
			for i := 0; i < 32; i++ {
				sb = append(sb, byte(rng.UintN(256)))
			}
		}
		progs, scheds = append(progs, p), append(scheds, sb)
	}
	return progs, scheds
}

// BenchmarkExec measures whole executions (harness.Run: setup, the
// concurrent phase, the quiescent invariants, exit and the leak checks) of
// the standard program set (standardSet), on the faithful kernel with rule
// checks and lockdep on, each program under sched.NewBytes of its schedule
// bytes with fuzz.MaxSteps, taken in turn on one sched.Pool, each reusing
// the last one's report (as a stress worker runs them): one iteration is one
// execution.
// "seeds" runs the seeds as they are (no context switch but at blocking and
// exit), "switching" with the fixed schedule bytes appended.
//
// Besides ns/op it reports ns/exec (the same), allocs/exec and B/exec (heap
// allocations per execution, as allocs/op and B/op), points/exec (the
// scheduling points of the concurrent phase, Report.Steps) and events/exec
// (trace events of every phase). Compare two builds with benchstat:
//
//	go test ./harness -run='^$' -bench=BenchmarkExec -count=10 > new.txt
func BenchmarkExec(b *testing.B) {
	for _, tc := range []struct {
		name      string
		switching bool
	}{{"seeds", false}, {"switching", true}} {
		b.Run(tc.name, func(b *testing.B) {
			progs, scheds := standardSet(tc.switching)
			opts := harness.Options{MaxSteps: fuzz.MaxSteps}
			opts.Pool = sched.NewPool() // not at 0b25a5a: a worker's pool, as stress has (scripts/perf-compare.sh drops these lines for that build)
			defer opts.Pool.Close()     // not at 0b25a5a
			points, events := 0, 0
			var before, after runtime.MemStats
			b.ReportAllocs()
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			var rep *harness.Report
			for i := 0; i < b.N; i++ {
				j := i % len(progs)
				opts.Strategy = sched.NewBytes(scheds[j])
				opts.Reuse = rep // not at 0b25a5a: the last report's memory, as stress reuses it
				rep = harness.Run(progs[j], opts)
				if rep.Verdict.Outcome != sched.OK {
					b.Fatalf("program %d: %v\n%s", j, rep.Verdict, progs[j])
				}
				points += rep.Steps
				events += len(rep.Trace.Events)
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			n := float64(b.N)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/exec")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/exec")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/exec")
			b.ReportMetric(float64(points)/n, "points/exec")
			b.ReportMetric(float64(events)/n, "events/exec")
		})
	}
}
