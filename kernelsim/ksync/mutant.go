package ksync

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"

	"mmrace/kernelsim/sched"
)

// MutantKind says how a Mutant changes the acquisitions at its site.
type MutantKind uint8

// The mutant kinds of mmrace locks (issue 11, build item 4).
const (
	// MutantRemove deletes the acquisition and its matching release: the
	// acquisition is no scheduling point, takes nothing and records a
	// phantom hold; the release that pairs with the phantom (the task's
	// held stack decides, wherever the release is written) is no
	// scheduling point and touches nothing. A removed trylock succeeds.
	MutantRemove MutantKind = iota + 1
	// MutantIgnoreTrylockFailure lets a failed trylock at the site proceed
	// as if it had succeeded, holding nothing (a phantom hold).
	MutantIgnoreTrylockFailure
	// MutantReleaseEarly really releases the lock at the end of the first
	// step it protects (at the start of the acquiring task's second
	// scheduling point after the acquisition); the later real release
	// pairs with the phantom left behind and is a no-op.
	MutantReleaseEarly
	// MutantFlushAfterUnlock applies to TLB flush sites only (FlushClass):
	// the flush is deferred past the release of the locks under which it
	// was due (see flushmutant.go). At a flush site, MutantRemove deletes
	// the flush.
	MutantFlushAfterUnlock
)

var mutantKindNames = [...]string{"", "remove", "ignore-trylock-failure", "release-early", "flush-after-unlock"}

// MutantKinds lists every mutant kind.
var MutantKinds = []MutantKind{MutantRemove, MutantIgnoreTrylockFailure, MutantReleaseEarly, MutantFlushAfterUnlock}

func (k MutantKind) String() string {
	if int(k) < len(mutantKindNames) && k != 0 {
		return mutantKindNames[k]
	}
	return fmt.Sprintf("mutant-kind(%d)", uint8(k))
}

