package locks

import (
	"context"
	"time"

	"mmrace/harness"
	"mmrace/hunt"
	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
)

// SearchRequest is one mutant's search.
type SearchRequest struct {
	// Mutant must be set on every run (harness.Options.Mutant), and every
	// run must be semantic-only on the faithful kernel.
	Mutant *ksync.Mutant
	Runs   int           // at most this many runs (0: no bound)
	Budget time.Duration // at most this long (0: no bound)
	Seed   uint64        // the search must be deterministic for a seed and a run bound
	// AfterRun must be called after every run with its report: mmrace
	// locks counts the runs in which the mutation took effect.
	AfterRun func(rep *harness.Report)
	// Focus is the kernel function of the mutated site: a search may aim
	// its programs at it.
	Focus string
	// Confirm, when not nil, must be asked about every failing run: a run
	// it refuses is not the mutant's doing (the faithful kernel fails the
	// same program too), and the search goes on as if the run had passed.
	Confirm func(p *kernelsim.Program, rep *harness.Report) bool
}

// refused reports whether req's Confirm refuses a failing run.
func (req SearchRequest) refused(p *kernelsim.Program, rep *harness.Report) bool {
	return req.Confirm != nil && !req.Confirm(p, rep)
}

// SearchFunc searches for a run that fails (a finding) under a request.
// It stops at the first finding (SearchResult.Program and Report) or when
// its budget is spent or ctx ends (Detection.Interrupted); it counts
// internal errors of the harness (never findings) and harness limits.
type SearchFunc func(ctx context.Context, req SearchRequest) hunt.SearchResult

// DefaultSearch is hunt's search (hunt.Search): a small coverage-guided
// mutation loop over fuzz.Decode inputs alternating byte and PCT
// schedules, semantic-only, on the faithful kernel. For a TLB flush
// mutant, half of the budget first goes to programs shaped for flush
// windows (flushsearch.go).
func DefaultSearch(ctx context.Context, req SearchRequest) hunt.SearchResult {
	if isFlush(req.Mutant) {
		return flushSearch(ctx, req)
	}
	return hunt.Search(ctx, hunt.SearchOptions{SemanticOnly: true, Budget: req.Budget, Runs: req.Runs, Seed: req.Seed, Mutant: req.Mutant, AfterRun: req.AfterRun, Confirm: req.Confirm})
}
