package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// FaultResult is a fault's outcome (the vm_fault_t bits that matter).
type FaultResult uint8

// The fault outcomes.
const (
	FaultDone  FaultResult = iota // handled (or nothing to do): the access is retried
	FaultRetry                    // VM_FAULT_RETRY: the handler dropped the lock
	FaultSEGV                     // no VMA or no permission
)

func (r FaultResult) String() string {
	return [...]string{"done", "retry", "sigsegv"}[r]
}

type faultFlags uint8

const (
	faultWrite   faultFlags = 1 << iota
	faultVMALock            // FAULT_FLAG_VMA_LOCK: only the VMA read lock is held
	faultTried              // FAULT_FLAG_TRIED: a retry; the fault lock may no longer be dropped
)

// releaseFaultLock is release_fault_lock(vmf): the VMA read lock or
// mmap_lock for read, whichever the fault holds.
func releaseFaultLock(t *sched.Task, v *VMA, ff faultFlags, site string) {
	t.SetWatch(nil) // from here the fault relies on nothing about the VMA
	if ff&faultVMALock != 0 {
		v.lock.EndRead(t, site)
	} else {
		v.mm.lock.ReadUnlock(t, site)
	}
}

// Fault handles a user fault at addr in m, like the arch fault handler
// (x86 do_user_addr_fault): first the per-VMA-lock path, then the
// mmap_lock path.
func (k *Kernel) Fault(t *sched.Task, m *MM, addr int, write bool) FaultResult {
	var ff faultFlags
	if write {
		ff |= faultWrite
	}
	// C.1.a: lock_vma_under_rcu, handle_mm_fault with FAULT_FLAG_VMA_LOCK.
	if v := k.lockVMAUnderRCU(t, m, addr); v != nil {
		k.checked("fault-wrong-mm")
		if v.mm != m {
			// The object was reused by another mm: the fault would be
			// handled in (and install this process's page into) that mm.
			v.lock.EndRead(t, "do_user_addr_fault")
			t.Fail(sched.Violation{Invariant: "fault-wrong-mm", Detail: fmt.Sprintf("a fault of %s at %#x locked %s, which belongs to %s (a VMA object freed and reused by another mm): it would be handled in %s", m.name, addr, v.Describe(), v.mm.name, v.mm.name)})
		}
		if !accessOK(v, write) {
			v.lock.EndRead(t, "do_user_addr_fault")
			return FaultSEGV
		}
		r := k.handleMMFault(t, v, addr, ff|faultVMALock)
		if r != FaultRetry {
			v.lock.EndRead(t, "do_user_addr_fault")
			return r
		}
		// VM_FAULT_RETRY: the handler already dropped the VMA lock.
	}
	// C.1.b: lock_mm_and_find_vma, handle_mm_fault under mmap_lock; on
	// VM_FAULT_RETRY (the handler dropped mmap_lock) again with
	// FAULT_FLAG_TRIED, which no handler answers with a retry.
	for {
		v := k.lockMMAndFindVMA(t, m, addr)
		if v == nil {
			return FaultSEGV
		}
		if !accessOK(v, write) {
			m.lock.ReadUnlock(t, "do_user_addr_fault")
			return FaultSEGV
		}
		r := k.handleMMFault(t, v, addr, ff)
		if r != FaultRetry {
			m.lock.ReadUnlock(t, "do_user_addr_fault")
			return r
		}
		if ff&faultTried != 0 {
			t.Internal("do_user_addr_fault: VM_FAULT_RETRY for a FAULT_FLAG_TRIED fault at %s %#x", m.name, addr)
		}
		ff |= faultTried
	}
}

func accessOK(v *VMA, write bool) bool {
	if write {
		return v.Flags()&VMWrite != 0
	}
	return v.Flags()&(VMRead|VMWrite) != 0
}

