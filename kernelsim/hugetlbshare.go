package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// PMD sharing of hugetlb mappings (mm/hugetlb.c, v6.16). A shared hugetlb VMA that covers a whole PUD_SIZE range
// (in the model's geometry, PTEs*PMDs pages) may point its PUD entry at
// another mm's PMD table for the same file range instead of allocating its
// own; ptdesc->pt_share_count (PMDTable.share) counts the extra mms. The
// table is freed by free_pgtables of the mm that still maps it when the
// others have unshared: its last sharer.

// ShareCount returns the PMD table's pt_share_count: how many mms besides
// one map it.
func (p *PMDTable) ShareCount() int { return int(p.share.Load()) }

// pudSpan is PUD_SIZE in pages.
func (g Geometry) pudSpan() int { return g.PTEs * g.PMDs }

// vmaShareable is want_pmd_share() → vma_shareable(): a VM_MAYSHARE
// hugetlb VMA with a hugetlb VMA lock whose range covers the whole PUD_SIZE
// range around addr.
func (v *VMA) vmaShareable(addr int) bool {
	span := v.mm.k.Geo.pudSpan()
	base := addr / span * span
	return v.isHugetlb() && v.Flags()&VMShared != 0 && v.hlock != nil && base >= v.start && base+span <= v.end
}

// pageTableShareable is page_table_shareable(svma, vma, addr, idx): where
// svma maps file index idx, if svma's PMD table there could serve vma's
// addr (same PMD index, same flags, svma covers the whole PUD range and has
// its VMA lock); -1 if not.
func pageTableShareable(svma, v *VMA, addr, idx int) int {
	g := v.mm.k.Geo
	saddr := svma.start + (idx - svma.pgoff)
	span := g.pudSpan()
	sbase := saddr / span * span
	if saddr < 0 || g.pmdIndex(addr) != g.pmdIndex(saddr) || svma.Flags() != v.Flags() || sbase < svma.start || sbase+span > svma.end || svma.hlock == nil {
		return -1
	}
	return saddr
}

// hugePTEAlloc mirrors huge_pte_alloc() for a PMD_SIZE hstate: with the PUD
// none and sharing wanted, huge_pmd_share; else pmd_alloc. The caller holds
// the hugetlb VMA lock for read (hugetlb_fault).
func (k *Kernel) hugePTEAlloc(t *sched.Task, v *VMA, addr int) *hugePTE {
	const site = "huge_pte_alloc"
	m := v.mm
	t.Point(sched.KindRead, m.name+" pud", site, fmt.Sprintf("pud for %#x (lockless)", addr))
	var pmd *PMDTable
	if v.vmaShareable(addr) && m.pmdOffset(addr) == nil {
		pmd = k.hugePMDShare(t, v, addr)
	} else {
		pmd = k.pmdAlloc(t, m, addr, site)
	}
	return &hugePTE{m: m, addr: k.Geo.pmdBase(addr), pmd: pmd, slot: &pmd.e[k.Geo.pmdIndex(addr)]}
}

