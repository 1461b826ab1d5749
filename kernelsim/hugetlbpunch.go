package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/invnames"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// hugetlbfsPunchHole mirrors hugetlbfs_punch_hole() (fs/hugetlbfs/inode.c,
// v6.16, with the fix of the AB-BA deadlock syzbot reported against page
// migration, "Fix an AB-BA deadlock in hugetlbfs_punch_hole() involving
// page migration", Jinchao Wang, January 2026) for the pages [start, end)
// of a hugetlbfs file: under the inode's i_rwsem, with i_mmap_rwsem held
// for write, the huge pages the hole only cuts are zeroed there
// (hugetlbfs_zero_partial_page, whose folio lock is now a trylock: a
// locked folio drops i_mmap and starts again, "goto repeat", for a
// migration may hold that folio's lock while its remove_migration_ptes
// waits for i_mmap) and the whole ones are unmapped from every VMA whose
// hugetlb VMA lock can be trylocked (hugetlb_vmdelete_list: a VMA whose
// lock a fault holds is skipped); then, with i_mmap dropped,
// remove_inode_hugepages takes each whole huge page out of the page cache
// under its hugetlb fault mutex, unmapping it again first if a fault
// mapped it meanwhile or it was skipped (remove_inode_single_folio: "The
// mutex will prevent faults until we finish removing the folio"), and
// drops its index from the reserve map (hugetlb_unreserve_pages,
// hugetlbpool.go). The inode lock keeps hugetlbfs_file_mmap's reservation
// (mmap.go) out of the whole punch.
func (k *Kernel) hugetlbfsPunchHole(t *sched.Task, f *File, start, end int) {
	const site = "hugetlbfs_punch_hole"
	hp := k.Geo.PTEs
	holeStart := (start + hp - 1) / hp * hp
	holeEnd := end / hp * hp
	f.hirwsem.DownWrite(t, "inode_lock")
	for again := false; ; again = true {
		if again {
			t.Yield(sched.KindNote, f.name, site, "-EAGAIN: goto repeat")
		}
		f.immap.DownWrite(t, site) // i_mmap_lock_write
		if start < holeStart && !k.hugetlbfsZeroPartialPage(t, f, start, min(end, holeStart)) {
			f.immap.UpWrite(t, site)
			continue
		}
		if holeEnd > holeStart {
			k.hugetlbVMDeleteList(t, f, holeStart, holeEnd)
		}
		if end > holeEnd && end > holeStart && !k.hugetlbfsZeroPartialPage(t, f, max(start, holeEnd), end) {
			f.immap.UpWrite(t, site)
			continue
		}
		break
	}
	f.immap.UpWrite(t, site) // i_mmap_unlock_write
	if holeEnd > holeStart {
		k.removeInodeHugepages(t, f, holeStart, holeEnd)
	}
	f.hirwsem.UpWrite(t, "inode_unlock")
}

// hugetlbfsZeroPartialPage mirrors hugetlbfs_zero_partial_page(): the huge
// page holding [start, end), if the page cache has one, locked
// (filemap_lock_hugetlb_folio → filemap_lock_folio_nowait: false, -EAGAIN,
// when it is locked; with the variant
// hugetlbfs_punch_hole-folio-lock-under-i_mmap the sleeping lock of v6.16)
// and zeroed there (folio_zero_segment), mapped or not.
func (k *Kernel) hugetlbfsZeroPartialPage(t *sched.Task, f *File, start, end int) bool {
	const site = "hugetlbfs_zero_partial_page"
	idx := start / k.Geo.PTEs * k.Geo.PTEs
	for {
		fo := k.findGetEntry(t, f, idx, "filemap_lock_hugetlb_folio")
		if fo == nil {
			return true
		}
		if k.Variants.Enabled("hugetlbfs_punch_hole-folio-lock-under-i_mmap") {
			k.Variants.Hit("hugetlbfs_punch_hole-folio-lock-under-i_mmap")
			fo.lock.Lock(t, site)
		} else if !fo.lock.Trylock(t, "filemap_lock_folio_nowait") {
			k.unpin(t, fo, site)
			return false
		}
		if f.pages[idx].Load() != fo { // replaced meanwhile: look again
			fo.lock.Unlock(t, site)
			k.unpin(t, fo, site)
			continue
		}
		for i := start; i < end; i++ {
			t.PointF(sched.KindWrite, site, sched.Obj(fo.name).Detailf("folio_zero_segment: page %#x").N(i-idx))
			fo.page(i - idx).Store(0)
			k.logMem(t, MemEvent{Kind: MemHole, Backing: Backing{File: f.name, Index: i, Shared: true}, Len: 1})
		}
		fo.lock.Unlock(t, site)
		k.unpin(t, fo, site)
		return true
	}
}

