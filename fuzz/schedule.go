package fuzz

import (
	"bytes"

	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// The schedule part of a fuzz input (what Decode leaves after the program's
// choices) is one of two kinds:
//
//   - byte decisions (sched.Bytes): one byte per scheduling point with
//     more than one runnable task, the non-preemptive schedule once they
//     run out;
//   - a PCT draw, when it starts with PCTTag: the byte after the tag gives
//     the depth (1 + b%6) and, in its top bit, whether PCT preempts at TLB
//     windows (sched.PCT.Windows); the next 8 bytes are the seed, little
//     endian (missing bytes are 0). The bare tag, with no byte after it,
//     is the non-preemptive schedule (the seed corpus's twins).
//
// Go's fuzzer mutates either kind. Byte decisions let it steer a schedule
// step by step with coverage feedback; a PCT draw gives it a schedule from
// the distribution whose guarantee holds for races of a few ordering
// constraints, which mutated bytes rarely hit when a race needs a
// preemption at one exact step of a long run (a retract_page_tables
// between its lockless PMD read and its pmd_lock, with MADV_DONTNEED's
// table free in between): hunt's search runs two in three of its inputs
// under PCT for the same reason. The seed corpus has both kinds (Seeds).
var PCTTag = []byte{0xff, 'P'}

// FuzzerStrategy is the strategy of the schedule part sb of a FuzzKernel
// input (Exec): Strategy's two kinds, and a third, the short PCT draw, when
// sb does not start with PCTTag but its first byte has its two top bits
// set. That byte gives the depth (1 + b&0x1f%6) and, in bit 5, whether
// PCT preempts at TLB windows; the next 8 bytes are the seed, little
// endian (missing bytes are 0).
//
// Why: Go's fuzzer knows nothing of the tag. It reaches a PCT draw only by
// appending to a seed's bare tag, and loses it with most of its mutations:
// in one 120 s run of FuzzKernel, 5,928 of 481,138 executions (1.2%) were
// PCT draws, and D.12c's template, whose PCT draws make a stale copy (which
// Exec amplifies into the lost store about half the time) in about one in
// 20, got 40 of its 5,000 executions as PCT draws and no stale copy at
// all. With the short form one byte in four of a mutated schedule part
// makes it a PCT draw, and mutating that byte or the next
// ones gives another draw of the same program. The seeds are unchanged
// (no schedule bytes, or the bare tag: both the non-preemptive schedule),
// so no seed reproduces a variant. hunt and stress keep Strategy: their
// own searches choose PCT explicitly.
func FuzzerStrategy(p *kernelsim.Program, sb []byte) sched.Strategy {
	if len(sb) > 0 && sb[0]&0xc0 == 0xc0 && !bytes.HasPrefix(sb, PCTTag) {
		return pctDraw(p, 1+int(sb[0]&0x1f)%6, sb[0]&0x20 != 0, sb[1:])
	}
	return Strategy(p, sb)
}

// Strategy is the scheduling strategy of the schedule part sb of an input
// that decoded to p.
func Strategy(p *kernelsim.Program, sb []byte) sched.Strategy {
	if !bytes.HasPrefix(sb, PCTTag) {
		return sched.NewBytes(sb)
	}
	rest := sb[len(PCTTag):]
	if len(rest) == 0 {
		// The bare tag (the seeds' PCT twins): the non-preemptive
		// schedule, as an empty byte schedule runs, until a mutation
		// adds the draw.
		return sched.NewBytes(nil)
	}
	return pctDraw(p, 1+int(rest[0]&0x7f)%6, rest[0]&0x80 != 0, rest[1:])
}

// pctDraw is the PCT draw of both forms: the given depth and windows, the
// seed from the first 8 bytes of seed (little endian; missing bytes are
// 0), and p's step bound.
func pctDraw(p *kernelsim.Program, depth int, windows bool, seed []byte) sched.Strategy {
	var s uint64
	for i := 0; i < 8 && i < len(seed); i++ {
		s |= uint64(seed[i]) << (8 * i)
	}
	pct := sched.NewPCT(s, depth, 60+12*p.Ops())
	pct.Windows = windows
	return pct
}