// lockVMAUnderRCU mirrors mm/mmap_lock.c lock_vma_under_rcu() (v6.15+):
// under RCU, look the address up in the maple tree and vma_start_read()
// the VMA found, without trusting anything about it before that: the
// object may have been freed, even reused by another mm, since the lookup
// (SLAB_TYPESAFE_BY_RCU), so vma_start_read refuses another mm's VMA, a
// detached one sends the lookup round again (-EAGAIN), and the range is
// checked once the VMA is locked.
func (k *Kernel) lockVMAUnderRCU(t *sched.Task, m *MM, addr int) *VMA {
	const site = "lock_vma_under_rcu"
	rcu := k.Env.RCU()
	rcu.ReadLock(t, site)
	for {
		v := m.lookupRCU(t, addr)
		if v == nil {
			rcu.ReadUnlock(t, site)
			return nil
		}
		if v.isAnon() && k.Variants.Has("lock_vma_under_rcu-anon_vma-check-before-lock") {
			// D.12b: the v6.4 check, made before the VMA lock is taken.
			t.Point(sched.KindRead, v.name, site, "vma->anon_vma before vma_start_read")
			if v.AnonVMA() == nil {
				rcu.ReadUnlock(t, site)
				return nil
			}
		}
		res := v.lock.StartRead(t, m.lock, !k.Variants.Enabled("vma_start_read-no-vm_mm-check"), site)
		// vma_start_read read the object's vm_lock_seq and vm_refcnt: memory
		// that stays a VMA (SLAB_TYPESAFE_BY_RCU) only inside the read
		// section.
		k.useVMA(t, v, "vma_start_read")
		switch res {
		case ksync.ReadOK:
			rcu.ReadUnlock(t, site)
			// The VMA may have been shrunk, moved or reused (in this mm)
			// before we locked it.
			if addr < v.start || addr >= v.end {
				v.lock.EndRead(t, site)
				return nil
			}
			if v.mm != m {
				// Only without the vm_mm check: the variant's branch made a
				// difference.
				k.Variants.Hit("vma_start_read-no-vm_mm-check")
			}
			return v
		case ksync.ReadDetached: // -EAGAIN: walk the tree again
			continue
		default:
			rcu.ReadUnlock(t, site)
			return nil
		}
	}
}

// lockMMAndFindVMA mirrors lock_mm_and_find_vma(): mmap_read_trylock, else
// sleep for it; no stack expansion in this model.
func (k *Kernel) lockMMAndFindVMA(t *sched.Task, m *MM, addr int) *VMA {
	const site = "lock_mm_and_find_vma"
	if !m.lock.ReadTrylock(t, site) {
		m.lock.ReadLock(t, site)
	}
	t.PointF(sched.KindRead, site, sched.Objf("%s maple tree").S(m.name).Detailf("find_vma %#x").N(addr))
	v := m.findVMA(addr)
	if v == nil {
		m.lock.ReadUnlock(t, site)
	}
	return v
}

