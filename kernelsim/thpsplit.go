package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// Splitting THPs (mm/huge_memory.c, v6.14, reference C.10): a PMD leaf into
// a PTE table (split_huge_pmd and friends), and a large folio into small
// folios (split_huge_page_to_list_to_order: unmap_folio, the refcount
// freeze, remap_page).

// splitHugePMD is split_huge_pmd(vma, pmd, address): a leaf (a THP or a
// PMD migration entry) at addr becomes a PTE table (__split_huge_pmd with
// no folio to match, no freeze).
func (k *Kernel) splitHugePMD(t *sched.Task, v *VMA, addr int, site string) {
	if e := v.mm.pmdEntry(addr); e != nil && e.Leaf != nil {
		k.splitHugePMDAt(t, v, addr, false, nil, site)
	}
}

// splitHugePMDAddress is split_huge_pmd_address(vma, address, freeze,
// folio): find the PMD (mm_find_pmd) and split it there. It returns the
// mapping identity of the leaf it froze, or 0.
func (k *Kernel) splitHugePMDAddress(t *sched.Task, v *VMA, addr int, freeze bool, folio *Folio, site string) uint64 {
	if v.mm.pmdOffset(addr) == nil {
		return 0
	}
	return k.splitHugePMDAt(t, v, addr, freeze, folio, site)
}

// splitHugePMDIfNeeded is split_huge_pmd_if_needed(), for
// vma_adjust_trans_huge(): a VMA boundary moving to addr, not PMD-aligned,
// inside a PMD range the VMA covered, splits the leaf there.
func (k *Kernel) splitHugePMDIfNeeded(t *sched.Task, v *VMA, addr int) {
	g := k.Geo
	base := g.pmdBase(addr)
	if addr != base && base >= v.start && base+g.PTEs <= v.end {
		k.splitHugePMDAddress(t, v, addr, false, nil, "vma_adjust_trans_huge")
	}
}

// splitHugePMDAt is __split_huge_pmd(): split_huge_pmd_locked under the PMD
// lock. It returns the identity of the leaf it froze, or 0.
func (k *Kernel) splitHugePMDAt(t *sched.Task, v *VMA, addr int, freeze bool, folio *Folio, site string) uint64 {
	const lsite = "__split_huge_pmd"
	pmd := v.mm.pmdOffset(addr)
	pmd.ptl.Lock(t, lsite)
	// The kernel splits through the pmd pointer its caller found
	// (vmf->pmd, pvmw.pmd), not through a new walk: a PMD table freed
	// under it (only a broken lock allows that) is a use-after-free.
	k.use(t, &pmd.Obj, lsite)
	id := k.splitHugePMDLocked(t, v, pmd, addr, freeze, folio, site)
	pmd.ptl.Unlock(t, lsite)
	return id
}

// splitHugePMDLocked mirrors split_huge_pmd_locked() (v6.14 with
// be6e843fc51a, "mm/huge_memory: fix dereferencing invalid pmd migration
// entry"): a leaf is split unless the caller names a folio (a split or
// migration of that folio walking its rmap) and the leaf is not that
// folio's. A PMD migration entry is never the caller's folio — the caller
// holds its folio locked, and a migration entry exists only while its
// folio is locked by its migrator — and pmd_folio() of one would read the
// swap entry as a pfn (reference N4).
func (k *Kernel) splitHugePMDLocked(t *sched.Task, v *VMA, pmd *PMDTable, addr int, freeze bool, folio *Folio, site string) uint64 {
	m := v.mm
	slot := &pmd.e[k.Geo.pmdIndex(addr)]
	e := slot.Load()
	if e == nil || e.Leaf == nil {
		return 0
	}
	if folio != nil {
		if e.Leaf.Kind == PTEMigration {
			if k.Variants.Has("split-misreads-pmd-migration-entry") {
				// N4, before be6e843fc51a: folio != pmd_folio(*pmd) on a
				// PMD migration entry.
				t.Fail(sched.Violation{Invariant: "kernel-oops", Detail: fmt.Sprintf("split_huge_pmd_locked for %s at %s %#x: pmd_folio() of %s (another folio's PMD migration entry) reads the swap entry as a pfn, and page_folio() dereferences a struct page that does not exist: unable to handle kernel paging request", folio.name, m.name, k.Geo.pmdBase(addr), e.Leaf)})
			}
			return 0
		}
		if e.Leaf.Folio != folio {
			return 0
		}
	}
	return k.splitHugePMDLockedLeaf(t, v, pmd, addr, slot.Load(), freeze, site)
}

