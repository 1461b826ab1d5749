package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// zapDetails is struct zap_details as the model's zaps use it.
type zapDetails struct {
	// fresh (MADV_DONTNEED): each cleared page is logged as fresh memory
	// at the step its entry is cleared: the next fault maps a new page.
	fresh bool
	// reclaimPT (MADV_DONTNEED, CONFIG_PT_RECLAIM, v6.14+): a PTE table the
	// zap left empty is freed (reclaim_pt).
	reclaimPT bool
	// end is the end of the whole zap (unmap_page_range's end), which
	// zap_pte_range's own end caps at the table's end (pmd_addr_end).
	end int
	// unmap is ZAP_FLAG_UNMAP (unmap_vmas of munmap and exit): the final
	// unmap of the VMA (a hugetlb VMA's lock is freed with it).
	unmap bool
	// keepCOWs is even_cows false (unmap_mapping_range of a hole punch):
	// should_zap_folio leaves anon folios, the private COW copies of a
	// file mapping, and should_zap_cows the swap entries.
	keepCOWs bool
}

// shouldZap is should_zap_folio / should_zap_cows for entry p.
func (zd zapDetails) shouldZap(p *PTE) bool {
	if !zd.keepCOWs {
		return true
	}
	switch {
	case p.Kind == PTESwap:
		return false
	case p.Folio == nil:
		return true // the zero page (vm_normal_page is NULL): always zapped
	}
	return !p.Folio.anon
}

// zapPTERange mirrors unmap_vmas() → unmap_page_range() → zap_pmd_range()
// for [start, end) of v (mm/memory.c, v6.14+): per PMD entry, a THP leaf
// wholly inside the range is zapped by zap_huge_pmd and one the range cuts
// is split first (__split_huge_pmd); a PTE table goes to zap_pte_range,
// which is started again on the same PMD when it could not map the table
// (the PMD changed under it).
func (k *Kernel) zapPTERange(t *sched.Task, v *VMA, start, end int, site string, zd zapDetails) {
	if v.isHugetlb() {
		k.hugetlbZap(t, v, start, end, zd)
		return
	}
	m := v.mm
	g := k.Geo
	zd.end = end
	for a := start; a < end; {
		next := g.tableEnd(a, end)
		e := m.pmdEntry(a)
		if e != nil && e.Leaf != nil {
			if next-a != g.PTEs {
				k.splitHugePMD(t, v, a, site)
			} else if k.zapHugePMD(t, v, a, site, zd) {
				a = next
				continue
			}
		}
		if m.pteTable(a) == nil { // pmd_none: nothing (left) to zap here
			a = next
			continue
		}
		a = k.zapPTETable(t, v, a, next, site, zd)
	}
}

// zapPTETable mirrors zap_pte_range() (mm/memory.c, v6.14 with the fix of
// "mm: pgtable: fix incorrect reclaim of non-empty PTE pages", reference
// C.11, D.15) for [addr, end) inside one PTE table: under the PTL, clear the
// PTEs a batch at a time (do_zap_pte_range), dropping the PTL when it must
// reschedule (need_resched, a choice of the strategy: the model lets a
// zap that may reclaim the table stop there) and starting again from where
// it stopped. With PT reclaim and the whole table in range, a pass that
// ran from start to end without dropping the PTL clears the PMD at once
// (try_get_and_clear_pmd); one that dropped it re-checks every entry
// under the PMD lock and the PTL (try_to_free_pte). It returns how far it
// got: addr, unchanged, when the table could not be mapped.
func (k *Kernel) zapPTETable(t *sched.Task, v *VMA, addr, end int, site string, zd zapDetails) int {
	m := v.mm
	g := k.Geo
	start := addr
	canReclaim := zd.reclaimPT && end-start >= g.PTEs // reclaim_pt_is_enabled
	directReclaim := true
	var pmdval *PTETable
	for {
		tbl, _ := k.pteOffsetMapLock(t, m, addr, site)
		if tbl == nil {
			return addr
		}
		k.flushTLBBatchedPending(t, m, site)
		first := true
		for addr < end {
			if !first && canReclaim && k.needResched(t, "zap_pte_range") {
				if !k.Variants.Has("pt_reclaim-no-recheck-after-relock") {
					directReclaim = false // the PTL is dropped: re-check before freeing
				}
				break
			}
			first = false
			addr += k.doZapPTERange(t, v, tbl, addr, end, site, zd)
		}
		if canReclaim && directReclaim && addr == end {
			pmdval, directReclaim = k.tryGetAndClearPMD(t, m, start, tbl)
		}
		k.pteUnmapUnlock(t, tbl, site)
		if addr >= end { // past it only when a broken batch overshot (zap-batch-crosses-table-end)
			break
		}
		// cond_resched(), then again from addr.
	}
	if canReclaim {
		if directReclaim {
			k.freePTE(t, m, start, pmdval, "free_pte")
		} else {
			k.tryToFreePTE(t, m, start)
		}
	}
	return addr
}

