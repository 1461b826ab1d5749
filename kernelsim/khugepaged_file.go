package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// khugepaged's collapse of a file range (mm/khugepaged.c, v6.14): the page
// cache first (collapse_file), then the PTE tables of every VMA mapping it
// (retract_page_tables). See khugepaged.go.

// hpageCollapseScanFile mirrors hpage_collapse_scan_file() for a tmpfs
// file (the model's files behave as shmem here: a hole is collapsed as
// zeroes): under RCU, look at the page-cache range [start, start+HPAGE_PMD_NR):
// a large folio there already ends the scan, a folio with references
// beyond its mappings and the page cache's fails it, and at least one page
// must be present; then collapse_file.
func (k *Kernel) hpageCollapseScanFile(t *sched.Task, m *MM, haddr int, f *File, start int) error {
	const site = "hpage_collapse_scan_file"
	g := k.Geo
	if start%g.PTEs != 0 || start+g.PTEs > f.npages {
		return collapseErr(m, haddr, "SCAN_FAIL: the file range is not a whole aligned THP")
	}
	rcu := k.Env.RCU()
	rcu.ReadLock(t, site)
	present := 0
	why := ""
	for i := start; i < start+g.PTEs && why == ""; i++ {
		t.PointF(sched.KindRead, site, sched.Objf("%s page cache").S(f.name).Detailf("xas_for_each %#x").N(i))
		fo := f.pages[i].Load()
		if fo != nil {
			// folio_test_large, folio_ref_count: loads from the folio after
			// xas_for_each returned it, kept valid by RCU only.
			t.PointF(sched.KindRead, site, sched.Objf("%s").S(fo.name).Detail("folio_test_large, folio_ref_count"))
			k.useRCU(t, &fo.Obj, site)
		}
		switch {
		case fo == nil:
		case fo.Large():
			why = "SCAN_PTE_MAPPED_HUGEPAGE"
		case fo.pinCount() != 0:
			why = "SCAN_PAGE_COUNT"
		default:
			present++
		}
	}
	rcu.ReadUnlock(t, site)
	switch {
	case why == "SCAN_PTE_MAPPED_HUGEPAGE":
		return nil // collapsed already (collapse_pte_mapped_thp is not modelled)
	case why != "":
		return collapseErr(m, haddr, why)
	case present < g.PTEs-g.maxPTEsNone():
		return collapseErr(m, haddr, "SCAN_EXCEED_NONE_PTE")
	}
	return k.collapseFile(t, m, haddr, f, start)
}

