package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// PT reclaim (CONFIG_PT_RECLAIM, mm/pt_reclaim.c, v6.14+, 6375e95f381e
// "mm: pgtable: reclaim empty PTE page in madvise(MADV_DONTNEED)", Qi
// Zheng; reference C.11 step 4, D.15, N6): MADV_DONTNEED frees the PTE
// tables its zap left empty, holding only the VMA read lock (or mmap_lock
// for read). It is the one path that frees a PTE table while faults, rmap
// walkers, GUP and khugepaged may still reach it, which is why every
// walker maps tables under RCU and re-checks the PMD after taking the PTL
// (pte_offset_map_lock), and why every path that read a PMD without a
// lock must re-check it under pmd_lock before changing it (N6).

// tryGetAndClearPMD mirrors try_get_and_clear_pmd(): called with the
// table's PTL held, after a pass of zap_pte_range that never dropped it:
// trylock the PMD lock (it ranks above the PTL) and clear the PMD; the
// caller frees the table (pmdval) once it drops the PTL. False when the
// PMD lock is contended: the caller re-checks and frees the slow way.
func (k *Kernel) tryGetAndClearPMD(t *sched.Task, m *MM, addr int, tbl *PTETable) (*PTETable, bool) {
	const site = "try_get_and_clear_pmd"
	pmd := m.pmdOffset(addr)
	if !pmd.ptl.Trylock(t, site) {
		return nil, false
	}
	slot := &pmd.e[k.Geo.pmdIndex(addr)]
	pmdval := slot.Load() // pmdp_get_lockless
	k.setPMD(t, m, pmd, slot, addr, nil, site)
	pmd.ptl.Unlock(t, site)
	if pmdval == nil {
		return nil, true // pmd_pgtable(none): freePTE reports it
	}
	return pmdval.Table, true
}

// tryToFreePTE mirrors try_to_free_pte(): take the PMD lock, map the table
// without a pmd_same re-check (the PMD lock keeps the PMD from changing),
// take its PTL nested, and free it only if every entry is still none: the
// zap dropped the PTL on its way, so a fault may have filled an entry
// again (D.15).
func (k *Kernel) tryToFreePTE(t *sched.Task, m *MM, addr int) {
	const site = "try_to_free_pte"
	pmd := m.pmdOffset(addr)
	if pmd == nil {
		return
	}
	pmd.ptl.Lock(t, site)
	slot := &pmd.e[k.Geo.pmdIndex(addr)]
	tbl := k.pteOffsetMap(t, m, addr, site) // pte_offset_map_rw_nolock
	if tbl == nil {
		pmd.ptl.Unlock(t, site)
		return
	}
	tbl.ptl.LockNested(t, ksync.SingleDepthNesting, site)
	k.useIn(t, &tbl.Obj, site, "spin_lock of the PTL in the table's ptdesc")
	for i := range tbl.e {
		if p := tbl.e[i].Load(); p != nil {
			t.Record(sched.KindNote, tbl.name, site, fmt.Sprintf("not empty: %s %#x is %s", m.name, k.Geo.pmdBase(addr)+i, p))
			k.pteUnmapUnlock(t, tbl, site)
			pmd.ptl.Unlock(t, site)
			return
		}
	}
	k.pteUnmap(t, site)
	pmdval := slot.Load() // pmdp_get_lockless under the PMD lock
	k.setPMD(t, m, pmd, slot, addr, nil, site)
	tbl.ptl.Unlock(t, site)
	pmd.ptl.Unlock(t, site)
	var freed *PTETable // pmd_pgtable(none) or of a leaf: freePTE reports it
	if pmdval != nil {
		freed = pmdval.Table
	}
	k.freePTE(t, m, addr, freed, "free_pte")
}

// freePTE mirrors free_pte() → pte_free_tlb: the table whose PMD entry was
// cleared is freed after a grace period (tlb_remove_table), so lockless
// walkers that mapped it under RCU may still read it. It must be empty
// (page-table-lifetime), and must be a table: pmd_pgtable() of a none
// PMD is the page at pfn 0.
func (k *Kernel) freePTE(t *sched.Task, m *MM, addr int, tbl *PTETable, site string) {
	base := k.Geo.pmdBase(addr)
	if tbl == nil {
		tbl = k.pfn0Table()
	}
	k.freeTableRCU(t, m, tbl, base, site)
}

// freeTableRCU frees a detached PTE table after its flush and a grace
// period (pte_free_defer, tlb_remove_table: freeTableAfterFlush), checking
// now that it is a live, empty table.
func (k *Kernel) freeTableRCU(t *sched.Task, m *MM, tbl *PTETable, base int, site string) {
	if tbl.freed {
		t.Fail(sched.Violation{Invariant: "page-table-lifetime", Detail: fmt.Sprintf("%s frees %s for %s %#x, which is %s", site, tbl.name, m.name, base, tbl.FreedAt())})
	}
	k.checkEmptyOnFree(t, m, tbl, base, site)
	k.freeTableAfterFlush(t, m, &tbl.Obj, base, site)
}