// splitHugePMDLockedLeaf mirrors __split_huge_pmd_locked() (v6.14), with
// the PMD lock held. A file leaf is just cleared (the pages refault). An
// anon leaf: a THP is invalidated (pmdp_invalidate, with its flush) and,
// unless frozen, gets a PTE mapping per page; the deposited table is
// withdrawn and filled — with PTEs mapping the THP's pages with the leaf's
// permissions, or, frozen (a split's unmap) or for a PMD migration entry,
// with a migration entry per page — and only then published
// (pmd_populate). It returns the identity of the leaf it froze, or 0.
func (k *Kernel) splitHugePMDLockedLeaf(t *sched.Task, v *VMA, pmd *PMDTable, addr int, e *PMDEntry, freeze bool, site string) uint64 {
	const lsite = "__split_huge_pmd_locked"
	m := v.mm
	g := k.Geo
	haddr := g.pmdBase(addr)
	slot := &pmd.e[g.pmdIndex(addr)]
	leaf := e.Leaf
	f := leaf.Folio
	if !v.isAnon() || !f.anon {
		k.setPMD(t, m, pmd, slot, haddr, nil, "pmdp_huge_clear_flush")
		k.flushTLBRange(t, m, haddr, haddr+g.PTEs, "pmdp_huge_clear_flush")
		if leaf.Kind == PTEPresent {
			f.entire.Add(-1)
			k.dropMapping(t, f, lsite) // folio_remove_rmap_pmd, folio_put
		}
		if f.anon {
			m.rssAnon.Add(-int64(f.Nr()))
		} else {
			m.rssFile.Add(-int64(f.Nr()))
		}
		return 0
	}
	migration := leaf.Kind == PTEMigration
	if !migration {
		// pmdp_invalidate: the leaf is made invalid (one write: the
		// kernel's pmdp_establish of pmd_mkinvalid) and its translations
		// flushed, then the table replaces it. From the invalidation on,
		// the MMU cannot cache a translation of the range: a user access
		// faults, finds the PMD still huge, waits for the PMD lock and
		// retries into the table. (Keeping the leaf valid until
		// pmd_populate let an access cache a writable translation that a
		// frozen split then replaced by migration entries without another
		// flush: a stale entry the kernel cannot have, found by stress.)
		k.setPMD(t, m, pmd, slot, haddr, &PMDEntry{Leaf: leaf, Invalid: true}, "pmdp_invalidate")
		k.flushTLBRange(t, m, haddr, haddr+g.PTEs, "pmdp_invalidate")
		if !freeze {
			f.mapcount.Add(int32(g.PTEs)) // folio_add_anon_rmap_ptes
		}
	}
	// pgtable_trans_huge_withdraw: the table is the splitter's until
	// pmd_populate publishes it, so its entries are written without the
	// PTL and without scheduling points (nobody else can see them).
	pgtable := k.withdrawTable(t, pmd, lsite)
	for i := 0; i < g.PTEs; i++ {
		p := &PTE{Kind: PTEPresent, Folio: f, Page: i, ID: leaf.ID}
		if freeze || migration {
			p.Kind, p.Write = PTEMigration, leaf.Write
		} else {
			p.Read, p.Write = ptePerms(v, f, leaf.Write)
		}
		if q := pgtable.e[i].Load(); q != nil {
			// The kernel's VM_WARN_ON(!pte_none(ptep_get(pte + i))) in
			// __split_huge_pmd_locked: someone wrote into the deposited
			// table, which only a broken lock allows (the faithful model
			// never gets here; under a mutant it is the consequence).
			t.Fail(sched.Violation{Invariant: "kernel-oops", Detail: fmt.Sprintf("%s: the deposited table %s has %s at %s %#x: VM_WARN_ON(!pte_none), and the entry is overwritten", lsite, pgtable.name, q, m.name, haddr+i)})
		}
		pgtable.e[i].Store(p)
	}
	if !migration {
		f.mapcount.Add(-1) // folio_remove_rmap_pmd
		f.entire.Add(-1)
	}
	k.noteWrite(t, leaf.ID)
	k.setPMD(t, m, pmd, slot, haddr, &PMDEntry{Table: pgtable}, "pmd_populate")
	if freeze && !migration {
		return leaf.ID
	}
	return 0
}

// vmaAdjustTransHuge mirrors vma_adjust_trans_huge(vma, start, end, next)
// (__split_vma, vma_shrink, commit_merge): a VMA boundary that moves to an
// address inside a THP's PMD range splits that PMD first.
func (k *Kernel) vmaAdjustTransHuge(t *sched.Task, v *VMA, start, end int, next *VMA) {
	k.splitHugePMDIfNeeded(t, v, start)
	k.splitHugePMDIfNeeded(t, v, end)
	if next != nil {
		k.splitHugePMDIfNeeded(t, next, end)
	}
}

