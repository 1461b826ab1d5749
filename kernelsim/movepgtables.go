package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// pagetableMove is struct pagetable_move_control: move len pages of old
// (from oldAddr) to new (at newAddr).
type pagetableMove struct {
	old, new       *VMA
	oldAddr        int
	newAddr        int
	len            int
	needRmapLocks  bool
	forStack       bool // relocate_vma_down: source and destination are one temporary stack
	revert         bool // moving a partial move back
	allocCanFail   bool // page-table allocation may fail (failslab-like injection)
	site           string
	movedByNormPMD int
}

// takeRmapLocks mirrors take_rmap_locks(): i_mmap W, then the anon_vma
// root W, of the source VMA (the destination shares both).
func (k *Kernel) takeRmapLocks(t *sched.Task, v *VMA, site string) {
	if v.file != nil {
		v.file.immap.DownWrite(t, site)
	}
	if v.AnonVMA() != nil {
		v.AnonVMA().lockWrite(t, site)
	}
}

func (k *Kernel) dropRmapLocks(t *sched.Task, v *VMA, site string) {
	if v.AnonVMA() != nil {
		v.AnonVMA().unlockWrite(t, site)
	}
	if v.file != nil {
		v.file.immap.UpWrite(t, site)
	}
}

// movePageTables mirrors mm/mremap.c move_page_tables() (v6.16+): per
// extent (bounded by the next PMD boundary on both sides), a THP leaf is
// moved whole by move_huge_pmd when the extent covers it, else split; a
// whole PTE table is moved by move_normal_pmd when the extent covers it on
// both sides; otherwise the PTEs are moved by move_ptes, whose -EAGAIN (the
// table vanished between the PMD read and pte_offset_map_lock) sends the
// extent round again. It returns how many pages were moved: fewer than
// asked when a page-table allocation failed.
func (k *Kernel) movePageTables(t *sched.Task, pmc *pagetableMove) int {
	g := k.Geo
	om, nm := pmc.old.mm, pmc.new.mm
	moved := 0
	for moved < pmc.len {
		oa, na := pmc.oldAddr+moved, pmc.newAddr+moved
		extent := pmc.len - moved
		if e := g.PTEs - oa%g.PTEs; e < extent {
			extent = e
		}
		if e := g.PTEs - na%g.PTEs; e < extent {
			extent = e
		}
		if om.pmdOffset(oa) == nil { // get_old_pmd: no PMD table
			moved += extent
			continue
		}
		if pmc.allocCanFail && nm.pmdOffset(na) == nil && k.allocFails(t, "pmd") {
			break // alloc_new_pmd failed: a partial move
		}
		k.pmdAlloc(t, nm, na, pmc.site)
	again:
		t.PointF(sched.KindRead, pmc.site, sched.Objf("pmd %s %#x").S(om.name).N(g.pmdBase(oa)).Detail("old pmd (lockless)"))
		e := om.pmdEntry(oa)
		switch {
		case e != nil && e.Leaf != nil:
			if extent == g.PTEs && k.moveHugePMD(t, pmc, oa, na) {
				moved += extent
				continue
			}
			k.splitHugePMD(t, pmc.old, oa, pmc.site)
		case e != nil && extent == g.PTEs:
			// A whole table on both sides: NORMAL_PMD (move_pgt_entry).
			if k.moveNormalPMD(t, pmc, oa, na) {
				moved += extent
				pmc.movedByNormPMD++
				continue
			}
		}
		if om.pteTable(oa) == nil { // pmd_none
			moved += extent
			continue
		}
		if pmc.allocCanFail && nm.pteTable(na) == nil && k.allocFails(t, "pte table") {
			break // pte_alloc failed: a partial move
		}
		k.pteAlloc(t, nm, na, pmc.site)
		if !k.movePTEs(t, pmc, oa, na, extent) {
			goto again // -EAGAIN
		}
		moved += extent
	}
	return moved
}

// The page-table entries move_pgt_entry and move_ptes move.
type moveKind uint8

const (
	movePTEs moveKind = iota
	moveNormalPMD
	moveHPagePMD
)

