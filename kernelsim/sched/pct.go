package sched

import "math/rand/v2"

// PCT is the probabilistic concurrency testing strategy of Burckhardt et al.
// (ASPLOS 2010): every task gets a distinct random priority from
// {d, ..., d+n-1}; d-1 change points are drawn uniformly from steps [1, K];
// when the running task reaches change point i its priority drops to i, below
// every initial priority; the highest-priority runnable task always runs.
// One run finds any bug of depth d with probability at least 1/(n*K^(d-1))
// when K bounds the number of steps of the run.
type PCT struct {
	Seed  uint64
	Depth int // d >= 1
	K     int // bound on the number of steps; change points are drawn from [1, K]

	src    rand.PCG
	rng    *rand.Rand
	prio   []int
	change []int  // change[i] = step of change point i+1
	fired  []bool // a change point lowers one task once: after a switch the next task reaches the same step
	// draw, when set, replaces the random draw of priorities and change
	// points (NewPCTDraw).
	draw *pctDraw

	// Windows makes PCT lower a task that opened a TLB window (Window).
	Windows bool

	lowerTask, lowerLeft int // a reducer to lower after lowerLeft more of its points (-1: none)
}

type pctDraw struct{ prio, change []int }

// NewPCTDraw returns a PCT strategy whose random draw is given: prio is
// the tasks' initial priorities (a permutation of depth..depth+n-1), change
// the depth-1 change points (steps in [1, k]). Enumerating every draw gives
// PCT's exact probability of hitting a bug (the tests compare it with the
// guarantee).
func NewPCTDraw(depth, k int, prio, change []int) *PCT {
	p := NewPCT(0, depth, k)
	p.draw = &pctDraw{prio: prio, change: change}
	return p
}

// NewPCT returns a PCT strategy of depth d for runs of at most k steps.
func NewPCT(seed uint64, depth, k int) *PCT {
	if depth < 1 {
		depth = 1
	}
	if k < 1 {
		k = 1
	}
	return &PCT{Seed: seed, Depth: depth, K: k}
}

// Reset implements Strategy.
func (p *PCT) Reset(n int) {
	p.src.Seed(p.Seed, 0x706374) // "pct"
	if p.rng == nil {
		p.rng = rand.New(&p.src)
	}
	p.prio = p.prio[:0]
	for i := 0; i < n; i++ {
		p.prio = append(p.prio, p.Depth+i)
	}
	p.rng.Shuffle(n, func(i, j int) { p.prio[i], p.prio[j] = p.prio[j], p.prio[i] })
	p.change, p.fired = p.change[:0], p.fired[:0]
	p.lowerTask = -1
	for i := 0; i < p.Depth-1; i++ {
		p.change = append(p.change, 1+p.rng.IntN(p.K))
		p.fired = append(p.fired, false)
	}
	if p.draw != nil {
		copy(p.prio, p.draw.prio)
		copy(p.change, p.draw.change)
	}
}

// Next implements Strategy.
func (p *PCT) Next(runnable []int, cur int, step int) int {
	if cur >= 0 {
		for i, c := range p.change {
			if c == step && !p.fired[i] {
				p.prio[cur] = i + 1
				p.fired[i] = true
			}
		}
		if cur == p.lowerTask {
			if p.lowerLeft == 0 {
				p.Lower(cur)
				p.lowerTask = -1
			} else {
				p.lowerLeft--
			}
		}
	}
	best := runnable[0]
	for _, t := range runnable[1:] {
		if p.prio[t] > p.prio[best] {
			best = t
		}
	}
	return best
}

// Lower drops task's priority below every other one now (a change point
// placed by the caller, not drawn): mutant-directed PCT (hunt) preempts a
// task where a lock mutation took effect.
func (p *PCT) Lower(task int) {
	low := p.prio[task]
	for _, q := range p.prio {
		low = min(low, q)
	}
	p.prio[task] = low - 1
}

// Yielded implements Yielder: a spinning task drops below every other one
// (as Lower), so that the task it waits for runs.
func (p *PCT) Yielded(task int) { p.Lower(task) }

// Choose implements Strategy.
func (p *PCT) Choose(n int) int { return p.rng.IntN(n) }

// Window implements Windower: with Windows set, the task that opened a
// window is lowered below every other one: at once after a copy, one time
// in two; after a fill, a lockless page-table read or a relock, one time in four;
// after a reduction, one time in two, at one of its next windowPoints
// scheduling points drawn uniformly (the reducer usually still holds the
// PTL it reduced under, and a task that waits on it would run only after
// the stale translation's owner).
func (p *PCT) Window(task int, kind WindowKind) {
	if !p.Windows {
		return
	}
	switch kind {
	case WindowCopy:
		if p.rng.IntN(2) == 0 {
			p.Lower(task)
		}
	case WindowFill, WindowWalk, WindowRelock:
		if p.rng.IntN(4) == 0 {
			p.Lower(task)
		}
	case WindowReduce:
		if p.rng.IntN(2) == 0 {
			p.lowerTask, p.lowerLeft = task, p.rng.IntN(windowPoints)
		}
	}
}

// windowPoints bounds how many of a reducer's scheduling points PCT lets
// pass before it lowers it (Window).
const windowPoints = 8
