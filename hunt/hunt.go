// Package hunt answers "does mmrace catch every bug it models, how fast,
// and is the faithful kernel clean?": for every variant it searches random
// programs and schedules until the first detection, with rule checks on and
// semantic-only; it minimizes the first failure and writes it as a corpus
// scenario; then it runs the faithful kernel for a budget and reports the
// PCT confidence reached.
package hunt

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mmrace/fuzz"
	"mmrace/harness"
	"mmrace/internal/atomicfile"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
	"mmrace/minimize"
	"mmrace/reach"
)

// Options configure a hunt.
type Options struct {
	Variants       []kernelsim.Variant // default: every variant
	PerVariant     time.Duration       // search budget per variant and mode
	PerVariantRuns int                 // and at most this many runs (0: no limit); with it, results do not depend on machine speed
	MinimizeBudget time.Duration
	Faithful       time.Duration // budget for the faithful kernel
	OutDir         string        // where reproducers are written ("" writes none)
	Seed           uint64
	CompareFree    bool         // also search each variant in free mode (same programs, same budget)
	Progress       func(string) // called with a line per finished step, or nil
	// Context, when it ends (mmrace hunt on Ctrl-C), stops the hunt: Run
	// returns the variants finished and the one interrupted, marked so
	// (Result.Interrupted). nil never ends.
	Context context.Context
}

// Detection is the search result of one variant in one mode.
type Detection struct {
	Detected   bool    `json:"detected"`
	Executions int     `json:"executions"`
	Seconds    float64 `json:"seconds"`
	Invariant  string  `json:"invariant,omitempty"`
	// InternalErrors counts runs in which the harness itself failed; they
	// are never detections, and any of them fails the hunt.
	InternalErrors int    `json:"internal_errors,omitempty"`
	FirstInternal  string `json:"first_internal_error,omitempty"`
	// Interrupted says the search was stopped (Options.Context) before it
	// detected the variant or spent its budget.
	Interrupted bool `json:"interrupted,omitempty"`
	// BranchHits counts how often the variant's branch ran during the
	// search (its decision points answering yes), BranchRuns in how many
	// runs. Zero means the search never exercised the change.
	BranchHits int64 `json:"branch_hits"`
	BranchRuns int   `json:"branch_runs"`
	// Replayed says the detection is the semantic-only search's
	// counterexample replayed with rule checks on (rulesReplay), after the
	// rules-on search of its own found nothing.
	Replayed bool `json:"replayed,omitempty"`
}

// Exercised reports whether the search ran the variant's branch at all.
func (d *Detection) Exercised() bool { return d.BranchHits > 0 }

// Word is the verdict of one search in the words mmrace check uses:
// "detected", "interrupted", "not exercised" (the variant's branch never
// ran), "not observable: ..." or "beyond the search: ..." (what the
// catalogue says of a variant undetected semantic-only), or "no violation"
// (the branch ran, nothing broke).
func (d *Detection) Word(expect string) string {
	switch {
	case d.Detected:
		return "detected"
	case d.Interrupted:
		return "interrupted"
	case !d.Exercised():
		return "not exercised"
	case expect != "":
		return expect
	}
	return "no violation"
}

// internal records an internal error of the harness met during a search.
func (d *Detection) internal(rep *harness.Report, p *kernelsim.Program) {
	d.InternalErrors++
	if d.FirstInternal == "" {
		d.FirstInternal = rep.Summary() + p.String() + "schedule " + rep.Schedule
	}
}

// VariantResult is one row of the detection table.
type VariantResult struct {
	Name       string     `json:"name"`
	KernelRef  string     `json:"kernel_ref"`
	Detected   bool       `json:"detected"`
	Executions int        `json:"executions"`
	Seconds    float64    `json:"seconds"`
	Invariant  string     `json:"invariant"`
	Reproducer string     `json:"reproducer"`
	Rules      Detection  `json:"rules_on"`
	Semantic   Detection  `json:"semantic_only"`
	Free       *Detection `json:"free_mode,omitempty"` // semantic-only, free mode (-compare-free)
	MinOps     int        `json:"minimized_ops,omitempty"`
	// Interrupted says one of the row's searches was stopped: the row is
	// partial, and an undetected variant is not counted as a failure.
	Interrupted bool `json:"interrupted,omitempty"`
	// SemanticOnly is the catalogue's reason why the semantic-only search
	// may not detect the variant (Variant.SemanticOnly), "" when it must.
	SemanticOnly string `json:"semantic_only_reason,omitempty"`
}

