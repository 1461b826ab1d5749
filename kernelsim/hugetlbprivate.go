package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// Private hugetlb mappings (MAP_PRIVATE of a hugetlbfs file; mm/hugetlb.c,
// v6.17): a read fault maps the page-cache folio read-only when there is
// one, else a zeroed anon hugetlb folio; a write breaks COW into an anon
// hugetlb folio (hugetlb_wp). Anon hugetlb folios have an anon_vma, so
// rmap walks reach them through anon_vma->rwsem (rmap_walk_anon), which
// excludes none of hugetlb_change_protection, __unmap_hugepage_range or
// hugetlb_wp: against such walkers (a migration of the folio) only the
// PMD table's lock serialises the entry. Their PMD tables are never
// shared (vma_shareable needs VM_MAYSHARE), and a fork child's copy of a
// private VMA has no hugetlb VMA lock (hugetlb_dup_vma_private).

// allocHugetlbFolio is alloc_hugetlb_folio: a zeroed huge folio
// (folio_zero_user, __folio_mark_uptodate), anon for a private mapping's
// own page.
func (k *Kernel) allocHugetlbFolio(anon bool) *Folio {
	f := k.allocFolioOrder(anon, k.Geo.hpageOrder())
	f.hugetlbAnon = anon
	return f
}

// hugetlbAddNewAnonRmap is hugetlb_add_new_anon_rmap(folio, vma, address):
// folio->mapping = vma->anon_vma, the index its linear page index, one
// mapping that is also the entire mapping, exclusive. Called under the
// PTL.
func (k *Kernel) hugetlbAddNewAnonRmap(t *sched.Task, f *Folio, v *VMA, addr int) {
	if v.AnonVMA() == nil {
		bugOn(t, "__folio_set_anon: BUG_ON(!anon_vma): new anon hugetlb folio in %s, which has no anon_vma", v.Describe())
	}
	f.anonVMA, f.index = v.AnonVMA(), v.linearPageIndex(addr)
	f.mapcount.Add(1)
	f.entire.Add(1)
}

