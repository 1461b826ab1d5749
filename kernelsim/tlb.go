package kernelsim

import (
	"fmt"
	"sync"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// The TLBs (reference I5, D.5, D.6, D.12c).
//
// Every task is a CPU with its own TLB: a user access that walks the page
// tables successfully caches the translation (mm, page → folio, with write
// permission when the access was a store: the dirty bit), and a later
// access of that page uses the cached translation without walking the
// tables, until a flush removes it. A flush is an explicit kernel step,
// placed where the kernel places it relative to the page-table locks:
// flush_tlb_range/flush_tlb_page (ptep_clear_flush) act on every task's
// TLB at once (the IPIs), and the mmu_gather batching of zap (munmap,
// MADV_DONTNEED, exit) flushes at tlb_finish_mmu and only then frees the
// pages it unmapped.
//
// Two invariants watch them (I5):
//   - tlb-coherence: when an operation reaches the point where the kernel
//     promises its flush has happened (the end of an mprotect, a munmap, an
//     mremap, an madvise, a fork; the end of a migration for the old
//     folio), no task's TLB still translates a page of its range to
//     something its PTE no longer allows;
//   - tlb-use-after-free: an access through a cached translation to a folio
//     that has been freed (its physical page may already belong to someone
//     else).

// tlbEntry is one cached translation.
type tlbEntry struct {
	mm    *MM
	addr  int
	folio *Folio // nil: the shared zero page
	page  int    // the page of a large folio
	write bool   // filled by a store (the dirty bit): stores may use it
	step  int    // when it was filled: the step of its phase
	phase int    // the phase (Kernel.EnterPhase) it was filled in
	memAt int    // the memory log's length when it was filled (tlbrace.go)
}

// staleAgainst reports whether the page table's entry p no longer gives
// what e translates to: not present, another page, or no longer writable
// for an entry filled by a store.
func (e tlbEntry) staleAgainst(p *PTE) bool {
	return p == nil || p.Kind != PTEPresent || p.Folio != e.folio || p.Page != e.page || (e.write && !p.Write)
}

// tlbStamp orders TLB events across the phases of a run (setup, the
// concurrent phase, exit), whose steps each count from zero.
type tlbStamp struct{ phase, step int }

func (a tlbStamp) before(b tlbStamp) bool {
	return a.phase < b.phase || (a.phase == b.phase && a.step < b.step)
}

// stamp is the current point of t's run for tlbStamp comparisons.
func (k *Kernel) stamp(t *sched.Task) tlbStamp { return tlbStamp{k.phase, t.Step()} }

// EnterPhase tells the kernel that a new phase of the run begins (the
// harness calls it before the concurrent phase, the checks and exit): TLB
// entries cached before are told apart from the steps of the new phase.
func (k *Kernel) EnterPhase() { k.phase++ }

// cachedAt says when e was filled, for reports.
func (k *Kernel) cachedAt(e tlbEntry) string {
	if e.phase != k.phase {
		names := []string{"the setup", "the concurrent phase", "the checks"}
		name := "an earlier phase"
		if e.phase < len(names) {
			name = names[e.phase]
		}
		return fmt.Sprintf("cached at step %d of %s", e.step, name)
	}
	return fmt.Sprintf("cached at step %d", e.step)
}

// tlbSet is every task's TLB, and every task's pending flushes: the pages
// whose translation it has reduced (cleared, moved, write-protected, pointed
// at another folio) and not yet flushed.
type tlbSet struct {
	mu ksync.Mu // free mode: other tasks flush this task's TLB
	// inflight is, in free mode, held for reading by every user access from
	// its TLB lookup to its end, and for writing by a flush: a flush waits
	// for the instructions in progress, as the flush's IPI is taken between
	// instructions and the flusher waits for its acknowledgement, and so a
	// page or table freed after the flush is out of reach of any access.
	// (In controlled mode one task runs at a time and an access has no
	// scheduling point where a flush could meet it half done, except
	// between the walk's PMD and PTE reads, which restarts it.)
	inflight sync.RWMutex
	per      [maxTLBTasks][]tlbEntry
	pending  [maxTLBTasks][]flushRange
	psc      walkCache[PTETable] // the paging-structure caches (tlbpsc.go)
	pudc     walkCache[PMDTable] // their PUD level (tlbpud.go)
	// loaded is the mm whose page tables each task's CPU has loaded (CR3):
	// that of the last op it ran in a process, kept after the op, in
	// lazy TLB mode, until it runs in another (tlbpsc.go).
	loaded [maxTLBTasks]*MM
}

// flushRange is a range of an mm's pages.
type flushRange struct {
	mm         *MM
	start, end int
	memAt      int // the memory log's length when the translations were reduced (tlbrace.go)
	// batched: a flush reclaim batched (set_tlb_ubc_flush_pending), which
	// every later flush_tlb_batched_pending of the mm pays (tlbbatch.go).
	batched   bool
	batchedAt tlbStamp // when the pending generation was counted
	// bbm: the reducer sets a new PTE of another page before it flushes
	// no more (wp_page_copy); fresh and freshTask: the first walk of
	// another task through it while the flush is owed (tlbbbm.go).
	bbm       bool
	fresh     string
	freshTask int
}

// tlbPending records that t reduced the translations of [start, end) of m
// and owes them a flush.
func (k *Kernel) tlbPending(t *sched.Task, m *MM, start, end int) {
	k.tlb.mu.Lock()
	k.tlb.pending[t.ID()] = append(k.tlb.pending[t.ID()], flushRange{mm: m, start: start, end: end, memAt: k.memLen()})
	stale := k.cachedByOtherLocked(t, m, start, end)
	k.tlb.mu.Unlock()
	if stale {
		t.Window(sched.WindowReduce) // the search may hold the flush off (sched.Windower)
	}
}

// tlbPendingDrop forgets t's latest debt of exactly [start, end) of m,
// recorded when t cleared the entry it has now written back without
// taking anything away (ptep_modify_prot_start, then a commit for which
// pte_needs_flush is false): the kernel owes no flush for it, and a debt
// left in the list would excuse other tasks' stale entries of the page
// (otherOwesFlush) long after t's op returned.
func (k *Kernel) tlbPendingDrop(t *sched.Task, m *MM, start, end int) {
	k.tlb.mu.Lock()
	defer k.tlb.mu.Unlock()
	ps := k.tlb.pending[t.ID()]
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i].mm == m && ps[i].start == start && ps[i].end == end && !ps[i].batched {
			k.tlb.pending[t.ID()] = append(ps[:i], ps[i+1:]...)
			return
		}
	}
}

