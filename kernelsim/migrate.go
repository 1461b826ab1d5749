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
	src := k.isolate(t, m, addr, site)
	if src == nil {
		return nil // nothing mapped: nothing to migrate
	}
	defer k.putback(t, src)
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
		av = src.anonVMA // folio_get_anon_vma: pins it for remove_migration_ptes
		k.use(t, &av.Obj, "folio_get_anon_vma")
		getAnonVMA(av)
	}
	dst := k.allocFolio(src.anon)
	dst.pin() // the migrator's reference, dropped at the end
	if !dst.lock.Trylock(t, "migrate_folio_unmap") {
		t.Internal("migrate_folio_unmap: the new folio %s is already locked", dst.name)
	}
	wasMapped := src.mapcount.Load() > 0
	if wasMapped {
		k.tryToMigrate(t, src)
	}
	// undo is migrate_folio_undo_src/dst: restore the mappings that were
	// converted, drop the new folio, unlock.
	undo := func(why string) error {
		if wasMapped {
			k.removeMigrationPTEs(t, src, src)
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
		if (src.file == nil || src.file.pages[src.index] == src) && src.freeze() {
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
	dst.data.Store(src.data.Load())
	if src.file != nil {
		t.Point(sched.KindWrite, src.file.name, "folio_migrate_mapping", fmt.Sprintf("page cache %#x: %s -> %s", src.index, src.name, dst.name))
		src.file.pages[src.index] = dst
		src.file.xa.Unlock(t, "folio_migrate_mapping")
	}
	if wasMapped {
		k.removeMigrationPTEs(t, src, dst)
	}
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

// tryToMigrate mirrors try_to_migrate(): an rmap walk that replaces every
// present PTE of src with a migration entry, skipping temporary exec stacks
// (invalid_migration_vma, a8bef8ff6ea1), until src is not mapped.
func (k *Kernel) tryToMigrate(t *sched.Task, src *Folio) {
	rwc := &rmapWalkControl{
		kind:    "try_to_migrate",
		nonSync: true,
		target:  func(p *PTE) bool { return p.Kind == PTEPresent && p.Folio == src },
		done:    func() bool { return src.mapcount.Load() == 0 },
	}
	rwc.invalidVMA = func(v *VMA) bool {
		return vmaIsTemporaryStack(v) && !k.Variants.Has("try_to_migrate-no-temp-stack-skip")
	}
	rwc.rmapOne = func(t *sched.Task, v *VMA, addr int, w *Walk) bool {
		const site = "try_to_migrate_one"
		tbl, i := k.pvmwPeek(t, v, addr, site)
		if tbl == nil {
			return true
		}
		if p := tbl.e[i].Load(); p != nil && p.Kind == PTEPresent && p.Folio == src { // check_pte
			w.Visited[p.ID] = true
			if vmaIsTemporaryStack(v) && k.Env.Rules() {
				tbl.ptl.Unlock(t, site)
				t.Fail(sched.Violation{Invariant: "temp-stack-no-migration-entry", Detail: fmt.Sprintf("%s installs a migration entry for %s at %s %#x in temporary stack %s (I10)", site, src.name, v.mm.name, addr, v.Describe())})
			}
			k.setPTE(t, v.mm, tbl, i, addr, &PTE{Kind: PTEMigration, Folio: src, Read: p.Read, Write: p.Write, ID: p.ID}, site)
			src.mapcount.Add(-1) // folio_remove_rmap_pte
		}
		tbl.ptl.Unlock(t, site)
		return true
	}
	k.rmapWalk(t, src, rwc)
}

// removeMigrationPTEs mirrors remove_migration_ptes(src, dst): an rmap walk
// over dst (same mapping and index as src) that replaces each migration
// entry for src with a PTE mapping dst.
func (k *Kernel) removeMigrationPTEs(t *sched.Task, src, dst *Folio) {
	rwc := &rmapWalkControl{
		kind:     "remove_migration_ptes",
		pinnedAV: true,
		target:   func(p *PTE) bool { return p.Kind == PTEMigration && p.Folio == src },
	}
	rwc.rmapOne = func(t *sched.Task, v *VMA, addr int, w *Walk) bool {
		const site = "remove_migration_pte"
		tbl, i := k.pvmwSync(t, v, addr, site)
		if tbl == nil {
			return true
		}
		p := tbl.e[i].Load()
		switch {
		case p != nil && p.Kind == PTEMigration && p.Folio == src:
			w.Visited[p.ID] = true
			// mk_pte(new, READ_ONCE(vma->vm_page_prot)), plus pte_mkwrite
			// when the entry is a writable migration entry.
			read, write := ptePerms(v, dst, false)
			write = write || p.Write
			k.setPTE(t, v.mm, tbl, i, addr, &PTE{Kind: PTEPresent, Folio: dst, Read: read, Write: write, ID: p.ID}, site)
			dst.mapcount.Add(1)
		case p == nil && k.Variants.Has("remove_migration_pte-installs-into-none"):
			// D.9: an rmap-side path that populates an empty entry of a VMA it
			// found in the tree — possibly one being torn down between
			// unmap_vmas and free_pgtables.
			k.setPTE(t, v.mm, tbl, i, addr, &PTE{Kind: PTEPresent, Folio: dst, Read: true, Write: v.flags&VMWrite != 0, ID: k.newID()}, site)
			dst.mapcount.Add(1)
			if dst.anon {
				v.mm.rssAnon.Add(1)
			} else {
				v.mm.rssFile.Add(1)
			}
		}
		tbl.ptl.Unlock(t, site)
		return true
	}
	k.rmapWalk(t, dst, rwc)
}

// isolate finds the folio mapped at addr through the page tables, inside an
// RCU read section, takes a reference (folio_try_get) and isolates it from
// the LRU (folio_isolate_lru: only one isolator wins, so two migrations, or
// a migration and reclaim, never work on one folio at once); nil when
// nothing is mapped there, the folio is dying or someone else isolated it.
func (k *Kernel) isolate(t *sched.Task, m *MM, addr int, site string) *Folio {
	rcu := k.Env.RCU()
	rcu.ReadLock(t, site)
	defer rcu.ReadUnlock(t, site)
	p := m.Walk(addr)
	if p == nil || p.Kind != PTEPresent || p.Folio == nil {
		return nil
	}
	// folio_try_get reads the folio's refcount: a separate access after the
	// walk, on a folio that may have been unmapped meanwhile (the read
	// section keeps its memory from being freed).
	f := p.Folio
	t.Point(sched.KindRead, f.name, site, "folio_try_get")
	k.use(t, &f.Obj, site)
	if !f.tryIsolate() {
		return nil
	}
	return f
}

// putback is folio_putback_lru plus the put of the isolation reference.
func (k *Kernel) putback(t *sched.Task, f *Folio) {
	f.refMu.Lock()
	f.isolated = false
	f.refMu.Unlock()
	k.unpin(t, f, "putback")
}
