// Package locks is mmrace's lock-necessity map (mmrace locks): for every
// lock acquisition site of the faithful model (internal/locksites finds
// them in the source) and every mutant kind that applies to it — the
// acquisition removed with its release, a trylock's failure ignored, the
// lock released at the end of the first step it protects — and for every
// TLB flush site (class tlb_flush) — the flush removed, or moved after the
// unlock (kernelsim/flushmutant.go) — it runs the faithful search
// semantic-only with the mutant for a fixed budget and reports per mutant:
//
//   - killed: a semantic invariant (or a deadlock) broke; the first
//     counterexample is minimized and written as a scenario, a replay
//     command and an HTML timeline;
//   - no consequence found in N executions, with how often the mutation
//     took effect, and the written argument for the site when there is one
//     (arguments.txt), else "open gap";
//   - not exercised: the mutation never took effect (the site never ran,
//     the trylock never failed, the lock was never held past its first
//     step): never counted as a survivor.
//
// Internal errors of the harness are never kills; they are reported
// loudly. The kill rate is killed / (killed + no consequence).
//
// A run is resumable: every finished mutant is written to the state file
// in the output directory at once (atomically); a rerun with the same
// budget and seed reuses what it finds there and runs the rest.
package locks

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"mmrace/internal/locksites"
	"mmrace/kernelsim/ksync"
)

// Options configure a run of the lock-necessity map.
type Options struct {
	Sites *locksites.Sites // the model's sites (locksites.Find)
	// Sites and Kinds select the mutants: a site is kept when Keep is nil
	// or returns true; Kinds nil means every kind.
	Keep  func(*locksites.Site) bool
	Kinds []ksync.MutantKind
	// Runs and Budget bound each mutant's search (executions, wall-clock
	// time; 0: no bound of that kind, at least one must be set).
	Runs           int
	Budget         time.Duration
	MinimizeBudget time.Duration // per killed mutant; default 10s
	Workers        int           // default runtime.NumCPU()
	Seed           uint64
	OutDir         string // the state file, scenarios and timelines
	// Search is the search engine (default DefaultSearch, the hunt
	// search); the generators' owner plugs a better one in here.
	Search SearchFunc
	// Progress is called with each mutant finished (by the collecting
	// goroutine, in completion order), or nil.
	Progress func(Result)
	Context  context.Context // its end interrupts the run
}

// Verdicts of a mutant.
const (
	Killed        = "killed"
	NoConsequence = "no-consequence"
	NotExercised  = "not-exercised"
	InternalError = "internal-error"
)

// Result is the outcome of one mutant.
type Result struct {
	ID         string  `json:"id"` // site key @ kind
	Site       string  `json:"site"`
	Kind       string  `json:"kind"`
	Kernel     string  `json:"kernel_function"`
	KernelFile string  `json:"kernel_file"`
	Lock       string  `json:"lock"`
	Class      string  `json:"class"`
	Where      string  `json:"where"`
	Func       string  `json:"go_function"`
	Verdict    string  `json:"verdict"`
	Invariant  string  `json:"invariant,omitempty"` // killed: the semantic invariant
	Executions int     `json:"executions"`
	Seconds    float64 `json:"seconds"`
	// Reached counts the site's acquisitions during the search, Applied
	// the ones the mutation changed, RunsApplied the executions in which
	// it changed at least one.
	Reached     int64 `json:"reached"`
	Applied     int64 `json:"applied"`
	RunsApplied int   `json:"runs_applied"`
	// PairRuns counts the executions that raced a task that reached the
	// site (or an op of its verb) against adversaries, drawn from
	// PairSources tasks (hunt.SearchResult).
	PairRuns    int `json:"pair_runs,omitempty"`
	PairSources int `json:"pair_sources,omitempty"`
	// HarnessLimits counts runs cut short by the step limit or watchdog.
	HarnessLimits  int    `json:"harness_limits,omitempty"`
	InternalErrors int    `json:"internal_errors,omitempty"`
	FirstInternal  string `json:"first_internal_error,omitempty"`
	// FaithfulFindings counts the failing runs of the search that were
	// not the mutant's doing (never kills): the mutation did not take
	// effect in the run, or the faithful kernel fails the program too.
	FaithfulFindings int    `json:"faithful_findings,omitempty"`
	FirstFaithful    string `json:"first_faithful_finding,omitempty"`
	// Killed mutants: the minimized counterexample.
	Scenario  string `json:"scenario,omitempty"`
	Timeline  string `json:"timeline,omitempty"`
	Replay    string `json:"replay,omitempty"`
	Narrative string `json:"narrative,omitempty"`
	MinOps    int    `json:"minimized_ops,omitempty"`
	// Survivors: the written argument, or "" (an open gap).
	Argument string `json:"argument,omitempty"`
	// Params are the search parameters the result holds for (resume).
	Params string `json:"params"`
}

