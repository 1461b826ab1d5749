package locks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"mmrace/fuzz"
	"mmrace/harness"
	"mmrace/internal/atomicfile"
	"mmrace/internal/timeline"
	"mmrace/kernelsim"
	"mmrace/kernelsim/invnames"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
	"mmrace/minimize"
)

// ruleInvariants are the rule checks' invariants (the catalogue's kind
// Rule): a semantic-only run never reports them, so one that does is the
// harness's bug, not a kill.
var ruleInvariants = invnames.Names(invnames.Rule)

// runMutant searches one mutant; ok is false when the search was
// interrupted (the mutant then counts as not run, and a rerun redoes it).
func (o *Options) runMutant(ctx context.Context, m mutant) (r Result, ok bool) {
	r = describe(m)
	r.Params = o.params(m)
	mut := o.Sites.Mutant(m.site, m.kind)
	var seen int64
	appliedNow := false // the mutation took effect in the last run
	res := o.Search(ctx, SearchRequest{Mutant: mut, Runs: o.Runs, Budget: o.Budget, Seed: o.seedOf(m.id), Focus: m.site.Kernel, AfterRun: func(*harness.Report) {
		appliedNow = false
		if a := mut.Applied(); a > seen {
			r.RunsApplied++
			seen = a
			appliedNow = true
		}
	}, Confirm: func(p *kernelsim.Program, rep *harness.Report) bool {
		why := ""
		if !appliedNow {
			why = "the mutation did not take effect in the failing run"
		} else if f := faithfulFailure(p, rep, o.seedOf(m.id)); f != nil {
			why = "the faithful kernel fails the same program: " + f.Summary()
		}
		if why == "" {
			return true
		}
		r.FaithfulFindings++
		if r.FirstFaithful == "" {
			r.FirstFaithful = why + "\n" + p.String() + "schedule " + rep.Schedule
		}
		return false
	}})
	if res.Interrupted {
		return r, false
	}
	r.Executions, r.Seconds = res.Executions, res.Seconds
	r.Reached, r.Applied = mut.Reached(), mut.Applied()
	r.HarnessLimits, r.InternalErrors, r.FirstInternal = res.HarnessLimits, res.InternalErrors, res.FirstInternal
	r.PairRuns, r.PairSources = res.PairRuns, res.PairSources
	switch {
	case res.Report != nil && slices.Contains(ruleInvariants, res.Report.Verdict.Violation.Invariant):
		r.Verdict = InternalError
		r.InternalErrors++
		r.FirstInternal = "mmrace internal error: a rule check fired in a semantic-only run:\n" + res.Report.Summary() + res.Program.String()
	case res.Report != nil:
		r.Verdict, r.Invariant = Killed, res.Report.Verdict.Violation.Invariant
		if err := o.counterexample(ctx, &r, m, res.Report); err != nil {
			r.Verdict = InternalError
			r.InternalErrors++
			r.FirstInternal = "mmrace internal error: writing the counterexample: " + err.Error()
		}
	case r.InternalErrors > 0:
		r.Verdict = InternalError
	case r.Applied == 0:
		r.Verdict = NotExercised
	default:
		r.Verdict = NoConsequence
	}
	return r, true
}

// faithfulRuns is how many PCT schedules of a failing program the
// faithful kernel runs before the failure counts as a kill.
const faithfulRuns = 64

