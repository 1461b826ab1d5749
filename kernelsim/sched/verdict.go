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
	Invalid                  // the program is not valid input: a setup op the kernel refuses
)

var outcomeNames = [...]string{"ok", "violation", "deadlock", "step-limit", "timeout", "internal-error", "invalid-program"}

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

// Finding reports whether the verdict is a finding about the simulated
// kernel: a violation or a deadlock. It is the one answer to "did this run
// find something?": harness limits and internal errors are never findings.
func (v Verdict) Finding() bool { return v.Outcome == Failed || v.Outcome == Deadlock }

// HarnessLimit reports whether the run was cut short by a bound of the
// harness (the step limit or the wall-clock watchdog): no verdict about the
// kernel either way.
func (v Verdict) HarnessLimit() bool { return v.Outcome == StepLimit || v.Outcome == Timeout }

// InternalError reports whether the harness itself failed: a panic or a
// sanity check of the simulator, a strategy that answered something
// impossible. It is the simulator's bug, never the kernel's, and is always
// reported loudly and apart from findings.
func (v Verdict) InternalError() bool { return v.Outcome == Internal }

// InvalidProgram reports whether the program itself was bad input (its
// setup failed as the kernel would refuse it): neither a finding nor the
// harness's fault; commands report it with its line and exit 2.
func (v Verdict) InvalidProgram() bool { return v.Outcome == Invalid }

// InvInternal is the invariant name of every internal error.
const InvInternal = "internal-error"

// InternalPrefix starts the detail of every internal error (STYLE item 10),
// so that no reader and no minimizer mistakes it for a finding.
const InternalPrefix = internalPrefix

func (v Verdict) String() string {
	if v.Outcome == OK {
		return "ok"
	}
	return v.Outcome.String() + ": " + v.Violation.String()
}

// internalPrefix marks errors that are the harness's own fault (STYLE item 10).
const internalPrefix = "mmrace internal error: "
