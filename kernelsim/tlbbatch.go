package kernelsim

import (
	"mmrace/kernelsim/sched"
)

// Reclaim's batched TLB flushing (mm/rmap.c, v6.14): try_to_unmap with
// TTU_BATCH_FLUSH clears each PTE under its PTL without flushing
// (set_tlb_ubc_flush_pending: the CPUs to flush go into current's
// tlbflush_unmap_batch, and mm->tlb_flush_batched counts a pending
// generation), and flushes them all later, after the PTLs are dropped
// (try_to_unmap_flush / try_to_unmap_flush_dirty). Meanwhile a PTE that
// reclaim cleared is none (or a swap entry) to everyone else, so an
// mprotect, munmap, MADV_DONTNEED or mremap of the range finds nothing to
// change there, flushes nothing, and would return while another CPU still
// holds the old writable translation. That is why each of them calls
// flush_tlb_batched_pending(mm) right after taking the PTL (3ea277194daa
// "mm, mprotect: flush TLB if potentially racing with a parallel reclaim
// leaving stale TLB entries", Mel Gorman, 2017): if a batch of the mm is
// pending that no flush_tlb_batched_pending has flushed, flush the mm.

// tlbFlushBatched layout: mm->tlb_flush_batched counts pending batches in
// its low bits and, above TLB_FLUSH_BATCH_FLUSHED_SHIFT, the pending count
// the last flush_tlb_batched_pending flushed.
const (
	tlbFlushBatchFlushedShift = 16
	tlbFlushBatchPendingMask  = 1<<tlbFlushBatchFlushedShift - 1
	tlbFlushBatchPendingLarge = tlbFlushBatchPendingMask / 2
)

// tlbUBC is current->tlb_ubc (struct tlbflush_unmap_batch): the pages
// whose flush a reclaiming task owes. The kernel keeps a CPU mask; the
// model keeps the pages (arm64's arch_tlbbatch_add_pending invalidates
// exactly those, and flushing fewer translations hides no race).
type tlbUBC struct {
	owed []flushRange
}

// setTLBUBCFlushPending mirrors set_tlb_ubc_flush_pending(): called under
// the PTL right after the PTE of m's page addr was cleared. The debt is
// already t's (setPTE recorded it); it is marked batched, and
// mm->tlb_flush_batched gains a pending generation — a separate store
// after the PTE's (the kernel's barrier() orders the two).
func (k *Kernel) setTLBUBCFlushPending(t *sched.Task, ubc *tlbUBC, m *MM, addr int, site string) {
	ubc.owed = append(ubc.owed, flushRange{mm: m, start: addr, end: addr + 1})
	t.PointF(sched.KindWrite, site, sched.Obj(m.name+" tlb_flush_batched").Detail("pending +1"))
	k.tlb.mu.Lock()
	ps := k.tlb.pending[t.ID()]
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i].mm == m && ps[i].start <= addr && addr < ps[i].end {
			ps[i].batched, ps[i].batchedAt = true, k.stamp(t)
			break
		}
	}
	k.tlb.mu.Unlock()
	for {
		batch := m.tlbFlushBatched.Load()
		if batch&tlbFlushBatchPendingMask > tlbFlushBatchPendingLarge {
			// Keep the pending count from overflowing into the flushed
			// one: start again at 1 pending (more than the flushed count's
			// low bits can be, so the next check flushes).
			if m.tlbFlushBatched.CompareAndSwap(batch, 1) {
				return
			}
			continue
		}
		m.tlbFlushBatched.Add(1)
		return
	}
}

// tryToUnmapFlush mirrors try_to_unmap_flush() (and _dirty): the batch's
// flushes, after the walk, outside every PTL.
func (k *Kernel) tryToUnmapFlush(t *sched.Task, ubc *tlbUBC, site string) {
	for _, o := range ubc.owed {
		k.flushTLBRange(t, o.mm, o.start, o.end, site)
	}
	ubc.owed = nil
}

// flushTLBBatchedPending mirrors flush_tlb_batched_pending(mm), called by
// zap_pte_range, change_pte_range and move_ptes with the PTL held: a
// pending batch of reclaim (set_tlb_ubc_flush_pending) that nobody has
// flushed here yet is flushed, all of the mm, and the flushed count caught
// up (unless another batch became pending meanwhile: the cmpxchg fails and
// the next caller flushes again).
func (k *Kernel) flushTLBBatchedPending(t *sched.Task, m *MM, site string) {
	if k.Variants.Enabled("flush_tlb_batched_pending-missing") {
		// The operation still promises the flush (checkTLBCoherence).
		k.batchedPaid[t.ID()] = k.stamp(t)
		if b := m.tlbFlushBatched.Load(); b&tlbFlushBatchPendingMask != b>>tlbFlushBatchFlushedShift {
			k.Variants.Hit("flush_tlb_batched_pending-missing") // a pending batch goes unflushed
		}
		return
	}
	t.PointF(sched.KindRead, site, sched.Obj(m.name+" tlb_flush_batched").Detail("flush_tlb_batched_pending"))
	// The operation promises to have paid every batch counted before this
	// read (checkTLBCoherence).
	k.batchedPaid[t.ID()] = k.stamp(t)
	batch := m.tlbFlushBatched.Load()
	pending := batch & tlbFlushBatchPendingMask
	flushed := batch >> tlbFlushBatchFlushedShift
	if pending == flushed {
		return
	}
	k.flushTLBMM(t, m, "flush_tlb_batched_pending")
	m.tlbFlushBatched.CompareAndSwap(batch, pending|pending<<tlbFlushBatchFlushedShift)
}
