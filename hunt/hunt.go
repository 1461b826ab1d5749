// Package hunt answers "does mmrace catch every bug it models, how fast,
// and is the faithful kernel clean?": for every variant it searches random
// programs and schedules until the first detection, with rule checks on and
// semantic-only; it minimizes the first failure and writes it as a corpus
// scenario; then it runs the faithful kernel for a budget and reports the
// PCT confidence reached.
package hunt

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mmrace/fuzz"
	"mmrace/harness"
	"mmrace/internal/atomicfile"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
	"mmrace/minimize"
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
}

// Faithful is the faithful kernel's row.
type Faithful struct {
	Executions int     `json:"executions"`
	Violations int     `json:"violations"`
	Seconds    float64 `json:"seconds"`
	N          int     `json:"pct_n"`
	K          int     `json:"pct_k"`
	ConfD2     float64 `json:"pct_confidence_d2"`
	ConfD3     float64 `json:"pct_confidence_d3"`
	First      string  `json:"first_violation,omitempty"`
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

// OK reports whether every variant searched to the end was detected, the
// faithful kernel is clean, and the harness never failed. An interrupted
// hunt judges what it finished.
func (r *Result) OK() bool {
	for _, v := range r.Variants {
		if !v.Detected && !v.Interrupted {
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
// pairs never seen before. Every other run replaces the byte schedule by
// PCT. Deterministic for a seed and a run count.
func search(ctx context.Context, v kernelsim.Variant, semantic bool, budget time.Duration, runs int, seed uint64) (Detection, *kernelsim.Program, *harness.Report) {
	return searchMode(ctx, v, semantic, sched.Controlled, budget, runs, seed)
}

// searchMode is search in a scheduling mode. In free mode the same mutation
// sequence runs with the tasks truly parallel: no strategy decides, so the
// runs are not repeatable; it is the baseline controlled scheduling beats.
// The end of ctx stops the search, marked Interrupted.
func searchMode(ctx context.Context, v kernelsim.Variant, semantic bool, mode sched.Mode, budget time.Duration, runs int, seed uint64) (Detection, *kernelsim.Program, *harness.Report) {
	if budget <= 0 {
		return Detection{}, nil, nil
	}
	r := Search(ctx, SearchOptions{Variants: kernelsim.Variants{v.Name: true}, SemanticOnly: semantic, Mode: mode, Budget: budget, Runs: runs, Seed: seed})
	return r.Detection, r.Program, r.Report
}

// mutate returns a copy of data with 1-4 random byte edits: replace, insert,
// delete, or append schedule bytes.
func mutate(rng *rand.Rand, data []byte) []byte {
	out := append([]byte(nil), data...)
	for n := 1 + rng.IntN(4); n > 0; n-- {
		switch op := rng.IntN(4); {
		case op == 0 && len(out) > 1:
			out[1+rng.IntN(len(out)-1)] = byte(rng.UintN(256))
		case op == 1 && len(out) > 1:
			i := 1 + rng.IntN(len(out)-1)
			out = append(out[:i], append([]byte{byte(rng.UintN(256))}, out[i:]...)...)
			if int(out[0]) >= i && out[0] < 255 { // inside the program part: it grows
				out[0]++
			}
		case op == 2 && len(out) > 2:
			i := 1 + rng.IntN(len(out)-1)
			out = append(out[:i], out[i+1:]...)
			if int(out[0]) >= i && out[0] > 0 {
				out[0]--
			}
		default:
			for j := rng.IntN(8); j >= 0; j-- {
				out = append(out, byte(rng.UintN(256)))
			}
		}
	}
	return out
}

// faithfulCandidate draws a random program for the faithful kernel's run.
func faithfulCandidate(rng *rand.Rand) (*kernelsim.Program, sched.Strategy) {
	seeds := fuzz.Seeds()
	data := seeds[rng.IntN(len(seeds))]
	for j := 1 + rng.IntN(8); j > 0; j-- {
		data = mutate(rng, data)
	}
	p, _ := fuzz.Decode(data)
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
		row := VariantResult{Name: v.Name, KernelRef: v.KernelRef}
		var p *kernelsim.Program
		var rep *harness.Report
		var semP *kernelsim.Program
		var semRep *harness.Report
		row.Semantic, semP, semRep = search(ctx, v, true, o.PerVariant, o.PerVariantRuns, o.Seed+uint64(2*i))
		row.Rules, p, rep = search(ctx, v, false, o.PerVariant, o.PerVariantRuns, o.Seed+uint64(2*i+1))
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
	if !r.Detected {
		return "not found in budget"
	}
	return fmt.Sprintf("%s after %d executions, %.1fs", r.Invariant, r.Executions, r.Seconds)
}

// faithful runs random programs under PCT on the faithful kernel and
// computes the PCT confidence 1-(1-1/(n*k^(d-1)))^N for the largest n and
// the median k of the runs. The end of ctx stops it, marked Interrupted.
func faithful(ctx context.Context, budget time.Duration, seed uint64) Faithful {
	rng := rand.New(rand.NewPCG(seed, 0x66616974))
	start := time.Now()
	f := Faithful{}
	var ks []int
	for i := 0; time.Since(start) < budget; i++ {
		if ctx.Err() != nil {
			f.Interrupted = true
			break
		}
		p, st := faithfulCandidate(rng)
		rep := harness.Run(p, harness.Options{Strategy: st, MaxSteps: fuzz.MaxSteps})
		f.Executions++
		ks = append(ks, rep.Steps)
		f.N = max(f.N, len(p.Tasks))
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
	if len(ks) > 0 {
		f.K = median(ks)
		N := float64(f.Executions)
		n, k := float64(f.N), float64(max(f.K, 1))
		f.ConfD2 = 1 - math.Pow(1-1/(n*k), N)
		f.ConfD3 = 1 - math.Pow(1-1/(n*k*k), N)
	}
	return f
}

// median returns the upper median of xs (which it leaves unchanged).
func median(xs []int) int {
	c := slices.Clone(xs)
	slices.Sort(c)
	return c[len(c)/2]
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
	var b strings.Builder
	fmt.Fprintf(&b, "# Found by mmrace hunt: variant %s (%s; %s).\n", v.Name, v.Function, v.KernelRef)
	fmt.Fprintf(&b, "# It removes %s.\n", v.Removes)
	fmt.Fprintf(&b, "# Invariant: %s. Replay string: %s\n#\n", m.Report.Verdict.Violation.Invariant, m.Report.Schedule)
	for _, l := range strings.Split(strings.TrimRight(m.Report.Narrative(10), "\n"), "\n") {
		fmt.Fprintf(&b, "# %s\n", l)
	}
	fmt.Fprintf(&b, "\nprogram\n%s----\nok\n\nrun trace=0\n----\nok\n\nrun variants=%s%s trace=20\n----\nok\n", prog.String(), v.Name, rules)
	path := filepath.Join(dir, strings.ReplaceAll(v.Name, "-", "_")+".txt")
	return path, atomicfile.WriteFile(path, []byte(b.String()))
}