// hugetlbVMDeleteList mirrors hugetlb_vmdelete_list(): with i_mmap_rwsem
// held for write, every VMA mapping the range whose hugetlb VMA lock
// hugetlb_vma_trylock_write gets has its part unmapped
// (unmap_hugepage_range: a gather of its own around
// __unmap_hugepage_range); the others are left to remove_inode_hugepages.
func (k *Kernel) hugetlbVMDeleteList(t *sched.Task, f *File, start, end int) {
	const site = "hugetlb_vmdelete_list"
	it := &fileIter{k: k, f: f, first: start, last: end - 1, site: site}
	defer t.SetWatch(nil)
	for v := it.step(t); v != nil; v = it.step(t) {
		if v.hlock != nil && !v.hlock.DownWriteTrylock(t, "hugetlb_vma_trylock_write") {
			continue
		}
		vs, ve := v.start+max(start, v.pgoff)-v.pgoff, v.start+min(end, v.pgoff+v.Pages())-v.pgoff
		k.unmapHugepageRangeGather(t, v, vs, ve)
		hugetlbVMAUnlockWrite(t, v, "hugetlb_vma_unlock_write")
	}
}

// unmapHugepageRangeGather mirrors unmap_hugepage_range(): tlb_gather_mmu,
// __unmap_hugepage_range (the caller holds i_mmap W and the VMA lock W),
// tlb_finish_mmu.
func (k *Kernel) unmapHugepageRangeGather(t *sched.Task, v *VMA, start, end int) {
	k.tlbGatherMMU(t, v.mm)
	// A private mapping loses its COW copies too (hugetlbfs discards them
	// on a punch): its next access reads the file again.
	k.unmapHugepageRange(t, v, start, end, zapDetails{fresh: v.Flags()&VMShared == 0}, true)
	k.tlbFinishMMU(t, "tlb_finish_mmu")
}

// removeInodeHugepages mirrors remove_inode_hugepages() for a hole punch:
// each huge page of [start, end) the page cache holds
// (filemap_get_folios: found under RCU and referenced) is removed under
// its hugetlb fault mutex (remove_inode_single_folio). The reference keeps
// a migration from replacing it meanwhile (its refcount freeze fails), so
// the folio is not looked up again.
func (k *Kernel) removeInodeHugepages(t *sched.Task, f *File, start, end int) {
	const site = "remove_inode_hugepages"
	for idx := start; idx < end; idx += k.Geo.PTEs {
		fo := k.findGetEntry(t, f, idx, "filemap_get_folios")
		if fo == nil {
			continue
		}
		mu := f.faultMutexFor(idx)
		mu.Lock(t, site)
		// remove_inode_single_folio: a folio still mapped was faulted in
		// after hugetlb_vmdelete_list, or sits in a VMA it skipped. The
		// folio is locked first ("Hold folio lock to guarantee no
		// concurrent migration": a migration between the check and the
		// lock, its entries not counted as mapped, maps the folio again
		// once done; v6.16 checked before locking, a race 10 minutes of
		// stress found in the model as it was).
		v616 := k.Variants.Enabled("hugetlbfs_punch_hole-folio-lock-under-i_mmap")
		if !v616 {
			fo.lock.Lock(t, "remove_inode_single_folio")
		}
		t.Point(sched.KindRead, fo.name, "remove_inode_single_folio", "folio_mapped")
		if fo.mapcount.Load() > 0 {
			k.hugetlbUnmapFileFolio(t, f, fo, idx)
		}
		if v616 {
			k.Variants.Hit("hugetlbfs_punch_hole-folio-lock-under-i_mmap")
			fo.lock.Lock(t, "remove_inode_single_folio")
		}
		k.filemapRemoveFolio(t, f, fo) // hugetlb_delete_from_page_cache
		k.hugetlbUnreservePage(t, f, idx)
		fo.lock.Unlock(t, "remove_inode_single_folio")
		mu.Unlock(t, site)
		k.unpin(t, fo, "folio_batch_release")
	}
}

