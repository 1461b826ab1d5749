// Package kernelsim is the lock-faithful model of the kernel's mm objects
// and of the paths that change them. Each path is a Go function in the
// kernel's structure and lock order, with a comment naming the kernel
// function it mirrors; deliberate simplifications say so.
//
// Scheduling points sit where another thread could observe or change shared
// state: every lock operation (kernelsim/ksync), every page-table entry read
// or write on a path that races, VMA tree publication, anon_vma publication,
// and user loads and stores.
package kernelsim

import (
	"fmt"
	"strconv"
	"sync/atomic"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// Geometry is the shape of the page tables: entries per PTE, PMD and PUD
// table. Small by default so that table boundaries and whole-table
// operations occur in tiny programs. Addresses are page numbers.
type Geometry struct {
	PTEs, PMDs, PUDs int
}

// DefaultGeometry has 8 entries per table: 512 pages of address space, a
// PTE table covering 8 pages and a PMD table 64.
var DefaultGeometry = Geometry{PTEs: 8, PMDs: 8, PUDs: 8}

// Pages returns the size of the address space in pages.
func (g Geometry) Pages() int { return g.PTEs * g.PMDs * g.PUDs }

func (g Geometry) pudIndex(addr int) int { return addr / (g.PTEs * g.PMDs) }
func (g Geometry) pmdIndex(addr int) int { return addr / g.PTEs % g.PMDs }
func (g Geometry) pteIndex(addr int) int { return addr % g.PTEs }

// tableEnd returns where the PTE table holding addr ends, capped at end:
// the extent a per-table loop handles under one PTL (pmd_addr_end).
func (g Geometry) tableEnd(addr, end int) int {
	return min((addr/g.PTEs+1)*g.PTEs, end)
}

// pmdBase returns the first page the PMD entry covering addr maps
// (addr & HPAGE_PMD_MASK): a PMD leaf maps one PTE table's span, so a THP
// has HPAGE_PMD_NR = PTEs pages.
func (g Geometry) pmdBase(addr int) int { return addr / g.PTEs * g.PTEs }

// pudBase is the first page of addr's PUD range.
func (g Geometry) pudBase(addr int) int { return addr / g.pudSpan() * g.pudSpan() }

// hpageOrder is HPAGE_PMD_ORDER: the order of a folio one PMD leaf maps.
func (g Geometry) hpageOrder() int {
	o := 0
	for 1<<o < g.PTEs {
		o++
	}
	return o
}

// Kernel is the simulated kernel of one program: its mms, files and every
// object ever allocated (freed ones stay, poisoned).
type Kernel struct {
	Env *ksync.Env
	Geo Geometry
	// Variants are the variants in force; their decision points count
	// their hits (VariantSwitch).
	Variants VariantSwitch
	// InjectAllocFailures lets page-table allocations of mremap fail, as a
	// data choice of the strategy (the program's "inject alloc-failures").
	InjectAllocFailures bool
	// ReclaimInspectOnly makes reclaim stop after folio_referenced, as the
	// model's reclaim once did: for the oracle, whose host does not
	// reclaim.
	ReclaimInspectOnly bool

	staleCopies atomic.Int64 // StaleCopies
	// storesLeft is, per task of the concurrent phase, how many of its
	// store ops have not ended (PlanStores; planned says it was set).
	storesLeft [maxTLBTasks]atomic.Int32
	planned    bool
	relocks    atomic.Int64 // Relocks
	// TreeSteps makes every store and every iterator read of the interval
	// trees a scheduling point (see treestep.go); the harness sets it when a
	// variant or a lock mutant may let a reader in without the tree's lock.
	TreeSteps bool

	mu     ksync.Mu // free mode: registries, ids, memory log
	mms    []*MM
	files  []*File
	ids    [numObjKinds]int
	folios []*Folio
	tables []*PTETable
	pmds   []*PMDTable
	pfn0   *PTETable // what pmd_pgtable() of a none PMD points at (pfn0Table)
	avs    []*AnonVMA
	// vmaCache is the vm_area_struct slab's free list (LIFO).
	vmaCache []*VMA
	// tlb is every task's TLB; gather each task's mmu_gather in progress.
	tlb    tlbSet
	gather [maxTLBTasks]*mmuGather
	// batchedPaid is, per task, when it last called
	// flush_tlb_batched_pending (tlbbatch.go): the promise of its
	// operation to pay reclaim's batched debts.
	batchedPaid [maxTLBTasks]tlbStamp
	phase       int // EnterPhase: which phase of the run this is
	mem         []MemEvent
	mapIDs      atomic.Uint64
	// written maps a mapping identity to the step of the last write of an
	// entry carrying it (cleared, rewritten in place, moved): a non-SYNC
	// rmap peek may miss such an entry by design.
	written map[uint64]int
	// Hooks are the dynamic checkers (set by the harness from package
	// invariants); nil hooks check nothing.
	Hooks Hooks

	// flushMut is the state of mmrace locks' TLB flush mutants.
	flushMut flushMutants

	hpool hugePool // the huge page pool and its reservations (hugetlbpool.go)
}

// New returns an empty kernel with the given lock checks and variants.
func New(cfg ksync.Config, v Variants) *Kernel {
	k := &Kernel{Env: ksync.NewEnv(cfg), Geo: DefaultGeometry, Variants: newVariantSwitch(v)}
	k.Env.InitMu(&k.mu)
	k.Env.InitMu(&k.tlb.mu)
	k.Env.InitMu(&k.hpool.mu)
	k.Env.SetAfterRelease(k.releasedFlushes) // flush-after-unlock (flushmutant.go)
	return k
}

// Recycle gives k, new and still empty, the memory of old, a kernel that
// nobody reads any more (harness.Options.Reuse): the arrays of its memory
// log and of its registries of mms, files, folios, page tables and
// anon_vmas, emptied. It changes nothing k does; old must not be used
// afterwards.
func (k *Kernel) Recycle(old *Kernel) {
	if old == nil || old == k || len(k.mem)+len(k.mms)+len(k.files)+len(k.folios)+len(k.tables)+len(k.pmds)+len(k.avs) > 0 {
		return
	}
	k.mem, old.mem = emptied(old.mem), nil
	k.mms, old.mms = emptied(old.mms), nil
	k.files, old.files = emptied(old.files), nil
	k.folios, old.folios = emptied(old.folios), nil
	k.tables, old.tables = emptied(old.tables), nil
	k.pmds, old.pmds = emptied(old.pmds), nil
	k.avs, old.avs = emptied(old.avs), nil
}

// emptied returns s cleared (so that it keeps nothing alive) and of length 0.
func emptied[T any](s []T) []T {
	clear(s)
	return s[:0]
}

// objKind numbers object kinds for their printed ids (vma#3, f#7, ...).
type objKind uint8

const (
	kindMM objKind = iota
	kindVMA
	kindAnonVMA
	kindAVC
	kindFolio
	kindPTE
	kindPMD
	kindFile
	numObjKinds
)

var kindPrefix = [numObjKinds]string{"mm", "vma#", "av#", "avc#", "f", "pt#", "pmd#", "file"}

// Obj is embedded in every model object: its printed name and, once freed,
// when and by whom. A freed object is poisoned, not forgotten: touching it
// is a use-after-free violation naming the object and the freeing step.
type Obj struct {
	name      string
	freed     bool
	freedStep int
	freedBy   string // who freed it and where, or (no freedTask) why it is poisoned
	freedTask string // the freeing task's name (free), or ""
}

// Name returns the object's printed name.
func (o *Obj) Name() string { return o.name }

// Freed reports whether the object has been freed.
func (o *Obj) Freed() bool { return o.freed }

// FreedAt describes when the object was freed (or, for an object that
// never was one, what it is).
func (o *Obj) FreedAt() string {
	if o.freedStep < 0 {
		return o.freedBy
	}
	if o.freedTask != "" {
		return fmt.Sprintf("freed at step %d by %s in %s", o.freedStep, o.freedTask, o.freedBy)
	}
	return fmt.Sprintf("freed at step %d by %s", o.freedStep, o.freedBy)
}

func (k *Kernel) newObj(kind objKind) Obj {
	o, _ := k.newObjID(kind)
	return o
}

// newObjID is newObj, and the object's id.
func (k *Kernel) newObjID(kind objKind) (Obj, int) {
	k.mu.Lock()
	k.ids[kind]++
	id := k.ids[kind]
	k.mu.Unlock()
	if id < len(objNames[kind]) {
		return Obj{name: objNames[kind][id]}, id
	}
	return Obj{name: fmt.Sprintf("%s%d", kindPrefix[kind], id)}, id
}

// lockOf names the locks that are named after their object: the lock of
// an object of kind lockKind[l] with name N is named lockPrefix[l] + N + ")".
type lockOf uint8

const (
	folioLock lockOf = iota
	ptlLock
	pmdLock
	anonVMALock
	numLockOf
)

var (
	lockPrefix = [numLockOf]string{"folio_lock(", "ptl(", "pmd_lock(", "anon_vma("}
	lockKind   = [numLockOf]objKind{kindFolio, kindPTE, kindPMD, kindAnonVMA}
	// lockNames are the names of the locks of the first ids, made once.
	lockNames = func() (n [numLockOf][len(objNames[0])]string) {
		for l := range n {
			for id := range n[l] {
				n[l][id] = lockPrefix[l] + objNames[lockKind[l]][id] + ")"
			}
		}
		return n
	}()
)

// lockName returns the name of lock l of the object of id id named name
// (newObjID).
func lockName(l lockOf, id int, name string) string {
	if id < len(lockNames[l]) {
		return lockNames[l][id]
	}
	return lockPrefix[l] + name + ")"
}

// objNames are the names of the first ids of each kind, made once.
var objNames = func() (n [numObjKinds][128]string) {
	for kind := range n {
		for id := range n[kind] {
			n[kind][id] = kindPrefix[kind] + strconv.Itoa(id)
		}
	}
	return n
}()

// free poisons o.
func (k *Kernel) free(t *sched.Task, o *Obj, where string) {
	if o.freed {
		t.Fail(sched.Violation{Invariant: "use-after-free", Detail: fmt.Sprintf("%s: double free of %s (%s)", where, o.name, o.FreedAt())})
	}
	o.freed, o.freedStep, o.freedTask, o.freedBy = true, t.Step(), t.Name(), where
}

// bugOn reports what the kernel would hit as a BUG_ON: a finding about the
// simulated kernel (invariant bug-on), not an error of the harness.
func bugOn(t *sched.Task, format string, args ...any) {
	t.Fail(sched.Violation{Invariant: "bug-on", Detail: fmt.Sprintf(format, args...)})
}

// use checks that o is alive; touching a freed object is a use-after-free.
func (k *Kernel) use(t *sched.Task, o *Obj, where string) {
	if o.freed {
		t.Fail(sched.Violation{Invariant: "use-after-free", Detail: fmt.Sprintf("%s touches %s, %s", where, o.name, o.FreedAt())})
	}
}

// useIn is use(t, o, site+": "+what), the text made only for a violation.
func (k *Kernel) useIn(t *sched.Task, o *Obj, site, what string) {
	if o.freed {
		k.use(t, o, site+": "+what)
	}
}

// noteWrite records that an entry with mapping identity id was written
// (setPTE, for the old and the new value).
func (k *Kernel) noteWrite(t *sched.Task, id uint64) {
	k.mu.Lock()
	if k.written == nil {
		k.written = map[uint64]int{}
	}
	k.written[id] = t.Step()
	k.mu.Unlock()
}

// WrittenSince reports whether an entry with mapping identity id was
// written (cleared, rewritten or moved) at or after step.
func (k *Kernel) WrittenSince(id uint64, step int) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	s, ok := k.written[id]
	return ok && s >= step
}

// MMs returns every mm of the kernel, in creation order.
func (k *Kernel) MMs() []*MM {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.mms[:len(k.mms):len(k.mms)] // appended to, never changed: a caller's append copies
}

// Files returns every file, in creation order.
func (k *Kernel) Files() []*File { return k.files }

// Folios returns every folio ever allocated, freed ones included.
func (k *Kernel) Folios() []*Folio { return k.folios }

// PTETables returns every PTE table ever allocated.
func (k *Kernel) PTETables() []*PTETable { return k.tables }

// PMDTables returns every PMD table ever allocated.
func (k *Kernel) PMDTables() []*PMDTable { return k.pmds }

// AnonVMAs returns every anon_vma ever allocated.
func (k *Kernel) AnonVMAs() []*AnonVMA { return k.avs }

// MM returns the mm named name, or nil.
func (k *Kernel) MM(name string) *MM {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, m := range k.mms {
		if m.name == name {
			return m
		}
	}
	return nil
}

// File returns the file named name, or nil.
func (k *Kernel) File(name string) *File {
	for _, f := range k.files {
		if f.name == name {
			return f
		}
	}
	return nil
}