// needRmapLocksFor mirrors should_take_rmap_locks(): always for whole
// page-table moves (NORMAL_PMD), else pmc->need_rmap_locks.
func (k *Kernel) needRmapLocksFor(pmc *pagetableMove, kind moveKind) bool {
	switch {
	case kind == moveNormalPMD:
		return !k.Variants.Has("move_normal_pmd-skip-rmap-locks")
	case kind == movePTEs && pmc.needRmapLocks && k.Variants.Has("move_ptes-skip-rmap-locks"):
		return false
	}
	return pmc.needRmapLocks
}

// rmapLocksForMove takes the rmap locks of a move when should_take_rmap_locks
// says so, and otherwise checks the ordering argument that lets the move go
// without them (move-order-witness). It reports whether it took them.
func (k *Kernel) rmapLocksForMove(t *sched.Task, pmc *pagetableMove, kind moveKind, site string) bool {
	if k.needRmapLocksFor(pmc, kind) {
		k.takeRmapLocks(t, pmc.old, "take_rmap_locks")
		return true
	}
	k.checkMoveOrder(t, pmc, site)
	return false
}

// moveNormalPMD mirrors move_pgt_entry(NORMAL_PMD) → move_normal_pmd(): with
// the rmap locks, both PMD locks (old, then new nested), re-check that the
// old entry still points to a table — retract_page_tables may have cleared
// it since move_page_tables read it without a lock (6fa1066fc5d0, D.7) —,
// move the table (its PTL travels with it) and clear the old entry.
func (k *Kernel) moveNormalPMD(t *sched.Task, pmc *pagetableMove, oa, na int) bool {
	const site = "move_normal_pmd"
	g := k.Geo
	om, nm := pmc.old.mm, pmc.new.mm
	locks := k.rmapLocksForMove(t, pmc, moveNormalPMD, site)
	opmd, npmd := om.pmdOffset(oa), nm.pmdOffset(na)
	ok := false
	if opmd != nil && npmd != nil && npmd.e[g.pmdIndex(na)].Load() == nil {
		opmd.ptl.Lock(t, site)
		if npmd != opmd {
			npmd.ptl.LockNested(t, 1, site)
		}
		oslot, nslot := &opmd.e[g.pmdIndex(oa)], &npmd.e[g.pmdIndex(na)]
		e := oslot.Load()
		if (e != nil && e.Table != nil) || k.Variants.Has("move_normal_pmd-no-pmd-recheck") {
			tbl := k.pfn0Table() // pmd_pgtable(pmd) of a none (or leaf) PMD
			if e != nil && e.Table != nil {
				tbl = e.Table
				k.use(t, &tbl.Obj, site)
			} else {
				// I4 at the write: a PMD entry points at a live table.
				t.Fail(sched.Violation{Invariant: "page-table-lifetime", Detail: fmt.Sprintf("%s moves %s's PMD at %#x to %#x, but under the PMD locks it is %s (it pointed to a table when move_page_tables read it): the new PMD would point at pmd_pgtable() of it, the page at pfn 0, as a page table", site, om.name, oa, na, e)})
			}
			t.Point(sched.KindWrite, fmt.Sprintf("pmd %s %#x", om.name, oa), site, fmt.Sprintf("move %s %#x -> %s %#x", e, oa, nm.name, na))
			k.tlbPending(t, om, oa, oa+g.PTEs) // the old range's translations, until the flush (owed before the store, as setPMD records it)
			oslot.Store(nil)
			nslot.Store(&PMDEntry{Table: tbl})
			// Every page of the table moves, whatever its entry is now:
			// move_normal_pmd holds no PTL, so an entry may be none only
			// for the moment (try_to_migrate_one between its
			// ptep_clear_flush and the migration entry, under the PTL that
			// moves with the table) while its contents still belong here.
			// A truly none entry moves fresh memory, which changes nothing.
			for i := range tbl.e {
				k.logMove(t, om, oa+i, nm, na+i)
			}
			// flush_tlb_range of the old PMD's range, under both PMD locks.
			k.flushTLBRange(t, om, oa, oa+g.PTEs, site)
			ok = true
		}
		if npmd != opmd {
			npmd.ptl.Unlock(t, site)
		}
		opmd.ptl.Unlock(t, site)
	}
	if locks {
		k.dropRmapLocks(t, pmc.old, "drop_rmap_locks")
	}
	return ok
}

