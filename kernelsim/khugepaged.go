package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// khugepaged (mm/khugepaged.c, v6.14, reference C.10): collapsing the small
// pages of a PMD-aligned range into one THP. An anonymous range is
// collapsed by collapse_huge_page, which replaces the PMD's PTE table by a
// THP leaf under mmap_lock W, the VMA write lock and the anon_vma lock W. A
// file range is collapsed in the page cache by collapse_file, which then
// removes the now empty PTE tables of every VMA mapping the range with
// only i_mmap_rwsem for read (retract_page_tables): the one page-table
// free besides PT reclaim that runs while faults, rmap walkers and mremap
// may hold pointers into the table.

// maxPTEsNone and maxPTEsShared are khugepaged_max_ptes_none and
// khugepaged_max_ptes_shared at their defaults (HPAGE_PMD_NR - 1 and
// HPAGE_PMD_NR / 2), scaled to the model's THP.
func (g Geometry) maxPTEsNone() int   { return g.PTEs - 1 }
func (g Geometry) maxPTEsShared() int { return g.PTEs / 2 }

// Collapse is khugepaged's visit of the PMD range holding addr in m
// (khugepaged_scan_mm_slot): mmap_lock read (trylock: khugepaged skips a
// busy mm), the VMA must ask for THPs and cover the aligned range; an
// anonymous VMA's range goes to hpage_collapse_scan_pmd and
// collapse_huge_page (which release mmap_lock), a file VMA's range, with
// mmap_lock released first, to hpage_collapse_scan_file and collapse_file.
// A range that cannot be collapsed (or that khugepaged gives up on) is
// the op's error; a range with nothing to do is no error.
func (k *Kernel) Collapse(t *sched.Task, m *MM, addr int) error {
	const site = "khugepaged_scan_mm_slot"
	g := k.Geo
	haddr := g.pmdBase(addr)
	if !m.lock.ReadTrylock(t, site) {
		return fmt.Errorf("collapse %s %#x: EAGAIN: mmap_lock is contended (khugepaged skips the mm)", m.name, addr)
	}
	if m.users.Load() == 0 { // hpage_collapse_test_exit
		m.lock.ReadUnlock(t, site)
		return nil
	}
	t.Point(sched.KindRead, m.name+" maple tree", site, fmt.Sprintf("find_vma %#x", haddr))
	v := m.findVMA(haddr)
	if v == nil || v.Flags()&VMHugepage == 0 || !v.thpSuitable(haddr) || v.Flags()&VMStackIncompleteSetup != 0 {
		m.lock.ReadUnlock(t, site)
		return fmt.Errorf("collapse %s %#x: EINVAL: no VMA with THPs covers [%#x,%#x)", m.name, addr, haddr, haddr+g.PTEs)
	}
	if v.file != nil {
		f, pgoff := v.file, v.linearPageIndex(haddr)
		m.lock.ReadUnlock(t, site)
		return k.hpageCollapseScanFile(t, m, haddr, f, pgoff)
	}
	// The scan relies on the VMA (vm_normal_page, the mm's young bits)
	// until it drops mmap_lock: a VMA freed meanwhile is a use-after-free
	// at the scan's next step.
	t.SetWatch(func() { k.useVMA(t, v, "hpage_collapse_scan_pmd") })
	return k.hpageCollapseScanPMD(t, m, v, haddr)
}

// collapseErr is a collapse that did not happen: the SCAN_* result.
func collapseErr(m *MM, haddr int, why string) error {
	return fmt.Errorf("collapse %s %#x: %s", m.name, haddr, why)
}

