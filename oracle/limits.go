package oracle

import (
	"fmt"

	"mmrace/kernelsim"
)

// Limit is a deliberate limit of the model. Where a program reaches one, the
// model cannot say what the kernel would do, so the comparison stops before
// that op and the report names the limit and its argument. LIMITS.md lists
// every limit, those that need no check here included.
type Limit struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// The limits a program can reach.
var (
	// LimitSpace is the model's 512-page address space.
	LimitSpace = Limit{"address-space", "the model's address space is 512 pages (8 PTEs × 8 PMD entries × 8 PUD entries, kept small so that table boundaries occur in tiny programs); the kernel maps far beyond it, so an op reaching past page 0x200 has no model counterpart"}
	// LimitFileEOF is a mapping past the end of a file.
	LimitFileEOF = Limit{"file-eof", "the model's files never change size and it refuses to map past a file's end; the kernel maps the range and raises SIGBUS on an access past the end"}
	// LimitFixedGrow is mremap to a fixed target with a larger length.
	LimitFixedGrow = Limit{"mremap-fixed-grow", "the model's mremap moves to a fixed target only at the same or a smaller length (\"a fixed move that grows is not modelled\")"}
	// LimitHugetlb is a mapping of a hugetlbfs file.
	LimitHugetlb = Limit{"hugetlb", "the model's huge page is one PMD entry's span, 8 pages, and its PMD tables, which hugetlb mappings may share between mms, span 64 pages; the host's hugetlbfs pages are 2 MiB, which do not fit the 512-page window, so a program that declares a hugetlbfs file has no host counterpart"}
	// LimitTHP is a THP mapping or a khugepaged or split op.
	LimitTHP = Limit{"thp", "the model's THP is one PTE table's span, 8 pages (its PMD), where the host's is 2 MiB: a \"thp\" mapping faults 8 pages in at once, and collapse and split act on those 8-page THPs, which the host cannot make in the window"}
)

// limitOf returns the limit op o reaches, or nil. pages is the model's
// address space; files gives each file's size.
func limitOf(o kernelsim.Op, pages int, files map[string]int) *Limit {
	end := func(a, n int) int { return a + max(n, 1) }
	switch o.Verb {
	case kernelsim.OpMmap, kernelsim.OpMunmap, kernelsim.OpMprotect, kernelsim.OpMadvise, kernelsim.OpExec:
		if end(o.Addr, o.Len) > pages {
			return &LimitSpace
		}
	case kernelsim.OpMremap:
		if end(o.Addr, o.Len) > pages || (o.Fixed && end(o.NewAddr, o.NewLen) > pages) || (!o.Fixed && end(o.Addr, o.NewLen) > pages) {
			return &LimitSpace
		}
		if o.Fixed && o.NewLen > o.Len && !o.DontUnmap {
			return &LimitFixedGrow
		}
	case kernelsim.OpFault, kernelsim.OpLoad, kernelsim.OpStore, kernelsim.OpMigrate, kernelsim.OpReclaim, kernelsim.OpKsm:
		if o.Addr >= pages {
			return &LimitSpace
		}
	}
	if (o.Verb == kernelsim.OpMmap && o.THP) || o.Verb == kernelsim.OpCollapse || o.Verb == kernelsim.OpSplit {
		return &LimitTHP
	}
	if o.Verb == kernelsim.OpMmap && o.File != "" && o.Pgoff+o.Len > files[o.File] {
		return &LimitFileEOF
	}
	return nil
}

// LimitHit says where a program reached a limit.
type LimitHit struct {
	Limit
	Step int    `json:"step"` // the op's index in program order
	Op   string `json:"op"`
}

func (h *LimitHit) String() string {
	return fmt.Sprintf("%s at op %d (%s): %s", h.Name, h.Step+1, h.Op, h.Reason)
}
