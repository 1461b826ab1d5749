package sched

import "fmt"

// Violation is one broken rule or invariant. Invariant is a stable kebab-case
// name used in corpus expectations (deadlock, lock-order, lockdep-cycle,
// lock-rule, rmap-walk-coverage, ...).
type Violation struct {
	Invariant string
	Task      int // task index, or -1 when found by a quiescent checker
	Step      int
	Detail    string
}

func (v Violation) String() string {
	who := "quiescent"
	if v.Task >= 0 {
		who = TaskName(v.Task)
	}
	return fmt.Sprintf("%s at step %d (%s): %s", v.Invariant, v.Step, who, v.Detail)
}

// Outcome says how a run ended.
type Outcome uint8

// The outcomes of a run. Only OK means the run completed with every task
// returning; the others end the run early and unwind every task.
const (
	OK        Outcome = iota // every task returned, nothing reported
	Failed                   // a violation was reported (Verdict.Violation)
	Deadlock                 // no task can run; Verdict.Violation holds the wait-for cycle
	StepLimit                // the run exceeded Options.MaxSteps
	Timeout                  // the wall-clock watchdog fired
	Internal                 // the harness itself failed (panic in model code, replay divergence)
)

var outcomeNames = [...]string{"ok", "violation", "deadlock", "step-limit", "timeout", "internal-error"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Verdict is the result of one run.
type Verdict struct {
	Outcome   Outcome
	Violation Violation // zero when Outcome is OK
}

// Reproducible reports whether the verdict is a finding about the model (a
// violation or a deadlock), as opposed to a harness limit or harness error.
// Minimizers treat everything else as a non-reproduction.
func (v Verdict) Reproducible() bool { return v.Outcome == Failed || v.Outcome == Deadlock }

func (v Verdict) String() string {
	if v.Outcome == OK {
		return "ok"
	}
	return v.Outcome.String() + ": " + v.Violation.String()
}

// internalPrefix marks errors that are the harness's own fault (STYLE item 10).
const internalPrefix = "mmrace internal error: "
