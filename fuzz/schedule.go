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
	cfg, rest := rest[0], rest[1:]
	var seed uint64
	for i := 0; i < 8 && i < len(rest); i++ {
		seed |= uint64(rest[i]) << (8 * i)
	}
	pct := sched.NewPCT(seed, 1+int(cfg&0x7f)%6, 60+12*p.Ops())
	pct.Windows = cfg&0x80 != 0
	return pct
}
