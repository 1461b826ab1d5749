// Package locksites finds every lock acquisition site of the kernelsim model
// from its source, and recognises them at run time, for mmrace locks (the
// lock-necessity map).
//
// # What a site is
//
// An acquisition is a call of a kernelsim/ksync acquisition primitive
// (Rwsem.DownRead and friends, Mutex.Lock/LockNested/Trylock, the
// MmapLock read/write/trylock methods, VMALock.StartRead/StartWrite,
// RCU.ReadLock) written in a kernelsim source file. A site is the line
// where the acquisition is written, in the function whose critical section
// it opens:
//
//   - An acquisition in function F is delegated when F may return while
//     still holding the lock it took (pte_offset_map_lock,
//     anon_vma_lock_write, lock_vma_under_rcu, filemap_fault's locked
//     folio): F acquires on behalf of its caller, and the caller decides the
//     critical section and releases it. The call of F in its caller is then
//     an acquisition of that caller, delegated in turn when the caller also
//     returns holding it.
//   - A site is a chain of lines: the acquisition primitive's call, then the
//     call of each function it was delegated through, up to the first
//     function that does not return holding the lock (Site.Chain, innermost
//     first). So the PTL that pte_offset_map_lock takes is one site per
//     caller of pte_offset_map_lock (do_anonymous_page's, zap_pte_range's,
//     move_ptes's, ...), and the page_table_lock of __pmd_alloc, which
//     __pmd_alloc takes and releases itself, is one site whoever calls it.
//
// "May return holding" is a may-analysis over each function's syntax tree
// with the go/types information of the package: lock classes are resolved
// from the receiver (the field or variable holding the lock, back to the
// constructor call that gave it its class), releases of the same class end
// a hold, releases inside callees count through per-function summaries
// (computed to a fixpoint), a trylock holds only on its success branch, a
// wrapper's result tested against nil (or false) holds nothing on that
// branch, and deferred releases apply at every return. Function literals
// are never delegating: their callers are not known statically.
//
// The same rule runs at run time (Sites.Identify): from an acquisition's
// call stack, skip ksync's frames; the first kernelsim frame is the
// acquisition line; while that line is a delegated acquisition, add the
// caller's frame. A test checks that every acquisition the corpus and
// generated programs execute is identified as a statically found site with
// the same class and primitive, so the two can never silently disagree.
//
// Keys: a site's Key (GoFunction:class#n, the n-th site of that class in
// that function in source order) survives line moves; mmrace locks keys
// its state, its arguments and its command lines by it.
package locksites

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"mmrace/kernelsim/ksync"
)

// Pos is a line of a kernelsim source file.
type Pos struct {
	File string `json:"file"` // base name in kernelsim/ ("fault.go")
	Line int    `json:"line"`
}

func (p Pos) String() string { return p.File + ":" + strconv.Itoa(p.Line) }

// Site is one acquisition site of the model.
type Site struct {
	// Key identifies the site across line moves: the Go function of the
	// outermost frame, the lock class (as a token) and the ordinal of the
	// site among that function's sites of that class, in source order.
	Key string `json:"key"`
	// Func is the Go function of the outermost frame (a closure is
	// "outer.funcN").
	Func string `json:"func"`
	// Kernel is the kernel function: the site string the acquisition passes
	// (a constant, or the caller's argument when it is a parameter of a
	// delegating function); alternatives are joined by "|"; when it cannot
	// be resolved, the kernel function the Go function's doc comment says
	// it mirrors.
	Kernel string `json:"kernel"`
	// Class is the lock class name (ksync.Class.Name, ksync.RCUClass).
	Class string `json:"class"`
	// Primitive is the ksync method called: "Mutex.Lock", "MmapLock.ReadTrylock".
	Primitive string `json:"primitive"`
	Trylock   bool   `json:"trylock"`
	Write     bool   `json:"write"`
	// Variant is set when the acquisition is only reached under that
	// variant (inside an "if ...Variants.Has(V)" branch): not part of the
	// faithful kernel, never mutated.
	Variant string `json:"variant,omitempty"`
	// Chain is the site's identity: the acquisition primitive's call line
	// first, then each delegating call, the outermost last.
	Chain []Pos `json:"chain"`
	// Via names the delegating functions, innermost first.
	Via []string `json:"via,omitempty"`
	// Flush is, for a TLB flush site (class ksync.FlushClass), the kernel's
	// name of the flush called ("flush_tlb_range", "tlb_finish_mmu").
	Flush string `json:"flush,omitempty"`
}

