package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// Migrate migrates the folio mapped at addr of m to a new folio, like
// move_pages(2) → migrate_pages() with MIGRATE_SYNC (reference C.8).
func (k *Kernel) Migrate(t *sched.Task, m *MM, addr int) error {
	const site = "migrate_pages"
	// Isolation: find the folio through the page tables under RCU and take
	// a reference with folio_try_get (which fails on a dying folio).
	src := k.isolate(t, m, addr, true, site)
	if src == nil {
		return nil // nothing mapped: nothing to migrate
	}
	defer k.putback(t, src)
	if src.isHugetlb() {
		return k.unmapAndMoveHugePage(t, m, addr, src)
	}
	if k.Variants.Has("test-harness-internal-error") {
		t.Internal("planted by variant test-harness-internal-error in migrate_pages of %s", src.name)
	}
	// migrate_folio_unmap.
	if !src.lock.Trylock(t, "migrate_folio_unmap") {
		src.lock.Lock(t, "migrate_folio_unmap")
	}
	if src.freed || (src.anon && src.mapcount.Load() == 0) {
		src.lock.Unlock(t, "migrate_folio_unmap")
		return nil // freed or unmapped meanwhile
	}
	var av *AnonVMA
	if src.anon {
		// folio_get_anon_vma: pins it for remove_migration_ptes.
		if av = k.folioGetAnonVMA(t, src, "folio_get_anon_vma"); av == nil {
			src.lock.Unlock(t, "migrate_folio_unmap")
			return nil // unmapped meanwhile: its anon_vma may be going
		}
	}
	dst := k.allocFolioOrder(src.anon, int(src.order.Load()))
	dst.pin() // the migrator's reference, dropped at the end
	if !dst.lock.Trylock(t, "migrate_folio_unmap") {
		t.Internal("migrate_folio_unmap: the new folio %s is already locked", dst.name)
	}
	wasMapped := src.mapcount.Load() > 0
	if wasMapped {
		k.tryToMigrate(t, src, 0)
	}
	// undo is migrate_folio_undo_src/dst: restore the mappings that were
	// converted, drop the new folio, unlock.
	undo := func(why string) error {
		if wasMapped {
			k.removeMigrationPTEs(t, src, src, false)
		}
		dst.lock.Unlock(t, "migrate_folio_undo_dst")
		k.discardFolio(dst)
		if av != nil {
			k.putAnonVMA(t, av, "migrate_folio_undo_src")
		}
		k.migrationDone(t, src)
		if src.anon {
			k.swapCacheTrim(t, src, "migrate_folio_undo_src")
		}
		src.lock.Unlock(t, "migrate_folio_undo_src")
		return fmt.Errorf("migrate %s %#x: EAGAIN: %s %s", m.name, addr, src.name, why)
	}
	if src.mapcount.Load() > 0 {
		return undo("still mapped after try_to_migrate") // a mapping was missed or came back
	}
	// move_to_new_folio → folio_migrate_mapping: freeze the refcount at
	// what the mapping accounts for (the isolation reference, plus the page
	// cache's under the xa_lock for a file folio, which must still be in
	// the page cache); any other reference fails the freeze with -EAGAIN.
	// migrate_pages_batch() then keeps src locked with its migration
	// entries installed and retries the move on its next passes
	// (NR_MAX_MIGRATE_PAGES_RETRY, a cond_resched between), undoing only
	// after the last one.
	for pass := 1; ; pass++ {
		if src.file != nil {
			src.file.xa.Lock(t, "folio_migrate_mapping")
		}
		if (src.file == nil || src.file.pages[src.index].Load() == src) && src.freeze() {
			break // frozen; a file folio's xa_lock stays held
		}
		if src.file != nil {
			src.file.xa.Unlock(t, "folio_migrate_mapping")
		}
		if pass == maxMigratePasses {
			return undo("referenced elsewhere: folio_ref_freeze failed on every pass")
		}
		t.Point(sched.KindRead, src.name, "migrate_pages_batch", fmt.Sprintf("-EAGAIN: retry pass %d", pass+1))
	}
	dst.anonVMA, dst.file, dst.index = src.anonVMA, src.file, src.index
	dst.copyFrom(src) // folio_copy
	k.copyWindow(t, src, -1)
	if src.file != nil {
		src.file.xaBegin(t, "folio_migrate_mapping")
		t.Point(sched.KindWrite, src.file.name, "folio_migrate_mapping", fmt.Sprintf("page cache %#x+%d: %s -> %s", src.index, src.Nr(), src.name, dst.name))
		for i := 0; i < src.Nr(); i++ {
			src.file.pages[src.index+i].Store(dst)
		}
		src.file.xaEnd(t)
		src.file.xa.Unlock(t, "folio_migrate_mapping")
	}
	if wasMapped {
		k.removeMigrationPTEs(t, src, dst, false)
	}
	// try_to_migrate flushed every translation of src before the copy.
	k.checkNoTLBMaps(t, src, "migration")
	dst.lock.Unlock(t, "migrate_folio_done")
	// If every mapping went away during the migration (zapped), the
	// migrator's folio_put drops the new folio's last reference.
	k.unpin(t, dst, "migrate_folio_done")
	if av != nil {
		k.putAnonVMA(t, av, "migrate_folio_done")
	}
	k.migrationDone(t, src)
	if src.anon {
		k.swapCacheTrim(t, src, "migrate_folio_done")
	}
	src.lock.Unlock(t, "migrate_folio_done")
	src.markDead() // freed when the isolation pin goes
	return nil
}

