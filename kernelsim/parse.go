package kernelsim

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Parse reads a program's text form. name is used in error messages, which
// give the line and what was expected: "prog.txt:3: mmap: expected ...".
func Parse(name, text string) (*Program, error) {
	p := &Program{Variants: Variants{}}
	known := map[string]bool{}
	files := map[string]int{}
	// taskMMs are the mms a task creates (fork, exec) anywhere in the
	// program: another task may name them on a line before the one that
	// creates them (tasks run concurrently; an op on an mm not created yet
	// is refused at run time, ESRCH), so that the canonical form, which
	// prints the tasks one after the other, parses as the text it came from.
	taskMMs := map[string]bool{}
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		lines[i] = strings.TrimSpace(line)
	}
	for _, line := range lines {
		head, rest, ok := strings.Cut(line, ":")
		if f := strings.Fields(rest); ok && strings.HasPrefix(head, "t") && len(f) >= 2 {
			switch {
			case f[0] == "fork" && len(f) >= 3:
				taskMMs[f[2]] = true
			case f[0] == "exec":
				taskMMs[f[1]] = true
			}
		}
	}
	for ln, line := range lines {
		if line == "" {
			continue
		}
		errf := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", name, ln+1, fmt.Sprintf(format, args...))
		}
		f := strings.Fields(line)
		switch {
		case f[0] == "mm":
			if len(f) < 2 {
				return nil, errf("mm: expected one or more mm names")
			}
			for _, m := range f[1:] {
				if known[m] {
					return nil, errf("mm %s declared twice", m)
				}
				known[m] = true
				p.MMs = append(p.MMs, m)
			}
			continue
		case f[0] == "file":
			if len(f) < 3 {
				return nil, errf("file: expected \"file NAME PAGES [hugetlb] [uprobe@PGOFF ...]\"")
			}
			hugetlb := false
			var uprobes []int
			for _, o := range f[3:] {
				if o == "hugetlb" && !hugetlb {
					hugetlb = true
					continue
				}
				if off, ok := strings.CutPrefix(o, "uprobe@"); ok {
					u, err := parseNum(off)
					if err != nil {
						return nil, errf("file %s: uprobe: %v", f[1], err)
					}
					uprobes = append(uprobes, u)
					continue
				}
				return nil, errf("file: expected \"file NAME PAGES [hugetlb] [uprobe@PGOFF ...]\", got %q", o)
			}
			n, err := strconv.Atoi(f[2])
			if err != nil || n <= 0 || n > 4096 {
				return nil, errf("file %s: expected a page count in 1..4096, got %q", f[1], f[2])
			}
			if _, dup := files[f[1]]; dup {
				return nil, errf("file %s declared twice", f[1])
			}
			files[f[1]] = n
			if hugetlb && n%DefaultGeometry.PTEs != 0 {
				return nil, errf("file %s: a hugetlbfs file holds whole huge pages: expected a multiple of %d pages, got %d", f[1], DefaultGeometry.PTEs, n)
			}
			for _, u := range uprobes {
				if u >= n {
					return nil, errf("file %s: uprobe@%#x is past the file's %d pages", f[1], u, n)
				}
			}
			p.Files = append(p.Files, FileDecl{Name: f[1], Pages: n, Hugetlb: hugetlb, Uprobes: uprobes})
			continue
		case f[0] == "variants":
			if len(f) != 2 {
				return nil, errf("variants: expected a comma-separated list")
			}
			v, err := ParseVariants(f[1])
			if err != nil {
				return nil, errf("%v", err)
			}
			p.Variants = v
			continue
		case f[0] == "inject":
			if len(f) != 2 || f[1] != "alloc-failures" {
				return nil, errf("inject: expected \"inject alloc-failures\"")
			}
			p.InjectAllocFailures = true
			continue
		case f[0] == "hugepages":
			n := 0
			if len(f) == 2 {
				n, _ = strconv.Atoi(f[1])
			}
			if n < 1 || n > MaxHugePages {
				return nil, errf("hugepages: expected \"hugepages N\", the huge page pool's size, N in 1..%d", MaxHugePages)
			}
			if p.HugePages != 0 {
				return nil, errf("hugepages declared twice")
			}
			p.HugePages = n
			continue
		case f[0] == "schedule":
			if len(f) != 2 || !strings.HasPrefix(f[1], "v") {
				return nil, errf("schedule: expected one replay string (v1.…)")
			}
			p.Schedule = f[1]
			continue
		}
		head, rest, ok := strings.Cut(line, ":")
		if !ok {
			return nil, errf("expected \"setup: OP\", \"tN: OP\", \"check: ...\", mm, file, variants, inject, hugepages or schedule, got %q", line)
		}
		if head == "check" {
			c, err := parseCheck(strings.Fields(rest), known)
			if err != nil {
				return nil, errf("check: %v", err)
			}
			c.Line = ln + 1
			p.Checks = append(p.Checks, c)
			continue
		}
		task := -1
		if head != "setup" {
			n, err := strconv.Atoi(strings.TrimPrefix(head, "t"))
			if !strings.HasPrefix(head, "t") || err != nil || n < 1 || n > 8 || "t"+strconv.Itoa(n) != head {
				return nil, errf("expected setup or a task t1..t8 before ':', got %q", head)
			}
			task = n - 1
		}
		later := taskMMs
		if task < 0 {
			later = nil // setup runs in order: an mm must exist before
		}
		op, err := parseOp(strings.Fields(rest), known, later, files)
		if err != nil {
			return nil, errf("%v", err)
		}
		op.Task, op.Line = task, ln+1
		if task < 0 {
			p.Setup = append(p.Setup, op)
		} else {
			for len(p.Tasks) <= task {
				p.Tasks = append(p.Tasks, nil)
			}
			p.Tasks[task] = append(p.Tasks[task], op)
		}
		if op.Verb == OpFork {
			known[op.Child] = true
		}
		if op.Verb == OpExec {
			known[op.MM] = true
		}
	}
	for i, ops := range p.Tasks {
		if len(ops) == 0 {
			return nil, fmt.Errorf("%s: task t%d has no ops (tasks must be numbered from t1 without gaps)", name, i+1)
		}
	}
	return p, nil
}

