// Package minimize shrinks a failing mmrace run to the few ops and context
// switches that matter. Stage 1 removes ops and tasks by delta debugging: a
// candidate counts only if some schedule makes it fail with the same
// invariant (the current schedule followed leniently, then a bounded PCT
// search). Stage 2 removes context switches from the schedule while the
// failure persists. Harness errors, step limits and timeouts are
// non-reproductions.
package minimize

import (
	"context"
	"strconv"
	"strings"
	"time"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// Options bound a minimization.
type Options struct {
	Budget time.Duration // wall-clock budget (default 60s)
	Seeds  int           // PCT schedules tried per candidate program (default 300)
	Run    harness.Options
	// Context, when it ends, ends the minimization as the budget does
	// (with the smallest failure found so far); nil never ends.
	Context context.Context
	// Also, when not nil, is a further condition a candidate's failure
	// must meet to count as the same (mmrace check keeps the ops that
	// raced with the failing task).
	Also func(rep *harness.Report) bool
}

// Result is a minimized failure.
type Result struct {
	Program  *kernelsim.Program // with its schedule pinned
	Report   *harness.Report    // the minimized run, replayable from Report.Schedule
	Runs     int
	Elapsed  time.Duration
	Switches int // context switches in the final schedule
}

// same reports whether rep fails like want: both are findings with the same
// outcome and invariant. Harness limits and internal errors never count.
func same(rep, want *harness.Report) bool {
	return rep.Finding() && want.Finding() && rep.Verdict.Outcome == want.Verdict.Outcome &&
		rep.Verdict.Violation.Invariant == want.Verdict.Violation.Invariant
}

// same is same with the caller's further condition.
func (s *state) same(rep *harness.Report) bool {
	return same(rep, s.want) && (s.opts.Also == nil || s.opts.Also(rep))
}

type state struct {
	opts  Options
	want  *harness.Report
	start time.Time
	runs  int
}

func (s *state) out() bool {
	return time.Since(s.start) > s.opts.Budget || (s.opts.Context != nil && s.opts.Context.Err() != nil)
}

// reproduce looks for a schedule under which p fails like s.want.
func (s *state) reproduce(p *kernelsim.Program, hint string) *harness.Report {
	try := func(st sched.Strategy) *harness.Report {
		s.runs++
		o := s.opts.Run
		o.Strategy = st
		rep := harness.Run(p, o)
		if s.same(rep) {
			return rep
		}
		return nil
	}
	if sc, err := sched.ParseSchedule(hint); err == nil && hint != "" {
		if rep := try(sched.NewLenientReplay(sc)); rep != nil {
			return rep
		}
	}
	o := s.opts.Run
	o.Strategy = nil // the non-preemptive schedule
	base := harness.Run(p, o)
	s.runs++
	if s.same(base) {
		return base
	}
	k := base.Steps*5/4 + 10
	for i := 0; i < s.opts.Seeds && !s.out(); i++ {
		for _, d := range []int{2, 3} {
			if rep := try(sched.NewPCT(uint64(i), d, k)); rep != nil {
				return rep
			}
		}
	}
	return nil
}

// Minimize shrinks failing, the report of a failing run of p.
func Minimize(p *kernelsim.Program, failing *harness.Report, opts Options) Result {
	if opts.Budget <= 0 {
		opts.Budget = 60 * time.Second
	}
	if opts.Seeds <= 0 {
		opts.Seeds = 300
	}
	s := &state{opts: opts, want: failing, start: time.Now()}
	best, rep := p, failing
	// Stage 1: delta debugging over op lines (setup and tasks).
	lines := opLines(best)
	for chunk := (len(lines) + 1) / 2; chunk >= 1 && !s.out(); {
		removed := false
		for i := 0; i < len(lines) && !s.out(); {
			cand := append(append([]string(nil), lines[:i]...), lines[min(i+chunk, len(lines)):]...)
			cp, ok := build(best, cand)
			if ok {
				if r := s.reproduce(cp, rep.Schedule); r != nil {
					lines, best, rep, removed = cand, cp, r, true
					continue
				}
			}
			i += chunk
		}
		if !removed {
			chunk /= 2
		}
	}
	// Stage 2: fewer context switches. Replace a switch by continuing the
	// task that ran before it, keep the change if the run still fails.
	if sc, err := sched.ParseSchedule(rep.Schedule); err == nil {
		for changed := true; changed && !s.out(); {
			changed = false
			for i := 1; i < len(sc) && !s.out(); i++ {
				if sc[i].Data || sc[i-1].Data || sc[i].Value == sc[i-1].Value {
					continue
				}
				cand := append(sched.Schedule(nil), sc...)
				cand[i].Value = cand[i-1].Value
				s.runs++
				o := opts.Run
				o.Strategy = sched.NewLenientReplay(cand)
				if r := harness.Run(best, o); same(r, failing) && (s.opts.Also == nil || s.opts.Also(r)) {
					rs, err := sched.ParseSchedule(r.Schedule)
					if err == nil && switches(rs) < switches(sc) {
						sc, rep, changed = rs, r, true
					}
				}
			}
		}
	}
	out := *best
	out.Schedule = rep.Schedule
	sc, _ := sched.ParseSchedule(rep.Schedule)
	return Result{Program: &out, Report: rep, Runs: s.runs, Elapsed: time.Since(s.start), Switches: switches(sc)}
}

// switches counts the task picks that differ from the previous pick.
func switches(sc sched.Schedule) int {
	n, last := 0, -1
	for _, d := range sc {
		if d.Data {
			continue
		}
		if last >= 0 && d.Value != last {
			n++
		}
		last = d.Value
	}
	return n
}

// opLines returns the op lines of p's canonical text (setup and tasks).
func opLines(p *kernelsim.Program) []string {
	var out []string
	for _, l := range strings.Split(p.String(), "\n") {
		if strings.Contains(l, ": ") && !strings.HasPrefix(l, "schedule") {
			out = append(out, l)
		}
	}
	return out
}

// build makes a program of p's header and the given op lines, renumbering
// tasks so they stay t1..tN without gaps. It reports false when the lines
// do not make a program (an op on an mm whose fork was removed).
func build(p *kernelsim.Program, lines []string) (*kernelsim.Program, bool) {
	var head []string
	for _, l := range strings.Split(p.String(), "\n") {
		if l != "" && !strings.Contains(l, ": ") && !strings.HasPrefix(l, "schedule") {
			head = append(head, l)
		}
	}
	renum := map[string]string{}
	var body []string
	for _, l := range lines {
		t, rest, _ := strings.Cut(l, ": ")
		if t != "setup" {
			if _, ok := renum[t]; !ok {
				renum[t] = "t" + strconv.Itoa(len(renum)+1)
			}
			t = renum[t]
		}
		body = append(body, t+": "+rest)
	}
	if len(renum) == 0 {
		return nil, false // no task left: nothing can race
	}
	q, err := kernelsim.Parse("candidate", strings.Join(append(head, body...), "\n"))
	if err != nil {
		return nil, false
	}
	q.Variants = p.Variants
	return q, true
}
