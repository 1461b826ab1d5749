package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// MmapArgs describe a mapping: [Start, Start+Len) with protection Prot
// (VMRead/VMWrite), anonymous when File is nil, else File from page Pgoff,
// shared or private.
type MmapArgs struct {
	Start, Len int
	Prot       Flags
	File       *File
	Pgoff      int
	Shared     bool
	THP        bool // madvise(MADV_HUGEPAGE) on the range right after: VM_HUGEPAGE
}

// Mmap mirrors vm_mmap_pgoff() → do_mmap() → mmap_region() →
// __mmap_region() with MAP_FIXED: mmap_lock W for the whole call.
func (k *Kernel) Mmap(t *sched.Task, m *MM, a MmapArgs) error {
	if a.Len <= 0 || a.Start < 0 || a.Start+a.Len > k.Geo.Pages() {
		return fmt.Errorf("mmap: range %#x+%d outside the address space", a.Start, a.Len)
	}
	if a.File != nil && (a.Pgoff < 0 || a.Pgoff+a.Len > a.File.npages) {
		return fmt.Errorf("mmap: %s has %d pages, mapping needs %d from %#x", a.File.name, a.File.npages, a.Len, a.Pgoff)
	}
	if a.File != nil && a.File.hugetlb {
		if a.THP {
			return fmt.Errorf("mmap: EINVAL: MADV_HUGEPAGE on a hugetlb mapping")
		}
		if err := k.hugetlbMmapCheck(a); err != nil {
			return err
		}
	}
	m.lock.WriteLock(t, "vm_mmap_pgoff")
	defer m.lock.WriteUnlock(t, "vm_mmap_pgoff")
	start, end := a.Start, a.Start+a.Len
	if err := k.hugetlbRangeCheck(m, start, end, false, "mmap"); err != nil {
		return err
	}
	if a.File != nil && a.File.hugetlb {
		if err := k.hugetlbfsFileMmap(t, a); err != nil {
			return err
		}
	}
	flags := a.Prot & vmProtMask
	pgoff := a.Pgoff
	if a.File == nil {
		pgoff = start // private anonymous: vm_pgoff = addr >> PAGE_SHIFT
	}
	if a.Shared {
		flags |= VMShared
	}
	if a.File != nil && a.File.hugetlb {
		flags |= VMHugetlb
	}
	if flags&VMWrite != 0 && !a.Shared {
		flags |= VMAccount // accountable_mapping(): private and writable
	}
	if a.THP {
		// The mapping is born with VM_HUGEPAGE, as if madvise(MADV_HUGEPAGE)
		// followed the mmap at once (a simplification: the model has no
		// MADV_HUGEPAGE op, whose flag change would split and merge VMAs as
		// mprotect does).
		flags |= VMHugepage
	}
	// __mmap_prepare: MAP_FIXED over existing mappings unmaps them first.
	// (Simplification: the kernel finishes that munmap after the new VMA is
	// in the tree, in __mmap_complete; all of it is under mmap_lock W.)
	if len(m.overlapping(start, end)) > 0 {
		k.doVMIAlignMunmap(t, m, start, end, false)
	}
	// From here the range has no PTEs and no VMA: a concurrent access faults
	// and waits for mmap_lock, then sees the new mapping's fresh memory.
	k.logMem(t, MemEvent{Kind: MemZero, MM: m.name, Addr: start, Len: a.Len})
	// vma_merge_new_range: try the neighbours.
	var prev, next *VMA
	for _, s := range *m.tree.Load() {
		if s.end == start {
			prev = s.vma
		}
		if s.start == end {
			next = s.vma
		}
	}
	okPrev := mergeable(prev, flags, a.File) && prev.pgoff+prev.Pages() == pgoff
	okNext := mergeable(next, flags, a.File) && next.pgoff == pgoff+a.Len
	var v *VMA
	switch {
	case okPrev && okNext && anonCompatible(prev, next):
		k.vmaExpandTo(t, prev, prev.start, next.end, next, nil, "vma_merge_new_range")
		v = prev
	case okPrev:
		k.vmaExpandTo(t, prev, prev.start, end, nil, nil, "vma_merge_new_range")
		v = prev
	case okNext:
		k.vmaExpandTo(t, next, start, next.end, nil, nil, "vma_merge_new_range")
		v = next
	default:
		v = k.mmapNewVMA(t, m, start, end, pgoff, flags, a.File)
	}
	if v.file != nil {
		k.uprobeMmap(t, v) // __mmap_complete → uprobe_mmap
	}
	return nil
}

// mmapNewVMA mirrors __mmap_new_vma(): the new VMA is write-locked before it
// becomes visible and before i_mmap_rwsem is taken (1c7873e33645), stored in
// the maple tree, then linked into i_mmap. A private anonymous VMA gets no
// anon_vma here: the first write fault prepares one.
func (k *Kernel) mmapNewVMA(t *sched.Task, m *MM, start, end, pgoff int, flags Flags, file *File) *VMA {
	const site = "__mmap_new_vma"
	v := k.newVMA(t, m, start, end, pgoff, flags, file)
	if file == nil || !k.Variants.Has("mmap-vma-lock-after-i_mmap") {
		v.lock.StartWrite(t, site)
		v.lock.MarkAttached(t, site)
		m.vmaIterStore(t, v, site)
		m.mapCount++
		if file != nil {
			k.vmaLinkFile(t, v, "vma_link_file")
		}
		return v
	}
	// D.11a: before 1c7873e33645 the VMA was write-locked inside
	// vma_link_file, under i_mmap_rwsem, after it was stored in the tree.
	k.vmaLinkFile(t, v, "vma_link_file")
	v.lock.MarkAttached(t, site)
	m.vmaIterStore(t, v, site)
	m.mapCount++
	return v
}

// hugetlbfsFileMmap mirrors fs/hugetlbfs/inode.c hugetlbfs_file_mmap()
// (v6.17): under the inode's i_rwsem, hugetlb_reserve_pages for a
// VM_MAYSHARE mapping. The inode lock keeps the reservation from
// interleaving with a hole punch's (remove_inode_hugepages →
// hugetlb_unreserve_pages), which holds it for its whole op: without it
// the punch's region_del and the mmap's region_chg/region_add interleave
// and resv_huge_pages drifts from the reserve map (hugetlb-reservation).
// The kernel calls ->mmap after gathering the MAP_FIXED unmap and aborts
// that on failure (vms_abort_munmap_vmas); the model reserves first, so a
// failure leaves nothing to undo. The lock is held over the same steps as
// the kernel's: the reservation, nothing of the unmap or the linking.
func (k *Kernel) hugetlbfsFileMmap(t *sched.Task, a MmapArgs) error {
	const site = "hugetlbfs_file_mmap"
	f := a.File
	f.hirwsem.DownWrite(t, site) // inode_lock
	defer f.hirwsem.UpWrite(t, site)
	if !a.Shared {
		return nil // private: the model reserves nothing (hugetlbpool.go)
	}
	return k.hugetlbReservePages(t, f, a.Pgoff, a.Pgoff+a.Len)
}
