package ksync

import (
	"sync/atomic"

	"mmrace/kernelsim/sched"
)

// MmapLock is mm->mmap_lock: an rwsem plus mm_lock_seq, the sequence number
// of the current write epoch. Ending a write epoch (mmap_write_unlock,
// mmap_write_downgrade) bumps the sequence, which releases every VMA write
// lock taken in that epoch at once (vma_end_write_all). Mirrors
// include/linux/mmap_lock.h.
type MmapLock struct {
	rw  *Rwsem
	seq atomic.Int64
}

// NewMmapLock returns the mmap_lock of the mm named mm ("mm1").
func (e *Env) NewMmapLock(mm string) *MmapLock {
	m := &MmapLock{rw: e.NewRwsem("mmap_lock("+mm+")", ClassMmapLock)}
	m.rw.epoch = &m.seq
	return m
}

// Name implements sched.Waitable.
func (m *MmapLock) Name() string { return m.rw.name }

// Holders implements sched.Waitable.
func (m *MmapLock) Holders(buf []int) []int { return m.rw.Holders(buf) }

// Rwsem returns the underlying rwsem.
func (m *MmapLock) Rwsem() *Rwsem { return m.rw }

// Seq returns mm_lock_seq.
func (m *MmapLock) Seq() int64 { return m.seq.Load() }

// ReadLock is mmap_read_lock.
func (m *MmapLock) ReadLock(t *sched.Task, site string) { m.rw.DownRead(t, site) }

// ReadTrylock is mmap_read_trylock.
func (m *MmapLock) ReadTrylock(t *sched.Task, site string) bool { return m.rw.DownReadTrylock(t, site) }

// ReadUnlock is mmap_read_unlock.
func (m *MmapLock) ReadUnlock(t *sched.Task, site string) { m.rw.UpRead(t, site) }

// WriteLock is mmap_write_lock.
func (m *MmapLock) WriteLock(t *sched.Task, site string) { m.rw.DownWrite(t, site) }

// WriteLockNested is mmap_write_lock_nested (the child mm in dup_mmap).
func (m *MmapLock) WriteLockNested(t *sched.Task, subclass int, site string) {
	m.rw.DownWriteNested(t, subclass, site)
}

// WriteUnlock is mmap_write_unlock: vma_end_write_all, then up_write.
func (m *MmapLock) WriteUnlock(t *sched.Task, site string) {
	if m.rw.env.mut != nil && m.rw.env.releasePhantom(t, m.rw) {
		return // the acquisition was removed or released early
	}
	m.AssertWriteLocked(t, "mmap_write_unlock")
	m.seq.Add(1)
	m.rw.UpWrite(t, site)
}

// WriteDowngrade is mmap_write_downgrade: vma_end_write_all, then
// downgrade_write.
func (m *MmapLock) WriteDowngrade(t *sched.Task, site string) {
	if m.rw.env.mut != nil && m.rw.env.downgradePhantom(t, m.rw) {
		return // the acquisition was removed or released early
	}
	m.AssertWriteLocked(t, "mmap_write_downgrade")
	m.seq.Add(1)
	m.rw.DowngradeWrite(t, site)
}

// AssertWriteLocked is mmap_assert_write_locked.
func (m *MmapLock) AssertWriteLocked(t *sched.Task, what string) {
	m.rw.env.AssertHeld(t, m.rw, true, what)
}

// AssertLocked is mmap_assert_locked (read or write).
func (m *MmapLock) AssertLocked(t *sched.Task, what string) {
	m.rw.env.AssertHeld(t, m.rw, false, what)
}

// HeldBy reports whether t holds the mmap_lock, and whether for write.
func (m *MmapLock) HeldBy(t *sched.Task) (held, write bool) { return m.rw.env.holds(t, m.rw) }

