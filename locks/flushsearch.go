package locks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"mmrace/fuzz"
	"mmrace/harness"
	"mmrace/hunt"
	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// The search of a TLB flush mutant. A flush matters in a window: between
// the PTE change and the flush some CPU still holds the old translation,
// and the consequence needs a task that cached it before, uses it in the
// window, and often a third task whose operation relies on the flush (a
// second zap or mprotect, a migration that frees the page, a
// copy-on-write fault that copies it). The fuzz decoder's templates rarely
// build that, and never fork or exit in the concurrent phase; so half of a
// flush mutant's budget goes to programs of that shape (tlbProgram) under
// PCT and random schedules, the other half to the default search.

// flushSearch is DefaultSearch for a flush mutant: tlbProgram shapes for
// half the budget, then hunt.Search for the rest.
func flushSearch(ctx context.Context, req SearchRequest) hunt.SearchResult {
	start := time.Now()
	first := req
	if req.Runs > 0 {
		first.Runs = (req.Runs + 1) / 2
	}
	first.Budget = req.Budget / 2
	r := shapeSearch(ctx, first)
	if r.Detected || r.Interrupted {
		r.Seconds = time.Since(start).Seconds()
		return r
	}
	rest := hunt.SearchOptions{SemanticOnly: true, Seed: req.Seed ^ 0x746c62, Mutant: req.Mutant, AfterRun: req.AfterRun, Confirm: req.Confirm}
	if req.Runs > 0 {
		rest.Runs = req.Runs - r.Executions
	}
	if req.Budget > 0 {
		rest.Budget = max(req.Budget-time.Since(start), time.Millisecond)
	}
	if req.Runs > 0 && rest.Runs <= 0 {
		r.Seconds = time.Since(start).Seconds()
		return r
	}
	r2 := hunt.Search(ctx, rest)
	r2.Executions += r.Executions
	r2.HarnessLimits += r.HarnessLimits
	r2.InternalErrors += r.InternalErrors
	if r.FirstInternal != "" {
		r2.FirstInternal = r.FirstInternal
	}
	r2.Seconds = time.Since(start).Seconds()
	return r2
}

// shapeSearch runs tlbProgram programs under PCT (depth 2 to 4) or random
// schedules until a run fails or the budget is spent. Deterministic for a
// seed and a run bound.
func shapeSearch(ctx context.Context, req SearchRequest) hunt.SearchResult {
	rng := rand.New(rand.NewPCG(req.Seed, 0x746c6273))
	start := time.Now()
	var r hunt.SearchResult
	d := &r.Detection
	for i := 0; (req.Budget <= 0 || time.Since(start) < req.Budget) && (req.Runs <= 0 || i < req.Runs); i++ {
		if ctx.Err() != nil {
			d.Interrupted = true
			break
		}
		p := tlbProgram(rng, req.Focus)
		var st sched.Strategy
		if rng.IntN(4) == 0 {
			st = sched.NewRandom(rng.Uint64())
		} else {
			pct := sched.NewPCT(rng.Uint64(), 2+rng.IntN(3), 60+12*p.Ops())
			pct.Windows = pct.Seed&1 == 0 // half the runs preempt at TLB windows (sched.Windower)
			st = pct
		}
		rep := harness.Run(p, harness.Options{Strategy: st, SemanticOnly: true, MaxSteps: fuzz.MaxSteps, Mutant: req.Mutant})
		d.Executions++
		if req.AfterRun != nil {
			req.AfterRun(rep)
		}
		switch {
		case rep.InternalError():
			d.InternalErrors++
			if d.FirstInternal == "" {
				d.FirstInternal = rep.Summary() + p.String() + "schedule " + rep.Schedule
			}
		case rep.HarnessLimit():
			r.HarnessLimits++
		case rep.Finding() && req.refused(p, rep):
			// the faithful kernel fails this program too: not a kill
		case rep.Finding():
			d.Detected, d.Invariant = true, rep.Verdict.Violation.Invariant
			d.Seconds = time.Since(start).Seconds()
			r.Program, r.Report = p, rep
			return r
		}
	}
	d.Seconds = time.Since(start).Seconds()
	return r
}

// tlbLayout is an address space to race on: its setup, the pages the
// tasks cached translations of, the ranges of the operations.
type tlbLayout struct {
	setup  []string
	mms    []string
	addrs  []int    // mapped, faulted pages
	ranges [][2]int // [start, len]
	dests  []int    // mremap destinations (for ranges[0] of the same length)
	forks  bool     // a fork op may create mm2
	// files and declare are the layout's own file lines ("NAME PAGES
	// [hugetlb]") and mms beside mm1 (hugetlb: two mms sharing a PMD table).
	files   []string
	declare []string
	unit    int // the pages of a range around the hot page alone (0: 1; a huge page)
}