// needResched is need_resched() in a loop that may drop its lock: a data
// choice of the strategy (1 in 4 under random and PCT; never by default).
func (k *Kernel) needResched(t *sched.Task, where string) bool {
	return t.Choose(4, "need_resched in "+where+" if 3") == 3
}

// doZapPTERange mirrors do_zap_pte_range(): skip the none PTEs from addr,
// then zap the present or non-present entries there — a batch of PTEs
// mapping consecutive pages of one large folio (zap_present_ptes:
// folio_pte_batch, capped at the end of the range, which never passes the
// end of the table) or one entry. It returns how many PTEs it covered.
func (k *Kernel) doZapPTERange(t *sched.Task, v *VMA, tbl *PTETable, addr, end int, site string, zd zapDetails) int {
	m := v.mm
	g := k.Geo
	maxNr := end - addr
	nr := 0
	for nr < maxNr && tbl.e[g.pteIndex(addr+nr)].Load() == nil {
		nr++
	}
	if nr == maxNr {
		return nr
	}
	addr += nr
	maxNr -= nr
	i := g.pteIndex(addr)
	p := tbl.e[i].Load()
	batch := 1
	if p.Kind == PTEPresent && p.Folio != nil && p.Folio.Large() && maxNr != 1 {
		if uncapped := min(p.Folio.Nr()-p.Page, zd.end-addr); uncapped > maxNr && k.Variants.Has("zap-batch-crosses-table-end") {
			// N5: the batch is capped at the end of the range only, not
			// at the end of the table: it assumes the rest of the folio
			// lies in this table.
			maxNr = uncapped
		}
		batch = k.folioPTEBatch(t, m, tbl, i, addr, p, maxNr, false, "folio_pte_batch")
	}
	if !zd.shouldZap(p) {
		return nr + batch // one folio's batch: the same answer for all
	}
	for j := 0; j < batch; j++ {
		q := tbl.e[i+j].Load()
		k.setPTE(t, m, tbl, i+j, addr+j, nil, site)
		if zd.fresh {
			k.logMem(t, MemEvent{Kind: MemZero, MM: m.name, Addr: addr + j, Len: 1})
		}
		k.zapRmap(t, m, addr+j, q, site)
	}
	return nr + batch
}

// folioPTEBatch mirrors folio_pte_batch() (mm/internal.h): how many PTEs
// from entry i on (at most maxNr, and never past the folio's last page)
// map consecutive pages of first's folio the way first does, ignoring the
// dirty and soft-dirty bits and, unless respectWrite (FPB_RESPECT_WRITE),
// the write bit. The caller holds the PTL. Reading past the table's last
// entry is what KASAN reports as an out-of-bounds access (pte-batch-bounds).
func (k *Kernel) folioPTEBatch(t *sched.Task, m *MM, tbl *PTETable, i, addr int, first *PTE, maxNr int, respectWrite bool, site string) int {
	maxNr = min(maxNr, first.Folio.Nr()-first.Page)
	nr := 1
	for ; nr < maxNr; nr++ {
		if i+nr >= len(tbl.e) {
			t.Fail(sched.Violation{Invariant: "pte-batch-bounds", Detail: fmt.Sprintf("%s of %s from %s %#x reads entry %d of %s, past the end of the table (%d entries): the batch of %d PTEs assumed the folio's pages lie in one table", site, first.Folio.name, m.name, addr, i+nr, tbl.name, len(tbl.e), maxNr)})
		}
		q := tbl.e[i+nr].Load()
		if q == nil || q.Kind != first.Kind || q.Folio != first.Folio || q.Page != first.Page+nr || q.Read != first.Read || (respectWrite && q.Write != first.Write) {
			break
		}
	}
	return nr
}

// zapRmap undoes the rmap and rss accounting of a cleared entry at addr.
func (k *Kernel) zapRmap(t *sched.Task, m *MM, addr int, p *PTE, site string) {
	f := p.Folio
	if f == nil {
		if p.Kind == PTEPresent {
			k.gathering(t, addr, addr+1) // tlb_remove_tlb_entry: its translation is flushed too
		}
		return // the zero page
	}
	if p.Kind == PTESwap {
		// zap_nonpresent_ptes → free_swap_and_cache.
		m.rssSwap.Add(-1)
		k.swapFree(t, f, false, site)
		return
	}
	if p.Kind == PTEMigration {
		// zap_nonpresent_ptes: a migration entry still counts in rss; its
		// rmap was removed when it was installed.
		if f.anon {
			m.rssAnon.Add(-1)
		} else {
			m.rssFile.Add(-1)
		}
		return
	}
	k.use(t, &f.Obj, site)
	if f.anon {
		m.rssAnon.Add(-1)
	} else {
		m.rssFile.Add(-1)
	}
	if g := k.gathering(t, addr, addr+1); g != nil {
		// tlb_remove_page: the mapping's reference now belongs to the
		// gather, which puts it after the TLB flush.
		f.pin()
		g.pages = append(g.pages, f)
	}
	k.dropMapping(t, f, site)
}

