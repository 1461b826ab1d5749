package kernelsim

import "mmrace/kernelsim/sched"

// checkZapCoherence is tlb-coherence at the end of a zap of [start, end)
// of m (munmap, MADV_DONTNEED) that found VMAs over the ranges zapped: a
// zap answers for every translation cached before it began only in the
// pages it zapped (the nested-gather case of 99baac21e458: it found the
// PTE already cleared by a concurrent zap and must flush anyway). A page
// of the range that no VMA of the zap covered (a concurrent munmap had
// already detached it) is no promise of this op's: the kernel returns
// (munmap: 0, madvise: -ENOMEM) without a gather there, and a stale
// translation that the other zap still owes a flush is excused as at any
// op's end. (The whole range as zapped made the faithful kernel fail: a
// madvise ending while a concurrent munmap, which had detached the VMA
// first, was still to flush it.)
func (k *Kernel) checkZapCoherence(t *sched.Task, m *MM, start, end, since int, zapped [][2]int, op string) {
	k.checkTLBCoherence(t, m, start, end, since, false, op)
	for _, r := range zapped {
		k.checkTLBCoherence(t, m, r[0], r[1], since, true, op)
	}
}

// vmaRanges returns the ranges of vs.
func vmaRanges(vs []*VMA) [][2]int {
	out := make([][2]int, 0, len(vs))
	for _, v := range vs {
		out = append(out, [2]int{v.start, v.end})
	}
	return out
}
