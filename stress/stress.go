// Package stress runs random programs for a long time on every core, in
// controlled or free mode, deduplicates what fails by invariant signature
// and writes one reproducer per signature.
package stress

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mmrace/fuzz"
	"mmrace/harness"
	"mmrace/internal/atomicfile"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
	"mmrace/reach"
)

// Options configure a stress run.
type Options struct {
	Mode         sched.Mode
	Strategy     string // pct, random or bytes (controlled mode)
	Variants     kernelsim.Variants
	SemanticOnly bool
	Workers      int // default runtime.NumCPU()
	OutDir       string
	Seed         uint64
	YieldOneIn   int // free mode: random yields
	// Runs, if positive, is the run's execution budget: the executions
	// with index 0..Runs-1 (this shard's share of them); else the run goes
	// on until ctx is done.
	Runs int64
	// Shard is the part of the run this process does (zero: all of it).
	Shard Shard
	// Reach measures the reach matrix of the run (Result.Reach): which
	// kernel paths ran concurrently on the same lock (controlled mode).
	Reach bool
	// Directed, with Reach, draws half of the template programs from the
	// templates that reached the rarest cells so far (direct.go).
	Directed bool
}

// Finding is one distinct failure signature.
type Finding struct {
	Signature  string `json:"signature"`
	Invariant  string `json:"invariant"`
	Count      int    `json:"count"`
	Index      int64  `json:"example_index"` // the execution that Example and Reproducer come from: the lowest of the signature
	Example    string `json:"example"`
	Reproducer string `json:"reproducer,omitempty"`
}

// Stats is a snapshot of a running stress.
type Stats struct {
	Executions int64
	Elapsed    time.Duration
	Distinct   int
	Failures   int64
	Goroutines int // of the process, now
	RSSKB      int // resident set size of the process, now (0 where /proc is missing)
}

// Result is the summary of a stress run, or of several shards of one run
// combined by Merge.
type Result struct {
	Mode     string `json:"mode"`
	Strategy string `json:"strategy,omitempty"`
	Variants string `json:"variants"`
	Rules    bool   `json:"rules"`
	Seed     uint64 `json:"seed"`
	Runs     int64  `json:"runs,omitempty"`
	// Shards are the shards the summary covers, "i/N": one for a run
	// ("0/1" unsharded), several after Merge.
	Shards     []string `json:"shards"`
	Workers    int      `json:"workers"`
	Executions int64    `json:"executions"`
	Seconds    float64  `json:"seconds"`
	PerSecond  float64  `json:"executions_per_second"`
	// PerWorker is PerSecond divided by Workers: executions per second per
	// worker, the figure to compare between machines and worker counts.
	PerWorker float64   `json:"executions_per_second_per_worker"`
	Failures  int64     `json:"failures"`
	Findings  []Finding `json:"findings"`
	// InternalErrors are runs in which the harness itself failed: never
	// findings, always reported loudly (the first one in full).
	InternalErrors int64 `json:"internal_errors"`
	// Reach is the reach matrix (Options.Reach), its cells with their
	// runs in ReachCells.
	Reach           *reach.Matrix     `json:"-"`
	ReachCells      []reach.CellCount `json:"reach,omitempty"`
	FirstInternal   string            `json:"first_internal_error,omitempty"`
	GoroutinesStart int               `json:"goroutines_start"`
	GoroutinesEnd   int               `json:"goroutines_end"`
	RSSStartKB      int               `json:"rss_start_kb"`
	RSSEndKB        int               `json:"rss_end_kb"`
	Interrupted     bool              `json:"interrupted"`
}

var numRE = regexp.MustCompile(`0x[0-9a-f]+|\b(f|vma#|av#|avc#|pt#|pmd#|mm)\d+|\b\d+\b`)

// Signature reduces a violation to what stays the same across runs of one
// bug: the invariant and its detail with addresses, ids and counts erased.
func Signature(v sched.Violation) string {
	d := strings.SplitN(v.Detail, "\n", 2)[0]
	return v.Invariant + ": " + numRE.ReplaceAllString(d, "#")
}