// hpageCollapseScanPMD mirrors hpage_collapse_scan_pmd(), under mmap_lock
// read: the PMD must point to a table (find_pmd_or_thp_or_none); under its
// PTL every PTE must be none (at most max_ptes_none), the zero page, or a
// small anon page nobody pins (is_refcount_suitable) and nobody has locked,
// at most max_ptes_shared of them shared, one of them writable. Then
// collapse_huge_page, which returns with mmap_lock released.
func (k *Kernel) hpageCollapseScanPMD(t *sched.Task, m *MM, v *VMA, haddr int) error {
	const site = "hpage_collapse_scan_pmd"
	g := k.Geo
	fail := func(why string) error {
		t.SetWatch(nil)
		m.lock.ReadUnlock(t, site)
		return collapseErr(m, haddr, why)
	}
	t.Point(sched.KindRead, m.name+" pmd", site, fmt.Sprintf("pmd for %#x (find_pmd_or_thp_or_none)", haddr))
	if e := m.pmdEntry(haddr); e == nil || e.Table == nil {
		if e != nil {
			t.SetWatch(nil)
			m.lock.ReadUnlock(t, site)
			return nil // SCAN_PMD_MAPPED: a THP already
		}
		return fail("SCAN_PMD_NULL: no page table")
	}
	tbl, _ := k.pteOffsetMapLock(t, m, haddr, site)
	if tbl == nil {
		return fail("SCAN_PMD_NULL: no page table")
	}
	none, shared, writable := 0, 0, false
	why := ""
	for i := 0; i < g.PTEs && why == ""; i++ {
		p := tbl.e[i].Load()
		switch {
		case p == nil || (p.Kind == PTEPresent && p.Folio == nil):
			if none++; none > g.maxPTEsNone() {
				why = "SCAN_EXCEED_NONE_PTE"
			}
		case p.Kind != PTEPresent:
			why = "SCAN_EXCEED_SWAP_PTE: a migration entry"
		case !p.Folio.anon:
			why = "SCAN_PAGE_ANON"
		case p.Folio.Large():
			why = "SCAN_PAGE_COMPOUND (the model collapses small folios only)"
		case p.Folio.lock.IsLocked():
			why = "SCAN_PAGE_LOCK"
		case p.Folio.pinCount() != 0:
			why = "SCAN_PAGE_COUNT"
		default:
			if p.Folio.mapcount.Load() > 1 {
				if shared++; shared > g.maxPTEsShared() {
					why = "SCAN_EXCEED_SHARED_PTE"
				}
			}
			writable = writable || p.Write
		}
	}
	k.pteUnmapUnlock(t, tbl, site)
	if why == "" && !writable {
		why = "SCAN_PAGE_RO"
	}
	if why != "" {
		return fail(why)
	}
	t.SetWatch(nil) // collapse_huge_page drops mmap_lock first
	return k.collapseHugePage(t, m, haddr)
}

// hugepageVMARevalidate mirrors hugepage_vma_revalidate() after mmap_lock
// was dropped: the VMA at haddr must still be an anonymous VMA with THPs
// covering the aligned range.
func (k *Kernel) hugepageVMARevalidate(t *sched.Task, m *MM, haddr int) *VMA {
	t.Point(sched.KindRead, m.name+" maple tree", "hugepage_vma_revalidate", fmt.Sprintf("find_vma %#x", haddr))
	if m.users.Load() == 0 {
		return nil
	}
	v := m.findVMA(haddr)
	if v != nil {
		// vma_lookup returned a pointer; the checks below are loads from
		// the VMA, separate accesses that only mmap_lock keeps valid.
		t.Point(sched.KindRead, v.name, "hugepage_vma_revalidate", "vm_flags, anon_vma (thp_vma_allowable_order)")
		k.useVMA(t, v, "hugepage_vma_revalidate")
	}
	if v == nil || !v.isAnon() || v.Flags()&VMHugepage == 0 || !v.thpSuitable(haddr) || v.AnonVMA() == nil {
		return nil
	}
	return v
}