// Reinit is vma_lock_init() on a VMA object reused from the
// SLAB_TYPESAFE_BY_RCU cache, possibly for another mm: detached (refcnt
// 0, which it already is), vm_lock_seq reset, vm_mm set to the new mm.
func (v *VMALock) Reinit(name string, mm *MmapLock) {
	v.mu.Lock()
	v.name, v.mm = name, mm
	v.lockSeq.Store(-1)
	v.refcnt, v.readers, v.excluding, v.writer = 0, nil, false, nil
	v.mu.Unlock()
}

// VMALock is the per-VMA lock (v6.15+ vm_refcnt form; the v6.4–v6.14 rwsem
// plus detached flag behaves the same). Mirrors mm/mmap_lock.c.
//
//   - refcnt 0 means detached; 1 attached and unlocked; each reader adds one.
//   - Readers never block: vma_start_read fails when the VMA is write-locked
//     in the current mmap write epoch (vm_lock_seq == mm_lock_seq), when a
//     writer is excluding readers, or (with "detached") when refcnt is 0.
//   - vma_start_write needs mmap_lock for write, waits for the readers to
//     drain, then sets vm_lock_seq = mm_lock_seq. There is no vma_end_write:
//     the write lock ends with the mmap write epoch.
//
// The read side's separate steps (seq check, refcount_inc_not_zero_limited,
// vm_mm check, seq re-check) are one atomic step here: once the refcount is
// raised the VMA can be neither detached nor reused (vma_mark_detached
// waits for such readers), and before it the only state read is the seq,
// whose early check is an optimisation the re-check makes exact; so every
// outcome of the kernel's interleavings is an outcome of the atomic step.
type VMALock struct {
	env       *Env
	name      string
	mm        *MmapLock
	mu        Mu
	lockSeq   atomic.Int64 // vm_lock_seq
	refcnt    int
	readers   []int
	excluding bool        // a writer holds VM_REFCNT_EXCLUDE_READERS_FLAG
	writer    *sched.Task // the writer waiting for readers to drain
}

// NewVMALock returns the lock of a new, detached VMA of the mm whose
// mmap_lock is mm (vma_lock_init).
func (e *Env) NewVMALock(name string, mm *MmapLock) *VMALock {
	v := carve(e, &e.vmaLocks)
	v.env, v.name, v.mm = e, name, mm
	e.InitMu(&v.mu)
	v.lockSeq.Store(-1)
	return v
}

// Name implements sched.Waitable.
func (v *VMALock) Name() string { return v.name }

func (v *VMALock) class() *Class { return ClassVMALock }

// Holders implements sched.Waitable: the readers a writer waits for.
func (v *VMALock) Holders(buf []int) []int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append(buf, v.readers...)
}

// ReadResult is the outcome of vma_start_read.
type ReadResult uint8

// The outcomes of vma_start_read.
const (
	ReadOK          ReadResult = iota
	ReadWriteLocked            // write-locked in this epoch, or a writer excludes readers: fall back to mmap_lock
	ReadDetached               // refcnt was 0 (-EAGAIN): the lookup should be retried
	ReadOtherMM                // the VMA object was reused by another mm (vm_mm != mm)
)

func (r ReadResult) String() string {
	return [...]string{"ok", "failed: write-locked", "failed: detached", "failed: reused by another mm"}[r]
}

// detail is the trace detail of a vma_start_read with outcome r, made once.
func (r ReadResult) detail() string { return readDetails[r] }

var readDetails = func() (d [ReadOtherMM + 1]string) {
	for r := range d {
		d[r] = "vma read " + ReadResult(r).String()
	}
	return d
}()

