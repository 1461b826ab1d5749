package reach

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// ClassSummary is one class's row of a matrix's summary.
type ClassSummary struct {
	Class      string `json:"class"`
	Paths      int    `json:"paths"`
	Cells      int    `json:"cells"`
	Impossible int    `json:"impossible"`
	Reached    int    `json:"reached"`
	// Empty are the cells the kernel allows that no run reached.
	Empty []Cell `json:"empty,omitempty"`
	// ModelGaps are how many of Empty the model has no path for
	// (ModelGap).
	ModelGaps int `json:"model_gaps,omitempty"`
}

// Summary is what a matrix covered.
type Summary struct {
	Runs       int            `json:"runs"`
	Cells      int            `json:"cells"`
	Impossible int            `json:"impossible"`
	Reached    int            `json:"reached"`
	ModelGaps  int            `json:"model_gaps,omitempty"`
	Classes    []ClassSummary `json:"classes"`
	// Unknown are reached cells whose paths are not in Paths (a new path
	// of the model the catalogue lacks).
	Unknown []Cell `json:"unknown,omitempty"`
	// ReachedImpossible are cells judged impossible that a run reached
	// anyway: a wrong judgement (or a bug of the model).
	ReachedImpossible []Cell `json:"reached_impossible,omitempty"`
}

// CellCount is one cell with its runs, for JSON.
type CellCount struct {
	Cell
	Runs       int    `json:"runs"`
	Impossible string `json:"impossible,omitempty"`
}

// Summarize compares the matrix with the catalogue.
func (m *Matrix) Summarize() Summary {
	s := Summary{Runs: m.Runs}
	known := map[Cell]bool{}
	for _, cl := range Classes() {
		cs := ClassSummary{Class: cl, Paths: len(Paths[cl])}
		for _, c := range AllCells() {
			if c.Class != cl {
				continue
			}
			known[c] = true
			cs.Cells++
			switch {
			case Impossible(c) != "":
				cs.Impossible++
				if m.Cells[c] > 0 {
					s.ReachedImpossible = append(s.ReachedImpossible, c)
				}
			case m.Cells[c] > 0:
				cs.Reached++
			default:
				cs.Empty = append(cs.Empty, c)
				if ModelGap(c) != "" {
					cs.ModelGaps++
				}
			}
		}
		s.Cells += cs.Cells
		s.Impossible += cs.Impossible
		s.Reached += cs.Reached
		s.ModelGaps += cs.ModelGaps
		s.Classes = append(s.Classes, cs)
	}
	for c := range m.Cells {
		if !known[c] {
			s.Unknown = append(s.Unknown, c)
		}
	}
	sortCells(s.Unknown)
	return s
}

// Possible returns the number of cells the kernel allows.
func (s Summary) Possible() int { return s.Cells - s.Impossible }

// List returns every cell of the catalogue with its count and, for an
// impossible one, the reason.
func (m *Matrix) List() []CellCount {
	var out []CellCount
	for _, c := range AllCells() {
		out = append(out, CellCount{Cell: c, Runs: m.Cells[c], Impossible: Impossible(c)})
	}
	return out
}

// FromList rebuilds a matrix of runs runs from its list (JSON).
func FromList(cells []CellCount, runs int64) *Matrix {
	m := New()
	m.Runs = int(runs)
	for _, c := range cells {
		if c.Runs > 0 {
			m.Cells[c.Cell] += c.Runs
		}
	}
	return m
}

// Involving returns the cells (with their counts) one of whose paths is in
// paths, reached or not, impossible ones left out.
func (m *Matrix) Involving(paths []string) []CellCount {
	var out []CellCount
	for _, c := range AllCells() {
		if (slices.Contains(paths, c.A) || slices.Contains(paths, c.B)) && Impossible(c) == "" {
			out = append(out, CellCount{Cell: c, Runs: m.Cells[c]})
		}
	}
	return out
}

