package hunt

import (
	"bytes"
	"context"
	"math/rand/v2"
	"time"

	"mmrace/fuzz"
	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// SearchOptions configure Search.
type SearchOptions struct {
	Variants     kernelsim.Variants // the kernel searched (nil: the faithful kernel)
	SemanticOnly bool
	Mode         sched.Mode
	Budget       time.Duration // wall-clock budget; 0: none (Runs must bound it)
	Runs         int           // at most this many runs; 0: none (Budget must bound it)
	Seed         uint64
	// Mutant mutates one lock acquisition site in every run (mmrace locks).
	Mutant *ksync.Mutant
	// AfterRun, when not nil, is called after every run with its report.
	AfterRun func(rep *harness.Report)
	// OnFinding, when not nil, is called with every failing run; the
	// search goes on when it returns true (mmrace check collects distinct
	// counterexamples), and stops at this one otherwise. nil stops at the
	// first.
	OnFinding func(p *kernelsim.Program, rep *harness.Report) bool
	// Confirm, when not nil, is asked about every failing run first: a
	// run it refuses is not a finding of this search (mmrace locks: the
	// faithful kernel fails the program too, so the failure is not the
	// mutant's), and the search goes on as if it had passed.
	Confirm func(p *kernelsim.Program, rep *harness.Report) bool
}

// SearchResult is what Search found.
type SearchResult struct {
	Detection
	Program *kernelsim.Program // the first failing program, nil when none
	Report  *harness.Report    // its run
	// HarnessLimits counts runs cut short by the step limit or the
	// watchdog: neither findings nor clean runs.
	HarnessLimits int
	// PairRuns counts the pair runs (pairs.go) among the executions,
	// PairSources the tasks they drew from; ByPair says that the first
	// failing run was one.
	PairRuns, PairSources int
	ByPair                bool
	// Branches says, per variant searched, how often its branch ran.
	Branches map[string]Branch
}

// Branch is how often a variant's branch ran in a search: its decision
// points answered yes Hits times, in Runs runs.
type Branch struct {
	Hits int64 `json:"hits"`
	Runs int   `json:"runs"`
}

// countBranches adds one run's variant hits to bs.
func countBranches(bs map[string]Branch, rep *harness.Report) {
	if rep.Kernel == nil {
		return
	}
	for n, h := range rep.Kernel.Variants.Hits() {
		b := bs[n]
		b.Hits += h
		if h > 0 {
			b.Runs++
		}
		bs[n] = b
	}
}

// Search looks for a failure within the budget, as a small
// coverage-guided fuzzer would: start from the seed corpus (fuzz.Seeds),
// mutate an input (its program choices or its schedule bytes), run it,
// keep it when it shows interleaving pairs never seen before. Two runs in
// three replace the byte schedule by PCT, of a depth from 2 to 6 (most
// races the byte schedules miss need PCT; a deeper one has more change
// points, which helps the races of two or three ordering constraints
// more than it costs the others), bounded by the program's own run length
// (runLengths). The change under search gets the
// search's attention: an input whose run exercised it (a variant's branch
// ran, the mutant's mutation took effect) joins a focus corpus, from which
// half the inputs are drawn once it is not empty, half of those with only
// their schedule changed (more interleavings of a program that reaches the
// change). Under a lock mutant, its PCT runs are mutant-directed
// (mutantPCT: a change point where the mutation took effect, half the
// time), and an input whose run had another task act on the mutated
// task's objects inside the window the mutant opened, with a pair of
// sites never seen before (MutantInterference), gets exploitSchedules
// more schedules at once and joins a third corpus, drawn from first: half
// the inputs once it is not empty. Also under a lock mutant, once a run
// reached the mutated site, half of the runs are pair runs (pairs.go):
// the task that reached it (alone or with the rest of its program), or an
// op of the same verb in another template, against adversary ops drawn
// from the template, or the race of a template (all its race ops at once)
// whose programs reached the site or have an op of the verb. It stops at the first finding;
// internal errors are counted (Detection.InternalErrors), never findings.
// Deterministic for a seed and a run count (hunt, mmrace locks); the end
// of ctx stops it, marked Interrupted.
func Search(ctx context.Context, o SearchOptions) SearchResult {
	rng := rand.New(rand.NewPCG(o.Seed, 0x68756e74))
	start := time.Now()
	corpus := fuzz.Seeds()
	var focus [][]byte
	var hot [][]byte // mutant runs that showed new interference pairs (MutantInterference)
	seenWin := map[uint32]bool{}
	windowed := map[string]bool{} // programs given windowSchedules for a stale copy
	var exploit []exploitRuns     // programs owed more schedules
	var applied, reached int64
	seen := map[uint32]bool{}
	steps := map[string]int{} // program text: the most steps a run of it took
	var lens runLengths
	pairs := &pairState{seen: map[string]bool{}}
	r := SearchResult{Branches: map[string]Branch{}}
	for n := range o.Variants {
		r.Branches[n] = Branch{}
	}
	d := &r.Detection
	for i := 0; (o.Budget <= 0 || time.Since(start) < o.Budget) && (o.Runs <= 0 || i < o.Runs); i++ {
		if ctx.Err() != nil {
			d.Interrupted = true
			break
		}
		var data []byte
		var p *kernelsim.Program
		pairRun, windowRun := false, false
		if o.Mutant != nil && pairs.active() && rng.IntN(2) == 0 {
			// A pair run (pairs.go): the task that ran the mutated site
			// against one adversary op.
			if q := pairs.next(rng); q != nil {
				p, pairRun = q, true
				p.Variants = o.Variants
				r.PairRuns++
			}
		}
		switch {
		case p != nil:
		case len(exploit) > 0:
			// A program that just showed a new interference pair, or a
			// stale copy: more schedules of it at once.
			data, windowRun = exploit[0].data, exploit[0].windows
			if !windowRun {
				data = fuzz.MutateSchedule(rng, data)
			}
			if exploit[0].left--; exploit[0].left == 0 {
				exploit = exploit[1:]
			}
		case len(hot) > 0 && rng.IntN(2) == 0:
			// A run in which another task acted inside the mutant's
			// window, drawn by its pair (a rare pair weighs as much as a
			// common one): half the time under another schedule only.
			if in := hot[rng.IntN(len(hot))]; rng.IntN(2) == 0 {
				data = fuzz.MutateSchedule(rng, in)
			} else {
				data = fuzz.Mutate(rng, in)
			}
		case len(focus) > 0 && rng.IntN(2) == 0:
			// A program that exercised the change: half the time under
			// another schedule only.
			if in := focus[rng.IntN(len(focus))]; rng.IntN(2) == 0 {
				data = fuzz.MutateSchedule(rng, in)
			} else {
				data = fuzz.Mutate(rng, in)
			}
		default:
			data = fuzz.Mutate(rng, corpus[rng.IntN(len(corpus))])
		}
		var st sched.Strategy
		if p == nil {
			var sb []byte
			p, sb = fuzz.Decode(data)
			p.Variants = o.Variants
			st = fuzz.Strategy(p, sb)
		}
		key := p.String()
		switch {
		case pairRun && pairs.lastRace && rng.IntN(4) == 0:
			// A template's race, one time in four, under uniform random
			// scheduling: races that need many alternations of their
			// tasks (a write fault that sleeps on a split's folio lock
			// and re-takes the PMD lock while MADV_DONTNEED zaps the
			// leaf; collapse_file's unlocked folio mapped again by a
			// fault's retry; deferred_split_scan's trylock against a
			// write fault; hugetlb_unmap_file_folio's trylocked VMA lock
			// released early) are found in 3 to 125 random runs and not
			// in 5,000 PCT runs. Others are PCT's alone (a hugetlb
			// migration's folio lock: 23 PCT runs, no random one in
			// 3,000), hence one in four, not more: over four seeds of 10
			// such survivors, one in two left 10, one in four 6, none 14.
			st = sched.NewRandom(rng.Uint64())
		case i%3 != 0 || pairRun || windowRun:
			pct := sched.NewPCT(rng.Uint64(), 2+rng.IntN(pctDepths), lens.k(p, steps[key]))
			// One run in four preempts where TLB races live
			// (sched.PCT.Windows): a parent thread's store through a
			// stale writable translation between a fork-time COW
			// copy and its PTE replacement (D.12c) is found in one of
			// about 250 runs of its program this way, in one of
			// 20,000 by plain PCT. Not more: the extra preemptions
			// cost races of other shapes (over 44 hard mutants of
			// the map, windows in no run killed 20, in one in four
			// 23, in one in two 15).
			pct.Windows = i%4 == 0 || windowRun
			st = pct
			if o.Mutant != nil {
				st = newMutantPCT(pct, o.Mutant)
			}
		}
		rep := harness.Run(p, harness.Options{Mode: o.Mode, Strategy: st, SemanticOnly: o.SemanticOnly, MaxSteps: fuzz.MaxSteps, Seed: rng.Uint64(), YieldOneIn: 3, Mutant: o.Mutant})
		d.Executions++
		if !rep.HarnessLimit() {
			steps[key] = max(steps[key], rep.Steps)
			lens.add(p, rep.Steps)
		}
		countBranches(r.Branches, rep)
		if o.AfterRun != nil {
			o.AfterRun(rep)
		}
		if rep.InternalError() {
			d.internal(rep, p)
			continue
		}
		if rep.HarnessLimit() {
			r.HarnessLimits++
		}
		if rep.Finding() && (o.Confirm == nil || o.Confirm(p, rep)) {
			if !d.Detected {
				d.Detected, d.Invariant = true, rep.Verdict.Violation.Invariant
				d.Seconds = time.Since(start).Seconds()
				r.Program, r.Report, r.ByPair = p, rep, pairRun
			}
			if o.OnFinding == nil || !o.OnFinding(p, rep) {
				r.PairSources = len(pairs.src)
				r.fillBranch()
				return r
			}
			continue
		}
		if pairRun {
			reached = o.Mutant.Reached()
			if a := o.Mutant.Applied(); a > applied {
				applied = a
				pairs.ran(p, MutantInterference(&rep.RunTrace), seenWin)
			}
			continue
		}
		if rep.Kernel != nil && (rep.Kernel.StaleCopies() > 0 || rep.Kernel.Relocks() > 0) && !windowed[key] && len(windowed) < 256 {
			// A page copied while another task could still store to it
			// through a writable translation (sched.WindowCopy): a lost
			// store is a few preemptions away; PCT with windows finds
			// the one of D.12c in about one run of its program in
			// 1,000 (10 in 10,000; one in 250 before the windows at
			// lockless page-table reads). Likewise a run whose split
			// unshared before it took its locks (sched.WindowRelock,
			// variant hugetlb_split-before-vma-lock): its corpus
			// program fails in about one PCT run with windows in 2,000,
			// one in 5,000 without.
			windowed[key] = true
			exploit = append(exploit, exploitRuns{data: data, left: windowSchedules, windows: true})
		}
		fresh := false
		for _, h := range fuzz.InterleavingPairs(&rep.RunTrace) {
			if !seen[h] {
				seen[h], fresh = true, true
			}
		}
		if fresh && len(corpus) < 4096 {
			corpus = append(corpus, data)
		}
		exercised := rep.Kernel != nil && rep.Kernel.Variants.Total() > 0
		if o.Mutant != nil {
			a := o.Mutant.Applied()
			if a > applied && len(hot) < 1024 {
				for _, h := range MutantInterference(&rep.RunTrace) {
					if !seenWin[h] && len(hot) < 1024 {
						seenWin[h] = true
						hot = append(hot, data) // once per new pair
						if len(exploit) == 0 || !bytes.Equal(exploit[len(exploit)-1].data, data) {
							exploit = append(exploit, exploitRuns{data: data, left: exploitSchedules})
						}
					}
				}
			}
			if a > applied {
				pairs.source(data, p, &rep.RunTrace)
			}
			if n := o.Mutant.Reached(); n > reached {
				reached = n
				pairs.reachedIn(data)
			}
			exercised = exercised || a > applied
			applied = a
		}
		if exercised && len(focus) < 1024 {
			focus = append(focus, data)
		}
	}
	if !d.Detected {
		d.Seconds = time.Since(start).Seconds()
	}
	r.PairSources = len(pairs.src)
	r.fillBranch()
	return r
}

// fillBranch copies the branch counts into the Detection (summed over the
// variants searched).
func (r *SearchResult) fillBranch() {
	for _, b := range r.Branches {
		r.BranchHits += b.Hits
		r.BranchRuns = max(r.BranchRuns, b.Runs)
	}
}

// exploitRuns is a program owed more schedules (Search, under a mutant).
type exploitRuns struct {
	data    []byte
	left    int
	windows bool // a stale copy's: the same input under PCT with windows
}

// exploitSchedules is how many more schedules Search gives at once to a
// program whose run showed a new interference pair under a mutant. A
// small number, since such programs are many (a few hundred pairs per
// mutant): the mutant-directed change point makes a race through the
// window likely within a few runs when the other task's access comes
// next (doAnonymousPage's read section removed, raced by PT reclaim:
// killed in 11 executions of the search), and the hot corpus brings the
// program back later.
const exploitSchedules = 8

// windowSchedules is how many PCT runs with windows a program whose run
// copied a page under a stale writable translation gets at once.
const windowSchedules = 1000

// pctDepths is how many PCT depths the search draws from, 2 upwards.
const pctDepths = 5

// runLengths estimates PCT's bound on the steps of a run (K) for a
// program: as mmrace run measures it, a quarter more than the longest run
// of the program seen, plus 10; before the program ran, from its task ops
// and the steps per task op of the search's runs so far (setup ops do not
// run in the concurrent phase). A bound far above the run's length puts
// most change points after its end: 60+12 per op, the estimate stress
// uses, is about twice the length of a short THP or fault race.
type runLengths struct {
	steps, ops int
}

func taskOps(p *kernelsim.Program) int {
	n := 0
	for _, t := range p.Tasks {
		n += len(t)
	}
	return n
}

func (l *runLengths) add(p *kernelsim.Program, steps int) {
	l.steps += steps
	l.ops += taskOps(p)
}

func (l *runLengths) k(p *kernelsim.Program, seen int) int {
	switch {
	case seen > 0:
		return seen*5/4 + 10
	case l.ops > 0:
		return l.steps*taskOps(p)/l.ops*5/4 + 10
	}
	return 60 + 12*p.Ops()
}
