package sched

import "math"

// PCT's guarantee, and what a set of runs supports.
//
// PCT (Burckhardt et al., ASPLOS 2010, Theorem 1): one run of a program of
// n tasks whose runs take at most k steps, with depth parameter d, hits any
// given bug of depth d with probability at least 1/(n*k^(d-1)). The
// guarantee is per program: it says nothing about a set of runs of
// different programs, each run once or twice (a fuzzer's search), so
// mmrace states a confidence only for runs of one program, from its runs at
// depth >= d whose step count stayed within their k (a run that took more
// steps than its k had change points that could not fall on its last steps:
// the bound does not cover it). The bound is about schedules: a bug that
// also needs a particular data choice (an injected allocation failure,
// drawn at random by PCT) is not covered.

// PCTRunBound is the probability bound of one PCT run of depth d for a bug
// of depth d of a program of n tasks and k steps: 1/(n*k^(d-1)).
func PCTRunBound(n, k, d int) float64 {
	if n < 1 || k < 1 || d < 1 {
		return 0
	}
	return 1 / (float64(n) * math.Pow(float64(k), float64(d-1)))
}

// PCTRuns records the PCT runs of one program, for its confidence.
type PCTRuns struct {
	Tasks int // n
	runs  []pctRun
}

type pctRun struct{ depth, k, steps int }

// Add records one run: its PCT depth and step bound, and the steps it took.
func (r *PCTRuns) Add(depth, k, steps int) { r.runs = append(r.runs, pctRun{depth, k, steps}) }

// Runs returns how many runs were recorded.
func (r *PCTRuns) Runs() int { return len(r.runs) }

// Covered returns how many runs count for bugs of depth d: runs of depth
// >= d whose steps stayed within their k.
func (r *PCTRuns) Covered(d int) int {
	n := 0
	for _, x := range r.runs {
		if x.depth >= d && x.steps <= x.k {
			n++
		}
	}
	return n
}

// Confidence returns the probability, by PCT's guarantee, that the runs
// would have hit a given bug of depth d of the program at least once: 1 -
// the product over the covered runs of (1 - 1/(n*k^(depth-1))), each run
// with its own depth and k. No covered run: 0.
func (r *PCTRuns) Confidence(d int) float64 {
	miss := 1.0
	for _, x := range r.runs {
		if x.depth >= d && x.steps <= x.k {
			miss *= 1 - PCTRunBound(r.Tasks, x.k, x.depth)
		}
	}
	return 1 - miss
}
