package lockprog

import "math/rand/v2"

// Generate returns a random well-formed, lock-heavy program of the given
// number of tasks: every acquisition is released by the same task in reverse
// order, trylocks and vma_read included (a failed one skips its release).
// Different tasks take the locks in different orders, so deadlocks, lockdep
// reports and rule violations occur, as do clean runs.
func Generate(rng *rand.Rand, tasks int) *Program {
	p := &Program{Tasks: tasks}
	for t := 0; t < tasks; t++ {
		blocks := 3 + rng.IntN(3)
		for b := 0; b < blocks; b++ {
			p.Ops = append(p.Ops, block(rng, t)...)
		}
	}
	return p
}

func block(rng *rand.Rand, t int) []Op {
	op := func(v Verb, obj string) Op { return Op{Task: t, Verb: v, Obj: obj} }
	wrap := func(acq, rel Op, inner []Op) []Op {
		return append(append([]Op{acq}, inner...), rel)
	}
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	switch rng.IntN(9) {
	case 0, 1: // one or two rwsems, random order and modes
		first, second := "A", "B"
		if rng.IntN(2) == 0 {
			first, second = second, first
		}
		var inner []Op
		if rng.IntN(3) != 0 {
			inner = rwPair(rng, t, second, nil)
		}
		return rwPair(rng, t, first, inner)
	case 2: // spinlocks, possibly nested
		a := pick("P", "Q")
		var inner []Op
		if rng.IntN(3) == 0 {
			b := "P"
			if a == "P" {
				b = "Q"
			}
			inner = []Op{op(SpinLock, b), op(Nop, ""), op(SpinUnlock, b)}
		}
		acq := SpinLock
		if rng.IntN(3) == 0 {
			acq = SpinTrylock
		}
		return wrap(op(acq, a), op(SpinUnlock, a), inner)
	case 3: // the folio lock
		acq := FolioLock
		if rng.IntN(2) == 0 {
			acq = FolioTrylock
		}
		return wrap(op(acq, "F"), op(FolioUnlock, "F"), []Op{op(Choose, "")})
	case 4: // mmap writer write-locking VMAs, maybe downgrading
		ops := []Op{op(MmapWriteLock, "M"), op(VMAStartWrite, pick("V1", "V2"))}
		if rng.IntN(2) == 0 {
			ops = append(ops, op(VMAStartWrite, pick("V1", "V2")))
		}
		if rng.IntN(3) == 0 {
			return append(ops, op(MmapWriteDowngrade, "M"), op(Nop, ""), op(MmapReadUnlock, "M"))
		}
		return append(ops, op(MmapWriteUnlock, "M"))
	case 5: // VMA reader, maybe taking an rwsem inside
		v := pick("V1", "V2")
		var inner []Op
		if rng.IntN(2) == 0 {
			inner = rwPair(rng, t, pick("A", "B"), nil)
		}
		return wrap(op(VMARead, v), op(VMAEndRead, v), inner)
	case 6: // RCU read section, deferred free, grace period
		inner := []Op{op(Nop, "")}
		if rng.IntN(3) == 0 {
			inner = []Op{op(SpinLock, "P"), op(SpinUnlock, "P")}
		}
		ops := wrap(op(RCUReadLock, ""), op(RCUReadUnlock, ""), inner)
		switch rng.IntN(3) {
		case 0:
			ops = append(ops, op(CallRCU, ""))
		case 1:
			ops = append(ops, op(SynchronizeRCU, ""))
		}
		return ops
	case 7: // mmap reader
		acq := MmapReadLock
		if rng.IntN(2) == 0 {
			acq = MmapReadTrylock
		}
		return wrap(op(acq, "M"), op(MmapReadUnlock, "M"), []Op{op(Nop, "")})
	default:
		return []Op{op(Choose, ""), op(Nop, "")}
	}
}

func rwPair(rng *rand.Rand, t int, obj string, inner []Op) []Op {
	acq, rel := DownRead, UpRead
	switch rng.IntN(4) {
	case 1:
		acq, rel = DownWrite, UpWrite
	case 2:
		acq = DownReadTrylock
	case 3:
		acq, rel = DownWriteTrylock, UpWrite
	}
	ops := []Op{{Task: t, Verb: acq, Obj: obj}}
	ops = append(ops, inner...)
	return append(ops, Op{Task: t, Verb: rel, Obj: obj})
}