// hugePMDShare mirrors huge_pmd_share(): under i_mmap_rwsem for read, walk
// the VMAs of the file that map addr's index; the first other one whose
// PMD table could serve (page_table_shareable) and has one (hugetlb_walk,
// allowed by i_mmap) gets its share count raised (ptdesc_pmd_pts_inc);
// then under page_table_lock, if our PUD is still none it points at that
// table, else the count goes back. pmd_alloc gives whatever the PUD points
// at then (a table of our own if nothing was shared).
func (k *Kernel) hugePMDShare(t *sched.Task, v *VMA, addr int) *PMDTable {
	const site = "huge_pmd_share"
	m := v.mm
	f := v.file
	idx := v.linearPageIndex(addr)
	f.immap.DownRead(t, "i_mmap_lock_read")
	var spmd *PMDTable
	it := &fileIter{k: k, f: f, first: idx, last: idx, site: site}
	for svma := it.next(t); svma != nil; svma = it.next(t) {
		if svma == v {
			continue
		}
		k.useVMA(t, svma, site)
		saddr := pageTableShareable(svma, v, addr, idx)
		if saddr < 0 {
			continue
		}
		if sp := k.hugetlbWalk(t, svma, saddr, site); sp != nil {
			t.Point(sched.KindWrite, sp.pmd.name, site, fmt.Sprintf("ptdesc_pmd_pts_inc: share %s's table with %s", svma.mm.name, m.name))
			k.use(t, &sp.pmd.Obj, site)
			sp.pmd.share.Add(1)
			spmd = sp.pmd
			break
		}
	}
	if spmd != nil {
		slot := &m.pud[k.Geo.pudIndex(addr)]
		m.ptlock.Lock(t, site)
		if slot.Load() == nil {
			t.Point(sched.KindWrite, m.name+" pud", site, fmt.Sprintf("pud_populate %#x: shared %s (pt_share_count %d)", addr, spmd.name, spmd.share.Load()))
			slot.Store(spmd)
		} else {
			t.Point(sched.KindWrite, spmd.name, site, "ptdesc_pmd_pts_dec: the PUD was populated meanwhile")
			spmd.share.Add(-1)
		}
		m.ptlock.Unlock(t, site)
	}
	pmd := k.pmdAlloc(t, m, addr, site)
	f.immap.UpRead(t, "i_mmap_unlock_read")
	return pmd
}

// hugePMDUnshare mirrors huge_pmd_unshare(mm, vma, addr, ptep): with
// i_mmap_rwsem held for write and the hugetlb VMA lock held (both
// asserted), a shared table (pt_share_count non-zero) is unshared: our PUD
// cleared, the count dropped; the caller flushes the whole PUD range. It
// returns false for a table that is not shared (ours alone: zapped entry by
// entry and freed by free_pgtables). The caller holds huge_pte_lock.
// split is hugetlb_split's call (take_locks false), whose exclusion of
// walkers is mmap_lock W and the VMA write lock instead of the hugetlb VMA
// lock: the VMA lock is asserted only for the others.
func (k *Kernel) hugePMDUnshare(t *sched.Task, v *VMA, hp *hugePTE, split bool, site string) bool {
	m := v.mm
	hp.deref(t, site)
	t.Point(sched.KindRead, hp.pmd.name, "huge_pmd_unshare", "ptdesc_pmd_is_shared")
	if hp.pmd.share.Load() == 0 {
		return false
	}
	v.file.immap.AssertHeld(t, true, "huge_pmd_unshare: i_mmap_assert_write_locked")
	if v.hlock != nil && !split {
		v.hlock.AssertHeld(t, false, "huge_pmd_unshare: hugetlb_vma_assert_locked")
	}
	span := k.Geo.pudSpan()
	base := hp.addr / span * span
	t.Point(sched.KindWrite, m.name+" pud", "huge_pmd_unshare", fmt.Sprintf("pud_clear %#x: unshare %s (pt_share_count %d)", base, hp.pmd.name, hp.pmd.share.Load()))
	// The whole PUD range's translations go with the PUD entry: owed a
	// flush from before the store, as setPMD records it (in free mode a
	// concurrent tlb-coherence check must never see the entry gone and
	// nobody owing its flush).
	k.tlbPending(t, m, base, base+span)
	m.pud[k.Geo.pudIndex(base)].Store(nil)
	hp.pmd.share.Add(-1) // ptdesc_pmd_pts_dec
	return true
}

