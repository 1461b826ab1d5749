package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// Hole punch of a shmem file: fallocate(fd, FALLOC_FL_PUNCH_HOLE |
// FALLOC_FL_KEEP_SIZE, ...) as shmem_fallocate() does it (mm/shmem.c,
// v6.16), the writer that takes pages out of the page cache while they may
// be mapped, faulted, migrated, reclaimed or collapsed: the reason
// filemap_fault re-checks folio->mapping under the folio lock, and
// rmap_walk_file's !folio->mapping return. (A hugetlbfs file's punch is
// hugetlbfs_punch_hole: hugetlbpunch.go.)
//
//  1. inode_lock (i_rwsem W).
//  2. unmap_mapping_range(mapping, start, len, even_cows=0): under
//     i_mmap_rwsem read, zap the range in every VMA mapping it
//     (zap_page_range_single; no mmap_lock, no VMA lock), leaving the
//     private COW copies (anon folios) in place.
//  3. shmem_truncate_range → shmem_undo_range: first find_lock_entries
//     (lockless lookup, folio_try_get, folio_trylock: a locked folio is
//     left for later, as is a large one the range does not cover whole)
//     and truncate_inode_folio for each; then the "whole" loop:
//     find_get_entries and a sleeping folio_lock, a folio no longer the
//     page cache's ("replaced by swap", or by migration or collapse) sends
//     it back to that index; a large folio the range cuts is zeroed in the
//     part the range covers and split (truncate_inode_partial_folio:
//     the small folios inside the range then go in this loop; a dirty
//     shmem folio that fails to split is kept, zeroed).
//  4. truncate_inode_folio: folio->mapping re-checked; a folio still
//     mapped (a fault mapped it again after step 2) is unmapped
//     (unmap_mapping_folio: step 2 for the folio's range); then
//     filemap_remove_folio: under the i_pages lock the slots are cleared
//     and folio->mapping goes; the page cache's reference is put.
//
// shmem_fallocate also publishes the range in inode->i_private so that a
// fault into it waits until the punch ends (shmem_falloc_wait): a fairness
// measure against faults that keep refilling the hole (its comment:
// "Trinity finds that probing a hole which tmpfs is punching can prevent
// the hole-punch from ever completing"), tested without a lock, so a fault
// may always be past that test when the punch begins. Leaving it out
// removes no interleaving the kernel has, and adds none the kernel lacks.
func (k *Kernel) Punch(t *sched.Task, f *File, start, n int) error {
	const site = "shmem_fallocate"
	end := start + n
	if n <= 0 || start < 0 || end > f.npages {
		return punchRangeErr(f, start, end)
	}
	if f.hugetlb {
		k.hugetlbfsPunchHole(t, f, start, end) // hugetlbpunch.go
		return nil
	}
	f.irwsem.DownWrite(t, "inode_lock")
	k.unmapMappingPages(t, f, start, n, "unmap_mapping_range")
	k.shmemUndoRange(t, f, start, end)
	f.irwsem.UpWrite(t, "inode_unlock")
	return nil
}

// unmapMappingPages mirrors unmap_mapping_pages(mapping, start, nr,
// even_cows=false) → unmap_mapping_range_tree (mm/memory.c): under
// i_mmap_rwsem read, for every VMA of i_mmap overlapping the file range,
// zap_page_range_single of its part with a gather of its own. Neither
// mmap_lock nor the VMA lock is held: i_mmap_rwsem keeps the VMA and its
// page tables (free_pgtables unlinks a file VMA from i_mmap, under the
// rwsem for write, before it frees a table), and the PTL and the RCU read
// section of pte_offset_map_lock keep each table while it is zapped.
func (k *Kernel) unmapMappingPages(t *sched.Task, f *File, first, nr int, site string) {
	last := first + nr - 1
	f.immap.DownRead(t, site) // i_mmap_lock_read
	it := &fileIter{k: k, f: f, first: first, last: last, site: site}
	defer t.SetWatch(nil)
	for v := it.step(t); v != nil; v = it.step(t) {
		// unmap_mapping_range_vma: the VMA's part of [first, last].
		zf, zl := max(first, v.pgoff), min(last, v.pgoff+v.Pages()-1)
		k.tlbGatherMMU(t, v.mm)
		k.zapPTERange(t, v, v.start+zf-v.pgoff, v.start+zl-v.pgoff+1, "unmap_mapping_range_vma", zapDetails{keepCOWs: true})
		k.tlbFinishMMU(t, "tlb_finish_mmu")
	}
	t.SetWatch(nil)
	f.immap.UpRead(t, site) // i_mmap_unlock_read
}

// shmemUndoRange mirrors shmem_undo_range(inode, lstart, lend, false) for
// the page range [start, end) (see Punch): the trylock pass, then the
// sleeping pass.
func (k *Kernel) shmemUndoRange(t *sched.Task, f *File, start, end int) {
	const site = "shmem_undo_range"
	// find_lock_entries: the folios it can lock at once, whole in range.
	for i := start; i < end; {
		fo := k.findGetEntry(t, f, i, "find_lock_entries")
		if fo == nil {
			i++
			continue
		}
		next := fo.index + fo.Nr()
		if fo.index < start || next > end || !fo.lock.Trylock(t, "find_lock_entries") {
			k.unpin(t, fo, "find_lock_entries") // left for the second pass
			i = max(i+1, next)
			continue
		}
		if f.pages[i].Load() == fo { // folio->mapping == mapping, index unchanged
			k.truncateInodeFolio(t, f, fo)
		}
		fo.lock.Unlock(t, site)
		k.unpin(t, fo, "folio_batch_release")
		i = max(i+1, next)
	}
	// The "whole" loop: find_get_entries, folio_lock.
	for i := start; i < end; {
		fo := k.findGetEntry(t, f, i, "find_get_entries")
		if fo == nil {
			i++
			continue
		}
		fo.lock.Lock(t, site)
		if f.pages[i].Load() != fo {
			// folio_mapping(folio) != mapping: "Page was replaced by
			// swap: retry" — index = indices[i], the lookup again.
			fo.lock.Unlock(t, site)
			k.unpin(t, fo, "folio_batch_release")
			continue
		}
		next := fo.index + fo.Nr()
		split := false
		if fo.index >= start && next <= end {
			k.truncateInodeFolio(t, f, fo)
		} else {
			split = k.truncateInodePartialFolio(t, f, fo, max(start, fo.index), min(end, next))
		}
		fo.lock.Unlock(t, site)
		k.unpin(t, fo, "folio_batch_release")
		// After a split the small folios the range covers go in this
		// loop, from index i again (shmem_undo_range keeps its start
		// after a successful split).
		if !split {
			i = max(i+1, next)
		}
	}
}