// SplitFolio splits the large folio mapped at addr of m into small folios,
// as deferred_split_scan() does for a folio on the deferred split queue
// (the shrinker; no mm lock, no mm_users reference: physical-page work):
// take a reference on the folio found through the page tables
// (folio_try_get: the shrinker does not isolate it from the LRU, so it
// meets a folio that reclaim, migration or compaction has isolated, and
// locked or not yet), trylock it, split_folio(), unlock, put. A small
// folio, or none, is nothing to do; a contended folio lock is EAGAIN, as
// the shrinker skips such a folio, and so is a folio someone else holds a
// reference on (can_split_folio in splitHugePage: an isolator's).
func (k *Kernel) SplitFolio(t *sched.Task, m *MM, addr int) error {
	const site = "deferred_split_scan"
	f := k.folioTryGet(t, m, addr, site)
	if f == nil {
		return nil
	}
	// Under split_queue_lock the pass moves the folio from the queue to
	// its own list, and splices what is left back at the end: a second
	// pass meanwhile does not find it.
	f.refMu.Lock()
	listed := f.splitListed
	f.splitListed = true
	f.refMu.Unlock()
	if listed {
		k.unpin(t, f, site)
		return nil
	}
	var err error
	switch {
	case !f.Large():
	case !f.lock.Trylock(t, site):
		err = fmt.Errorf("split %s %#x: EAGAIN: %s is locked", m.name, addr, f.name)
	default:
		if e := k.splitHugePage(t, f); e != nil {
			err = fmt.Errorf("split %s %#x: %v", m.name, addr, e)
		}
		f.lock.Unlock(t, site)
	}
	// folio_put of the pass's reference, in its loop; then, its last
	// step, the pass puts what is left of its list back on the queue
	// under split_queue_lock (list_splice_tail). Until then the pass is at
	// work, and the split folio's head, a small folio now, may already be
	// swapped out or in, merged or isolated by others.
	k.unpin(t, f, site)
	t.Point(sched.KindWrite, "split_queue", site, "list_splice_tail: the pass's list back on the queue")
	f.refMu.Lock()
	f.splitListed = false
	f.refMu.Unlock()
	return err
}

// splitHugePage mirrors split_huge_page_to_list_to_order(folio, NULL, 0)
// (v6.14) for an anonymous folio, locked and referenced by the caller:
// pin and lock its anon_vma for write (folio_get_anon_vma,
// anon_vma_lock_write: no rmap walk, split or collapse of it runs
// meanwhile), check that only mappings and the caller reference it
// (can_split_folio), replace every mapping by migration entries
// (unmap_folio: try_to_migrate with TTU_RMAP_LOCKED | TTU_SYNC |
// TTU_SPLIT_HUGE_PMD, which freezes a PMD mapping into PTE migration
// entries), freeze the refcount, split the folio into small folios (the
// tails locked), and map them again (remap_page:
// remove_migration_ptes(folio, folio, RMP_LOCKED) for each), then unlock
// the tails; on a failed freeze map the large folio again (-EAGAIN).
// (TTU_BATCH_FLUSH: the model flushes at each cleared PTE; a split moves
// no data, so a store through a stale translation lands where it would
// anyway.)
func (k *Kernel) splitHugePage(t *sched.Task, f *Folio) error {
	const site = "split_huge_page_to_list_to_order"
	if !f.anon {
		return fmt.Errorf("EBUSY: %s is a page-cache folio (the model splits anonymous folios only)", f.name)
	}
	if f.mapcount.Load() == 0 {
		return fmt.Errorf("EBUSY: %s is not mapped (folio_get_anon_vma finds no anon_vma)", f.name)
	}
	av := f.anonVMA // folio_get_anon_vma
	k.use(t, &av.Obj, "folio_get_anon_vma")
	getAnonVMA(av)
	av.lockWrite(t, "split_huge_page_to_list_to_order") // anon_vma_lock_write
	defer func() {
		av.unlockWrite(t, "anon_vma_unlock_write")
		k.putAnonVMA(t, av, "put_anon_vma")
	}()
	if f.pinCount() != 1 { // can_split_folio: mapcount == refcount - 1 (the caller's)
		return fmt.Errorf("EAGAIN: %s has references besides its mappings", f.name)
	}
	k.tryToMigrate(t, f, ttuSplitHugePMD|ttuSync|ttuRmapLocked) // unmap_folio
	if f.mapcount.Load() != 0 || f.pinCount() != 1 {            // folio_ref_freeze(folio, 1)
		k.removeMigrationPTEs(t, f, f, true) // remap_page
		k.migrationDone(t, f)
		return fmt.Errorf("EAGAIN: %s is still mapped or referenced after unmap_folio", f.name)
	}
	// __split_huge_page: the tails become folios of their own, locked
	// (their flags are the head's), with the head's mapping and index+i.
	nr := f.Nr()
	t.Point(sched.KindWrite, f.name, "__split_huge_page", fmt.Sprintf("split into %d small folios", nr))
	tails := make([]*Folio, nr-1)
	for i := 1; i < nr; i++ {
		n := k.allocFolio(true)
		n.anonVMA, n.index = f.anonVMA, f.index+i
		n.data.Store(f.page(i).Load())
		n.pin() // the split's reference on the tail, put once it is unlocked
		if !n.lock.Trylock(t, "__split_huge_page_tail") {
			t.Internal("%s: the new folio %s is already locked", site, n.name)
		}
		tails[i-1] = n
	}
	f.tail = nil
	f.splitTails.Store(&tails)
	f.order.Store(0)
	all := append([]*Folio{f}, tails...)
	for _, n := range all {
		k.removeMigrationPTEs(t, n, n, true) // remap_page
		k.migrationDone(t, n)
	}
	for _, n := range tails {
		n.lock.Unlock(t, "__split_huge_page")
		k.unpin(t, n, "__split_huge_page") // freed here when nothing maps it any more
	}
	return nil
}