// hugetlbZap mirrors unmap_single_vma() for a hugetlb VMA:
// __hugetlb_zap_begin (hugetlb VMA lock W, then i_mmap W) →
// __unmap_hugepage_range (unmapHugepageRange) → __hugetlb_zap_end (the VMA
// lock dropped, or freed for the final unmap of munmap and exit,
// ZAP_FLAG_UNMAP; then i_mmap).
func (k *Kernel) hugetlbZap(t *sched.Task, v *VMA, start, end int, zd zapDetails) {
	f := v.file
	withLock := !k.Variants.Enabled("huge_pmd_unshare-without-vma-lock")
	if withLock {
		hugetlbVMALockWrite(t, v, "__hugetlb_zap_begin")
	}
	f.immap.DownWrite(t, "__hugetlb_zap_begin")
	k.unmapHugepageRange(t, v, start, end, zd, withLock)
	shareable := v.Flags()&VMShared != 0 // __vma_shareable_lock
	if !withLock && zd.unmap && shareable {
		v.hlock = nil
	}
	if withLock {
		if zd.unmap && shareable {
			// __hugetlb_vma_unlock_write_free: the final unmap frees the
			// lock (vm_private_data = NULL) with i_mmap still held, so no
			// rmap walker sees it half gone.
			l := v.hlock
			v.hlock = nil
			if l != nil {
				l.UpWrite(t, "__hugetlb_zap_end")
			}
		} else {
			// A private VMA's resv_map lock is only unlocked: "no free for
			// anon vmas, but still need to unlock" (vm_private_data keeps
			// the resv_map until hugetlb_vm_op_close); a fork child's
			// private VMA has none. Anon rmap walkers, which hold the
			// anon_vma lock and not i_mmap, may read it meanwhile.
			hugetlbVMAUnlockWrite(t, v, "__hugetlb_zap_end")
		}
	}
	f.immap.UpWrite(t, "__hugetlb_zap_end")
}

// unmapHugepageRange mirrors __unmap_hugepage_range(), its caller holding
// i_mmap W and (withLock) the hugetlb VMA lock W, in a gather of the
// caller's. Per huge page: hugetlb_walk; under huge_pte_lock, a shared PMD
// table is unshared (and the rest of its PUD range skipped:
// tlb_flush_pmd_range over it), else the leaf is cleared
// (huge_ptep_get_and_clear, hugetlb_remove_rmap).
func (k *Kernel) unmapHugepageRange(t *sched.Task, v *VMA, start, end int, zd zapDetails, withLock bool) {
	const site = "__unmap_hugepage_range"
	g := k.Geo
	m := v.mm
	span := g.pudSpan()
	flushLo, flushHi := -1, -1 // force_flush: the PUD ranges unshared
	for a := g.pmdBase(start); a < end; a += g.PTEs {
		hp := k.hugetlbWalk(t, v, a, site)
		if hp == nil {
			a = (a/span+1)*span - g.PTEs // address |= last_addr_mask
			continue
		}
		hp.lock(t, site)
		if k.hugePMDUnshare(t, v, hp, false, site) {
			if !withLock {
				k.Variants.Hit("huge_pmd_unshare-without-vma-lock")
			}
			hp.unlock(t, site)
			base := a / span * span
			k.gathering(t, base, base+span) // tlb_flush_pmd_range
			if flushLo < 0 {
				flushLo = base
			}
			flushHi = base + span
			a = base + span - g.PTEs
			continue
		}
		e := hp.slot.Load()
		if e == nil || e.Leaf == nil {
			hp.unlock(t, site)
			continue
		}
		k.setPMD(t, m, hp.pmd, hp.slot, a, nil, "huge_ptep_get_and_clear")
		gather := k.gathering(t, a, a+g.PTEs) // tlb_remove_huge_tlb_entry
		if zd.fresh {
			k.logMem(t, MemEvent{Kind: MemZero, MM: m.name, Addr: a, Len: g.PTEs})
		}
		if fo := e.Leaf.Folio; fo != nil && e.Leaf.Kind == PTEPresent {
			k.use(t, &fo.Obj, site)
			fo.entire.Add(-1) // hugetlb_remove_rmap
			if gather != nil {
				// tlb_remove_page_size: the mapping's reference now belongs
				// to the gather, put after the TLB flush (a migration's
				// refcount freeze fails until then).
				fo.pin()
				gather.pages = append(gather.pages, fo)
			}
			k.dropMapping(t, fo, site)
		}
		hp.unlock(t, site)
	}
	if flushLo >= 0 {
		// force_flush: tlb_flush_mmu_tlbonly before i_mmap is dropped. An
		// unshared table's translations must be gone before another
		// i_mmap W holder (a migration, the last sharer's zap) may free
		// what the table maps or the table itself.
		k.flushTLBRange(t, m, flushLo, flushHi, "tlb_flush_mmu_tlbonly")
	}
}

