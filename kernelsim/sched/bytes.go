package sched

import "slices"

// Bytes takes its decisions from a byte slice, typically fuzzer input. At a
// scheduling point with more than one runnable task it consumes one byte b:
// b < 0x80 keeps the current task running (when it can), otherwise the task
// runnable[(b-0x80) % len(runnable)] runs. A data choice consumes one byte
// b and answers b % n. When the bytes are exhausted it falls back to a fixed
// non-preemptive schedule: keep the current task, else the lowest runnable
// index (at a Yield point, the lowest other runnable one: a spinning task
// does not keep the processor); data choices answer 0.
type Bytes struct {
	Data    []byte
	pos     int
	yielded int // 1 + the task at a Yield point, for the next Next
}

// NewBytes returns a strategy reading decisions from data.
func NewBytes(data []byte) *Bytes { return &Bytes{Data: data} }

// Reset implements Strategy.
func (b *Bytes) Reset(int) { b.pos, b.yielded = 0, 0 }

// Yielded implements Yielder.
func (b *Bytes) Yielded(task int) { b.yielded = task + 1 }

// Next implements Strategy.
func (b *Bytes) Next(runnable []int, cur int, _ int) int {
	spin := b.yielded == cur+1 && cur >= 0
	b.yielded = 0 // a hint for this decision only
	if len(runnable) == 1 {
		return runnable[0]
	}
	keep := cur >= 0 && slices.Contains(runnable, cur)
	if b.pos >= len(b.Data) {
		if keep && !spin {
			return cur
		}
		for _, r := range runnable {
			if r != cur {
				return r
			}
		}
		return runnable[0]
	}
	c := b.Data[b.pos]
	b.pos++
	if c < 0x80 && keep {
		return cur
	}
	return runnable[int(c&0x7f)%len(runnable)]
}

// Choose implements Strategy.
func (b *Bytes) Choose(n int) int {
	if b.pos >= len(b.Data) {
		return 0
	}
	c := b.Data[b.pos]
	b.pos++
	return int(c) % n
}

// Used returns how many bytes the last run consumed.
func (b *Bytes) Used() int { return b.pos }
