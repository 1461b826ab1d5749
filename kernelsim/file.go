package kernelsim

import (
	"fmt"
	"sync/atomic"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// File is an inode's address_space: the i_mmap interval tree of every VMA
// mapping the file (shared and private), its rwsem, and the page cache.
type File struct {
	Obj
	k      *Kernel
	immap  *ksync.Rwsem
	irwsem *ksync.Rwsem // inode->i_rwsem of a file not on hugetlbfs: taken by hole punch only (punch.go)
	// hirwsem is a hugetlbfs inode's i_rwsem (hugetlb files only): hole
	// punch (hugetlbpunch.go) and hugetlbfs_file_mmap (mmap.go) take it.
	hirwsem *ksync.Rwsem
	tree    ITree[*VMA]
	pages   []atomic.Pointer[Folio] // page cache, by index (lookups are lockless: RCU, as the xarray)
	xa      *ksync.Mutex            // i_pages xa_lock, below the PTL
	// xaWriter is the task (ID+1) whose store into pages is in progress,
	// 0 for none (xarray.go).
	xaWriter atomic.Int64
	npages   int
	// hugetlb: a hugetlbfs file; faultMutex is its slice of
	// hugetlb_fault_mutex_table, one per huge page (hugetlb.go).
	hugetlb    bool
	faultMutex []*ksync.Mutex
	// resv is a hugetlbfs file's reserve map (resv_map regions): per huge
	// page, reserved or instantiated (hugetlbpool.go); under resvMu.
	resv   []bool
	resvMu ksync.Mu
	// uprobes are the offsets of the uprobes registered on the file
	// (uprobe.go).
	uprobes []int
}

// classIPages is the i_pages xa_lock, below the PTL in mm/rmap.c's order.
var classIPages = ksync.NewClass(20, "i_pages", 10, 10, false)

// classHugetlbfsIRwsem is a hugetlbfs inode's i_rwsem. Lockdep keys
// i_rwsem per filesystem type (sb->s_type->i_mutex_key), and hugetlbfs's
// sits below mmap_lock, not above it as mm/rmap.c's i_rwsem:
// hugetlbfs_file_mmap takes it under mmap_lock (for hugetlb_reserve_pages),
// and no hugetlbfs path takes mmap_lock under it (hugetlbfs has no
// write_iter to fault under it). The hole punch blocks on the hugetlb VMA
// lock under it (hugetlb_unmap_file_folio), which the fault takes under
// mmap_lock: its place lies strictly between two adjacent levels of the
// static order, so it is unranked, like the hugetlb fault mutex, and only
// the lockdep graph of the orders a run takes checks it.
var classHugetlbfsIRwsem = ksync.NewClass(23, "hugetlbfs_i_rwsem", 0, 0, true)

// NewFile creates a file of n pages (contents zero).
func (k *Kernel) NewFile(name string, n int) *File { return k.newFile(name, n, false) }

// newFile creates a file of n pages, on hugetlbfs when hugetlb is set.
func (k *Kernel) newFile(name string, n int, hugetlb bool) *File {
	f := &File{Obj: Obj{name: name}, k: k, npages: n, pages: make([]atomic.Pointer[Folio], n), tree: newITree(vmaNode), hugetlb: hugetlb}
	k.Env.InitMu(&f.resvMu)
	f.immap = k.Env.NewRwsem("i_mmap_rwsem("+name+")", ksync.ClassIMmapRwsem)
	f.xa = k.Env.NewMutex("i_pages("+name+")", classIPages)
	if hugetlb {
		f.hirwsem = k.Env.NewRwsem("i_rwsem("+name+")", classHugetlbfsIRwsem)
	} else {
		f.irwsem = k.Env.NewRwsem("i_rwsem("+name+")", ksync.ClassIRwsem)
	}
	k.files = append(k.files, f)
	return f
}

// IMmap returns the i_mmap_rwsem.
func (f *File) IMmap() *ksync.Rwsem { return f.immap }

// Tree returns the i_mmap interval tree.
func (f *File) Tree() *ITree[*VMA] { return &f.tree }

// Pages returns the file size in pages.
func (f *File) Pages() int { return f.npages }

// CachedFolio returns the page-cache folio at index, or nil.
func (f *File) CachedFolio(index int) *Folio { return f.pages[index].Load() }

// filemapFault is filemap_fault()'s lookup and lock (mm/filemap.c): find
// the page-cache folio at index and take a reference (filemap_get_folio: a
// lockless lookup under RCU with folio_try_get), or create one and insert
// it (__filemap_get_folio(FGP_CREAT) → filemap_add_folio: under the i_pages
// xa_lock, the slot re-checked before the store, -EEXIST sending the
// lookup round again), then lock it through lock_folio_maybe_drop_mmap().
// The lookup, the re-check and the store are separate scheduling points,
// as they are separate accesses in the kernel. A contended folio lock on a
// first attempt (fault_flag_allow_retry_first) drops the fault lock —
// the VMA read lock or mmap_lock — before sleeping on the folio
// (maybe_unlock_mmap_for_io / __folio_lock_or_retry), then unlocks it and
// returns nil for VM_FAULT_RETRY: the fault is redone, the VMA looked up
// again. A retried fault (FAULT_FLAG_TRIED) sleeps holding the fault lock.
// After locking it re-checks that the folio is still the page-cache folio
// (migration may have replaced it), and looks again if not. It returns the
// folio locked and pinned; the caller unpins it.
func (f *File) filemapFault(t *sched.Task, v *VMA, index int, ff faultFlags) *Folio {
	const site = "filemap_fault"
	spin := false
	for {
		fo, frozen := f.lookup(t, index, spin)
		spin = frozen
		if fo == nil {
			continue // -EEXIST, or the folio found was dying: look again
		}
		if !fo.lock.Trylock(t, "lock_folio_maybe_drop_mmap") {
			if ff&faultTried == 0 {
				releaseFaultLock(t, v, ff, "maybe_unlock_mmap_for_io")
				fo.lock.Lock(t, "__folio_lock")
				fo.lock.Unlock(t, site) // fpin: out_retry
				f.k.unpin(t, fo, site)
				return nil
			}
			fo.lock.Lock(t, "__folio_lock")
		}
		if f.pages[index].Load() == fo {
			return fo
		}
		fo.lock.Unlock(t, site) // replaced while we waited: look again
		f.k.unpin(t, fo, site)
	}
}

// lookup finds the page-cache folio at index and pins it, or adds a new
// one: nil when the caller must look again, with spin set when the folio
// found could not be pinned (its reference count is zero: it is being
// freed, or a migration froze it until it replaces it in the page cache),
// so that the look again spins until another task acts. spin says this
// lookup is such a retry (filemap_get_entry's "goto repeat"): its first
// access is a Yield point.
func (f *File) lookup(t *sched.Task, index int, spin bool) (fo *Folio, frozen bool) {
	const site = "filemap_fault"
	rcu := f.k.Env.RCU()
	rcu.ReadLock(t, "filemap_get_folio")
	if spin {
		t.Yield(sched.KindRead, f.name+" i_pages", "filemap_get_folio", fmt.Sprintf("lookup %#x (lockless)", index))
	} else {
		t.PointF(sched.KindRead, "filemap_get_folio", sched.Objf("%s i_pages").S(f.name).Detailf("lookup %#x (lockless)").N(index))
	}
	if fo = f.pages[index].Load(); fo != nil {
		// folio_try_get, a separate access: the folio may have left the
		// page cache and be on its way to being freed meanwhile.
		t.Point(sched.KindRead, fo.name, "filemap_get_folio", "folio_try_get")
		f.k.useRCU(t, &fo.Obj, "filemap_get_folio")
		ok := fo.tryPin() // fails on a folio being freed
		rcu.ReadUnlock(t, "filemap_get_folio")
		if !ok {
			return nil, true
		}
		return fo, false
	}
	rcu.ReadUnlock(t, "filemap_get_folio")
	fo = f.k.allocFolio(false)
	fo.file, fo.index = f, index
	f.xa.Lock(t, site) // filemap_add_folio → __filemap_add_folio
	t.PointF(sched.KindRead, "__filemap_add_folio", sched.Objf("%s i_pages").S(f.name).Detailf("slot %#x").N(index))
	if f.pages[index].Load() != nil {
		f.xa.Unlock(t, site) // -EEXIST: someone added one first
		f.k.discardFolio(fo)
		return nil, false
	}
	f.xaBegin(t, "__filemap_add_folio")
	t.PointF(sched.KindWrite, "__filemap_add_folio", sched.Objf("%s i_pages").S(f.name).Detailf("store %s at %#x").S(fo.name).N(index))
	f.pages[index].Store(fo)
	f.xaEnd(t)
	fo.pin()
	f.xa.Unlock(t, site)
	return fo, false
}

// vmaLinkFile is vma_link_file(): insert the VMA into i_mmap.
func (k *Kernel) vmaLinkFile(t *sched.Task, v *VMA, site string) {
	f := v.file
	f.immap.DownWrite(t, site)
	if k.Variants.Has("mmap-vma-lock-after-i_mmap") {
		// D.11a: the new VMA is write-locked with i_mmap_rwsem held, inverting
		// "vma_start_write before i_mmap" (fixed by 1c7873e33645).
		v.lock.StartWrite(t, site)
	}
	t.PointF(sched.KindWrite, site, v.descOps(sched.Obj(f.name).Detailf("i_mmap insert "+vmaDescFmt)))
	f.insert(t, v, site)
	f.immap.UpWrite(t, site)
}

// unlinkFileVMA is unlink_file_vma(): remove the VMA from i_mmap.
func (k *Kernel) unlinkFileVMA(t *sched.Task, v *VMA, site string) {
	f := v.file
	if f == nil {
		return
	}
	f.immap.DownWrite(t, site)
	t.PointF(sched.KindWrite, site, v.descOps(sched.Obj(f.name).Detailf("i_mmap remove "+vmaDescFmt)))
	f.remove(t, v, site)
	f.immap.UpWrite(t, site)
}

// insert is vma_interval_tree_insert(): with i_mmap_rwsem held for write
// (the rule of reference A.5, asserted as the anon side asserts its lock).
func (f *File) insert(t *sched.Task, v *VMA, site string) {
	f.immap.AssertHeld(t, true, "vma_interval_tree_insert: i_mmap is changed without i_mmap_rwsem held for write")
	treeCorrupt(t, f.tree.Contains(v), v.name, f.name+" i_mmap", site, "inserts", "already in")
	treeOp(t, f.name+" i_mmap", site, func() {
		f.tree.Insert(v, v.pgoff, v.pgoff+v.Pages()-1, treeWrite[*VMA](f.k, t, f.name+" i_mmap", site))
	})
}

// insertAfter is vma_interval_tree_insert_after() (fork).
func (f *File) insertAfter(t *sched.Task, v, prev *VMA, site string) {
	f.immap.AssertHeld(t, true, "vma_interval_tree_insert_after: i_mmap is changed without i_mmap_rwsem held for write")
	treeCorrupt(t, f.tree.Contains(v) || !f.tree.Contains(prev), v.name, f.name+" i_mmap", site, "inserts after "+prev.name, "already in (or its prev not in)")
	treeOp(t, f.name+" i_mmap", site, func() {
		f.tree.InsertAfter(v, prev, v.pgoff, v.pgoff+v.Pages()-1, treeWrite[*VMA](f.k, t, f.name+" i_mmap", site))
	})
}

// remove is vma_interval_tree_remove().
func (f *File) remove(t *sched.Task, v *VMA, site string) {
	f.immap.AssertHeld(t, true, "vma_interval_tree_remove: i_mmap is changed without i_mmap_rwsem held for write")
	treeCorrupt(t, !f.tree.Contains(v), v.name, f.name+" i_mmap", site, "removes", "not in")
	treeOp(t, f.name+" i_mmap", site, func() { f.tree.Remove(v, treeWrite[*VMA](f.k, t, f.name+" i_mmap", site)) })
}