// StartRead is vma_start_read(mm, vma) (v6.15+): a trylock that never
// sleeps, by a reader of the mm whose mmap_lock is mm, which found the VMA
// object without holding any lock. The seq is compared with the reader's
// mm; a VMA object reused by another mm is refused (the vm_mm check) with
// the reference it briefly took dropped again; checkMM false leaves that
// check out (a variant: the reader then holds another mm's VMA).
func (v *VMALock) StartRead(t *sched.Task, mm *MmapLock, checkMM bool, site string) ReadResult {
	var mk MutantKind
	if v.env.mut != nil {
		if mk = v.env.mutation(Acquisition{Class: ClassVMALock.Name, Lock: v.name, Trylock: true}); mk == MutantRemove {
			v.env.pushPhantom(t, v, false, 0, site)
			v.env.applied(t, v.name, site, "remove: vma_start_read removed (succeeds)")
			return ReadOK
		}
	}
	found := v.name
	t.PointF(sched.KindTrylock, site, sched.Obj(found).Detail("vma read"))
	v.mu.Lock()
	now := v.name
	var res ReadResult
	switch {
	case v.lockSeq.Load() == mm.seq.Load():
		res = ReadWriteLocked
	case v.refcnt == 0:
		res = ReadDetached
	case v.excluding:
		res = ReadWriteLocked
	case v.mm != mm && checkMM:
		res = ReadOtherMM
	default:
		v.refcnt++
		v.readers = append(v.readers, t.ID())
	}
	v.mu.Unlock()
	t.AmendF(sched.Detail(res.detail()))
	if now != found {
		// The object was freed and reused (Reinit) between the lookup and
		// this trylock: the lock tried is the new VMA's. Recorded under
		// its name too, for reach's "same object" (a rare path: formatted
		// here).
		t.Record(sched.KindTrylock, now, site, "vma read "+res.String()+": "+found+" was reused as "+now)
	}
	if res == ReadOK {
		v.env.push(t, v, false, true, 0, site)
		if mk == MutantReleaseEarly {
			v.env.releaseEarly(t, v, site, v.endRead)
		}
	} else if mk == MutantIgnoreTrylockFailure {
		v.env.pushPhantom(t, v, false, 0, site)
		v.env.applied(t, v.name, site, "ignore-trylock-failure: vma_start_read "+res.String()+", proceeds as if it held it")
		return ReadOK
	}
	return res
}

// EndRead is vma_end_read: drop the reader reference and wake a writer
// waiting for the last reader.
func (v *VMALock) EndRead(t *sched.Task, site string) {
	if v.env.mut != nil && v.env.releasePhantom(t, v) {
		return // the acquisition was removed or released early
	}
	t.PointF(sched.KindRelease, site, sched.Obj(v.name).Detail("vma read"))
	v.env.pop(t, v)
	v.endRead(t, false)
	v.env.released(t)
}

// endRead drops t's reader reference (the VMA lock's part of vma_end_read).
func (v *VMALock) endRead(t *sched.Task, _ bool) {
	v.mu.Lock()
	v.refcnt--
	v.readers = removeOne(v.readers, t.ID())
	if v.excluding && v.writer != nil && len(v.readers) == 0 {
		t.Unpark(v.writer)
		v.writer = nil
	}
	v.mu.Unlock()
}

// StartWrite is vma_start_write: with mmap_lock held for write, exclude new
// readers, wait for the current ones to leave, and mark the VMA write-locked
// for the rest of the mmap write epoch. For lockdep it is an acquisition
// immediately followed by a release, as in the kernel.
func (v *VMALock) StartWrite(t *sched.Task, site string) {
	var mk MutantKind
	if v.env.mut != nil {
		mk = v.env.mutation(Acquisition{Class: ClassVMALock.Name, Lock: v.name, Write: true})
		if mk == MutantRemove {
			if v.lockSeq.Load() != v.mm.seq.Load() {
				v.env.applied(t, v.name, site, "remove: vma_start_write removed")
			}
			return
		}
	}
	v.mm.AssertWriteLocked(t, "vma_start_write")
	if v.lockSeq.Load() == v.mm.seq.Load() {
		return // already write-locked in this epoch (__is_vma_write_locked)
	}
	v.env.beforeAcquire(t, v, true, 0, site)
	t.PointF(sched.KindAcquire, site, sched.Obj(v.name).Detail("vma write"))
	v.mu.Lock()
	v.excluding = true
	if len(v.readers) > 0 {
		v.writer = t
		v.mu.Unlock()
		t.Park(v)
		t.RecordF(sched.KindGranted, site, sched.Obj(v.name).Detail("vma write: readers drained"))
		v.mu.Lock()
	}
	v.lockSeq.Store(v.mm.seq.Load())
	v.excluding = false
	v.mu.Unlock()
	if mk == MutantReleaseEarly {
		v.releaseWriteEarly(t, site)
	}
}