func parseOp(f []string, known, later map[string]bool, files map[string]int) (Op, error) {
	if len(f) == 0 {
		return Op{}, fmt.Errorf("expected an op (%s)", strings.Join(verbNames[:], ", "))
	}
	var op Op
	found := false
	for i, n := range verbNames {
		if n == f[0] {
			op.Verb, found = Verb(i), true
		}
	}
	if !found {
		return Op{}, fmt.Errorf("unknown op %q (expected one of %s)", f[0], strings.Join(verbNames[:], ", "))
	}
	usage := map[Verb]string{
		OpMmap:     "mmap MM ADDR+LEN anon|FILE@PGOFF shared|private none|r|rw [thp]",
		OpMunmap:   "munmap MM ADDR+LEN",
		OpMprotect: "mprotect MM ADDR+LEN none|r|rw",
		OpFork:     "fork MM CHILD",
		OpFault:    "fault MM ADDR read|write",
		OpLoad:     "load MM ADDR",
		OpStore:    "store MM ADDR VALUE",
		OpMremap:   "mremap MM ADDR+LEN -> NEWADDR[+NEWLEN] [dontunmap] | mremap MM ADDR+LEN resize NEWLEN [maymove]",
		OpMigrate:  "migrate MM ADDR",
		OpReclaim:  "reclaim MM ADDR",
		OpExec:     "exec NEWMM ADDR+LEN shift N",
		OpMadvise:  "madvise MM ADDR+LEN dontneed|random|normal",
		OpExit:     "exit MM",
		OpCollapse: "collapse MM ADDR",
		OpSplit:    "split MM ADDR",
		OpKsm:      "ksm MM ADDR",
		OpPunch:    "punch MM FILE PGOFF+LEN",
	}[op.Verb]
	if op.Verb == OpMmap && len(f) > 5 && f[len(f)-1] == "thp" {
		op.THP = true
		f = f[:len(f)-1]
	}
	want := map[Verb][]int{OpMmap: {5, 6}, OpMunmap: {3}, OpMprotect: {4}, OpFork: {3}, OpFault: {4}, OpLoad: {3}, OpStore: {4},
		OpMremap: {5, 6}, OpMigrate: {3}, OpReclaim: {3}, OpExec: {5}, OpMadvise: {4}, OpExit: {2}, OpCollapse: {3}, OpSplit: {3}, OpKsm: {3}, OpPunch: {4}}[op.Verb]
	if len(f) != want[0] && (len(want) == 1 || len(f) != want[1]) {
		return Op{}, fmt.Errorf("%s: expected %q", op.Verb, usage)
	}
	op.MM = f[1]
	if op.Verb == OpExec {
		if known[op.MM] {
			return Op{}, fmt.Errorf("exec: %q already exists (exec creates the mm)", op.MM)
		}
	} else if !known[op.MM] && !later[op.MM] {
		return Op{}, fmt.Errorf("%s: unknown mm %q (declare it with \"mm %s\" or create it by fork first)", op.Verb, op.MM, op.MM)
	}
	var err error
	switch op.Verb {
	case OpMmap, OpMunmap, OpMprotect, OpMremap, OpExec, OpMadvise:
		if op.Addr, op.Len, err = parseRange(f[2]); err != nil {
			return Op{}, fmt.Errorf("%s: %v", op.Verb, err)
		}
	case OpFault, OpLoad, OpStore, OpMigrate, OpReclaim, OpCollapse, OpSplit, OpKsm:
		if op.Addr, err = parseNum(f[2]); err != nil {
			return Op{}, fmt.Errorf("%s: address: %v", op.Verb, err)
		}
	}
	switch op.Verb {
	case OpMmap:
		if f[3] == "anon" {
			if len(f) != 5 {
				return Op{}, fmt.Errorf("mmap: expected %q", usage)
			}
		} else {
			name, off, ok := strings.Cut(f[3], "@")
			if !ok || len(f) != 6 {
				return Op{}, fmt.Errorf("mmap: expected anon or FILE@PGOFF shared|private, got %q", strings.Join(f[3:], " "))
			}
			if _, ok := files[name]; !ok {
				return Op{}, fmt.Errorf("mmap: unknown file %q (declare it with \"file %s PAGES\")", name, name)
			}
			if op.Pgoff, err = parseNum(off); err != nil {
				return Op{}, fmt.Errorf("mmap: pgoff: %v", err)
			}
			switch f[4] {
			case "shared":
				op.Shared = true
			case "private":
			default:
				return Op{}, fmt.Errorf("mmap: expected shared or private, got %q", f[4])
			}
			op.File = name
		}
		if op.Prot, err = parseProt(f[len(f)-1]); err != nil {
			return Op{}, fmt.Errorf("mmap: %v", err)
		}
	case OpMprotect:
		if op.Prot, err = parseProt(f[3]); err != nil {
			return Op{}, fmt.Errorf("mprotect: %v", err)
		}
	case OpFork:
		if known[f[2]] {
			return Op{}, fmt.Errorf("fork: child %q already exists", f[2])
		}
		op.Child = f[2]
	case OpPunch:
		if _, ok := files[f[2]]; !ok {
			return Op{}, fmt.Errorf("punch: unknown file %q (declare it with \"file %s PAGES\")", f[2], f[2])
		}
		op.File = f[2]
		if op.Pgoff, op.Len, err = parseRange(f[3]); err != nil {
			return Op{}, fmt.Errorf("punch: %v", err)
		}
		if op.Pgoff+op.Len > files[op.File] {
			return Op{}, fmt.Errorf("punch: [%#x,%#x) is past the end of %s (%d pages)", op.Pgoff, op.Pgoff+op.Len, op.File, files[op.File])
		}
	case OpFault:
		switch f[3] {
		case "write":
			op.Write = true
		case "read":
		default:
			return Op{}, fmt.Errorf("fault: expected read or write, got %q", f[3])
		}
	case OpStore:
		if op.Value, err = strconv.ParseUint(f[3], 10, 64); err != nil {
			return Op{}, fmt.Errorf("store: expected a decimal value, got %q", f[3])
		}
	case OpMremap:
		switch {
		case f[3] == "resize":
			if op.NewLen, err = parseLen(f[4], math.MaxInt); err != nil {
				return Op{}, fmt.Errorf("mremap: expected a new length in pages after resize, got %q", f[4])
			}
			if len(f) == 6 {
				if f[5] != "maymove" {
					return Op{}, fmt.Errorf("mremap: expected maymove or nothing after the new length, got %q", f[5])
				}
				op.MayMove = true
			}
		case f[3] == "->":
			op.Fixed = true
			if a, l, ok := strings.Cut(f[4], "+"); ok {
				if op.NewAddr, op.NewLen, err = parseRange(a + "+" + l); err != nil {
					return Op{}, fmt.Errorf("mremap: target: %v", err)
				}
				if op.NewLen == op.Len {
					return Op{}, fmt.Errorf("mremap: write an equal-length target as \"-> %s\"", a)
				}
			} else {
				if op.NewAddr, err = parseNum(f[4]); err != nil {
					return Op{}, fmt.Errorf("mremap: target: %v", err)
				}
				op.NewLen = op.Len
			}
			if len(f) == 6 {
				if f[5] != "dontunmap" {
					return Op{}, fmt.Errorf("mremap: expected dontunmap or nothing after the target, got %q", f[5])
				}
				op.DontUnmap = true
			}
		default:
			return Op{}, fmt.Errorf("mremap: expected %q", usage)
		}
	case OpExec:
		if f[3] != "shift" {
			return Op{}, fmt.Errorf("exec: expected %q", usage)
		}
		// stack_shift 0: the stack stays where it is (no relocate_vma_down).
		if f[4] != "0" {
			if op.Shift, err = parseLen(f[4], math.MaxInt); err != nil {
				return Op{}, fmt.Errorf("exec: expected a shift in pages (0 or more), got %q", f[4])
			}
		}
	case OpMadvise:
		i := slices.Index(adviceNames, f[3])
		if i < 0 {
			return Op{}, fmt.Errorf("madvise: expected dontneed, random or normal, got %q", f[3])
		}
		op.Advice = Advice(i)
	}
	return op, nil
}

