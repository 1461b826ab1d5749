package kernelsim

import (
	"fmt"
	"sync/atomic"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// Transparent huge pages mapped by a PMD leaf (mm/huge_memory.c, v6.12+,
// reference A.8, C.10): the anonymous THP fault, the write fault on a
// read-only THP, the wait on a PMD migration entry, and the PMD-level
// halves of fork (copy_huge_pmd), zap (zap_huge_pmd), mremap
// (move_huge_pmd) and mprotect (change_huge_pmd). Splitting is in
// thpsplit.go, collapsing in khugepaged.go.

// setPMD writes a PMD entry: under the PMD table's lock (pmd_lock), as
// every writer of an entry a walker may be looking at does.
func (k *Kernel) setPMD(t *sched.Task, m *MM, pmd *PMDTable, slot *atomic.Pointer[PMDEntry], addr int, e *PMDEntry, site string) {
	k.use(t, &pmd.Obj, site)
	pmd.ptl.AssertHeldIn(t, site, "PMD entry written without pmd_lock")
	old := slot.Load()
	t.Point(sched.KindWrite, fmt.Sprintf("pmd %s %#x", m.name, k.Geo.pmdBase(addr)), site, old.String()+" -> "+e.String())
	if old != nil && old.Leaf != nil {
		k.noteWrite(t, old.Leaf.ID)
	}
	if e != nil && e.Leaf != nil {
		k.noteWrite(t, e.Leaf.ID)
	}
	// The translations this write takes away, owed a flush by this task
	// until it flushes them.
	base := k.Geo.pmdBase(addr)
	switch {
	case old == nil:
	case old.Leaf != nil:
		// A leaf made a table (a split) maps the same pages the same way.
		// Only a present, valid leaf has translations to take away (a
		// migration entry's were flushed when it was installed, an
		// invalidated leaf's are owed already).
		if old.Leaf.Kind == PTEPresent && !old.Invalid && (e == nil || (e.Leaf != nil && (e.Invalid || reducesTranslation(old.Leaf, e.Leaf)))) {
			k.tlbPending(t, m, base, base+k.Geo.PTEs)
		}
	case e == nil || e.Table != old.Table:
		// The table detached (moved, retracted, reclaimed): the range of
		// its present PTEs. An empty table (PT reclaim, retract after
		// collapse_file's unmap) takes nothing away; its zap, if any, owed
		// the flush already.
		lo, hi := -1, -1
		for i := range old.Table.e {
			if p := old.Table.e[i].Load(); p != nil && p.Kind == PTEPresent {
				if lo < 0 {
					lo = i
				}
				hi = i
			}
		}
		if lo >= 0 {
			k.tlbPending(t, m, base+lo, base+hi+1)
		}
	}
	slot.Store(e)
}

// pmdLeafLock is a PMD leaf found and locked by pmdTransHugeLock.
type pmdLeafLock struct {
	pmd  *PMDTable
	slot *atomic.Pointer[PMDEntry]
	e    *PMDEntry
}

// pmdTransHugeLock is __pmd_trans_huge_lock(): take the PMD lock and keep
// it when the entry is still a leaf (a THP or a PMD migration entry); nil
// (the lock dropped) when it is not.
func (k *Kernel) pmdTransHugeLock(t *sched.Task, m *MM, addr int, site string) *pmdLeafLock {
	pmd := m.pmdOffset(addr)
	if pmd == nil {
		return nil
	}
	slot := &pmd.e[k.Geo.pmdIndex(addr)]
	pmd.ptl.Lock(t, site)
	if e := slot.Load(); e != nil && e.Leaf != nil {
		return &pmdLeafLock{pmd: pmd, slot: slot, e: e}
	}
	pmd.ptl.Unlock(t, site)
	return nil
}

// thpFaultAllowed is thp_vma_allowable_order(vma, ..., TVA_IN_PF,
// PMD_ORDER) for an anonymous VMA with transparent_hugepage/enabled set to
// "madvise": the VMA asked for THPs (VM_HUGEPAGE, the program's "thp") and
// the aligned range around addr lies inside it.
func (v *VMA) thpFaultAllowed(addr int) bool {
	return v.isAnon() && v.Flags()&VMHugepage != 0 && v.Flags()&VMStackIncompleteSetup == 0 && v.thpSuitable(addr)
}

// doHugePMDAnonymousPage mirrors do_huge_pmd_anonymous_page() →
// __do_huge_pmd_anonymous_page() → map_anon_folio_pmd() (v6.12+), with
// transparent_hugepage/use_zero_page off (so a read fault maps a THP too,
// not the huge zero page): prepare the anon_vma, allocate the THP and the
// PTE table to deposit with it, then under the PMD lock, if the PMD is
// still none, map the THP with a PMD leaf. It reports whether it fell back
// to PTEs (it never does in the model: the allocation cannot fail). pmd is
// the PMD table __handle_mm_fault allocated (vmf->pmd): a table freed
// since, which only a broken lock allows, is a use-after-free here.
func (k *Kernel) doHugePMDAnonymousPage(t *sched.Task, v *VMA, pmd *PMDTable, addr int, ff faultFlags) FaultResult {
	const site = "__do_huge_pmd_anonymous_page"
	m := v.mm
	g := k.Geo
	haddr := g.pmdBase(addr)
	if r := k.vmfAnonPrepare(t, v, ff); r != FaultDone {
		return r
	}
	f := k.allocFolioOrder(true, g.hpageOrder())
	pgtable := k.newPTETable() // pte_alloc_one: deposited with the THP
	k.use(t, &pmd.Obj, "pmd_lock")
	slot := &pmd.e[g.pmdIndex(addr)]
	pmd.ptl.Lock(t, site)
	if slot.Load() != nil {
		pmd.ptl.Unlock(t, site)
		k.discardFolio(f)
		pgtable.freed, pgtable.freedBy = true, "pte_free: never used"
		return FaultDone
	}
	// folio_add_new_anon_rmap(folio, vma, haddr, RMAP_EXCLUSIVE)
	if v.AnonVMA() == nil {
		bugOn(t, "__folio_set_anon: BUG_ON(!anon_vma): new THP in %s, which has no anon_vma", v.Describe())
	}
	f.anonVMA, f.index = v.AnonVMA(), v.linearPageIndex(haddr)
	f.mapcount.Add(1)
	f.entire.Add(1)
	leaf := &PTE{Kind: PTEPresent, Folio: f, Read: true, Write: v.Flags()&VMWrite != 0, ID: k.newID(), Huge: true}
	k.depositTable(t, pmd, pgtable)
	k.setPMD(t, m, pmd, slot, haddr, &PMDEntry{Leaf: leaf}, site)
	m.rssAnon.Add(int64(f.Nr()))
	pmd.ptl.Unlock(t, site)
	return FaultDone
}

// doHugePMDWPPage mirrors wp_huge_pmd() → do_huge_pmd_wp_page() (v6.12+):
// a write fault on a read-only THP leaf. Under the PMD lock (re-checking
// the entry), with the folio lock (trylock, else drop the PMD lock, sleep
// on the folio lock and re-check), the THP is reused when this leaf holds
// its only reference (folio_ref_count == 1: not shared after fork, not
// pinned): the leaf becomes writable. Otherwise — and always for a file
// THP — the PMD is split (__split_huge_pmd) and the fault falls back to
// PTEs (it reports true).
func (k *Kernel) doHugePMDWPPage(t *sched.Task, v *VMA, addr int, orig *PMDEntry) (FaultResult, bool) {
	const site = "do_huge_pmd_wp_page"
	m := v.mm
	if !v.isAnon() {
		k.splitHugePMDAt(t, v, addr, false, nil, "wp_huge_pmd")
		return FaultDone, true
	}
	pmd := m.pmdOffset(addr)
	slot := &pmd.e[k.Geo.pmdIndex(addr)]
	pmd.ptl.Lock(t, site)
	if slot.Load() != orig { // !pmd_same
		pmd.ptl.Unlock(t, site)
		return FaultDone, false
	}
	f := orig.Leaf.Folio
	if !f.lock.Trylock(t, site) {
		f.pin() // folio_get
		pmd.ptl.Unlock(t, site)
		f.lock.Lock(t, site)
		pmd.ptl.Lock(t, site)
		if slot.Load() != orig {
			pmd.ptl.Unlock(t, site)
			f.lock.Unlock(t, site)
			k.unpin(t, f, site)
			return FaultDone, false
		}
		k.unpin(t, f, site)
	}
	if f.mapcount.Load() == 1 && f.pinCount() == 0 { // folio_ref_count(folio) == 1
		if f.anonVMA != v.AnonVMA() {
			t.Point(sched.KindWrite, f.name, "folio_move_anon_rmap", "mapping "+f.anonVMA.name+" -> "+v.AnonVMA().name)
			f.anonVMA = v.AnonVMA()
		}
		f.lock.Unlock(t, site)
		leaf := *orig.Leaf
		leaf.Write = v.Flags()&VMWrite != 0 // maybe_pmd_mkwrite
		k.setPMD(t, m, pmd, slot, addr, &PMDEntry{Leaf: &leaf}, "pmdp_set_access_flags")
		pmd.ptl.Unlock(t, site)
		return FaultDone, false
	}
	f.lock.Unlock(t, site)
	pmd.ptl.Unlock(t, site)
	k.splitHugePMDAt(t, v, addr, false, nil, "__split_huge_pmd")
	return FaultDone, true
}

// pmdMigrationEntryWait mirrors pmd_migration_entry_wait(): under the PMD
// lock re-check that the entry is a PMD migration entry, then sleep until
// its folio is unlocked (migration_entry_wait_on_locked drops the lock).
func (k *Kernel) pmdMigrationEntryWait(t *sched.Task, m *MM, addr int) {
	const site = "pmd_migration_entry_wait"
	pmd := m.pmdOffset(addr)
	if pmd == nil {
		return
	}
	slot := &pmd.e[k.Geo.pmdIndex(addr)]
	pmd.ptl.Lock(t, site)
	e := slot.Load()
	if e == nil || e.Leaf == nil || e.Leaf.Kind != PTEMigration {
		pmd.ptl.Unlock(t, site)
		return
	}
	f := e.Leaf.PageFolio()
	k.checkMigrationEntryOwner(t, m, addr, f, func() { pmd.ptl.Unlock(t, site) })
	pmd.ptl.Unlock(t, site)
	f.lock.WaitUnlocked(t, "migration_entry_wait_on_locked")
}

// checkMigrationEntryOwner is migration_entry_wait_on_locked()'s look at
// the folio an entry names, under the PTL (a scheduling point of its own),
// with migration_entry_to_page()'s BUG_ON(!PageLocked): a migration entry
// is only there while its folio is locked by its migrator; unlock releases
// what the caller holds first.
func (k *Kernel) checkMigrationEntryOwner(t *sched.Task, m *MM, addr int, f *Folio, unlock func()) {
	t.Point(sched.KindRead, f.name, "migration_entry_wait_on_locked", "pfn_swap_entry_folio: the folio must be locked")
	k.checked("no-straggling-migration-entry")
	if !f.freed && f.lock.IsLocked() {
		return
	}
	unlock()
	state := "is not locked"
	if f.freed {
		state = f.FreedAt()
	}
	t.Fail(sched.Violation{Invariant: "no-straggling-migration-entry", Detail: fmt.Sprintf("fault at %s %#x meets a migration entry for %s, which %s: a migration left it behind", m.name, addr, f.name, state)})
}

// copyHugePMD mirrors copy_huge_pmd() (fork, v6.12+): a THP leaf or PMD
// migration entry of an anonymous VMA is shared with the child under both
// PMD locks (the child's, then the parent's nested): the THP gets another
// PMD mapping, write-protected in both, with a table deposited in the
// child; a writable migration entry becomes readable in both. A file VMA's
// leaf is not copied (refilled on fault). It returns false when the entry
// is no leaf any more (-EAGAIN: the caller copies the PTE table), and
// appends the pages it copied to copied.
func (k *Kernel) copyHugePMD(t *sched.Task, dst, src *VMA, addr int, copied *[]int) bool {
	const site = "copy_huge_pmd"
	g := k.Geo
	if !dst.isAnon() {
		return true // skip: refilled on fault
	}
	pm, cm := src.mm, dst.mm
	pgtable := k.newPTETable()
	dpmd := k.pmdAlloc(t, cm, addr, site)
	spmd := pm.pmdOffset(addr)
	dslot, sslot := &dpmd.e[g.pmdIndex(addr)], &spmd.e[g.pmdIndex(addr)]
	dpmd.ptl.Lock(t, site)
	spmd.ptl.LockNested(t, ksync.SingleDepthNesting, site)
	defer func() {
		spmd.ptl.Unlock(t, site)
		dpmd.ptl.Unlock(t, site)
	}()
	e := sslot.Load()
	if e == nil || e.Leaf == nil {
		pgtable.freed, pgtable.freedBy = true, "pte_free: never used"
		return false
	}
	leaf := e.Leaf
	f := leaf.Folio
	child := *leaf
	child.ID = k.newID()
	child.Write = false
	if leaf.Kind == PTEMigration {
		if leaf.Write {
			ro := *leaf
			ro.Write = false
			k.setPMD(t, pm, spmd, sslot, addr, &PMDEntry{Leaf: &ro}, "copy_huge_pmd: make_readable_migration_entry")
		}
	} else {
		k.use(t, &f.Obj, site)
		f.mapcount.Add(1) // folio_try_dup_anon_rmap_pmd
		f.entire.Add(1)
		if leaf.Write {
			ro := *leaf
			ro.Write = false
			k.setPMD(t, pm, spmd, sslot, addr, &PMDEntry{Leaf: &ro}, "pmdp_set_wrprotect")
		}
	}
	cm.rssAnon.Add(int64(f.Nr()))
	k.depositTable(t, dpmd, pgtable)
	k.setPMD(t, cm, dpmd, dslot, addr, &PMDEntry{Leaf: &child}, site)
	for i := 0; i < g.PTEs; i++ {
		*copied = append(*copied, addr+i)
	}
	return true
}

// zapHugePMD mirrors zap_huge_pmd(): under the PMD lock, clear the leaf
// (pmdp_huge_get_and_clear_full); a THP loses the PMD mapping and goes to
// the mmu_gather (freed after the flush when it was the last mapping); an
// anon leaf's deposited table is freed (zap_deposited_table). False when
// the entry is no leaf any more (the caller zaps a PTE table).
func (k *Kernel) zapHugePMD(t *sched.Task, v *VMA, addr int, site string, zd zapDetails) bool {
	const lsite = "zap_huge_pmd"
	m := v.mm
	g := k.Geo
	l := k.pmdTransHugeLock(t, m, addr, lsite)
	if l == nil {
		return false
	}
	pmd, slot, e := l.pmd, l.slot, l.e
	k.setPMD(t, m, pmd, slot, addr, nil, lsite)
	if zd.fresh {
		k.logMem(t, MemEvent{Kind: MemZero, MM: m.name, Addr: addr, Len: g.PTEs})
	}
	f := e.Leaf.Folio
	if e.Leaf.Kind == PTEPresent {
		k.use(t, &f.Obj, site)
		if gth := k.gathering(t, addr, addr+g.PTEs); gth != nil {
			// tlb_remove_page_size (after the unlock in the kernel): the
			// mapping's reference goes to the gather, which puts it after
			// the flush.
			f.pin()
			gth.pages = append(gth.pages, f)
		}
		f.entire.Add(-1) // folio_remove_rmap_pmd
		k.dropMapping(t, f, lsite)
	}
	if f.anon {
		tbl := k.withdrawTable(t, pmd, "zap_deposited_table")
		k.freeTable(t, m, &tbl.Obj, "zap_deposited_table")
		m.rssAnon.Add(-int64(f.Nr()))
	} else {
		m.rssFile.Add(-int64(f.Nr()))
	}
	pmd.ptl.Unlock(t, lsite)
	return true
}

// moveHugePMD mirrors move_pgt_entry(HPAGE_PMD) → move_huge_pmd(): with the
// rmap locks if need_rmap_locks, under the old PMD lock (re-checking the
// leaf, __pmd_trans_huge_lock) and the new one nested, move the leaf and
// its deposited table, flushing the old range if it was present. False
// when the entry is no leaf any more.
func (k *Kernel) moveHugePMD(t *sched.Task, pmc *pagetableMove, oa, na int) bool {
	const site = "move_huge_pmd"
	g := k.Geo
	om, nm := pmc.old.mm, pmc.new.mm
	locks := k.rmapLocksForMove(t, pmc, moveHPagePMD, site)
	defer func() {
		if locks {
			k.dropRmapLocks(t, pmc.old, "drop_rmap_locks")
		}
	}()
	npmd := nm.pmdOffset(na)
	nslot := &npmd.e[g.pmdIndex(na)]
	if nslot.Load() != nil {
		return false // WARN_ON(!pmd_none(*new_pmd))
	}
	l := k.pmdTransHugeLock(t, om, oa, site)
	if l == nil {
		return false
	}
	opmd, oslot, e := l.pmd, l.slot, l.e
	if npmd != opmd {
		npmd.ptl.LockNested(t, ksync.SingleDepthNesting, site)
	}
	k.setPMD(t, om, opmd, oslot, oa, nil, "pmdp_huge_get_and_clear")
	if npmd != opmd && e.Leaf.Folio.anon {
		// pmd_move_must_withdraw: the deposited table follows the leaf
		// to the new PMD table's list.
		k.depositTable(t, npmd, k.withdrawTable(t, opmd, site))
	}
	k.setPMD(t, nm, npmd, nslot, na, e, site)
	for i := 0; i < g.PTEs; i++ {
		k.logMove(t, om, oa+i, nm, na+i)
	}
	if e.Leaf.Kind == PTEPresent {
		k.flushTLBRange(t, om, oa, oa+g.PTEs, "flush_pmd_tlb_range")
	}
	if npmd != opmd {
		npmd.ptl.Unlock(t, site)
	}
	opmd.ptl.Unlock(t, site)
	return true
}

// changeHugePMD mirrors change_huge_pmd() (mprotect): under the PMD lock
// (__pmd_trans_huge_lock), a THP leaf takes the VMA's new protection
// (pmdp_invalidate_ad, pmd_modify), a writable PMD migration entry
// becomes readable. False when the entry is no leaf any more.
func (k *Kernel) changeHugePMD(t *sched.Task, v *VMA, addr int) bool {
	const site = "change_huge_pmd"
	m := v.mm
	l := k.pmdTransHugeLock(t, m, addr, site)
	if l == nil {
		return false
	}
	pmd, slot, e := l.pmd, l.slot, l.e
	leaf := *e.Leaf
	switch {
	case leaf.Kind == PTEMigration:
		if leaf.Write {
			leaf.Write = false
			k.setPMD(t, m, pmd, slot, addr, &PMDEntry{Leaf: &leaf}, site+": make_readable_migration_entry")
		}
	default:
		leaf.Read, leaf.Write = ptePerms(v, leaf.Folio, leaf.Write)
		k.setPMD(t, m, pmd, slot, addr, &PMDEntry{Leaf: &leaf}, site)
	}
	pmd.ptl.Unlock(t, site)
	return true
}