// maxMigratePasses is NR_MAX_MIGRATE_PAGES_RETRY (mm/migrate.c).
const maxMigratePasses = 10

// migrationDone runs the no-straggling-migration-entry check while the
// migrator still holds the source folio's lock.
func (k *Kernel) migrationDone(t *sched.Task, src *Folio) {
	if k.Hooks.MigrationDone != nil {
		k.Hooks.MigrationDone(t, src)
	}
}

// ttuFlags are the enum ttu_flags the model's callers pass.
type ttuFlags uint8

const (
	ttuSplitHugePMD ttuFlags = 1 << iota // TTU_SPLIT_HUGE_PMD: split PMD mappings (freezing them) first
	ttuSync                              // TTU_SYNC: walk with PVMW_SYNC, never miss a PTE being changed
	ttuRmapLocked                        // TTU_RMAP_LOCKED: the caller holds the rmap lock (rmap_walk_locked)
)

// tryToMigrate mirrors try_to_migrate(folio, flags) → try_to_migrate_one
// (mm/rmap.c, v6.14): an rmap walk that replaces every mapping of src —
// each PTE mapping one of its pages, and a PMD leaf mapping all of them
// (set_pmd_migration_entry) — with a migration entry, skipping temporary
// exec stacks (invalid_migration_vma, a8bef8ff6ea1), until src is not
// mapped. With TTU_SPLIT_HUGE_PMD (a folio split's unmap_folio) each VMA's
// PMD mapping of src is split and frozen into PTE migration entries first
// (split_huge_pmd_address(vma, address, true, folio), as v6.14 does at the
// top of try_to_migrate_one).
func (k *Kernel) tryToMigrate(t *sched.Task, src *Folio, flags ttuFlags) {
	rwc := &rmapWalkControl{
		kind:    "try_to_migrate",
		nonSync: flags&ttuSync == 0,
		locked:  flags&ttuRmapLocked != 0,
		target:  func(p *PTE) bool { return p.Kind == PTEPresent && p.PageFolio() == src },
		done:    func() bool { return src.mapcount.Load() == 0 },
	}
	rwc.invalidVMA = func(v *VMA) bool {
		return vmaIsTemporaryStack(v) && !k.Variants.Has("try_to_migrate-no-temp-stack-skip")
	}
	rwc.rmapOne = func(t *sched.Task, v *VMA, addr int, w *Walk) bool {
		const site = "try_to_migrate_one"
		if flags&ttuSplitHugePMD != 0 {
			if id := k.splitHugePMDAddress(t, v, addr, true, src, "split_huge_pmd_address"); id != 0 {
				w.visit(id) // frozen: its pages are migration entries now
			}
		}
		pw := k.newPVMW(t, src, v, addr, flags&ttuSync != 0, false, site)
		for pw.next() {
			if pw.hp != nil {
				return k.tryToMigrateHugetlb(t, pw, w)
			}
			if vmaIsTemporaryStack(v) && k.Env.Rules() {
				pw.done()
				t.Fail(sched.Violation{Invariant: "temp-stack-no-migration-entry", Detail: fmt.Sprintf("%s installs a migration entry for %s at %s %#x in temporary stack %s (I10)", site, src.name, v.mm.name, pw.addr, v.Describe())})
			}
			if pw.pmdHit {
				k.setPMDMigrationEntry(t, pw, w)
				continue
			}
			tbl, i := pw.pte()
			p := tbl.e[i].Load()
			w.visit(p.ID)
			// ptep_clear_flush (MIGRATE_SYNC: no TTU_BATCH_FLUSH), then the
			// migration entry.
			k.setPTE(t, v.mm, tbl, i, pw.addr, nil, "ptep_clear_flush")
			k.flushTLBRange(t, v.mm, pw.addr, pw.addr+1, "ptep_clear_flush")
			k.setPTE(t, v.mm, tbl, i, pw.addr, &PTE{Kind: PTEMigration, Folio: p.Folio, Page: p.Page, Read: p.Read, Write: p.Write, ID: p.ID}, site)
			src.mapcount.Add(-1) // folio_remove_rmap_pte
		}
		return true
	}
	k.rmapWalk(t, src, rwc)
}

