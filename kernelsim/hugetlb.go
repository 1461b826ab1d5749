package kernelsim

import (
	"fmt"
	"sync/atomic"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// hugetlb (mm/hugetlb.c, include/linux/hugetlb.h, v6.16): a hugetlbfs file's mappings are hugetlb VMAs (VM_HUGETLB), mapped
// only by huge pages. In the model's geometry a huge page is one PMD leaf
// (PTEs pages, the PMD_SIZE hstate), so a hugetlb VMA's page tables are PMD
// tables whose entries are leaves of hugetlb folios, and a PMD table whose
// whole PUD_SIZE range a shared VMA covers may be shared between mms
// (huge_pmd_share, hugetlbshare.go).
//
// The locks, outer to inner (the hugetlbfs list at the top of mm/rmap.c):
// hugetlb_fault_mutex_table[hash] → the hugetlb VMA lock (vm_private_data's
// rw_sema) → mapping->i_mmap_rwsem → folio lock, and the PMD table's
// split lock (huge_pte_lock) innermost.

// classHugetlbFaultMutex is hugetlb_fault_mutex_table's mutexes: taken
// under mmap_lock (or the VMA read lock) and above the hugetlb VMA lock, a
// place no integer rank of mm/rmap.c's total order has (2 < it < 3), so it
// is unranked; lockdep's graph still orders it against every other class.
var classHugetlbFaultMutex = ksync.NewClass(21, "hugetlb_fault_mutex", 0, 0, true)

// classHugetlbVMALock is struct hugetlb_vma_lock's rw_sema: below the fault
// mutex and mmap_lock, above the folio lock (hugetlb_no_page locks the
// page-cache folio under it) and i_mmap_rwsem (huge_pmd_share, and
// __hugetlb_zap_begin's write lock then i_mmap W). It shares level 3 with
// invalidate_lock, which no hugetlb path of the model takes.
var classHugetlbVMALock = ksync.NewClass(22, "hugetlb_vma_lock", 3, 3, true)

// isHugetlb is is_vm_hugetlb_page().
func (v *VMA) isHugetlb() bool { return v.Flags()&VMHugetlb != 0 }

// Hugetlb reports whether the file is a hugetlbfs file.
func (f *File) Hugetlb() bool { return f.hugetlb }

// HugetlbLock returns the hugetlb VMA lock of a hugetlb VMA, nil for others.
func (v *VMA) HugetlbLock() *ksync.Rwsem { return v.hlock }

// hugetlbVMALockAlloc is hugetlb_vma_lock_alloc() (from hugetlb_reserve_pages
// at mmap, and hugetlb_vm_op_open for the copies of __split_vma and
// dup_mmap): every shared hugetlb VMA gets its own lock. A private one
// (MAP_PRIVATE) uses its resv_map's rw_sema through the same helpers
// (__vma_private_lock, v6.7+): the one the mapping's creator, the
// HPAGE_RESV_OWNER, allocates at mmap. The two halves of a split share it
// (hugetlb_vm_op_open takes a reference on the resv_map; vmAreaDup), and a
// fork child's copy has none (hugetlb_dup_vma_private: vm_private_data =
// NULL, so the helpers do nothing for it; dup_mmap).
func (k *Kernel) hugetlbVMALockAlloc(v *VMA) {
	if v.Flags()&VMHugetlb != 0 {
		v.hlock = k.Env.NewRwsem("hugetlb_vma_lock("+v.name+")", classHugetlbVMALock)
	}
}

// hugetlbVMALockRead and friends are hugetlb_vma_lock_read() and friends.
// Like the kernel's (__vma_shareable_lock), they do nothing for a VMA
// without a lock (one whose final unmap freed it).
func hugetlbVMALockRead(t *sched.Task, v *VMA, site string) {
	if v.hlock != nil {
		v.hlock.DownRead(t, site)
	}
}

func hugetlbVMAUnlockRead(t *sched.Task, v *VMA, site string) {
	if v.hlock != nil {
		v.hlock.UpRead(t, site)
	}
}

func hugetlbVMALockWrite(t *sched.Task, v *VMA, site string) {
	if v.hlock != nil {
		v.hlock.DownWrite(t, site)
	}
}

func hugetlbVMAUnlockWrite(t *sched.Task, v *VMA, site string) {
	if v.hlock != nil {
		v.hlock.UpWrite(t, site)
	}
}

// faultMutexFor is hugetlb_fault_mutex_hash(mapping, idx): the mutex of the
// file's huge page idx. (The kernel hashes into a table that two indexes
// may share; one mutex per index serialises no more than the kernel's
// table does for indexes that hash apart, and faults on one index always
// meet.)
func (f *File) faultMutexFor(idx int) *ksync.Mutex {
	h := idx / f.k.Geo.PTEs
	f.k.mu.Lock()
	defer f.k.mu.Unlock()
	if f.faultMutex == nil {
		f.faultMutex = make([]*ksync.Mutex, (f.npages+f.k.Geo.PTEs-1)/f.k.Geo.PTEs)
	}
	mu := f.faultMutex[h]
	if mu == nil {
		mu = f.k.Env.NewMutex(fmt.Sprintf("hugetlb_fault_mutex(%s:%#x)", f.name, idx), classHugetlbFaultMutex)
		f.faultMutex[h] = mu
	}
	return mu
}

// hugePTE is what hugetlb_walk() and huge_pte_alloc() return: a pointer to
// the PMD entry mapping a huge page, inside a PMD table (the mm's, or one
// it shares). The pointer stays valid only while the walker excludes
// huge_pmd_unshare (hugetlb VMA lock or i_mmap_rwsem); deref checks it.
type hugePTE struct {
	m    *MM
	addr int
	pmd  *PMDTable
	slot *atomic.Pointer[PMDEntry]
}

// deref is an access through the pointer (huge_pte_lock, huge_ptep_get):
// the table must be alive and still the walker's mm's. A table its mm
// unshared meanwhile belongs to other mms now (or is freed): the walker
// reads or locks someone else's page table (page-table-lifetime) (the walker
// use-after-free of Peter Xu's 2022 series).
func (h *hugePTE) deref(t *sched.Task, site string) {
	k := h.m.k
	k.use(t, &h.pmd.Obj, site)
	k.checked("page-table-lifetime")
	if now := h.m.pmdOffset(h.addr); now != h.pmd {
		t.Fail(sched.Violation{Invariant: "page-table-lifetime", Detail: fmt.Sprintf("%s: dereferences %s for %s %#x, which %s no longer maps (its PUD now points to %s): the PMD table was unshared (huge_pmd_unshare) while the walker still used the pointer hugetlb_walk or huge_pte_alloc gave it", site, h.pmd.name, h.m.name, h.addr, h.m.name, pmdName(now))})
	}
}

func pmdName(p *PMDTable) string {
	if p == nil {
		return "none"
	}
	return p.name
}

// load is huge_ptep_get() (lockless, a scheduling point).
func (h *hugePTE) load(t *sched.Task, site string) *PMDEntry {
	t.Point(sched.KindRead, fmt.Sprintf("pmd %s %#x", h.m.name, h.addr), site, "huge_ptep_get (lockless)")
	h.deref(t, site)
	return h.slot.Load()
}

// lock is huge_pte_lock(): the PMD table's split lock (pmd_lockptr), which a
// shared table's sharers all take.
func (h *hugePTE) lock(t *sched.Task, site string) {
	h.pmd.ptl.Lock(t, site)
	h.deref(t, site+": spin_lock of the PMD table's lock")
}

func (h *hugePTE) unlock(t *sched.Task, site string) { h.pmd.ptl.Unlock(t, site) }

// hugetlbWalk mirrors hugetlb_walk(vma, addr, sz) (include/linux/hugetlb.h,
// Peter Xu's "mm/hugetlb: Make huge_pte_offset() thread-safe for pmd
// unshare", v6.2): with PMD sharing possible the caller must hold the
// hugetlb VMA lock or i_mmap_rwsem (WARN_ON_ONCE under lockdep), either of
// which excludes huge_pmd_unshare; then huge_pte_offset(), the lockless
// walk to the PMD entry: nil when the PUD is none.
func (k *Kernel) hugetlbWalk(t *sched.Task, v *VMA, addr int, site string) *hugePTE {
	k.useVMA(t, v, site)
	if v.Flags()&VMShared != 0 && v.hlock != nil { // __vma_shareable_lock: a private VMA's table is never shared
		ksync.AssertEitherHeld(t, v.hlock, v.file.immap, site+": hugetlb_walk: WARN_ON_ONCE(!lockdep_is_held(&vma_lock->rw_sema) && !lockdep_is_held(&i_mmap_rwsem))")
	}
	m := v.mm
	t.PointF(sched.KindRead, site, sched.Objf("%s pud").S(m.name).Detailf("huge_pte_offset %#x (lockless)").N(addr))
	pmd := m.pmdOffset(addr)
	if pmd == nil {
		return nil
	}
	t.Window(sched.WindowWalk) // until huge_pte_lock (sched.Windower)
	return &hugePTE{m: m, addr: k.Geo.pmdBase(addr), pmd: pmd, slot: &pmd.e[k.Geo.pmdIndex(addr)]}
}

// hugetlbMmapCheck is hugetlbfs_file_mmap()'s and hugetlb_get_unmapped_area's
// checks the model needs: a hugetlb mapping starts, ends and maps the file
// at huge page boundaries. It may be shared or private (MAP_PRIVATE: its
// pages are copied on write into anon hugetlb folios; reservations:
// hugetlbpool.go).
func (k *Kernel) hugetlbMmapCheck(a MmapArgs) error {
	hp := k.Geo.PTEs
	if a.Start%hp != 0 || a.Len%hp != 0 || a.Pgoff%hp != 0 {
		return fmt.Errorf("mmap: EINVAL: a mapping of hugetlbfs file %s must be huge-page aligned (%d pages)", a.File.name, hp)
	}
	return nil
}

// hugetlbFault mirrors hugetlb_fault() (mm/hugetlb.c, v6.17): hugetlb_fault_mutex_table[hash(mapping, idx)] → hugetlb VMA lock
// R → huge_pte_alloc (which may share a PMD table, huge_pmd_share) → read
// the entry locklessly; a none entry goes to hugetlb_no_page. A write to a
// read-only leaf takes huge_pte_lock, re-checks the entry and calls
// hugetlb_wp: a shared mapping's leaf just becomes writable; a private
// one's folio is reused or copied (hugetlbWP). An anon folio is
// trylocked first, under the PTL (hugetlb_wp decides on reuse from its
// mapcount); when that fails the fault drops everything and waits for the
// folio lock, then returns to be retried (need_wait_lock: sleeping on it
// under the fault mutex would deadlock against hugetlb_wp, which holds
// the folio lock across unmapping it from other processes). Then the VMA
// lock and the mutex are dropped, and with VM_FAULT_RETRY (from
// __vmf_anon_prepare) the per-VMA lock between the two.
func (k *Kernel) hugetlbFault(t *sched.Task, v *VMA, addr int, ff faultFlags) (res FaultResult) {
	const site = "hugetlb_fault"
	g := k.Geo
	haddr := g.pmdBase(addr)
	f := v.file
	idx := v.linearPageIndex(haddr)
	if beyondEOF(idx, f.npages) {
		return FaultSEGV // SIGBUS beyond EOF
	}
	mu := f.faultMutexFor(idx)
	mu.Lock(t, site)
	hugetlbVMALockRead(t, v, site)
	hp := k.hugePTEAlloc(t, v, haddr)
	orig := hp.load(t, site)
	if orig != nil && orig.Leaf != nil && orig.Leaf.Kind == PTEMigration {
		// Drop the fault mutex now but keep the VMA lock: it guards
		// huge_pte_lockptr() in migration_entry_wait_huge, which drops it.
		mu.Unlock(t, site)
		k.migrationEntryWaitHuge(t, v, hp)
		return FaultDone
	}
	var waitFor *Folio // need_wait_lock
	defer func() {
		hugetlbVMAUnlockRead(t, v, site)
		if res == FaultRetry {
			releaseFaultLock(t, v, ff, site) // vma_end_read
		}
		mu.Unlock(t, site)
		if waitFor != nil {
			// folio_wait_locked without a reference ("we do not want to use
			// the folio after it becomes unlocked, but rather just wait"):
			// the wait only looks at the lock bit.
			waitFor.lock.WaitUnlocked(t, "folio_wait_locked")
		}
	}()
	switch {
	case orig == nil:
		return k.hugetlbNoPage(t, v, haddr, idx, hp, ff)
	case orig.Leaf == nil:
		return FaultDone // a PTE table where a huge page belongs: never in the model
	case ff&faultWrite != 0 && !orig.Leaf.Write:
		hp.lock(t, site) // vmf.ptl = huge_pte_lock
		defer hp.unlock(t, site)
		if cur := hp.slot.Load(); cur != orig { // !pte_same
			return FaultDone
		}
		if v.Flags()&VMShared != 0 {
			// hugetlb_wp() of a VM_MAYSHARE mapping: set_huge_ptep_writable.
			leaf := *orig.Leaf
			leaf.Write = v.Flags()&VMWrite != 0
			k.setPMD(t, v.mm, hp.pmd, hp.slot, haddr, &PMDEntry{Leaf: &leaf}, "set_huge_ptep_writable")
			return FaultDone
		}
		fo := orig.Leaf.Folio
		if fo.anon && !fo.lock.Trylock(t, site) {
			waitFor = fo
			return FaultDone
		}
		k.folioGet(t, fo, site)
		res = k.hugetlbWP(t, v, hp, haddr, orig, ff)
		if fo.anon {
			fo.lock.Unlock(t, site)
		}
		k.unpin(t, fo, site)
		return res
	}
	return FaultDone
}

// hugetlbNoPage mirrors hugetlb_no_page(): find and lock the page-cache
// folio (filemap_lock_hugetlb_folio). A shared mapping allocates a huge
// folio when there is none and adds it, locked, to the page cache
// (hugetlb_add_to_page_cache; -EEXIST looks again); a private one maps
// the page-cache folio read-only if there is one, else prepares its
// anon_vma (__vmf_anon_prepare) and allocates a zeroed anon folio, locked,
// that only it sees. Then under huge_pte_lock, if the entry is still none,
// the folio is mapped with a leaf (hugetlb_add_file_rmap or
// hugetlb_add_new_anon_rmap, set_huge_pte_at; hugetlb pages count in
// hugetlb_usage, not in rss) — writable only in a shared writable mapping
// (make_huge_pte with VM_SHARED) —, a private write fault breaks COW at
// once (hugetlb_wp, "do the COW without a second fault"), and the folio is
// unlocked.
func (k *Kernel) hugetlbNoPage(t *sched.Task, v *VMA, haddr, idx int, hp *hugePTE, ff faultFlags) FaultResult {
	const site = "hugetlb_no_page"
	f := v.file
	shared := v.Flags()&VMShared != 0
	fo, reserved := f.lockHugetlbFolio(t, idx, shared)
	if fo == nil && shared {
		return k.hugetlbNoPageNoSpace(t, v, haddr, idx, hp, reserved)
	}
	anon := false
	if fo == nil {
		if r := k.vmfAnonPrepareInner(t, v, ff, "__vmf_anon_prepare"); r != FaultDone {
			return r
		}
		if fo = k.allocHugetlbFolioPrivate(t); fo == nil {
			return k.hugetlbNoPageNoSpace(t, v, haddr, idx, hp, false)
		}
		fo.pin()
		if !fo.lock.Trylock(t, site) { // folio_lock of a folio nobody else can see
			t.Internal("%s: the new folio %s is already locked", site, fo.name)
		}
		anon = true
	}
	defer k.unpin(t, fo, site)
	hp.lock(t, site)
	if hp.slot.Load() != nil { // !pte_same: someone mapped it first
		hp.unlock(t, site)
		fo.lock.Unlock(t, site)
		if anon {
			k.discardFolio(fo)
		}
		return FaultDone
	}
	if anon {
		k.hugetlbAddNewAnonRmap(t, fo, v, haddr)
	} else {
		fo.mapcount.Add(1) // hugetlb_add_file_rmap
		fo.entire.Add(1)
	}
	leaf := &PTE{Kind: PTEPresent, Folio: fo, Read: true, Write: shared && v.Flags()&VMWrite != 0, ID: k.newID(), Huge: true}
	orig := &PMDEntry{Leaf: leaf}
	k.setPMD(t, v.mm, hp.pmd, hp.slot, haddr, orig, "set_huge_pte_at")
	r := FaultDone
	if ff&faultWrite != 0 && !shared {
		r = k.hugetlbWP(t, v, hp, haddr, orig, ff)
	}
	hp.unlock(t, site)
	fo.lock.Unlock(t, site)
	return r
}

// lockHugetlbFolio is the page-cache half of hugetlb_no_page():
// filemap_lock_hugetlb_folio() (a lockless lookup, folio_try_get, then the
// sleeping folio lock and a re-check that it is still the page-cache
// folio), else alloc_hugetlb_folio + hugetlb_add_to_page_cache (the new
// folio locked before it is published, under the i_pages lock with the
// slot re-checked). It returns the folio locked and pinned; without add
// (a private mapping), nil when the page cache has none; with add, nil when
// the pool had no page for it (alloc_hugetlb_folio's -ENOSPC), and then
// reserved says whether the reserve map held the index (hugetlbpool.go).
func (f *File) lockHugetlbFolio(t *sched.Task, idx int, add bool) (_ *Folio, reserved bool) {
	const site = "hugetlb_no_page"
	k := f.k
	rcu := k.Env.RCU()
	spin := false // a retry after a failed folio_try_get: a Yield point
	for {
		rcu.ReadLock(t, "filemap_lock_hugetlb_folio")
		if spin {
			t.Yield(sched.KindRead, f.name+" i_pages", "filemap_lock_hugetlb_folio", fmt.Sprintf("lookup %#x (lockless)", idx))
		} else {
			t.Point(sched.KindRead, f.name+" i_pages", "filemap_lock_hugetlb_folio", fmt.Sprintf("lookup %#x (lockless)", idx))
		}
		spin = false
		if fo := f.pages[idx].Load(); fo != nil {
			t.Point(sched.KindRead, fo.name, "filemap_lock_hugetlb_folio", "folio_try_get")
			k.useRCU(t, &fo.Obj, "filemap_lock_hugetlb_folio")
			ok := fo.tryPin()
			rcu.ReadUnlock(t, "filemap_lock_hugetlb_folio")
			if !ok {
				spin = true
				continue
			}
			fo.lock.Lock(t, "filemap_lock_hugetlb_folio")
			if f.pages[idx].Load() == fo {
				return fo, false
			}
			fo.lock.Unlock(t, site)
			k.unpin(t, fo, site)
			continue
		}
		rcu.ReadUnlock(t, "filemap_lock_hugetlb_folio")
		if !add {
			return nil, false
		}
		var fo *Folio
		fo, reserved = k.allocHugetlbFolioShared(t, f, idx)
		if fo == nil {
			return nil, reserved
		}
		fo.file, fo.index = f, idx
		fo.lock.Lock(t, "hugetlb_add_to_page_cache") // __folio_set_locked: nobody can see it yet
		f.xa.Lock(t, "hugetlb_add_to_page_cache")
		t.Point(sched.KindRead, f.name+" i_pages", "__filemap_add_folio", fmt.Sprintf("slot %#x", idx))
		if f.pages[idx].Load() != nil {
			f.xa.Unlock(t, "hugetlb_add_to_page_cache") // -EEXIST: look again
			fo.lock.Unlock(t, "hugetlb_add_to_page_cache")
			k.discardFolio(fo)
			continue
		}
		f.xaBegin(t, "__filemap_add_folio")
		t.Point(sched.KindWrite, f.name+" i_pages", "__filemap_add_folio", fmt.Sprintf("store %s at %#x", fo.name, idx))
		f.pages[idx].Store(fo)
		f.xaEnd(t)
		fo.pin()
		fo.restoreReserve = false // folio_clear_hugetlb_restore_reserve: the page cache holds the reservation now
		f.xa.Unlock(t, "hugetlb_add_to_page_cache")
		return fo, reserved
	}
}

// isHugetlb is folio_test_hugetlb().
func (f *Folio) isHugetlb() bool { return f.hugetlbAnon || (f.file != nil && f.file.hugetlb) }

// Hugetlb reports whether the folio is a hugetlb folio: its mappings count
// in hugetlb_usage, not in rss, and a leaf in a shared PMD table is one
// mapping however many mms share the table.
func (f *Folio) Hugetlb() bool { return f.isHugetlb() }