func parseNum(s string) (int, error) {
	n, err := strconv.ParseInt(s, 0, 32)
	if err != nil || n < 0 || n > 1<<20 {
		return 0, fmt.Errorf("expected a page number such as 0x10, got %q", s)
	}
	return int(n), nil
}

func parseRange(s string) (int, int, error) {
	a, l, ok := strings.Cut(s, "+")
	if !ok {
		return 0, 0, fmt.Errorf("expected a range ADDR+LEN such as 0x10+4, got %q", s)
	}
	addr, err := parseNum(a)
	if err != nil {
		return 0, 0, err
	}
	n, err := parseLen(l, 1<<20)
	if err != nil {
		return 0, 0, fmt.Errorf("expected a length in pages after '+', got %q", l)
	}
	return addr, n, nil
}

// parseLen parses a count of pages, in decimal or in 0x-prefixed hex as
// addresses are written: positive and at most max. Programs print lengths
// in decimal (the canonical form); hex is accepted so that 0x10+0x20 reads
// as 0x10+32 does.
func parseLen(s string, max int) (int, error) {
	base, digits := 10, s
	if hex, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		base, digits = 16, hex
	}
	n, err := strconv.ParseUint(digits, base, 0)
	if err != nil || n == 0 || n > uint64(max) {
		return 0, fmt.Errorf("expected a positive length in pages, got %q", s)
	}
	return int(n), nil
}