// handleMMFault mirrors __handle_mm_fault() → handle_pte_fault(): allocate
// the upper levels; at the PMD (read locklessly), a none PMD in a VMA that
// asked for THPs faults a THP in (do_huge_pmd_anonymous_page), a PMD
// migration entry is waited for, a write to a read-only THP goes to
// wp_huge_pmd (which may split it and fall back to PTEs), any other access
// to a THP has nothing to do; then read the PTE locklessly and dispatch.
func (k *Kernel) handleMMFault(t *sched.Task, v *VMA, addr int, ff faultFlags) FaultResult {
	const site = "handle_pte_fault"
	m := v.mm
	k.useVMA(t, v, site)
	// The fault relies on its VMA (flags, anon_vma, pgoff) at every step
	// until it returns, which the VMA read lock or mmap_lock guarantees: a
	// VMA freed meanwhile is a use-after-free at its next access.
	t.SetWatch(func() { k.useVMA(t, v, site) })
	defer t.SetWatch(nil)
	if v.isHugetlb() {
		return k.hugetlbFault(t, v, addr, ff) // hugetlb_fault, from handle_mm_fault
	}
	pmd := k.pmdAlloc(t, m, addr, "__handle_mm_fault") // vmf.pmd: kept, not looked up again
	t.PointF(sched.KindRead, "__handle_mm_fault", sched.Objf("%s pmd").S(m.name).Detailf("pmd for %#x (lockless)").N(addr))
	switch e := m.pmdEntry(addr); {
	case e == nil && v.thpFaultAllowed(addr):
		return k.doHugePMDAnonymousPage(t, v, pmd, addr, ff)
	case e != nil && e.Leaf != nil && e.Leaf.Kind == PTEMigration:
		k.pmdMigrationEntryWait(t, m, addr)
		return FaultDone
	case e != nil && (e.Invalid || (e.Leaf != nil && (ff&faultWrite == 0 || e.Leaf.Write))):
		// huge_pmd_set_accessed (v6.14): under the PMD lock, if the PMD is
		// still the one the fault read (pmd_same), touch_pmd sets its
		// accessed (and for a write its dirty) bit, which the model does
		// not track; a PMD a split has invalidated meanwhile
		// (pmdp_invalidate, under the lock the splitter holds) is not
		// the same. Either way the access retries.
		pmd := m.pmdOffset(addr)
		pmd.ptl.Lock(t, "huge_pmd_set_accessed")
		t.PointF(sched.KindRead, "huge_pmd_set_accessed", sched.Objf("%s pmd").S(m.name).Detailf("pmd_same for %#x").N(addr))
		pmd.ptl.Unlock(t, "huge_pmd_set_accessed")
		return FaultDone
	case e != nil && e.Leaf != nil:
		if r, fallback := k.doHugePMDWPPage(t, v, addr, e); !fallback {
			return r
		}
	}
	t.PointF(sched.KindRead, site, sched.Objf("pte %s %#x").S(m.name).N(addr).Detail("orig_pte (lockless)"))
	orig := m.Walk(addr)
	switch {
	case orig == nil:
		if v.isAnon() {
			return k.doAnonymousPage(t, v, addr, ff)
		}
		return k.doFault(t, v, addr, ff)
	case orig.Kind == PTEMigration:
		k.migrationEntryWait(t, m, addr, orig)
		return FaultDone
	case orig.Kind == PTESwap:
		return k.doSwapPage(t, v, addr, ff, orig)
	}
	tbl, i := k.pteOffsetMapLock(t, m, addr, site)
	if tbl == nil {
		return FaultDone
	}
	if tbl.e[i].Load() != orig { // !pte_same: someone changed it; retry the access
		k.pteUnmapUnlock(t, tbl, site)
		return FaultDone
	}
	if ff&faultWrite != 0 && !orig.Write {
		return k.doWPPage(t, v, addr, ff, tbl, i, orig)
	}
	if !orig.Read {
		// A PROT_NONE pte in an accessible VMA (a protnone entry, as NUMA
		// hinting leaves them): do_numa_page rebuilds it from vm_page_prot.
		np := *orig
		np.Read, np.Write = ptePerms(v, orig.Folio, false)
		k.setPTE(t, m, tbl, i, addr, &np, "do_numa_page")
		k.pteUnmapUnlock(t, tbl, site)
		return FaultDone
	}
	k.pteUnmapUnlock(t, tbl, site)
	return FaultDone
}

// vmfAnonPrepare mirrors vmf_anon_prepare() (mm/internal.h):
// __vmf_anon_prepare (vmfAnonPrepareInner), and on VM_FAULT_RETRY the VMA
// read lock dropped (vma_end_read).
func (k *Kernel) vmfAnonPrepare(t *sched.Task, v *VMA, ff faultFlags) FaultResult {
	const site = "vmf_anon_prepare"
	r := k.vmfAnonPrepareInner(t, v, ff, site)
	if r == FaultRetry {
		releaseFaultLock(t, v, ff, site) // vma_end_read
	}
	return r
}

