package kernelsim

import (
	"fmt"
	"sync/atomic"

	"mmrace/kernelsim/ivtree"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// Flags are a VMA's vm_flags (the subset the protocol needs).
type Flags uint16

// The VMA flags.
const (
	VMRead                 Flags = 1 << iota
	VMWrite                      // VM_WRITE
	VMShared                     // VM_SHARED
	VMStackIncompleteSetup       // VM_STACK_INCOMPLETE_SETUP: exec's temporary stack
	VMDontCopy                   // VM_DONTCOPY
	VMAccount                    // VM_ACCOUNT: the mapping's memory is charged (private writable mappings)
	VMHugepage                   // VM_HUGEPAGE (MADV_HUGEPAGE): THPs are faulted in and collapsed here
	VMHugetlb                    // VM_HUGETLB: a mapping of a hugetlbfs file (hugetlb.go)
	VMRandRead                   // VM_RAND_READ (MADV_RANDOM): no readahead; set and cleared by madvise alone
	vmProtMask             = VMRead | VMWrite
)

// String prints flags the way the text form writes a protection.
func (f Flags) String() string {
	s := "none"
	switch f & vmProtMask {
	case VMRead:
		s = "r"
	case VMRead | VMWrite:
		s = "rw"
	case VMWrite:
		s = "w"
	}
	if f&VMShared != 0 {
		s += ",shared"
	}
	if f&VMStackIncompleteSetup != 0 {
		s += ",stack-incomplete"
	}
	if f&VMHugepage != 0 {
		s += ",thp"
	}
	if f&VMHugetlb != 0 {
		s += ",hugetlb"
	}
	if f&VMRandRead != 0 {
		s += ",random"
	}
	return s
}

// VMA is a vm_area_struct. Start and End are page numbers, End exclusive;
// Pgoff is vm_pgoff in pages.
type VMA struct {
	Obj
	mm    *MM
	start int
	end   int
	pgoff int
	// flagsA is vm_flags (Flags, setFlags): written under the VMA and
	// mmap_lock write locks, read by rmap walkers under the rmap lock only
	// (vma_is_temporary_stack, remove_migration_pte's vm_page_prot): plain
	// accesses in the kernel, atomic here so that free mode has no Go
	// data race.
	flagsA atomic.Uint32
	// released says the object was freed (vm_area_free), for lockless
	// readers (useVMA): set after the poisoning, so that a reader that
	// sees it may read the poison.
	released atomic.Bool
	file     *File
	// anonVMAp is vma->anon_vma: written under the anon_vma lock and
	// page_table_lock (or with the VMA unpublished), read without a lock by
	// vmf_anon_prepare and the merge checks: atomic so that free mode has
	// no Go data race (AnonVMA, setAnonVMA).
	anonVMAp atomic.Pointer[AnonVMA]
	chain    []*AVC // anon_vma_chain, oldest first
	lock     *ksync.VMALock
	shared   ivtree.Node[*VMA] // vma->shared.rb in mapping->i_mmap
	// reuses names the VMA whose memory this one reuses (the vm_area_struct
	// cache is SLAB_TYPESAFE_BY_RCU: a freed VMA is handed out again at
	// once, possibly to another mm, while RCU readers may still hold it).
	reuses string
	// hlock is the hugetlb VMA lock (struct hugetlb_vma_lock's rw_sema in
	// vm_private_data) of a hugetlb VMA, nil for any other (hugetlb.go).
	hlock *ksync.Rwsem
}

func vmaNode(v *VMA) *ivtree.Node[*VMA] { return &v.shared }

// MM returns the VMA's mm.
func (v *VMA) MM() *MM { return v.mm }

// Start returns vm_start.
func (v *VMA) Start() int { return v.start }

// End returns vm_end.
func (v *VMA) End() int { return v.end }

// Pgoff returns vm_pgoff.
func (v *VMA) Pgoff() int { return v.pgoff }

// Flags returns vm_flags.
func (v *VMA) Flags() Flags { return Flags(v.flagsA.Load()) }

// setFlags writes vm_flags.
func (v *VMA) setFlags(f Flags) {
	v.flagsA.Store(uint32(f))
}

// File returns vm_file, or nil.
func (v *VMA) File() *File { return v.file }

// AnonVMA returns vma->anon_vma, or nil.
func (v *VMA) AnonVMA() *AnonVMA { return v.anonVMAp.Load() }

// setAnonVMA writes vma->anon_vma.
func (v *VMA) setAnonVMA(a *AnonVMA) { v.anonVMAp.Store(a) }

// Chain returns the VMA's AVCs.
func (v *VMA) Chain() []*AVC { return v.chain }

// Lock returns the per-VMA lock.
func (v *VMA) Lock() *ksync.VMALock { return v.lock }

// Pages returns vma_pages().
func (v *VMA) Pages() int { return v.end - v.start }

// Describe prints the VMA as narratives do: vma#3 [0x10,0x18) pgoff 0x10.
func (v *VMA) Describe() string {
	return fmt.Sprintf("%s [%#x,%#x) pgoff %#x", v.name, v.start, v.end, v.pgoff)
}

// linearPageIndex is linear_page_index(vma, addr).
func (v *VMA) linearPageIndex(addr int) int { return v.pgoff + (addr - v.start) }

// beyondEOF is the fault paths' "index >= max_idx" (filemap_fault,
// hugetlb_fault's size check) with the kernel's unsigned pgoff_t: an index
// computed from an address below vm_start, which only a fault on a VMA
// that changed under it can compute (a lock mutant: mmap_lock released
// early in lock_mm_and_find_vma), is negative here and huge there, so it
// too is beyond EOF (SIGBUS).
func beyondEOF(index, npages int) bool { return uint(index) >= uint(npages) }

// Address returns vma_address(folio, vma): where the VMA maps the folio's
// index, and whether that lies inside the VMA.
func (v *VMA) Address(index int) (int, bool) {
	a := v.start + (index - v.pgoff)
	return a, a >= v.start && a < v.end
}

func (v *VMA) isAnon() bool { return v.file == nil }

// newVMA allocates a detached VMA of mm (vm_area_alloc). The cache is
// SLAB_TYPESAFE_BY_RCU (v6.15+): the most recently freed VMA object is
// handed out again at once, to any mm, with its lock re-initialised
// (vma_lock_init: detached, vm_lock_seq reset). A reader that found the
// object before it was freed may still be about to lock it; it must
// re-check vm_mm and the range after locking (lock_vma_under_rcu).
func (k *Kernel) newVMA(t *sched.Task, mm *MM, start, end, pgoff int, flags Flags, file *File) *VMA {
	obj := k.newObj(kindVMA)
	k.mu.Lock()
	var v *VMA
	if n := len(k.vmaCache); n > 0 {
		v = k.vmaCache[n-1]
		k.vmaCache = k.vmaCache[:n-1]
	}
	k.mu.Unlock()
	if v == nil {
		v = &VMA{Obj: obj, mm: mm, start: start, end: end, pgoff: pgoff, file: file}
		v.setFlags(flags)
		v.lock = k.Env.NewVMALock(v.name, mm.lock)
		k.hugetlbVMALockAlloc(v)
		return v
	}
	old := v.name
	// Field by field: the lock pointer stays, as the memory of vm_refcnt
	// does, for readers that still hold the object.
	v.Obj, v.mm, v.start, v.end, v.pgoff, v.file = obj, mm, start, end, pgoff, file
	v.setFlags(flags)
	v.released.Store(false)
	v.chain, v.reuses = nil, old
	v.setAnonVMA(nil)
	v.lock.Reinit(v.name, mm.lock)
	v.hlock = nil
	k.hugetlbVMALockAlloc(v)
	t.Record(sched.KindNote, v.name, "vm_area_alloc", "reuses the memory of "+old+" (SLAB_TYPESAFE_BY_RCU)")
	return v
}

// vmAreaDup is vm_area_dup(): a detached copy with the same fields and no
// anon_vma chain (callers clone it).
func (k *Kernel) vmAreaDup(t *sched.Task, mm *MM, v *VMA) *VMA {
	n := k.newVMA(t, mm, v.start, v.end, v.pgoff, v.Flags(), v.file)
	n.setAnonVMA(v.AnonVMA())
	if v.isHugetlb() && v.Flags()&VMShared == 0 {
		// vm_private_data is copied: the copy shares the resv_map and its
		// rw_sema (hugetlb_vm_op_open takes a reference on it). dup_mmap
		// clears it again (hugetlb_dup_vma_private).
		n.hlock = v.hlock
	}
	return n
}

// useVMA checks an access to v's fields: a VMA freed and not yet reused is
// type-stable memory, which a reader inside an RCU read section may look
// at (it must validate what it finds); anywhere else it is a
// use-after-free.
func (k *Kernel) useVMA(t *sched.Task, v *VMA, where string) {
	if v.released.Load() && !k.Env.RCU().InReadSection(t) {
		k.use(t, &v.Obj, where)
	}
}

// useRCU checks an access to an object the caller found without a
// reference, whose memory a read section keeps valid (a folio found in the
// page cache or swap cache, freed only after a grace period): freed, it may
// be looked at inside the section (the lookup then fails), and is a
// use-after-free outside it.
func (k *Kernel) useRCU(t *sched.Task, o *Obj, where string) {
	if o.freed && !k.Env.RCU().InReadSection(t) {
		k.use(t, o, where)
	}
}

// setBounds writes vm_start, vm_end and vm_pgoff. The field-write rule of
// reference A.2: mmap_lock W, the VMA write lock, and the rmap locks in W
// (i_mmap if file-backed, anon_vma root if anon_vma is set).
func (k *Kernel) setBounds(t *sched.Task, v *VMA, start, end, pgoff int, site string) {
	k.useVMA(t, v, site)
	v.lock.AssertWriteLocked(t, site)
	if v.file != nil {
		v.file.immap.AssertHeld(t, true, site)
	}
	if v.AnonVMA() != nil {
		v.AnonVMA().root.rwsem.AssertHeld(t, true, site)
	}
	// vma_set_range (and __split_vma's own assignments) store the fields
	// one by one, each a scheduling point: a reader that does not
	// exclude the writer can see the VMA half changed.
	// Each event names the whole change, as it was before the first store:
	// [start,end) pgoff -> [start,end) pgoff.
	os, oe, op := v.start, v.end, v.pgoff
	if v.start != start {
		t.PointF(sched.KindWrite, site, sched.Obj(v.name).Detailf("vm_start: [%#x,%#x) pgoff %#x -> [%#x,%#x) pgoff %#x").N(os).N(oe).N(op).N(start).N(end).N(pgoff))
		v.start = start
	}
	if v.end != end {
		t.PointF(sched.KindWrite, site, sched.Obj(v.name).Detailf("vm_end: [%#x,%#x) pgoff %#x -> [%#x,%#x) pgoff %#x").N(os).N(oe).N(op).N(start).N(end).N(pgoff))
		v.end = end
	}
	if v.pgoff != pgoff {
		t.PointF(sched.KindWrite, site, sched.Obj(v.name).Detailf("vm_pgoff: [%#x,%#x) pgoff %#x -> [%#x,%#x) pgoff %#x").N(os).N(oe).N(op).N(start).N(end).N(pgoff))
		v.pgoff = pgoff
	}
}

// thpSuitable is thp_vma_suitable_order(vma, addr, HPAGE_PMD_ORDER): the
// PMD-aligned range around addr lies inside the VMA, and a file VMA maps
// the file at an offset aligned like its address.
func (v *VMA) thpSuitable(addr int) bool {
	g := v.mm.k.Geo
	if v.file != nil && ((v.start-v.pgoff)%g.PTEs+g.PTEs)%g.PTEs != 0 {
		return false
	}
	base := g.pmdBase(addr)
	return base >= v.start && base+g.PTEs <= v.end
}
