package sched

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Plan is a hand-written schedule: run task A for n scheduling points, then
// task B for m, and so on. While a segment's task is blocked the others run
// (lowest first) until it can go on; a segment whose task stays unrunnable
// for planStall decisions (it has exited) is dropped. After the plan, the
// non-preemptive fallback runs. Data choices answer 0.
// It is how a reviewer pins an interleaving too deep for PCT to find; the
// run's replay string then reproduces it.
type Plan struct {
	Segments []PlanSegment
	i, used  int
	stall    int
}

const planStall = 500

// PlanSegment is one segment of a Plan.
type PlanSegment struct {
	Task   int // task index
	Points int
}

// ParsePlan reads "t1:35 t2:11 t1:25" (task:points, space-separated; "1:35"
// works too).
func ParsePlan(s string) (*Plan, error) {
	p := &Plan{}
	for _, f := range strings.Fields(s) {
		a, b, ok := strings.Cut(f, ":")
		task, err1 := strconv.Atoi(strings.TrimPrefix(a, "t"))
		n, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || task < 1 || task > maxTaskID+1 || n < 0 {
			return nil, fmt.Errorf("bad plan segment %q: expected TASK:POINTS such as t1:35", f)
		}
		p.Segments = append(p.Segments, PlanSegment{Task: task - 1, Points: n})
	}
	if len(p.Segments) == 0 {
		return nil, fmt.Errorf("empty plan: expected segments such as \"t1:35 t2:11\"")
	}
	return p, nil
}

// Reset implements Strategy.
func (p *Plan) Reset(int) { p.i, p.used, p.stall = 0, 0, 0 }

// Next implements Strategy.
func (p *Plan) Next(runnable []int, cur int, _ int) int {
	for p.i < len(p.Segments) {
		seg := p.Segments[p.i]
		if p.used >= seg.Points {
			p.i, p.used, p.stall = p.i+1, 0, 0
			continue
		}
		if slices.Contains(runnable, seg.Task) {
			p.used, p.stall = p.used+1, 0
			return seg.Task
		}
		if p.stall++; p.stall > planStall {
			p.i, p.used, p.stall = p.i+1, 0, 0
			continue
		}
		return runnable[0] // someone else runs until the planned task can
	}
	if cur >= 0 && slices.Contains(runnable, cur) {
		return cur
	}
	return runnable[0]
}

// Choose implements Strategy.
func (p *Plan) Choose(int) int { return 0 }