// IsWriteLocked reports whether the VMA is write-locked in the current epoch.
func (v *VMALock) IsWriteLocked() bool { return v.lockSeq.Load() == v.mm.seq.Load() }

// IsAttached reports whether the VMA is attached (refcnt > 0).
func (v *VMALock) IsAttached() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.refcnt > 0
}

// MarkAttached is vma_mark_attached: the write-locked VMA becomes visible to
// readers.
func (v *VMALock) MarkAttached(t *sched.Task, site string) {
	v.AssertWriteLocked(t, "vma_mark_attached")
	t.PointF(sched.KindWrite, site, sched.Obj(v.name).Detail("attach"))
	v.mu.Lock()
	v.refcnt = 1
	v.mu.Unlock()
}

// MarkDetached is vma_mark_detached (v6.15+): the write-locked VMA leaves
// the tree; later readers get ReadDetached. Readers still inside (only a
// lock mutant that removed the write lock leaves any: vma_start_write
// drained them) are waited for, as the kernel does when
// refcount_dec_and_test(&vma->vm_refcnt) fails: __vma_enter_locked
// excludes new readers and sleeps until the last one leaves.
func (v *VMALock) MarkDetached(t *sched.Task, site string) {
	v.AssertWriteLocked(t, "vma_mark_detached")
	t.PointF(sched.KindWrite, site, sched.Obj(v.name).Detail("detach"))
	v.mu.Lock()
	if len(v.readers) > 0 {
		if v.env.rules {
			v.mu.Unlock()
			v.env.fail(t, "lock-rule", "%s: %s detached with readers %v inside", site, v.name, v.readers)
		}
		v.refcnt-- // the attach reference: the readers' remain
		v.excluding, v.writer = true, t
		v.mu.Unlock()
		t.Park(v)
		t.RecordF(sched.KindGranted, site, sched.Obj(v.name).Detail("vma detach: readers drained"))
		v.mu.Lock()
		v.excluding = false
	}
	v.refcnt = 0
	v.mu.Unlock()
}

// AssertWriteLocked is vma_assert_write_locked: the VMA is write-locked in
// the current epoch and t holds the mmap_lock for write.
func (v *VMALock) AssertWriteLocked(t *sched.Task, what string) {
	if !v.env.rules {
		return
	}
	v.mm.AssertWriteLocked(t, what)
	if !v.IsWriteLocked() {
		v.env.fail(t, "lock-rule", "%s: %s is not write-locked (vma_assert_write_locked)", what, v.name)
	}
}

// AssertLocked is vma_assert_locked: t holds the VMA read lock, or the VMA
// is write-locked by t's mmap write epoch.
func (v *VMALock) AssertLocked(t *sched.Task, what string) {
	if !v.env.rules {
		return
	}
	if ok, _ := v.env.holds(t, v); ok {
		return
	}
	if held, w := v.mm.HeldBy(t); held && w && v.IsWriteLocked() {
		return
	}
	v.env.fail(t, "lock-rule", "%s: %s holds neither the read lock nor the write lock of %s (vma_assert_locked)", what, t.Name(), v.name)
}

// Attach marks a VMA attached outside any task, for objects built before a
// run starts (setup code that stands for an earlier mmap).
func (v *VMALock) Attach() {
	v.mu.Lock()
	v.refcnt = 1
	v.mu.Unlock()
}