// setPMDMigrationEntry mirrors mm/huge_memory.c set_pmd_migration_entry():
// under the PMD lock pvmw holds, the THP's PMD leaf becomes a PMD migration
// entry (pmdp_invalidate with its flush, then set_pmd_at), and the PMD
// mapping leaves the folio's mapcount. The model writes the migration
// entry at once, then flushes: between the kernel's two writes the PMD is
// invalid, and a walker that faults on it finds it huge, waits for the PMD
// lock and retries into the migration entry, which the model's walker
// meets directly; a store through a translation still cached before the
// flush reaches the old folio before it is copied, as in the kernel.
func (k *Kernel) setPMDMigrationEntry(t *sched.Task, pw *pvmw, w *Walk) {
	const site = "set_pmd_migration_entry"
	m := pw.v.mm
	e := pw.slot.Load()
	leaf := e.Leaf
	w.visit(leaf.ID)
	f := leaf.Folio
	me := *leaf
	me.Kind = PTEMigration
	k.setPMD(t, m, pw.pmdTable(), pw.slot, pw.addr, &PMDEntry{Leaf: &me}, site)
	k.flushTLBRange(t, m, pw.addr, pw.addr+k.Geo.PTEs, "pmdp_invalidate")
	f.mapcount.Add(-1) // folio_remove_rmap_pmd
	f.entire.Add(-1)
}

// removeMigrationPTEs mirrors remove_migration_ptes(src, dst, flags): an
// rmap walk over dst (same mapping and index as src) that replaces each
// migration entry for a page of src with a mapping of the corresponding
// page of dst: a PTE (remove_migration_pte), or a PMD leaf for a PMD
// migration entry (remove_migration_pmd). locked is RMP_LOCKED (a folio
// split holds the rmap lock: rmap_walk_locked).
func (k *Kernel) removeMigrationPTEs(t *sched.Task, src, dst *Folio, locked bool) {
	rwc := &rmapWalkControl{
		kind:     "remove_migration_ptes",
		pinnedAV: true,
		locked:   locked,
		target:   func(p *PTE) bool { return p.Kind == PTEMigration && p.PageFolio() == src },
	}
	rwc.rmapOne = func(t *sched.Task, v *VMA, addr int, w *Walk) bool {
		const site = "remove_migration_pte"
		if k.Variants.Has("remove_migration_pte-installs-into-none") && !dst.Large() {
			k.removeMigrationPTEIntoNone(t, src, dst, v, addr, w)
			return true
		}
		pw := k.newPVMW(t, src, v, addr, true, true, site)
		for pw.next() {
			if pw.hp != nil {
				k.removeMigrationHugetlb(t, pw, dst, w)
				continue
			}
			if pw.pmdHit {
				k.removeMigrationPMD(t, pw, dst, w)
				continue
			}
			tbl, i := pw.pte()
			p := tbl.e[i].Load()
			w.visit(p.ID)
			// The page of dst at this address (linear_page_index - pgoff);
			// mk_pte(new, READ_ONCE(vma->vm_page_prot)), plus pte_mkwrite
			// when the entry is a writable migration entry.
			idx := v.linearPageIndex(pw.addr) - dst.index
			read, write := ptePerms(v, dst, false)
			write = write || p.Write
			k.setPTE(t, v.mm, tbl, i, pw.addr, &PTE{Kind: PTEPresent, Folio: dst, Page: idx, Read: read, Write: write, ID: p.ID}, site)
			dst.mapcount.Add(1)
		}
		return true
	}
	k.rmapWalk(t, dst, rwc)
}