// cachedByOtherLocked reports whether a task other than t caches a
// translation of a page of m in [start, end). The caller holds k.tlb.mu.
func (k *Kernel) cachedByOtherLocked(t *sched.Task, m *MM, start, end int) bool {
	for i, es := range k.tlb.per {
		if i == t.ID() {
			continue
		}
		for _, e := range es {
			if e.mm == m && start <= e.addr && e.addr < end {
				return true
			}
		}
	}
	return false
}

// reducesTranslation reports whether replacing old by v takes something
// away that a TLB may still hold: a present entry gone, pointing elsewhere
// or no longer writable.
func reducesTranslation(old, v *PTE) bool {
	if old == nil || old.Kind != PTEPresent {
		return false
	}
	return v == nil || v.Kind != PTEPresent || v.Folio != old.Folio || v.Page != old.Page || (old.Write && !v.Write)
}

const maxTLBTasks = 16

// tlbLookup returns t's cached translation of m's page addr usable for the
// access (a store needs a writable entry).
func (k *Kernel) tlbLookup(t *sched.Task, m *MM, addr int, write bool) (tlbEntry, bool) {
	k.tlb.mu.Lock()
	defer k.tlb.mu.Unlock()
	for _, e := range k.tlb.per[t.ID()] {
		if e.mm == m && e.addr == addr && (e.write || !write) {
			return e, true
		}
	}
	return tlbEntry{}, false
}

