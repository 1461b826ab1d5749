package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// Migration of a hugetlb page-cache folio (mm/migrate.c, mm/rmap.c,
// mm/hugetlb.c, v6.16): the rmap walk under i_mmap_rwsem that page_vma_
// mapped_walk's hugetlb branch relies on (Peter Xu's case A), with
// huge_pmd_unshare inside try_to_migrate_one.

// unmapAndMoveHugePage mirrors unmap_and_move_huge_page() for a file
// (hugetlbfs) folio src, isolated by isolate_hugetlb: lock src (MIGRATE_SYNC
// sleeps for it), allocate dst; if src is mapped,
// hugetlb_folio_mapping_lock_write() trylocks i_mmap_rwsem for write (the
// hugetlb VMA locks rank above it, so try_to_migrate_one may only trylock
// them: the walk must hold i_mmap W for huge_pmd_unshare) and
// try_to_migrate(src, TTU_RMAP_LOCKED) runs; if src is no longer mapped,
// move_to_new_folio (hugetlbfs_migrate_folio →
// migrate_huge_page_move_mapping: the page-cache slot replaced under the
// i_pages lock, the refcount frozen); then remove_migration_ptes(src, dst
// or src on failure, RMP_LOCKED) and only then is i_mmap dropped: the fix
// of D.22 that puts hugetlb migration in the order mm/rmap.c gives for
// hugetlbfs (i_mmap_rwsem above the folio lock; "migrate: correct lock
// ordering for hugetlb file folios", late 2025, as Matthew Wilcox asked
// in the thread of the syzbot report). v6.16 dropped i_mmap after
// try_to_migrate and let remove_migration_ptes take it for read under the
// folio lock: variant hugetlbfs_punch_hole-folio-lock-under-i_mmap, which
// deadlocks against a hole punch zeroing the folio, and lets the punch's
// hugetlb_unmap_file_folio run between the two walks, skip the migration
// entries, and remove from the page cache a folio the failed migration
// then maps again.
func (k *Kernel) unmapAndMoveHugePage(t *sched.Task, m *MM, addr int, src *Folio) error {
	const site = "unmap_and_move_huge_page"
	if !src.lock.Trylock(t, site) {
		src.lock.Lock(t, site)
	}
	if src.anon {
		return k.unmapAndMoveAnonHugePage(t, m, addr, src)
	}
	if src.freed || src.file.pages[src.index].Load() != src {
		src.lock.Unlock(t, site)
		return nil // truncated or replaced meanwhile
	}
	dst := k.hugetlbMigrationTarget(t, false)
	wasMapped := false
	var err error
	v616 := k.Variants.Enabled("hugetlbfs_punch_hole-folio-lock-under-i_mmap")
	if src.mapcount.Load() > 0 {
		f := src.file
		if !f.immap.DownWriteTrylock(t, "hugetlb_folio_mapping_lock_write") {
			err = fmt.Errorf("migrate %s %#x: EAGAIN: i_mmap_rwsem of %s is contended", m.name, addr, f.name)
		} else {
			k.tryToMigrate(t, src, ttuRmapLocked)
			wasMapped = true
			if v616 {
				k.Variants.Hit("hugetlbfs_punch_hole-folio-lock-under-i_mmap")
				f.immap.UpWrite(t, "i_mmap_unlock_write")
			}
		}
	}
	moved := false
	if err == nil && src.mapcount.Load() == 0 {
		f := src.file
		// migrate_huge_page_move_mapping (v6.12+, folio_mc_copy): the
		// refcount checked, the contents copied under the folio lock
		// alone, and only then the refcount frozen under the i_pages lock.
		// A writer of the folio that holds neither the folio lock nor a
		// reference across the copy and the freeze loses its write.
		if src.pinCount() == 1 { // folio_ref_count(src) != expected_count: -EAGAIN
			t.PointF(sched.KindRead, "folio_mc_copy", sched.Obj(src.name).Detailf("copy into %s").S(dst.name))
			dst.copyFrom(src)
			f.xa.Lock(t, "migrate_huge_page_move_mapping")
			if f.pages[src.index].Load() == src && src.freeze() {
				dst.file, dst.index = f, src.index
				f.xaBegin(t, "migrate_huge_page_move_mapping")
				t.Point(sched.KindWrite, f.name+" i_pages", "migrate_huge_page_move_mapping", fmt.Sprintf("page cache %#x: %s -> %s", src.index, src.name, dst.name))
				f.pages[src.index].Store(dst)
				f.xaEnd(t)
				moved = true
			}
			f.xa.Unlock(t, "migrate_huge_page_move_mapping")
		}
	}
	if err == nil && !moved {
		err = fmt.Errorf("migrate %s %#x: EAGAIN: %s still mapped or referenced", m.name, addr, src.name)
	}
	if wasMapped {
		to := src
		if moved {
			to = dst
		}
		k.removeMigrationPTEs(t, src, to, !v616) // RMP_LOCKED
		if !v616 {
			src.file.immap.UpWrite(t, "i_mmap_unlock_write")
		}
	}
	k.hugetlbMigrationEnd(t, src, dst, moved, nil)
	return err
}