// hugetlbSplit mirrors hugetlb_split(vma, addr) (081056dc00a2, CVE-2025-38084), called by __split_vma after vma_prepare, with mmap_lock W, the VMA
// write-locked and i_mmap W: when the new boundary cuts a PUD range the VMA
// covers whole, the PMDs there are unshared now (hugetlb_unshare_pmds with
// take_locks false: the locks held exclude every walker the VMA lock
// would).
func (k *Kernel) hugetlbSplit(t *sched.Task, v *VMA, addr int) {
	const site = "hugetlb_split"
	v.lock.AssertWriteLocked(t, site+": vma_assert_write_locked")
	v.file.immap.AssertHeldIn(t, true, site, "i_mmap_assert_write_locked")
	k.hugetlbUnsharePMDs(t, v, addr, false)
}

// hugetlbVMOpSplit is variant hugetlb_split-before-vma-lock's
// hugetlb_vm_op_split() of b30c14cd6102 ("hugetlb: unshare some PMDs when
// splitting VMAs", 2023) up to 081056dc00a2: vm_ops->may_split, called by
// __split_vma before it write-locks the VMA or takes any rmap lock,
// unshares with take_locks true (the hugetlb VMA lock and i_mmap_rwsem for
// write, dropped again before the split goes on). Until __split_vma's
// vma_start_write a fault of the mm under the per-VMA lock, or another
// mm's first fault (huge_pmd_share, under i_mmap_rwsem read), may share
// the table again: the VMA still covers the whole PUD range. The split
// then leaves a shared table under two VMAs, each with its own hugetlb
// VMA lock, neither of which excludes the other's walkers.
func (k *Kernel) hugetlbVMOpSplit(t *sched.Task, v *VMA, addr int) {
	k.hugetlbUnsharePMDs(t, v, addr, true)
	k.relocks.Add(1)
	t.Window(sched.WindowRelock) // until __split_vma's vma_start_write (sched.Windower)
}

// checkSplitUnshared is shared-pmd-lifetime at __split_vma of a hugetlb
// VMA, once the new bounds are set (under the VMA write locks and
// i_mmap_rwsem W): a PMD table may be shared only under VMAs that cover its
// whole PUD range (vma_shareable; "PMD sharing is only possible for
// PUD_SIZE-aligned address ranges", hugetlb_split), because the hugetlb
// VMA lock that serialises its walkers against huge_pmd_unshare is one
// VMA's. A split that cuts the range must leave v's mm pointing at a table
// of its own: hugetlb_split unshared it under the locks that keep
// huge_pmd_share out until now. Found shared, the table is left under VMAs
// with different locks, whose walkers no longer exclude each other's
// unshare (D.8b).
func (k *Kernel) checkSplitUnshared(t *sched.Task, v *VMA, addr int) {
	span := k.Geo.pudSpan()
	if addr%span == 0 {
		return
	}
	k.checked("shared-pmd-lifetime")
	if pmd := v.mm.pmdOffset(addr); pmd != nil && pmd.ShareCount() > 0 {
		t.Fail(sched.Violation{Invariant: "shared-pmd-lifetime", Detail: fmt.Sprintf("__split_vma: %s cut at %#x maps %s, shared (pt_share_count %d): the split leaves a shared PMD table under VMAs that do not cover its PUD range [%#x,%#x), each with its own hugetlb VMA lock, so one sharer's walkers no longer exclude another's huge_pmd_unshare", v.Describe(), addr, pmd.name, pmd.ShareCount(), addr/span*span, addr/span*span+span)})
	}
}

