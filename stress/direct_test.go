package stress

import (
	"math/rand/v2"
	"testing"

	"mmrace/fuzz"
	"mmrace/reach"
)

// TestDirectorSteersToRareCells: a cell reached in few runs gives its
// templates the directed half of the draw, shared between them; a common
// cell gives nothing; with no rare cell the draw is the plain one.
func TestDirectorSteersToRareCells(t *testing.T) {
	d := newDirector()
	m := reach.New()
	rare := reach.NewCell("pmd_lock", "try_to_unmap_one", "migration_entry_wait_huge")
	common := reach.NewCell("ptl", "do_anonymous_page", "zap_pte_range")
	rng := rand.New(rand.NewPCG(1, 2))
	if in := d.input(rng); fuzz.TemplateOf(in) < 0 {
		t.Fatal("no input")
	}
	for i := 0; i < redoEvery; i++ {
		var cells []reach.Cell
		tmpl := 7
		switch {
		case i == 0:
			cells, tmpl = []reach.Cell{rare}, 3
		case i == 1:
			cells, tmpl = []reach.Cell{rare}, 5
		default:
			cells = []reach.Cell{common}
		}
		m.AddCells(cells)
		d.observe(tmpl, cells, m)
	}
	if d.total != 1 || d.weights[3] != 0.5 || d.weights[5] != 0.5 || d.weights[7] != 0 {
		t.Fatalf("weights: total %v, template 3 %v, 5 %v, 7 %v; want 1, 0.5, 0.5, 0", d.total, d.weights[3], d.weights[5], d.weights[7])
	}
	n := map[int]int{}
	const draws = 20000
	for i := 0; i < draws; i++ {
		n[fuzz.TemplateOf(d.input(rng))]++
	}
	// Half the draws go to 3 and 5 by weight, the other half is the plain
	// draw over every template.
	plain := float64(draws) / 2 / float64(fuzz.Templates())
	for _, tm := range []int{3, 5} {
		want := float64(draws)/4 + plain
		if got := float64(n[tm]); got < 0.9*want || got > 1.1*want {
			t.Errorf("template %d drawn %v times, want about %v", tm, got, want)
		}
	}
	if got := float64(n[7]); got > 2*plain {
		t.Errorf("template 7 (a common cell only) drawn %v times, want about %v", got, plain)
	}
	// Once the cell is common, nothing is directed.
	for i := 0; i < redoEvery; i++ {
		m.AddCells([]reach.Cell{rare})
		d.observe(9, []reach.Cell{rare}, m)
	}
	if d.total != 0 {
		t.Fatalf("no rare cell left, but the directed weight is %v", d.total)
	}
}