// vmfAnonPrepareInner mirrors mm/memory.c __vmf_anon_prepare(): a
// VMA-locked fault may not sleep on mmap_lock (it could deadlock against
// vma_start_write, reference D.11b), so it trylocks and otherwise returns
// VM_FAULT_RETRY, the VMA lock still held: vmf_anon_prepare drops it at
// once, hugetlb_fault after its hugetlb VMA lock (hugetlbFault).
func (k *Kernel) vmfAnonPrepareInner(t *sched.Task, v *VMA, ff faultFlags, site string) FaultResult {
	t.Point(sched.KindRead, v.name, site, "vma->anon_vma")
	if v.AnonVMA() != nil {
		return FaultDone
	}
	m := v.mm
	if ff&faultVMALock != 0 && k.Variants.Has("lock_vma_under_rcu-anon_vma-check-before-lock") {
		// D.12b: lock_vma_under_rcu "guaranteed" an anon_vma, so the v6.4
		// fault prepared one without mmap_lock when it found none.
		k.anonVMAPrepare(t, v)
		return FaultDone
	}
	if ff&faultVMALock != 0 {
		if k.Variants.Has("vmf_anon_prepare-blocking-mmap-lock") {
			m.lock.ReadLock(t, site) // D.11b: sleeps on mmap_lock under the VMA read lock
		} else if !m.lock.ReadTrylock(t, site) {
			return FaultRetry
		}
	}
	k.anonVMAPrepare(t, v)
	if ff&faultVMALock != 0 {
		m.lock.ReadUnlock(t, site)
	}
	return FaultDone
}

// doAnonymousPage mirrors mm/memory.c do_anonymous_page().
func (k *Kernel) doAnonymousPage(t *sched.Task, v *VMA, addr int, ff faultFlags) FaultResult {
	const site = "do_anonymous_page"
	m := v.mm
	write := ff&faultWrite != 0
	k.pteAlloc(t, m, addr, site) // pte_alloc comes first in mm/memory.c
	if write {
		if r := k.vmfAnonPrepare(t, v, ff); r != FaultDone {
			return r
		}
	}
	var f *Folio
	if write {
		f = k.allocFolio(true)
	}
	// The entry is built before the PTL is taken (mk_pte with
	// vma->vm_page_prot, pte_mkwrite if VM_WRITE).
	writable := v.Flags()&VMWrite != 0
	tbl, i := k.pteOffsetMapLock(t, m, addr, site)
	if tbl == nil {
		k.discardFolio(f)
		return FaultDone
	}
	if tbl.e[i].Load() != nil { // someone else mapped it first
		k.pteUnmapUnlock(t, tbl, site)
		k.discardFolio(f)
		return FaultDone
	}
	if !write {
		// Read fault: map the shared zero page read-only (no rmap, no rss).
		k.setPTE(t, m, tbl, i, addr, &PTE{Kind: PTEPresent, Read: true, ID: k.newID()}, site)
		k.pteUnmapUnlock(t, tbl, site)
		return FaultDone
	}
	k.folioAddNewAnonRmap(t, f, v, addr)
	m.rssAnon.Add(1)
	k.setPTE(t, m, tbl, i, addr, &PTE{Kind: PTEPresent, Folio: f, Read: true, Write: writable, ID: k.newID()}, site)
	k.pteUnmapUnlock(t, tbl, site)
	return FaultDone
}

// discardFolio drops a folio that was allocated but never mapped.
func (k *Kernel) discardFolio(f *Folio) {
	if f != nil {
		k.hugetlbFreeFolio(nil, f)
		f.freed, f.freedBy = true, "never mapped"
	}
}

