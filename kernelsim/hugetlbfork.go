package kernelsim

import (
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// copyHugetlbPageRange mirrors copy_hugetlb_page_range() (mm/hugetlb.c,
// v6.17 with 14967a9c7d24). For a shared hugetlb VMA: under the source
// VMA's hugetlb lock (read: hugetlb_walk in the source must not race with
// huge_pmd_unshare), per huge page: hugetlb_walk in the parent, then
// huge_pte_alloc in the child — which may share the parent's PMD table
// (huge_pmd_share finds the parent's VMA in i_mmap) —; a shared table has
// nothing to copy ("If the pagetables are shared, there is nothing to do",
// ptdesc_pmd_is_shared); else under the child's huge_pte_lock and the
// parent's (nested), the leaf is copied with another file rmap.
//
// For a private (COW) VMA the source VMA is write-locked instead
// (vma_assert_write_locked; dup_mmap holds mmap_lock W and
// write_protect_seq), and no hugetlb VMA lock is taken: its table is never
// shared. Under both PTLs, a writable migration entry is made readable in
// the parent before it is copied; a present leaf's folio gets another
// mapping (hugetlb_try_dup_anon_rmap for an anon folio — the model has no
// DMA pins, so it never fails into the copy of a pinned page —,
// hugetlb_add_file_rmap for a page-cache one) and is write-protected in
// the parent (huge_ptep_set_wrprotect) and the child. Only anon folios
// are the child's private memory, logged as copied; copied gathers them
// for dup_mmap, which logs them at its TLB flush.
//
// The faithful kernel never copies a shared hugetlb VMA, which has no
// anon_vma: vma_needs_copy() leaves its page tables to be refaulted
// (bcd51a3c679d "hugetlbfs: lazy page table copies in fork()"). Only
// variant hugetlb-fork-shared-pmd-double-lock copies them, as a kernel
// with bcd51a3c679d reverted does (which is how the 2025 self-deadlock was
// shown), and with 59d9094df3d7's share detection by page_count(), which
// the pt_share_count rework made always 1: the child then locks the shared
// table's lock twice.
func (k *Kernel) copyHugetlbPageRange(t *sched.Task, dst, src *VMA, copied []int) []int {
	const site = "copy_hugetlb_page_range"
	g := k.Geo
	span := g.pudSpan()
	cow := src.Flags()&VMShared == 0 // is_cow_mapping: private (and the model's private VMAs may write)
	pageCountCheck := k.Variants.Enabled("hugetlb-fork-shared-pmd-double-lock")
	if cow {
		src.lock.AssertWriteLocked(t, site+": vma_assert_write_locked")
	} else {
		hugetlbVMALockRead(t, src, site)
	}
	for addr := src.start; addr < src.end; addr += g.PTEs {
		sp := k.hugetlbWalk(t, src, addr, site)
		if sp == nil {
			addr = (addr/span+1)*span - g.PTEs // addr |= last_addr_mask
			continue
		}
		dp := k.hugePTEAlloc(t, dst, addr)
		t.Point(sched.KindRead, dp.pmd.name, site, "ptdesc_pmd_is_shared")
		shared := dp.pmd.share.Load() > 0
		if pageCountCheck {
			// page_count(virt_to_page(dst_pte)) > 1: since 59d9094df3d7
			// the sharers are counted in pt_share_count, not in the page's
			// refcount, which stays 1.
			shared = false
			if dp.pmd == sp.pmd {
				k.Variants.Hit("hugetlb-fork-shared-pmd-double-lock")
			}
		}
		if shared {
			addr = (addr/span+1)*span - g.PTEs
			continue
		}
		dp.lock(t, site)
		sp.pmd.ptl.LockNested(t, ksync.SingleDepthNesting, site) // huge_pte_lockptr(src), spin_lock_nested
		sp.deref(t, site)
		if e := sp.slot.Load(); e != nil && e.Leaf != nil && dp.slot.Load() == nil {
			leaf := *e.Leaf
			leaf.ID = k.newID() // the child's mapping is a new one
			switch {
			case leaf.Kind == PTEMigration && leaf.Write && cow:
				// "COW mappings require pages in both parent and child to
				// be set to read": make_readable_migration_entry.
				leaf.Write = false
				pl := *e.Leaf
				pl.Write = false
				k.setPMD(t, src.mm, sp.pmd, sp.slot, addr, &PMDEntry{Leaf: &pl}, site+": set_huge_pte_at (readable migration entry)")
			case leaf.Kind == PTEPresent:
				fo := leaf.Folio
				k.use(t, &fo.Obj, site)
				fo.mapcount.Add(1) // hugetlb_try_dup_anon_rmap / hugetlb_add_file_rmap
				fo.entire.Add(1)
				if cow {
					if e.Leaf.Write {
						pl := *e.Leaf
						pl.Write = false
						k.setPMD(t, src.mm, sp.pmd, sp.slot, addr, &PMDEntry{Leaf: &pl}, "huge_ptep_set_wrprotect")
					}
					leaf.Write = false
				}
			}
			if fo := leaf.PageFolio(); fo != nil && fo.anon {
				// The child's private memory: a migration entry's data
				// goes along with it as a present leaf's does.
				for i := 0; i < g.PTEs; i++ {
					copied = append(copied, addr+i)
				}
			}
			k.setPMD(t, dst.mm, dp.pmd, dp.slot, addr, &PMDEntry{Leaf: &leaf}, "set_huge_pte_at")
		}
		sp.pmd.ptl.Unlock(t, site)
		dp.unlock(t, site)
	}
	if !cow {
		hugetlbVMAUnlockRead(t, src, site)
	}
	return copied
}
