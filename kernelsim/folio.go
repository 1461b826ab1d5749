package kernelsim

import (
	"fmt"
	"sync/atomic"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// Folio is a folio of 1<<order pages (order 0: a small page; a THP has
// the order of a PMD, HPAGE_PMD_ORDER, whose pages one PTE table maps).
// The contents of each page are one value standing for the page's bytes, so
// lost and misplaced writes show as wrong data.
type Folio struct {
	Obj
	k    *Kernel
	lock *ksync.Mutex // PG_locked
	anon bool
	// hugetlbAnon: an anon hugetlb folio (a private hugetlb mapping's
	// COW or first-touch page, hugetlb_add_new_anon_rmap); a page-cache
	// hugetlb folio is known by its file.
	hugetlbAnon bool
	// hugePool: a page of the huge page pool (freed back to it, not to
	// the buddy allocator); restoreReserve: HPG_restore_reserve, the
	// allocation consumed a reservation its free gives back
	// (hugetlbpool.go).
	hugePool, restoreReserve bool

	anonVMA *AnonVMA     // folio->mapping for anon folios
	file    *File        // folio->mapping for file folios
	index   int          // folio->index, of the first page
	order   atomic.Int32 // folio_order: changed by a split while others may print or test it
	// mapcount counts the folio's mappings by page tables: one per present
	// PTE mapping one of its pages, one per PMD leaf mapping all of them
	// (the kernel's _large_mapcount; folio_mapcount of a small folio).
	// entire counts the PMD leaves alone (_entire_mapcount).
	mapcount atomic.Int32
	entire   atomic.Int32
	data     atomic.Uint64   // page 0
	tail     []atomic.Uint64 // pages 1 .. nr-1 of a large folio
	// splitTails are the folios a split made of pages 1 .. nr-1; the
	// folio itself is the first page's, now of order 0. The kernel's
	// entries name pfns, the model's (folio, page): pageFolio resolves an
	// entry made before the split (a migration entry of unmap_folio).
	splitTails atomic.Pointer[[]*Folio] // set by the split; read by lockless pfn_folio (a migration entry's page)
	// refMu makes the lifetime decisions atomic, as the kernel's refcount
	// is: the last reference, a mapping or a pin, frees the folio exactly
	// once. (In controlled mode nothing else runs meanwhile anyway.)
	refMu  ksync.Mu
	pins   int  // isolation references (migration, faults); under refMu
	zombie bool // its last mapping went while pinned; under refMu
	dying  bool // the last reference went: freed after a grace period; under refMu
	// isolated is !PG_lru: the folio was taken off the LRU by a migrator or
	// by reclaim (folio_isolate_lru); under refMu.
	isolated bool
	// splitListed: a deferred split pass took the folio off the split
	// queue onto its own list (SplitFolio); another pass cannot take it
	// until it is spliced back.
	splitListed bool
	// swapped counts the swap entries that name the folio (the swap
	// slot's swap_map count); swapCache says the swap cache holds it (with
	// a pin). Both under refMu (swap.go).
	swapped   int
	swapCache bool
	// frozen is folio_ref_freeze's refcount of zero: migration froze the
	// folio (it held the only reference), and folio_try_get fails from
	// then on (the folio is replaced and dies); under refMu.
	frozen bool
}

// freeze is folio_ref_freeze(folio, expected) with the isolation
// reference as the one expected: it succeeds when nobody else holds a
// reference, and then every folio_try_get fails.
func (f *Folio) freeze() bool {
	f.refMu.Lock()
	defer f.refMu.Unlock()
	// Every mapping holds a reference too (the kernel's refcount is the
	// mapcount plus the pins): a folio mapped again since try_to_migrate
	// fails the freeze with -EAGAIN (folio_expected_ref_count).
	if f.pins != 1 || f.mapcount.Load() != 0 {
		return false
	}
	f.frozen = true
	return true
}

// unfreeze is folio_ref_unfreeze after a split: the folio, now the head
// of the split, can be referenced again.
func (f *Folio) unfreeze() {
	f.refMu.Lock()
	f.frozen = false
	f.refMu.Unlock()
}

// Lock returns the folio lock.
func (f *Folio) Lock() *ksync.Mutex { return f.lock }

// Anon reports whether the folio is anonymous.
func (f *Folio) Anon() bool { return f.anon }

// AnonVMA returns the anon_vma of an anonymous folio (folio->mapping).
func (f *Folio) AnonVMA() *AnonVMA { return f.anonVMA }

// File returns the file of a page-cache folio.
func (f *Folio) File() *File { return f.file }

// Index returns folio->index.
func (f *Folio) Index() int { return f.index }

// Mapcount returns the folio's mapcount.
func (f *Folio) Mapcount() int { return int(f.mapcount.Load()) }

// Data returns the contents of the folio's first page.
func (f *Folio) Data() uint64 { return f.data.Load() }

// PageData returns the contents of page i of the folio.
func (f *Folio) PageData(i int) uint64 { return f.page(i).Load() }

// Nr returns folio_nr_pages.
func (f *Folio) Nr() int { return 1 << f.order.Load() }

// Large reports folio_test_large.
func (f *Folio) Large() bool { return f.order.Load() > 0 }

// EntireMapcount returns the number of PMD leaves mapping the folio.
func (f *Folio) EntireMapcount() int { return int(f.entire.Load()) }

// pageFolio returns the folio that page i of f belongs to now, and the
// page's index in it: f itself, or once a split broke f up, the small
// folio the page became.
func (f *Folio) pageFolio(i int) (*Folio, int) {
	if ts := f.splitTails.Load(); i > 0 && ts != nil {
		return (*ts)[i-1], 0
	}
	return f, i
}

// PageFolio returns the folio whose page the entry maps now (page_folio of
// its pfn): the entry's folio, or the small folio a split made of its page.
func (p *PTE) PageFolio() *Folio {
	if p == nil || p.Folio == nil {
		return nil
	}
	f, _ := p.Folio.pageFolio(p.Page)
	return f
}

// page returns the contents of page i (folio_page).
func (f *Folio) page(i int) *atomic.Uint64 {
	if i == 0 {
		return &f.data
	}
	return &f.tail[i-1]
}

// copyFrom is folio_copy(dst, src): every page of src into the same page
// of f (folios of one order), at the step of the caller.
func (f *Folio) copyFrom(src *Folio) {
	for i := 0; i < src.Nr(); i++ {
		f.page(i).Store(src.page(i).Load())
	}
}

// allocFolio allocates a zeroed small folio (folio_alloc / vma_alloc_zeroed_movable_folio).
func (k *Kernel) allocFolio(anon bool) *Folio { return k.allocFolioOrder(anon, 0) }

// allocFolioOrder allocates a zeroed folio of 1<<order pages (vma_alloc_folio
// with HPAGE_PMD_ORDER for a THP).
func (k *Kernel) allocFolioOrder(anon bool, order int) *Folio {
	o, id := k.newObjID(kindFolio)
	f := &Folio{Obj: o, k: k, anon: anon}
	k.Env.InitMu(&f.refMu)
	f.order.Store(int32(order))
	if order > 0 {
		f.tail = make([]atomic.Uint64, 1<<order-1)
	}
	f.lock = k.Env.NewMutex(lockName(folioLock, id, f.name), ksync.ClassFolioLock)
	k.mu.Lock()
	k.folios = append(k.folios, f)
	k.mu.Unlock()
	return f
}

// dropMapping is folio_remove_rmap_pte plus the put of the mapping's
// reference: the mapcount drops, and an anon folio left unmapped and
// unpinned is freed (a pinned one when its last pin goes).
func (k *Kernel) dropMapping(t *sched.Task, f *Folio, where string) {
	f.refMu.Lock()
	n := f.mapcount.Add(-1)
	free := false
	if n == 0 && f.anon {
		if f.pins > 0 {
			f.zombie = true
		} else {
			free = true
		}
	}
	if free {
		f.dying = true
	}
	f.refMu.Unlock()
	if n < 0 {
		t.Fail(sched.Violation{Invariant: "mapcount-rss", Detail: fmt.Sprintf("%s: %s mapcount went negative", where, f.name)})
	}
	if free {
		k.freeFolioRCU(t, f, where)
	}
}

// freeFolioRCU frees a folio whose last reference went: like the page
// freed by tlb_finish_mmu after the TLB flush, it is poisoned only after a
// grace period, so a user access or an isolation inside an RCU read section
// that found it through a PTE finishes first.
func (k *Kernel) freeFolioRCU(t *sched.Task, f *Folio, where string) {
	k.hugetlbFreeFolio(t, f) // free_huge_folio: back to the pool at once
	k.Env.RCU().CallRCU(t, "free "+f.name, func() { k.free(t, &f.Obj, where) })
}

// tryPin is folio_try_get: it fails on a folio whose last reference already
// went.
func (f *Folio) tryPin() bool {
	f.refMu.Lock()
	defer f.refMu.Unlock()
	if f.dying || f.freed || f.frozen {
		return false
	}
	f.pins++
	return true
}

// tryIsolate is folio_try_get plus folio_isolate_lru: it fails on a dying
// folio and on one already isolated (PG_lru test-and-clear).
func (f *Folio) tryIsolate() bool {
	f.refMu.Lock()
	defer f.refMu.Unlock()
	if f.dying || f.freed || f.isolated || f.frozen {
		return false
	}
	f.pins++
	f.isolated = true
	return true
}

// folioGet is folio_get(): a reference on a folio the caller knows to be
// live, found under the PTL that holds its mapping. On a folio whose last
// reference went (refcount zero: dying, freed, or frozen by a migration)
// it is a use-after-free (the kernel's VM_BUG_ON_FOLIO on a zero count).
func (k *Kernel) folioGet(t *sched.Task, f *Folio, where string) {
	k.use(t, &f.Obj, where)
	f.refMu.Lock()
	dead := f.dying || f.frozen
	f.pins++
	f.refMu.Unlock()
	if dead {
		t.Fail(sched.Violation{Invariant: "use-after-free", Detail: fmt.Sprintf("%s: folio_get on %s, whose refcount already dropped to zero", where, f.name)})
	}
}

// pin and unpin are folio_get/folio_put for isolation and faults.
func (f *Folio) pin() {
	f.refMu.Lock()
	f.pins++
	f.refMu.Unlock()
}

func (f *Folio) pinCount() int {
	f.refMu.Lock()
	defer f.refMu.Unlock()
	return f.pins
}

// markDead says the folio left the page cache or its migrator is done with
// it: the last unpin frees it.
func (f *Folio) markDead() {
	f.refMu.Lock()
	f.zombie = true
	f.refMu.Unlock()
}

func (k *Kernel) unpin(t *sched.Task, f *Folio, where string) {
	f.refMu.Lock()
	f.pins--
	// The last reference: each mapping holds one too, so a mapped folio
	// stays; an unmapped anon folio, or a file folio that left the page
	// cache (zombie), is freed (folio_put).
	free := f.pins == 0 && !f.freed && !f.dying && f.mapcount.Load() == 0 && (f.anon || f.zombie)
	if f.pins == 0 && f.mapcount.Load() != 0 {
		f.zombie = false
	}
	if free {
		f.dying = true
	}
	f.refMu.Unlock()
	if free {
		k.freeFolioRCU(t, f, where)
	}
}

// newID returns a fresh mapping identity.
func (k *Kernel) newID() uint64 { return k.mapIDs.Add(1) }

// PTEKind is the kind of a page-table entry.
type PTEKind uint8

// The entry kinds.
const (
	PTENone PTEKind = iota
	PTEPresent
	PTEMigration
	// PTESwap is a swap entry left by reclaim's try_to_unmap of an anon
	// folio: the data stays in the folio, which the swap cache holds until
	// its last swap entry goes (see swap.go).
	PTESwap
)

// PTE is the value of a page-table entry; entries are immutable and replaced
// whole. A present entry with a nil folio maps the shared zero page, which
// has no rmap.
type PTE struct {
	Kind  PTEKind
	Folio *Folio
	Read  bool
	Write bool
	// ID names the mapping: it is assigned when an entry is created (fault,
	// fork copy) and kept when the entry moves (mremap, exec) or converts
	// (present ↔ migration), so a walk can tell which mappings it missed.
	ID uint64
	// Page is the page of a large folio the entry maps (0 for a small
	// folio and for a PMD leaf, which maps them all).
	Page int
	// Huge says the value is a PMD leaf: a THP mapped by one PMD entry, or
	// a PMD migration entry (see PMDEntry).
	Huge bool
}

func (p *PTE) String() string {
	if p == nil || p.Kind == PTENone {
		return "none"
	}
	target := "zero-page"
	switch {
	case p.Folio == nil:
	case p.Huge:
		target = p.Folio.name + "[pmd]"
	case p.Folio.Large():
		target = fmt.Sprintf("%s[%d]", p.Folio.name, p.Page)
	default:
		target = p.Folio.name
	}
	switch p.Kind {
	case PTEMigration:
		if p.Write {
			return "migration(" + target + ")/w" // a writable migration entry
		}
		return "migration(" + target + ")"
	case PTESwap:
		return "swap(" + target + ")"
	}
	prot := "r"
	if p.Write {
		prot = "rw"
	} else if !p.Read {
		prot = "none"
	}
	return target + "/" + prot
}