// Survived reports whether the mutant was exercised and nothing broke.
func (r *Result) Survived() bool { return r.Verdict == NoConsequence }

// Exercised reports whether the mutant counts in the kill rate.
func (r *Result) Exercised() bool { return r.Verdict == Killed || r.Verdict == NoConsequence }

// Report is a whole run.
type Report struct {
	Sites       int      `json:"sites"`        // statically found
	FlushSites  int      `json:"flush_sites"`  // of which TLB flush sites
	VariantOnly []string `json:"variant_only"` // sites only variants reach: not mutated
	Mutants     int      `json:"mutants"`      // selected
	Results     []Result `json:"results"`      // finished, in site order
	NotRun      []string `json:"not_run"`      // selected but not finished (interrupted)
	Resumed     int      `json:"resumed"`      // results taken from the state file
	Interrupted bool     `json:"interrupted"`  //
	Seconds     float64  `json:"wall_seconds"` // this invocation
	Workers     int      `json:"workers"`      //
	Runs        int      `json:"runs_per_mutant"`
	Budget      float64  `json:"budget_seconds_per_mutant"`
	Seed        uint64   `json:"seed"`
	Summary     Summary  `json:"summary"`
}

// mutant is one job.
type mutant struct {
	site *locksites.Site
	kind ksync.MutantKind
	id   string
}

// ID is the identifier of the mutant of kind at site: "key@kind".
func ID(site *locksites.Site, kind ksync.MutantKind) string { return site.Key + "@" + kind.String() }

// ParseID splits a mutant identifier into the site and the kind.
func ParseID(ss *locksites.Sites, id string) (*locksites.Site, ksync.MutantKind, error) {
	key, k, ok := strings.Cut(id, "@")
	if !ok {
		return nil, 0, fmt.Errorf("mutant %q: want SITE@KIND (e.g. doAnonymousPage:ptl#1@remove)", id)
	}
	kind, err := ksync.ParseMutantKind(k)
	if err != nil {
		return nil, 0, fmt.Errorf("mutant %q: %v", id, err)
	}
	s := ss.ByKey(key)
	if s == nil {
		return nil, 0, fmt.Errorf("mutant %q: no site %q (mmrace locks -list lists them)", id, key)
	}
	if !slices.Contains(s.Kinds(), kind) {
		var ks []string
		for _, k := range s.Kinds() {
			ks = append(ks, k.String())
		}
		return nil, 0, fmt.Errorf("mutant %q: %s does not apply to %s (its kinds: %s)", id, kind, key, strings.Join(ks, ", "))
	}
	if s.Variant != "" {
		return nil, 0, fmt.Errorf("mutant %q: the site is only reached under variant %s", id, s.Variant)
	}
	return s, kind, nil
}

// Mutants returns the mutants o selects, in site order.
func (o *Options) mutants() []mutant {
	var out []mutant
	for _, s := range o.Sites.List {
		if s.Variant != "" || (o.Keep != nil && !o.Keep(s)) {
			continue
		}
		for _, k := range s.Kinds() {
			if o.Kinds == nil || slices.Contains(o.Kinds, k) {
				out = append(out, mutant{site: s, kind: k, id: ID(s, k)})
			}
		}
	}
	return out
}

// params is what a result's validity depends on besides the mutant.
func (o *Options) params(m mutant) string {
	var chain []string
	for _, p := range m.site.Chain {
		chain = append(chain, p.String())
	}
	return fmt.Sprintf("runs=%d budget=%s seed=%d chain=%s", o.Runs, o.Budget, o.Seed, strings.Join(chain, "<"))
}

// seedOf is the mutant's own seed: its search does not depend on which
// other mutants run, or in which order.
func (o *Options) seedOf(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return o.Seed ^ h.Sum64()
}

// ErrNoMutants is returned when the selection is empty.
var ErrNoMutants = errors.New("no mutant selected")