// Run stresses until ctx is done or the budget o.Runs is spent, calling
// progress about every second.
//
// The executions of a run are numbered 0, 1, 2, …, and the inputs of each
// (program, mutations, scheduler seed) are a pure function of o.Seed and its
// index, whatever the number of workers. Shard i/N runs the indices ≡ i
// mod N, in increasing order: so in controlled mode shards 0/N … N-1/N with
// the same seed and budget run exactly the executions of one unsharded run,
// and Merge of their results is that run's result.
func Run(ctx context.Context, o Options, progress func(Stats)) (*Result, error) {
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.Shard.Count == 0 {
		o.Shard = Shard{Index: 0, Count: 1}
	}
	if err := o.Shard.check(); err != nil {
		return nil, err
	}
	res := &Result{Mode: o.Mode.String(), Variants: o.Variants.String(), Rules: !o.SemanticOnly, Seed: o.Seed, Runs: o.Runs,
		Shards: []string{o.Shard.String()}, Workers: o.Workers, GoroutinesStart: runtime.NumGoroutine(), RSSStartKB: rssKB()}
	if o.Mode == sched.Controlled {
		res.Strategy = cmp.Or(o.Strategy, "pct")
	}
	var execs, fails, internals, next atomic.Int64
	var mu sync.Mutex
	found := map[string]*Finding{}
	number := map[string]int{} // the reproducer file of each signature
	var keys []string
	start := time.Now()
	var wg sync.WaitGroup
	var werr error
	if o.Reach {
		res.Reach = reach.New()
	}
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool := sched.NewPool() // this worker's task goroutines, reused run after run
			defer pool.Close()
			var last *harness.Report // dropped after each run: its memory is reused
			var rm *reach.Matrix
			var dir *director
			if o.Reach && o.Directed {
				dir = newDirector()
			}
			if o.Reach {
				rm = reach.New()
				defer func() {
					mu.Lock()
					res.Reach.Merge(rm)
					mu.Unlock()
				}()
			}
			for ctx.Err() == nil {
				index := int64(o.Shard.Index) + (next.Add(1)-1)*int64(o.Shard.Count)
				if o.Runs > 0 && index >= o.Runs {
					return
				}
				rng := rand.New(rand.NewPCG(o.Seed, uint64(index)))
				var in []byte
				if dir != nil {
					in = dir.input(rng)
				} else {
					in = fuzz.RandomInput(rng)
				}
				p, sb := fuzz.Decode(in)
				paired := false
				if rng.IntN(2) == 0 {
					// Half the programs are pairs of one path against
					// adversaries (fuzz.RandomPair), under the input's
					// schedule bytes.
					if q := fuzz.RandomPair(rng); q != nil {
						p, paired = q, true
					}
				}
				p.Variants = o.Variants
				ho := harness.Options{Mode: o.Mode, SemanticOnly: o.SemanticOnly, MaxSteps: fuzz.MaxSteps, Seed: rng.Uint64(), YieldOneIn: o.YieldOneIn,
					Pool: pool, Reuse: last}
				if o.Mode == sched.Controlled {
					switch o.Strategy {
					case "random":
						ho.Strategy = sched.NewRandom(rng.Uint64())
					case "bytes":
						ho.Strategy = fuzz.Strategy(p, sb)
					default:
						pct := sched.NewPCT(rng.Uint64(), 2+rng.IntN(2), 60+12*p.Ops())
						pct.Windows = pct.Seed&1 == 0 // half the runs preempt at TLB windows
						ho.Strategy = pct
					}
				}
				rep := harness.Run(p, ho)
				last = rep
				execs.Add(1)
				if rm != nil {
					cells := reach.Reached(&rep.RunTrace)
					rm.AddCells(cells)
					if dir != nil && !paired {
						dir.observe(fuzz.TemplateOf(in), cells, rm)
					}
				}
				if rep.InternalError() {
					if internals.Add(1) == 1 {
						mu.Lock()
						res.FirstInternal = rep.Summary() + rep.Program.String() + "schedule " + rep.Schedule
						mu.Unlock()
					}
					continue
				}
				if !rep.Finding() {
					continue
				}
				fails.Add(1)
				sig := Signature(rep.Verdict.Violation)
				mu.Lock()
				f, ok := found[sig]
				if !ok {
					f = &Finding{Signature: sig, Invariant: rep.Verdict.Violation.Invariant, Index: -1}
					found[sig] = f
					keys = append(keys, sig)
					number[sig] = len(keys)
				}
				f.Count++
				if f.Index < 0 || index < f.Index {
					// The example is the failure of lowest index, whichever
					// worker got there first: the same in any sharding.
					f.Index, f.Example = index, rep.Summary()
					if o.OutDir != "" {
						path, err := writeReproducer(o, number[sig], rep)
						if err != nil && werr == nil {
							werr = err
						}
						f.Reproducer = path
					}
				}
				mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
loop:
	for {
		select {
		case <-done:
			break loop
		case <-tick.C:
			if progress != nil {
				mu.Lock()
				n := len(found)
				mu.Unlock()
				progress(Stats{Executions: execs.Load(), Elapsed: time.Since(start), Distinct: n, Failures: fails.Load(),
					Goroutines: runtime.NumGoroutine(), RSSKB: rssKB()})
			}
		}
	}
	res.Executions, res.Failures, res.InternalErrors = execs.Load(), fails.Load(), internals.Load()
	res.Seconds = time.Since(start).Seconds()
	res.PerSecond = float64(res.Executions) / res.Seconds
	res.PerWorker = res.PerSecond / float64(o.Workers)
	if res.Reach != nil {
		res.ReachCells = res.Reach.List()
	}
	sort.Strings(keys)
	for _, k := range keys {
		res.Findings = append(res.Findings, *found[k])
	}
	runtime.GC()
	res.GoroutinesEnd, res.RSSEndKB = runtime.NumGoroutine(), rssKB()
	res.Interrupted = ctx.Err() == context.Canceled
	return res, werr
}

// writeReproducer writes the failing program, its schedule pinned, into
// OutDir atomically (temp file, then rename).
func writeReproducer(o Options, n int, rep *harness.Report) (string, error) {
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return "", err
	}
	p := *rep.Program
	p.Schedule = rep.Schedule
	note := "# Replay: go run ./cmd/mmrace replay FILE"
	if o.Mode == sched.Free {
		p.Schedule = ""
		note = "# Found in free mode: not replayable; search it with go run ./cmd/mmrace run FILE"
	}
	text := fmt.Sprintf("# mmrace stress finding %d (%s mode, rules %v)\n%s\n# %s\n%s", n, o.Mode, !o.SemanticOnly, note,
		strings.ReplaceAll(strings.TrimSpace(rep.Summary()), "\n", "\n# "), p.String())
	path := filepath.Join(o.OutDir, fmt.Sprintf("finding-%03d.txt", n))
	return path, atomicfile.WriteFile(path, []byte(text))
}

// rssKB reads the resident set size from /proc (0 where unavailable).
func rssKB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.Atoi(f[1])
				return n
			}
		}
	}
	return 0
}
