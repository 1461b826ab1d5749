package kernelsim

import (
	"fmt"
	"sync/atomic"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// TLB flush mutants (mmrace locks, issue 16): a flush site of the model
// (a call of flushTLBRange, flushTLBMM or tlbFinishMMU written outside
// tlb.go; internal/locksites finds them in the source and recognises them
// from the call stack) is mutated like a lock acquisition site. While a
// mutant is set, every flush asks the lock context whether it is at the
// mutant's site (ksync.Env.FlushMutation); without a mutant a flush costs
// one nil check.
//
//   - remove: the flush does not happen. Everything else at the site stays
//     where it is: tlb_finish_mmu still frees the gathered pages, closes
//     the gather and drops tlb_flush_pending at once; the task still owes
//     the flush (tlbPending) until its op ends.
//   - flush-after-unlock: the flush is deferred until the task has released
//     the innermost lock it held when the flush was due, and every other
//     lock of that lock's class it holds (the two PTLs of move_ptes, the two
//     PMD locks of move_normal_pmd): it is then performed as a step of its
//     own, right after that release (or at the task's first scheduling
//     point after a release the mutant machinery makes). For
//     move_ptes that is after the PTLs are dropped, exactly what variant
//     move_ptes-flush-after-unlock does (CVE-2018-18281); for dup_mmap's
//     flush_tlb_mm, after mmap_write_unlock(oldmm); for tlb_finish_mmu,
//     after the mmap_lock (or VMA lock) release that follows it. A flush
//     due while the task holds no lock waits for the end of the op (the
//     return to user space). Flushes still deferred when the op ends are
//     performed then, in order.
//
// The checks that judge a flush run after it, wherever it happens
// (afterFlush): checkTLBCoherence at an op's end, checkNoTLBMaps at the end
// of a migration, the children's memory as of dup_mmap's flush, and the
// lost-store compare of wp_page_copy, which watches the stale stores until
// the deferred flush. So a late flush is judged by what other tasks can do
// in the window it opens, not by where a check is written; nothing is
// serialised that the kernel does not serialise.

// flushMutants is the per-run state of the flush mutants.
type flushMutants struct {
	late  [maxTLBTasks][]*lateFlush // each task's deferred flushes, in order
	armed [maxTLBTasks]bool         // a poll is queued at the task's next point
	busy  [maxTLBTasks]bool         // the task is performing a deferred flush
	// removed are each task's removed flushes in its current op (their
	// range and lock class: see debtPastUnlock).
	removed [maxTLBTasks][]*lateFlush
	// watches are wp_page_copy's lost-store compares waiting for a
	// deferred flush; watching counts them (the store path's fast check).
	watches  []*cowWatch
	watching atomic.Int32
}

// lateFlush is one deferred flush.
type lateFlush struct {
	mm         *MM
	start, end int
	site       string
	class      string   // the lock class whose release ends the deferral; "": the op's end
	due        int64    // the lock context's acquisition count when the flush was due (debtPastUnlock)
	after      []func() // the checks that judge it, run once it is done
}

// mutateFlush applies the mutant in force to a flush of [start, end) of m
// by t at site; it reports whether the flush was removed or deferred (the
// caller then does nothing more).
func (k *Kernel) mutateFlush(t *sched.Task, m *MM, start, end int, site string) bool {
	obj := m.name + " tlb"
	switch k.Env.FlushMutation(obj) {
	case ksync.MutantRemove:
		class, _, _ := k.Env.InnermostHeld(t)
		id := t.ID()
		k.tlb.mu.Lock()
		k.flushMut.removed[id] = append(k.flushMut.removed[id], &lateFlush{mm: m, start: start, end: end, site: site, class: class, due: k.Env.AcqSeq()})
		k.tlb.mu.Unlock()
		k.Env.FlushApplied(t, obj, site, fmt.Sprintf("remove: flush_tlb_range [%#x,%#x) removed", start, end))
		return true
	case ksync.MutantFlushAfterUnlock:
		class, lock, held := k.Env.InnermostHeld(t)
		what := fmt.Sprintf("flush-after-unlock: flush_tlb_range [%#x,%#x) deferred past the release of %s (and of every other %s held)", start, end, lock, class)
		if !held {
			what = fmt.Sprintf("flush-after-unlock: flush_tlb_range [%#x,%#x) deferred to the end of the op (no lock held)", start, end)
		}
		id := t.ID()
		k.tlb.mu.Lock()
		k.flushMut.late[id] = append(k.flushMut.late[id], &lateFlush{mm: m, start: start, end: end, site: site, class: class, due: k.Env.AcqSeq()})
		k.tlb.mu.Unlock()
		k.Env.FlushApplied(t, obj, site, what)
		k.armLateFlush(t)
		return true
	}
	return false
}

// armLateFlush queues a look at t's deferred flushes at its next
// scheduling point.
func (k *Kernel) armLateFlush(t *sched.Task) {
	id := t.ID()
	if k.flushMut.armed[id] {
		return
	}
	k.flushMut.armed[id] = true
	t.AtNextPoint(func() {
		k.flushMut.armed[id] = false
		k.pollLateFlushes(t)
	})
}

// releasedFlushes runs right after every release of a lock by t while a
// mutant is set (ksync.Env.SetAfterRelease): the flushes deferred past the
// release of that lock's class are performed now, before t does anything
// else, where the kernel's flush moved after the unlock would be (a free
// of a page table queued right after the unlock must follow it).
func (k *Kernel) releasedFlushes(t *sched.Task) {
	if len(k.flushMut.late[t.ID()]) > 0 {
		k.pollLateFlushes(t)
	}
}

// pollLateFlushes runs at the start of a scheduling point of t: the
// deferred flushes whose lock class t no longer holds are performed now,
// each a step of its own before the step t was about to announce.
func (k *Kernel) pollLateFlushes(t *sched.Task) {
	id := t.ID()
	for !k.flushMut.busy[id] {
		ls := k.flushMut.late[id]
		if len(ls) == 0 {
			return
		}
		lf := ls[0]
		if lf.class == "" || k.Env.HoldsClass(id, lf.class) {
			break
		}
		k.performLateFlush(t, "after the unlock")
	}
	k.armLateFlush(t)
}

// performLateFlush does t's first deferred flush (it is owed until the
// flush is done), then the checks that judge it.
func (k *Kernel) performLateFlush(t *sched.Task, when string) {
	id := t.ID()
	lf := k.flushMut.late[id][0]
	k.flushMut.busy[id] = true // its own scheduling point polls no deferred flush
	k.flushTLBRangeNow(t, lf.mm, lf.start, lf.end, lf.site+" (mutant flush-after-unlock: "+when+")")
	k.flushMut.busy[id] = false
	k.tlb.mu.Lock()
	k.flushMut.late[id] = k.flushMut.late[id][1:]
	k.tlb.mu.Unlock()
	for _, fn := range lf.after {
		fn()
	}
}

// endOpFlushes runs when an op of t returns (Exec): the flushes still
// deferred are performed, in order; a flush the op still owes (a removed
// one) stops being excused as another task's pending promise
// (otherOwesFlush): the op has returned without it. In the faithful
// kernel no op returns owing a flush: a debt left there is an internal
// error of the model.
func (k *Kernel) endOpFlushes(t *sched.Task) {
	if t.Aborting() {
		return
	}
	id := t.ID()
	for len(k.flushMut.late[id]) > 0 {
		k.performLateFlush(t, "at the end of the op")
	}
	if k.Env.Mutant() == nil {
		// Every reduction of a translation is owed a flush that the op
		// makes before it returns; a debt left is the model's own bug
		// (it would excuse other tasks' stale entries for ever).
		k.tlb.mu.Lock()
		ps := k.tlb.pending[id]
		k.tlb.mu.Unlock()
		if len(ps) > 0 {
			t.Internal("%s returns to user space owing a flush of %s [%#x,%#x)", sched.TaskName(id), ps[0].mm.name, ps[0].start, ps[0].end)
		}
		return
	}
	k.tlb.mu.Lock()
	msg := k.ownStaleEntryLocked(id)
	k.tlb.pending[id] = nil
	k.flushMut.removed[id] = nil
	k.tlb.mu.Unlock()
	if msg != "" {
		t.Fail(sched.Violation{Invariant: "tlb-coherence", Detail: msg})
	}
}

// ownStaleEntryLocked describes a translation that task id's own TLB
// still holds for a page it reduced and never flushed, as its op returns
// to user space (a removed flush), or returns "". While the task was in
// its op, its own stale entries were excused (staleTLBEntry: it runs no
// user code before its flush); once it returns, it may use them. The
// caller holds k.tlb.mu.
func (k *Kernel) ownStaleEntryLocked(id int) string {
	for _, p := range k.tlb.pending[id] {
		for _, e := range k.tlb.per[id] {
			if e.mm != p.mm || e.addr < p.start || e.addr >= p.end {
				continue
			}
			if q := p.mm.Walk(e.addr); e.staleAgainst(q) {
				return fmt.Sprintf("%s returns to user space without the flush it owes %s [%#x,%#x), and its TLB still translates %s %#x to %s (%s), where the page table has %s", sched.TaskName(id), p.mm.name, p.start, p.end, p.mm.name, e.addr, tlbTarget(e), k.cachedAt(e), q)
			}
		}
	}
	return ""
}

// debtPastUnlock reports whether task id owes m's page addr a flush that a
// mutant removed or deferred, has since released the locks the flush was
// due under, and the checking task (checker) has taken a lock of that
// class since the flush was due. Another op's tlb-coherence check excuses
// a stale translation that a task still owes a flush (otherOwesFlush): in
// the kernel that task is still inside the critical section that orders
// its flush. A debt carried past the release of that lock is no such
// promise to whoever takes the lock next, which may rely on the flush (a
// migration that finds a moved PTE under the new table's PTL and flushes
// only the new address). An op that never took such a lock (a no-op
// mprotect, which takes only mmap_lock) relied on nothing: for it the debt
// is still the debtor's race. The caller holds k.tlb.mu.
func (k *Kernel) debtPastUnlock(id int, m *MM, addr int, checker int) bool {
	for _, ls := range [][]*lateFlush{k.flushMut.late[id], k.flushMut.removed[id]} {
		for _, lf := range ls {
			if lf.mm == m && lf.start <= addr && addr < lf.end && lf.class != "" && !k.Env.HoldsClass(id, lf.class) && k.Env.AcquiredSince(checker, lf.class, lf.due) {
				return true
			}
		}
	}
	return false
}

// afterFlush runs fn, a check that judges the flush t has just reached
// (or work that belongs after it), once the flush is done: at once,
// unless the flush was deferred (then right after it).
func (k *Kernel) afterFlush(t *sched.Task, fn func()) {
	if ls := k.flushMut.late[t.ID()]; len(ls) > 0 {
		ls[len(ls)-1].after = append(ls[len(ls)-1].after, fn)
		return
	}
	fn()
}

// flushDeferred reports whether t has a flush deferred by a
// flush-after-unlock mutant.
func (k *Kernel) flushDeferred(t *sched.Task) bool { return len(k.flushMut.late[t.ID()]) > 0 }

// cowWatch is wp_page_copy's lost-store compare while its flush is
// deferred: a store by mm through a stale translation of old after the
// copy is lost to mm.
type cowWatch struct {
	mm     *MM
	old    *Folio
	page   int // the page of old that was copied
	stored bool
	last   uint64 // the last such store's value
}

// watchLostStores extends wp_page_copy's memory-contents compare to a
// flush a mutant deferred: until the deferred flush, a store by m through
// a stale translation of old (its PTE now maps the copy, or nothing) is
// lost to m; it is judged when the flush is done.
func (k *Kernel) watchLostStores(t *sched.Task, m *MM, addr int, old *Folio, page int, nf *Folio, copyStep int) {
	if !k.flushDeferred(t) {
		return
	}
	was := nf.data.Load()
	w := &cowWatch{mm: m, old: old, page: page}
	k.tlb.mu.Lock()
	k.flushMut.watches = append(k.flushMut.watches, w)
	k.tlb.mu.Unlock()
	k.flushMut.watching.Add(1)
	k.afterFlush(t, func() {
		k.tlb.mu.Lock()
		for i, x := range k.flushMut.watches {
			if x == w {
				k.flushMut.watches = append(k.flushMut.watches[:i], k.flushMut.watches[i+1:]...)
				break
			}
		}
		k.tlb.mu.Unlock()
		k.flushMut.watching.Add(-1)
		if w.stored && w.last != was {
			t.Fail(sched.Violation{Invariant: "memory-contents", Detail: fmt.Sprintf("wp_page_copy at %s %#x copied %s = %d into %s at step %d, but before its deferred flush a store through a stale writable translation put %d into %s: the store is lost", m.name, addr, old.name, was, nf.name, copyStep, w.last, old.name)})
		}
	})
}

// noteTLBStore is called by a user store of m that went through a cached
// translation to page pg of f (a TLB hit): a watched lost-store compare
// notes it.
func (k *Kernel) noteTLBStore(m *MM, f *Folio, pg int, val uint64) {
	if k.flushMut.watching.Load() == 0 || f == nil {
		return
	}
	k.tlb.mu.Lock()
	defer k.tlb.mu.Unlock()
	for _, w := range k.flushMut.watches {
		if w.old == f && w.page == pg && w.mm == m {
			w.stored, w.last = true, val
		}
	}
}
