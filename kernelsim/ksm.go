package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// KSM (mm/ksm.c, v6.15): ksmd's visit of one address of a mergeable
// region, the path on which it write-protects a candidate page before it
// compares it (write_protect_page): the second caller of
// page_vma_mapped_walk outside an rmap walk in Peter Xu's 2022 case B
// (the first is uprobes' __replace_page). It holds mmap_lock for read and
// the folio lock, never an rmap lock; vma_ksm_compatible() keeps it away
// from hugetlb VMAs (VM_HUGETLB) and it merges anon pages only, so
// page_vma_mapped_walk's hugetlb branch never runs for it.
//
// What the model leaves out: the stable and unstable trees, KSM folios and
// their rmap (rmap_walk_ksm), replace_page. The op is the attempt whose
// pages_identical() check fails after the page was write-protected (its
// contents changed since its checksum was taken, the reason ksmd
// write-protects first): try_to_merge_one_page(vma, page, kpage) with a
// kpage whose contents differ, which leaves the PTE write-protected and
// clean and the folio an ordinary anon folio; the next write to it reuses
// it (wp_page_reuse) or copies it. Every lock of write_protect_page is
// taken as the kernel takes it; leaving the merge out removes steps after
// the last of them, so no interleaving of the locked steps is lost.

// vmaKsmCompatible is vma_ksm_compatible() for the flags the model has:
// no shared, no hugetlb mapping (private file mappings qualify: KSM
// merges their COWed anon pages).
func (v *VMA) vmaKsmCompatible() bool {
	return v.Flags()&(VMShared|VMHugetlb) == 0
}

// Ksm mirrors ksm_do_scan() for one address: scan_get_next_rmap_item (under
// mmap_lock read: find the VMA, then folio_walk_start, which takes the
// PTL, and a reference on a small anon folio), mmap_lock dropped while
// the page is checksummed and looked up in the trees, then
// try_to_merge_with_ksm_page (mmap_lock read again, find_mergeable_vma,
// try_to_merge_one_page). ksmd holds the mm by mm_count only and tests
// mm_users under mmap_lock (ksm_test_exit).
func (k *Kernel) Ksm(t *sched.Task, m *MM, addr int) error {
	const site = "scan_get_next_rmap_item"
	if !m.running.Load() {
		// ksmd scans the mms on its list, which a process joins by
		// madvise(MADV_MERGEABLE) or prctl: exec's new mm before
		// exec_mmap is not on it.
		return nil
	}
	m.lock.ReadLock(t, site)
	if m.users.Load() == 0 { // ksm_test_exit
		m.lock.ReadUnlock(t, site)
		return nil
	}
	t.Point(sched.KindRead, m.name+" maple tree", site, fmt.Sprintf("find_vma %#x", addr))
	v := m.findVMA(addr)
	if v != nil {
		k.useVMA(t, v, "vma_ksm_compatible")
	}
	if v == nil || !v.vmaKsmCompatible() {
		m.lock.ReadUnlock(t, site)
		return fmt.Errorf("ksm %s %#x: no mergeable VMA there", m.name, addr)
	}
	// folio_walk_start: the PTE under its PTL; a small anon folio gets a
	// reference (folio_get) before folio_walk_end.
	var f *Folio
	k.useVMA(t, v, "folio_walk_start")
	if tbl, i := k.pteOffsetMapLock(t, m, addr, "folio_walk_start"); tbl != nil {
		t.PointF(sched.KindRead, "folio_walk_start", sched.Objf("pte %s %#x").S(m.name).N(addr).Detail("ptep_get"))
		p := tbl.e[i].Load()
		if p != nil && p.Kind == PTEPresent && p.Folio != nil && p.Folio.anon && !p.Folio.Large() {
			f = p.Folio
			t.Point(sched.KindWrite, f.name, "folio_walk_start", "folio_get")
			k.folioGet(t, f, "folio_walk_start")
		}
		k.pteUnmapUnlock(t, tbl, "folio_walk_end")
	}
	k.useVMA(t, v, "folio_walk_end") // vma_pgtable_walk_end reads vma->vm_flags
	m.lock.ReadUnlock(t, site)
	if f == nil {
		return nil // nothing ksmd merges there
	}
	defer k.unpin(t, f, "ksm_do_scan") // put_page
	// try_to_merge_with_ksm_page.
	const merge = "try_to_merge_with_ksm_page"
	m.lock.ReadLock(t, merge)
	defer m.lock.ReadUnlock(t, merge)
	if m.users.Load() == 0 { // find_mergeable_vma: ksm_test_exit
		return nil
	}
	t.Point(sched.KindRead, m.name+" maple tree", "find_mergeable_vma", fmt.Sprintf("vma_lookup %#x", addr))
	v = m.findVMA(addr)
	if v != nil {
		k.useVMA(t, v, "find_mergeable_vma")
	}
	if v == nil || !v.vmaKsmCompatible() {
		return nil
	}
	k.tryToMergeOnePage(t, v, addr, f)
	return nil
}