func parseProt(s string) (Flags, error) {
	switch s {
	case "none":
		return 0, nil
	case "r":
		return VMRead, nil
	case "rw":
		return VMRead | VMWrite, nil
	}
	return 0, fmt.Errorf("expected a protection none, r or rw, got %q", s)
}

// parseCheck reads the fields of a check: line (after "check:"):
//
//	vmas MM ADDR+LEN[:PROT] ...   exactly these VMAs cover their span
//	load MM ADDR = VALUE          a load returns VALUE
//	unmapped MM ADDR+LEN          no VMA intersects the range
func parseCheck(f []string, known map[string]bool) (Check, error) {
	const usage = "expected \"vmas MM ADDR+LEN[:PROT] ...\", \"load MM ADDR = VALUE\" or \"unmapped MM ADDR+LEN\""
	if len(f) < 3 {
		return Check{}, fmt.Errorf("%s", usage)
	}
	c := Check{MM: f[1]}
	if !known[c.MM] {
		return Check{}, fmt.Errorf("unknown mm %q", c.MM)
	}
	var err error
	switch f[0] {
	case "vmas":
		c.Kind = CheckVMAs
		prevEnd := -1
		for _, r := range f[2:] {
			rng, prot, hasProt := strings.Cut(r, ":")
			var v CheckVMA
			if v.Start, v.Len, err = parseRange(rng); err != nil {
				return Check{}, fmt.Errorf("vmas: %v", err)
			}
			if hasProt {
				if v.Prot, err = parseProt(prot); err != nil {
					return Check{}, fmt.Errorf("vmas: %v", err)
				}
				v.HasProt = true
			}
			if v.Start < prevEnd {
				return Check{}, fmt.Errorf("vmas: ranges must be in address order without overlap, got %q", r)
			}
			prevEnd = v.Start + v.Len
			c.VMAs = append(c.VMAs, v)
		}
	case "load":
		c.Kind = CheckLoad
		if len(f) != 5 || f[3] != "=" {
			return Check{}, fmt.Errorf("load: expected \"load MM ADDR = VALUE\"")
		}
		if c.Addr, err = parseNum(f[2]); err != nil {
			return Check{}, fmt.Errorf("load: address: %v", err)
		}
		if c.Value, err = strconv.ParseUint(f[4], 10, 64); err != nil {
			return Check{}, fmt.Errorf("load: expected a decimal value, got %q", f[4])
		}
	case "unmapped":
		c.Kind = CheckUnmapped
		if len(f) != 3 {
			return Check{}, fmt.Errorf("unmapped: expected \"unmapped MM ADDR+LEN\"")
		}
		if c.Addr, c.Len, err = parseRange(f[2]); err != nil {
			return Check{}, fmt.Errorf("unmapped: %v", err)
		}
	default:
		return Check{}, fmt.Errorf("unknown check %q: %s", f[0], usage)
	}
	return c, nil
}