// tlbFillLocked caches the translation of a successful walk by t. The
// caller holds k.tlb.mu (user.go: the walk's read and the fill are one
// step of the MMU).
func (k *Kernel) tlbFillLocked(t *sched.Task, m *MM, addr int, f *Folio, page int, write bool) {
	es := k.tlb.per[t.ID()]
	e := tlbEntry{mm: m, addr: addr, folio: f, page: page, write: write, step: t.Step(), phase: k.phase, memAt: k.memLen()}
	for i, o := range es {
		if o.mm == m && o.addr == addr {
			es[i] = e
			return
		}
	}
	k.tlb.per[t.ID()] = append(es, e)
}

// flushTLBRange is flush_tlb_range / flush_tlb_page: every task's cached
// translations of m's pages in [start, end) go. It is a scheduling point:
// the flush is a step of its own, ordered against the page-table locks by
// where its caller puts it.
func (k *Kernel) flushTLBRange(t *sched.Task, m *MM, start, end int, site string) {
	if k.Env.Mutant() != nil && k.mutateFlush(t, m, start, end, site) {
		return // mmrace locks: the flush removed or deferred (flushmutant.go)
	}
	k.flushTLBRangeNow(t, m, start, end, site)
}

// flushTLBRangeNow is the flush itself.
func (k *Kernel) flushTLBRangeNow(t *sched.Task, m *MM, start, end int, site string) {
	t.PointF(sched.KindWrite, site, sched.Objf("%s tlb").S(m.name).Detailf("flush_tlb_range [%#x,%#x)").N(start).N(end))
	if t.Sched().Mode() == sched.Free {
		k.tlb.inflight.Lock()
		defer k.tlb.inflight.Unlock()
	}
	k.tlb.mu.Lock()
	defer k.tlb.mu.Unlock()
	for i, es := range k.tlb.per {
		keep := es[:0]
		for _, e := range es {
			if e.mm != m || e.addr < start || e.addr >= end {
				keep = append(keep, e)
			}
		}
		k.tlb.per[i] = keep
	}
	k.pscFlushLocked(m, start, end)
	ps := k.tlb.pending[t.ID()]
	keep := ps[:0]
	for _, p := range ps {
		if p.mm != m || p.start < start || p.end > end {
			keep = append(keep, p)
		}
	}
	k.tlb.pending[t.ID()] = keep
}

// flushTLBMM is flush_tlb_mm: every translation of m goes.
func (k *Kernel) flushTLBMM(t *sched.Task, m *MM, site string) {
	k.flushTLBRange(t, m, 0, k.Geo.Pages(), site)
}

// checkTLBCoherence is invariant tlb-coherence for [start, end) of m, at
// the point where op (which began at step since) promises its flush has
// happened: no task's TLB may still translate a page of the range to a
// folio its PTE no longer maps, or allow a store its PTE no longer allows.
//
// A stale translation that another task owes a flush (it reduced the PTE
// and has not flushed yet: between ptep_clear_flush's clear and its flush,
// inside an open mmu_gather) is that task's promise, not op's: excused.
// Except for a zap (promiseAll: munmap, MADV_DONTNEED), which promises
// that no translation of the range cached before it began survives,
// whoever cleared the PTE: that is the nested-gather case of 99baac21e458,
// where the zap found the PTE already cleared by a concurrent zap, skipped
// its flush and returned while the other zap's flush was still to come.
// And except for a debt of reclaim's batch (tlbbatch.go) when op calls
// flush_tlb_batched_pending over the range (promiseBatched: mprotect,
// mremap; the zaps too): it pays that debt for every translation cached
// before op began.
func (k *Kernel) checkTLBCoherence(t *sched.Task, m *MM, start, end int, since tlbStamp, promise tlbPromise, op tlbOp) {
	k.checked("tlb-coherence")
	if k.flushDeferred(t) { // after the deferred flush (flushmutant.go)
		k.afterFlush(t, func() { k.checkTLBCoherence(t, m, start, end, since, promise, op) })
		return
	}
	if promise == promiseBatched && k.batchedPaid[t.ID()].before(since) {
		// op never called flush_tlb_batched_pending (an mprotect that
		// changed no VMA, an mremap that only grew in place): it promises
		// nothing about reclaim's debts.
		promise = promiseOwn
	}
	if msg := k.staleTLBEntry(t, m, start, end, since, promise); msg != "" {
		t.Fail(sched.Violation{Invariant: "tlb-coherence", Detail: op.String() + " is done, but " + msg})
	}
}

