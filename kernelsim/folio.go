package kernelsim

import (
	"fmt"
	"sync/atomic"

	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// Folio is a single-page folio. Its contents are one value standing for the
// page's bytes, so lost and misplaced writes show as wrong data.
type Folio struct {
	Obj
	k        *Kernel
	lock     *ksync.Mutex // PG_locked
	anon     bool
	anonVMA  *AnonVMA // folio->mapping for anon folios
	file     *File    // folio->mapping for file folios
	index    int      // folio->index
	mapcount atomic.Int32
	data     atomic.Uint64
	pins     int  // isolation references (migration); a pinned folio is freed on unpin
	zombie   bool // its last mapping went while pinned
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

// Data returns the folio's contents.
func (f *Folio) Data() uint64 { return f.data.Load() }

// allocFolio allocates a zeroed folio (folio_alloc / vma_alloc_zeroed_movable_folio).
func (k *Kernel) allocFolio(anon bool) *Folio {
	f := &Folio{Obj: k.newObj(kindFolio), k: k, anon: anon}
	f.lock = k.Env.NewMutex("folio_lock("+f.name+")", ksync.ClassFolioLock)
	k.mu.Lock()
	k.folios = append(k.folios, f)
	k.mu.Unlock()
	return f
}

// freeFolio frees an anon folio whose last mapping went away; a folio
// pinned by migration is freed when the migration drops its pin.
func (k *Kernel) freeFolio(t *sched.Task, f *Folio, where string) {
	if n := f.mapcount.Load(); n != 0 {
		t.Fail(sched.Violation{Invariant: "mapcount-rss", Detail: fmt.Sprintf("%s frees %s with mapcount %d", where, f.name, n)})
	}
	if f.pins > 0 {
		f.zombie = true
		return
	}
	k.free(t, &f.Obj, where)
}

// pin and unpin are folio_get/folio_put for isolation.
func (f *Folio) pin() { f.pins++ }

func (k *Kernel) unpin(t *sched.Task, f *Folio, where string) {
	f.pins--
	if f.pins > 0 || f.freed {
		return
	}
	// The last reference: each mapping holds one too, so a mapped folio
	// stays; an unmapped anon folio, or a file folio that left the page
	// cache (zombie), is freed (folio_put).
	if f.mapcount.Load() != 0 {
		f.zombie = false
		return
	}
	if f.anon || f.zombie {
		k.free(t, &f.Obj, where)
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
}

func (p *PTE) String() string {
	if p == nil || p.Kind == PTENone {
		return "none"
	}
	target := "zero-page"
	if p.Folio != nil {
		target = p.Folio.name
	}
	switch p.Kind {
	case PTEMigration:
		return "migration(" + target + ")"
	}
	prot := "r"
	if p.Write {
		prot = "rw"
	} else if !p.Read {
		prot = "none"
	}
	return target + "/" + prot
}