// collapseFile mirrors collapse_file() (v6.14, shmem): a new THP, locked
// (faults on its range will sleep on it); under the i_pages lock each small
// folio of the range is trylocked and referenced, then with the lock
// dropped isolated and unmapped from every mm (try_to_unmap), and its
// references checked under the lock again; the contents are copied (holes
// as zeroes), the holes re-checked under i_mmap_rwsem read and the i_pages
// lock; the THP replaces the small folios in the page cache in one store;
// retract_page_tables removes the emptied PTE tables of every VMA mapping
// the range; the THP is unlocked and the old folios freed. On failure the
// old folios are unlocked and put back.
func (k *Kernel) collapseFile(t *sched.Task, m *MM, haddr int, f *File, start int) error {
	const site = "collapse_file"
	g := k.Geo
	end := start + g.PTEs
	nf := k.allocFolioOrder(false, g.hpageOrder())
	if !nf.lock.Trylock(t, "__folio_set_locked") {
		t.Internal("%s: the new folio %s is already locked", site, nf.name)
	}
	nf.file, nf.index = f, start
	var list []*Folio
	rollback := func(why string) error {
		for _, fo := range list {
			fo.lock.Unlock(t, site)
			k.putback(t, fo)     // folio_putback_lru
			k.unpin(t, fo, site) // folio_put
		}
		for i := start; i < end; i++ {
			if f.pages[i].Load() == nf { // a hole reserved for the THP
				f.pages[i].Store(nil)
			}
		}
		nf.lock.Unlock(t, site)
		k.discardFolio(nf)
		return collapseErr(m, haddr, why)
	}
	nrNone := 0
	f.xa.Lock(t, site) // xas_create_range
	locked := true
	for index := start; index < end; index++ {
		if !locked {
			f.xa.Lock(t, site)
			locked = true
		}
		fo := f.pages[index].Load()
		if fo == nil {
			nrNone++
			continue
		}
		if !fo.lock.Trylock(t, site) {
			f.xa.Unlock(t, site)
			return rollback("SCAN_PAGE_LOCK")
		}
		if fo.Large() {
			// "If file was truncated then extended, or hole-punched,
			// before we locked the first folio, then a THP might be there
			// already": another collapse's THP, seen once it is locked
			// (the order check comes after folio_trylock).
			f.xa.Unlock(t, site)
			fo.lock.Unlock(t, site)
			return rollback("SCAN_PTE_MAPPED_HUGEPAGE")
		}
		// folio_get: the xa_lock keeps the folio in the page cache, and the
		// page cache's reference keeps it alive.
		k.folioGet(t, fo, site)
		f.xa.Unlock(t, site)
		locked = false
		if !fo.tryIsolate() { // folio_isolate_lru
			fo.lock.Unlock(t, site)
			k.unpin(t, fo, site)
			return rollback("SCAN_DEL_PAGE_LRU")
		}
		if fo.mapcount.Load() > 0 {
			k.tryToUnmapFile(t, fo)
		}
		f.xa.Lock(t, site)
		locked = true
		// Our pin, the isolation's, the page cache's: nothing else.
		if fo.mapcount.Load() != 0 || fo.pinCount() != 2 || f.pages[index].Load() != fo {
			f.xa.Unlock(t, site)
			fo.lock.Unlock(t, site)
			k.putback(t, fo)
			k.unpin(t, fo, site)
			return rollback("SCAN_PAGE_COUNT")
		}
		list = append(list, fo)
	}
	if locked {
		f.xa.Unlock(t, site)
	}
	// Copy: the old folios are locked and unmapped, so they do not change.
	for _, fo := range list {
		nf.page(fo.index - start).Store(fo.data.Load())
	}
	if nrNone > 0 {
		// Re-check the holes under i_mmap_rwsem read and the i_pages lock,
		// reserving them for the THP (XA_RETRY_ENTRY): a fault that would
		// fill one now finds the locked THP and waits.
		f.immap.DownRead(t, site)
		f.xa.Lock(t, site)
		for i := start; i < end; i++ {
			if f.pages[i].Load() == nil {
				// xas_store(&xas, XA_RETRY_ENTRY): a write of the xarray.
				f.xaBegin(t, "xas_store")
				t.Point(sched.KindWrite, f.name+" page cache", "xas_store", fmt.Sprintf("%#x: XA_RETRY_ENTRY (%s)", i, nf.name))
				f.pages[i].Store(nf)
				f.xaEnd(t)
				nrNone--
			}
		}
		// vma_interval_tree_foreach(vma, &mapping->i_mmap, start, end):
		// userfaultfd_missing(vma), never true in the model (no
		// userfaultfd), but the walk is what i_mmap_rwsem is taken for.
		if nrNone == 0 {
			it := &fileIter{k: k, f: f, first: start, last: end - 1, site: site}
			for it.step(t) != nil {
			}
			t.SetWatch(nil)
		}
		f.immap.UpRead(t, site)
		if nrNone != 0 {
			f.xa.Unlock(t, site)
			return rollback("SCAN_PAGE_FILLED")
		}
	} else {
		f.xa.Lock(t, site)
	}
	f.xaBegin(t, "xas_store")
	t.Point(sched.KindWrite, f.name+" page cache", "xas_store", fmt.Sprintf("[%#x,%#x): %s", start, end, nf.name))
	for i := start; i < end; i++ {
		f.pages[i].Store(nf)
	}
	f.xaEnd(t)
	f.xa.Unlock(t, site)
	k.retractPageTables(t, f, start)
	nf.lock.Unlock(t, site)
	for _, fo := range list {
		fo.markDead() // folio->mapping = NULL: out of the page cache
		fo.lock.Unlock(t, site)
		k.putback(t, fo)
		k.unpin(t, fo, "folio_put_refs")
	}
	return nil
}

// tryToUnmapFile is try_to_unmap(folio, TTU_IGNORE_MLOCK | TTU_BATCH_FLUSH)
// for a small page-cache folio, as collapse_file uses it: an rmap walk of
// the file (i_mmap_rwsem read) that clears every PTE mapping the folio
// (try_to_unmap_one, without PVMW_SYNC; the flush the kernel batches until
// try_to_unmap_flush is done at each PTE here, which is as safe: the
// folio's contents are copied only after the batched flush).
func (k *Kernel) tryToUnmapFile(t *sched.Task, fo *Folio) {
	rwc := &rmapWalkControl{
		kind:    "try_to_unmap",
		nonSync: true,
		target:  func(p *PTE) bool { return p.Kind == PTEPresent && p.PageFolio() == fo },
		done:    func() bool { return fo.mapcount.Load() == 0 },
	}
	rwc.rmapOne = func(t *sched.Task, v *VMA, addr int, w *Walk) bool {
		const site = "try_to_unmap_one"
		pw := k.newPVMW(t, fo, v, addr, false, false, site)
		for pw.next() {
			if pw.pmdHit {
				pw.done() // the model maps no file THP with a PMD leaf
				break
			}
			tbl, i := pw.pte()
			p := tbl.e[i].Load()
			w.visit(p.ID)
			k.setPTE(t, v.mm, tbl, i, pw.addr, nil, "ptep_clear_flush")
			k.flushTLBRange(t, v.mm, pw.addr, pw.addr+1, "ptep_clear_flush")
			v.mm.rssFile.Add(-1)
			k.dropMapping(t, fo, site)
		}
		return true
	}
	k.rmapWalk(t, fo, rwc)
}

