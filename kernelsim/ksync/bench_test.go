package ksync_test

import (
	"testing"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// BenchmarkLockUnlock measures a spinlock acquisition and release (two
// scheduling points) in a one-task controlled run, with no mutant set (the
// simulator's hot path: one nil check per primitive), with a mutant of
// another class (a class compare, no stack walk), and with a mutant of the
// lock's class that matches nothing (a stack walk and a matcher call per
// acquisition). Compare no-mutant with the same benchmark on the commit
// before mutants existed to see their cost when unused.
func BenchmarkLockUnlock(b *testing.B) {
	never := func(ksync.Acquisition, []uintptr) bool { return false }
	for _, tc := range []struct {
		name string
		mut  *ksync.Mutant
	}{
		{"no-mutant", nil},
		{"mutant-other-class", &ksync.Mutant{Kind: ksync.MutantRemove, Class: ksync.ClassTestB.Name, Match: never}},
		{"mutant-same-class", &ksync.Mutant{Kind: ksync.MutantRemove, Class: ksync.ClassTestP.Name, Match: never}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const perRun = 1000
			for done := 0; done < b.N; done += perRun {
				s := sched.New(sched.Options{Strategy: sched.NewBytes(nil), NoTrace: true, MaxSteps: 10 * perRun})
				e := ksync.NewEnv(ksync.Config{SemanticOnly: true, Mutant: tc.mut})
				m := e.NewMutex("m", ksync.ClassTestP)
				s.Spawn(func(t *sched.Task) {
					for range perRun {
						m.Lock(t, "bench")
						m.Unlock(t, "bench")
					}
				})
				if v := s.Run().Verdict; v.Outcome != sched.OK {
					b.Fatal(v)
				}
			}
		})
	}
}