var tlbLayouts = []tlbLayout{
	{ // one anonymous table, faulted
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x11 2", "store mm1 0x15 3"},
		mms:    []string{"mm1"},
		addrs:  []int{0x10, 0x11, 0x15},
		ranges: [][2]int{{0x10, 4}, {0x10, 1}, {0x10, 8}, {0x14, 4}},
		dests:  []int{0x30, 0x20},
		forks:  true,
	},
	{ // forked: every page shared copy-on-write with mm2
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x11 2", "fork mm1 mm2"},
		mms:    []string{"mm1", "mm2"},
		addrs:  []int{0x10, 0x11},
		ranges: [][2]int{{0x10, 4}, {0x10, 1}, {0x10, 8}},
		dests:  []int{0x30, 0x20},
	},
	{ // a whole, aligned page table (move_normal_pmd)
		setup:  []string{"mmap mm1 0x8+16 anon rw", "store mm1 0x10 2", "store mm1 0x11 3", "store mm1 0x8 1"},
		mms:    []string{"mm1"},
		addrs:  []int{0x10, 0x11, 0x8},
		ranges: [][2]int{{0x10, 8}, {0x8, 8}},
		dests:  []int{0x28},
	},
	{ // a shared and a private file mapping
		setup:  []string{"mmap mm1 0x10+4 file1@0x0 shared rw", "mmap mm1 0x18+4 file1@0x0 private rw", "store mm1 0x10 1", "load mm1 0x19", "store mm1 0x1a 2"},
		mms:    []string{"mm1"},
		addrs:  []int{0x10, 0x19, 0x1a},
		ranges: [][2]int{{0x10, 4}, {0x18, 4}},
		dests:  []int{0x30},
	},
	{ // a hugetlb PMD table shared by mm1 and mm2 (huge_pmd_share): a zap,
		// mprotect or migration of either unshares it, and mm1's
		// translations must be flushed before i_mmap_rwsem is dropped
		// (__unmap_hugepage_range's force_flush)
		files:   []string{"h 64 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+64 h@0x0 shared rw", "store mm1 0x48 1", "mmap mm2 0x40+64 h@0x0 shared rw", "load mm2 0x48"},
		mms:     []string{"mm1", "mm2"},
		addrs:   []int{0x48},
		ranges:  [][2]int{{0x48, 8}, {0x40, 64}},
		unit:    8,
	},
	{ // an anonymous THP mapped by a PMD leaf: mremap moves the leaf whole
		// (move_huge_pmd), a migration replaces it by a PMD migration
		// entry (set_pmd_migration_entry), a partial mprotect or munmap
		// splits it (__split_huge_pmd_locked)
		setup:  []string{"mmap mm1 0x10+8 anon rw thp", "store mm1 0x10 1", "store mm1 0x13 2"},
		mms:    []string{"mm1"},
		addrs:  []int{0x13, 0x10},
		ranges: [][2]int{{0x10, 8}, {0x12, 2}},
		dests:  []int{0x30},
		forks:  true,
	},
}

// hugetlbLayout and thpLayout are the indexes of the hugetlb and the THP
// layouts in tlbLayouts.
const (
	hugetlbLayout = 4
	thpLayout     = 5
)

// companions are, per focus, the operations (op kinds of tlbProgram) that
// rely on the focus's flush having happened when they find its PTE
// change: a zap or an mprotect that finds nothing to do and returns, a
// migration that frees the page another CPU still translates.
var companions = map[string][]int{
	"try_to_migrate_one": {1, 2, 3},
	"do_mprotect_pkey":   {3},
	"dup_mmap":           {7},
	"move_ptes":          {0}, // a migration that frees the moved page (CVE-2018-18281)
	"move_normal_pmd":    {0},
	"move_huge_pmd":      {0}, // a migration of the moved THP, which flushes only the new range
	// Reclaim's batch: a zap, an mprotect or an mremap that finds the PTE
	// reclaim cleared, and reclaim beside the PTE changers that must pay
	// its pending flush (tlbbatch.go).
	"try_to_unmap_flush":        {1, 2, 3, 4},
	"flush_tlb_batched_pending": {8},
	// A hugetlb zap that unshared a PMD table: a migration of the page the
	// table maps takes i_mmap_rwsem W right after it (and frees the old
	// folio), or another zap finds the table gone.
	"__unmap_hugepage_range": {0, 1, 3},
	// An mprotect or a VMA split that unshared a PMD table: the other
	// sharer's munmap or exit, the table's last user, frees it (its zap
	// takes i_mmap_rwsem W first), while a CPU of the unsharing mm may
	// still cache the PUD entry into it (tlbpud.go); or a migration.
	"hugetlb_change_protection": {2, 6, 0},
	"hugetlb_unshare_pmds":      {2, 6, 0},
}

