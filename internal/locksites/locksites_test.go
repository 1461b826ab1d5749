package locksites_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"mmrace/fuzz"
	"mmrace/harness"
	"mmrace/internal/locksites"
	"mmrace/internal/scenario"
	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func sites(t *testing.T) *locksites.Sites {
	t.Helper()
	ss, err := locksites.Find()
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// TestPrimitivesComplete: every exported method of ksync's lock types that
// takes a task and a site string is known to the scan as an acquisition,
// a release or neither, so that a new primitive cannot go unscanned.
func TestPrimitivesComplete(t *testing.T) {
	task := reflect.TypeOf(&sched.Task{})
	for _, v := range []any{&ksync.Rwsem{}, &ksync.Mutex{}, &ksync.MmapLock{}, &ksync.VMALock{}, &ksync.RCU{}} {
		typ := reflect.TypeOf(v)
		for i := 0; i < typ.NumMethod(); i++ {
			m := typ.Method(i)
			mt := m.Type
			if mt.NumIn() < 3 || mt.In(1) != task || mt.In(mt.NumIn()-1).Kind() != reflect.String {
				continue
			}
			name := typ.Elem().Name() + "." + m.Name
			if !locksites.Known(name) {
				t.Errorf("ksync's %s takes a task and a site but the lock-site scan does not know it: add it to primitives or notPrimitives", name)
			}
		}
	}
}

// TestSitesWellFormed: every site has one class, a kernel function, a
// unique key, and its chain ends in the function it names.
func TestSitesWellFormed(t *testing.T) {
	ss := sites(t)
	if len(ss.List) < 50 {
		t.Fatalf("only %d sites found", len(ss.List))
	}
	keys := map[string]bool{}
	for _, s := range ss.List {
		if strings.HasPrefix(s.Class, "?") || s.Class == "" {
			t.Errorf("%s (%s): lock class not resolved: %q", s.Key, s.Where(), s.Class)
		}
		if s.Kernel == "" || strings.Contains(s.Kernel, "?") {
			t.Errorf("%s (%s): kernel function not resolved", s.Key, s.Where())
		}
		if keys[s.Key] {
			t.Errorf("duplicate key %s", s.Key)
		}
		keys[s.Key] = true
		if ss.ByKey(s.Key) != s || ss.Lookup(s.Chain) != s {
			t.Errorf("%s: lookups disagree", s.Key)
		}
		if _, err := os.Stat(filepath.Join(ss.Dir, s.Pos().File)); err != nil {
			t.Errorf("%s: %v", s.Key, err)
		}
	}
}

// TestDelegation pins the rule on the model's own wrappers: the PTL that
// pte_offset_map_lock takes belongs to each caller, the page_table_lock of
// __pmd_alloc (taken and dropped there) to __pmd_alloc, a VMA write lock
// (held by the mmap write epoch) to where vma_start_write is written.
func TestDelegation(t *testing.T) {
	ss := sites(t)
	find := func(fn, class string) []*locksites.Site {
		var out []*locksites.Site
		for _, s := range ss.List {
			if s.Func == fn && s.Class == class {
				out = append(out, s)
			}
		}
		return out
	}
	for _, tc := range []struct {
		fn, class, via string
	}{
		{"doAnonymousPage", "ptl", "pteOffsetMapLock"},
		{"zapPTETable", "ptl", "pteOffsetMapLock"},
		{"movePTEs", "ptl", "pteOffsetMapLock"},
		{"Fault", "vma_lock", "lockVMAUnderRCU"},
		{"doFault", "folio_lock", "filemapFault"},
		{"pmdAlloc", "page_table_lock", ""},
		{"lockVMAUnderRCU", "rcu", ""},
		{"mmapNewVMA", "vma_lock", ""},
		{"Mremap", "mmap_lock", ""},
	} {
		got := find(tc.fn, tc.class)
		if len(got) == 0 {
			t.Errorf("no %s site in %s", tc.class, tc.fn)
			continue
		}
		if via := strings.Join(got[0].Via, ","); via != tc.via {
			t.Errorf("%s %s: via %q, want %q", tc.fn, tc.class, via, tc.via)
		}
	}
	if s := find("pteOffsetMapLock", "ptl"); len(s) != 0 {
		t.Errorf("pteOffsetMapLock's PTL is a site of its own: %v", s[0].Key)
	}
}

// run is one program run of the census.
type run struct {
	p  *kernelsim.Program
	st func() sched.Strategy
}

// programs returns the census's runs: every corpus scenario under its
// pinned schedule and a few PCT schedules, the fuzz seeds and random
// generated programs under PCT.
func programs(t *testing.T) []run {
	var out []run
	files, _ := filepath.Glob("../../corpus/*.txt")
	if len(files) == 0 {
		t.Fatal("no corpus files")
	}
	pct := func(p *kernelsim.Program, seed uint64) func() sched.Strategy {
		return func() sched.Strategy { return sched.NewPCT(seed, 3, 60+12*p.Ops()) }
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := scenario.Read(f, string(b))
		if err != nil {
			t.Fatal(err)
		}
		p, err := sc.Parse()
		if err != nil {
			t.Fatal(err)
		}
		p.Variants = nil
		out = append(out, run{p: p, st: func() sched.Strategy { return nil }})
		for s := range uint64(10) {
			out = append(out, run{p: p, st: pct(p, s)})
		}
	}
	for _, d := range fuzz.Seeds() {
		p, sb := fuzz.Decode(d)
		out = append(out, run{p: p, st: func() sched.Strategy { return sched.NewBytes(sb) }})
		for s := range uint64(5) {
			out = append(out, run{p: p, st: pct(p, s)})
		}
	}
	rng := rand.New(rand.NewPCG(7, 7))
	n := 300
	if testing.Short() {
		n = 60
	}
	for i := range n {
		p := fuzz.Generate(rng, 2+i%3)
		out = append(out, run{p: p, st: pct(p, uint64(i))})
	}
	return out
}

// TestRuntimeMatchesStatic: every acquisition the census's programs execute
// is identified at run time as a statically found site, with the same class
// and trylock-ness; a remove mutant of each exercised site, rerun on the
// first program that exercised it, matches it; variant-only sites are never
// executed by the faithful kernel; the sites never executed are listed, not
// dropped.
func TestRuntimeMatchesStatic(t *testing.T) {
	ss := sites(t)
	census := ss.NewCensus()
	// The first few programs that execute each site: a mutant of the site
	// changes the run it mutates (a removed rmap lock turns the interval
	// trees' scheduling points on), so the run may take another path
	// before the site; one of them must still reach it.
	const tries = 20
	first := map[*locksites.Site][]run{}
	for _, r := range programs(t) {
		rep := harness.Run(r.p, harness.Options{Strategy: r.st(), SemanticOnly: true, MaxSteps: fuzz.MaxSteps, Mutant: census.Mutant()})
		if rep.InternalError() {
			t.Fatalf("internal error:\n%s%s", rep.Summary(), r.p)
		}
		for s := range census.Hits {
			if len(first[s]) < tries && !slices.ContainsFunc(first[s], func(o run) bool { return o.p == r.p }) {
				first[s] = append(first[s], r)
			}
		}
	}
	for chain, a := range census.Unknown {
		t.Errorf("an acquisition of %s (%s) at %s is no statically found site", a.Lock, a.Class, chain)
	}
	var notRun []string
	for _, s := range ss.List {
		a, hit := census.Seen[s]
		switch {
		case hit && s.Variant != "":
			t.Errorf("%s runs on the faithful kernel but the scan says only under %s", s.Key, s.Variant)
		case hit && (a.Class != s.Class || a.Trylock != s.Trylock):
			t.Errorf("%s: static class %s trylock %v, at run time %s trylock %v", s.Key, s.Class, s.Trylock, a.Class, a.Trylock)
		case !hit:
			notRun = append(notRun, s.Key+" ("+s.Where()+")")
		}
	}
	t.Logf("%d sites, %d executed by the census, not executed: %s", len(ss.List), len(census.Hits), strings.Join(notRun, ", "))
	// A mutant that matches nothing changes nothing: the census's runs are
	// the runs without it, event for event.
	for i, r := range programs(t) {
		if i%7 != 0 {
			continue
		}
		with := harness.Run(r.p, harness.Options{Strategy: r.st(), SemanticOnly: true, MaxSteps: fuzz.MaxSteps, Mutant: ss.NewCensus().Mutant()})
		without := harness.Run(r.p, harness.Options{Strategy: r.st(), SemanticOnly: true, MaxSteps: fuzz.MaxSteps})
		if with.Verdict != without.Verdict || with.Trace.String() != without.Trace.String() {
			t.Fatalf("the census changed a run: %v / %v\n%s", with.Verdict, without.Verdict, r.p)
		}
	}
	for s, rs := range first {
		reached := false
		for _, r := range rs {
			// Under its own strategy, then without preemption (where the
			// extra scheduling points a mutant may turn on move nothing),
			// each task first in turn, then random schedules (for the data
			// choices, such as an injected allocation failure).
			sts := []sched.Strategy{r.st(), sched.NewBytes(nil)}
			for i := len(r.p.Tasks); i > 1; i-- {
				if pl, err := sched.ParsePlan(fmt.Sprintf("t%d:100000", i)); err == nil {
					sts = append(sts, pl)
				}
			}
			for seed := range uint64(16) {
				sts = append(sts, sched.NewRandom(seed))
			}
			for _, st := range sts {
				m := ss.Mutant(s, ksync.MutantRemove)
				harness.Run(r.p, harness.Options{Strategy: st, SemanticOnly: true, MaxSteps: fuzz.MaxSteps, Mutant: m})
				if reached = m.Reached() > 0; reached {
					break
				}
			}
			if reached {
				break
			}
		}
		if !reached {
			t.Errorf("%s: the mutant does not match on any of the %d programs that execute the site, such as:\n%s", s.Key, len(rs), rs[0].p)
		}
	}
}
