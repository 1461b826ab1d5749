// Package ksync provides the kernel's locks for the simulator: rwsems,
// spinlocks, the folio lock, the per-VMA lock with mmap_lock's write epoch,
// and RCU. Each primitive is real in both scheduling modes: in controlled
// mode a task that cannot get a lock parks and is not runnable until a
// release grants it; in free mode it blocks on a channel.
//
// Every acquisition is checked, unless the run is semantic-only, against the
// static lock order of mm/rmap.c and against a lockdep-style dependency
// graph, and sleeping in atomic context is reported. Held-lock assertions
// (mmap_assert_write_locked and friends) check the current task's held set.
package ksync

import (
	"fmt"
	"strings"
	"sync/atomic"

	"mmrace/kernelsim/sched"
)

// Config selects the checks of a run.
type Config struct {
	// SemanticOnly switches off the rule checks (static lock order, held-lock
	// assertions, sleeping in atomic context) and lockdep, so a bug is found
	// only through its consequences (deadlock, invariant violations).
	SemanticOnly bool
	// Lockdep is the dependency graph to add to; nil gives the run a fresh
	// one. Share one graph between runs to combine their dependencies.
	Lockdep *Lockdep
	// Mutant, when not nil, mutates the acquisitions at one site
	// (mmrace locks); see Mutant and Env.SetMutant.
	Mutant *Mutant
	// Controlled promises that every run of the Env is a controlled one
	// (sched.Controlled), one task at a time: the mutexes that guard the
	// simulator's bookkeeping against parallel tasks are left out (Mu).
	// A free-mode task using such an Env is an internal error of the
	// caller (kernelsim.Kernel.Exec reports it).
	Controlled bool
}

// Env is the lock context of one run: the held-lock stack of every task,
// the checks in force and the run's RCU state.
type Env struct {
	rules      bool
	controlled bool // Config.Controlled: every Mu off
	dep        *Lockdep
	held       [maxTasks][]held
	spin       [maxTasks]int // spinlocks held: atomic context
	rcu        RCU
	// mut is the mutant in force (nil: none, the acquisition paths cost
	// one nil check); releasing is the lock each task is releasing at its
	// current scheduling point, kept only while a mutant is set.
	mut       *Mutant
	releasing [maxTasks]any
	// beneath is, per task, a held lock its next blocking acquisition is
	// exempt from ordering against (Rwsem.DownWriteBeneath), nil for none.
	beneath [maxTasks]lockRef
	// afterRelease, while a mutant is set, runs right after each release
	// (SetAfterRelease).
	afterRelease func(t *sched.Task)
	// acqSeq numbers the acquisitions of a run while a mutant is set;
	// lastAcq is, per task, the number of its last acquisition of each
	// class (AcquiredSince).
	acqSeq  atomic.Int64
	lastAcq [maxTasks]map[string]int64
	// stealing is, per task, whether the phantom its release just
	// removed was an ignored trylock's (releasePhantom, takeStealing).
	stealing [maxTasks]bool

	// The lock objects of the run, carved from chunks (see carve).
	slabMu    Mu // free mode: tasks create objects concurrently
	mutexes   []Mutex
	rwsems    []Rwsem
	vmaLocks  []VMALock
	mmapLocks []MmapLock
}

// carve returns a new zero T from the chunk *s, allocating a chunk twice
// the size of the last (at most 64) when it is full: a run's locks cost a
// few allocations instead of one each. Chunks are never moved, and a lock
// lives as long as the Env that made it, as every lock of a run does.
func carve[T any](e *Env, s *[]T) *T {
	e.slabMu.Lock()
	defer e.slabMu.Unlock()
	if len(*s) == cap(*s) {
		*s = make([]T, 0, min(max(2*cap(*s), 4), 64))
	}
	*s = (*s)[:len(*s)+1]
	return &(*s)[len(*s)-1]
}

const maxTasks = 16

// held is one entry of a task's held-lock stack.
type held struct {
	l     lockRef
	node  node
	write bool
	try   bool
	site  string
	// phantom: not held at all (a removed or early-released acquisition
	// whose release is still to come); invisible to assertions, lock order
	// and lockdep.
	phantom bool
	// ignored: the phantom of a trylock whose failure a mutant ignored;
	// the kernel's release that pairs with it still runs, on a lock
	// another task holds (Mutex.Unlock).
	ignored bool
}

// lockRef is what every primitive exposes to the checker.
type lockRef interface {
	Name() string
	class() *Class
}

// NewEnv returns a lock context. One context may serve several runs one
// after the other (a sequential setup run, then the concurrent run), as long
// as every task has released its locks when its run ends.
func NewEnv(cfg Config) *Env {
	e := &Env{rules: !cfg.SemanticOnly, controlled: cfg.Controlled, dep: cfg.Lockdep, mut: cfg.Mutant}
	e.InitMu(&e.slabMu)
	e.InitMu(&e.rcu.mu)
	if e.dep == nil && e.rules {
		e.dep = NewLockdep()
	}
	e.rcu.env = e
	return e
}