// tryToMigrateHugetlb is try_to_migrate_one()'s hugetlb branch, called
// with the entry pvmw found and its huge_pte_lock held. For a file folio
// the caller holds i_mmap W (TTU_RMAP_LOCKED): trylock the VMA's hugetlb
// lock for write (the walk stops when it is contended: ret = false);
// huge_pmd_unshare of a shared table unmaps this mm's whole PUD range at
// once (the folio stays mapped through the table, by its other sharers,
// which the walk meets next). An anon folio (a private mapping's; the
// walk holds its anon_vma lock R, "if (!anon)") skips both: its table is
// never shared. Then huge_ptep_clear_flush, the hugetlb migration entry
// (set_huge_pte_at) and hugetlb_remove_rmap. It returns rmap_one's
// answer: false stops the walk.
func (k *Kernel) tryToMigrateHugetlb(t *sched.Task, pw *pvmw, w *Walk) bool {
	const site = "try_to_migrate_one"
	v, hp := pw.v, pw.hp
	m := v.mm
	e := hp.slot.Load()
	leaf := e.Leaf
	w.visit(leaf.ID)
	f := leaf.Folio
	if !f.anon {
		if v.hlock != nil && !v.hlock.DownWriteTrylock(t, "hugetlb_vma_trylock_write") {
			// walk_abort: the walk gives up, and promises no coverage; the
			// folio stays mapped and its migration fails.
			w.Aborted = true
			pw.done()
			return false
		}
		span := k.Geo.pudSpan()
		base := hp.addr / span * span
		if k.hugePMDUnshare(t, v, hp, false, site) {
			hugetlbVMAUnlockWrite(t, v, site)
			k.flushTLBRange(t, m, base, base+span, site)
			pw.done()
			return true
		}
		hugetlbVMAUnlockWrite(t, v, site)
	}
	k.setPMD(t, m, hp.pmd, hp.slot, hp.addr, nil, "huge_ptep_clear_flush")
	k.flushTLBRange(t, m, hp.addr, hp.addr+k.Geo.PTEs, "huge_ptep_clear_flush")
	me := *leaf
	me.Kind = PTEMigration
	k.setPMD(t, m, hp.pmd, hp.slot, hp.addr, &PMDEntry{Leaf: &me}, "set_huge_pte_at")
	f.entire.Add(-1) // hugetlb_remove_rmap
	f.mapcount.Add(-1)
	pw.done()
	return true
}

// removeMigrationHugetlb is remove_migration_pte()'s hugetlb branch: under
// huge_pte_lock, the migration entry becomes a leaf of dst
// (arch_make_huge_pte, hugetlb_add_anon_rmap or hugetlb_add_file_rmap,
// set_huge_pte_at).
func (k *Kernel) removeMigrationHugetlb(t *sched.Task, pw *pvmw, dst *Folio, w *Walk) {
	const site = "remove_migration_pte"
	hp := pw.hp
	e := hp.slot.Load()
	w.visit(e.Leaf.ID)
	// mk_pte(new, READ_ONCE(vma->vm_page_prot)), made writable for a
	// writable entry: the VMA's protection now (an mprotect may have run
	// during the migration; it made the entry readable if it took write
	// away). Stress found a readable leaf restored in a PROT_NONE VMA.
	leaf := &PTE{Kind: PTEPresent, Folio: dst, ID: e.Leaf.ID, Huge: true}
	leaf.Read, leaf.Write = ptePerms(pw.v, dst, e.Leaf.Write)
	k.setPMD(t, pw.v.mm, hp.pmd, hp.slot, hp.addr, &PMDEntry{Leaf: leaf}, site)
	dst.mapcount.Add(1)
	dst.entire.Add(1)
}