// Run runs the lock-necessity map. It returns what it finished when its
// context ends (Report.Interrupted). Errors are the harness's (the state
// or an output file could not be written).
func Run(o Options) (*Report, error) {
	if o.Sites == nil {
		return nil, errors.New("locks: no sites")
	}
	if o.Runs <= 0 && o.Budget <= 0 {
		return nil, errors.New("locks: no budget")
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.MinimizeBudget <= 0 {
		o.MinimizeBudget = 10 * time.Second
	}
	if o.Search == nil {
		o.Search = DefaultSearch
	}
	ctx := o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	start := time.Now()
	ms := o.mutants()
	if len(ms) == 0 {
		return nil, ErrNoMutants
	}
	st, err := openState(o.OutDir)
	if err != nil {
		return nil, err
	}
	args, err := Arguments()
	if err != nil {
		return nil, err
	}
	rep := &Report{Sites: len(o.Sites.List), Mutants: len(ms), Workers: o.Workers, Runs: o.Runs, Budget: o.Budget.Seconds(), Seed: o.Seed}
	for _, s := range o.Sites.List {
		if s.IsFlush() {
			rep.FlushSites++
		}
		if s.Variant != "" {
			rep.VariantOnly = append(rep.VariantOnly, s.Key+" ("+s.Variant+")")
		}
	}
	done := map[string]Result{}
	var todo []mutant
	defer func() { rep.Resumed = len(ms) - len(todo) }()
	for _, m := range ms {
		if r, ok := st.Results[m.id]; ok && r.Params == o.params(m) {
			done[m.id] = r
		} else {
			todo = append(todo, m)
		}
	}
	jobs := make(chan mutant)
	results := make(chan Result)
	var wg sync.WaitGroup
	for range min(o.Workers, max(len(todo), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range jobs {
				r, ok := o.runMutant(ctx, m)
				if ok {
					results <- r
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, m := range todo {
			select {
			case jobs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	var werr error
	byID := make(map[string]int, len(ms))
	for i, m := range ms {
		byID[m.id] = i
	}
	for r := range results {
		done[r.ID] = r
		st.Results[r.ID] = r
		if err := st.save(); err != nil && werr == nil {
			werr = err
		}
		if o.Progress != nil {
			// The progress line names the written argument as the table
			// does (it said "open gap" for argued survivors).
			if i, ok := byID[r.ID]; ok && r.Verdict != Killed {
				r.Argument = args.For(ms[i].site, ms[i].kind)
			}
			o.Progress(r)
		}
	}
	if werr != nil {
		return nil, werr
	}
	for _, m := range ms {
		r, ok := done[m.id]
		if !ok {
			rep.NotRun = append(rep.NotRun, m.id)
			continue
		}
		r.Argument = ""
		if r.Verdict != Killed {
			r.Argument = args.For(m.site, m.kind)
		}
		rep.Results = append(rep.Results, r)
	}
	rep.Interrupted = len(rep.NotRun) > 0
	rep.Seconds = time.Since(start).Seconds()
	rep.Summary = summarize(rep.Results)
	return rep, nil
}

// InternalErrors counts the mutants whose search met an internal error of
// the harness.
func (r *Report) InternalErrors() int {
	n := 0
	for _, x := range r.Results {
		if x.InternalErrors > 0 || x.Verdict == InternalError {
			n++
		}
	}
	return n
}

// FaithfulFindings counts the mutants whose search met a failing run
// that was not the mutant's doing.
func (r *Report) FaithfulFindings() int {
	n := 0
	for _, x := range r.Results {
		if x.FaithfulFindings > 0 {
			n++
		}
	}
	return n
}

// describe fills a result's site columns.
func describe(m mutant) Result {
	s := m.site
	return Result{ID: m.id, Site: s.Key, Kind: m.kind.String(), Kernel: s.Kernel, KernelFile: KernelFile(s.Kernel),
		Lock: s.Lock(), Class: s.Class, Where: s.Where(), Func: s.Func}
}

// writable checks that dir can hold the output (creating nothing).
func writable(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case err == nil:
		f, err := os.CreateTemp(dir, ".mmrace-locks-probe-*")
		if err != nil {
			return err
		}
		f.Close()
		return os.Remove(f.Name())
	case os.IsNotExist(err):
		parent := filepath.Dir(filepath.Clean(dir))
		if parent == dir {
			return err
		}
		return writable(parent)
	}
	return err
}

// CheckOutDir reports whether dir is usable as an output directory (an
// existing writable directory, or one that can be created), writing
// nothing.
func CheckOutDir(dir string) error { return writable(dir) }
