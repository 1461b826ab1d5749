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

// The points the tasks of BenchmarkSchedPoint and TestPointAllocs make.
var (
	pointPlain = func(t *sched.Task, k int) { t.Point(sched.KindWrite, "x", "bench", "") }
	// pointText is PointF with plain parts, as ksync records lock events.
	pointText = func(t *sched.Task, k int) { t.PointF(sched.KindWrite, "bench", sched.Obj("x").Detail("write")) }
	// pointTyped is PointF with typed parts, as the model's "pte mm1 0x15"
	// writes will be.
	pointTyped = func(t *sched.Task, k int) {
		t.PointF(sched.KindWrite, "bench", sched.Objf("pte %s %#x").S("mm1").N(k).Detailf("%d -> %d").N(k).N(k+1))
	}
)

// runPoints runs tasks tasks of perTask points each and returns the steps.
func runPoints(opts sched.Options, tasks, perTask int, point func(*sched.Task, int)) int {
	s := sched.New(opts)
	for j := 0; j < tasks; j++ {
		s.Spawn(func(t *sched.Task) {
			for k := 0; k < perTask; k++ {
				point(t, k)
			}
		})
	}
	return s.Run().Steps
}

// BenchmarkSchedPoint measures one controlled scheduling point of a 3-task
// program (100 points per task per run, trace recorded, replay decisions
// kept) and, in the same benchmark run, a bare goroutine hand-off; it
// reports their quotient as x-handoff. The random strategy switches tasks at
// about two thirds of the points, PCT rarely: both are reported. "random"
// and "pct3" start fresh task goroutines every run, the "pool" cases borrow
// them from a sched.Pool, and the "pointf" cases record through PointF with
// plain parts (as ksync does) and with typed ones.
func BenchmarkSchedPoint(b *testing.B) {
	for _, tc := range []struct {
		name  string
		mk    func(i int) sched.Strategy
		pool  bool
		point func(*sched.Task, int)
	}{
		{"random", func(i int) sched.Strategy { return sched.NewRandom(uint64(i)) }, false, pointPlain},
		{"pct3", func(i int) sched.Strategy { return sched.NewPCT(uint64(i), 3, 300) }, false, pointPlain},
		{"random-pool", func(i int) sched.Strategy { return sched.NewRandom(uint64(i)) }, true, pointPlain},
		{"pct3-pool", func(i int) sched.Strategy { return sched.NewPCT(uint64(i), 3, 300) }, true, pointPlain},
		{"random-pool-pointf", func(i int) sched.Strategy { return sched.NewRandom(uint64(i)) }, true, pointText},
		{"random-pool-pointf-typed", func(i int) sched.Strategy { return sched.NewRandom(uint64(i)) }, true, pointTyped},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const perTask, tasks = 100, 3
			var pool *sched.Pool
			if tc.pool {
				pool = sched.NewPool()
				defer pool.Close()
			}
			ho := handoffNs(200_000)
			b.ReportAllocs()
			b.ResetTimer()
			points := 0
			start := time.Now()
			for i := 0; points < b.N; i++ {
				points += runPoints(sched.Options{Strategy: tc.mk(i), Pool: pool}, tasks, perTask, tc.point)
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