// migrationEntryWaitHuge mirrors migration_entry_wait_huge() →
// __migration_entry_wait_huge(), called by hugetlb_fault with the hugetlb
// VMA lock still held for read (it guards the PMD table the lock lives
// in): under huge_pte_lock, re-read the entry; a migration entry's folio is
// looked at (it must be locked by its migrator), the VMA lock dropped, and
// the fault sleeps until the folio is unlocked (the PTL dropped first);
// anything else drops both.
func (k *Kernel) migrationEntryWaitHuge(t *sched.Task, v *VMA, hp *hugePTE) {
	const site = "migration_entry_wait_huge"
	hp.lock(t, site)
	e := hp.slot.Load()
	if e == nil || e.Leaf == nil || e.Leaf.Kind != PTEMigration {
		hp.unlock(t, site)
		hugetlbVMAUnlockRead(t, v, site)
		return
	}
	f := e.Leaf.PageFolio()
	k.checkMigrationEntryOwner(t, v.mm, hp.addr, f, func() {
		hp.unlock(t, site)
		hugetlbVMAUnlockRead(t, v, site)
	})
	hugetlbVMAUnlockRead(t, v, site)
	// migration_entry_wait_on_locked queues on the folio's wait queue
	// (folio_waitqueue, folio_set_waiters, folio_trylock_flag) before it
	// drops the PTL: "the migration path must hold a valid reference to
	// the page, and it must take the ptl to remove the migration entry. So
	// the page is valid until the ptl is dropped." The folio is touched
	// here, with the PTL still held.
	k.use(t, &f.Obj, "migration_entry_wait_on_locked: folio_set_waiters")
	hp.unlock(t, site)
	f.lock.WaitUnlocked(t, "migration_entry_wait_on_locked")
}

// unmapAndMoveAnonHugePage is unmap_and_move_huge_page() for an anon
// folio (a private mapping's), src locked: pin its anon_vma
// (folio_get_anon_vma: nothing to do if it is no longer mapped), lock dst;
// while src is mapped, try_to_migrate(src, 0), whose walk takes the
// anon_vma lock R itself (no i_mmap_rwsem, no hugetlb VMA lock: a private
// mapping's table is never shared, so there is nothing to unshare);
// move_to_new_folio (migrate_folio: the refcount frozen at what the
// migrator expects, the data copied, dst takes src's anon_vma and index);
// remove_migration_ptes(src, dst or src, 0), which locks the anon_vma
// again; put the anon_vma; unlock.
func (k *Kernel) unmapAndMoveAnonHugePage(t *sched.Task, m *MM, addr int, src *Folio) error {
	const site = "unmap_and_move_huge_page"
	if src.freed || src.mapcount.Load() == 0 {
		src.lock.Unlock(t, site)
		return nil // unmapped meanwhile
	}
	av := k.folioGetAnonVMA(t, src, "folio_get_anon_vma")
	if av == nil {
		src.lock.Unlock(t, site)
		return nil // unmapped meanwhile: its anon_vma may be going
	}
	dst := k.hugetlbMigrationTarget(t, true)
	wasMapped := false
	if src.mapcount.Load() > 0 {
		k.tryToMigrate(t, src, 0)
		wasMapped = true
	}
	moved := false
	if src.mapcount.Load() == 0 && src.freeze() {
		t.Point(sched.KindWrite, src.name, "migrate_folio", "copy "+src.name+" into "+dst.name)
		dst.anonVMA, dst.index = src.anonVMA, src.index
		dst.copyFrom(src) // folio_migrate_copy
		moved = true
	}
	var err error
	if !moved {
		err = fmt.Errorf("migrate %s %#x: EAGAIN: %s still mapped or referenced", m.name, addr, src.name)
	}
	if wasMapped {
		to := src
		if moved {
			to = dst
		}
		k.removeMigrationPTEs(t, src, to, false)
	}
	k.hugetlbMigrationEnd(t, src, dst, moved, func() { k.putAnonVMA(t, av, "put_anon_vma") })
	return err
}

// hugetlbMigrationTarget is unmap_and_move_huge_page's get_new_folio
// (alloc_migration_target): a huge folio, pinned and locked before anyone
// can see it.
func (k *Kernel) hugetlbMigrationTarget(t *sched.Task, anon bool) *Folio {
	const site = "unmap_and_move_huge_page"
	dst := k.allocHugetlbFolio(anon)
	dst.pin()
	if !dst.lock.Trylock(t, site) {
		t.Internal("%s: the new folio %s is already locked", site, dst.name)
	}
	return dst
}

// hugetlbMigrationEnd is the end of unmap_and_move_huge_page, after
// remove_migration_ptes: no TLB may still map src if it moved; dst is
// unlocked; put runs (put_anon_vma, for an anon folio); dst is freed if it
// was not used, else its allocation reference goes (it lives on through
// its mappings or the page cache); src is unlocked, and dies with its
// last reference if it moved.
func (k *Kernel) hugetlbMigrationEnd(t *sched.Task, src, dst *Folio, moved bool, put func()) {
	const site = "unmap_and_move_huge_page"
	if moved {
		k.checkNoTLBMaps(t, src, "migration")
	}
	dst.lock.Unlock(t, site)
	if put != nil {
		put()
	}
	if !moved {
		k.discardFolio(dst)
	} else {
		// move_hugetlb_state: the temporary target takes the old
		// folio's place in the pool (hugetlbpool.go).
		dst.hugePool, src.hugePool = src.hugePool, false
		k.unpin(t, dst, site)
	}
	k.migrationDone(t, src)
	src.lock.Unlock(t, site)
	if moved {
		src.markDead()
	}
}