// retractPageTables mirrors retract_page_tables() (v6.14, with "mm:
// khugepaged: recheck pmd state in retract_page_tables()", reference C.10,
// D.7, D.10, N6): under i_mmap_rwsem read only, for each VMA mapping pgoff
// with no anon_vma at a PMD-aligned address: read the PMD without a lock
// (find_pmd_or_thp_or_none), skip an exiting mm; take the PMD lock and
// re-check that the PMD still points to a table (check_pmd_state: PT
// reclaim may have freed it meanwhile; a new empty one is as good), then
// the table's PTL nested, re-check the anon_vma, clear the PMD
// (pmdp_collapse_flush) and free the table after a grace period
// (pte_free_defer). Nothing holds mmap_lock or the VMA lock: walkers that
// mapped the table before it went re-check the PMD after taking the PTL.
func (k *Kernel) retractPageTables(t *sched.Task, f *File, pgoff int) {
	const site = "retract_page_tables"
	g := k.Geo
	unlocked := k.Variants.Has("retract_page_tables-no-rmap-locks")
	if !unlocked {
		f.immap.DownRead(t, site) // i_mmap_lock_read
	}
	it := &fileIter{k: k, f: f, first: pgoff, last: pgoff, site: site}
	defer t.SetWatch(nil)
	for {
		t.SetWatch(func() { it.alive(t) })
		t.Point(sched.KindWalk, f.name+" i_mmap", site, "next vma")
		v := it.next(t)
		if v == nil {
			break
		}
		k.useVMA(t, v, site)
		if !unlocked {
			it.assertLocked(t)
		}
		t.Point(sched.KindRead, v.name, site, "READ_ONCE(vma->anon_vma)")
		if v.AnonVMA() != nil {
			continue
		}
		addr := v.start + (pgoff - v.pgoff)
		if addr%g.PTEs != 0 || v.end < addr+g.PTEs {
			continue
		}
		m := v.mm
		pmd := m.pmdOffset(addr)
		if pmd == nil {
			continue
		}
		k.use(t, &pmd.Obj, site)
		slot := &pmd.e[g.pmdIndex(addr)]
		t.Point(sched.KindRead, fmt.Sprintf("pmd %s %#x", m.name, addr), site, "find_pmd_or_thp_or_none (lockless)")
		if e := slot.Load(); e == nil || e.Table == nil {
			continue
		}
		if m.users.Load() == 0 { // hpage_collapse_test_exit
			continue
		}
		pmd.ptl.Lock(t, site)
		e := slot.Load()
		if (e == nil || e.Table == nil) && !k.Variants.Has("retract_page_tables-no-pmd-recheck") {
			// check_pmd_state under the PMD lock.
			t.Record(sched.KindNote, pmd.name, site, fmt.Sprintf("check_pmd_state: %s %#x is %s now; skip", m.name, addr, e))
			pmd.ptl.Unlock(t, site)
			continue
		}
		if e == nil || e.Table == nil {
			// I4: pte_lockptr(mm, pmd) of a none PMD is the lock in the page at
			// pfn 0, and pmd_pgtable() of it would be freed as a table.
			t.Fail(sched.Violation{Invariant: "page-table-lifetime", Detail: fmt.Sprintf("%s: %s's PMD at %#x is %s under the PMD lock (it pointed to a table at the lockless find_pmd_or_thp_or_none): pte_lockptr() of it is a lock in the page at pfn 0, and pmdp_collapse_flush would free pmd_pgtable() of it, that page, as a page table", site, m.name, addr, e)})
		}
		tbl := e.Table
		k.use(t, &tbl.Obj, "pte_lockptr")
		tbl.ptl.LockNested(t, ksync.SingleDepthNesting, site)
		ok := false
		t.Point(sched.KindRead, v.name, site, "vma->anon_vma under the PTL")
		if v.AnonVMA() == nil {
			k.setPMD(t, m, pmd, slot, addr, nil, "pmdp_collapse_flush")
			k.flushTLBRange(t, m, addr, addr+g.PTEs, "pmdp_collapse_flush")
			ok = true
		}
		tbl.ptl.Unlock(t, site)
		pmd.ptl.Unlock(t, site)
		if ok {
			k.freePTE(t, m, addr, e.Table, "pte_free_defer") // pmd_pgtable(pgt_pmd)
		}
	}
	if !unlocked {
		f.immap.UpRead(t, "i_mmap_unlock_read")
	}
}
