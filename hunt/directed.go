package hunt

import (
	"math/rand/v2"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// mutantPCT is PCT with one more kind of change point, placed inside the
// window a lock mutant opened in the task where the mutation took effect
// (the removed acquisition, the ignored trylock failure, the early
// release): that task's priority drops below every other one at one of
// its next scheduling points, so that the others run inside the window.
// Half the time it is the very next point, a quarter of the time one of
// the 12 after it, uniformly, and a quarter of the time none. A race
// through that window is of depth 2 (the other task's access between two
// steps of the mutated task), and where in the window the mutated task
// must stop depends on the race. Plain PCT hits such a race with
// probability about 1/(n·k) per run; this about 1/(2n) when the other
// task's access is the next thing it does, and about 1/(48n) when the
// mutated task must stop at a given one of its next 12 points (a lost
// update of a counter it changes under the lock, raced by a task that
// changes it under that lock: anon_vma_fork's num_children++ against an
// exit's --). The drawn change points of PCT stay as they are, so every
// schedule plain PCT can produce this can too.
type mutantPCT struct {
	*sched.PCT
	m    *ksync.Mutant
	src  rand.PCG
	rng  *rand.Rand
	task int // the task to lower, -1 none
	left int // its scheduling points to let pass first
}

// mutantWindow is how many of the mutated task's scheduling points after
// the first mutantPCT may let pass before it lowers the task.
const mutantWindow = 12

func newMutantPCT(p *sched.PCT, m *ksync.Mutant) *mutantPCT {
	s := &mutantPCT{PCT: p, m: m, task: -1}
	s.rng = rand.New(&s.src)
	return s
}

// Reset implements sched.Strategy.
func (s *mutantPCT) Reset(n int) {
	s.PCT.Reset(n)
	s.src.Seed(s.PCT.Seed, 0x6d757470) // "mutp"
	s.m.TakeHint()                     // a hint from another phase or run
	s.task = -1
}

// Next implements sched.Strategy.
func (s *mutantPCT) Next(runnable []int, cur int, step int) int {
	if task, ok := s.m.TakeHint(); ok {
		// The mutation took effect in task (again): a window opens there.
		switch s.task, s.left = task, 0; s.rng.IntN(4) {
		case 2:
			s.left = 1 + s.rng.IntN(mutantWindow)
		case 3:
			s.task = -1 // this window runs as plain PCT
		}
	}
	if s.task >= 0 && s.task == cur {
		if s.left == 0 {
			s.PCT.Lower(cur)
			s.task = -1
		} else {
			s.left--
		}
	}
	return s.PCT.Next(runnable, cur, step)
}