// Write prints the matrix: the summary, then per class a grid (rows and
// columns the class's paths, numbered; a cell shows its runs, "-" when
// impossible, "0" when empty), then the empty cells and the impossible
// ones with their reasons.
func (m *Matrix) Write(w io.Writer) {
	s := m.Summarize()
	fmt.Fprintf(w, "reach: %d runs; %d cells, %d impossible, %d of the %d possible reached, %d empty (%d of them the model has no path for)\n",
		s.Runs, s.Cells, s.Impossible, s.Reached, s.Possible(), s.Possible()-s.Reached, s.ModelGaps)
	for _, cs := range s.Classes {
		ps := slices.Sorted(slices.Values(Paths[cs.Class]))
		fmt.Fprintf(w, "\n%s: %d paths, %d cells, %d impossible, %d reached, %d empty (%d model gaps)\n", cs.Class, cs.Paths, cs.Cells, cs.Impossible, cs.Reached, len(cs.Empty), cs.ModelGaps)
		tw := tabwriter.NewWriter(w, 1, 8, 1, ' ', tabwriter.AlignRight)
		hdr := "\t"
		for i := range ps {
			hdr += fmt.Sprintf("%d\t", i+1)
		}
		fmt.Fprintln(tw, hdr)
		for i, a := range ps {
			row := fmt.Sprintf("%d %s\t", i+1, a)
			for j, b := range ps {
				if j < i {
					row += "\t"
					continue
				}
				c := NewCell(cs.Class, a, b)
				switch {
				case Impossible(c) != "" && m.Cells[c] == 0:
					row += "-\t"
				default:
					row += short(m.Cells[c]) + "\t"
				}
			}
			fmt.Fprintln(tw, row)
		}
		tw.Flush()
	}
	if n := s.Possible() - s.Reached - s.ModelGaps; n > 0 {
		fmt.Fprintf(w, "\nempty cells the kernel allows and the model has paths for (%d): the generators' gaps\n", n)
		for _, cs := range s.Classes {
			for _, c := range cs.Empty {
				if ModelGap(c) == "" {
					fmt.Fprintf(w, "  %s\n", c)
				}
			}
		}
	}
	if s.ModelGaps > 0 {
		fmt.Fprintf(w, "\nempty cells the kernel allows and the model has no path for (%d), by reason:\n", s.ModelGaps)
		var empty []Cell
		for _, cs := range s.Classes {
			empty = append(empty, cs.Empty...)
		}
		writeByReason(w, empty, ModelGap)
	}
	if len(s.ReachedImpossible) > 0 {
		fmt.Fprintf(w, "\nREACHED, BUT JUDGED IMPOSSIBLE (%d): the judgement or the model is wrong:\n", len(s.ReachedImpossible))
		for _, c := range s.ReachedImpossible {
			fmt.Fprintf(w, "  %s: %d runs (judged: %s)\n", c, m.Cells[c], Impossible(c))
		}
	}
	if len(s.Unknown) > 0 {
		fmt.Fprintf(w, "\ncells of paths the catalogue lacks (%d): add them to reach.Paths\n", len(s.Unknown))
		for _, c := range s.Unknown {
			fmt.Fprintf(w, "  %s: %d runs\n", c, m.Cells[c])
		}
	}
	fmt.Fprintf(w, "\nimpossible cells, by reason:\n")
	writeByReason(w, AllCells(), Impossible)
}

// writeByReason prints the cells of cells that reason gives a reason for,
// grouped by reason in the order the reasons first come up.
func writeByReason(w io.Writer, cells []Cell, reason func(Cell) string) {
	byReason := map[string][]string{}
	var reasons []string
	for _, c := range cells {
		if r := reason(c); r != "" {
			if _, ok := byReason[r]; !ok {
				reasons = append(reasons, r)
			}
			byReason[r] = append(byReason[r], c.Class+": "+c.A+" × "+c.B)
		}
	}
	for _, r := range reasons {
		fmt.Fprintf(w, "  %d cells: %s\n", len(byReason[r]), r)
		fmt.Fprintf(w, "    %s\n", strings.Join(byReason[r], "; "))
	}
}

// short prints a count in at most 4 characters.
func short(n int) string {
	switch {
	case n >= 10_000_000:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 10_000:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