// hugetlbUnmapFileFolio mirrors hugetlb_unmap_file_folio(): with
// i_mmap_rwsem held for write, unmap the folio from every VMA that maps it
// (hugetlb_vma_maps_pfn) whose VMA lock can be trylocked; at the first one
// that cannot, drop i_mmap (holding a reference on that hugetlb_vma_lock,
// the model's lock object itself), sleep on the VMA lock, take i_mmap
// again and, if the lock is still the VMA's (the VMA was not unmapped
// meanwhile: __hugetlb_vma_unlock_write_free detaches it) and the VMA
// still maps the folio, unmap it there; then look again from the start.
func (k *Kernel) hugetlbUnmapFileFolio(t *sched.Task, f *File, fo *Folio, idx int) {
	var folioLocked *ksync.Mutex // the caller holds fo's lock (not under the v6.16 variant)
	if !k.Variants.Enabled("hugetlbfs_punch_hole-folio-lock-under-i_mmap") {
		folioLocked = fo.lock
	}
	const site = "hugetlb_unmap_file_folio"
	hp := k.Geo.PTEs
	var waitV *VMA         // the VMA whose lock the last pass could not trylock
	var waitL *ksync.Rwsem // its hugetlb_vma_lock, referenced (kref_get)
	for {
		// i_mmap_lock_write: at the start, and again after sleeping on
		// waitL; "goto retry" keeps it held.
		f.immap.DownWrite(t, site)
		if waitV != nil {
			t.Point(sched.KindRead, waitL.Name(), site, "vma_lock->vma")
			alive := waitV.hlock == waitL // still attached: the VMA lives
			if alive && waitV.Flags()&VMShared == 0 {
				// A private VMA keeps its resv_map until it is freed,
				// so the lock says little of the VMA's life: the VMA
				// lives if i_mmap, held for write, still has it (and
				// the lock is still its own: the object was not freed
				// and reused by another VMA, which has a lock of its
				// own).
				alive = k.fileHasVMA(t, f, waitV, idx, idx+hp-1, site)
			}
			if alive {
				if vs := waitV.start + idx - waitV.pgoff; k.hugetlbVMAMapsFolio(t, waitV, vs, fo) {
					k.unmapHugepageRangeGather(t, waitV, vs, vs+hp)
				}
			}
			waitL.UpWrite(t, site)
			waitV, waitL = nil, nil
		}
		it := &fileIter{k: k, f: f, first: idx, last: idx + hp - 1, site: site}
		t.SetWatch(func() { it.alive(t) })
		for v := it.next(t); v != nil; v = it.next(t) {
			it.assertLocked(t)
			vs := v.start + idx - v.pgoff
			if !k.hugetlbVMAMapsFolio(t, v, vs, fo) {
				continue
			}
			if v.hlock != nil && !v.hlock.DownWriteTrylock(t, "hugetlb_vma_trylock_write") {
				if v.Flags()&VMShared == 0 && k.Variants.Has(privateVMALockVariant) {
					// A private VMA's lock is its resv_map's rw_sema
					// (__vma_private_lock, v6.7+), and its vm_private_data
					// the resv_map pointer tagged HPAGE_RESV_OWNER: the
					// mainline "vma_lock = vma->vm_private_data;
					// kref_get(&vma_lock->refs)" takes it for a struct
					// hugetlb_vma_lock, then sleeps on a rw_sema and reads
					// a vma pointer inside the resv_map.
					t.Fail(sched.Violation{Invariant: invnames.KernelOops, Detail: fmt.Sprintf("%s: hugetlb_vma_trylock_write of private %s failed (its resv_map's rw_sema is held), and vma_lock = vma->vm_private_data takes its resv_map pointer (tagged HPAGE_RESV_OWNER) for a struct hugetlb_vma_lock: kref_get, down_write and vma_lock->vma on the resv_map's memory", site, v.name)})
					continue
				}
				// kref_get(&vma_lock->refs); for a private VMA the faithful
				// model references its resv_map and its rw_sema instead.
				waitV, waitL = v, v.hlock
				break
			}
			k.unmapHugepageRangeGather(t, v, vs, vs+hp)
			hugetlbVMAUnlockWrite(t, v, "hugetlb_vma_unlock_write")
		}
		t.SetWatch(nil)
		if waitV == nil {
			break
		}
		f.immap.UpWrite(t, site)
		// down_write(&vma_lock->rw_sema). Since the fix of the punch's
		// race with migration the caller holds the folio lock here: folio
		// lock -> hugetlb VMA lock, against mm/rmap.c's hugetlbfs order
		// (hugetlb_no_page takes the VMA lock, then the folio lock). It
		// cannot deadlock: a holder of this VMA lock that could wait for
		// this folio's lock is a fault on the folio's index, which holds
		// the hugetlb fault mutex the punch holds, so it cannot be in
		// progress. The order check is skipped against the folio lock
		// alone (corpus/hugetlb_unmap_file_folio_under_the_folio_lock_sleeps_on_the_vma_lock.txt);
		// a deadlock would still be one.
		waitL.DownWriteBeneath(t, folioLocked, site)
	}
	f.immap.UpWrite(t, site)
}

// hugetlbVMAMapsFolio is hugetlb_vma_maps_pfn(): whether v's entry at addr
// maps fo (hugetlb_walk, allowed by the i_mmap_rwsem the caller holds).
func (k *Kernel) hugetlbVMAMapsFolio(t *sched.Task, v *VMA, addr int, fo *Folio) bool {
	if addr < v.start || addr >= v.end {
		return false
	}
	h := k.hugetlbWalk(t, v, addr, "hugetlb_vma_maps_pfn")
	if h == nil {
		return false
	}
	e := h.load(t, "hugetlb_vma_maps_pfn")
	return e != nil && e.Leaf != nil && e.Leaf.Kind == PTEPresent && e.Leaf.Folio == fo
}

// privateVMALockVariant is the mainline hugetlb_unmap_file_folio() for a
// private VMA whose lock it cannot trylock (variants.go).
const privateVMALockVariant = "hugetlb_unmap_file_folio-private-vm_private_data"

// fileHasVMA reports whether f's i_mmap tree, which the caller holds,
// still has v among the VMAs mapping [first, last].
func (k *Kernel) fileHasVMA(t *sched.Task, f *File, v *VMA, first, last int, site string) bool {
	it := &fileIter{k: k, f: f, first: first, last: last, site: site}
	for w := it.next(t); w != nil; w = it.next(t) {
		if w == v {
			return true
		}
	}
	return false
}