// Rules reports whether rule checks and lockdep are on.
func (e *Env) Rules() bool { return e.rules }

// RCU returns the run's RCU state.
func (e *Env) RCU() *RCU { return &e.rcu }

// Held returns the names of the locks task t holds, outermost first.
func (e *Env) Held(t *sched.Task) []string {
	var out []string
	for _, h := range e.held[t.ID()] {
		if h.phantom {
			continue
		}
		mode := "R"
		if h.write {
			mode = "W"
		}
		out = append(out, h.l.Name()+"/"+mode)
	}
	return out
}

// fail reports a rule violation by t and ends the run.
func (e *Env) fail(t *sched.Task, invariant, format string, args ...any) {
	t.Fail(sched.Violation{Invariant: invariant, Detail: fmt.Sprintf(format, args...)})
}

// internal reports a misuse that can only be the simulator's own bug.
func (e *Env) internal(t *sched.Task, format string, args ...any) {
	t.Internal(format, args...)
}

// beforeAcquire runs the checks of a blocking acquisition of l by t: the
// static order of mm/rmap.c, lockdep's dependency graph, and no sleeping in
// atomic context. try acquisitions skip order checks: they cannot deadlock.
func (e *Env) beforeAcquire(t *sched.Task, l lockRef, write bool, sub int, site string) {
	if !e.rules {
		return
	}
	c := l.class()
	id := t.ID()
	if c.Sleeping {
		if e.spin[id] > 0 {
			e.fail(t, "lock-rule", "%s: sleeping lock %s taken while holding spinlock %s (sleeping in atomic context)", site, l.Name(), e.lastSpin(id))
		}
		if e.rcu.nesting[id] > 0 {
			e.fail(t, "lock-rule", "%s: sleeping lock %s taken inside an RCU read-side critical section", site, l.Name())
		}
	}
	r := c.rank(write)
	n := nodeOf(c, sub)
	exempt := e.beneath[id]
	e.beneath[id] = nil
	for _, h := range e.held[id] {
		if h.phantom || (exempt != nil && h.l == exempt) {
			continue
		}
		hc := h.l.class()
		hr := hc.rank(h.write)
		switch {
		case hc == c:
			if hsub := int(h.node) % MaxSubclass; sub <= hsub {
				e.fail(t, "lock-order", "%s: takes %s (%s) while holding %s (%s, taken in %s) without a nesting annotation (possible recursive locking)", site, l.Name(), nodeName(c, sub), h.l.Name(), nodeName(hc, hsub), h.site)
			}
		case r != 0 && hr != 0 && r == hr:
			e.fail(t, "lock-order", "%s: blocks on %s (%s) while holding %s (%s, taken in %s): both sit at level %d of mm/rmap.c's order, so only a trylock may take one under the other",
				site, l.Name(), modeName(c, write), h.l.Name(), modeName(hc, h.write), h.site, r)
		case r != 0 && hr != 0 && r < hr:
			e.fail(t, "lock-order", "%s: takes %s (%s, rank %d) while holding %s (%s, rank %d, taken in %s): mm/rmap.c orders %s before %s",
				site, l.Name(), modeName(c, write), r, h.l.Name(), modeName(hc, h.write), hr, h.site, modeName(c, write), modeName(hc, h.write))
		}
		if e.dep != nil {
			if rep := e.dep.addEdge(h.node, n, hc, c, t, site); rep != "" {
				e.fail(t, "lockdep", "%s", rep)
			}
		}
	}
}

func (e *Env) lastSpin(id int) string {
	for i := len(e.held[id]) - 1; i >= 0; i-- {
		if h := e.held[id][i]; !h.phantom && !h.l.class().Sleeping {
			return e.held[id][i].l.Name()
		}
	}
	return "?"
}

func nodeName(c *Class, sub int) string {
	if sub == 0 {
		return c.Name
	}
	return fmt.Sprintf("%s/%d", c.Name, sub)
}

func modeName(c *Class, write bool) string {
	if c.RankRead == c.RankWrite {
		return c.Name
	}
	if write {
		return c.Name + "(write)"
	}
	return c.Name + "(read)"
}

// push records that t now holds l.
func (e *Env) push(t *sched.Task, l lockRef, write, try bool, sub int, site string) {
	id := t.ID()
	if e.held[id] == nil {
		e.held[id] = make([]held, 0, 8) // deep enough for every path, in one allocation
	}
	e.held[id] = append(e.held[id], held{l: l, node: nodeOf(l.class(), sub), write: write, try: try, site: site})
	if e.mut != nil && e.controlled {
		if e.lastAcq[id] == nil {
			e.lastAcq[id] = map[string]int64{}
		}
		e.lastAcq[id][l.class().Name] = e.acqSeq.Add(1)
	}
	if !l.class().Sleeping {
		e.spin[id]++
	}
}