// Relocks is how many times a task dropped the locks of a page-table
// change it goes on relying on until it takes locks again
// (sched.WindowRelock): only under a variant, and a sign that a run came
// close to that variant's race, which a search may give more schedules
// (hunt).
func (k *Kernel) Relocks() int64 { return k.relocks.Load() }

// hugetlbUnsharePMDs mirrors hugetlb_unshare_pmds() for the PUD range
// around addr, when addr cuts a PUD range v covers whole: under the PMD
// table's lock, huge_pmd_unshare, then flush_hugetlb_tlb_range. With
// takeLocks it takes the hugetlb VMA lock and i_mmap_rwsem for write
// itself; without, the caller's locks exclude every walker.
func (k *Kernel) hugetlbUnsharePMDs(t *sched.Task, v *VMA, addr int, takeLocks bool) {
	const site = "hugetlb_unshare_pmds"
	g := k.Geo
	span := g.pudSpan()
	if v.Flags()&VMShared == 0 || addr%span == 0 {
		return // !(vma->vm_flags & VM_MAYSHARE): a private VMA's tables are never shared
	}
	floor := addr / span * span
	if floor < v.start || floor+span > v.end {
		return
	}
	if takeLocks {
		k.Variants.Hit("hugetlb_split-before-vma-lock")
		hugetlbVMALockWrite(t, v, site)
		v.file.immap.DownWrite(t, site)
	}
	for a := floor; a < floor+span; a += g.PTEs {
		hp := k.hugetlbWalk(t, v, a, site)
		if hp == nil {
			break
		}
		hp.lock(t, site)
		if k.hugePMDUnshare(t, v, hp, !takeLocks, site) {
			hp.unlock(t, site)
			k.flushTLBRange(t, v.mm, floor, floor+span, site)
			break
		}
		hp.unlock(t, site)
	}
	if takeLocks {
		v.file.immap.UpWrite(t, site)
		hugetlbVMAUnlockWrite(t, v, site)
	}
}

// hugetlbRangeCheck refuses what the model does not do with hugetlb VMAs in
// [start, end) of m: cutting one at an address that is not huge-page
// aligned (EINVAL, as hugetlb_vm_op_split and the alignment checks of
// munmap/mprotect/madvise answer) and, with whole set, touching one at all
// (mremap of hugetlb VMAs, move_hugetlb_page_tables, is not modelled).
func (k *Kernel) hugetlbRangeCheck(m *MM, start, end int, whole bool, op string) error {
	hp := k.Geo.PTEs
	for _, v := range m.overlapping(start, end) {
		if !v.isHugetlb() {
			continue
		}
		if whole {
			return fmt.Errorf("%s: %s of hugetlb VMA %s is not modelled", op, op, v.Describe())
		}
		if (start > v.start && start%hp != 0) || (end < v.end && end%hp != 0) {
			return fmt.Errorf("%s: EINVAL: [%#x,%#x) cuts hugetlb VMA %s inside a huge page", op, start, end, v.Describe())
		}
	}
	return nil
}

// checkSharedPMDFree is the shared-pmd-lifetime rule at free_pgtables'
// free of m's PMD table pmd: the table may be freed only by its last
// sharer: pt_share_count is zero and no other mm's PUD points at it.
func (k *Kernel) checkSharedPMDFree(t *sched.Task, m *MM, pmd *PMDTable, site string) {
	k.checked("shared-pmd-lifetime")
	var others []string
	for _, o := range k.MMs() {
		if o == m {
			continue
		}
		for i := range o.pud {
			if o.pud[i].Load() == pmd {
				others = append(others, o.name)
			}
		}
	}
	if n := pmd.share.Load(); n != 0 || len(others) > 0 {
		t.Fail(sched.Violation{Invariant: "shared-pmd-lifetime", Detail: fmt.Sprintf("%s: %s frees %s, whose pt_share_count is %d and which %v still map: a shared PMD table freed before its last sharer unshared it", site, m.name, pmd.name, n, others)})
	}
}
