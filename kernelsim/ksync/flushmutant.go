package ksync

import (
	"runtime"

	"mmrace/kernelsim/sched"
)

// FlushClass is the class name under which a Mutant matches the model's
// TLB flushes (flush_tlb_range, flush_tlb_mm, the flush of
// tlb_finish_mmu): mmrace locks mutates flush sites like lock sites.
// kernelsim asks FlushMutation at every flush while a mutant is set; the
// mutation itself (the flush removed, or deferred past the release of the
// locks under which it was due) is kernelsim's (kernelsim/flushmutant.go).
const FlushClass = "tlb_flush"

// Mutant returns the mutant in force, or nil.
func (e *Env) Mutant() *Mutant { return e.mut }

// FlushMutation is called by the model at a TLB flush of obj ("mm1 tlb")
// while a mutant is set: it returns the mutant's kind when the flush is at
// the mutant's site, else 0. The matcher sees the program counters from
// the caller of FlushMutation outwards.
func (e *Env) FlushMutation(obj string) MutantKind {
	m := e.mut
	if m == nil || (m.Class != "" && m.Class != FlushClass) {
		return 0
	}
	var buf [64]uintptr
	n := runtime.Callers(2, buf[:])
	if !m.Match(Acquisition{Class: FlushClass, Lock: obj}, buf[:n]) {
		return 0
	}
	m.reached.Add(1)
	return m.Kind
}

// FlushApplied counts a flush mutation that took effect and notes it in
// the trace.
func (e *Env) FlushApplied(t *sched.Task, obj, site, what string) {
	e.applied(t, obj, site, what)
}

// InnermostHeld returns the class and the name of the lock t acquired most
// recently among those it holds (phantoms excluded); ok is false when t
// holds none. RCU read sections do not count.
func (e *Env) InnermostHeld(t *sched.Task) (class, lock string, ok bool) {
	hs := e.held[t.ID()]
	for i := len(hs) - 1; i >= 0; i-- {
		if !hs[i].phantom {
			return hs[i].l.class().Name, hs[i].l.Name(), true
		}
	}
	return "", "", false
}

// HoldsClass reports whether the task with ID id holds a lock of the
// class named class (phantoms excluded). In controlled mode any task may
// ask about any other.
func (e *Env) HoldsClass(id int, class string) bool {
	for _, h := range e.held[id] {
		if !h.phantom && h.l.class().Name == class {
			return true
		}
	}
	return false
}