// folioAddNewAnonRmap is folio_add_new_anon_rmap(folio, vma, addr,
// RMAP_EXCLUSIVE): folio->mapping = vma->anon_vma, index =
// linear_page_index. Called under the PTL.
func (k *Kernel) folioAddNewAnonRmap(t *sched.Task, f *Folio, v *VMA, addr int) {
	if v.AnonVMA() == nil {
		bugOn(t, "__folio_set_anon: BUG_ON(!anon_vma): new anon folio in %s, which has no anon_vma", v.Describe())
	}
	f.anonVMA, f.index = v.AnonVMA(), v.linearPageIndex(addr)
	f.mapcount.Add(1)
}

// doFault mirrors mm/memory.c do_fault() for a file VMA: do_read_fault,
// do_cow_fault (private write) and do_shared_fault.
func (k *Kernel) doFault(t *sched.Task, v *VMA, addr int, ff faultFlags) FaultResult {
	m := v.mm
	write := ff&faultWrite != 0
	shared := v.Flags()&VMShared != 0
	site := "do_read_fault"
	switch {
	case write && shared:
		site = "do_shared_fault"
	case write:
		site = "do_cow_fault"
		if r := k.vmfAnonPrepare(t, v, ff); r != FaultDone {
			return r
		}
	}
	index := v.linearPageIndex(addr)
	if beyondEOF(index, v.file.npages) {
		return FaultSEGV // SIGBUS beyond EOF
	}
	k.pteAlloc(t, m, addr, site)
	pc := v.file.filemapFault(t, v, index, ff) // locked and pinned, or nil: retry
	if pc == nil {
		return FaultRetry // the fault lock was dropped
	}
	defer k.unpin(t, pc, "filemap_fault")
	// The page of the (possibly large) page-cache folio at this index: a
	// large one is mapped a page at a time (finish_fault; the model does
	// not map a file THP with a PMD leaf, do_set_pmd).
	pg := index - pc.index
	var pte *PTE
	var newf *Folio
	if write && !shared {
		newf = k.allocFolio(true)
		newf.data.Store(pc.page(pg).Load()) // copy the page-cache page
		pte = &PTE{Kind: PTEPresent, Folio: newf, Read: true, Write: true, ID: k.newID()}
	} else {
		pte = &PTE{Kind: PTEPresent, Folio: pc, Page: pg, Read: true, Write: write || (shared && v.Flags()&VMWrite != 0), ID: k.newID()}
	}
	tbl, i := k.pteOffsetMapLock(t, m, addr, site)
	if tbl == nil || tbl.e[i].Load() != nil {
		if tbl != nil {
			k.pteUnmapUnlock(t, tbl, site)
		}
		pc.lock.Unlock(t, site)
		k.discardFolio(newf)
		return FaultDone
	}
	if newf != nil {
		k.folioAddNewAnonRmap(t, newf, v, addr)
		m.rssAnon.Add(1)
		// The private copy holds the file page as it was copied.
		k.logMem(t, MemEvent{Kind: MemStore, MM: m.name, Addr: addr, Value: newf.data.Load(), OK: true})
	} else {
		pc.mapcount.Add(1) // folio_add_file_rmap_pte
		m.rssFile.Add(1)
	}
	k.setPTE(t, m, tbl, i, addr, pte, "finish_fault")
	k.pteUnmapUnlock(t, tbl, site)
	pc.lock.Unlock(t, site)
	return FaultDone
}

