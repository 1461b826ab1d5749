package sched

// DFS enumerates every schedule of a program, depth first: each run follows
// the current prefix of decisions and then takes the first option; Advance
// moves to the next unexplored schedule. Task picks and data choices are
// both enumerated. Feasible only for small programs; it is how tests check a
// property in every interleaving.
type DFS struct {
	prefix []int // choice index at each decision of the next run
	opts   []int // number of options at each decision of the last run
	pos    int
}

// NewDFS returns an exhaustive strategy positioned at the first schedule.
func NewDFS() *DFS { return &DFS{} }

// Reset implements Strategy.
func (d *DFS) Reset(int) { d.pos, d.opts = 0, d.opts[:0] }

func (d *DFS) decide(n int) int {
	if d.pos >= len(d.prefix) {
		d.prefix = append(d.prefix, 0)
	}
	c := d.prefix[d.pos]
	if c >= n {
		c = n - 1
	}
	d.opts = append(d.opts, n)
	d.pos++
	return c
}

// Next implements Strategy.
func (d *DFS) Next(runnable []int, _ int, _ int) int {
	if len(runnable) == 1 {
		return runnable[0]
	}
	return runnable[d.decide(len(runnable))]
}

// Choose implements Strategy.
func (d *DFS) Choose(n int) int { return d.decide(n) }

// Advance moves to the next schedule; it returns false when every schedule
// has been run.
func (d *DFS) Advance() bool {
	d.prefix = d.prefix[:d.pos]
	for i := len(d.prefix) - 1; i >= 0; i-- {
		if d.prefix[i]+1 < d.opts[i] {
			d.prefix[i]++
			d.prefix = d.prefix[:i+1]
			return true
		}
	}
	return false
}
