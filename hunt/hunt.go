// Package hunt answers "does mmrace catch every bug it models, how fast,
// and is the faithful kernel clean?": for every variant it searches random
// programs and schedules until the first detection, with rule checks on and
// semantic-only; it minimizes the first failure and writes it as a corpus
// scenario; then it runs the faithful kernel for a budget and reports the
// PCT confidence reached.
package hunt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mmrace/fuzz"
	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
	"mmrace/minimize"
)

// Options configure a hunt.
type Options struct {
	Variants       []kernelsim.Variant // default: every variant
	PerVariant     time.Duration       // search budget per variant and mode
	MinimizeBudget time.Duration
	Faithful       time.Duration // budget for the faithful kernel
	OutDir         string        // where reproducers are written ("" writes none)
	Seed           uint64
	Progress       func(string) // called with a line per finished step, or nil
}

// Detection is the search result of one variant in one mode.
type Detection struct {
	Detected   bool    `json:"detected"`
	Executions int     `json:"executions"`
	Seconds    float64 `json:"seconds"`
	Invariant  string  `json:"invariant,omitempty"`
}

// VariantResult is one row of the detection table.
type VariantResult struct {
	Name       string    `json:"name"`
	KernelRef  string    `json:"kernel_ref"`
	Detected   bool      `json:"detected"`
	Executions int       `json:"executions"`
	Seconds    float64   `json:"seconds"`
	Invariant  string    `json:"invariant"`
	Reproducer string    `json:"reproducer"`
	Rules      Detection `json:"rules_on"`
	Semantic   Detection `json:"semantic_only"`
	MinOps     int       `json:"minimized_ops,omitempty"`
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
}

// Result is a hunt's outcome.
type Result struct {
	Variants []VariantResult `json:"variants"`
	Faithful Faithful        `json:"faithful"`
}

// OK reports whether every variant was detected and the faithful kernel is clean.
func (r *Result) OK() bool {
	for _, v := range r.Variants {
		if !v.Detected {
			return false
		}
	}
	return r.Faithful.Violations == 0
}

// candidate draws the i-th random program and strategy of a search.
func candidate(rng *rand.Rand, i int) (*kernelsim.Program, sched.Strategy) {
	data := make([]byte, 8+rng.IntN(40))
	for j := range data {
		data[j] = byte(rng.UintN(256))
	}
	data[0] = byte(len(data) * 3 / 4)
	p, sb := fuzz.Decode(data)
	if i%2 == 0 {
		return p, sched.NewBytes(sb)
	}
	return p, sched.NewPCT(rng.Uint64(), 2+i%4/2, 60+10*p.Ops())
}

// search looks for a failure of v within budget.
func search(v kernelsim.Variant, semantic bool, budget time.Duration, seed uint64) (Detection, *kernelsim.Program, *harness.Report) {
	rng := rand.New(rand.NewPCG(seed, 0x68756e74))
	start := time.Now()
	var d Detection
	for i := 0; time.Since(start) < budget; i++ {
		p, st := candidate(rng, i)
		p.Variants = kernelsim.Variants{v.Name: true}
		rep := harness.Run(p, harness.Options{Strategy: st, SemanticOnly: semantic, MaxSteps: fuzz.MaxSteps})
		d.Executions++
		if fuzz.Finding(rep) && rep.Verdict.Outcome != sched.Internal {
			d.Detected, d.Invariant = true, rep.Verdict.Violation.Invariant
			d.Seconds = time.Since(start).Seconds()
			return d, p, rep
		}
	}
	d.Seconds = time.Since(start).Seconds()
	return d, nil, nil
}

// Run hunts.
func Run(o Options) (*Result, error) {
	if len(o.Variants) == 0 {
		o.Variants = kernelsim.AllVariants
	}
	res := &Result{}
	for i, v := range o.Variants {
		row := VariantResult{Name: v.Name, KernelRef: v.KernelRef}
		var p *kernelsim.Program
		var rep *harness.Report
		var semP *kernelsim.Program
		var semRep *harness.Report
		row.Semantic, semP, semRep = search(v, true, o.PerVariant, o.Seed+uint64(2*i))
		row.Rules, p, rep = search(v, false, o.PerVariant, o.Seed+uint64(2*i+1))
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
		if best != nil && o.OutDir != "" {
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
	res.Faithful = faithful(o.Faithful, o.Seed)
	if o.Progress != nil {
		o.Progress(fmt.Sprintf("faithful kernel: %d executions, %d violations", res.Faithful.Executions, res.Faithful.Violations))
	}
	return res, nil
}

func (r VariantResult) cell() string {
	if !r.Detected {
		return "not found in budget"
	}
	return fmt.Sprintf("%s after %d executions, %.1fs", r.Invariant, r.Executions, r.Seconds)
}

// faithful runs random programs under PCT on the faithful kernel and
// computes the PCT confidence 1-(1-1/(n*k^(d-1)))^N for the largest n and
// the median k of the runs.
func faithful(budget time.Duration, seed uint64) Faithful {
	rng := rand.New(rand.NewPCG(seed, 0x66616974))
	start := time.Now()
	f := Faithful{}
	var ks []int
	for i := 0; time.Since(start) < budget; i++ {
		p, st := candidate(rng, 2*i+1) // PCT schedules
		rep := harness.Run(p, harness.Options{Strategy: st, MaxSteps: fuzz.MaxSteps})
		f.Executions++
		ks = append(ks, rep.Steps)
		f.N = max(f.N, len(p.Tasks))
		if fuzz.Finding(rep) {
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

func median(xs []int) int {
	c := append([]int(nil), xs...)
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j] < c[j-1]; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
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
	tmp, err := os.CreateTemp(dir, ".scenario-*")
	if err != nil {
		return "", err
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return path, os.Rename(tmp.Name(), path)
}