// doWPPage mirrors do_wp_page(): a write fault on a present read-only PTE.
// Called with the PTL held (and the table mapped); both are released on
// return.
func (k *Kernel) doWPPage(t *sched.Task, v *VMA, addr int, ff faultFlags, tbl *PTETable, i int, orig *PTE) FaultResult {
	const site = "do_wp_page"
	m := v.mm
	f := orig.Folio
	if v.Flags()&VMShared != 0 && f != nil && !f.anon {
		// wp_page_shared: a shared file page just becomes writable.
		np := *orig
		np.Write = true
		k.setPTE(t, m, tbl, i, addr, &np, "wp_page_shared")
		k.pteUnmapUnlock(t, tbl, site)
		return FaultDone
	}
	if f != nil && f.anon && f.Large() && v.AnonVMA() != nil && k.wpCanReuseLargeAnonFolio(f, m) {
		// __wp_can_reuse_large_anon_folio (v6.13+): every reference is a
		// mapping of this mm: reuse the page (wp_page_reuse, this PTE only).
		np := *orig
		np.Write = true
		k.setPTE(t, m, tbl, i, addr, &np, "wp_page_reuse")
		k.pteUnmapUnlock(t, tbl, site)
		return FaultDone
	}
	// wp_can_reuse_anon_folio tests the refcount, not the mapcount: "the
	// only folio reference from our mapping" (folio_ref_count(folio) > 1 +
	// folio_test_swapcache(folio) before the trylock, != 1 after
	// folio_free_swap under it): a folio pinned elsewhere (a migrator's
	// reference on its new folio, an isolation) is copied.
	if f != nil && f.anon && !f.Large() && f.mapcount.Load() == 1 && v.AnonVMA() != nil && f.pinCount() <= boolInt(f.inSwapCache()) {
		// wp_can_reuse_anon_folio: the only mapping; take the folio lock
		// (trylock under the PTL) and reuse it, moving its rmap to this VMA's
		// anon_vma (folio_move_anon_rmap).
		if f.lock.Trylock(t, "wp_can_reuse_anon_folio") {
			// folio_free_swap, then the refcount check: a folio other
			// processes still reach through swap entries is not reused.
			k.swapCacheTrim(t, f, "wp_can_reuse_anon_folio")
			if f.mapcount.Load() == 1 && f.Swapped() == 0 && f.pinCount() == 0 {
				if f.anonVMA != v.AnonVMA() {
					t.Point(sched.KindWrite, f.name, "folio_move_anon_rmap", "mapping "+f.anonVMA.name+" -> "+v.AnonVMA().name)
					f.anonVMA = v.AnonVMA()
				}
				f.lock.Unlock(t, "wp_can_reuse_anon_folio")
				k.setPTE(t, m, tbl, i, addr, &PTE{Kind: PTEPresent, Folio: f, Read: true, Write: true, ID: orig.ID}, "wp_page_reuse")
				k.pteUnmapUnlock(t, tbl, site)
				return FaultDone
			}
			f.lock.Unlock(t, "wp_can_reuse_anon_folio")
		}
	}
	if f != nil {
		f.pin() // folio_get before the PTL is dropped: the copy reads it
		defer k.unpin(t, f, "wp_page_copy")
	}
	k.pteUnmapUnlock(t, tbl, site)
	return k.wpPageCopy(t, v, addr, ff, orig)
}

// wpCanReuseLargeAnonFolio is __wp_can_reuse_large_anon_folio(): a large
// anon folio mapped more than once may be reused when all its references
// are mappings (no pin: folio_large_mapcount == folio_ref_count) and all
// its mappings are in this mm (not maybe_mapped_shared; the model counts
// them exactly, where the kernel tracks the mms by id).
func (k *Kernel) wpCanReuseLargeAnonFolio(f *Folio, m *MM) bool {
	n := f.mapcount.Load()
	if n <= 1 || f.pinCount() != 0 {
		return false
	}
	mine := int32(0)
	m.ForEachPTE(func(_ int, _ *PTETable, p *PTE) {
		if p.Kind == PTEPresent && p.Folio == f {
			mine++
		}
	})
	return mine == n
}