// Expected reports whether the row is what the catalogue expects: detected
// with rule checks on, and semantic-only unless the catalogue gives a
// reason it may not be. (An interrupted row is judged by what finished.)
func (r VariantResult) Expected() bool {
	if r.Interrupted {
		return true
	}
	return r.Rules.Detected && (r.Semantic.Detected || r.SemanticOnly != "")
}

// Faithful is the faithful kernel's row. It states what the runs covered,
// not a probability: PCT's bound holds per program, and each of these runs
// is a different random program (mmrace run and mmrace check on given
// programs state it per program).
type Faithful struct {
	Executions int     `json:"executions"`
	Violations int     `json:"violations"`
	Seconds    float64 `json:"seconds"`
	// Programs counts the distinct programs run; MaxSchedules is the most
	// schedules any one of them got.
	Programs     int `json:"programs"`
	MaxSchedules int `json:"max_schedules_per_program"`
	// Reached and Possible are the reach matrix's cells the runs reached
	// and the cells the kernel allows (reach.Summary).
	Reached  int    `json:"reach_cells_reached"`
	Possible int    `json:"reach_cells_possible"`
	First    string `json:"first_violation,omitempty"`
	// InternalErrors counts runs in which the harness failed on the
	// faithful kernel: never violations, always a failed hunt.
	InternalErrors int    `json:"internal_errors,omitempty"`
	FirstInternal  string `json:"first_internal_error,omitempty"`
	// Interrupted says the faithful kernel's run was stopped before its
	// budget, or never started.
	Interrupted bool `json:"interrupted,omitempty"`
}

// Result is a hunt's outcome.
type Result struct {
	Variants []VariantResult `json:"variants"`
	Faithful Faithful        `json:"faithful"`
	// Interrupted says the hunt was stopped (Options.Context): Variants
	// ends with the row interrupted, NotSearched names the variants never
	// reached.
	Interrupted bool     `json:"interrupted,omitempty"`
	NotSearched []string `json:"not_searched,omitempty"`
}

// OK reports whether every variant searched to the end was detected as
// the catalogue expects (with rule checks on, and semantic-only unless
// the catalogue says why not: VariantResult.Expected), the faithful kernel
// is clean, and the harness never failed. An interrupted hunt judges what
// it finished.
func (r *Result) OK() bool {
	for _, v := range r.Variants {
		if !v.Expected() {
			return false
		}
	}
	return r.Faithful.Violations == 0 && r.InternalErrors() == 0
}

// InternalErrors counts the runs of the whole hunt in which the harness
// itself failed.
func (r *Result) InternalErrors() int {
	n := r.Faithful.InternalErrors
	for _, v := range r.Variants {
		n += v.Rules.InternalErrors + v.Semantic.InternalErrors
		if v.Free != nil {
			n += v.Free.InternalErrors
		}
	}
	return n
}

// search looks for a failure of v within budget, as a small coverage-guided
// fuzzer would: start from the seed corpus, mutate an input (its program
// choices or its schedule bytes), run it, keep it when it shows interleaving
// pairs never seen before. Two runs in three replace the byte schedule by
// PCT (Search). Deterministic for a seed and a run count.
func search(ctx context.Context, v kernelsim.Variant, semantic bool, budget time.Duration, runs int, seed uint64) (Detection, *kernelsim.Program, *harness.Report) {
	return searchMode(ctx, v, semantic, sched.Controlled, budget, runs, seed)
}

// searchMode is search in a scheduling mode. In free mode the same mutation
// sequence runs with the tasks truly parallel: no strategy decides, so the
// runs are not repeatable; it is the baseline controlled scheduling beats.
// The end of ctx stops the search, marked Interrupted.
// rulesReplay replays the semantic-only search's counterexample p (run rep)
// with rule checks on, for a rules-on search that found nothing of its own:
// rule checks add checks, not scheduling points, so the same schedule runs
// the same steps and the semantic violation, or a rule one before it, must
// show again. A rule-checked run is never weaker than the semantic-only
// one; the two searches draw different seeds, and a variant whose branch
// the rules-on draws never reached (a retract_page_tables racing
// move_normal_pmd) would otherwise read "not exercised" under rules. It
// records the run in d and returns the program and report of a finding.
func rulesReplay(d *Detection, p *kernelsim.Program, rep *harness.Report) (*kernelsim.Program, *harness.Report) {
	if p == nil || rep == nil || rep.Schedule == "" {
		return nil, nil
	}
	s, err := sched.ParseSchedule(rep.Schedule)
	if err != nil {
		return nil, nil
	}
	q := *p
	q.Schedule = rep.Schedule
	r := harness.Run(&q, harness.Options{Strategy: sched.NewReplay(s), MaxSteps: fuzz.MaxSteps})
	d.Executions++
	bs := map[string]Branch{}
	countBranches(bs, r)
	for _, b := range bs {
		d.BranchHits += b.Hits
		d.BranchRuns += b.Runs
	}
	switch {
	case r.InternalError():
		d.internal(r, &q)
	case r.Finding():
		d.Detected, d.Invariant, d.Replayed = true, r.Verdict.Violation.Invariant, true
		return &q, r
	}
	return nil, nil
}

