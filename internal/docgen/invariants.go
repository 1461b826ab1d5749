package docgen

import (
	"fmt"
	"strings"

	"mmrace/kernelsim/invnames"
)

// kindDoc says what each kind of invariant name means for a run.
var kindDoc = []struct {
	kind     invnames.Kind
	title    string
	meaning  string
	exitCode int
}{
	{invnames.Semantic, "Consequences (semantic)",
		"A finding: the race broke the model's state, lost a write or deadlocked. Reported in every run, semantic-only included: these are what `-rules=false` (`MMRACE_SEMANTIC_ONLY=1`, `rules=off`) keeps.", 1},
	{invnames.Rule, "Rule checks",
		"A finding at the breach, before any consequence: a lock taken out of order, a lockdep cycle, a held-lock assertion, a witness of an argument the kernel relies on. Only with rule checks on (the default of `run`, `replay`, `minimize` and `stress`); a semantic-only run never reports them.", 1},
	{invnames.HarnessLimit, "Harness limits",
		"The run was cut short by a bound of the harness: no verdict about the kernel either way. Never a finding; the minimizer treats it as a non-reproduction.", 0},
	{invnames.Internal, "Internal errors",
		"mmrace's own bug, never the kernel's: never a finding, always loud.", 3},
	{invnames.Invalid, "Invalid programs",
		"The program is not valid input: neither a finding nor the harness's fault. Reported with the op's line.", 2},
}

// Invariants returns docs/invariants.md.
func Invariants() string {
	var b strings.Builder
	b.WriteString(header("kernelsim/invnames/invnames.go"))
	b.WriteString(`# Invariants

Every run ends with one verdict. A verdict other than ok carries the name
of what broke (` + "`Violation.Invariant`" + `), a stable kebab-case name: the
corpus expects these names, ` + "`mmrace minimize`" + ` keeps "the same failure"
by them, and ` + "`mmrace stress`" + ` deduplicates by them. This is every name the
code can report; a test (` + "`kernelsim/invnames`" + `) scans the Go source and fails
when a name is reported that is not listed here, when a listed name is
reported nowhere, or when "where" is not the list of files that report it.

The kind of a name decides what the run's verdict is: the one
classification of outcomes that every command shares.

| kind | what it means | exit status of run, replay |
|---|---|---|
`)
	for _, k := range kindDoc {
		fmt.Fprintf(&b, "| %s | %s | %d |\n", k.kind, cell(k.meaning), k.exitCode)
	}
	b.WriteString(`
Deadlocks end a run with the outcome ` + "`deadlock`" + `, all other findings with
` + "`violation`" + `; a step limit or timeout with ` + "`step-limit`" + ` or ` + "`timeout`" + `,
an internal error with ` + "`internal-error`" + `, a refused setup with
` + "`invalid-program`" + `. Checks run at three moments: during the run, at the
place in a kernel path where the property must hold (the file is a
` + "`kernelsim`" + ` one); after every task finished, over the quiescent state
(` + "`invariants/invariants.go`" + `, ` + "`invariants/memory.go`" + `); and as hooks the
model calls when an rmap walk or a migration ends (` + "`invariants/dynamic.go`" + `).
The ` + "`leak`" + ` check runs after the exit of every mm, which every run ends with.
`)
	for _, k := range kindDoc {
		fmt.Fprintf(&b, "\n## %s\n\n| name | what it checks | where |\n|---|---|---|\n", k.title)
		for _, e := range invnames.Catalogue {
			if e.Kind != k.kind {
				continue
			}
			var where []string
			for _, w := range e.Where {
				where = append(where, fmt.Sprintf("[%s](../%s)", w, w))
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", e.Name, cell(e.Checks), strings.Join(where, "<br>"))
		}
	}
	return b.String()
}
