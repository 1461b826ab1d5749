package check

import (
	"fmt"
	"io"
	"strings"
)

// Write prints the check's result for people.
func (r *Result) Write(w io.Writer) {
	mode := "rule checks on"
	if r.SemanticOnly {
		mode = "semantic-only"
	}
	fmt.Fprintf(w, "CHECK %s (%s)\n", r.Variants, mode)
	how := "hunt's search: generated programs, byte and PCT schedules"
	if len(r.PerProgram) > 0 {
		how = "the given programs under PCT"
	}
	fmt.Fprintf(w, "searched: %d executions of %d distinct programs (at most %d schedules each) in %.1fs (%s)\n", r.Executions, r.Programs, r.MaxSchedules, r.Seconds, how)
	if r.Interrupted {
		fmt.Fprintf(w, "INTERRUPTED: what follows covers the executions made so far\n")
	}
	fmt.Fprintf(w, "\nVERDICT: ")
	switch r.Verdict {
	case Found:
		fmt.Fprintf(w, "%d distinct counterexample(s)", r.Distinct)
		if r.Distinct > len(r.Counterexamples) {
			fmt.Fprintf(w, "; %d reported, minimized (one per kind of racing op first, the plainest race of each):", len(r.Counterexamples))
		}
		fmt.Fprintln(w)
		for i, c := range r.Counterexamples {
			racing := "nothing (the failing task alone)"
			if len(c.Racing) > 0 {
				racing = strings.Join(c.Racing, "; ")
			}
			fmt.Fprintf(w, "\n%d. %s, racing %s: found after %d executions, minimized to %d ops\n", i+1, c.Invariant, racing, c.Executions, c.Ops)
			fmt.Fprintf(w, "   %s\n", c.Detail)
			for _, l := range strings.Split(strings.TrimRight(c.Narrative, "\n"), "\n") {
				fmt.Fprintf(w, "   %s\n", l)
			}
			if c.Scenario == "" {
				fmt.Fprintf(w, "   PROGRAM:\n")
				for _, l := range strings.Split(strings.TrimRight(c.Program, "\n"), "\n") {
					fmt.Fprintf(w, "     %s\n", l)
				}
			}
			fmt.Fprintf(w, "   To reproduce:\n     %s\n", c.Replay)
		}
	case NotExercised:
		who := "the generators do not reach it"
		if len(r.PerProgram) > 0 {
			who = "the given programs do not reach it"
		}
		fmt.Fprintf(w, "not exercised: the variant's branch never ran in %d executions, so nothing was tried (no verdict on the change; %s)\n", r.Executions, who)
	default:
		fmt.Fprintf(w, "no violation in %d executions\n", r.Executions)
	}
	fmt.Fprintf(w, "\nBRANCH (how often the change ran)\n")
	for _, b := range r.Branches {
		if b.Hits == 0 {
			fmt.Fprintf(w, "  %s: not exercised (0 times)\n", b.Variant)
			continue
		}
		fmt.Fprintf(w, "  %s: ran %d times, in %d of %d executions\n", b.Variant, b.Hits, b.Runs, r.Executions)
	}
	fmt.Fprintf(w, "\nINVARIANTS that looked at the state after the branch ran (evaluations, in runs)\n")
	if len(r.Observed) == 0 {
		fmt.Fprintf(w, "  none\n")
	}
	for _, o := range r.Observed {
		fmt.Fprintf(w, "  %-30s %8d in %d runs\n", o.Invariant, o.Evaluations, o.Runs)
	}
	fmt.Fprintf(w, "  always on (every access, every step): %s\n", strings.Join(r.AlwaysOn, ", "))
	fmt.Fprintf(w, "\nREACH of the paths the change touches (runs in which two tasks ran the pair on one lock at once)\n")
	empty := 0
	for _, c := range r.Reach {
		if c.Runs == 0 {
			empty++
			continue
		}
		fmt.Fprintf(w, "  %s: %d\n", c.Cell, c.Runs)
	}
	if empty > 0 {
		fmt.Fprintf(w, "  not reached (%d):", empty)
		for _, c := range r.Reach {
			if c.Runs == 0 {
				fmt.Fprintf(w, " [%s]", c.Cell)
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nPCT CONFIDENCE\n")
	if len(r.PerProgram) == 0 {
		fmt.Fprintf(w, "  none stated: PCT's bound holds per program, and this search ran %d different programs (at most %d schedules each); give programs (mmrace check -variants %s FILE...) for a per-program confidence\n", r.Programs, r.MaxSchedules, r.Variants)
	}
	for _, p := range r.PerProgram {
		if p.Failed {
			fmt.Fprintf(w, "  %s: failed after %d runs (see the counterexamples)\n", p.Name, p.Runs)
			continue
		}
		fmt.Fprintf(w, "  %s: no violation in %d PCT runs of depth %d (n=%d, k=%d):", p.Name, p.Runs, p.Depth, p.Tasks, p.K)
		for d, c := range p.Confidence {
			fmt.Fprintf(w, " depth %d >= %.4f;", d+1, c)
		}
		fmt.Fprintln(w)
		if p.DataChoice {
			fmt.Fprintf(w, "    (for bugs that need no particular injected allocation failure)\n")
		}
	}
	if r.HarnessLimits > 0 {
		fmt.Fprintf(w, "\n%d runs were cut short by the step limit or the watchdog (neither findings nor clean runs)\n", r.HarnessLimits)
	}
	if r.InternalErrors > 0 {
		fmt.Fprintf(w, "\nMMRACE INTERNAL ERROR in %d runs (the harness failed; never counted as counterexamples). The first:\n%s\n", r.InternalErrors, r.FirstInternal)
	}
}
