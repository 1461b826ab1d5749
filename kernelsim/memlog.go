package kernelsim

import "mmrace/kernelsim/sched"

// MemKind is the kind of a memory event.
type MemKind uint8

// The memory events the model logs at the step where each takes effect; the
// memory-contents invariant replays them against the program's semantics.
const (
	MemStore MemKind = iota // a user store landed
	MemLoad                 // a user load returned Value (or faulted: OK false)
	MemZero                 // [Addr, Addr+Len) of MM became fresh memory (mmap, once the old range is gone)
	MemCopy                 // the page at SrcAddr of SrcMM now backs Addr of MM (fork copy, mremap/exec move)
	MemHole                 // pages [Backing.Index, +Len) of Backing.File read zero from now on (hole punch)
)

// Backing says where a user access went: private memory of the mm, or a
// shared file page (visible through every shared mapping of it).
type Backing struct {
	File   string // "" for anonymous memory
	Index  int
	Shared bool
}

// MemEvent is one entry of the memory log.
type MemEvent struct {
	Step    int
	Task    int
	Kind    MemKind
	MM      string
	SrcMM   string
	SrcAddr int
	Addr    int
	Len     int
	Value   uint64
	OK      bool
	Backing Backing
}

// MemLog returns the memory events in the order they happened.
func (k *Kernel) MemLog() []MemEvent { return k.mem }

func (k *Kernel) logMem(t *sched.Task, e MemEvent) {
	e.Step, e.Task = t.Step(), t.ID()
	k.mu.Lock()
	k.mem = append(k.mem, e)
	k.mu.Unlock()
}

// folioBacking is where a user access through a PTE mapping f lands: a
// page-cache folio is the file's page (a shared mapping, or a private one
// not yet copied on write); an anon folio, or the zero page, is the mm's
// private memory. It is read off the PTE, not the VMA tree, which a
// concurrent munmap may already have changed.
func folioBacking(f *Folio, page int) Backing {
	if f == nil || f.anon || f.file == nil {
		return Backing{}
	}
	return Backing{File: f.file.name, Index: f.index + page, Shared: true}
}
