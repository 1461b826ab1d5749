// Package corpus replays the reviewer-readable scenarios in this directory.
//
// Each .txt file is a cockroachdb/datadriven script. A `program` directive
// defines the program (kernelsim's text form); `run` runs it and prints the
// verdict, the ops the kernel refused and the trace of the concurrent phase.
// Arguments of run:
//
//	variants=a,b   the variant set (default: the faithful kernel)
//	rules=off      semantic-only: no lock-order, lockdep or lock-rule checks
//	mutant=SITE@KIND  a lock-necessity mutant of mmrace locks (quoted in
//	               the file as mutant=(SITE@KIND) when SITE has a colon)
//	trace=N        a failing run prints its narrative (at most 10 numbered
//	               steps and a VMA diagram), a passing one the last N events
//	               of its story (default 12; 0: neither)
//
// `search runs=N [variants=a,b] [rules=off]` searches N PCT schedules (depth
// 3, seeds 0..N-1) of the program, ignoring its pinned schedule, and prints
// "no finding in N runs" or the first finding's outcome and invariant.
//
// Regenerate the outputs with
//
//	go test ./corpus -rewrite
//
// and commit only diffs you understand.
package corpus

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"go.uber.org/goleak"

	"mmrace/harness"
	"mmrace/internal/locksites"
	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
	"mmrace/locks"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCorpus(t *testing.T) {
	datadriven.Walk(t, ".", func(t *testing.T, path string) {
		if !strings.HasSuffix(path, ".txt") {
			t.Skip("not a scenario")
		}
		var prog *kernelsim.Program
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "program":
				p, err := kernelsim.Parse(fmt.Sprintf("%s:%d", d.Pos, 1), d.Input)
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				prog = p
				return "ok\n"
			case "run":
				if prog == nil {
					d.Fatalf(t, "run before program")
				}
				return run(t, d, prog)
			case "search":
				if prog == nil {
					d.Fatalf(t, "search before program")
				}
				return search(t, d, prog)
			}
			d.Fatalf(t, "unknown directive %q", d.Cmd)
			return ""
		})
	})
}

func run(t *testing.T, d *datadriven.TestData, prog *kernelsim.Program) string {
	p := *prog
	opts := harness.Options{}
	traceN := 12
	for _, a := range d.CmdArgs {
		val := strings.Join(a.Vals, ",")
		switch a.Key {
		case "variants":
			v, err := kernelsim.ParseVariants(val)
			if err != nil {
				d.Fatalf(t, "%v", err)
			}
			p.Variants = v
		case "rules":
			opts.SemanticOnly = val == "off"
		case "trace":
			n, err := strconv.Atoi(val)
			if err != nil {
				d.Fatalf(t, "trace=%q: %v", val, err)
			}
			traceN = n
		case "mutant":
			opts.Mutant = mutant(t, d, val)
		default:
			d.Fatalf(t, "unknown argument %q", a.Key)
		}
	}
	rep := harness.Run(&p, opts)
	var b strings.Builder
	b.WriteString(rep.Summary())
	switch {
	case traceN > 0 && !rep.OK():
		b.WriteString("narrative:\n")
		b.WriteString(rep.Narrative(10))
	case traceN > 0:
		b.WriteString("story:\n")
		b.WriteString(rep.Story(traceN))
	}
	return b.String()
}

func search(t *testing.T, d *datadriven.TestData, prog *kernelsim.Program) string {
	p := *prog
	p.Schedule = ""
	opts := harness.Options{}
	runs := 0
	for _, a := range d.CmdArgs {
		val := strings.Join(a.Vals, ",")
		switch a.Key {
		case "variants":
			v, err := kernelsim.ParseVariants(val)
			if err != nil {
				d.Fatalf(t, "%v", err)
			}
			p.Variants = v
		case "rules":
			opts.SemanticOnly = val == "off"
		case "runs":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 {
				d.Fatalf(t, "runs=%q: want a positive count", val)
			}
			runs = n
		default:
			d.Fatalf(t, "unknown argument %q", a.Key)
		}
	}
	if runs == 0 {
		d.Fatalf(t, "search needs runs=N")
	}
	k := harness.Run(&p, opts).Steps*5/4 + 10
	rep, _ := harness.Search(&p, opts, func(i int) sched.Strategy { return sched.NewPCT(uint64(i), 3, k) }, runs)
	switch {
	case rep.InternalError():
		return rep.Summary()
	case rep.Finding():
		return fmt.Sprintf("found within %d runs: %s: %s\n", runs, rep.Verdict.Outcome, rep.Verdict.Violation.Invariant)
	}
	return fmt.Sprintf("no finding in %d runs\n", runs)
}

// mutant returns the lock mutant SITE@KIND as mmrace locks names it.
func mutant(t *testing.T, d *datadriven.TestData, id string) *ksync.Mutant {
	ss, err := locksites.Find()
	if err != nil {
		d.Fatalf(t, "mutant=%s: %v", id, err)
	}
	site, kind, err := locks.ParseID(ss, id)
	if err != nil {
		d.Fatalf(t, "mutant=%s: %v", id, err)
	}
	return ss.Mutant(site, kind)
}