// tlbProgram draws a program of the window's shape: a task whose operation
// changes PTEs and flushes (t1), a task that accesses the pages before,
// during and after it (t2), and a third task that either accesses them
// too or runs an operation that relies on the first one's flush (t3).
// focus, when not "", is the kernel function of the mutated flush site:
// t1's operation is the one that reaches it, most of the time.
func tlbProgram(rng *rand.Rand, focus string) *kernelsim.Program {
	l := tlbLayouts[rng.IntN(hugetlbLayout)] // the hugetlb layout only for its foci (below)
	switch focus {
	case "move_normal_pmd":
		if rng.IntN(4) != 0 {
			l = tlbLayouts[2]
		}
	case "wp_page_copy":
		if rng.IntN(4) != 0 {
			l = tlbLayouts[1]
		}
	case "dup_mmap":
		if rng.IntN(4) != 0 {
			l = tlbLayouts[0]
		}
	case "__unmap_hugepage_range", "hugetlb_change_protection", "hugetlb_unshare_pmds":
		if rng.IntN(4) != 0 {
			l = tlbLayouts[hugetlbLayout]
		}
	case "move_huge_pmd", "set_pmd_migration_entry", "__split_huge_pmd_locked":
		if rng.IntN(4) != 0 {
			l = tlbLayouts[thpLayout]
		}
	}
	pick := func(xs []int) int { return xs[rng.IntN(len(xs))] }
	hot := pick(l.addrs)
	// moved is where mremap of ranges[0] puts hot (when it holds it).
	moved := hot
	if r := l.ranges[0]; len(l.dests) > 0 && r[0] <= hot && hot < r[0]+r[1] {
		moved = pick(l.dests) + hot - r[0]
	}
	var b strings.Builder
	b.WriteString("mm mm1")
	for _, d := range l.declare {
		b.WriteString(" " + d)
	}
	b.WriteString("\nfile file1 16\n")
	for _, f := range l.files {
		fmt.Fprintf(&b, "file %s\n", f)
	}
	for _, s := range l.setup {
		fmt.Fprintf(&b, "setup: %s\n", s)
	}
	forked, remapped := false, false
	val := 10
	access := func(m string, a int) string {
		val++
		if rng.IntN(2) == 0 {
			return fmt.Sprintf("load %s %#x", m, a)
		}
		return fmt.Sprintf("store %s %#x %d", m, a, val)
	}
	prot := []string{"r", "r", "none", "rw"}[rng.IntN(4)]
	// op returns an operation of kind k (0-9; -1: any) on the hot page or
	// a range holding it.
	other := false // op draws the companion of a hugetlb unshare
	op := func(k int) string {
		m := l.mms[rng.IntN(len(l.mms))]
		r := l.ranges[rng.IntN(len(l.ranges))]
		if rng.IntN(2) == 0 {
			r = [2]int{hot, max(1, l.unit)}
		}
		if k < 0 {
			k = rng.IntN(10)
		}
		if len(l.declare) > 0 && rng.IntN(4) != 0 {
			// Two mms share the page (a hugetlb PMD table): mm1, whose
			// translations the tasks cached, unshares; the other mm
			// migrates the page the table still maps for it, or, as
			// the companion of an unshare, frees the table.
			m = l.mms[0]
			if k == 0 || (other && (k == 2 || k == 6)) {
				m = l.mms[len(l.mms)-1]
			}
		}
		if other && len(l.declare) > 0 && k == 2 {
			r = l.ranges[len(l.ranges)-1] // the whole VMA: its last sharer frees the table
		}
		switch k {
		case 0:
			if remapped && rng.IntN(4) != 0 {
				return fmt.Sprintf("migrate %s %#x", m, moved) // the page where it went
			}
			return fmt.Sprintf("migrate %s %#x", m, hot)
		case 1:
			return fmt.Sprintf("madvise %s %#x+%d dontneed", m, r[0], r[1])
		case 2:
			return fmt.Sprintf("munmap %s %#x+%d", m, r[0], r[1])
		case 3:
			return fmt.Sprintf("mprotect %s %#x+%d %s", m, r[0], r[1], prot)
		case 4:
			remapped = true
			r = l.ranges[0]
			return fmt.Sprintf("mremap %s %#x+%d -> %#x", m, r[0], r[1], moved-hot+r[0])
		case 5:
			if l.forks && !forked {
				forked = true
				return "fork mm1 mm2"
			}
			return access(m, hot)
		case 6:
			return fmt.Sprintf("exit %s", m)
		case 8:
			return fmt.Sprintf("reclaim %s %#x", m, hot)
		default:
			if focus == "wp_page_copy" {
				return fmt.Sprintf("store mm1 %#x 77", hot) // a copy-on-write fault when forked
			}
			return access(m, hot) // a copy-on-write fault when forked
		}
	}
	focusOp := map[string]int{"try_to_migrate_one": 0, "madvise_dontneed_single_vma": 1, "do_vmi_align_munmap": 2, "do_mprotect_pkey": 3,
		"move_ptes": 4, "move_normal_pmd": 4, "move_huge_pmd": 4, "set_pmd_migration_entry": 0, "__split_huge_pmd_locked": 3, "dup_mmap": 5, "exit_mmap": 6, "wp_page_copy": 7,
		"try_to_unmap_flush": 8, "flush_tlb_batched_pending": []int{1, 2, 3, 4}[rng.IntN(4)],
		"__unmap_hugepage_range": []int{1, 2}[rng.IntN(2)], "hugetlb_change_protection": 3, "hugetlb_unshare_pmds": []int{2, 3}[rng.IntN(2)]}
	k, ok := focusOp[focus]
	if !ok || rng.IntN(4) == 0 {
		k = -1
	}
	m1 := l.mms[0]
	if rng.IntN(2) == 0 {
		fmt.Fprintf(&b, "t1: %s\n", access(m1, hot)) // t1 caches it too
	}
	fmt.Fprintf(&b, "t1: %s\n", op(k))
	if rng.IntN(3) == 0 {
		fmt.Fprintf(&b, "t1: %s\n", access(m1, hot))
	}
	for range 2 + rng.IntN(2) {
		a := hot
		if rng.IntN(5) == 0 {
			a = moved // after an mremap
		}
		if focus == "wp_page_copy" && rng.IntN(4) != 0 {
			fmt.Fprintf(&b, "t2: load %s %#x\n", m1, a) // a reader of the page t1 copies
			continue
		}
		fmt.Fprintf(&b, "t2: %s\n", access(m1, a))
	}
	if focus == "wp_page_copy" && len(l.mms) > 1 && rng.IntN(2) == 0 {
		// The child's side of the page: it reuses it once the parent has
		// copied it, or frees it.
		fmt.Fprintf(&b, "t3: store mm2 %#x %d\n", hot, 90)
		fmt.Fprintf(&b, "t3: %s\n", []string{fmt.Sprintf("store mm2 %#x 91", hot), fmt.Sprintf("munmap mm2 %#x+1", hot), "exit mm2"}[rng.IntN(3)])
		return parseTLB(b.String())
	}
	if c, ok := companions[focus]; ok && (focus == "try_to_unmap_flush" || focus == "flush_tlb_batched_pending" || len(l.files) > 0) && rng.IntN(4) != 0 {
		// A batch is a race of two operations: the companion always.
		other = len(l.declare) > 0 && (focus == "hugetlb_change_protection" || focus == "hugetlb_unshare_pmds")
		fmt.Fprintf(&b, "t3: %s\n", op(c[rng.IntN(len(c))]))
		return parseTLB(b.String())
	}
	switch rng.IntN(4) {
	case 0:
		fmt.Fprintf(&b, "t3: %s\n", access(l.mms[rng.IntN(len(l.mms))], hot))
		fmt.Fprintf(&b, "t3: %s\n", access(l.mms[rng.IntN(len(l.mms))], hot))
	case 1:
		if c, ok := companions[focus]; ok && rng.IntN(2) == 0 {
			fmt.Fprintf(&b, "t3: %s\n", op(c[rng.IntN(len(c))])) // one that relies on t1's flush
			break
		}
		fmt.Fprintf(&b, "t3: %s\n", op(k)) // the same operation again
	case 2:
		fmt.Fprintf(&b, "t3: %s\n", op(-1))
	default:
		fmt.Fprintf(&b, "t3: %s\n", access(m1, hot))
		fmt.Fprintf(&b, "t3: %s\n", op(-1))
	}
	if (forked || len(l.mms) > 1) && rng.IntN(2) == 0 {
		fmt.Fprintf(&b, "t3: %s\n", access("mm2", hot))
	}
	return parseTLB(b.String())
}

func parseTLB(text string) *kernelsim.Program {
	p, err := kernelsim.Parse("tlb", text)
	if err != nil {
		panic("mmrace internal error: the TLB program generator built an invalid program: " + err.Error() + "\n" + text)
	}
	return p
}

// isFlush reports whether a mutant is a TLB flush site's.
func isFlush(m *ksync.Mutant) bool { return m != nil && m.Class == ksync.FlushClass }