// tryToMergeOnePage mirrors try_to_merge_one_page(vma, page, kpage) up to
// the failed pages_identical(): the folio must be anon and small; its lock
// is a trylock (ksmd does not wait for it); write_protect_page.
func (k *Kernel) tryToMergeOnePage(t *sched.Task, v *VMA, addr int, f *Folio) {
	const site = "try_to_merge_one_page"
	if !f.anon || f.Large() {
		return
	}
	if !f.lock.Trylock(t, site) {
		return
	}
	k.writeProtectPage(t, v, addr, f)
	// pages_identical(page, kpage) fails: nothing is replaced.
	f.lock.Unlock(t, site)
}

// writeProtectPage mirrors write_protect_page(vma, folio, orig_pte): find
// the folio's mapping in v with page_vma_mapped_walk (not PVMW_SYNC, no
// rmap lock: the folio lock and mmap_lock are what the caller holds); if
// the PTE is writable, or the page exclusive (PageAnonExclusive, which the
// model takes as the folio mapped once), or a TLB flush of the mm is
// pending (mm_tlb_flush_pending: a stale writable translation may exist),
// clear it and flush (ptep_clear_flush: from here no GUP-fast can take a
// new reference, the point of clearing first), then check that the only
// references are the mappings, ksmd's and the swap cache's; restore the
// entry if not, else install it write-protected.
func (k *Kernel) writeProtectPage(t *sched.Task, v *VMA, addr int, f *Folio) {
	const site = "write_protect_page"
	m := v.mm
	since := k.stamp(t) // for tlb-coherence: the translations cached before this call
	k.useVMA(t, v, "page_address_in_vma")
	pw := k.newPVMW(t, f, v, addr, false, false, site)
	if !pw.next() {
		return
	}
	if pw.hp != nil || pw.pmdHit {
		// WARN_ONCE(!pvmw.pte, "Unexpected PMD mapping?"): a small anon
		// folio, which no PMD maps; the kernel gives up.
		t.Record(sched.KindNote, v.name, site, fmt.Sprintf("unexpected PMD mapping of %s at %s %#x", f.name, m.name, pw.addr))
		pw.done()
		return
	}
	tbl, i := pw.pte()
	entry := tbl.e[i].Load()
	t.Point(sched.KindRead, m.name+" tlb_flush_pending", site, "mm_tlb_flush_pending")
	pending := m.tlbFlushPending.Load() > 0
	if entry.Write || f.mapcount.Load() == 1 || pending {
		swapped := 0
		f.refMu.Lock()
		if f.swapCache {
			swapped = 1
		}
		f.refMu.Unlock()
		k.setPTE(t, m, tbl, i, pw.addr, nil, "ptep_clear_flush")
		k.flushTLBRange(t, m, pw.addr, pw.addr+1, "ptep_clear_flush")
		// folio_mapcount + 1 + swapped != folio_ref_count: the model's
		// refcount is the mappings plus the pins, so the check is that
		// ksmd's and the swap cache's are the only pins.
		t.Point(sched.KindRead, f.name, site, "folio_ref_count")
		if f.pinCount() != 1+swapped {
			k.setPTE(t, m, tbl, i, pw.addr, entry, "set_pte_at")
			pw.done()
			return
		}
		np := *entry
		np.Write = false // pte_wrprotect(pte_mkclean(entry))
		k.setPTE(t, m, tbl, i, pw.addr, &np, site)
		addr := pw.addr
		pw.done()
		// What the flush was for: from here no CPU writes the page through
		// a translation cached before (ksmd compares and merges it next).
		k.checkTLBCoherence(t, m, addr, addr+1, since, promiseOwn, tlbOp{verb: "ksm write_protect_page", mm: m.name, start: addr, end: addr + 1})
		return
	}
	pw.done()
}