// movePTEs mirrors move_ptes() (v6.17, with 04d1c9d60c6e): rmap locks if
// needed, the old table mapped and locked (pte_offset_map_lock, -EAGAIN
// when it is gone), the new one mapped (pte_offset_map_rw_nolock, no
// re-check: mmap_lock W keeps it) and its PTL nested when it is another
// table; then each present PTE moves with the PTEs after it that map the
// next pages of the same large folio with the same write bit
// (mremap_folio_pte_batch: FPB_RESPECT_WRITE) in one
// get_and_clear_full_ptes / set_ptes, other entries one by one, each keeping
// its mapping identity; the flush of the old range comes before the PTLs
// drop. It reports false for -EAGAIN.
func (k *Kernel) movePTEs(t *sched.Task, pmc *pagetableMove, oa, na, n int) bool {
	const site = "move_ptes"
	g := k.Geo
	om, nm := pmc.old.mm, pmc.new.mm
	locks := k.rmapLocksForMove(t, pmc, movePTEs, site)
	defer func() {
		if locks {
			k.dropRmapLocks(t, pmc.old, "drop_rmap_locks")
		}
	}()
	otbl, _ := k.pteOffsetMapLock(t, om, oa, site)
	if otbl == nil {
		return false
	}
	ntbl := k.pteOffsetMap(t, nm, na, site)
	if ntbl == nil {
		k.pteUnmapUnlock(t, otbl, site)
		return false
	}
	if ntbl != otbl {
		ntbl.ptl.LockNested(t, 1, site)
		k.useIn(t, &ntbl.Obj, site, "spin_lock of the PTL in the table's ptdesc")
	}
	k.flushTLBBatchedPending(t, om, site)
	forceFlush := false
	for i := 0; i < n; {
		oi, ni := g.pteIndex(oa+i), g.pteIndex(na+i)
		p := otbl.e[oi].Load()
		if p == nil {
			i++
			continue
		}
		nr := 1
		if p.Kind == PTEPresent {
			if p.Folio != nil && p.Folio.Large() && n-i > 1 {
				// mremap_folio_pte_batch
				ignoreWrite := k.Variants.Enabled("mremap-batch-ignores-writable")
				nr = k.folioPTEBatch(t, om, otbl, oi, oa+i, p, n-i, !ignoreWrite, "mremap_folio_pte_batch")
				for j := 1; ignoreWrite && j < nr; j++ {
					if otbl.e[oi+j].Load().Write != p.Write {
						k.Variants.Hit("mremap-batch-ignores-writable") // the batch took a PTE FPB_RESPECT_WRITE would have stopped at
						break
					}
				}
			}
			forceFlush = true
		}
		// get_and_clear_full_ptes, then set_ptes of the first PTE's value
		// for each page of the batch.
		var src []*PTE
		for j := 0; j < nr; j++ {
			src = append(src, otbl.e[oi+j].Load())
			k.setPTE(t, om, otbl, oi+j, oa+i+j, nil, site)
			k.logMove(t, om, oa+i+j, nm, na+i+j)
		}
		for j := 0; j < nr; j++ {
			k.checked("move-fidelity")
			if q := ntbl.e[ni+j].Load(); q != nil {
				t.Fail(sched.Violation{Invariant: "move-fidelity", Detail: fmt.Sprintf("%s: destination %s %#x is not none (%s) before the move", site, nm.name, na+i+j, q)})
			}
			v := *p
			v.Page, v.ID = p.Page+j, src[j].ID
			if v.Write != src[j].Write || v.Read != src[j].Read {
				t.Fail(sched.Violation{Invariant: "move-fidelity", Detail: fmt.Sprintf("%s moves %s from %s %#x to %s %#x as %s: the moved entry does not keep the source's permissions (a batch of %d PTEs written from the first one's value)", site, src[j], om.name, oa+i+j, nm.name, na+i+j, &v, nr)})
			}
			k.setPTE(t, nm, ntbl, ni+j, na+i+j, &v, site)
		}
		i += nr
	}
	// eb66ae030829 (CVE-2018-18281): the old range's translations are
	// flushed while the PTLs are still held, so that no CPU can keep
	// using the old address once another path (reclaim, truncation,
	// migration of the new mapping) frees the page.
	if forceFlush && !k.Variants.Has("move_ptes-flush-after-unlock") {
		k.flushTLBRange(t, om, oa, oa+n, site)
	}
	if ntbl != otbl {
		ntbl.ptl.Unlock(t, site)
	}
	k.pteUnmap(t, site)
	// pte_unmap_unlock of the old table, spelled out: the variant's flush
	// comes right after the last PTL is released, as the
	// flush-after-unlock mutant puts it; the RCU read section that ends
	// after it protects only the table, not the translations.
	otbl.ptl.Unlock(t, site)
	if forceFlush && k.Variants.Has("move_ptes-flush-after-unlock") {
		k.flushTLBRange(t, om, oa, oa+n, site+" (after the PTLs)")
	}
	k.pteUnmap(t, site)
	return true
}

