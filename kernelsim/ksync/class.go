package ksync

// Class is a lockdep lock class: every lock of one kind shares one class
// (all mmap_locks, all PTLs, ...). Rank is its level in the static lock order
// of mm/rmap.c (reference B.8), outer (small) to inner (large); a task may
// only block on a lock of a larger rank than every lock it holds. A class may
// rank differently in read and write mode: the per-VMA lock's read side sits
// at the mmap_lock level (fault paths), its write side at level 6.
type Class struct {
	ID        int
	Name      string
	RankRead  int // 0: not ranked
	RankWrite int
	Sleeping  bool // blocking on it sleeps (rwsem, folio lock), as opposed to spinning
}

// The lock classes of the model, with their ranks from the lock-order comment
// at the top of mm/rmap.c (reference B.8):
//
//	inode->i_rwsem (1)
//	  mm->mmap_lock (2)
//	    mapping->invalidate_lock (3)
//	      folio_lock (4)
//	        hugetlbfs_i_mmap_rwsem_key (5)
//	          vma_start_write (6)
//	            mapping->i_mmap_rwsem (7)
//	              anon_vma->rwsem (8)
//	                mm->page_table_lock or pte_lock (9)
var (
	ClassIRwsem         = &Class{ID: 0, Name: "i_rwsem", RankRead: 1, RankWrite: 1, Sleeping: true}
	ClassMmapLock       = &Class{ID: 1, Name: "mmap_lock", RankRead: 2, RankWrite: 2, Sleeping: true}
	ClassInvalidateLock = &Class{ID: 2, Name: "invalidate_lock", RankRead: 3, RankWrite: 3, Sleeping: true}
	ClassFolioLock      = &Class{ID: 3, Name: "folio_lock", RankRead: 4, RankWrite: 4, Sleeping: true}
	ClassHugetlbIMmap   = &Class{ID: 4, Name: "hugetlbfs_i_mmap_rwsem", RankRead: 5, RankWrite: 5, Sleeping: true}
	// ClassVMALock: readers (vma_start_read, always a trylock) rank with
	// mmap_lock; the writer (vma_start_write) ranks at 6.
	ClassVMALock      = &Class{ID: 5, Name: "vma_lock", RankRead: 2, RankWrite: 6, Sleeping: true}
	ClassIMmapRwsem   = &Class{ID: 6, Name: "i_mmap_rwsem", RankRead: 7, RankWrite: 7, Sleeping: true}
	ClassAnonVMA      = &Class{ID: 7, Name: "anon_vma->rwsem", RankRead: 8, RankWrite: 8, Sleeping: true}
	ClassPageTableLck = &Class{ID: 8, Name: "page_table_lock", RankRead: 9, RankWrite: 9}
	ClassPTL          = &Class{ID: 9, Name: "ptl", RankRead: 9, RankWrite: 9}
	// ClassTestA and ClassTestB are unranked sleeping classes for test
	// programs; ClassTestP and ClassTestQ unranked spinning ones.
	ClassTestA = &Class{ID: 10, Name: "test_a", Sleeping: true}
	ClassTestB = &Class{ID: 11, Name: "test_b", Sleeping: true}
	ClassTestP = &Class{ID: 12, Name: "test_p"}
	ClassTestQ = &Class{ID: 13, Name: "test_q"}
	ClassTestF = &Class{ID: 14, Name: "test_folio", Sleeping: true}
)

// NewClass returns an extra class (for tests and future lock kinds). ids
// must be unique and below MaxClasses.
func NewClass(id int, name string, rankRead, rankWrite int, sleeping bool) *Class {
	if id < 0 || id >= MaxClasses {
		panic("mmrace internal error: lock class id out of range")
	}
	return &Class{ID: id, Name: name, RankRead: rankRead, RankWrite: rankWrite, Sleeping: sleeping}
}

// MaxClasses bounds class ids; MaxSubclass bounds nesting annotations.
const (
	MaxClasses  = 32
	MaxSubclass = 4
)

// SingleDepthNesting is the subclass of the second lock of a class taken
// while holding the first (old/new PTL in mremap, child mmap_lock in fork),
// like the kernel's SINGLE_DEPTH_NESTING.
const SingleDepthNesting = 1

func (c *Class) rank(write bool) int {
	if write {
		return c.RankWrite
	}
	return c.RankRead
}
