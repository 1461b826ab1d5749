package kernelsim

import (
	"fmt"
	"strings"
)

// Verb is the kind of a program op.
type Verb uint8

// The ops of a program.
const (
	OpMmap Verb = iota
	OpMunmap
	OpMprotect
	OpFork
	OpFault
	OpLoad
	OpStore
	OpMremap
	OpMigrate
	OpReclaim
	OpExec
	OpMadvise
	numVerbs
)

var verbNames = [numVerbs]string{"mmap", "munmap", "mprotect", "fork", "fault", "load", "store", "mremap", "migrate", "reclaim", "exec", "madvise"}

func (v Verb) String() string {
	if v < numVerbs {
		return verbNames[v]
	}
	return fmt.Sprintf("verb(%d)", uint8(v))
}

// Op is one operation of a program. Addresses and lengths are in pages.
type Op struct {
	Task   int // -1 for setup ops, else the task index (t1 is 0)
	Verb   Verb
	MM     string
	Addr   int
	Len    int
	Prot   Flags  // mmap, mprotect
	File   string // mmap of a file
	Pgoff  int    // mmap of a file
	Shared bool   // mmap of a file
	Write  bool   // fault
	Value  uint64 // store
	Child  string // fork
	// mremap: a fixed move to NewAddr (NewLen pages, DontUnmap), or a resize
	// in place to NewLen.
	NewAddr   int
	NewLen    int
	Fixed     bool
	DontUnmap bool
	Shift     int // exec: how far relocate_vma_down moves the stack
}

// FileDecl declares a file of Pages pages.
type FileDecl struct {
	Name  string
	Pages int
}

// Program is what mmrace runs: the mms and files that exist at the start,
// setup ops run one after the other, then one op list per task run
// concurrently, under the variants, optionally with a pinned schedule.
type Program struct {
	MMs      []string
	Files    []FileDecl
	Variants Variants
	Setup    []Op
	Tasks    [][]Op
	Schedule string // a replay string; "" lets the strategy decide
}

func protString(p Flags) string {
	switch p & vmProtMask {
	case VMRead:
		return "r"
	case VMRead | VMWrite:
		return "rw"
	case 0:
		return "none"
	}
	return "w"
}

// String returns the op's canonical text form, without the task.
func (o Op) String() string {
	r := fmt.Sprintf("%#x+%d", o.Addr, o.Len)
	switch o.Verb {
	case OpMmap:
		src := "anon"
		if o.File != "" {
			src = fmt.Sprintf("%s@%#x %s", o.File, o.Pgoff, map[bool]string{true: "shared", false: "private"}[o.Shared])
		}
		return fmt.Sprintf("mmap %s %s %s %s", o.MM, r, src, protString(o.Prot))
	case OpMunmap:
		return fmt.Sprintf("munmap %s %s", o.MM, r)
	case OpMprotect:
		return fmt.Sprintf("mprotect %s %s %s", o.MM, r, protString(o.Prot))
	case OpFork:
		return fmt.Sprintf("fork %s %s", o.MM, o.Child)
	case OpFault:
		return fmt.Sprintf("fault %s %#x %s", o.MM, o.Addr, map[bool]string{true: "write", false: "read"}[o.Write])
	case OpLoad:
		return fmt.Sprintf("load %s %#x", o.MM, o.Addr)
	case OpStore:
		return fmt.Sprintf("store %s %#x %d", o.MM, o.Addr, o.Value)
	case OpMremap:
		if !o.Fixed {
			return fmt.Sprintf("mremap %s %s resize %d", o.MM, r, o.NewLen)
		}
		s := fmt.Sprintf("mremap %s %s -> %#x", o.MM, r, o.NewAddr)
		if o.NewLen != o.Len {
			s += fmt.Sprintf("+%d", o.NewLen)
		}
		if o.DontUnmap {
			s += " dontunmap"
		}
		return s
	case OpMigrate, OpReclaim:
		return fmt.Sprintf("%s %s %#x", o.Verb, o.MM, o.Addr)
	case OpExec:
		return fmt.Sprintf("exec %s %s shift %d", o.MM, r, o.Shift)
	case OpMadvise:
		return fmt.Sprintf("madvise %s %s dontneed", o.MM, r)
	}
	return o.Verb.String()
}

// String returns the program's canonical text, which Parse reads back to an
// equal program.
func (p *Program) String() string {
	var b strings.Builder
	if len(p.MMs) > 0 {
		fmt.Fprintf(&b, "mm %s\n", strings.Join(p.MMs, " "))
	}
	for _, f := range p.Files {
		fmt.Fprintf(&b, "file %s %d\n", f.Name, f.Pages)
	}
	if names := p.Variants.Names(); len(names) > 0 {
		fmt.Fprintf(&b, "variants %s\n", strings.Join(names, ","))
	}
	for _, o := range p.Setup {
		fmt.Fprintf(&b, "setup: %s\n", o)
	}
	for i, ops := range p.Tasks {
		for _, o := range ops {
			fmt.Fprintf(&b, "t%d: %s\n", i+1, o)
		}
	}
	if p.Schedule != "" {
		fmt.Fprintf(&b, "schedule %s\n", p.Schedule)
	}
	return b.String()
}

// Ops returns the number of ops (setup and tasks).
func (p *Program) Ops() int {
	n := len(p.Setup)
	for _, t := range p.Tasks {
		n += len(t)
	}
	return n
}