// removeMigrationPMD mirrors mm/huge_memory.c remove_migration_pmd(): the
// PMD migration entry becomes a PMD leaf of dst, under the PMD lock.
func (k *Kernel) removeMigrationPMD(t *sched.Task, pw *pvmw, dst *Folio, w *Walk) {
	const site = "remove_migration_pmd"
	v := pw.v
	e := pw.slot.Load()
	w.visit(e.Leaf.ID)
	read, write := ptePerms(v, dst, false)
	write = write || e.Leaf.Write
	k.setPMD(t, v.mm, pw.pmdTable(), pw.slot, pw.addr, &PMDEntry{Leaf: &PTE{Kind: PTEPresent, Folio: dst, Read: read, Write: write, ID: e.Leaf.ID, Huge: true}}, site)
	dst.mapcount.Add(1) // folio_add_anon_rmap_pmd / folio_add_file_rmap_pmd
	dst.entire.Add(1)
}

// removeMigrationPTEIntoNone is remove_migration_pte under variant
// remove_migration_pte-installs-into-none (D.9): an rmap-side path that
// also populates an empty entry of a VMA it found in the tree — possibly
// one being torn down between unmap_vmas and free_pgtables. (Small folios
// only: a large folio's walk stays faithful under the variant.)
func (k *Kernel) removeMigrationPTEIntoNone(t *sched.Task, src, dst *Folio, v *VMA, addr int, w *Walk) {
	const site = "remove_migration_pte"
	tbl, i := k.pteOffsetMapLock(t, v.mm, addr, site)
	if tbl == nil {
		t.RecordF(sched.KindWalk, site, v.descOps(sched.Objf(vmaDescFmt)).Detailf("looks at %s %#x: no page table").S(v.mm.name).N(addr))
		return
	}
	p := tbl.e[i].Load()
	pt := pteTextOf(p)
	t.RecordF(sched.KindWalk, site, pt.ops(v.descOps(sched.Objf(vmaDescFmt)).Detailf(pteLooksAtFmt.of(pt)).S(v.mm.name).N(addr)))
	switch {
	case p != nil && p.Kind == PTEMigration && p.PageFolio() == src:
		w.visit(p.ID)
		read, write := ptePerms(v, dst, false)
		write = write || p.Write
		k.setPTE(t, v.mm, tbl, i, addr, &PTE{Kind: PTEPresent, Folio: dst, Read: read, Write: write, ID: p.ID}, site)
		dst.mapcount.Add(1)
	case p == nil:
		k.setPTE(t, v.mm, tbl, i, addr, &PTE{Kind: PTEPresent, Folio: dst, Read: true, Write: v.Flags()&VMWrite != 0, ID: k.newID()}, site)
		dst.mapcount.Add(1)
		if dst.anon {
			v.mm.rssAnon.Add(1)
		} else {
			v.mm.rssFile.Add(1)
		}
	}
	k.pteUnmapUnlock(t, tbl, site)
}

