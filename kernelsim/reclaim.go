package kernelsim

import (
	"mmrace/kernelsim/sched"
)

// Reclaim mirrors shrink_folio_list() for the folio mapped at addr of m, as
// kswapd or direct reclaim takes it off the LRU: isolate it, trylock it
// (a locked folio is kept for later), folio_referenced (an rmap walk with
// try_lock that gives up when the rmap lock is contended: the folio is kept
// too), then add an anon folio to the swap cache (add_to_swap) and unmap it
// from every page table (try_to_unmap): anon mappings become swap entries,
// file mappings go (the page refaults from the page cache).
//
// Simplifications, none of which removes an interleaving of the locks and
// page tables: young bits are not modelled, so every mapping is old and
// folio_referenced decides only by its contention; there is no I/O: the
// anon folio keeps its data as the swap cache's page until its last swap
// entry goes (pageout and the later swap-in of a fresh folio are left out),
// and a file folio stays in the page cache. Kernel.ReclaimInspectOnly stops
// after folio_referenced (the oracle's runs: the host does not reclaim).
func (k *Kernel) Reclaim(t *sched.Task, m *MM, addr int) error {
	const site = "shrink_folio_list"
	f := k.isolate(t, m, addr, false, site)
	if f == nil {
		return nil
	}
	defer k.putback(t, f)
	if !f.lock.Trylock(t, site) {
		return nil // folio_trylock failed: keep it for later
	}
	referenced := 0
	var ubc *tlbUBC
	rwc := &rmapWalkControl{kind: "folio_referenced", tryLock: true, nonSync: true}
	rwc.rmapOne = func(t *sched.Task, v *VMA, addr int, w *Walk) bool {
		pw := k.newPVMW(t, f, v, addr, false, false, "folio_referenced_one")
		for pw.next() {
			referenced++ // the young bit is not modelled: every mapping counts
		}
		return true
	}
	if !f.freed {
		k.rmapWalk(t, f, rwc)
	}
	if rwc.contended {
		t.Record(sched.KindNote, f.name, "folio_referenced", "rmap lock contended: gave up")
	}
	if f.Large() && !rwc.contended && !k.ReclaimInspectOnly && f.mapcount.Load() > 0 && !f.inSwapCache() {
		// A large folio (v6.12 shrink_folio_list). A file one is kept
		// (activate_locked: the model does not unmap file THPs). An anon
		// one that something else holds a reference on is kept too
		// (can_split_folio(folio, 1, NULL)). One that no PMD maps is split
		// right away and its head goes on as a small folio (the tails are
		// put back on the LRU): the condition of v6.9 ("Split folios
		// without a PMD map right away"), which v6.10 narrowed to the
		// partially mapped folios (PG_partially_mapped, which the model
		// does not keep); the split is also v6.12's fallback when
		// add_to_swap finds no swap cluster of the folio's size, so no
		// folio is split here that the kernel could not split. A
		// PMD-mapped one is swapped out whole: add_to_swap finds a THP
		// cluster (the model's swap device always has one, CONFIG_THP_SWAP),
		// and try_to_unmap splits its PMD mappings under the PMD lock
		// (TTU_SPLIT_HUGE_PMD) and gives each of its pages a swap entry.
		// A large folio already in the swap cache (swapped in in part)
		// goes straight to try_to_unmap, as in the kernel.
		if !f.anon || f.pinCount() != 1 || f.entire.Load() == 0 && k.splitHugePage(t, f) != nil {
			t.Record(sched.KindNote, f.name, site, "large folio not split: activated")
			f.lock.Unlock(t, site)
			return nil
		}
	}
	if !rwc.contended && !k.ReclaimInspectOnly && f.mapcount.Load() > 0 {
		if f.anon {
			k.addToSwap(t, f)
		}
		ubc = k.tryToUnmap(t, f)
		if f.mapcount.Load() > 0 {
			t.Record(sched.KindNote, f.name, "shrink_folio_list", "still mapped after try_to_unmap: activated")
		}
		if f.anon {
			// A dirty anon folio goes to pageout, which is preceded by
			// try_to_unmap_flush_dirty (the model's anon folios are all
			// dirty: there is no clean swap copy).
			k.tryToUnmapFlush(t, ubc, "try_to_unmap_flush_dirty")
		}
	}
	if f.anon {
		k.swapCacheTrim(t, f, site)
	}
	f.lock.Unlock(t, site)
	if ubc != nil {
		// try_to_unmap_flush at the end of shrink_folio_list, after the
		// folio is unlocked (a file folio stays in the page cache: the
		// model frees nothing here).
		k.tryToUnmapFlush(t, ubc, "try_to_unmap_flush")
	}
	return nil
}