// tlbOp names the operation checkTLBCoherence checks, "munmap of mm1
// [0x10,0x18)" ("fork of mm1" without a range), made only for a violation.
type tlbOp struct {
	verb, mm   string
	start, end int
	whole      bool // no range: the whole mm
}

func (o tlbOp) String() string {
	if o.whole {
		return o.verb + " of " + o.mm
	}
	return fmt.Sprintf("%s of %s [%#x,%#x)", o.verb, o.mm, o.start, o.end)
}

// tlbPromise is what an operation's end promises about translations of
// its range that it did not reduce itself (checkTLBCoherence).
type tlbPromise int

const (
	promiseOwn     tlbPromise = iota // only the translations it reduced (fork)
	promiseBatched                   // and those reclaim's batch owes, cached before it began (mprotect, mremap)
	promiseAll                       // every translation cached before it began (a zap)
)

func (k *Kernel) staleTLBEntry(t *sched.Task, m *MM, start, end int, since tlbStamp, promise tlbPromise) string {
	k.tlb.mu.Lock()
	defer k.tlb.mu.Unlock()
	for i, es := range k.tlb.per {
		for _, e := range es {
			if e.mm != m || e.addr < start || e.addr >= end {
				continue
			}
			before := (tlbStamp{e.phase, e.step}).before(since)
			var paid tlbStamp // zero: no batched debt is op's to pay
			if promise == promiseBatched && before {
				paid = k.batchedPaid[t.ID()]
			}
			if !(promise == promiseAll && before) && k.otherOwesFlush(t, m, e.addr, paid) {
				continue
			}
			if i != t.ID() && k.owesFlushLocked(i, m, e.addr) {
				// The holder is itself inside the op that reduced
				// the PTE and owes the flush: it flushes before it
				// returns to user space, so it cannot use the entry
				// meanwhile, however late the flush is (a deferred
				// flush mutant past a lock a no-op mprotect never
				// takes).
				continue
			}
			if p := m.Walk(e.addr); e.staleAgainst(p) {
				return fmt.Sprintf("%s's TLB still translates %s %#x to %s (%s), where the page table has %s", sched.TaskName(i), m.name, e.addr, tlbTarget(e), k.cachedAt(e), p)
			}
		}
	}
	return ""
}

// checkNoTLBMaps is invariant tlb-coherence for a folio whose mappings op
// has removed and flushed (the old folio of a finished migration): no TLB
// may still translate a page to it.
func (k *Kernel) checkNoTLBMaps(t *sched.Task, f *Folio, op string) {
	k.checked("tlb-coherence")
	if k.flushDeferred(t) { // after the deferred flush (flushmutant.go)
		k.afterFlush(t, func() { k.checkNoTLBMaps(t, f, op) })
		return
	}
	// An mm with no users left runs no thread: nothing can use its
	// translations (only a flush a mutant removed at exit_mmap leaves any).
	// A task that still owes a flush of the page's address is inside the
	// op that reduced it and flushes before it returns to user space: it
	// cannot use the entry meanwhile (staleTLBEntry).
	if msg := k.tlbTranslatesTo(f, func(i int, e *tlbEntry) bool {
		return e.mm.users.Load() > 0 && !k.owesFlushLocked(i, e.mm, e.addr)
	}); msg != "" {
		t.Fail(sched.Violation{Invariant: "tlb-coherence", Detail: op + " of " + f.name + " is done, but " + msg})
	}
}

