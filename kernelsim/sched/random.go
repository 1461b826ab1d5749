package sched

import "math/rand/v2"

// Random picks uniformly among the runnable tasks at every scheduling point,
// from a seeded generator: the same seed gives the same schedule.
type Random struct {
	Seed uint64
	rng  *rand.Rand
	src  rand.PCG
}

// NewRandom returns a random strategy with the given seed.
func NewRandom(seed uint64) *Random { return &Random{Seed: seed} }

// Reset implements Strategy.
func (r *Random) Reset(int) {
	r.src.Seed(r.Seed, 0x6d6d72616365) // "mmrace"
	if r.rng == nil {
		r.rng = rand.New(&r.src)
	}
}

// Next implements Strategy.
func (r *Random) Next(runnable []int, _ int, _ int) int {
	if len(runnable) == 1 {
		return runnable[0]
	}
	return runnable[r.rng.IntN(len(runnable))]
}

// Choose implements Strategy.
func (r *Random) Choose(n int) int { return r.rng.IntN(n) }
