package oracle

import (
	"time"

	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// runModel runs the plan's ops in program order, one at a time, in a single
// simulated task of a fresh kernel with the program's variants (lock rules
// off: the oracle checks what the ops do, not how they lock), and observes
// the mms alive after each op. If the model fails one of its own checks, the
// op where it did gets the result "violation" and the run ends there.
func runModel(p *kernelsim.Program, pl *plan) []Obs {
	k := kernelsim.New(ksync.Config{SemanticOnly: true}, p.Variants)
	k.ReclaimInspectOnly = true // the host does not reclaim (LIMITS.md)
	kernelsim.Build(p, k)
	obs := make([]Obs, 0, len(pl.steps))
	s := sched.New(sched.Options{Strategy: sched.NewBytes(nil), MaxSteps: 1 << 24, Timeout: time.Minute})
	s.Spawn(func(t *sched.Task) {
		for _, st := range pl.steps {
			mark := len(k.MemLog())
			err := k.Exec(t, &st.op)
			r := Result{Outcome: "ok"}
			if e := kernelsim.Errno(err); e != "" {
				r = Result{Outcome: e, Detail: err.Error()}
			}
			if st.op.Verb == kernelsim.OpLoad && err == nil {
				r.Value = loaded(k.MemLog()[mark:])
			}
			obs = append(obs, Obs{Result: r, MMs: modelStates(k, st.alive), Files: pageCache(k)})
		}
	})
	res := s.Run()
	if res.Verdict.Outcome != sched.OK && len(obs) < len(pl.steps) {
		v := res.Verdict.Violation
		obs = append(obs, Obs{Result: Result{Outcome: "violation", Detail: v.Invariant + ": " + v.Detail}, MMs: modelStates(k, pl.steps[len(obs)].alive)})
	}
	return obs
}

// loaded returns the value of the last successful load in the events.
func loaded(events []kernelsim.MemEvent) uint64 {
	for i := len(events) - 1; i >= 0; i-- {
		if e := events[i]; e.Kind == kernelsim.MemLoad && e.OK {
			return e.Value
		}
	}
	return 0
}

// pageCache returns the cached pages of every file of k.
func pageCache(k *kernelsim.Kernel) []FileState {
	var out []FileState
	for _, f := range k.Files() {
		fs := FileState{Name: f.Name(), Cached: []Page{}}
		for i := range f.Pages() {
			if fo := f.CachedFolio(i); fo != nil {
				fs.Cached = append(fs.Cached, Page{Addr: i, Value: fo.Data()})
			}
		}
		out = append(out, fs)
	}
	return out
}

// modelStates observes the named mms.
func modelStates(k *kernelsim.Kernel, names []string) []MMState {
	out := make([]MMState, 0, len(names))
	for _, n := range names {
		out = append(out, modelState(k, n))
	}
	return out
}

// modelState reads one mm through kernelsim's read-only accessors: its
// VMAs, and its present PTEs with the values of the pages they map (the
// zero page reads 0) and whether each is a page-cache page.
func modelState(k *kernelsim.Kernel, name string) MMState {
	st := MMState{MM: name, VMAs: []VMA{}, Pages: []Page{}}
	m := k.MM(name)
	if m == nil || m.Exited() {
		st.Gone = true
		return st
	}
	for _, v := range m.VMAs() {
		fl := v.Flags()
		mv := VMA{Start: v.Start(), End: v.End(), Prot: prot(fl&kernelsim.VMRead != 0, fl&kernelsim.VMWrite != 0), Shared: fl&kernelsim.VMShared != 0, Pgoff: -1}
		if f := v.File(); f != nil {
			mv.File, mv.Pgoff = f.Name(), v.Pgoff()
		}
		st.VMAs = append(st.VMAs, mv)
	}
	m.ForEachPTE(func(addr int, _ *kernelsim.PTETable, p *kernelsim.PTE) {
		if p.Kind != kernelsim.PTEPresent {
			return
		}
		pg := Page{Addr: addr}
		if p.Folio != nil {
			pg.Value, pg.File = p.Folio.Data(), !p.Folio.Anon()
		}
		st.Pages = append(st.Pages, pg)
	})
	return st
}