// tlbTranslatesTo describes the first TLB entry, of any task, that
// translates a page to f and that keep accepts, or returns "".
func (k *Kernel) tlbTranslatesTo(f *Folio, keep func(task int, e *tlbEntry) bool) string {
	k.tlb.mu.Lock()
	defer k.tlb.mu.Unlock()
	for i, es := range k.tlb.per {
		for _, e := range es {
			if e.folio == f && keep(i, &e) {
				return fmt.Sprintf("%s's TLB still translates %s %#x to %s (%s)", sched.TaskName(i), e.mm.name, e.addr, tlbTarget(e), k.cachedAt(e))
			}
		}
	}
	return ""
}

// otherOwesFlush reports whether a task other than t owes m's page addr a
// flush, not counting reclaim's batched debts counted before paid (t's
// last flush_tlb_batched_pending, which flushed them). The caller holds
// k.tlb.mu.
func (k *Kernel) otherOwesFlush(t *sched.Task, m *MM, addr int, paid tlbStamp) bool {
	for i, ps := range k.tlb.pending {
		if i == t.ID() {
			continue
		}
		for _, p := range ps {
			if p.mm == m && p.start <= addr && addr < p.end && !(p.batched && p.batchedAt.before(paid)) && !k.debtPastUnlock(i, m, addr, t.ID()) {
				return true
			}
		}
	}
	return false
}

// owesFlushLocked reports whether task id owes m's page addr a flush. The
// caller holds k.tlb.mu.
func (k *Kernel) owesFlushLocked(id int, m *MM, addr int) bool {
	for _, p := range k.tlb.pending[id] {
		if p.mm == m && p.start <= addr && addr < p.end {
			return true
		}
	}
	return false
}

func tlbTarget(e tlbEntry) string {
	s := "zero-page"
	switch {
	case e.folio != nil && e.folio.Large():
		s = fmt.Sprintf("%s[%d]", e.folio.name, e.page)
	case e.folio != nil:
		s = e.folio.name
	}
	if e.write {
		s += " (writable)"
	}
	return s
}

// mmuGather is struct mmu_gather for a zap: the range whose translations
// must be flushed and the folios whose last mapping the zap removed, freed
// only after the flush (tlb_finish_mmu).
type mmuGather struct {
	mm         *MM
	start, end int
	pages      []*Folio
	tables     []gatheredTable // page tables to free after the flush (tlbpsc.go)
}

// tlbGatherMMU is tlb_gather_mmu: from here to tlbFinishMMU, the folios
// t's zaps unmap for the last time wait for the flush before they are
// freed; m's tlb_flush_pending counts the gathers in progress
// (inc_tlb_flush_pending).
func (k *Kernel) tlbGatherMMU(t *sched.Task, m *MM) {
	m.tlbFlushPending.Add(1)
	k.tlb.mu.Lock()
	k.gather[t.ID()] = &mmuGather{mm: m, start: k.Geo.Pages(), end: 0}
	k.tlb.mu.Unlock()
}

// gathering records that a zap by t cleared [start, end) of m; it reports
// the task's gather, or nil.
func (k *Kernel) gathering(t *sched.Task, start, end int) *mmuGather {
	k.tlb.mu.Lock()
	defer k.tlb.mu.Unlock()
	g := k.gather[t.ID()]
	if g != nil {
		g.start, g.end = min(g.start, start), max(g.end, end)
	}
	return g
}

