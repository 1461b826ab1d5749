package stress

import (
	"cmp"
	"math/rand/v2"
	"slices"

	"mmrace/fuzz"
	"mmrace/reach"
)

// A director steers half of a reach run's template programs to the
// templates that reach the rarest cells of the matrix, as FairFuzz steers
// mutations to rare branches: a cell reached a few times in a million runs
// is a race with a narrow window or a rare shape, and the templates that
// found it once are the likeliest to find it again, and to find the empty
// cells beside it (the same paths against a third). The other half of the
// runs stays the plain draw, so that no template is starved.
//
// A director belongs to one worker and sees that worker's runs only, so
// that workers share no state (each is deterministic given its runs; the
// run as a whole is not, as a stress run of several workers never was).
type director struct {
	// cells: per cell, the templates whose runs reached it (sorted, no
	// duplicates: a cell seen by a template once counts as once).
	cells map[reach.Cell][]int
	// weights: per template, its share of the directed draw; recomputed
	// every redoEvery runs. total is their sum (0: no rare cell yet).
	weights []float64
	total   float64
	runs    int
}

const (
	// rareBelow: a cell reached in fewer runs (of this worker) is rare.
	// Over a 10-minute shard (2.7M runs) the rare cells are those with a
	// window or a shape the plain draw hits about once a minute or less.
	rareBelow = 32
	// redoEvery: the weights are recomputed after so many runs.
	redoEvery = 2000
)

func newDirector() *director {
	return &director{cells: map[reach.Cell][]int{}, weights: make([]float64, fuzz.Templates())}
}

// input draws the next run's input: half the time (once a rare cell is
// known) from a template chosen by weight, else the plain draw.
func (d *director) input(rng *rand.Rand) []byte {
	if d.total > 0 && rng.IntN(2) == 0 {
		x := rng.Float64() * d.total
		for t, w := range d.weights {
			if x < w {
				return fuzz.RandomInputFor(rng, t)
			}
			x -= w
		}
	}
	return fuzz.RandomInput(rng)
}

// observe records that a run of template tmpl reached cells (m already
// counts them), and recomputes the weights every redoEvery runs: each rare
// cell gives a weight of 1, shared by the templates that reached it.
func (d *director) observe(tmpl int, cells []reach.Cell, m *reach.Matrix) {
	for _, c := range cells {
		ts := d.cells[c]
		if i, found := slices.BinarySearch(ts, tmpl); !found {
			d.cells[c] = slices.Insert(ts, i, tmpl)
		}
	}
	if d.runs++; d.runs%redoEvery != 0 {
		return
	}
	clear(d.weights)
	d.total = 0
	rare := make([]reach.Cell, 0, len(d.cells))
	for c := range d.cells {
		if m.Cells[c] < rareBelow {
			rare = append(rare, c)
		}
	}
	// In a fixed order: the weights are sums of floats.
	slices.SortFunc(rare, func(a, b reach.Cell) int { return cmp.Compare(a.String(), b.String()) })
	for _, c := range rare {
		ts := d.cells[c]
		for _, t := range ts {
			d.weights[t] += 1 / float64(len(ts))
		}
		d.total++
	}
}