// findGetEntry is the lookup of find_get_entries and find_lock_entries
// (find_get_entry, mm/filemap.c): under RCU, the folio in the slot and
// folio_try_get; a folio whose count is zero (being freed, or frozen by a
// migration about to replace it) sends the walk round again
// (xas_reset), a spin that ends when the slot changes. It returns the
// folio pinned, or nil for a hole.
func (k *Kernel) findGetEntry(t *sched.Task, f *File, index int, site string) *Folio {
	rcu := k.Env.RCU()
	spin := false
	for {
		rcu.ReadLock(t, site)
		if spin {
			t.Yield(sched.KindRead, f.name+" i_pages", site, fmt.Sprintf("xas_find %#x (again)", index))
		} else {
			t.PointF(sched.KindRead, site, sched.Objf("%s i_pages").S(f.name).Detailf("xas_find %#x").N(index))
		}
		fo := f.pages[index].Load()
		if fo == nil {
			rcu.ReadUnlock(t, site)
			return nil
		}
		t.Point(sched.KindRead, fo.name, site, "folio_try_get")
		k.useRCU(t, &fo.Obj, site)
		ok := fo.tryPin()
		rcu.ReadUnlock(t, site)
		if ok {
			return fo
		}
		spin = true
	}
}

// truncateInodeFolio mirrors truncate_inode_folio() (mm/truncate.c) with
// the folio locked and pinned: truncate_cleanup_folio unmaps a folio that
// is still mapped (unmap_mapping_folio), then filemap_remove_folio takes it
// out of the page cache.
func (k *Kernel) truncateInodeFolio(t *sched.Task, f *File, fo *Folio) {
	t.Point(sched.KindRead, fo.name, "truncate_cleanup_folio", "folio_mapped")
	if fo.mapcount.Load() > 0 {
		// unmap_mapping_folio: the folio's range, under i_mmap_rwsem read.
		k.unmapMappingPages(t, f, fo.index, fo.Nr(), "unmap_mapping_folio")
	}
	k.filemapRemoveFolio(t, f, fo)
}

// filemapRemoveFolio mirrors filemap_remove_folio() (mm/filemap.c): under
// the i_pages lock, page_cache_delete clears the folio's slots (one store
// of the multi-index entry) and folio->mapping; the file's pages there
// read zero from now on (the memory log's hole); then filemap_free_folio
// puts the page cache's reference: the last put frees the folio.
func (k *Kernel) filemapRemoveFolio(t *sched.Task, f *File, fo *Folio) {
	const site = "filemap_remove_folio"
	f.xa.Lock(t, site)
	f.xaBegin(t, "page_cache_delete")
	t.PointF(sched.KindWrite, "page_cache_delete", sched.Objf("%s i_pages").S(f.name).Detailf("clear [%#x,%#x): %s").N(fo.index).N(fo.index+fo.Nr()).S(fo.name))
	for i := 0; i < fo.Nr(); i++ {
		f.pages[fo.index+i].Store(nil)
	}
	f.xaEnd(t)
	k.logMem(t, MemEvent{Kind: MemHole, Backing: Backing{File: f.name, Index: fo.index, Shared: true}, Len: fo.Nr()})
	fo.markDead() // folio->mapping = NULL; the page cache's reference goes at the caller's last put
	f.xa.Unlock(t, site)
}

// truncateInodePartialFolio mirrors truncate_inode_partial_folio() (v6.14)
// for a large folio the range [start, end) covers in part: folio_zero_range
// of the covered pages (mapped or not: a user access sees the zeroes at
// once), then split_folio (splitHugePageFile). It reports whether the
// folio was split; when the split fails (-EAGAIN: a reference besides the
// caller's) the dirty folio stays in the page cache, zeroed there.
func (k *Kernel) truncateInodePartialFolio(t *sched.Task, f *File, fo *Folio, start, end int) bool {
	const site = "truncate_inode_partial_folio"
	for i := start; i < end; i++ {
		t.PointF(sched.KindWrite, site, sched.Obj(fo.name).Detailf("folio_zero_range: page %#x").N(i-fo.index))
		fo.page(i - fo.index).Store(0)
		k.logMem(t, MemEvent{Kind: MemHole, Backing: Backing{File: f.name, Index: i, Shared: true}, Len: 1})
	}
	if err := k.splitHugePageFile(t, fo); err != nil {
		t.Record(sched.KindNote, fo.name, site, "split_folio: "+err.Error())
		return false
	}
	return true
}

// punchRangeErr is the EINVAL of a punch range outside the file.
func punchRangeErr(f *File, start, end int) error {
	return fmt.Errorf("punch: EINVAL: [%#x,%#x) is not inside %s's %d pages", start, end, f.name, f.npages)
}