func searchMode(ctx context.Context, v kernelsim.Variant, semantic bool, mode sched.Mode, budget time.Duration, runs int, seed uint64) (Detection, *kernelsim.Program, *harness.Report) {
	if budget <= 0 {
		return Detection{}, nil, nil
	}
	r := Search(ctx, SearchOptions{Variants: kernelsim.Variants{v.Name: true}, SemanticOnly: semantic, Mode: mode, Budget: budget, Runs: runs, Seed: seed})
	return r.Detection, r.Program, r.Report
}

// faithfulCandidate draws a random program for the faithful kernel's run.
func faithfulCandidate(rng *rand.Rand) (*kernelsim.Program, sched.Strategy) {
	var p *kernelsim.Program
	if rng.IntN(2) == 0 {
		// Half are pairs of one path against adversaries (as mmrace
		// stress draws them).
		p = fuzz.RandomPair(rng)
	}
	if p == nil {
		seeds := fuzz.Seeds()
		data := seeds[rng.IntN(len(seeds))]
		for j := 1 + rng.IntN(8); j > 0; j-- {
			data = fuzz.Mutate(rng, data)
		}
		p, _ = fuzz.Decode(data)
	}
	return p, sched.NewPCT(rng.Uint64(), 2+rng.IntN(2), 60+12*p.Ops())
}

// Run hunts: every variant in turn, then the faithful kernel. When
// o.Context ends it returns at once what it has, Interrupted.
func Run(o Options) (*Result, error) {
	if len(o.Variants) == 0 {
		o.Variants = kernelsim.AllVariants
	}
	ctx := o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	res := &Result{}
	for i, v := range o.Variants {
		if ctx.Err() != nil {
			for _, rest := range o.Variants[i:] {
				res.NotSearched = append(res.NotSearched, rest.Name)
			}
			break
		}
		row := VariantResult{Name: v.Name, KernelRef: v.KernelRef, SemanticOnly: v.SemanticOnly}
		var p *kernelsim.Program
		var rep *harness.Report
		var semP *kernelsim.Program
		var semRep *harness.Report
		row.Semantic, semP, semRep = search(ctx, v, true, o.PerVariant, o.PerVariantRuns, o.Seed+uint64(2*i))
		row.Rules, p, rep = search(ctx, v, false, o.PerVariant, o.PerVariantRuns, o.Seed+uint64(2*i+1))
		if !row.Rules.Detected && row.Semantic.Detected && ctx.Err() == nil {
			if q, qrep := rulesReplay(&row.Rules, semP, semRep); q != nil {
				p, rep = q, qrep
			}
		}
		row.Interrupted = row.Semantic.Interrupted || row.Rules.Interrupted
		if o.CompareFree {
			free, _, _ := searchMode(ctx, v, true, sched.Free, o.PerVariant, o.PerVariantRuns, o.Seed+uint64(2*i))
			row.Free = &free
			row.Interrupted = row.Interrupted || free.Interrupted
		}
		best, bestRep, semantic := p, rep, false
		if row.Semantic.Detected {
			best, bestRep, semantic = semP, semRep, true
		}
		switch {
		case row.Semantic.Detected:
			row.Detected, row.Executions, row.Seconds, row.Invariant = true, row.Semantic.Executions, row.Semantic.Seconds, row.Semantic.Invariant
		case row.Rules.Detected:
			row.Detected, row.Executions, row.Seconds, row.Invariant = true, row.Rules.Executions, row.Rules.Seconds, row.Rules.Invariant
		}
		if best != nil && o.OutDir != "" && !row.Interrupted {
			m := minimize.Minimize(best, bestRep, minimize.Options{Budget: o.MinimizeBudget, Seeds: 100, Run: harness.Options{SemanticOnly: semantic}})
			row.MinOps = m.Program.Ops()
			path, err := writeScenario(o.OutDir, v, m, semantic)
			if err != nil {
				return nil, err
			}
			row.Reproducer = path
		}
		res.Variants = append(res.Variants, row)
		if o.Progress != nil {
			o.Progress(fmt.Sprintf("%-48s %s", v.Name, row.cell()))
		}
	}
	if ctx.Err() == nil {
		res.Faithful = faithful(ctx, o.Faithful, o.Seed)
		if o.Progress != nil {
			o.Progress(fmt.Sprintf("faithful kernel: %d executions, %d violations", res.Faithful.Executions, res.Faithful.Violations))
		}
	} else {
		res.Faithful.Interrupted = true
	}
	res.Interrupted = res.Faithful.Interrupted || len(res.NotSearched) > 0
	for _, v := range res.Variants {
		res.Interrupted = res.Interrupted || v.Interrupted
	}
	return res, nil
}

