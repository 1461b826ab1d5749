package stress_test

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"

	"mmrace/stress"
)

// TestStressSoak stresses the faithful kernel on every core for
// MMRACE_SOAK (a duration such as 10m; the test is skipped without it),
// samples the goroutines and the resident set size every tenth of it, and
// fails if either grows after the first sample (the warm-up: the workers'
// pools filled, the heap at its working size):
//
//	MMRACE_SOAK=10m go test ./stress -run TestStressSoak -v -timeout 15m
func TestStressSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("MMRACE_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("set MMRACE_SOAK=10m to run the soak test")
	}
	every := d / 10
	var samples []stress.Stats
	next := every
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Second)
	defer cancel()
	res, err := stress.Run(ctx, stress.Options{Seed: 1}, func(s stress.Stats) {
		if s.Elapsed >= next {
			samples = append(samples, s)
			t.Logf("%6s  %9d executions  %6.0f/s  goroutines %3d  RSS %7d kB", s.Elapsed.Round(time.Second), s.Executions,
				float64(s.Executions)/s.Elapsed.Seconds(), s.Goroutines, s.RSSKB)
			next += every
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d executions on %d workers (%.0f/s per worker), %d findings; goroutines %d -> %d, RSS %d -> %d kB",
		res.Executions, res.Workers, res.PerWorker, len(res.Findings), res.GoroutinesStart, res.GoroutinesEnd, res.RSSStartKB, res.RSSEndKB)
	if len(samples) < 5 || len(res.Findings) > 0 || res.InternalErrors > 0 {
		t.Fatalf("%d samples, findings %v, %d internal errors", len(samples), res.Findings, res.InternalErrors)
	}
	first, maxG, maxRSS := samples[0], 0, 0
	for _, s := range samples[1:] {
		maxG, maxRSS = max(maxG, s.Goroutines), max(maxRSS, s.RSSKB)
	}
	// Goroutines: the workers, their pools and the run's own never grow.
	// RSS: the heap breathes with the GC; a leak grows it sample after
	// sample, far past a quarter over the first.
	if maxG > first.Goroutines || maxRSS > first.RSSKB*5/4+4096 {
		t.Fatalf("growth after warm-up: goroutines %d -> max %d, RSS %d kB -> max %d kB", first.Goroutines, maxG, first.RSSKB, maxRSS)
	}
	if runtime.GOOS == "linux" && first.RSSKB == 0 {
		t.Fatal("no RSS read from /proc/self/status")
	}
}