// tryToUnmap mirrors try_to_unmap(folio, TTU_BATCH_FLUSH): an rmap walk
// (page_vma_mapped_walk without PVMW_SYNC, like try_to_migrate's, pvmw.go) that
// clears every present PTE of f, leaving a swap entry for an anon folio
// (try_to_unmap_one: ptep_clear_flush, swap_duplicate, set_pte_at of the
// swap PTE, MM_ANONPAGES down and MM_SWAPENTS up, folio_remove_rmap_pte),
// until f is not mapped. It is held to rmap-walk-coverage as migration's
// walks are: every mapping of f that nobody changed during the walk must be
// found.
func (k *Kernel) tryToUnmap(t *sched.Task, f *Folio) *tlbUBC {
	rwc := &rmapWalkControl{
		kind:    "try_to_unmap",
		nonSync: true,
		target:  func(p *PTE) bool { return p.Kind == PTEPresent && p.PageFolio() == f },
		done:    func() bool { return f.mapcount.Load() == 0 },
		// try_to_unmap has no invalid_vma: it walks exec's temporary stack,
		// where relocate_vma_down has lowered vm_start with vm_pgoff kept
		// (vma_expand) and moves the PTEs down afterwards without rmap
		// locks, so that vma_address points at the new place before the
		// PTE is there and the walk misses it. The kernel tolerates that:
		// shrink_folio_list sees the folio still mapped and keeps it
		// (Reclaim's "activated"). Not a bug, so not held to coverage.
		mayMiss: vmaIsTemporaryStack,
	}
	// TTU_BATCH_FLUSH: the cleared PTEs' flushes are owed until
	// try_to_unmap_flush, after the walk (tlbbatch.go).
	var ubc tlbUBC
	rwc.rmapOne = func(t *sched.Task, v *VMA, addr int, w *Walk) bool {
		const site = "try_to_unmap_one"
		// A large folio: TTU_SYNC (v6.10+: the walk takes the PTL from
		// the first PTE on, so that no PTE cleared for a moment is
		// skipped) and TTU_SPLIT_HUGE_PMD (folio_test_pmd_mappable).
		split := f.Large()
		pw := k.newPVMW(t, f, v, addr, f.Large(), false, site)
		for pw.next() {
			if pw.pmdHit {
				if !split {
					// A PMD leaf again after the split: only a broken
					// lock allows it (the deposited table is gone).
					pw.done()
					break
				}
				// v6.12 try_to_unmap_one: split_huge_pmd_locked under
				// the walk's PMD lock (the THP's pages become PTEs of
				// the deposited table), then page_vma_mapped_walk_restart
				// to unmap them.
				k.splitHugePMDLocked(t, v, pw.pmdTable(), pw.addr, false, f, site)
				split = false
				pw.restart()
				continue
			}
			tbl, i := pw.pte()
			p := tbl.e[i].Load()
			w.visit(p.ID)
			if f.anon {
				// The swap entry of the page (page_swap_entry(subpage)):
				// a large folio's pages have their own slots.
				se := &PTE{Kind: PTESwap, Folio: f, ID: p.ID}
				if p.Folio == f {
					se.Page = p.Page
				}
				f.swapDup()
				k.setPTE(t, v.mm, tbl, i, pw.addr, se, site)
				v.mm.rssAnon.Add(-1)
				v.mm.rssSwap.Add(1)
				f.mapcount.Add(-1) // folio_remove_rmap_pte: the swap cache's pin keeps it
			} else {
				k.setPTE(t, v.mm, tbl, i, pw.addr, nil, site)
				v.mm.rssFile.Add(-1)
				k.dropMapping(t, f, site)
			}
			k.setTLBUBCFlushPending(t, &ubc, v.mm, pw.addr, site)
		}
		return true
	}
	k.rmapWalk(t, f, rwc)
	return &ubc
}