// freePgtables mirrors free_pgtables(): first each VMA leaves the rmap trees
// (unlink_anon_vmas, unlink_file_vma) — until here rmap walkers can still
// find the zapped VMAs — then free_pgd_range frees the page tables that lie
// wholly inside [floor, ceiling), the gap the VMAs leave between their
// neighbours.
func (k *Kernel) freePgtables(t *sched.Task, m *MM, vs []*VMA, floor, ceiling int, site string) {
	for _, v := range vs {
		k.unlinkAnonVMAs(t, v, site)
		k.unlinkFileVMA(t, v, site)
	}
	if len(vs) == 0 {
		return
	}
	k.freePgdRange(t, m, vs[0].start, vs[len(vs)-1].end, floor, ceiling, site)
}

// freePgdRange frees the PTE tables (and then PMD tables) covering
// [start, end) that lie wholly within [floor, ceiling). Clearing an entry
// that points to a table is safe here because no walker can reach it: the
// VMAs are gone from the tree and the rmap trees, and the hardware walker is
// kept off by the flush of the gather and RCU (the tables are freed at
// tlb_finish_mmu after the flush and a grace period, as tlb_remove_table
// does: freeTableAfterFlush).
func (k *Kernel) freePgdRange(t *sched.Task, m *MM, start, end, floor, ceiling int, site string) {
	g := k.Geo
	span := g.PTEs
	for base := start / span * span; base < end; base += span {
		if base < floor || base+span > ceiling {
			continue
		}
		pmd := m.pmdOffset(base)
		if pmd == nil {
			continue
		}
		slot := &pmd.e[g.pmdIndex(base)]
		e := slot.Load()
		if e == nil {
			continue
		}
		if e.Leaf != nil {
			t.Fail(sched.Violation{Invariant: "page-table-lifetime", Detail: fmt.Sprintf("%s: %s %#x still has the leaf %s (pmd_none_or_clear_bad: bad pmd)", site, m.name, base, e.Leaf)})
		}
		tbl := e.Table
		k.use(t, &tbl.Obj, site)
		k.checkEmptyOnFree(t, m, tbl, base, site)
		t.PointF(sched.KindWrite, site, sched.Obj(pmd.name).Detailf("pmd_clear %#x: free %s").N(base).S(tbl.name))
		slot.Store(nil)
		k.freeTableAfterFlush(t, m, &tbl.Obj, base, "pte_free_tlb")
	}
	pspan := g.PTEs * g.PMDs
	for base := start / pspan * pspan; base < end; base += pspan {
		if base < floor || base+pspan > ceiling {
			continue
		}
		slot := &m.pud[g.pudIndex(base)]
		pmd := slot.Load()
		if pmd == nil {
			continue
		}
		k.checkSharedPMDFree(t, m, pmd, site)
		if n := len(pmd.deposits); n > 0 {
			t.Fail(sched.Violation{Invariant: "page-table-lifetime", Detail: fmt.Sprintf("%s: frees %s with %d deposited table(s) still on its list (pmd_huge_pte): they leak", site, pmd.name, n)})
		}
		for i := range pmd.e {
			if e := pmd.e[i].Load(); e != nil {
				t.Fail(sched.Violation{Invariant: "page-table-lifetime", Detail: fmt.Sprintf("%s: frees %s whose entry %d is still %s", site, pmd.name, i, e)})
			}
		}
		// free_pmd_range clears the PUD entry without a lock: no walker can
		// reach it (see above).
		t.PointF(sched.KindWrite, site, sched.Objf("%s pud").S(m.name).Detailf("pud_clear %#x: free %s").N(base).S(pmd.name))
		slot.Store(nil)
		k.freeTableAfterFlush(t, m, &pmd.Obj, base, "pmd_free_tlb")
	}
}

// checkEmptyOnFree is the page-table lifetime rule: a table is freed only
// when every entry is none.
func (k *Kernel) checkEmptyOnFree(t *sched.Task, m *MM, tbl *PTETable, base int, site string) {
	k.checked("page-table-lifetime")
	for i := range tbl.e {
		if p := tbl.e[i].Load(); p != nil {
			t.Fail(sched.Violation{Invariant: "page-table-lifetime", Detail: fmt.Sprintf("%s: frees %s (%s %#x) with a live entry at %#x: %s", site, tbl.name, m.name, base, base+i, p)})
		}
	}
}
