package kernelsim

import (
	"sort"
	"sync/atomic"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// MM is a mm_struct: its mmap_lock, the VMA tree (the maple tree, readable
// under RCU), page_table_lock, the page tables and the rss counters.
type MM struct {
	Obj
	k        *Kernel
	lock     *ksync.MmapLock
	ptlock   *ksync.Mutex // mm->page_table_lock
	tree     atomic.Pointer[[]vmaSlot]
	pud      []atomic.Pointer[PMDTable] // the top-level table, under page_table_lock
	rssAnon  atomic.Int64
	rssFile  atomic.Int64
	rssSwap  atomic.Int64 // MM_SWAPENTS
	mapCount int
	users    atomic.Int32 // mm_users: the process's reference and each op's
	running  atomic.Bool  // its process runs: the program's ops may use it
	exiting  atomic.Bool  // the process exited (its reference is dropped)
	exited   bool         // exit_mmap ran
	// tlbFlushPending is mm->tlb_flush_pending: the mmu_gathers of this
	// mm whose flush has not happened yet.
	tlbFlushPending atomic.Int32
	// tlbFlushBatched is mm->tlb_flush_batched: reclaim's pending batched
	// flushes and how many of them flush_tlb_batched_pending has flushed
	// (tlbbatch.go).
	tlbFlushBatched atomic.Int32
}

// vmaSlot is one maple-tree entry: the range is the tree's own key, so a
// lockless lookup never reads the VMA's fields.
type vmaSlot struct {
	start, end int
	vma        *VMA
}

// NewMM creates an empty address space named name ("mm1").
func (k *Kernel) NewMM(name string) *MM {
	m := k.allocMM(name)
	k.publishMM(m)
	m.running.Store(true)
	return m
}

// allocMM creates an mm that nobody else can find yet (mm_alloc in dup_mm:
// the child is private to fork until it returns).
func (k *Kernel) allocMM(name string) *MM {
	m := &MM{Obj: Obj{name: name}, k: k, pud: make([]atomic.Pointer[PMDTable], k.Geo.PUDs)}
	m.lock = k.Env.NewMmapLock(name)
	m.ptlock = k.Env.NewMutex("page_table_lock("+name+")", ksync.ClassPageTableLck)
	empty := []vmaSlot{}
	m.tree.Store(&empty)
	m.users.Store(1)
	return m
}

// publishMM makes m visible by name to the checkers and the rmap scans; the
// program's ops reach it only once its process runs (MM.running).
func (k *Kernel) publishMM(m *MM) {
	k.mu.Lock()
	k.mms = append(k.mms, m)
	k.mu.Unlock()
}

// Lock returns the mmap_lock.
func (m *MM) Lock() *ksync.MmapLock { return m.lock }

// VMAs returns the attached VMAs in address order.
func (m *MM) VMAs() []*VMA {
	slots := *m.tree.Load()
	out := make([]*VMA, len(slots))
	for i, s := range slots {
		out[i] = s.vma
	}
	return out
}

// TreeKeys returns the maple tree's own keys, for the tree-integrity check.
func (m *MM) TreeKeys() [][2]int {
	slots := *m.tree.Load()
	out := make([][2]int, len(slots))
	for i, s := range slots {
		out[i] = [2]int{s.start, s.end}
	}
	return out
}

// MapCount returns map_count.
func (m *MM) MapCount() int { return m.mapCount }

// RSS returns the anon and file rss counters.
func (m *MM) RSS() (anon, file int) { return int(m.rssAnon.Load()), int(m.rssFile.Load()) }

// SwapEnts returns the MM_SWAPENTS counter: the swap entries of the mm.
func (m *MM) SwapEnts() int { return int(m.rssSwap.Load()) }

// findVMA is find_vma_intersection(mm, addr, addr+1) under mmap_lock.
func (m *MM) findVMA(addr int) *VMA {
	for _, s := range *m.tree.Load() {
		if s.start <= addr && addr < s.end {
			return s.vma
		}
	}
	return nil
}

// neighbours returns the attached VMAs just before and after v's range.
func (m *MM) neighbours(v *VMA) (prev, next *VMA) {
	for _, s := range *m.tree.Load() {
		if s.end <= v.start {
			prev = s.vma
		}
		if s.start >= v.end && next == nil {
			next = s.vma
		}
	}
	return prev, next
}

// overlapping returns the attached VMAs intersecting [start, end).
func (m *MM) overlapping(start, end int) []*VMA {
	var out []*VMA
	for _, s := range *m.tree.Load() {
		if s.start < end && s.end > start {
			out = append(out, s.vma)
		}
	}
	return out
}

// vmaIterStore republishes the maple tree with v in it (or with v's new
// bounds); vmaIterClear removes vs. The tree uses mmap_lock as its external
// lock: the caller holds it for write. Readers under RCU see the old or the
// new array, never a torn one.
func (m *MM) vmaIterStore(t *sched.Task, v *VMA, site string) {
	m.lock.AssertWriteLocked(t, site)
	t.PointF(sched.KindWrite, site, v.descOps(sched.Objf("%s maple tree").S(m.name).Detailf("store "+vmaDescFmt)))
	old := *m.tree.Load()
	next := make([]vmaSlot, 0, len(old)+1)
	for _, s := range old {
		if s.vma != v {
			next = append(next, s)
		}
	}
	next = append(next, vmaSlot{start: v.start, end: v.end, vma: v})
	sortSlots(next)
	m.tree.Store(&next)
}

// sortSlots sorts s by start as sort.Slice does, with the same order of
// equal starts: up to 12 slots, its insertion sort (stable), inline and
// without sort.Slice's allocations; more, sort.Slice itself.
func sortSlots(s []vmaSlot) {
	if len(s) > 12 { // sort.Slice's pdqsort sorts up to 12 elements by insertion
		sort.Slice(s, func(i, j int) bool { return s[i].start < s[j].start })
		return
	}
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].start < s[j-1].start; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func (m *MM) vmaIterClear(t *sched.Task, vs []*VMA, site string) {
	m.lock.AssertWriteLocked(t, site)
	t.PointF(sched.KindWrite, site, sched.Objf("%s maple tree").S(m.name).Detailf("clear %d vmas").N(len(vs)))
	old := *m.tree.Load()
	next := make([]vmaSlot, 0, len(old))
outer:
	for _, s := range old {
		for _, v := range vs {
			if s.vma == v {
				continue outer
			}
		}
		next = append(next, s)
	}
	m.tree.Store(&next)
}

// lookupRCU is the lockless maple-tree walk of lock_vma_under_rcu (caller
// is inside an RCU read section).
func (m *MM) lookupRCU(t *sched.Task, addr int) *VMA {
	t.PointF(sched.KindRead, "lock_vma_under_rcu", sched.Objf("%s maple tree").S(m.name).Detailf("lookup %#x").N(addr))
	return m.findVMA(addr)
}