// faithfulFailure runs p on the faithful kernel, semantic-only, under
// rep's schedule (leniently: without the mutant the run takes other
// steps) and under faithfulRuns PCT schedules, and returns the first
// failing run, or nil. A search under a mutant reports every failing run,
// and the model's faithful kernel fails some programs on its own (a
// candidate kernel race, corpus/hugetlb_mprotect_flags_before_protection_
// let_another_mm_share_a_writable_table.txt: a hugetlb template's mprotect
// of two mms found it under an unrelated mutant): such a failure is not
// the mutant's consequence.
func faithfulFailure(p *kernelsim.Program, rep *harness.Report, seed uint64) *harness.Report {
	q := *p
	q.Schedule = ""
	opts := harness.Options{SemanticOnly: true, MaxSteps: fuzz.MaxSteps}
	if s, err := sched.ParseSchedule(rep.Schedule); err == nil {
		opts.Strategy = sched.NewLenientReplay(s)
		if f := harness.Run(&q, opts); f.Finding() {
			return f
		}
	}
	k := rep.Steps*5/4 + 10
	for i := range uint64(faithfulRuns) {
		opts.Strategy = sched.NewPCT(seed+i, 2+int(i%4), k)
		if f := harness.Run(&q, opts); f.Finding() {
			return f
		}
	}
	return nil
}

// fileName is a mutant ID usable as a file name.
func fileName(id string) string {
	return strings.NewReplacer(":", "-", "#", "-", "@", "-").Replace(id)
}

// counterexample minimizes a killed mutant's first failure and writes it as
// a scenario and a timeline, with the command that replays it.
// The end of ctx cuts the minimization short (the smallest failure so far
// is written).
func (o *Options) counterexample(ctx context.Context, r *Result, m mutant, rep *harness.Report) error {
	mres := minimize.Minimize(rep.Program, rep, minimize.Options{Budget: o.MinimizeBudget, Seeds: 100, Context: ctx,
		Run: harness.Options{SemanticOnly: true, Mutant: o.Sites.Mutant(m.site, m.kind)}})
	min := mres.Report
	r.MinOps = mres.Program.Ops()
	r.Narrative = min.Narrative(10)
	r.Invariant = min.Verdict.Violation.Invariant
	name := fileName(m.id)
	r.Scenario = filepath.Join(o.OutDir, "scenarios", name+".txt")
	r.Timeline = filepath.Join(o.OutDir, "timelines", name+".html")
	r.Replay = fmt.Sprintf("go run ./cmd/mmrace replay %s -rules=false -mutant '%s' -schedule %s", r.Scenario, m.id, min.Schedule)
	var b strings.Builder
	fmt.Fprintf(&b, "# Found by mmrace locks: mutant %s.\n", m.id)
	phrase := kindPhrase(m.kind.String())
	if m.site.IsFlush() && m.kind == ksync.MutantRemove {
		phrase = "Removing the flush"
	}
	fmt.Fprintf(&b, "# %s of %s in %s (%s, Go %s at %s).\n", phrase, m.site.Lock(), m.site.Kernel, KernelFile(m.site.Kernel), m.site.Func, m.site.Where())
	fmt.Fprintf(&b, "# Semantic-only, the mutant breaks %s. Replay string: %s\n#\n", r.Invariant, min.Schedule)
	for _, l := range strings.Split(strings.TrimRight(r.Narrative, "\n"), "\n") {
		fmt.Fprintf(&b, "# %s\n", l)
	}
	fmt.Fprintf(&b, "#\n# To reproduce:\n#   %s\n", r.Replay)
	prog := *mres.Program
	prog.Variants = nil
	fmt.Fprintf(&b, "\nprogram\n%s----\nok\n\nrun trace=0\n----\nok\n", prog.String())
	if err := os.MkdirAll(filepath.Dir(r.Scenario), 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(r.Scenario, []byte(b.String())); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.Timeline), 0o755); err != nil {
		return err
	}
	f, err := atomicfile.Create(r.Timeline)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := timeline.Render(f, min, fmt.Sprintf("mmrace locks: %s (semantic-only)", m.id)); err != nil {
		return err
	}
	return f.Commit()
}

// kindPhrase says what a mutant kind does, for people.
func kindPhrase(kind string) string {
	switch kind {
	case "remove":
		return "Removing the acquisition (and its release)"
	case "ignore-trylock-failure":
		return "Ignoring a failure of the trylock"
	case "release-early":
		return "Releasing at the end of the first step it protects"
	case "flush-after-unlock":
		return "Deferring the flush past the release of the locks it was due under"
	}
	return kind
}