// tlbFinishMMU is tlb_finish_mmu (mm/mmu_gather.c): flush the gathered
// range — all of the mm when another gather of the same mm is in progress
// (mm_tlb_flush_nested: a concurrent zap of the same range may have found
// the PTEs already cleared by this one and skipped its flush, 99baac21e458
// "mm: fix MADV_[FREE|DONTNEED] TLB flush miss problem") —, then free the
// gathered folios, then drop tlb_flush_pending.
func (k *Kernel) tlbFinishMMU(t *sched.Task, site string) {
	k.tlb.mu.Lock()
	g := k.gather[t.ID()]
	k.tlb.mu.Unlock()
	if g == nil {
		t.Internal("%s: tlb_finish_mmu without tlb_gather_mmu", site)
	}
	t.Point(sched.KindRead, g.mm.name+" tlb_flush_pending", site, "mm_tlb_flush_nested")
	switch {
	case g.mm.tlbFlushPending.Load() > 1 && !k.Variants.Has("tlb_finish_mmu-no-nested-flush"):
		k.flushTLBMM(t, g.mm, site+" (nested: fullmm)")
	case g.start < g.end:
		k.flushTLBRange(t, g.mm, g.start, g.end, site)
	}
	for _, f := range g.pages {
		k.unpin(t, f, site) // tlb_batch_pages_flush: the gathered references go
	}
	for _, gt := range g.tables {
		// tlb_remove_table: after the flush and a grace period.
		k.Env.RCU().CallRCU(t, "free "+gt.o.name, func() { k.freeTable(t, g.mm, gt.o, gt.site) })
	}
	k.tlb.mu.Lock()
	k.gather[t.ID()] = nil // the gather stays open (otherGatherCovers) until here
	k.tlb.mu.Unlock()
	g.mm.tlbFlushPending.Add(-1)
}

// copyWindow tells the search (sched.Windower) that t has just copied page
// pg of f (all its pages when pg < 0) while another task still holds a
// writable translation of it: a store through that translation after the
// copy is lost to the copy, and the task that holds it should get to run
// before the copy replaces the page (wp_page_copy's ptep_clear_flush, the
// migration's remap). In the faithful kernel the copier has flushed such
// translations first, so this is a hint of a missing lock or flush.
func (k *Kernel) copyWindow(t *sched.Task, f *Folio, pg int) {
	k.tlb.mu.Lock()
	stale := false
	for i, es := range k.tlb.per {
		for _, e := range es {
			if i != t.ID() && e.write && e.folio == f && (pg < 0 || e.page == pg) && (!k.planned || k.storesLeft[i].Load() > 0) {
				stale = true
			}
		}
	}
	k.tlb.mu.Unlock()
	if stale {
		k.staleCopies.Add(1)
		t.Window(sched.WindowCopy)
	}
}

// PlanStores tells the kernel, before the concurrent phase, how many store
// ops each of its tasks will run (stores[i] for task i). copyWindow then
// counts only a holder of a writable translation that has a store op yet to
// end: a store is lost to a copy only if it comes through that holder's
// translation after the copy, and a task whose stores are all done (the
// setup's task, whose TLB keeps the setup's translations, running a fork)
// can lose none. A run whose every holder is done opens no window and
// costs a search no more schedules (fuzz.Exec, hunt).
func (k *Kernel) PlanStores(stores []int) {
	k.planned = true
	for i, n := range stores {
		if i < maxTLBTasks {
			k.storesLeft[i].Store(int32(n))
		}
	}
}

// StaleCopies is how many times a task copied a page while another task
// still held a writable translation of it and had a store to come
// (copyWindow, PlanStores): rare in the
// faithful kernel, and a sign that a run came close to a lost store, which
// a search may give more schedules (hunt).
func (k *Kernel) StaleCopies() int64 { return k.staleCopies.Load() }