// AcqSeq is the number of the last acquisition of the run (counted only
// while a mutant is set, in controlled mode).
func (e *Env) AcqSeq() int64 { return e.acqSeq.Load() }

// AcquiredSince reports whether the task with ID id acquired a lock of the
// class named class after acquisition number seq (AcqSeq); counted only
// while a mutant is set. In controlled mode any task may ask about any
// other.
func (e *Env) AcquiredSince(id int, class string, seq int64) bool {
	return e.lastAcq[id][class] > seq
}

// SetAfterRelease makes fn run, while a mutant is set, right after every
// release of a lock by a task (the lock already handed on), before the
// task does anything else: a flush-after-unlock mutant's deferred flush
// comes there, where the kernel's moved flush would (kernelsim
// flushmutant.go).
func (e *Env) SetAfterRelease(fn func(t *sched.Task)) { e.afterRelease = fn }

// released runs the after-release hook for t.
func (e *Env) released(t *sched.Task) {
	if e.mut != nil && e.afterRelease != nil {
		e.afterRelease(t)
	}
}

// pop removes l from t's held stack (the most recent entry for it).
func (e *Env) pop(t *sched.Task, l lockRef) held {
	id := t.ID()
	hs := e.held[id]
	for i := len(hs) - 1; i >= 0; i-- {
		if hs[i].l == l {
			h := hs[i]
			copy(hs[i:], hs[i+1:])
			e.held[id] = hs[:len(hs)-1]
			if !l.class().Sleeping {
				e.spin[id]--
			}
			return h
		}
	}
	if e.mut != nil {
		// Under a lock mutant the kernel code can release a lock it
		// does not hold: the object it locked was freed and reused
		// meanwhile (a VMA the removed lock let a reader keep), so the
		// lock it now finds is another's, whose count underflows
		// (DEBUG_RWSEMS_WARN_ON, DEBUG_LOCKS_WARN_ON) and lets a second
		// holder in. The faithful kernel never does: there it is an
		// error of the model.
		t.Fail(sched.Violation{Invariant: "kernel-oops", Detail: fmt.Sprintf("%s releases %s, which it does not hold (it holds %s): the object it locked was freed and reused under it, and the lock it releases is another's", t.Name(), l.Name(), strings.Join(e.Held(t), ", "))})
		return held{}
	}
	e.internal(t, "%s releases %s, which it does not hold (holds %s)", t.Name(), l.Name(), strings.Join(e.Held(t), ", "))
	return held{}
}

// holds reports whether t holds l, and in which mode.
func (e *Env) holds(t *sched.Task, l lockRef) (ok, write bool) {
	for _, h := range e.held[t.ID()] {
		if h.l == l && !h.phantom {
			return true, h.write
		}
	}
	return false, false
}

// AssertHeld checks that t holds l (in write mode when write is set), like
// lockdep_assert_held / lockdep_assert_held_write. what names the kernel
// assertion in the report.
func (e *Env) AssertHeld(t *sched.Task, l lockRef, write bool, what string) {
	e.assertHeldIn(t, l, write, "", what)
}

// assertHeldIn is AssertHeld whose report names site+": "+what (what alone
// when site is empty), made only when the check fails.
func (e *Env) assertHeldIn(t *sched.Task, l lockRef, write bool, site, what string) {
	if !e.rules {
		return
	}
	ok, w := e.holds(t, l)
	if !ok || (write && !w) {
		mode := ""
		if write {
			mode = " for write"
		}
		if site != "" {
			what = site + ": " + what
		}
		e.fail(t, "lock-rule", "%s: %s does not hold %s%s (holds: %s)", what, t.Name(), l.Name(), mode, heldList(e.Held(t)))
	}
}

// AssertNoneHeld checks that t holds no lock at all (a task returning to
// user space, the end of an op).
func (e *Env) AssertNoneHeld(t *sched.Task, what string) {
	if hs := e.Held(t); len(hs) > 0 && e.rules {
		e.fail(t, "lock-rule", "%s: %s still holds %s", what, t.Name(), heldList(hs))
	}
}

func heldList(hs []string) string {
	if len(hs) == 0 {
		return "nothing"
	}
	return strings.Join(hs, ", ")
}

// setMode changes the mode of t's hold of l (downgrade).
func (e *Env) setMode(t *sched.Task, l lockRef, write bool) {
	hs := e.held[t.ID()]
	for i := len(hs) - 1; i >= 0; i-- {
		if hs[i].l == l {
			hs[i].write = write
			return
		}
	}
}