// ParseMutantKind parses the name of a mutant kind.
func ParseMutantKind(s string) (MutantKind, error) {
	for _, k := range MutantKinds {
		if k.String() == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown mutant kind %q (kinds: %s)", s, strings.Join(mutantKindNames[1:], ", "))
}

// RCUClass is the class name under which a Mutant matches rcu_read_lock
// (RCU read sections are locks too: removing one lets a grace period end
// inside the section).
const RCUClass = "rcu"

// Acquisition describes one acquisition to a Mutant's matcher.
type Acquisition struct {
	Class   string // the lock's class name, RCUClass for rcu_read_lock
	Lock    string // the lock's name ("ptl(pt#3)")
	Trylock bool   // a trylock (down_read_trylock, folio_trylock, vma_start_read)
	Write   bool   // exclusive mode
}

// Mutant is one mutation of the model's locking at one acquisition site,
// set on an Env (Config.Mutant, Env.SetMutant). Only acquisitions of Class
// are considered ("" considers all); for those, and only while a mutant is
// set, the acquisition's call stack is taken (runtime.Callers) and Match
// decides whether it is the mutant's site. Match sees the program counters
// from the ksync primitive outwards; it must skip ksync's own frames. The
// mutant's counters accumulate over every run it is set on; one Mutant
// serves one run at a time.
type Mutant struct {
	Kind  MutantKind
	Class string
	Match func(a Acquisition, pcs []uintptr) bool

	reached atomic.Int64
	applied atomic.Int64
	hint    atomic.Int32 // 1 + the task whose mutation took effect last, 0 none (TakeHint)
}

// TakeHint returns the task (its index) in which the mutation took effect
// since the last call, and forgets it; ok is false when there is none. A
// strategy may use it to preempt that task inside the window the mutation
// opened (hunt's mutant-directed PCT).
func (m *Mutant) TakeHint() (task int, ok bool) {
	h := m.hint.Swap(0)
	return int(h) - 1, h > 0
}

// Reached returns how often an acquisition at the site executed while the
// mutant was set.
func (m *Mutant) Reached() int64 { return m.reached.Load() }

// Applied returns how often the mutation changed what the model did: an
// acquisition removed (an inner rcu_read_lock inside an outer one changes
// nothing and does not count), a trylock failure ignored, a lock released
// early while it was still held and not being released at that point.
func (m *Mutant) Applied() int64 { return m.applied.Load() }

// SetMutant sets (or, with nil, clears) the mutant of the runs that use e
// from now on. The harness sets it for the concurrent phase only.
func (e *Env) SetMutant(m *Mutant) { e.mut = m }

// mutation is called by an acquisition primitive while a mutant is set: it
// returns the mutant's kind when the acquisition is at the mutant's site,
// else 0.
func (e *Env) mutation(a Acquisition) MutantKind {
	m := e.mut
	if m.Class != "" && m.Class != a.Class {
		return 0
	}
	var buf [64]uintptr
	n := runtime.Callers(2, buf[:])
	if !m.Match(a, buf[:n]) {
		return 0
	}
	m.reached.Add(1)
	return m.Kind
}

// applied counts a mutation that took effect and notes it in the trace.
func (e *Env) applied(t *sched.Task, lock, site, what string) {
	e.appliedAs(t, sched.KindNote, lock, site, "mutant "+what)
}

// appliedAs counts a mutation that took effect and records it as an event
// of kind (a release-early is a release in the trace, so that timelines
// end the hold there).
func (e *Env) appliedAs(t *sched.Task, kind sched.Kind, lock, site, what string) {
	if e.mut != nil {
		e.mut.applied.Add(1)
		e.mut.hint.Store(int32(t.ID() + 1))
	}
	t.Record(kind, lock, site, what)
}

// pushPhantom records that t "holds" l at site although it does not: the
// release that pairs with it (releasePhantom) touches nothing, except an
// ignored trylock's, which releases the holder's lock (Mutex.Unlock). A phantom is
// not held for assertions, lock order and lockdep.
func (e *Env) pushPhantom(t *sched.Task, l lockRef, write bool, sub int, site string) {
	id := t.ID()
	e.held[id] = append(e.held[id], held{l: l, node: nodeOf(l.class(), sub), write: write, site: site, phantom: true})
}

// MutantWindowEnd is the detail of the note a task records where the
// release of a phantom hold (a removed acquisition, one released early,
// or an ignored trylock's) comes: with the note of the mutation taking effect ("mutant
// ..." or "(mutant release-early ...") it brackets the window in which the
// task ran without the lock, which hunt's search looks into
// (hunt.MutantInterference).
const MutantWindowEnd = "mutant window ends: the release paired with the mutated acquisition (a no-op for a removed or early-released hold; an ignored trylock's releases the holder's lock)"

// releasePhantom is called by a release primitive before its scheduling
// point while a mutant is set. When t's most recent hold of l is a phantom
// it removes it and reports true: the release is a no-op. Otherwise it
// notes that t is releasing l at this point, so that a release-early
// pending for l leaves it to this release.
func (e *Env) releasePhantom(t *sched.Task, l any) bool {
	id := t.ID()
	if lr, ok := l.(lockRef); ok {
		hs := e.held[id]
		for i := len(hs) - 1; i >= 0; i-- {
			if hs[i].l == lr {
				if !hs[i].phantom {
					break
				}
				e.stealing[id] = hs[i].ignored
				copy(hs[i:], hs[i+1:])
				e.held[id] = hs[:len(hs)-1]
				t.Record(sched.KindNote, lr.Name(), "", MutantWindowEnd)
				return true
			}
		}
	}
	e.releasing[id] = l
	return false
}

// takeStealing reports whether the phantom t's release just removed
// (releasePhantom) was an ignored trylock's, and forgets it.
func (e *Env) takeStealing(t *sched.Task) bool {
	s := e.stealing[t.ID()]
	e.stealing[t.ID()] = false
	return s
}

// downgradePhantom turns a phantom write hold of l into a phantom read hold
// (the downgrade of a removed or early-released write lock) and reports
// whether there was one.
func (e *Env) downgradePhantom(t *sched.Task, l lockRef) bool {
	hs := e.held[t.ID()]
	for i := len(hs) - 1; i >= 0; i-- {
		if hs[i].l == l {
			if hs[i].phantom {
				hs[i].write = false
				return true
			}
			return false
		}
	}
	return false
}

// releaseEarly arranges for t's hold of l, just acquired at site, to end at
// the end of the first step it protects: at the start of t's second
// scheduling point from now, unless t releases l itself at that point or
// before. release does the primitive's part of the release (given the
// hold's mode then); t's entry becomes a phantom, so the later release is a
// no-op.
func (e *Env) releaseEarly(t *sched.Task, l lockRef, site string, release func(t *sched.Task, write bool)) {
	id := t.ID()
	e.releasing[id] = nil
	t.AtNextPoint(func() {
		t.AtNextPoint(func() {
			if e.releasing[id] == l {
				return // released at this very point: nothing early about it
			}
			hs := e.held[id]
			for i := len(hs) - 1; i >= 0; i-- {
				if hs[i].l == l && !hs[i].phantom {
					hs[i].phantom = true
					if !l.class().Sleeping {
						e.spin[id]--
					}
					e.appliedAs(t, sched.KindRelease, l.Name(), site, modeWord(hs[i].write)+" (mutant release-early: released at the end of the first step it protects)")
					release(t, hs[i].write)
					return
				}
			}
		})
	})
}

// releaseWriteEarly ends the VMA write lock t just took at the end of the
// first step it protects, unless the mmap write epoch ends at that point
// anyway (mmap_write_unlock or mmap_write_downgrade of the VMA's mm).
func (v *VMALock) releaseWriteEarly(t *sched.Task, site string) {
	e, id, seq := v.env, t.ID(), v.lockSeq.Load()
	e.releasing[id] = nil
	t.AtNextPoint(func() {
		t.AtNextPoint(func() {
			if e.releasing[id] == v.mm.rw || v.lockSeq.Load() != seq || v.mm.seq.Load() != seq {
				return
			}
			e.applied(t, v.name, site, "release-early: VMA write lock released at the end of the first step it protects")
			v.lockSeq.Store(-1)
		})
	})
}

// rcuSect is a read section opened while a mutant was set.
type rcuSect struct {
	id      uint32
	phantom bool // removed, or ended early: its rcu_read_unlock is a no-op
}

// mutateReadLock applies the mutant to an rcu_read_lock by t and returns
// its kind when the lock is at the mutant's site. Every section opened
// while a mutant is set is tracked, so that its rcu_read_unlock knows
// whether it pairs with a phantom.
func (r *RCU) mutateReadLock(t *sched.Task, site string) MutantKind {
	id := t.ID()
	mk := r.env.mutation(Acquisition{Class: RCUClass, Lock: "rcu"})
	r.nsect++
	r.sects[id] = append(r.sects[id], rcuSect{id: r.nsect, phantom: mk == MutantRemove})
	if mk == MutantRemove && r.nesting[id] == 0 { // an inner rcu_read_lock changes nothing
		r.env.applied(t, "rcu", site, "remove: rcu_read_lock removed")
	}
	return mk
}

// endEarly arranges for the read section t just opened to end at the end
// of the first step it protects, unless it has ended by then or an inner
// section is still open.
func (r *RCU) endEarly(t *sched.Task, site string) {
	id := t.ID()
	ss := r.sects[id]
	sect := ss[len(ss)-1].id
	r.env.releasing[id] = nil
	t.AtNextPoint(func() {
		t.AtNextPoint(func() {
			ss := r.sects[id]
			n := len(ss)
			if n == 0 || ss[n-1].id != sect || ss[n-1].phantom {
				return // ended (at this point or before), or not the innermost
			}
			ss[n-1].phantom = true
			if r.nesting[id] == 1 {
				r.env.appliedAs(t, sched.KindRCU, "rcu", site, "rcu_read_unlock (mutant release-early: the section ends at the end of the first step it protects)")
			}
			r.exit(t)
		})
	})
}

// endSect is called by rcu_read_unlock while a mutant is set: it pops t's
// innermost tracked section and reports whether it was a phantom (the
// unlock is then a no-op). Otherwise it notes that t is ending a section at
// this point.
func (r *RCU) endSect(t *sched.Task) bool {
	id := t.ID()
	ss := r.sects[id]
	if n := len(ss); n > 0 {
		r.sects[id] = ss[:n-1]
		if ss[n-1].phantom {
			t.Record(sched.KindNote, "rcu", "", MutantWindowEnd)
			return true
		}
	}
	r.env.releasing[id] = r
	return false
}
