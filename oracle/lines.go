package oracle

import (
	"slices"
	"strconv"
	"strings"
)

// OpLines returns the line number of every op of the program text, in
// program order (setup, then t1's, t2's, ...), the order of Report.Steps.
// text is what kernelsim.Parse read (a scenario's program block keeps its
// file's line numbers).
func OpLines(text string) []int {
	var setup []int
	tasks := map[int][]int{}
	for ln, line := range strings.Split(text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		head, _, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		if head == "setup" {
			setup = append(setup, ln+1)
		} else if n, err := strconv.Atoi(strings.TrimPrefix(head, "t")); err == nil && strings.HasPrefix(head, "t") {
			tasks[n] = append(tasks[n], ln+1)
		}
	}
	out := setup
	ids := make([]int, 0, len(tasks))
	for n := range tasks {
		ids = append(ids, n)
	}
	slices.Sort(ids)
	for _, n := range ids {
		out = append(out, tasks[n]...)
	}
	return out
}
