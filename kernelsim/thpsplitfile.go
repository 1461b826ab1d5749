package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// splitHugePageFile mirrors split_huge_page_to_list_to_order(folio, NULL, 0)
// (v6.14, __split_huge_page) for a page-cache folio of a shmem file,
// locked and referenced by the caller (truncate_inode_partial_folio's
// split_folio): i_mmap_lock_read of the mapping (the file's rmap lock,
// where an anon split takes its anon_vma's for write), check that only
// its mappings and the caller reference it (can_split_folio), replace
// every mapping by migration entries (unmap_folio: try_to_migrate with
// TTU_RMAP_LOCKED | TTU_SYNC | TTU_SPLIT_HUGE_PMD), then under the i_pages
// lock check that the folio is still the page cache's (xas_load), freeze
// it, and make the tails folios of their own, locked, each stored in its
// slot of i_pages (__split_huge_page_tail, __xa_store); with the i_pages
// lock dropped, map them again (remap_page), then unlock and put each tail;
// i_mmap_unlock_read. The head stays locked, as the caller's. On a failed
// check or freeze, the large folio is mapped again (-EAGAIN).
//
// The kernel's v6.15+ truncate splits non-uniformly (try_folio_split:
// the page at the cut becomes order 0 and the rest large folios of
// decreasing orders); this is the uniform split of v6.14, to order 0.
func (k *Kernel) splitHugePageFile(t *sched.Task, fo *Folio) error {
	const site = "split_huge_page_to_list_to_order"
	f := fo.file
	if f == nil || fo.anon || fo.Hugetlb() {
		t.Internal("%s: %s is not a shmem page-cache folio", site, fo.name)
		return fmt.Errorf("EINVAL")
	}
	f.immap.DownRead(t, site) // i_mmap_lock_read
	defer f.immap.UpRead(t, site)
	if fo.pinCount() != 1 { // can_split_folio (racy, before unmap_folio): mappings, the page cache's and the caller's
		return fmt.Errorf("EAGAIN: %s has references besides its mappings", fo.name)
	}
	k.tryToMigrate(t, fo, ttuSplitHugePMD|ttuSync|ttuRmapLocked) // unmap_folio
	fail := func(why string) error {
		k.removeMigrationPTEs(t, fo, fo, true) // remap_page
		k.migrationDone(t, fo)
		return fmt.Errorf("EAGAIN: %s %s", fo.name, why)
	}
	f.xa.Lock(t, site)
	t.PointF(sched.KindRead, site, sched.Objf("%s i_pages").S(f.name).Detailf("xas_load %#x").N(fo.index))
	if f.pages[fo.index].Load() != fo {
		f.xa.Unlock(t, site)
		return fail("left the page cache during unmap_folio")
	}
	// folio_ref_freeze(folio, 1 + extra_pins): from here a lockless
	// lookup of the range (filemap_get_entry, find_get_entries) fails its
	// folio_try_get and looks again, until the slot holds a tail or the
	// head is unfrozen.
	if !fo.freeze() {
		f.xa.Unlock(t, site)
		return fail("is still mapped or referenced after unmap_folio")
	}
	nr := fo.Nr()
	tails := make([]*Folio, nr-1)
	for i := 1; i < nr; i++ {
		n := k.allocFolio(false)
		n.file, n.index = f, fo.index+i
		n.data.Store(fo.page(i).Load())
		n.pin() // the split's reference on the tail, put once it is unlocked
		if !n.lock.Trylock(t, "__split_huge_page_tail") {
			t.Internal("%s: the new folio %s is already locked", site, n.name)
		}
		tails[i-1] = n
	}
	// __split_huge_page: each tail takes the place of its page in i_pages
	// (__xa_store), under the i_pages lock the caller of the split holds.
	f.xaBegin(t, "__split_huge_page")
	t.PointF(sched.KindWrite, "__split_huge_page", sched.Objf("%s i_pages").S(f.name).Detailf("store the %d small folios of %s at [%#x,%#x)").N(nr).S(fo.name).N(fo.index).N(fo.index+nr))
	for i, n := range tails {
		f.pages[fo.index+1+i].Store(n)
	}
	f.xaEnd(t)
	fo.tail = nil
	fo.splitTails.Store(&tails)
	fo.order.Store(0)
	fo.unfreeze() // the head's references back (folio_ref_unfreeze)
	f.xa.Unlock(t, site)
	all := append([]*Folio{fo}, tails...)
	for _, n := range all {
		k.removeMigrationPTEs(t, n, n, true) // remap_page
		k.migrationDone(t, n)
	}
	for _, n := range tails {
		n.lock.Unlock(t, "__split_huge_page")
		k.unpin(t, n, "__split_huge_page")
	}
	return nil
}
