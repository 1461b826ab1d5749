package kernelsim

import (
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// copyHugetlbPageRange mirrors copy_hugetlb_page_range() (mm/hugetlb.c,
// v6.16 with 14967a9c7d24) for a shared hugetlb VMA: under the source
// VMA's hugetlb lock (read: hugetlb_walk in the source must not race with
// huge_pmd_unshare), per huge page: hugetlb_walk in the parent, then
// huge_pte_alloc in the child — which may share the parent's PMD table
// (huge_pmd_share finds the parent's VMA in i_mmap) —; a shared table has
// nothing to copy ("If the pagetables are shared, there is nothing to do",
// ptdesc_pmd_is_shared); else under the child's huge_pte_lock and the
// parent's (nested), the leaf is copied with another file rmap.
//
// The faithful kernel never gets here for the model's hugetlb VMAs, which
// are shared and have no anon_vma: vma_needs_copy() leaves their page
// tables to be refaulted (bcd51a3c679d "hugetlbfs: lazy page table copies
// in fork()"). Only variant hugetlb-fork-shared-pmd-double-lock copies
// them, as a kernel with bcd51a3c679d reverted does (which is how the 2025
// self-deadlock was shown), and with 59d9094df3d7's share detection by
// page_count(), which the pt_share_count rework made always 1: the child
// then locks the shared table's lock twice.
func (k *Kernel) copyHugetlbPageRange(t *sched.Task, dst, src *VMA) {
	const site = "copy_hugetlb_page_range"
	g := k.Geo
	span := g.pudSpan()
	pageCountCheck := k.Variants.Enabled("hugetlb-fork-shared-pmd-double-lock")
	hugetlbVMALockRead(t, src, site)
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
			if leaf.Kind == PTEPresent {
				k.use(t, &leaf.Folio.Obj, site)
				leaf.Folio.mapcount.Add(1) // hugetlb_add_file_rmap
				leaf.Folio.entire.Add(1)
			}
			k.setPMD(t, dst.mm, dp.pmd, dp.slot, addr, &PMDEntry{Leaf: &leaf}, "set_huge_pte_at")
		}
		sp.pmd.ptl.Unlock(t, site)
		dp.unlock(t, site)
	}
	hugetlbVMAUnlockRead(t, src, site)
}