// checkMoveOrder is invariant I9 (move-order-witness), checked when entries
// move without rmap locks: in every interval tree the source is in, the
// destination must be visited after it (greater start pgoff, or equal and
// inserted later), unless the move relocates a temporary exec stack.
//
// The check reads the interval trees without their locks (the locks are
// what the move goes without), so it runs only in controlled mode, where
// no other task moves meanwhile; in free mode it would race with the
// trees' writers (a Go data race, and a verdict on a tree half-changed).
func (k *Kernel) checkMoveOrder(t *sched.Task, pmc *pagetableMove, site string) {
	if !k.Env.Rules() || pmc.forStack || pmc.old == pmc.new || t.Sched().Mode() == sched.Free {
		return
	}
	bad := ""
	for _, avc := range pmc.old.chain {
		var dst *AVC
		for _, c := range pmc.new.chain {
			if c.av == avc.av {
				dst = c
			}
		}
		if dst == nil {
			continue
		}
		if !avc.av.tree.After(dst, avc) {
			bad = fmt.Sprintf("in %s's tree %s (%s) is not visited after %s (%s)", avc.av.name, pmc.new.Describe(), dst.name, pmc.old.Describe(), avc.name)
		}
	}
	if f := pmc.old.file; f != nil && bad == "" && !f.tree.After(pmc.new, pmc.old) {
		bad = fmt.Sprintf("in %s's i_mmap %s is not visited after %s", f.name, pmc.new.Describe(), pmc.old.Describe())
	}
	if bad != "" {
		t.Fail(sched.Violation{Invariant: "move-order-witness", Detail: site + " moves entries without rmap locks, but " + bad + ": an rmap walk can visit the destination before the source and miss the moved entry"})
	}
}

// logMove records that the page at oa of om now backs na of nm, and that oa
// reads as fresh memory if it is faulted again (MREMAP_DONTUNMAP).
func (k *Kernel) logMove(t *sched.Task, om *MM, oa int, nm *MM, na int) {
	k.logMem(t, MemEvent{Kind: MemCopy, MM: nm.name, SrcMM: om.name, SrcAddr: oa, Addr: na})
	k.logMem(t, MemEvent{Kind: MemZero, MM: om.name, Addr: oa, Len: 1})
}

// allocFails is the failslab-like injection of page-table allocation
// failures, when the program asks for it: a data choice of the strategy, so that error paths such as the
// mremap revert run in fuzzing and replay exactly. Choice 0 (the default of
// exhausted fuzz input and of the non-preemptive schedule) succeeds; under
// random and PCT one allocation in eight fails.
func (k *Kernel) allocFails(t *sched.Task, what string) bool {
	if !k.InjectAllocFailures {
		return false
	}
	return t.Choose(8, "alloc "+what+" fails if 7") == 7
}