// isolate finds the folio mapped at addr through the page tables, inside an
// RCU read section, takes a reference (folio_try_get) and isolates it from
// the LRU (folio_isolate_lru: only one isolator wins, so two migrations, or
// a migration and reclaim, never work on one folio at once); nil when
// nothing is mapped there, the folio is dying or someone else isolated it.
//
// With hugetlb set (move_pages' add_folio_for_migration) a hugetlb folio
// is isolated too, as isolate_hugetlb does: onto its own list, not from the
// LRU, with the same one-isolator rule; without, it is refused.
func (k *Kernel) isolate(t *sched.Task, m *MM, addr int, hugetlb bool, site string) *Folio {
	rcu := k.Env.RCU()
	rcu.ReadLock(t, site)
	defer rcu.ReadUnlock(t, site)
	if f := k.walkFolioTryGet(t, m, addr, hugetlb, site); f != nil && f.tryIsolate() {
		return f
	}
	return nil
}

// folioTryGet finds the folio mapped at addr of m as isolate does, and
// takes a reference on it (folio_try_get) without isolating it from the
// LRU; nil for none, a hugetlb folio or one being freed. (Its own RCU
// section, not isolate's: each is a lock site of its own for mmrace
// locks.)
func (k *Kernel) folioTryGet(t *sched.Task, m *MM, addr int, site string) *Folio {
	rcu := k.Env.RCU()
	rcu.ReadLock(t, site)
	defer rcu.ReadUnlock(t, site)
	if f := k.walkFolioTryGet(t, m, addr, false, site); f != nil && f.tryPin() {
		return f
	}
	return nil
}

// walkFolioTryGet is the walk of isolate and folioTryGet, inside the
// caller's RCU read section: the folio presently mapped at addr of m (a
// hugetlb one only with hugetlb), read before the caller takes it.
func (k *Kernel) walkFolioTryGet(t *sched.Task, m *MM, addr int, hugetlb bool, site string) *Folio {
	p := m.Walk(addr)
	if p == nil || p.Kind != PTEPresent || p.Folio == nil {
		return nil
	}
	// folio_try_get reads the folio's refcount: a separate access after the
	// walk, on a folio that may have been unmapped meanwhile (the read
	// section keeps its memory from being freed).
	f := p.Folio
	if f.isHugetlb() && !hugetlb {
		return nil // not on the LRU: only isolate_hugetlb takes it
	}
	t.Point(sched.KindRead, f.name, site, "folio_try_get")
	k.use(t, &f.Obj, site)
	return f
}

// putback is folio_putback_lru plus the put of the isolation reference.
func (k *Kernel) putback(t *sched.Task, f *Folio) {
	f.refMu.Lock()
	f.isolated = false
	f.refMu.Unlock()
	k.unpin(t, f, "putback")
}

// folioGetAnonVMA mirrors folio_get_anon_vma() (mm/rmap.c): inside an RCU
// read section, read folio->mapping; nothing if the folio is not mapped;
// take a reference unless the count already dropped to zero
// (atomic_inc_not_zero: the anon_vma is being freed; the
// SLAB_TYPESAFE_BY_RCU memory stays readable in the section); if the folio
// was unmapped meanwhile, the reference goes again (after the section) and
// nothing is returned. Its loads are separate steps, as the kernel's are:
// an exit or munmap may unlink and free the anon_vma between them (free-
// mode stress found the model's one-step version reading a freed one).
func (k *Kernel) folioGetAnonVMA(t *sched.Task, f *Folio, site string) *AnonVMA {
	rcu := k.Env.RCU()
	rcu.ReadLock(t, site)
	a := f.anonVMA
	if a == nil || f.mapcount.Load() == 0 {
		rcu.ReadUnlock(t, site)
		return nil
	}
	t.PointF(sched.KindRead, site, sched.Obj(a.name).Detail("atomic_inc_not_zero(refcount)"))
	k.useRCU(t, &a.Obj, site)
	if !tryGetAnonVMA(a) {
		rcu.ReadUnlock(t, site)
		return nil
	}
	if f.mapcount.Load() == 0 {
		rcu.ReadUnlock(t, site)
		k.putAnonVMA(t, a, site)
		return nil
	}
	rcu.ReadUnlock(t, site)
	return a
}
