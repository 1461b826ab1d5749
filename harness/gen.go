package harness

import (
	"fmt"
	"math/rand/v2"

	"mmrace/kernelsim"
)

// Generate returns a random program of the ops kernelsim models: a setup
// that maps anonymous and file regions in a small window, touches them and
// maybe forks (a child, sometimes a grandchild), then tasks whose ops
// (faults, loads, stores, mmap, munmap, mprotect, mremap, madvise, fork,
// exit, exec, migrate, reclaim) hit the same VMAs and pages, so they race.
func Generate(rng *rand.Rand, tasks int) *kernelsim.Program {
	p := &kernelsim.Program{MMs: []string{"mm1"}, Files: []kernelsim.FileDecl{{Name: "file1", Pages: 32}}, Variants: kernelsim.Variants{}, InjectAllocFailures: true}
	mms := []string{"mm1"}
	children := 1
	addr := func() int { return 0x10 + rng.IntN(0x18) }
	length := func() int { return 1 + rng.IntN(6) }
	prot := func() kernelsim.Flags {
		return []kernelsim.Flags{kernelsim.VMRead | kernelsim.VMWrite, kernelsim.VMRead | kernelsim.VMWrite, kernelsim.VMRead, 0}[rng.IntN(4)]
	}
	mmap := func(task int) kernelsim.Op {
		o := kernelsim.Op{Task: task, Verb: kernelsim.OpMmap, MM: mms[rng.IntN(len(mms))], Addr: addr(), Len: length(), Prot: prot()}
		if rng.IntN(3) == 0 {
			o.File, o.Pgoff, o.Shared = "file1", rng.IntN(16), rng.IntN(2) == 0
		}
		if rng.IntN(3) == 0 { // THPs: a whole aligned PMD range, MADV_HUGEPAGE
			o.Addr, o.Len, o.Pgoff, o.THP = 0x10+8*rng.IntN(3), 8+8*rng.IntN(2), 8*rng.IntN(2), true
		}
		return o
	}
	execs := 0
	op := func(task int) kernelsim.Op {
		m := mms[rng.IntN(len(mms))]
		switch rng.IntN(23) {
		case 21:
			return kernelsim.Op{Task: task, Verb: kernelsim.OpCollapse, MM: m, Addr: addr()}
		case 22:
			return kernelsim.Op{Task: task, Verb: kernelsim.OpSplit, MM: m, Addr: addr()}
		case 19:
			return kernelsim.Op{Task: task, Verb: kernelsim.OpExit, MM: m}
		case 20:
			o := kernelsim.Op{Task: task, Verb: kernelsim.OpMremap, MM: m, Addr: addr(), Len: length()}
			o.NewLen, o.MayMove = o.Len+length(), true
			return o
		case 12, 13:
			o := kernelsim.Op{Task: task, Verb: kernelsim.OpMremap, MM: m, Addr: addr(), Len: length(), Fixed: true, NewAddr: addr() + 0x10*rng.IntN(3)}
			o.NewLen = o.Len
			if rng.IntN(4) == 0 {
				o.DontUnmap = true
			}
			if rng.IntN(5) == 0 {
				o.Fixed, o.NewAddr, o.NewLen, o.DontUnmap = false, 0, length(), false
			}
			return o
		case 14, 15:
			return kernelsim.Op{Task: task, Verb: kernelsim.OpMigrate, MM: m, Addr: addr()}
		case 16:
			return kernelsim.Op{Task: task, Verb: kernelsim.OpReclaim, MM: m, Addr: addr()}
		case 17:
			return kernelsim.Op{Task: task, Verb: kernelsim.OpMadvise, MM: m, Addr: addr(), Len: length()}
		case 18:
			if execs > 0 || children >= 4 {
				return kernelsim.Op{Task: task, Verb: kernelsim.OpMigrate, MM: m, Addr: addr()}
			}
			execs++
			children++
			c := fmt.Sprintf("mm%d", children)
			mms = append(mms, c)
			return kernelsim.Op{Task: task, Verb: kernelsim.OpExec, MM: c, Addr: 0x30 + rng.IntN(8), Len: 1 + rng.IntN(4), Shift: 1 + rng.IntN(12)}
		case 0, 1:
			return kernelsim.Op{Task: task, Verb: kernelsim.OpStore, MM: m, Addr: addr(), Value: uint64(1 + rng.IntN(99))}
		case 2, 3:
			return kernelsim.Op{Task: task, Verb: kernelsim.OpLoad, MM: m, Addr: addr()}
		case 4, 5:
			return kernelsim.Op{Task: task, Verb: kernelsim.OpFault, MM: m, Addr: addr(), Write: rng.IntN(2) == 0}
		case 6:
			return mmap(task)
		case 7:
			return kernelsim.Op{Task: task, Verb: kernelsim.OpMunmap, MM: m, Addr: addr(), Len: length()}
		case 8, 9:
			return kernelsim.Op{Task: task, Verb: kernelsim.OpMprotect, MM: m, Addr: addr(), Len: length(), Prot: prot()}
		default:
			if children >= 4 {
				return kernelsim.Op{Task: task, Verb: kernelsim.OpStore, MM: m, Addr: addr(), Value: 1}
			}
			children++
			c := fmt.Sprintf("mm%d", children)
			mms = append(mms, c)
			return kernelsim.Op{Task: task, Verb: kernelsim.OpFork, MM: m, Child: c}
		}
	}
	// The setup must be valid (a refused setup op makes the program
	// invalid): its stores go to pages its mappings left writable.
	writable := map[int]bool{}
	for i, n := 0, 1+rng.IntN(3); i < n; i++ {
		o := mmap(-1)
		o.MM = "mm1"
		p.Setup = append(p.Setup, o)
		for a := o.Addr; a < o.Addr+o.Len; a++ {
			writable[a] = o.Prot&kernelsim.VMWrite != 0
		}
	}
	var targets []int
	for a := 0; a < 0x40; a++ {
		if writable[a] {
			targets = append(targets, a)
		}
	}
	for i, n := 0, rng.IntN(4); i < n && len(targets) > 0; i++ {
		p.Setup = append(p.Setup, kernelsim.Op{Task: -1, Verb: kernelsim.OpStore, MM: "mm1", Addr: targets[rng.IntN(len(targets))], Value: uint64(100 + i)})
	}
	if rng.IntN(3) == 0 {
		// A fork, and sometimes a fork of the child: with the tasks' own
		// forks, fork trees three or four levels deep.
		for parent := "mm1"; ; {
			children++
			c := fmt.Sprintf("mm%d", children)
			p.Setup = append(p.Setup, kernelsim.Op{Task: -1, Verb: kernelsim.OpFork, MM: parent, Child: c})
			mms = append(mms, c)
			if parent != "mm1" || rng.IntN(2) == 0 {
				break
			}
			parent = c
		}
	}
	p.Tasks = make([][]kernelsim.Op, tasks)
	for t := 0; t < tasks; t++ {
		for i, n := 0, 2+rng.IntN(4); i < n; i++ {
			p.Tasks[t] = append(p.Tasks[t], op(t))
		}
	}
	return p
}
