package hunt

import (
	"math/rand/v2"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// mutantPCT is PCT with one more kind of change point, placed where a lock
// mutant took effect: at the next scheduling point of the task in which
// the mutation took effect (the removed acquisition, the ignored trylock
// failure, the early release), with probability one half, that task's
// priority drops below every other one, so that the others run inside the
// window the mutant opened. A race through that window is of depth 2 (the
// other task's access between two steps of the mutated task): plain PCT
// hits it with probability about 1/(n·k) per run, this about 1/(2n) when
// the other task's access is the next thing it does. The drawn change points of
// PCT stay as they are, so every schedule plain PCT can produce this can
// too.
type mutantPCT struct {
	*sched.PCT
	m   *ksync.Mutant
	src rand.PCG
	rng *rand.Rand
}

func newMutantPCT(p *sched.PCT, m *ksync.Mutant) *mutantPCT {
	s := &mutantPCT{PCT: p, m: m}
	s.rng = rand.New(&s.src)
	return s
}

// Reset implements sched.Strategy.
func (s *mutantPCT) Reset(n int) {
	s.PCT.Reset(n)
	s.src.Seed(s.PCT.Seed, 0x6d757470) // "mutp"
	s.m.TakeHint()                     // a hint from another phase or run
}

// Next implements sched.Strategy.
func (s *mutantPCT) Next(runnable []int, cur int, step int) int {
	if task, ok := s.m.TakeHint(); ok && task == cur && s.rng.IntN(2) == 0 {
		s.PCT.Lower(cur)
	}
	return s.PCT.Next(runnable, cur, step)
}
