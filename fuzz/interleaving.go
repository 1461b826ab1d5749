package fuzz

import (
	"hash/fnv"
	"strings"

	"mmrace/kernelsim/sched"
)

// FuzzKernel once fed these pairs to Go's fuzzer as extra edges (a
// generated 512-case switch behind MMRACE_COVER=1). Measured with
// scripts/fuzz-detect.sh 90, three runs per configuration, median
// executions (seconds) to detection with and without it:
// move_ptes-skip-rmap-locks 29,312 (10s) vs 18,972 (7s);
// mremap-revert-skips-rmap-locks 129,268 (24s) vs 113,730 (20s);
// move_normal_pmd-skip-rmap-locks 160,206 (28s) vs 98,301 (17s);
// anon_vma-lock-not-root ~5,900 (2s) vs ~4,900 (2s). It never helped: the
// model's own code coverage already separates most interleavings, and the
// extra edges mostly grow the corpus. So it was removed; hunt's own search
// still keeps inputs that show new pairs (hunt.search).

// InterleavingPairs returns the hashed interleaving pairs of a run: for
// every event on a shared object (a PTE, a page table, a VMA, an interval
// tree, a lock) that follows an event of another task on the same object,
// the pair (site of the earlier, site of the later, kind) — KRACE-style
// alias pairs, which edge coverage of the simulator cannot tell apart.
func InterleavingPairs(tr *sched.Trace) []uint32 {
	type last struct {
		task int
		site string
	}
	seen := map[string]last{}
	var out []uint32
	for _, e := range tr.Events {
		switch e.Kind {
		case sched.KindWrite, sched.KindAcquire, sched.KindTrylock, sched.KindRelease, sched.KindWalk, sched.KindBlock:
		default:
			continue
		}
		obj := e.ObjText()
		if e.Kind == sched.KindWalk {
			d := e.DetailText()
			if !strings.HasPrefix(d, "looks at") {
				continue
			}
			obj, _, _ = strings.Cut(d, ":") // the address looked at
		}
		if l, ok := seen[obj]; ok && l.task != e.Task {
			h := fnv.New32a()
			h.Write([]byte(l.site))
			h.Write([]byte{0, byte(e.Kind)})
			h.Write([]byte(e.Site))
			out = append(out, h.Sum32())
		}
		seen[obj] = last{task: e.Task, site: e.Site}
	}
	return out
}
