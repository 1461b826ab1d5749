package sched_test

import (
	"testing"
	"time"

	"mmrace/kernelsim/sched"
)

// handoffNs measures a bare goroutine hand-off on this machine: two
// goroutines passing a token back and forth over unbuffered-equivalent
// channels; one hand-off wakes the other goroutine and parks the sender.
func handoffNs(n int) float64 {
	a, b := make(chan struct{}, 1), make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		for i := 0; i < n; i++ {
			<-b
			a <- struct{}{}
		}
		close(done)
	}()
	start := time.Now()
	for i := 0; i < n; i++ {
		b <- struct{}{}
		<-a
	}
	el := time.Since(start)
	<-done
	return float64(el.Nanoseconds()) / float64(2*n)
}

// BenchmarkSchedPoint measures one controlled scheduling point of a 3-task
// program (100 points per task per run, trace recorded, replay decisions
// kept) and, in the same benchmark run, a bare goroutine hand-off; it
// reports their quotient as x-handoff. The random strategy switches tasks at
// about two thirds of the points, PCT rarely: both are reported.
func BenchmarkSchedPoint(b *testing.B) {
	for _, tc := range []struct {
		name string
		mk   func(i int) sched.Strategy
	}{
		{"random", func(i int) sched.Strategy { return sched.NewRandom(uint64(i)) }},
		{"pct3", func(i int) sched.Strategy { return sched.NewPCT(uint64(i), 3, 300) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const perTask, tasks = 100, 3
			ho := handoffNs(200_000)
			b.ResetTimer()
			points := 0
			start := time.Now()
			for i := 0; points < b.N; i++ {
				s := sched.New(sched.Options{Strategy: tc.mk(i)})
				for j := 0; j < tasks; j++ {
					s.Spawn(func(t *sched.Task) {
						for k := 0; k < perTask; k++ {
							t.Point(sched.KindWrite, "x", "bench", "")
						}
					})
				}
				points += s.Run().Steps
			}
			el := time.Since(start)
			b.StopTimer()
			per := float64(el.Nanoseconds()) / float64(points)
			b.ReportMetric(per, "ns/point")
			b.ReportMetric(ho, "ns/handoff")
			b.ReportMetric(per/ho, "x-handoff")
		})
	}
}
