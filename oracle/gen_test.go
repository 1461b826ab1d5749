package oracle

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mmrace/fuzz"
	"mmrace/kernelsim"
)

// generatedPrograms is how many programs TestGenerated diffs (-short: a
// tenth).
const generatedPrograms = 10_000

// genResult is what one generated program showed.
type genResult struct {
	seed  uint64
	prog  *kernelsim.Program
	kind  string // the first difference's kind; "" when none
	limit string // the limit it reached; "" when none
	text  string // the formatted report of a difference
	err   error
}

// TestGenerated diffs 10,000 programs of fuzz.Generate (a template's setup
// and 1-4 tasks of its ops, run in program order as every diff does; seeds
// 0..9999; small pages only: smallPagesOnly) against the kernel, counts the
// differences by kind with the smallest program of each, lists the
// programs that reach a deliberate limit (the hugetlb templates' setups
// do), and fails on any kind that is not a known one.
func TestGenerated(t *testing.T) {
	needHost(t)
	n := generatedPrograms
	if testing.Short() {
		n /= 10
	}
	start := time.Now()
	results := make([]genResult, n)
	seeds := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range seeds {
				results[i] = diffGenerated(uint64(i))
			}
		}()
	}
	for i := range n {
		seeds <- i
	}
	close(seeds)
	wg.Wait()
	elapsed := time.Since(start)

	count := map[string]int{}
	smallest := map[string]*genResult{}
	limits := map[string][]uint64{}
	same := 0
	for i := range results {
		r := &results[i]
		if r.err != nil {
			t.Fatalf("seed %d: %v\n%s", r.seed, r.err, r.prog)
		}
		if r.limit != "" {
			limits[r.limit] = append(limits[r.limit], r.seed)
		}
		if r.kind == "" {
			same++
			continue
		}
		count[r.kind]++
		if s := smallest[r.kind]; s == nil || r.prog.Ops() < s.prog.Ops() {
			smallest[r.kind] = r
		}
	}
	kinds := make([]string, 0, len(count))
	for k := range count {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(a, b string) int {
		if count[a] != count[b] {
			return count[b] - count[a]
		}
		return strings.Compare(a, b)
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%d generated programs in %v: %d agree, %d differ\n", n, elapsed.Round(time.Millisecond), same, n-same)
	for _, k := range kinds {
		status := "UNKNOWN"
		if kn := knownKind(k); kn != nil {
			status = "known (" + kn.Example + ")"
		}
		fmt.Fprintf(&b, "%6d  %-50s %s\n", count[k], k, status)
	}
	for name, seeds := range limits {
		fmt.Fprintf(&b, "limit %s: %d programs (seeds %v...)\n", name, len(seeds), seeds[:min(len(seeds), 5)])
	}
	t.Log("\n" + b.String())
	for _, k := range kinds {
		if knownKind(k) == nil {
			r := smallest[k]
			t.Errorf("a kind of difference not known before: %s (%d programs); the smallest, seed %d:\n%s\n%s", k, count[k], r.seed, r.prog, r.text)
		}
	}
}

// diffGenerated generates the program of seed (1 to 4 tasks, by seed) and
// diffs it.
func diffGenerated(seed uint64) genResult {
	p := smallPagesOnly(fuzz.Generate(rand.New(rand.NewPCG(seed, 0x0c1e)), 1+int(seed%4)))
	r := genResult{seed: seed, prog: p}
	rep, err := Diff(p, Options{})
	if err != nil {
		r.err = err
		return r
	}
	if rep.Limit != nil {
		r.limit = rep.Limit.Name
	}
	if rep.First != nil {
		if l := hostZeroPageLimit(rep.First.Kind); l != "" {
			r.limit = l
			return r
		}
		r.kind = rep.First.Kind
		var b strings.Builder
		rep.Format(&b, OpLines(p.String()))
		r.text = b.String()
	}
	return r
}

// smallPagesOnly makes p's mappings small-page ones and drops its
// khugepaged and split ops: the model's 8-page THPs have no host
// counterpart (LimitTHP), and a comparison that stopped at the first THP
// mapping would leave the programs of the THP templates (a sixth of them,
// their setups map THPs) uncompared. The THP paths are left to the model's
// own invariants.
func smallPagesOnly(p *kernelsim.Program) *kernelsim.Program {
	keep := func(ops []kernelsim.Op) []kernelsim.Op {
		out := ops[:0:0]
		for _, o := range ops {
			if o.Verb == kernelsim.OpCollapse || o.Verb == kernelsim.OpSplit {
				continue
			}
			o.THP = false
			out = append(out, o)
		}
		return out
	}
	p.Setup = keep(p.Setup)
	for i := range p.Tasks {
		p.Tasks[i] = keep(p.Tasks[i])
	}
	return p
}
