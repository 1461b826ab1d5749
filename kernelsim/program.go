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
	OpExit
	OpCollapse
	OpSplit
	OpKsm
	OpPunch
	numVerbs
)

var verbNames = [numVerbs]string{"mmap", "munmap", "mprotect", "fork", "fault", "load", "store", "mremap", "migrate", "reclaim", "exec", "madvise", "exit", "collapse", "split", "ksm", "punch"}

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
	File   string // mmap of a file; punch
	Pgoff  int    // mmap of a file; punch (with Len)
	Shared bool   // mmap of a file
	THP    bool   // mmap: MADV_HUGEPAGE on the new mapping (VM_HUGEPAGE)
	Write  bool   // fault
	Value  uint64 // store
	Child  string // fork
	// mremap: a fixed move to NewAddr (NewLen pages, DontUnmap), or a resize
	// in place to NewLen.
	NewAddr   int
	NewLen    int
	Fixed     bool
	DontUnmap bool
	MayMove   bool // mremap resize: MREMAP_MAYMOVE (a growth may move)
	Shift     int  // exec: how far relocate_vma_down moves the stack
	Advice    Advice
	Line      int // the source line of the op (0 when built in code)
}

// Advice is a madvise behaviour.
type Advice uint8

// The behaviours the model has.
const (
	AdvDontneed Advice = iota // MADV_DONTNEED: zap the range
	AdvRandom                 // MADV_RANDOM: set VM_RAND_READ
	AdvNormal                 // MADV_NORMAL: clear VM_RAND_READ (and VM_SEQ_READ)
)

var adviceNames = []string{"dontneed", "random", "normal"}

func (a Advice) String() string {
	if int(a) < len(adviceNames) {
		return adviceNames[a]
	}
	return fmt.Sprintf("advice(%d)", a)
}

// FileDecl declares a file of Pages pages.
type FileDecl struct {
	Name  string
	Pages int
	// Hugetlb makes it a hugetlbfs file: every mapping of it is a hugetlb
	// VMA (VM_HUGETLB) mapped by huge pages of one PMD leaf each.
	Hugetlb bool
	// Uprobes are the file offsets (pages) of uprobes registered on the
	// file before the program starts (uprobe_register): every mapping of
	// the file that may hold them gets the breakpoint installed as it is
	// mapped (uprobe_mmap, uprobe.go).
	Uprobes []int
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
	Checks   []Check // evaluated after the concurrent phase
	Schedule string  // a replay string; "" lets the strategy decide
	// InjectAllocFailures lets page-table allocations fail (failslab-like
	// injection, decided by the strategy): "inject alloc-failures".
	InjectAllocFailures bool
	// HugePages is the size of the huge page pool, "hugepages N"
	// (nr_hugepages); 0: unbounded, allocations never fail
	// (hugetlbpool.go).
	HugePages int
}

// MaxHugePages bounds a program's "hugepages N".
const MaxHugePages = 512

// CheckKind is the kind of a check: line.
type CheckKind uint8

// The checks a program can state about the state after its concurrent
// phase, as kernel selftests do.
const (
	CheckVMAs     CheckKind = iota // exactly these VMAs (bounds, optionally protection) cover the ranges' span
	CheckLoad                      // a load of Addr returns Value
	CheckUnmapped                  // no VMA intersects [Addr, Addr+Len)
)

// Check is one check: line of a program.
type Check struct {
	Kind  CheckKind
	MM    string
	Addr  int
	Len   int
	Value uint64
	VMAs  []CheckVMA // CheckVMAs
	Line  int
}

// CheckVMA is one expected VMA of a vmas check; HasProt says whether its
// protection is checked too.
type CheckVMA struct {
	Start, Len int
	Prot       Flags
	HasProt    bool
}

// String returns the check's canonical text form, without "check:".
func (c Check) String() string {
	switch c.Kind {
	case CheckVMAs:
		var b strings.Builder
		fmt.Fprintf(&b, "vmas %s", c.MM)
		for _, v := range c.VMAs {
			fmt.Fprintf(&b, " %#x+%d", v.Start, v.Len)
			if v.HasProt {
				b.WriteString(":" + protString(v.Prot))
			}
		}
		return b.String()
	case CheckLoad:
		return fmt.Sprintf("load %s %#x = %d", c.MM, c.Addr, c.Value)
	}
	return fmt.Sprintf("unmapped %s %#x+%d", c.MM, c.Addr, c.Len)
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
		s := fmt.Sprintf("mmap %s %s %s %s", o.MM, r, src, protString(o.Prot))
		if o.THP {
			s += " thp"
		}
		return s
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
			s := fmt.Sprintf("mremap %s %s resize %d", o.MM, r, o.NewLen)
			if o.MayMove {
				s += " maymove"
			}
			return s
		}
		s := fmt.Sprintf("mremap %s %s -> %#x", o.MM, r, o.NewAddr)
		if o.NewLen != o.Len {
			s += fmt.Sprintf("+%d", o.NewLen)
		}
		if o.DontUnmap {
			s += " dontunmap"
		}
		return s
	case OpMigrate, OpReclaim, OpCollapse, OpSplit, OpKsm:
		return fmt.Sprintf("%s %s %#x", o.Verb, o.MM, o.Addr)
	case OpExec:
		return fmt.Sprintf("exec %s %s shift %d", o.MM, r, o.Shift)
	case OpMadvise:
		return fmt.Sprintf("madvise %s %s %s", o.MM, r, o.Advice)
	case OpExit:
		return fmt.Sprintf("exit %s", o.MM)
	case OpPunch:
		return fmt.Sprintf("punch %s %s %#x+%d", o.MM, o.File, o.Pgoff, o.Len)
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
		fmt.Fprintf(&b, "file %s %d", f.Name, f.Pages)
		if f.Hugetlb {
			b.WriteString(" hugetlb")
		}
		for _, u := range f.Uprobes {
			fmt.Fprintf(&b, " uprobe@%#x", u)
		}
		b.WriteString("\n")
	}
	if names := p.Variants.Names(); len(names) > 0 {
		fmt.Fprintf(&b, "variants %s\n", strings.Join(names, ","))
	}
	if p.InjectAllocFailures {
		b.WriteString("inject alloc-failures\n")
	}
	if p.HugePages > 0 {
		fmt.Fprintf(&b, "hugepages %d\n", p.HugePages)
	}
	for _, o := range p.Setup {
		fmt.Fprintf(&b, "setup: %s\n", o)
	}
	for i, ops := range p.Tasks {
		for _, o := range ops {
			fmt.Fprintf(&b, "t%d: %s\n", i+1, o)
		}
	}
	for _, c := range p.Checks {
		fmt.Fprintf(&b, "check: %s\n", c)
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
