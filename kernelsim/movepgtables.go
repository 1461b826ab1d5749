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
	if v.anonVMA != nil {
		v.anonVMA.lockWrite(t, site)
	}
}

func (k *Kernel) dropRmapLocks(t *sched.Task, v *VMA, site string) {
	if v.anonVMA != nil {
		v.anonVMA.unlockWrite(t, site)
	}
	if v.file != nil {
		v.file.immap.UpWrite(t, site)
	}
}

// movePageTables mirrors mm/mremap.c move_page_tables(): per extent (bounded
// by the next PMD boundary on both sides), a whole PTE table is moved by
// move_normal_pmd when the extent covers it on both sides, else the PTEs are
// moved one table at a time by move_ptes. It returns how many pages were
// moved: fewer than asked when a page-table allocation failed.
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
		if om.pteTable(oa) == nil {
			moved += extent
			continue
		}
		if extent == g.PTEs {
			// A whole table on both sides: NORMAL_PMD (move_pgt_entry).
			if pmc.allocCanFail && nm.pmdOffset(na) == nil && k.allocFails(t, "pmd") {
				break // only a real allocation can fail
			}
			k.pmdAlloc(t, nm, na, pmc.site)
			if k.moveNormalPMD(t, pmc, oa, na) {
				moved += extent
				pmc.movedByNormPMD++
				continue
			}
		}
		if pmc.allocCanFail && nm.pteTable(na) == nil && k.allocFails(t, "pte table") {
			break // pte_alloc failed: a partial move
		}
		k.pteAlloc(t, nm, na, pmc.site)
		k.movePTEs(t, pmc, oa, na, extent)
		moved += extent
	}
	return moved
}

// needRmapLocksFor mirrors should_take_rmap_locks(): always for whole
// page-table moves (NORMAL_PMD), else pmc->need_rmap_locks.
func (k *Kernel) needRmapLocksFor(pmc *pagetableMove, normalPMD bool) bool {
	if normalPMD {
		return !k.Variants.Has("move_normal_pmd-skip-rmap-locks")
	}
	if pmc.needRmapLocks && k.Variants.Has("move_ptes-skip-rmap-locks") {
		return false
	}
	return pmc.needRmapLocks
}

// rmapLocksForMove takes the rmap locks of a move when should_take_rmap_locks
// says so, and otherwise checks the ordering argument that lets the move go
// without them (move-order-witness). It reports whether it took them.
func (k *Kernel) rmapLocksForMove(t *sched.Task, pmc *pagetableMove, normalPMD bool, site string) bool {
	if k.needRmapLocksFor(pmc, normalPMD) {
		k.takeRmapLocks(t, pmc.old, "take_rmap_locks")
		return true
	}
	k.checkMoveOrder(t, pmc, site)
	return false
}

// moveNormalPMD mirrors move_pgt_entry(NORMAL_PMD) → move_normal_pmd(): with
// the rmap locks, both PMD locks (old, then new nested), re-check that the
// old entry still points to a table (6fa1066fc5d0), move the table — its PTL
// travels with it — and clear the old entry.
func (k *Kernel) moveNormalPMD(t *sched.Task, pmc *pagetableMove, oa, na int) bool {
	const site = "move_normal_pmd"
	g := k.Geo
	om, nm := pmc.old.mm, pmc.new.mm
	locks := k.rmapLocksForMove(t, pmc, true, site)
	opmd, npmd := om.pmdOffset(oa), nm.pmdOffset(na)
	ok := false
	if opmd != nil && npmd != nil {
		opmd.ptl.Lock(t, site)
		if npmd != opmd {
			npmd.ptl.LockNested(t, 1, site)
		}
		oslot, nslot := &opmd.e[g.pmdIndex(oa)], &npmd.e[g.pmdIndex(na)]
		if tbl := oslot.Load(); tbl != nil && nslot.Load() == nil {
			k.use(t, &tbl.Obj, site)
			t.Point(sched.KindWrite, fmt.Sprintf("pmd %s %#x", om.name, oa), site, fmt.Sprintf("move %s %#x -> %s %#x", tbl.name, oa, nm.name, na))
			oslot.Store(nil)
			nslot.Store(tbl)
			for i := range tbl.e {
				if tbl.e[i].Load() != nil {
					k.logMove(t, om, oa+i, nm, na+i)
				}
			}
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

// movePTEs mirrors move_ptes(): rmap locks if needed, the old PTL, the new
// PTL nested (when it is another table), each present or migration entry
// moved (same mapping identity), then unlock in reverse.
func (k *Kernel) movePTEs(t *sched.Task, pmc *pagetableMove, oa, na, n int) {
	const site = "move_ptes"
	g := k.Geo
	om, nm := pmc.old.mm, pmc.new.mm
	locks := k.rmapLocksForMove(t, pmc, false, site)
	otbl, _ := k.pteOffsetMapLock(t, om, oa, site)
	if otbl != nil {
		ntbl := nm.pteTable(na)
		if ntbl != otbl {
			k.use(t, &ntbl.Obj, site)
			ntbl.ptl.LockNested(t, 1, site)
		}
		for i := 0; i < n; i++ {
			p := otbl.e[g.pteIndex(oa+i)].Load()
			if p == nil {
				continue
			}
			k.checked("move-fidelity")
			if q := ntbl.e[g.pteIndex(na+i)].Load(); q != nil {
				t.Fail(sched.Violation{Invariant: "move-fidelity", Detail: fmt.Sprintf("%s: destination %s %#x is not none (%s) before the move", site, nm.name, na+i, q)})
			}
			k.setPTE(t, om, otbl, g.pteIndex(oa+i), oa+i, nil, site)
			k.logMove(t, om, oa+i, nm, na+i)
			k.setPTE(t, nm, ntbl, g.pteIndex(na+i), na+i, p, site)
		}
		if ntbl != otbl {
			ntbl.ptl.Unlock(t, site)
		}
		otbl.ptl.Unlock(t, site)
	}
	if locks {
		k.dropRmapLocks(t, pmc.old, "drop_rmap_locks")
	}
}

// checkMoveOrder is invariant I9 (move-order-witness), checked when entries
// move without rmap locks: in every interval tree the source is in, the
// destination must be visited after it (greater start pgoff, or equal and
// inserted later), unless the move relocates a temporary exec stack.
func (k *Kernel) checkMoveOrder(t *sched.Task, pmc *pagetableMove, site string) {
	if !k.Env.Rules() || pmc.forStack || pmc.old == pmc.new {
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