// collapseHugePage mirrors collapse_huge_page() (v6.14), entered with
// mmap_lock read: drop it and allocate the THP; mmap_lock read again to
// revalidate, dropped; then mmap_lock write, revalidate, vma_start_write,
// the PMD still a table, anon_vma_lock_write; under the PMD lock clear the
// PMD (pmdp_collapse_flush, with the flush), then tlb_remove_table_sync_one
// (wait until no lockless walker — GUP-fast, the MMU's walk — can still be
// in the detached table); under the detached table's PTL lock and isolate
// every small folio (__collapse_huge_page_isolate: folio_trylock,
// refcount, LRU), restoring the PMD on failure; drop the anon_vma lock
// (the folios are locked: no rmap walk of them can start); copy the pages
// into the THP, clearing each PTE under the PTL and releasing the small
// folios (__collapse_huge_page_copy); and under the PMD lock map the THP
// with the emptied table deposited. mmap_lock is released on return.
func (k *Kernel) collapseHugePage(t *sched.Task, m *MM, haddr int) error {
	const site = "collapse_huge_page"
	g := k.Geo
	m.lock.ReadUnlock(t, site)
	nf := k.allocFolioOrder(true, g.hpageOrder()) // alloc_charge_folio
	m.lock.ReadLock(t, site)
	if k.hugepageVMARevalidate(t, m, haddr) == nil {
		m.lock.ReadUnlock(t, site)
		k.discardFolio(nf)
		return collapseErr(m, haddr, "SCAN_VMA_CHECK")
	}
	m.lock.ReadUnlock(t, site)
	m.lock.WriteLock(t, site)
	defer m.lock.WriteUnlock(t, site)
	v := k.hugepageVMARevalidate(t, m, haddr)
	if v == nil {
		k.discardFolio(nf)
		return collapseErr(m, haddr, "SCAN_VMA_CHECK")
	}
	// vma_start_write before check_pmd_still_valid, as mainline has it
	// since page tables can go under the per-VMA lock (PT reclaim, v6.14
	// era; v6.12 checked first): the VMA write lock waits for a
	// MADV_DONTNEED that may still be freeing this PMD's table, so the
	// check sees what it left.
	v.lock.StartWrite(t, site)
	t.Point(sched.KindRead, m.name+" pmd", site, fmt.Sprintf("check_pmd_still_valid %#x", haddr))
	if e := m.pmdEntry(haddr); e == nil || e.Table == nil {
		k.discardFolio(nf)
		return collapseErr(m, haddr, "SCAN_PMD_NULL")
	}
	av := v.AnonVMA()
	av.lockWrite(t, site) // anon_vma_lock_write
	pmd := m.pmdOffset(haddr)
	slot := &pmd.e[g.pmdIndex(haddr)]
	pmd.ptl.Lock(t, site)
	old := slot.Load()
	k.setPMD(t, m, pmd, slot, haddr, nil, "pmdp_collapse_flush")
	k.flushTLBRange(t, m, haddr, haddr+g.PTEs, "pmdp_collapse_flush")
	pmd.ptl.Unlock(t, site)
	k.Env.RCU().Synchronize(t, "tlb_remove_table_sync_one")
	if old == nil || old.Table == nil {
		// Only when something changed the PMD after check_pmd_still_valid,
		// which mmap_lock W and the VMA write lock exclude (a lock mutant):
		// pmd_pgtable() of what pmdp_collapse_flush returned is no table.
		t.Fail(sched.Violation{Invariant: "kernel-oops", Detail: fmt.Sprintf("%s: pmdp_collapse_flush at %s %#x returned %s, not a table, after check_pmd_still_valid found one: pmd_pgtable() of it is no page table, and __collapse_huge_page_isolate walks it", site, m.name, haddr, old)})
		return collapseErr(m, haddr, "SCAN_PMD_NULL")
	}
	tbl := old.Table
	tbl.private = t.ID() + 1 // detached: the collapser's own until deposited
	k.use(t, &tbl.Obj, site)
	// pte_offset_map_lock(mm, &_pmd, ...): the saved PMD value, so no
	// re-check can fail.
	k.Env.RCU().ReadLock(t, site)
	tbl.ptl.Lock(t, site)
	isolated, why := k.collapseHugePageIsolate(t, m, v, tbl, haddr)
	tbl.ptl.Unlock(t, site)
	if why != "" {
		k.pteUnmap(t, site)
		for _, f := range isolated {
			f.lock.Unlock(t, "release_pte_folio")
			k.putback(t, f)
		}
		pmd.ptl.Lock(t, site)
		tbl.private = 0
		k.setPMD(t, m, pmd, slot, haddr, old, "pmd_populate")
		pmd.ptl.Unlock(t, site)
		av.unlockWrite(t, "anon_vma_unlock_write")
		k.discardFolio(nf)
		return collapseErr(m, haddr, why)
	}
	av.unlockWrite(t, "anon_vma_unlock_write")
	k.collapseHugePageCopy(t, m, tbl, haddr, nf)
	k.pteUnmap(t, site)
	pmd.ptl.Lock(t, site)
	if slot.Load() != nil {
		bugOn(t, "%s: BUG_ON(!pmd_none(*pmd)) at %s %#x: %s", site, m.name, haddr, slot.Load())
	}
	nf.anonVMA, nf.index = v.AnonVMA(), v.linearPageIndex(haddr) // folio_add_new_anon_rmap
	nf.mapcount.Add(1)
	nf.entire.Add(1)
	tbl.private = 0
	// folio_mk_pmd(folio, vma->vm_page_prot), maybe_pmd_mkwrite: the
	// VMA's protection now (an mprotect may have run before the mmap_lock
	// write; a PROT_NONE VMA gets an inaccessible leaf; stress found the
	// leaf made readable regardless).
	leaf := &PTE{Kind: PTEPresent, Folio: nf, ID: k.newID(), Huge: true}
	leaf.Read, leaf.Write = ptePerms(v, nf, true)
	k.depositTable(t, pmd, tbl)
	k.setPMD(t, m, pmd, slot, haddr, &PMDEntry{Leaf: leaf}, "set_pmd_at")
	pmd.ptl.Unlock(t, site)
	return nil
}