func (r VariantResult) cell() string {
	if r.Interrupted {
		return "interrupted"
	}
	sem := r.Semantic.Word(r.SemanticOnly)
	if r.Semantic.Detected {
		sem = r.Semantic.Invariant
	}
	rules := r.Rules.Word("")
	if r.Rules.Detected {
		rules = r.Rules.Invariant
		if r.Rules.Replayed {
			rules += " (the semantic-only counterexample, replayed)"
		}
	}
	s := fmt.Sprintf("semantic-only %s, rules on %s", sem, rules)
	if r.Detected {
		s += fmt.Sprintf(" (%d executions, %.1fs)", r.Executions, r.Seconds)
	}
	if !r.Expected() {
		s += ": NOT AS EXPECTED"
	}
	return s
}

// faithful runs random programs under PCT on the faithful kernel and
// reports what they covered: executions, distinct programs, schedules per
// program, reach cells (no probability: PCT's bound is per program). The
// end of ctx stops it, marked Interrupted.
func faithful(ctx context.Context, budget time.Duration, seed uint64) Faithful {
	rng := rand.New(rand.NewPCG(seed, 0x66616974))
	start := time.Now()
	f := Faithful{}
	programs := map[string]int{}
	rm := reach.New()
	for i := 0; time.Since(start) < budget; i++ {
		if ctx.Err() != nil {
			f.Interrupted = true
			break
		}
		p, st := faithfulCandidate(rng)
		rep := harness.Run(p, harness.Options{Strategy: st, MaxSteps: fuzz.MaxSteps})
		f.Executions++
		programs[p.String()]++
		rm.Add(&rep.RunTrace)
		if rep.InternalError() {
			f.InternalErrors++
			if f.FirstInternal == "" {
				f.FirstInternal = rep.Summary() + p.String() + "schedule " + rep.Schedule
			}
			continue
		}
		if rep.Finding() {
			f.Violations++
			if f.First == "" {
				f.First = rep.Summary() + p.String() + "schedule " + rep.Schedule
			}
		}
	}
	f.Seconds = time.Since(start).Seconds()
	f.Programs = len(programs)
	for _, n := range programs {
		f.MaxSchedules = max(f.MaxSchedules, n)
	}
	s := rm.Summarize()
	f.Reached, f.Possible = s.Reached, s.Possible()
	return f
}

// writeScenario writes the minimized failure as a corpus scenario, atomically.
func writeScenario(dir string, v kernelsim.Variant, m minimize.Result, semantic bool) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	rules := ""
	if semantic {
		rules = " rules=off"
	}
	prog := *m.Program
	prog.Variants = nil
	if prog.Schedule == "" && m.Report.Schedule == "" {
		// The run failed in its setup phase (sequential, no scheduling
		// decision): pin the empty schedule, so that mmrace replay, which
		// asks for a schedule line, replays it as it is.
		prog.Schedule = sched.Schedule(nil).String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Found by mmrace hunt: variant %s (%s; %s).\n", v.Name, v.Function, v.KernelRef)
	fmt.Fprintf(&b, "# It removes %s.\n", v.Removes)
	fmt.Fprintf(&b, "# Invariant: %s. Replay string: %s\n#\n", m.Report.Verdict.Violation.Invariant, cmp.Or(m.Report.Schedule, prog.Schedule))
	for _, l := range strings.Split(strings.TrimRight(m.Report.Narrative(10), "\n"), "\n") {
		fmt.Fprintf(&b, "# %s\n", l)
	}
	fmt.Fprintf(&b, "\nprogram\n%s----\nok\n\nrun trace=0\n----\nok\n\nrun variants=%s%s trace=20\n----\nok\n", prog.String(), v.Name, rules)
	path := filepath.Join(dir, strings.ReplaceAll(v.Name, "-", "_")+".txt")
	return path, atomicfile.WriteFile(path, []byte(b.String()))
}
