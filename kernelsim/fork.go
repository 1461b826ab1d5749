package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// Fork mirrors kernel/fork.c dup_mmap() (reference C.5): the child mm named
// child gets a copy of every VMA of m; anon VMAs get their page tables
// copied with COW.
func (k *Kernel) Fork(t *sched.Task, m *MM, child string) (*MM, error) {
	since := k.stamp(t) // for tlb-coherence: the translations cached before this call
	const site = "dup_mmap"
	if k.MM(child) != nil {
		return nil, fmt.Errorf("fork: %s already exists", child)
	}
	cm := k.allocMM(child)
	var copied []int // the pages copied into the child, logged at the flush
	m.lock.WriteLock(t, site)
	cm.lock.WriteLockNested(t, ksync.SingleDepthNesting, site)
	for _, pv := range m.VMAs() {
		if !k.Variants.Has("dup_mmap-no-parent-vma-write-lock") {
			// fb49c455323f: no VMA-lock fault may run in the parent VMA
			// while it is copied.
			pv.lock.StartWrite(t, "vma_start_write_killable")
		}
		if pv.Flags()&VMDontCopy != 0 {
			continue
		}
		tmp := k.vmAreaDup(t, cm, pv)
		tmp.setAnonVMA(nil)
		if tmp.isHugetlb() && tmp.Flags()&VMShared == 0 {
			tmp.hlock = nil // hugetlb_dup_vma_private: the child owns no resv_map
		}
		k.anonVMAFork(t, tmp, pv)
		tmp.lock.StartWrite(t, site)
		if f := tmp.file; f != nil {
			f.immap.DownWrite(t, site)
			t.PointF(sched.KindWrite, site, tmp.descOps(sched.Obj(f.name).Detailf("i_mmap insert_after %s: "+vmaDescFmt).S(pv.name)))
			f.insertAfter(t, tmp, pv, site)
			f.immap.UpWrite(t, site)
		}
		tmp.lock.MarkAttached(t, site)
		cm.vmaIterStore(t, tmp, site)
		cm.mapCount++
		t.Point(sched.KindRead, pv.name, "vma_needs_copy", "src_vma->anon_vma")
		switch {
		case pv.isHugetlb() && (pv.AnonVMA() != nil || k.Variants.Enabled("hugetlb-fork-shared-pmd-double-lock")):
			copied = k.copyHugetlbPageRange(t, tmp, pv, copied) // copy_page_range → copy_hugetlb_page_range
		case pv.AnonVMA() != nil:
			copied = k.copyPageRange(t, tmp, pv, copied)
		}
	}
	cm.lock.WriteUnlock(t, site)
	// flush_tlb_mm(oldmm): the parent's translations of the pages now
	// write-protected go. Until here another parent thread may still write
	// through a writable one into a page the child now shares, so the
	// child's memory is the parent's as of this point.
	k.flushTLBMM(t, m, "dup_mmap: flush_tlb_mm")
	// With the flush, wherever a mutant puts it, unless the child runs
	// first: then as it starts (logCopies runs once).
	logCopies := func() {
		for _, a := range copied {
			k.logMem(t, MemEvent{Kind: MemCopy, MM: cm.name, SrcMM: m.name, SrcAddr: a, Addr: a})
		}
		copied = nil
	}
	k.afterFlush(t, logCopies)
	k.checkTLBCoherence(t, m, 0, k.Geo.Pages(), since, promiseOwn, tlbOp{verb: "fork", mm: m.name, whole: true})
	m.lock.WriteUnlock(t, site)
	logCopies()
	k.publishMM(cm) // the child process starts running only now
	cm.running.Store(true)
	return cm, nil
}

// copyPageRange mirrors copy_page_range() → copy_pmd_range() →
// copy_pte_range() for a COW mapping: a THP leaf is shared by
// copy_huge_pmd; per PTE table, the child's (dst) PTL then the parent's
// (src, nested); present anon pages are shared and write-protected in
// both, file pages get another file rmap, migration entries are copied (a
// writable one downgraded to readable in both).
// It appends the addresses it copied to copied and returns it.
func (k *Kernel) copyPageRange(t *sched.Task, dst, src *VMA, copied []int) []int {
	const site = "copy_pte_range"
	g := k.Geo
	pm, cm := src.mm, dst.mm
	if src.Flags()&VMShared == 0 {
		// copy_page_range(): a COW mapping's source must be write-locked so
		// that no VMA-lock fault changes its PTEs during the copy.
		src.lock.AssertWriteLocked(t, "copy_page_range: vma_assert_write_locked(src_vma)")
	}
	for a := src.start; a < src.end; {
		tblEnd := g.tableEnd(a, src.end)
		if e := pm.pmdEntry(a); e != nil && e.Leaf != nil && k.copyHugePMD(t, dst, src, a, &copied) {
			a = tblEnd
			continue
		}
		if pm.pteTable(a) == nil {
			a = tblEnd
			continue
		}
		k.pteAlloc(t, cm, a, site)
		dtbl, _ := k.pteOffsetMapLock(t, cm, a, site)
		if dtbl == nil {
			a = tblEnd
			continue
		}
		stbl := k.pteOffsetMap(t, pm, a, site) // pte_offset_map_rw_nolock: mmap_lock W keeps it
		if stbl == nil {
			k.pteUnmapUnlock(t, dtbl, site)
			a = tblEnd
			continue
		}
		stbl.ptl.LockNested(t, ksync.SingleDepthNesting, site)
		k.useIn(t, &stbl.Obj, site, "spin_lock of the PTL in the table's ptdesc")
		for addr := a; addr < tblEnd; addr++ {
			i := g.pteIndex(addr)
			p := stbl.e[i].Load()
			if p == nil {
				continue
			}
			np := *p
			switch {
			case p.Kind == PTESwap:
				// copy_nonpresent_pte: swap_duplicate, MM_SWAPENTS.
				p.Folio.swapDup()
				cm.rssSwap.Add(1)
			case p.Kind == PTEMigration:
				// copy_nonpresent_pte: a writable migration entry becomes
				// readable in both; rss counts it.
				if p.Write {
					wp := *p
					wp.Write = false
					k.setPTE(t, pm, stbl, i, addr, &wp, "copy_nonpresent_pte: downgrade parent")
				}
				np.Write = false
				if p.Folio.anon {
					cm.rssAnon.Add(1)
				} else {
					cm.rssFile.Add(1)
				}
			case p.Folio == nil: // zero page
			case p.Folio.anon:
				k.use(t, &p.Folio.Obj, site)
				p.Folio.mapcount.Add(1) // folio_try_dup_anon_rmap_pte
				cm.rssAnon.Add(1)
				if p.Write {
					wp := *p
					wp.Write = false
					k.setPTE(t, pm, stbl, i, addr, &wp, "copy_present_pte: wrprotect parent")
				}
				np.Write = false
			default:
				p.Folio.mapcount.Add(1) // folio_dup_file_rmap_pte
				cm.rssFile.Add(1)
				if src.Flags()&VMShared == 0 {
					np.Write = false
				}
			}
			np.ID = k.newID() // the child's mapping is a new one
			k.setPTE(t, cm, dtbl, i, addr, &np, "copy_present_pte")
			copied = append(copied, addr)
		}
		k.pteUnmapUnlock(t, stbl, site)
		k.pteUnmapUnlock(t, dtbl, site)
		a = tblEnd
	}
	return copied
}