// hugetlbWP mirrors hugetlb_wp() for a private mapping (mm/hugetlb.c,
// v6.17), called with huge_pte_lock held (returned held) and the fault
// mutex and hugetlb VMA lock R held by hugetlb_fault, orig the read-only
// entry it saw. An anon folio mapped only here (the caller holds its
// lock) is reused: folio_move_anon_rmap to this VMA's anon_vma if needed,
// and the leaf made writable. Otherwise the folio is copied: the PTL is
// dropped ("the buddy allocator may be called"), a folio allocated, the
// anon_vma prepared and the data copied (copy_user_large_folio); under
// the PTL again, hugetlb_walk, and if the entry is still the same the old
// leaf is cleared and flushed (huge_ptep_clear_flush), the old folio's
// rmap removed, the new folio's added (hugetlb_add_new_anon_rmap) and the
// new writable leaf set. The PTL is dropped once more around the puts and
// retaken for the caller.
func (k *Kernel) hugetlbWP(t *sched.Task, v *VMA, hp *hugePTE, haddr int, orig *PMDEntry, ff faultFlags) FaultResult {
	const site = "hugetlb_wp"
	m := v.mm
	since := k.stamp(t) // for tlb-coherence: the translations cached before this call
	old := orig.Leaf.Folio
	writable := v.Flags()&VMWrite != 0
	t.Point(sched.KindRead, old.name, site, "folio_mapcount, folio_test_anon")
	if old.anon && old.mapcount.Load() == 1 {
		if av := v.AnonVMA(); av != nil && old.anonVMA != av {
			t.Point(sched.KindWrite, old.name, "folio_move_anon_rmap", "mapping "+old.anonVMA.name+" -> "+av.name)
			old.anonVMA = av
		}
		leaf := *orig.Leaf
		leaf.Write = writable
		k.setPMD(t, m, hp.pmd, hp.slot, haddr, &PMDEntry{Leaf: &leaf}, "set_huge_ptep_maybe_writable")
		return FaultDone
	}
	k.folioGet(t, old, site) // get_page(old_page): kept across the unlocked copy
	defer k.unpin(t, old, site)
	hp.unlock(t, site)
	nf := k.allocHugetlbFolioPrivate(t)
	if nf == nil { // vmf_error(-ENOSPC): SIGBUS
		hp.lock(t, site) // no page for the copy; "Caller expects lock to be held"
		return FaultSEGV
	}
	if r := k.vmfAnonPrepareInner(t, v, ff, "__vmf_anon_prepare"); r != FaultDone {
		k.discardFolio(nf)
		hp.lock(t, site) // __vmf_anon_prepare failed; "Caller expects lock to be held"
		return r
	}
	// copy_user_large_folio copies page by page; the model copies at one
	// step. That hides no consequence: what races the copy is a store to
	// one page (through another mapping of a page-cache folio, or a stale
	// writable translation of an anon one), which lands before or after
	// its page is copied. The memory log takes whatever the copy holds as
	// the mm's memory, and the lost-store check below compares page by
	// page, so a store is lost exactly when it came after the copy of its
	// page, which an interleaving with the store after this step gives
	// too.
	t.Point(sched.KindRead, old.name, "copy_user_large_folio", "copy "+old.name+" into "+nf.name)
	k.use(t, &old.Obj, "copy_user_large_folio")
	nf.copyFrom(old)
	copyStep := t.Step()
	hp.lock(t, site)
	cur := k.hugetlbWalk(t, v, haddr, site)
	if cur == nil || cur.slot.Load() != orig {
		k.discardFolio(nf)
		hp.unlock(t, site)
		hp.lock(t, site) // the entry changed meanwhile; "Caller expects lock to be held"
		return FaultDone
	}
	k.setPMD(t, m, cur.pmd, cur.slot, haddr, nil, "huge_ptep_clear_flush")
	k.flushTLBRange(t, m, haddr, haddr+k.Geo.PTEs, "huge_ptep_clear_flush")
	if old.anon {
		// As in wp_page_copy: from the copy to here the leaf kept the old
		// folio read-only, so a store that reached it meanwhile came through
		// a stale writable translation and is lost to this mm.
		for i := 0; i < nf.Nr(); i++ {
			if now, was := old.page(i).Load(), nf.page(i).Load(); now != was {
				t.Fail(sched.Violation{Invariant: "memory-contents", Detail: fmt.Sprintf("hugetlb_wp at %s %#x copied page %d of %s = %d into %s at step %d, but it holds %d when the leaf is replaced: a store reached the old folio after the copy (through a stale writable translation) and is lost", m.name, haddr, i, old.name, was, nf.name, copyStep, now)})
				break
			}
		}
	}
	old.entire.Add(-1) // hugetlb_remove_rmap
	k.dropMapping(t, old, site)
	k.hugetlbAddNewAnonRmap(t, nf, v, haddr)
	leaf := &PTE{Kind: PTEPresent, Folio: nf, Read: true, Write: writable, ID: k.newID(), Huge: true}
	// Break-before-make (huge_ptep_clear_flush, then set_huge_pte_at):
	// the copy's translation becomes visible only once no CPU translates
	// the address to the old folio any more. Otherwise another thread may
	// read the copy, then (through its stale entry) the old folio as it
	// is later: a page-cache folio changed by a shared mapping shows
	// through after the mm's private copy was read (arm64: a TLB conflict).
	k.checkHugetlbBBM(t, m, haddr, old)
	k.setPMD(t, m, cur.pmd, cur.slot, haddr, &PMDEntry{Leaf: leaf}, "set_huge_pte_at")
	// From here the mm reads its private copy, whatever happens to the
	// folio it was copied from (a page-cache folio may change).
	for i := 0; i < nf.Nr(); i++ {
		k.logMem(t, MemEvent{Kind: MemStore, MM: m.name, Addr: haddr + i, Value: nf.page(i).Load(), OK: true})
	}
	// What huge_ptep_clear_flush was for: from here no CPU reads the old
	// folio through a translation of this address (a page-cache folio may
	// change under it: another mapping's store would show through). A
	// read-only stale translation loses no store, so only this promise
	// shows a missing flush.
	k.checkTLBCoherence(t, m, haddr, haddr+k.Geo.PTEs, since, promiseOwn, tlbOp{verb: "hugetlb_wp", mm: m.name, start: haddr, end: haddr + k.Geo.PTEs})
	hp.unlock(t, site)
	hp.lock(t, site) // folio_put(old_folio) is done unlocked; "Caller expects lock to be held"
	return FaultDone
}

// checkHugetlbBBM is invariant tlb-coherence at hugetlb_wp's
// set_huge_pte_at (break-before-make): no task's TLB may
// still translate m's huge page at haddr to old, the folio the leaf is
// being replaced from (huge_ptep_clear_flush flushed it, under the PTL).
func (k *Kernel) checkHugetlbBBM(t *sched.Task, m *MM, haddr int, old *Folio) {
	k.checked("tlb-coherence")
	msg := k.tlbTranslatesTo(old, func(_ int, e *tlbEntry) bool { return e.mm == m && e.addr >= haddr && e.addr < haddr+k.Geo.PTEs })
	if msg != "" {
		t.Fail(sched.Violation{Invariant: "tlb-coherence", Detail: fmt.Sprintf("hugetlb_wp at %s %#x installs its copy (set_huge_pte_at) before the old translation is flushed (break-before-make): %s", m.name, haddr, msg)})
	}
}