// wpPageCopy mirrors wp_page_copy(): COW into a new anon folio.
func (k *Kernel) wpPageCopy(t *sched.Task, v *VMA, addr int, ff faultFlags, orig *PTE) FaultResult {
	const site = "wp_page_copy"
	m := v.mm
	if r := k.vmfAnonPrepare(t, v, ff); r != FaultDone {
		return r
	}
	nf := k.allocFolio(true)
	old := orig.Folio
	copyStep := 0
	if old != nil {
		k.use(t, &old.Obj, site)
		nf.data.Store(old.page(orig.Page).Load()) // __wp_page_copy_user, before the PTL
		copyStep = t.Step()
		k.copyWindow(t, old, orig.Page)
	}
	tbl, i := k.pteOffsetMapLock(t, m, addr, site)
	if tbl == nil || tbl.e[i].Load() != orig {
		if tbl != nil {
			k.pteUnmapUnlock(t, tbl, site)
		}
		k.discardFolio(nf)
		return FaultDone
	}
	// ptep_clear_flush, then the new PTE: a lockless reader can find the
	// entry none in between.
	k.setPTE(t, m, tbl, i, addr, nil, "ptep_clear_flush")
	k.tlbPendingBreakBeforeMake(t, m, addr) // the new PTE comes after the flush (tlbbbm.go)
	k.flushTLBRange(t, m, addr, addr+1, "ptep_clear_flush")
	// Memory contents: from the copy to here the PTE kept the old anon page
	// read-only and no TLB may have let a store into it, so the copy is
	// still the mm's memory. A store that reached the old page in between
	// went through a stale writable translation and is lost to the mm
	// (D.12c; a shared file page may change legitimately: its writers are
	// other mappings of the file).
	if old != nil && old.anon {
		if now, was := old.page(orig.Page).Load(), nf.data.Load(); now != was {
			t.Fail(sched.Violation{Invariant: "memory-contents", Detail: fmt.Sprintf("wp_page_copy at %s %#x copied %s = %d into %s at step %d, but %s holds %d when its PTE is replaced: a store reached the old page after the copy (through a stale writable translation) and is lost", m.name, addr, old.name, was, nf.name, copyStep, old.name, now)})
		}
		k.watchLostStores(t, m, addr, old, orig.Page, nf, copyStep) // until a deferred flush (flushmutant.go)
	}
	k.folioAddNewAnonRmap(t, nf, v, addr)
	k.setPTE(t, m, tbl, i, addr, &PTE{Kind: PTEPresent, Folio: nf, Read: true, Write: true, ID: k.newID()}, site)
	// From here the mm reads its private copy, whatever happens to the page
	// it was copied from (a shared file page may change).
	k.logMem(t, MemEvent{Kind: MemStore, MM: m.name, Addr: addr, Value: nf.data.Load(), OK: true})
	switch {
	case old == nil:
		m.rssAnon.Add(1)
	case !old.anon:
		m.rssFile.Add(-1)
		m.rssAnon.Add(1)
		k.dropMapping(t, old, site)
	default:
		k.dropMapping(t, old, site)
	}
	k.pteUnmapUnlock(t, tbl, site)
	return FaultDone
}

// migrationEntryWait mirrors migration_entry_wait(): re-check the entry
// under the PTL (the table unmapped, the PTL kept), then
// (migration_entry_wait_on_locked) look at the folio the entry names and
// queue on its lock bit — still under the PTL, which is what keeps the
// folio valid: the migrator must take it to remove the entry — then drop
// the PTL and sleep until the folio is unlocked; the access retries. The
// re-check and the folio access are separate scheduling points, as they
// are separate accesses in the kernel.
func (k *Kernel) migrationEntryWait(t *sched.Task, m *MM, addr int, orig *PTE) {
	const site = "migration_entry_wait"
	tbl, i := k.pteOffsetMapLock(t, m, addr, site)
	if tbl == nil {
		return
	}
	same := tbl.e[i].Load() == orig
	k.pteUnmap(t, site)
	if !same {
		tbl.ptl.Unlock(t, site)
		return
	}
	f := orig.PageFolio()
	k.checkMigrationEntryOwner(t, m, addr, f, func() { tbl.ptl.Unlock(t, site) })
	tbl.ptl.Unlock(t, site) // migration_entry_wait_on_locked drops the PTL before sleeping
	f.lock.WaitUnlocked(t, "migration_entry_wait_on_locked")
}

// boolInt is 1 for true.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