// collapseHugePageIsolate mirrors __collapse_huge_page_isolate(), under the
// detached table's PTL: each small anon folio is trylocked, its references
// checked (only its mappings) and taken off the LRU; it returns the folios
// it locked and isolated, and why it failed ("" when it did not).
func (k *Kernel) collapseHugePageIsolate(t *sched.Task, m *MM, v *VMA, tbl *PTETable, haddr int) ([]*Folio, string) {
	const site = "__collapse_huge_page_isolate"
	g := k.Geo
	var isolated []*Folio
	none, shared := 0, 0
	for i := 0; i < g.PTEs; i++ {
		p := tbl.e[i].Load()
		if p == nil || (p.Kind == PTEPresent && p.Folio == nil) {
			if none++; none > g.maxPTEsNone() {
				return isolated, "SCAN_EXCEED_NONE_PTE"
			}
			continue
		}
		if p.Kind != PTEPresent || !p.Folio.anon || p.Folio.Large() {
			return isolated, "SCAN_PAGE_NULL"
		}
		f := p.Folio
		if f.mapcount.Load() > 1 {
			if shared++; shared > g.maxPTEsShared() {
				return isolated, "SCAN_EXCEED_SHARED_PTE"
			}
		}
		if !f.lock.Trylock(t, site) {
			return isolated, "SCAN_PAGE_LOCK"
		}
		if f.pinCount() != 0 || !f.tryIsolate() { // is_refcount_suitable, folio_isolate_lru
			f.lock.Unlock(t, site)
			return isolated, "SCAN_PAGE_COUNT"
		}
		isolated = append(isolated, f)
	}
	return isolated, ""
}

// collapseHugePageCopy mirrors __collapse_huge_page_copy() and
// __collapse_huge_page_copy_succeeded(): every page's contents go into the
// THP (a none PTE's as zeroes), then each PTE of the detached table is
// cleared under its PTL, its small folio unmapped, unlocked and put back
// (release_pte_folio); rss grows by the pages that were none.
func (k *Kernel) collapseHugePageCopy(t *sched.Task, m *MM, tbl *PTETable, haddr int, nf *Folio) {
	const site = "__collapse_huge_page_copy"
	g := k.Geo
	for i := 0; i < g.PTEs; i++ {
		if p := tbl.e[i].Load(); p != nil && p.Folio != nil {
			nf.page(i).Store(p.Folio.data.Load())
		}
	}
	for i := 0; i < g.PTEs; i++ {
		p := tbl.e[i].Load()
		if p == nil || p.Folio == nil {
			m.rssAnon.Add(1)
			if p != nil { // the zero page
				tbl.ptl.Lock(t, site)
				k.setPTE(t, m, tbl, i, haddr+i, nil, "ptep_clear")
				tbl.ptl.Unlock(t, site)
			}
			continue
		}
		f := p.Folio
		f.lock.Unlock(t, "release_pte_folio")
		k.putback(t, f) // folio_putback_lru: the isolation's reference
		tbl.ptl.Lock(t, site)
		k.setPTE(t, m, tbl, i, haddr+i, nil, "ptep_clear")
		tbl.ptl.Unlock(t, site)
		k.dropMapping(t, f, "free_folio_and_swap_cache") // folio_remove_rmap_pte, and the mapping's reference
	}
}
