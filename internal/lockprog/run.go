package lockprog

import (
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// objects are the locks of one run.
type objects struct {
	rw   map[string]*ksync.Rwsem
	spin map[string]*ksync.Mutex
	vma  map[string]*ksync.VMALock
	fol  *ksync.Mutex
	mm   *ksync.MmapLock
	rcu  *ksync.RCU
}

// Run runs p once under the given scheduling options and checks.
func Run(p *Program, opts sched.Options, cfg ksync.Config) sched.Result {
	s := sched.New(opts)
	e := ksync.NewEnv(cfg)
	ob := &objects{
		rw:   map[string]*ksync.Rwsem{"A": e.NewRwsem("A", ksync.ClassTestA), "B": e.NewRwsem("B", ksync.ClassTestB)},
		spin: map[string]*ksync.Mutex{"P": e.NewMutex("P", ksync.ClassTestP), "Q": e.NewMutex("Q", ksync.ClassTestQ)},
		fol:  e.NewMutex("F", ksync.ClassTestF),
		mm:   e.NewMmapLock("mm1"),
		rcu:  e.RCU(),
	}
	ob.vma = map[string]*ksync.VMALock{"V1": e.NewVMALock("V1", ob.mm), "V2": e.NewVMALock("V2", ob.mm)}
	// The VMAs start attached, as if set up by an earlier mmap.
	ob.vma["V1"].Attach()
	ob.vma["V2"].Attach()
	perTask := make([][]Op, p.Tasks)
	for _, o := range p.Ops {
		perTask[o.Task] = append(perTask[o.Task], o)
	}
	for i := range perTask {
		ops := perTask[i]
		s.Spawn(func(t *sched.Task) { ob.exec(t, ops) })
	}
	return s.Run()
}

// exec runs one task's ops. A release whose acquisition was a failed
// trylock (or a failed vma_read) is skipped, so that random programs with
// trylocks stay well formed.
func (ob *objects) exec(t *sched.Task, ops []Op) {
	failed := map[string]int{} // object -> pending skipped releases
	try := func(ok bool, obj string) {
		if !ok {
			failed[obj]++
		}
	}
	skip := func(obj string) bool {
		if failed[obj] > 0 {
			failed[obj]--
			return true
		}
		return false
	}
	const site = "lockprog"
	for _, o := range ops {
		switch o.Verb {
		case DownRead:
			ob.rw[o.Obj].DownRead(t, site)
		case DownWrite:
			ob.rw[o.Obj].DownWrite(t, site)
		case DownReadTrylock:
			try(ob.rw[o.Obj].DownReadTrylock(t, site), o.Obj)
		case DownWriteTrylock:
			try(ob.rw[o.Obj].DownWriteTrylock(t, site), o.Obj)
		case UpRead:
			if !skip(o.Obj) {
				ob.rw[o.Obj].UpRead(t, site)
			}
		case UpWrite:
			if !skip(o.Obj) {
				ob.rw[o.Obj].UpWrite(t, site)
			}
		case SpinLock:
			ob.spin[o.Obj].Lock(t, site)
		case SpinTrylock:
			try(ob.spin[o.Obj].Trylock(t, site), o.Obj)
		case SpinUnlock:
			if !skip(o.Obj) {
				ob.spin[o.Obj].Unlock(t, site)
			}
		case FolioLock:
			ob.fol.Lock(t, site)
		case FolioTrylock:
			try(ob.fol.Trylock(t, site), o.Obj)
		case FolioUnlock:
			if !skip(o.Obj) {
				ob.fol.Unlock(t, site)
			}
		case MmapReadLock:
			ob.mm.ReadLock(t, site)
		case MmapWriteLock:
			ob.mm.WriteLock(t, site)
		case MmapReadTrylock:
			try(ob.mm.ReadTrylock(t, site), o.Obj)
		case MmapReadUnlock:
			if !skip(o.Obj) {
				ob.mm.ReadUnlock(t, site)
			}
		case MmapWriteUnlock:
			ob.mm.WriteUnlock(t, site)
		case MmapWriteDowngrade:
			ob.mm.WriteDowngrade(t, site)
		case VMAStartWrite:
			ob.vma[o.Obj].StartWrite(t, site)
		case VMARead:
			try(ob.vma[o.Obj].StartRead(t, ob.mm, true, site) == ksync.ReadOK, o.Obj)
		case VMAEndRead:
			if !skip(o.Obj) {
				ob.vma[o.Obj].EndRead(t, site)
			}
		case RCUReadLock:
			ob.rcu.ReadLock(t, site)
		case RCUReadUnlock:
			ob.rcu.ReadUnlock(t, site)
		case CallRCU:
			ob.rcu.CallRCU(t, "free", func() {})
		case SynchronizeRCU:
			ob.rcu.Synchronize(t, site)
		case Choose:
			t.Choose(3, "choice")
		case Nop:
			t.Point(sched.KindNote, "", site, "nop")
		}
	}
}