// Pos is the outermost line of the site: where its critical section opens.
func (s *Site) Pos() Pos { return s.Chain[len(s.Chain)-1] }

// Where is the site's position for people: "fault.go:205", with the
// delegating calls: "fault.go:205 via pteOffsetMapLock (pagetable.go:131)".
func (s *Site) Where() string {
	w := s.Pos().String()
	if len(s.Via) > 0 {
		var via []string
		for i := len(s.Via) - 1; i >= 0; i-- {
			via = append(via, s.Via[i])
		}
		w += " via " + strings.Join(via, " > ") + " (" + s.Chain[0].String() + ")"
	}
	return w
}

// Lock is the class with its mode, for tables: "mmap_lock(read)", "ptl".
func (s *Site) Lock() string {
	if s.IsFlush() {
		return "tlb:" + s.Flush
	}
	switch s.Primitive {
	case "Rwsem.DownRead", "Rwsem.DownReadTrylock", "MmapLock.ReadLock", "MmapLock.ReadTrylock", "VMALock.StartRead":
		return s.Class + "(read)"
	case "Rwsem.DownWrite", "Rwsem.DownWriteNested", "Rwsem.DownWriteBeneath", "Rwsem.DownWriteTrylock", "MmapLock.WriteLock", "MmapLock.WriteLockNested", "VMALock.StartWrite":
		return s.Class + "(write)"
	}
	return s.Class
}

// Kinds returns the mutant kinds that apply to the site: remove and
// release-early always, ignore-trylock-failure for trylocks; remove and
// flush-after-unlock for a TLB flush site.
func (s *Site) Kinds() []ksync.MutantKind {
	if s.IsFlush() {
		return []ksync.MutantKind{ksync.MutantRemove, ksync.MutantFlushAfterUnlock}
	}
	if s.Trylock {
		return []ksync.MutantKind{ksync.MutantRemove, ksync.MutantIgnoreTrylockFailure, ksync.MutantReleaseEarly}
	}
	return []ksync.MutantKind{ksync.MutantRemove, ksync.MutantReleaseEarly}
}

// Sites is the site table of one kernelsim source tree.
type Sites struct {
	Dir  string  // the kernelsim source directory it was read from
	List []*Site // in file and line order
	// delegated holds the lines of delegated acquisitions (primitive calls
	// and calls of delegating functions): where Identify climbs a frame.
	delegated map[Pos]bool
	// deferred maps a deferred call (the run-time names of the function
	// that defers it and of the callee) to its position: Identify puts it
	// in place of the return line a deferred call's frame shows.
	deferred map[[2]string]Pos
	byChain  map[string]*Site
	byKey    map[string]*Site
	// funcLines are where the methods of kernelsim.Kernel start, to check
	// that the source read is the binary's.
	funcLines map[string]Pos
}

func chainKey(c []Pos) string {
	var b strings.Builder
	for i, p := range c {
		if i > 0 {
			b.WriteByte('<')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Lookup returns the site whose chain is c, or nil.
func (ss *Sites) Lookup(c []Pos) *Site { return ss.byChain[chainKey(c)] }

// ByKey returns the site with key k, or nil.
func (ss *Sites) ByKey(k string) *Site { return ss.byKey[k] }

// classToken is a class name usable in keys and file names.
func classToken(c string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r - 'A' + 'a'
		}
		return '_'
	}, strings.ReplaceAll(c, "->", "_"))
}

// index sorts the sites, gives them their keys and builds the lookups.
func (ss *Sites) index() error {
	slices.SortFunc(ss.List, func(a, b *Site) int {
		if c := strings.Compare(a.Pos().File, b.Pos().File); c != 0 {
			return c
		}
		if a.Pos().Line != b.Pos().Line {
			return a.Pos().Line - b.Pos().Line
		}
		return strings.Compare(chainKey(a.Chain), chainKey(b.Chain))
	})
	n := map[string]int{}
	ss.byChain, ss.byKey = map[string]*Site{}, map[string]*Site{}
	for _, s := range ss.List {
		g := s.Func + ":" + classToken(s.Class)
		n[g]++
		s.Key = g + "#" + strconv.Itoa(n[g])
		ck := chainKey(s.Chain)
		if o := ss.byChain[ck]; o != nil {
			return fmt.Errorf("two acquisitions share the line chain %s (%s and %s): put them on separate lines, the runtime cannot tell them apart", ck, o.Primitive, s.Primitive)
		}
		ss.byChain[ck] = s
		ss.byKey[s.Key] = s
	}
	return nil
}
