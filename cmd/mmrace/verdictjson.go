package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// report is the -json form of one run's verdict, printed by run, replay
// and minimize.
type report struct {
	Outcome   string   `json:"outcome"` // ok, violation, deadlock, step-limit, timeout or internal-error
	Invariant string   `json:"invariant,omitempty"`
	Detail    string   `json:"detail,omitempty"`
	Phase     string   `json:"phase,omitempty"`    // setup, run, quiescent, memory or exit
	Schedule  string   `json:"schedule,omitempty"` // the replay string (-schedule)
	Steps     int      `json:"steps"`
	Narrative []string `json:"narrative"` // the numbered steps and the diagram; empty when ok
	Refused   []string `json:"refused"`   // ops the kernel refused, in order
	Variants  string   `json:"variants"`
	Rules     bool     `json:"rules"`
	Program   string   `json:"program"`             // the program's text form
	Reproduce string   `json:"reproduce,omitempty"` // the command line that replays the run
	Timeline  string   `json:"timeline,omitempty"`  // replay -html: the page written
}

// reportOf is rep's -json form.
func reportOf(rep *harness.Report, rules bool, reproduce string) report {
	r := report{
		Outcome:   rep.Verdict.Outcome.String(),
		Phase:     rep.Phase,
		Schedule:  rep.Schedule,
		Steps:     rep.Steps,
		Narrative: []string{},
		Refused:   append([]string{}, rep.Errors...),
		Variants:  rep.Program.Variants.String(),
		Rules:     rules,
		Program:   rep.Program.String(),
		Reproduce: reproduce,
	}
	if rep.Verdict.Outcome != sched.OK {
		r.Invariant, r.Detail = rep.Verdict.Violation.Invariant, rep.Verdict.Violation.Detail
		r.Narrative = strings.Split(strings.TrimRight(rep.Narrative(10), "\n"), "\n")
	}
	return r
}

// runJSON is run -json: the verdict and the runs it took to find it.
type runJSON struct {
	report
	Runs int      `json:"runs"`
	PCT  *pctJSON `json:"pct,omitempty"` // what the runs support for this program, when none failed
}

// minimizeJSON is minimize -json: the minimized failure's verdict and how
// far minimization got.
type minimizeJSON struct {
	report
	OpsBefore int     `json:"ops_before"`
	OpsAfter  int     `json:"ops_after"`
	Switches  int     `json:"switches"`
	Runs      int     `json:"runs"` // runs to find the failure, then to minimize it
	Seconds   float64 `json:"seconds"`
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// reproduce is the command line that replays a run of cmd (run, replay) on
// file: the one every report prints. Empty variants and schedule are left
// out (the file's own variants; a run that failed in setup has no
// schedule).
func reproduce(cmd, file string, v kernelsim.Variants, rules bool, schedule string) string {
	s := "go run ./cmd/mmrace " + cmd + " " + file
	if v != nil {
		s += " -variants=" + v.String()
	}
	s += fmt.Sprintf(" -rules=%v", rules)
	if schedule != "" {
		s += " -schedule " + schedule
	}
	return s
}
