package sched

import (
	"fmt"
	"strings"
)

// deadlockViolation describes the wait-for graph of a run in which no task
// can make progress: the first cycle task -> object -> holder -> ... found
// from task cur (or from the lowest blocked task), or, when there is no
// cycle, every blocked task with what it waits for.
func (s *Sched) deadlockViolation(cur int) Violation {
	n := len(s.tasks)
	waits := make([]Waitable, n)
	if s.opts.Mode == Free {
		s.mu.Lock()
	}
	for i, t := range s.tasks {
		waits[i] = t.blockedOn
	}
	if s.opts.Mode == Free {
		s.mu.Unlock()
	}
	holders := make([][]int, n)
	for i, w := range waits {
		if w != nil {
			holders[i] = w.Holders(nil)
		}
	}
	order := make([]int, 0, n)
	if cur >= 0 {
		order = append(order, cur)
	}
	for i := 0; i < n; i++ {
		if i != cur {
			order = append(order, i)
		}
	}
	step := s.step
	if s.opts.Mode == Free {
		step = int(s.progress.Load())
	}
	for _, start := range order {
		if waits[start] == nil {
			continue
		}
		if cyc := findCycle(start, waits, holders); cyc != nil {
			var b strings.Builder
			b.WriteString("wait-for cycle: ")
			for _, t := range cyc {
				fmt.Fprintf(&b, "%s → %s → ", TaskName(t), waits[t].Name())
			}
			b.WriteString(TaskName(cyc[0]))
			return Violation{Invariant: "deadlock", Task: cyc[0], Step: step, Detail: b.String()}
		}
	}
	var parts []string
	for i, w := range waits {
		if w == nil {
			continue
		}
		hs := make([]string, 0, len(holders[i]))
		for _, h := range holders[i] {
			hs = append(hs, TaskName(h))
		}
		who := "nobody"
		if len(hs) > 0 {
			who = strings.Join(hs, ",")
		}
		parts = append(parts, fmt.Sprintf("%s waits for %s held by %s", TaskName(i), w.Name(), who))
	}
	return Violation{Invariant: "deadlock", Task: cur, Step: step, Detail: "no task can run: " + strings.Join(parts, "; ")}
}

// findCycle runs a depth-first search of the wait-for graph from start and
// returns the tasks of the first cycle through start's reachable set, in
// order, or nil.
func findCycle(start int, waits []Waitable, holders [][]int) []int {
	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, len(waits))
	var path []int
	var dfs func(t int) []int
	dfs = func(t int) []int {
		color[t] = grey
		path = append(path, t)
		if waits[t] != nil {
			for _, h := range holders[t] {
				if h < 0 || h >= len(waits) {
					continue
				}
				switch color[h] {
				case grey:
					for i, p := range path {
						if p == h {
							return append([]int(nil), path[i:]...)
						}
					}
				case white:
					if c := dfs(h); c != nil {
						return c
					}
				}
			}
		}
		path = path[:len(path)-1]
		color[t] = black
		return nil
	}
	return dfs(start)
}
