package kernelsim

import (
	"fmt"

	"mmrace/kernelsim/sched"
)

// Exec runs one op as task t. An op that the kernel would refuse (a range
// outside the address space, an unknown mm) returns an error that the
// program records as the op's result; it is not a violation. *o must not
// change afterwards (a program's op): the op's event keeps o and prints it
// only when the trace is read.
func (k *Kernel) Exec(t *sched.Task, o *Op) error {
	if k.Env.Controlled() && t.Sched().Mode() == sched.Free {
		t.Internal("a kernel made for controlled runs only (ksync.Config.Controlled) runs a free-mode task")
	}
	defer k.endOpFlushes(t) // flush mutants: what the op still defers or owes (flushmutant.go)
	t.RecordF(sched.KindOp, o.Verb.String(), sched.Obj(o.MM).Detailf("%v").V(o))
	if o.Verb == OpStore && k.planned && t.ID() < maxTLBTasks {
		defer k.storesLeft[t.ID()].Add(-1) // PlanStores
	}
	if o.Verb == OpExec {
		return k.ExecStack(t, o.MM, o.Addr, o.Len, o.Shift)
	}
	m := k.MM(o.MM)
	if m == nil {
		return fmt.Errorf("%s: ESRCH: no mm %s", o.Verb, o.MM)
	}
	switch o.Verb {
	case OpMigrate, OpReclaim, OpSplit, OpCollapse, OpKsm:
		// Physical-page work, as compaction, kswapd and the deferred-split
		// shrinker do it: the folio mapped at the address is picked
		// through the page tables (under RCU), whatever state its mm is in
		// (an exec still setting up, an exit in progress); no mm_users
		// reference is taken. khugepaged and ksmd hold the mm by mm_count
		// only and check mm_users under the locks they take
		// (hpage_collapse_test_exit, ksm_test_exit).
	default:
		// The op runs in (or on) the process: it holds an mm_users
		// reference for its duration (mmget_not_zero), and the last mmput
		// runs exit_mmap.
		if !m.running.Load() || !m.mmgetNotZero() {
			return fmt.Errorf("%s: ESRCH: no mm %s (it exited or has not started)", o.Verb, o.MM)
		}
		defer k.mmput(t, m)
		k.loadMM(t, m)
	}
	switch o.Verb {
	case OpExit:
		return k.Exit(t, m)
	case OpMmap:
		var f *File
		if o.File != "" {
			if f = k.File(o.File); f == nil {
				return fmt.Errorf("mmap: no file %s", o.File)
			}
		}
		return k.Mmap(t, m, MmapArgs{Start: o.Addr, Len: o.Len, Prot: o.Prot, File: f, Pgoff: o.Pgoff, Shared: o.Shared, THP: o.THP})
	case OpMunmap:
		return k.Munmap(t, m, o.Addr, o.Len)
	case OpMprotect:
		return k.Mprotect(t, m, o.Addr, o.Len, o.Prot)
	case OpFork:
		_, err := k.Fork(t, m, o.Child)
		return err
	case OpFault:
		if o.Addr >= k.Geo.Pages() {
			return fmt.Errorf("fault: %#x outside the address space", o.Addr)
		}
		if r := k.Fault(t, m, o.Addr, o.Write); r == FaultSEGV {
			return fmt.Errorf("fault %#x: SIGSEGV", o.Addr)
		}
	case OpLoad:
		if o.Addr >= k.Geo.Pages() {
			return fmt.Errorf("load: %#x outside the address space", o.Addr)
		}
		if _, ok := k.Load(t, m, o.Addr); !ok {
			return fmt.Errorf("load %#x: SIGSEGV", o.Addr)
		}
	case OpMremap:
		return k.Mremap(t, m, MremapArgs{Old: o.Addr, OldLen: o.Len, New: o.NewAddr, NewLen: o.NewLen, Fixed: o.Fixed, DontUnmap: o.DontUnmap, MayMove: o.MayMove})
	case OpMigrate:
		if o.Addr >= k.Geo.Pages() {
			return fmt.Errorf("migrate: %#x outside the address space", o.Addr)
		}
		return k.Migrate(t, m, o.Addr)
	case OpReclaim:
		if o.Addr >= k.Geo.Pages() {
			return fmt.Errorf("reclaim: %#x outside the address space", o.Addr)
		}
		return k.Reclaim(t, m, o.Addr)
	case OpMadvise:
		if o.Advice != AdvDontneed {
			return k.MadviseFlags(t, m, o.Addr, o.Len, o.Advice == AdvRandom)
		}
		return k.MadviseDontneed(t, m, o.Addr, o.Len)
	case OpSplit:
		if o.Addr >= k.Geo.Pages() {
			return fmt.Errorf("split: %#x outside the address space", o.Addr)
		}
		return k.SplitFolio(t, m, o.Addr)
	case OpCollapse:
		if o.Addr >= k.Geo.Pages() {
			return fmt.Errorf("collapse: %#x outside the address space", o.Addr)
		}
		return k.Collapse(t, m, o.Addr)
	case OpKsm:
		if o.Addr >= k.Geo.Pages() {
			return fmt.Errorf("ksm: %#x outside the address space", o.Addr)
		}
		return k.Ksm(t, m, o.Addr)
	case OpPunch:
		f := k.File(o.File)
		if f == nil {
			return fmt.Errorf("punch: no file %s", o.File)
		}
		return k.Punch(t, f, o.Pgoff, o.Len)
	case OpStore:
		if o.Addr >= k.Geo.Pages() {
			return fmt.Errorf("store: %#x outside the address space", o.Addr)
		}
		if !k.Store(t, m, o.Addr, o.Value) {
			return fmt.Errorf("store %#x: SIGSEGV", o.Addr)
		}
	}
	return nil
}

// Build creates the program's initial mms and files in a new kernel.
func Build(p *Program, k *Kernel) {
	for _, m := range p.MMs {
		k.NewMM(m)
	}
	for _, f := range p.Files {
		nf := k.newFile(f.Name, f.Pages, f.Hugetlb)
		nf.uprobes = f.Uprobes
	}
	k.InjectAllocFailures = p.InjectAllocFailures
	if p.HugePages > 0 {
		k.SetHugePages(p.HugePages)
	}
}
