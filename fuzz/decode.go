// Package fuzz turns fuzzer bytes into mmrace programs and schedules, and
// holds the fuzz targets (go test -fuzz=FuzzKernel ./fuzz).
//
// The byte layout is
//
//	data[0]         L, the length of the program part (capped to what is there)
//	data[1:1+L]     program choices, read one byte per decision
//	data[1+L:]      schedule decisions for sched.Bytes
//
// so a mutation of the schedule part changes the interleaving while the
// program stays, and any byte string decodes to a valid program: a choice
// past the end of its part answers 0.
//
// The decoder's templates are mmrace's one random program generator:
// go test -fuzz, mmrace stress, hunt and locks decode inputs (RandomInput,
// Mutate, MutateSchedule), and tests that want a random program of a given
// number of tasks take one from Generate.
package fuzz

import (
	"fmt"
	"strings"

	"mmrace/kernelsim"
)

// Decode splits data into a program and the schedule bytes.
func Decode(data []byte) (*kernelsim.Program, []byte) {
	if len(data) == 0 {
		return generate(&chooser{}, 0), nil
	}
	n := int(data[0])
	if n > len(data)-1 {
		n = len(data) - 1
	}
	return generate(&chooser{b: data[1 : 1+n]}, 0), data[1+n:]
}

// Encode joins program choices and schedule bytes into fuzz input.
func Encode(prog, sched []byte) []byte {
	if len(prog) > 255 {
		prog = prog[:255]
	}
	out := append([]byte{byte(len(prog))}, prog...)
	return append(out, sched...)
}

// chooser reads decisions from bytes; exhausted, it answers 0.
type chooser struct {
	b []byte
	i int
}

func (c *chooser) n(k int) int {
	if c.i >= len(c.b) || k <= 1 {
		c.i++
		return 0
	}
	v := int(c.b[c.i]) % k
	c.i++
	return v
}

func (c *chooser) pick(xs []int) int { return xs[c.biased(len(xs))] }

// biased chooses the first (the template's most race-prone) of k options
// for bytes below 0x80 and any of them otherwise.
func (c *chooser) biased(k int) int {
	if c.i >= len(c.b) || k <= 1 {
		c.i++
		return 0
	}
	b := c.b[c.i]
	c.i++
	if b < 0x80 {
		return 0
	}
	return int(b) % k
}

// template is an address space worth racing on, and the addresses and
// ranges its ops should aim at.
type template struct {
	name   string
	setup  []string
	addrs  []int    // pages that are mapped (targets of faults, loads, stores, migrations)
	ranges [][2]int // [start, len] ranges (sources of mremap, munmap, mprotect, madvise)
	dests  []int    // mremap destinations (and faults aimed where a move lands)
	mms    []string
	hot    []string // the ops whose race the template is for, task by task ("a; b": two ops of the task)
	// extra are ops only this template has a use for ("a; b": two ops of
	// a task), drawn now and then instead of the general ones (the THP
	// templates: collapse, split, whole-THP ranges).
	extra []string
	// files are file lines of the template's own ("NAME PAGES [hugetlb]
	// [uprobe@PGOFF]"), beside file1; declare are mms that exist from the
	// start beside mm1 (not forked).
	files   []string
	declare []string
	// hugepages, when not 0, makes the huge page pool that small
	// ("hugepages N"), so that a reservation consumed twice leaves a
	// reserved fault without a page.
	hugepages int
}

// templates are the address spaces programs start from. Together they put
// every kernel path the model has next to every other one it can race
// with (the reach matrix of mmrace stress -reach shows how well): anon and
// file mappings, faulted and not, forked three levels deep, split, moved
// away so that a move back merges into the VMA before or after, whole page
// tables, read-only PTEs a write reuses, a VMA object freed and reused by
// another mm, exec's temporary stack.
var templates = []template{
	{name: "a faulted anonymous range",
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x11 2", "store mm1 0x15 3", "store mm1 0x16 4"},
		addrs:  []int{0x10, 0x11, 0x15, 0x16},
		ranges: [][2]int{{0x10, 8}, {0x14, 4}, {0x10, 4}, {0x15, 2}},
		dests:  []int{0x20, 0x30, 0x26, 0x18},
		mms:    []string{"mm1"},
		// t3 caches the translation of the page t2 migrates at its new
		// address (CVE-2018-18281 needs a thread with the old one), then
		// faults the untouched 0x14 that the move carries.
		hot: []string{"mremap mm1 0x14+4 -> 0x26", "migrate mm1 0x15", "load mm1 0x15; load mm1 0x14"},
	},
	{name: "the upper half moved away, so that moving it back merges into prev",
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x11 2", "store mm1 0x15 3", "mremap mm1 0x14+4 -> 0x20"},
		addrs:  []int{0x21, 0x10, 0x11, 0x15},
		ranges: [][2]int{{0x20, 4}, {0x10, 4}, {0x21, 2}},
		dests:  []int{0x14, 0x30, 0x24},
		mms:    []string{"mm1"},
		hot:    []string{"mremap mm1 0x20+4 -> 0x14", "migrate mm1 0x21", "load mm1 0x15"},
	},
	{name: "split by mprotect",
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x14 2", "store mm1 0x17 3", "mprotect mm1 0x13+2 r"},
		addrs:  []int{0x10, 0x14, 0x17, 0x13},
		ranges: [][2]int{{0x13, 2}, {0x10, 8}, {0x15, 3}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1"},
		hot:    []string{"mprotect mm1 0x13+2 rw", "migrate mm1 0x14", "fault mm1 0x13 write"},
	},
	{name: "a fork: pages shared copy-on-write",
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x15 2", "fork mm1 mm2"},
		addrs:  []int{0x10, 0x15, 0x11},
		ranges: [][2]int{{0x10, 4}, {0x14, 4}, {0x10, 8}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"munmap mm1 0x10+4", "migrate mm2 0x10", "store mm1 0x15 9"},
	},
	{name: "a fork whose child moved part of its copy away",
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x15 2", "fork mm1 mm2", "mremap mm2 0x14+4 -> 0x20"},
		addrs:  []int{0x15, 0x10, 0x21},
		ranges: [][2]int{{0x20, 4}, {0x10, 4}},
		dests:  []int{0x14, 0x30},
		mms:    []string{"mm2", "mm1"},
		hot:    []string{"mremap mm2 0x20+4 -> 0x14", "migrate mm1 0x15", "load mm2 0x15"},
	},
	{name: "whole page tables: an aligned table moved away, next to a table not populated yet",
		setup: []string{"mmap mm1 0x8+16 anon rw", "store mm1 0x8 1", "store mm1 0x10 2", "store mm1 0x11 3", "mremap mm1 0x10+8 -> 0x28",
			"mmap mm1 0x38+8 anon rw"},
		addrs:  []int{0x29, 0x8, 0x28, 0x3a},
		ranges: [][2]int{{0x28, 8}, {0x8, 8}, {0x38, 8}},
		dests:  []int{0x10, 0x48},
		mms:    []string{"mm1"},
		hot:    []string{"mremap mm1 0x28+8 -> 0x10", "migrate mm1 0x29", "fault mm1 0x3a write"},
	},
	{name: "file mappings, shared and private",
		setup:  []string{"mmap mm1 0x10+4 file1@0x0 shared rw", "mmap mm1 0x18+4 file1@0x0 private rw", "store mm1 0x10 1", "load mm1 0x19"},
		addrs:  []int{0x10, 0x11, 0x18, 0x19},
		ranges: [][2]int{{0x10, 4}, {0x18, 4}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1"},
		hot:    []string{"munmap mm1 0x10+4", "migrate mm1 0x18", "madvise mm1 0x18+4 dontneed"},
	},
	{name: "neighbouring VMAs with different protections, not faulted alike",
		setup:  []string{"mmap mm1 0x10+4 anon r", "mmap mm1 0x14+4 anon rw", "store mm1 0x14 2"},
		addrs:  []int{0x16, 0x14, 0x10},
		ranges: [][2]int{{0x14, 4}, {0x10, 4}},
		dests:  []int{0x30, 0x20},
		mms:    []string{"mm1"},
		hot:    []string{"fault mm1 0x16 write", "mremap mm1 0x14+4 -> 0x30 dontunmap", "munmap mm1 0x10+4"},
	},
	{name: "nothing faulted yet: two first touches of one page prepare anon_vmas",
		setup:  []string{"mmap mm1 0x10+4 anon rw"},
		addrs:  []int{0x10, 0x12},
		ranges: [][2]int{{0x12, 2}, {0x10, 4}},
		dests:  []int{0x20, 0x14},
		mms:    []string{"mm1"},
		hot:    []string{"fault mm1 0x10 write", "store mm1 0x10 5", "mprotect mm1 0x12+2 r"},
	},
	{name: "exec: the temporary stack relocated while its pages migrate",
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1"},
		addrs:  []int{0x10},
		ranges: [][2]int{{0x10, 4}},
		dests:  []int{0x20},
		mms:    []string{"mm1"},
		hot:    []string{"exec mmx 0x30+2 shift 8", "migrate mmx 0x30", "load mmx 0x28"},
	},
	{name: "a fork tree three levels deep sharing pages",
		setup: []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x14 2", "fork mm1 mm2", "store mm2 0x11 3",
			"fork mm2 mm3", "store mm3 0x15 4"},
		addrs:  []int{0x10, 0x14, 0x11, 0x15},
		ranges: [][2]int{{0x12, 2}, {0x10, 4}, {0x14, 4}, {0x10, 8}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm2", "mm3", "mm1"},
		hot:    []string{"migrate mm1 0x10", "fork mm2 mm4", "fork mm3 mm9"},
	},
	{name: "a fork tree three levels deep, split in the middle while its pages migrate",
		setup: []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x14 2", "fork mm1 mm2", "store mm2 0x11 3",
			"fork mm2 mm3", "store mm3 0x15 4"},
		addrs:  []int{0x14, 0x10, 0x15, 0x11},
		ranges: [][2]int{{0x12, 2}, {0x13, 3}, {0x10, 4}, {0x14, 4}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm3", "mm2", "mm1"},
		hot:    []string{"migrate mm2 0x14", "munmap mm3 0x12+2", "mprotect mm1 0x13+3 r"},
	},
	{name: "a private file mapping of a whole page table, faulted and written",
		setup:  []string{"mmap mm1 0x10+8 file1@0x0 private rw", "load mm1 0x10", "load mm1 0x13", "store mm1 0x15 5"},
		addrs:  []int{0x13, 0x10, 0x15, 0x11},
		ranges: [][2]int{{0x10, 8}, {0x12, 4}, {0x10, 4}},
		dests:  []int{0x28, 0x30, 0x20},
		mms:    []string{"mm1"},
		hot:    []string{"mremap mm1 0x10+8 -> 0x28", "migrate mm1 0x13", "load mm1 0x11"},
	},
	{name: "a shared file mapping whose upper half moved away, so that moving it back merges into prev",
		setup:  []string{"mmap mm1 0x10+8 file1@0x0 shared rw", "load mm1 0x11", "store mm1 0x15 6", "mremap mm1 0x14+4 -> 0x20"},
		addrs:  []int{0x21, 0x11, 0x10, 0x22},
		ranges: [][2]int{{0x20, 4}, {0x10, 4}, {0x21, 2}},
		dests:  []int{0x14, 0x30},
		mms:    []string{"mm1"},
		hot:    []string{"mremap mm1 0x20+4 -> 0x14", "migrate mm1 0x21", "load mm1 0x15"},
	},
	{name: "a middle part moved away and the part before it unmapped, so that moving it back merges into next",
		setup: []string{"mmap mm1 0x10+12 anon rw", "store mm1 0x14 1", "store mm1 0x15 2", "store mm1 0x18 3", "mremap mm1 0x14+4 -> 0x30",
			"munmap mm1 0x10+4"},
		addrs:  []int{0x31, 0x30, 0x18, 0x19},
		ranges: [][2]int{{0x30, 4}, {0x18, 4}, {0x31, 2}},
		dests:  []int{0x14, 0x24},
		mms:    []string{"mm1"},
		hot:    []string{"mremap mm1 0x30+4 -> 0x14", "migrate mm1 0x31", "load mm1 0x15"},
	},
	{name: "a shared file mapping whose middle moves back into the VMA after it",
		setup: []string{"mmap mm1 0x10+12 file1@0x0 shared rw", "load mm1 0x11", "load mm1 0x14", "store mm1 0x18 7", "mremap mm1 0x14+4 -> 0x30",
			"munmap mm1 0x10+4"},
		addrs:  []int{0x30, 0x31, 0x18, 0x1a},
		ranges: [][2]int{{0x30, 4}, {0x18, 4}, {0x30, 2}},
		dests:  []int{0x14, 0x24},
		mms:    []string{"mm1"},
		hot:    []string{"mremap mm1 0x30+4 -> 0x14", "migrate mm1 0x30", "fault mm1 0x31 write"},
	},
	{name: "a child whose parent exited: its pages are mapped once but read-only, so a write reuses them",
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1", "store mm1 0x11 2", "fork mm1 mm2", "exit mm1"},
		addrs:  []int{0x10, 0x11},
		ranges: [][2]int{{0x10, 4}, {0x10, 2}, {0x11, 2}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm2"},
		hot:    []string{"store mm2 0x10 7", "migrate mm2 0x10", "reclaim mm2 0x11"},
	},
	{name: "read-only PTEs of private pages in a writable VMA (mprotect r, then rw)",
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x11 2", "store mm1 0x14 3", "mprotect mm1 0x10+8 r", "mprotect mm1 0x10+8 rw"},
		addrs:  []int{0x10, 0x11, 0x14},
		ranges: [][2]int{{0x10, 4}, {0x10, 8}, {0x11, 2}},
		dests:  []int{0x20, 0x28},
		mms:    []string{"mm1"},
		hot:    []string{"store mm1 0x10 7", "mremap mm1 0x10+4 -> 0x20", "migrate mm1 0x10"},
	},
	{name: "two mms: one unmaps a VMA the other maps again at once (the object is reused)",
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1", "fork mm1 mm2", "munmap mm2 0x10+4"},
		addrs:  []int{0x11, 0x10},
		ranges: [][2]int{{0x10, 4}, {0x10, 2}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"fault mm1 0x11 write", "munmap mm1 0x10+4; mmap mm2 0x10+4 anon rw", "load mm2 0x10"},
	},
	{name: "one file page first touched through two mappings at once",
		setup:  []string{"mmap mm1 0x10+4 file1@0x4 shared rw", "mmap mm1 0x18+4 file1@0x4 private rw"},
		addrs:  []int{0x10, 0x18, 0x11, 0x19},
		ranges: [][2]int{{0x10, 4}, {0x18, 4}, {0x11, 2}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1"},
		hot:    []string{"store mm1 0x10 5", "fault mm1 0x18 write", "load mm1 0x10"},
	},
	{name: "a shared file mapped by two processes (a fork), both moving a whole page table (move_normal_pmd takes the rmap locks)",
		setup:  []string{"mmap mm1 0x10+8 file1@0x0 shared rw", "load mm1 0x11", "store mm1 0x14 3", "fork mm1 mm2"},
		addrs:  []int{0x11, 0x14, 0x29},
		ranges: [][2]int{{0x10, 8}, {0x12, 2}},
		dests:  []int{0x28, 0x48},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"mremap mm1 0x10+8 -> 0x28", "mremap mm2 0x10+8 -> 0x28", "migrate mm1 0x11"},
	},
	{name: "a shared file mapped by two processes (a fork), both changing their layouts",
		setup:  []string{"mmap mm1 0x10+8 file1@0x0 shared rw", "load mm1 0x11", "store mm1 0x14 3", "fork mm1 mm2"},
		addrs:  []int{0x11, 0x14, 0x12, 0x16},
		ranges: [][2]int{{0x10, 8}, {0x12, 2}, {0x14, 4}},
		dests:  []int{0x28, 0x48, 0x30},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"mremap mm1 0x10+8 -> 0x28", "munmap mm2 0x12+2", "fork mm2 mm4"},
	},
	{name: "two processes sharing anon pages, both changing their layouts",
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x14 2", "fork mm1 mm2", "store mm2 0x11 3"},
		addrs:  []int{0x10, 0x14, 0x11, 0x15},
		ranges: [][2]int{{0x14, 4}, {0x10, 8}, {0x12, 2}},
		dests:  []int{0x30, 0x48, 0x20},
		mms:    []string{"mm2", "mm1"},
		hot:    []string{"mremap mm1 0x14+4 -> 0x30", "mremap mm2 0x10+8 -> 0x48", "munmap mm2 0x12+2"},
	},
	{name: "pages swapped out after a fork, one swapped in again",
		setup: []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1", "store mm1 0x11 2", "fork mm1 mm2", "reclaim mm1 0x10",
			"reclaim mm1 0x11", "load mm1 0x11"},
		addrs:  []int{0x10, 0x11},
		ranges: [][2]int{{0x10, 4}, {0x10, 2}, {0x11, 1}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm2", "mm1"},
		hot:    []string{"load mm2 0x10", "load mm2 0x10", "store mm1 0x10 7"},
	},
	{name: "a faulted VMA moved away, an untouched one mapped before its old place: moving it back merges and hands the untouched one its anon_vma",
		setup: []string{"mmap mm1 0x14+8 anon rw", "store mm1 0x15 1", "mremap mm1 0x14+8 -> 0x30", "mmap mm1 0x10+4 anon rw",
			"fork mm1 mm2"},
		addrs:  []int{0x31, 0x30, 0x10, 0x15},
		ranges: [][2]int{{0x30, 8}, {0x10, 4}},
		dests:  []int{0x14, 0x48},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"mremap mm1 0x30+8 -> 0x14", "mremap mm2 0x30+8 -> 0x48", "migrate mm2 0x31"},
	},
	{name: "a long move across three page tables whose last allocation may fail, so that a wide prefix is moved back (the revert)",
		setup: []string{"mmap mm1 0x10+16 anon rw", "store mm1 0x14 1", "store mm1 0x15 2", "store mm1 0x16 3", "store mm1 0x18 4",
			"store mm1 0x19 5", "store mm1 0x1b 6", "store mm1 0x1e 7"},
		addrs:  []int{0x26, 0x14, 0x2a, 0x18},
		ranges: [][2]int{{0x14, 12}, {0x14, 4}, {0x18, 8}},
		dests:  []int{0x26, 0x36},
		mms:    []string{"mm1"},
		hot:    []string{"mremap mm1 0x14+12 -> 0x26", "migrate mm1 0x26", "migrate mm1 0x27"},
		extra:  []string{"migrate mm1 0x26", "migrate mm1 0x27", "mremap mm1 0x14+12 -> 0x26", "load mm1 0x14"},
	},
	{name: "one page table shared by a shared file VMA, a private one of the same pages and an anon VMA with a swapped page",
		setup: []string{"mmap mm1 0x10+2 file1@0x0 shared rw", "mmap mm1 0x12+2 file1@0x0 private rw", "mmap mm1 0x14+4 anon rw",
			"store mm1 0x14 1", "store mm1 0x15 2", "reclaim mm1 0x15", "load mm1 0x10"},
		addrs:  []int{0x10, 0x13, 0x15, 0x16, 0x11, 0x14},
		ranges: [][2]int{{0x10, 8}, {0x12, 2}, {0x14, 4}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1"},
		hot:    []string{"store mm1 0x11 5", "fault mm1 0x13 write", "store mm1 0x15 9"},
	},
	{name: "untouched VMAs around a read-only one that has an anon_vma: two first writes share it",
		setup: []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1", "mprotect mm1 0x10+4 r", "mmap mm1 0x14+4 anon rw",
			"mmap mm1 0xc+4 anon rw"},
		addrs:  []int{0x14, 0xc, 0x10, 0x15},
		ranges: [][2]int{{0x14, 4}, {0xc, 4}, {0x10, 4}},
		dests:  []int{0x30, 0x48},
		mms:    []string{"mm1"},
		hot:    []string{"fault mm1 0x14 write", "fault mm1 0xc write", "mremap mm1 0x10+4 -> 0x30"},
	},
	{name: "two processes with split VMAs: restoring the protection merges in one while the other moves pages back",
		setup: []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x14 2", "fork mm1 mm2", "mprotect mm1 0x12+2 r",
			"mremap mm2 0x14+2 -> 0x20"},
		addrs:  []int{0x10, 0x14, 0x21, 0x12},
		ranges: [][2]int{{0x12, 2}, {0x20, 2}, {0x14, 4}},
		dests:  []int{0x14, 0x30},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"mprotect mm1 0x12+2 rw", "mremap mm2 0x20+2 -> 0x14", "mremap mm1 0x14+4 -> 0x30 dontunmap"},
	},
	{name: "a VMA object freed by one mm and reused by another's fork or exec, under a fault's lockless lookup",
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1", "fork mm1 mm2", "munmap mm2 0x10+4", "mmap mm2 0x30+2 anon rw", "mmap mm2 0x34+2 anon r", "mmap mm2 0x38+2 file1@0x0 shared rw"},
		addrs:  []int{0x11, 0x10},
		ranges: [][2]int{{0x10, 4}, {0x30, 2}},
		dests:  []int{0x20, 0x38},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"fault mm1 0x11 write", "munmap mm1 0x10+4; fork mm2 mm4", "load mm1 0x10"},
	},
	{name: "a VMA object freed by one mm and reused by another, which exits (free_pgtables), under a fault's lockless lookup",
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1", "fork mm1 mm2", "munmap mm2 0x10+4", "mmap mm2 0x30+2 anon rw", "mmap mm2 0x34+2 anon r", "store mm2 0x30 3"},
		addrs:  []int{0x11, 0x10},
		ranges: [][2]int{{0x10, 4}, {0x30, 2}},
		dests:  []int{0x20, 0x38},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"fault mm1 0x11 write", "munmap mm1 0x10+4; mmap mm2 0x10+4 anon rw; exit mm2", "load mm2 0x30"},
	},
	{name: "a VMA object freed by one mm and reused by exec's stack, under a fault's lockless lookup",
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1"},
		addrs:  []int{0x11, 0x10},
		ranges: [][2]int{{0x10, 4}},
		dests:  []int{0x20},
		mms:    []string{"mm1"},
		hot:    []string{"fault mm1 0x11 write", "munmap mm1 0x10+4; exec mmx 0x30+2 shift 8", "load mmx 0x28"},
	},
	{name: "a VMA object freed by one mm and reused by the stack of an exec that does not shift it, under a fault's lockless lookup",
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1"},
		addrs:  []int{0x11, 0x10},
		ranges: [][2]int{{0x10, 4}},
		dests:  []int{0x20},
		mms:    []string{"mm1"},
		hot:    []string{"fault mm1 0x11 write", "munmap mm1 0x10+4; exec mmx 0x30+2 shift 0", "load mmx 0x30"},
	},
	{name: "a forked anon_vma root: the parent merges its untouched VMA with a written one (dup_anon_vma) while the child splits and merges its copy (anon_vma_merge)",
		setup:  []string{"mmap mm1 0x14+4 anon rw", "store mm1 0x14 1", "mprotect mm1 0x14+4 r", "mmap mm1 0x10+4 anon rw", "fork mm1 mm2"},
		addrs:  []int{0x14, 0x10, 0x15},
		ranges: [][2]int{{0x14, 4}, {0x14, 2}, {0x10, 8}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"mprotect mm1 0x14+4 rw", "mprotect mm2 0x14+2 rw; mprotect mm2 0x14+2 r", "migrate mm1 0x14"},
	},
	{name: "a private file page migrating while its table's next page is first written (do_cow_fault)",
		setup:  []string{"mmap mm1 0x10+4 file1@0x0 private rw", "load mm1 0x10"},
		addrs:  []int{0x10, 0x11, 0x12},
		ranges: [][2]int{{0x10, 4}, {0x11, 2}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1"},
		hot:    []string{"migrate mm1 0x10", "load mm1 0x10", "store mm1 0x11 5"},
	},
	{name: "two processes of a fork each moving a whole VMA away with MREMAP_DONTUNMAP",
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1", "store mm1 0x12 2", "fork mm1 mm2"},
		addrs:  []int{0x10, 0x12, 0x30},
		ranges: [][2]int{{0x10, 4}, {0x30, 4}},
		dests:  []int{0x30, 0x20},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"mremap mm1 0x10+4 -> 0x30 dontunmap", "mremap mm2 0x10+4 -> 0x30 dontunmap", "migrate mm1 0x10"},
	},
	{name: "a COW-shared page migrating while both processes touch it (a write may reuse it once the other mapping became a migration entry)",
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1", "fork mm1 mm2"},
		addrs:  []int{0x10, 0x11},
		ranges: [][2]int{{0x10, 4}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm2", "mm1"},
		hot:    []string{"migrate mm1 0x10", "store mm2 0x10 5", "load mm1 0x10"},
	},
	{name: "a page-cache page migrating while faulted through a shared and a private mapping",
		setup:  []string{"mmap mm1 0x10+4 file1@0x0 shared rw", "load mm1 0x10", "mmap mm1 0x18+4 file1@0x0 private rw"},
		addrs:  []int{0x10, 0x18, 0x11},
		ranges: [][2]int{{0x10, 4}, {0x18, 4}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1"},
		hot:    []string{"migrate mm1 0x10", "load mm1 0x10", "fault mm1 0x18 write"},
	},
	{name: "a swapped page shared by a fork, swapped in by one and migrating",
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1", "fork mm1 mm2", "reclaim mm1 0x10", "load mm1 0x10"},
		addrs:  []int{0x10, 0x11},
		ranges: [][2]int{{0x10, 4}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"migrate mm1 0x10", "load mm2 0x10", "load mm1 0x10"},
	},
	{name: "a page table shared by an anon VMA and a shared file VMA while the process forks",
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1", "mmap mm1 0x14+4 file1@0x4 shared rw", "load mm1 0x14"},
		addrs:  []int{0x15, 0x10, 0x11, 0x14},
		ranges: [][2]int{{0x10, 4}, {0x14, 4}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1"},
		hot:    []string{"fork mm1 mm2", "store mm1 0x15 5", "fault mm1 0x11 write"},
	},
	{name: "a shared file mapping of whole page tables: the upper table moved away, so that moving it back merges into prev",
		setup:  []string{"mmap mm1 0x8+16 file1@0x0 shared rw", "load mm1 0x8", "load mm1 0x10", "store mm1 0x11 4", "mremap mm1 0x10+8 -> 0x28"},
		addrs:  []int{0x29, 0x28, 0x8, 0x11},
		ranges: [][2]int{{0x28, 8}, {0x8, 8}},
		dests:  []int{0x10, 0x48},
		mms:    []string{"mm1"},
		hot:    []string{"mremap mm1 0x28+8 -> 0x10", "migrate mm1 0x29", "load mm1 0x11"},
	},
	{name: "a COW-shared page written twice at once by one process",
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1", "store mm1 0x11 2", "fork mm1 mm2"},
		addrs:  []int{0x10, 0x11},
		ranges: [][2]int{{0x10, 4}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm2", "mm1"},
		hot:    []string{"store mm2 0x10 5", "store mm2 0x10 6", "migrate mm1 0x10"},
	},
	{name: "MADV_DONTNEED under the per-VMA lock, racing faults",
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x11 2", "store mm1 0x12 3"},
		addrs:  []int{0x11, 0x10, 0x12},
		ranges: [][2]int{{0x10, 4}, {0x10, 8}, {0x11, 2}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1"},
		hot:    []string{"madvise mm1 0x10+4 dontneed", "store mm1 0x11 9", "migrate mm1 0x12"},
	},
	{name: "a THP mapped by a PMD leaf: moved off its alignment, split, zapped, shared by fork",
		setup:  []string{"mmap mm1 0x10+8 anon rw thp", "store mm1 0x10 1", "store mm1 0x13 4"},
		addrs:  []int{0x10, 0x13, 0x24, 0x25},
		ranges: [][2]int{{0x10, 8}, {0x24, 8}, {0x10, 4}, {0x14, 4}},
		dests:  []int{0x30, 0x24, 0x21, 0x28},
		mms:    []string{"mm1"},
		hot:    []string{"mremap mm1 0x10+8 -> 0x30", "split mm1 0x10", "madvise mm1 0x10+4 dontneed"},
		extra: []string{"munmap mm1 0x10+8", "migrate mm1 0x10", "store mm1 0x11 5", "mprotect mm1 0x10+8 r",
			"split mm1 0x10", "mremap mm1 0x10+8 -> 0x24 dontunmap"},
	},
	{name: "a THP mapped by PTEs after fork and exit: one page reused writable, the others read-only",
		setup: []string{"mmap mm1 0x10+8 anon rw thp", "store mm1 0x10 1", "fork mm1 mm2", "exit mm2",
			"munmap mm1 0x17+1", "store mm1 0x10 5"},
		addrs:  []int{0x11, 0x12, 0x10, 0x21},
		ranges: [][2]int{{0x13, 4}, {0x10, 7}, {0x10, 4}},
		dests:  []int{0x30, 0x21, 0x24},
		mms:    []string{"mm1"},
		hot:    []string{"migrate mm1 0x11", "store mm1 0x12 6", "load mm1 0x13"},
		extra: []string{"split mm1 0x11", "madvise mm1 0x10+4 dontneed", "migrate mm1 0x12", "mremap mm1 0x10+4 -> 0x30",
			"mremap mm1 0x10+7 -> 0x21"},
	},
	{name: "a THP shared with a child, which faulted a THP of its own at the same address; the parent's moved away",
		setup: []string{"mmap mm1 0x10+8 anon rw thp", "store mm1 0x10 1", "fork mm1 mm2", "madvise mm2 0x10+8 dontneed", "store mm2 0x10 2",
			"mremap mm1 0x10+8 -> 0x30"},
		addrs:  []int{0x10, 0x30, 0x11, 0x31},
		ranges: [][2]int{{0x10, 8}, {0x30, 8}, {0x10, 4}},
		dests:  []int{0x20, 0x24},
		mms:    []string{"mm2", "mm1"},
		hot:    []string{"migrate mm2 0x10", "split mm1 0x30", "load mm2 0x11"},
		extra:  []string{"split mm1 0x30", "migrate mm2 0x10", "split mm2 0x10"},
	},
	{name: "a shared file mapping of a whole THP's range, its page table emptied: khugepaged collapses it and retracts the table",
		setup:  []string{"mmap mm1 0x10+8 file1@0x0 shared rw thp", "store mm1 0x10 1", "madvise mm1 0x10+1 dontneed"},
		addrs:  []int{0x10, 0x13, 0x11},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}},
		dests:  []int{0x30, 0x38, 0x28},
		mms:    []string{"mm1"},
		hot:    []string{"collapse mm1 0x10", "mremap mm1 0x10+8 -> 0x30", "madvise mm1 0x10+8 dontneed"},
		extra:  []string{"collapse mm1 0x10", "munmap mm1 0x10+8", "store mm1 0x11 5", "migrate mm1 0x10", "exit mm1"},
	},
	{name: "a whole PTE table of anonymous pages: MADV_DONTNEED frees the table (PT reclaim) while faults refill it",
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x11 2", "store mm1 0x12 3"},
		addrs:  []int{0x10, 0x13, 0x11, 0x12},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}},
		dests:  []int{0x30, 0x20},
		mms:    []string{"mm1"},
		hot:    []string{"madvise mm1 0x10+8 dontneed", "store mm1 0x10 9", "store mm1 0x13 4"},
		extra:  []string{"madvise mm1 0x10+8 dontneed", "migrate mm1 0x11", "mremap mm1 0x10+8 -> 0x30", "reclaim mm1 0x12"},
	},
	{name: "small anonymous pages in a THP range (faulted while mprotect split the VMA, merged again): khugepaged collapses them",
		setup: []string{"mmap mm1 0x10+8 anon rw thp", "mprotect mm1 0x10+1 r", "store mm1 0x11 2", "store mm1 0x12 3",
			"mprotect mm1 0x10+1 rw"},
		addrs:  []int{0x11, 0x12, 0x13, 0x10},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}, {0x12, 2}},
		dests:  []int{0x30, 0x20},
		mms:    []string{"mm1"},
		hot:    []string{"collapse mm1 0x10", "store mm1 0x13 5", "migrate mm1 0x11"},
		extra: []string{"collapse mm1 0x10", "madvise mm1 0x10+8 dontneed", "madvise mm1 0x10+4 dontneed", "mremap mm1 0x10+8 -> 0x30",
			"store mm1 0x11 7"},
	},
	{name: "a THP shared copy-on-write by a fork: both write it, one splits or moves it",
		setup:  []string{"mmap mm1 0x10+8 anon rw thp", "store mm1 0x10 1", "fork mm1 mm2"},
		addrs:  []int{0x11, 0x10, 0x12},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}},
		dests:  []int{0x30, 0x24},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"store mm1 0x11 5", "store mm2 0x12 6", "migrate mm1 0x10"},
		extra:  []string{"split mm2 0x10", "munmap mm2 0x10+8", "madvise mm1 0x10+4 dontneed", "mremap mm2 0x10+8 -> 0x30"},
	},
	{name: "written pages reclaimed, their TLB flushes batched for after the walk, while a small range around them is made read-only, unmapped or advised away",
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1", "mmap mm1 0x18+4 file1@0x0 shared rw", "store mm1 0x18 2"},
		addrs:  []int{0x10, 0x18, 0x11},
		ranges: [][2]int{{0x10, 2}, {0x18, 2}, {0x10, 1}, {0x10, 4}},
		dests:  []int{0x30, 0x20},
		mms:    []string{"mm1"},
		hot:    []string{"reclaim mm1 0x10", "store mm1 0x10 6; mprotect mm1 0x10+2 r", "reclaim mm1 0x18"},
		extra: []string{"mprotect mm1 0x10+1 r", "munmap mm1 0x10+2", "madvise mm1 0x10+2 dontneed", "mremap mm1 0x10+2 -> 0x30",
			"mprotect mm1 0x18+2 r", "madvise mm1 0x18+1 dontneed", "reclaim mm1 0x10", "reclaim mm1 0x18"},
	},
	{name: "a shared file THP range whose empty page tables another mm (a fork) moves whole (move_normal_pmd) while khugepaged collapses the file and retracts every mm's table",
		setup: []string{"mmap mm1 0x10+8 file1@0x0 shared rw thp", "store mm1 0x10 1", "madvise mm1 0x10+1 dontneed", "fork mm1 mm2",
			"load mm2 0x11", "madvise mm2 0x11+1 dontneed"},
		addrs:  []int{0x11, 0x10, 0x14},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}},
		dests:  []int{0x30, 0x28, 0x38},
		mms:    []string{"mm2", "mm1"},
		hot:    []string{"collapse mm1 0x10", "mremap mm2 0x10+8 -> 0x30", "madvise mm2 0x10+8 dontneed"},
		extra: []string{"collapse mm1 0x10", "madvise mm2 0x10+8 dontneed", "mremap mm2 0x10+8 -> 0x28", "mremap mm1 0x10+8 -> 0x30",
			"munmap mm2 0x10+8", "collapse mm2 0x10"},
	},
	{name: "a shared file THP range whose empty page tables another mm (a fork) frees (MADV_DONTNEED, PT reclaim) or moves while khugepaged collapses the file and retracts every mm's table",
		setup: []string{"mmap mm1 0x10+8 file1@0x0 shared rw thp", "store mm1 0x10 1", "madvise mm1 0x10+1 dontneed", "fork mm1 mm2",
			"load mm2 0x11", "madvise mm2 0x11+1 dontneed"},
		addrs:  []int{0x11, 0x10, 0x14},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}},
		dests:  []int{0x30, 0x28, 0x38},
		mms:    []string{"mm2", "mm1"},
		hot:    []string{"collapse mm1 0x10", "madvise mm2 0x10+8 dontneed", "mremap mm2 0x10+8 -> 0x30"},
		extra: []string{"collapse mm1 0x10", "madvise mm1 0x10+8 dontneed", "store mm2 0x12 5", "store mm1 0x13 6",
			"collapse mm2 0x10"},
	},
	{name: "two faults' lockless lookups of a VMA that is unmapped, its object reused at once by another mm's mmap of the same range",
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1", "fork mm1 mm2", "munmap mm2 0x10+4"},
		addrs:  []int{0x12, 0x10, 0x11},
		ranges: [][2]int{{0x10, 4}, {0x10, 2}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"store mm1 0x12 5", "munmap mm1 0x10+4; mmap mm2 0x10+4 anon rw", "fault mm1 0x11 read"},
		extra:  []string{"munmap mm1 0x10+4", "mmap mm2 0x10+4 anon rw", "mmap mm2 0x10+4 file1@0x0 shared rw", "fault mm1 0x13 write"},
	},
	{name: "a THP moved off its alignment, across a page-table boundary (its PTEs then lie in two tables), while its new range is zapped",
		setup:  []string{"mmap mm1 0x10+8 anon rw thp", "store mm1 0x10 1"},
		addrs:  []int{0x24, 0x10, 0x28, 0x2b},
		ranges: [][2]int{{0x24, 8}, {0x26, 4}, {0x10, 8}, {0x28, 4}},
		dests:  []int{0x24, 0x30, 0x3c},
		mms:    []string{"mm1"},
		hot:    []string{"madvise mm1 0x24+8 dontneed", "migrate mm1 0x10", "munmap mm1 0x26+4"},
		extra: []string{"munmap mm1 0x24+8", "mremap mm1 0x10+8 -> 0x24", "madvise mm1 0x26+4 dontneed", "split mm1 0x10",
			"mremap mm1 0x10+8 -> 0x24"},
	},
	// hugetlb (issue 15): a PMD table of a hugetlbfs file shared by two
	// mms (huge_pmd_share), unshared by a zap, an mprotect, a munmap or a
	// migration while the other mm faults and walks it.
	{name: "a hugetlb PMD table shared by two mms: faults, zaps, mprotect and migrations unshare it",
		files:   []string{"h 64 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+64 h@0x0 shared rw", "store mm1 0x48 1", "store mm1 0x50 2", "mmap mm2 0x40+64 h@0x0 shared rw", "load mm2 0x48"},
		addrs:   []int{0x58, 0x48, 0x50, 0x40, 0x60},
		ranges:  [][2]int{{0x48, 8}, {0x40, 64}, {0x50, 16}, {0x40, 16}},
		dests:   []int{0x90},
		mms:     []string{"mm1", "mm2"},
		// A fault of mm1 in the shared table (0x58 is not faulted yet) while
		// mm1's own zap unshares it (D.8), and a migration walking it
		// from mm2.
		hot: []string{"store mm1 0x58 9", "madvise mm1 0x48+8 dontneed", "migrate mm2 0x48"},
		extra: []string{"mprotect mm2 0x40+64 r", "munmap mm1 0x40+16", "fork mm1 {child}; store {child} 0x48 5", "fork mm2 {child}", "fork mm1 {child}",
			"madvise mm2 0x48+8 random"},
	},
	// Case B of the 2022 argument: uprobes' __replace_page walks a VMA of
	// a file with a probe; on a hugetlbfs file valid_vma refuses it.
	{name: "case B: a uprobe on a hugetlbfs file, mapped while a migration unshares",
		files:   []string{"h 128 hugetlb uprobe@0x48"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm2 0x80+64 h@0x40 shared rw", "store mm2 0x80 1", "store mm2 0x88 2"},
		addrs:   []int{0x80, 0x88, 0x48},
		ranges:  [][2]int{{0x80, 8}, {0x40, 128}},
		dests:   []int{0x100},
		mms:     []string{"mm2", "mm1"},
		hot:     []string{"mmap mm1 0x40+128 h@0x0 shared rw", "migrate mm2 0x80", "load mm1 0x88"},
	},
	{name: "fork of a shared hugetlb mapping",
		files:  []string{"h 64 hugetlb"},
		setup:  []string{"mmap mm1 0x40+64 h@0x0 shared rw", "store mm1 0x48 5"},
		addrs:  []int{0x48, 0x40},
		ranges: [][2]int{{0x40, 64}, {0x40, 8}},
		dests:  []int{0x90},
		mms:    []string{"mm1"},
		hot:    []string{"store mm1 0x40 6", "madvise mm1 0x40+8 dontneed"},
		// Its forks come from the general ops (a fork of mm1 beside the
		// hot ops): a fork among the extra ops made a seed reproduce
		// hugetlb-fork-shared-pmd-double-lock.
		extra: []string{"load mm1 0x48", "migrate mm1 0x48"},
	},
	// Private hugetlb mappings: their COW copies are anon hugetlb folios,
	// which rmap walks reach under anon_vma->rwsem alone, so only the PMD
	// table's lock serialises hugetlb_change_protection,
	// __unmap_hugepage_range and hugetlb_wp against a migration.
	{name: "a private hugetlb mapping of a file another mm maps shared: copy-on-write faults, migrations, mprotect, zaps and punches",
		files:   []string{"h 32 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+32 h@0x0 shared rw", "store mm1 0x48 1", "mmap mm2 0x40+32 h@0x0 private rw", "load mm2 0x48", "store mm2 0x50 2", "store mm2 0x41 3"},
		addrs:   []int{0x50, 0x48, 0x40, 0x58},
		ranges:  [][2]int{{0x40, 32}, {0x48, 8}, {0x50, 16}},
		dests:   []int{0x90},
		mms:     []string{"mm2", "mm1"},
		hot:     []string{"migrate mm2 0x50", "mprotect mm2 0x40+32 r", "store mm2 0x48 9"},
		extra:   []string{"fork mm2 {child}; store {child} 0x48 5", "migrate mm1 0x48", "fork mm2 {child}; store {child} 0x50 5", "munmap mm2 0x50+8", "punch mm1 h 0x8+16", "store mm1 0x48 4", "madvise mm2 0x40+16 dontneed", "migrate mm2 0x48"},
	},
	// A fork child's private VMA has no hugetlb VMA lock
	// (hugetlb_dup_vma_private), so nothing but the PTL keeps its COW of
	// a page-cache page apart from the file folio's migration, which
	// trylocks the VMA locks of the VMAs it walks.
	{name: "a fork child of a private hugetlb mapping copies page-cache pages on write while the file's folios migrate",
		files:   []string{"h 32 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+32 h@0x0 shared rw", "store mm1 0x48 1", "mmap mm2 0x40+32 h@0x0 private rw", "store mm2 0x40 3", "load mm2 0x48", "load mm2 0x50", "fork mm2 mm3"},
		addrs:   []int{0x48, 0x50, 0x40, 0x58},
		ranges:  [][2]int{{0x40, 32}, {0x48, 8}, {0x40, 16}},
		dests:   []int{0x90},
		mms:     []string{"mm3", "mm2", "mm1"},
		hot:     []string{"store mm3 0x49 5", "migrate mm1 0x48", "load mm3 0x48"},
		extra:   []string{"store mm2 0x50 6", "migrate mm1 0x50", "munmap mm3 0x48+8", "mprotect mm3 0x40+32 r", "punch mm1 h 0x8+8", "store mm1 0x50 7"},
	},
	{name: "a private hugetlb mapping shared copy-on-write by a fork: both write, one migrates, one unmaps",
		files:  []string{"h 32 hugetlb"},
		setup:  []string{"mmap mm1 0x40+16 h@0x0 private rw", "store mm1 0x40 1", "store mm1 0x48 2", "fork mm1 mm2"},
		addrs:  []int{0x48, 0x40, 0x4a},
		ranges: [][2]int{{0x40, 16}, {0x48, 8}, {0x40, 8}},
		dests:  []int{0x90},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"store mm1 0x48 7", "migrate mm2 0x48", "munmap mm2 0x48+8"},
		extra:  []string{"mprotect mm1 0x40+16 r", "store mm2 0x40 3", "madvise mm1 0x48+8 dontneed", "fork mm2 {child}; load {child} 0x48", "migrate mm1 0x40"},
	},
	// The faults that find a PTE (a write to a COW-shared page, a swap
	// entry) hold its table mapped under RCU from the lockless read to
	// the PTL; PT reclaim frees the table once MADV_DONTNEED emptied it.
	{name: "a whole PTE table of COW-shared and swapped pages: MADV_DONTNEED frees it (PT reclaim) while a write copies a page (do_wp_page) and a swap-in maps one (do_swap_page)",
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x11 2", "store mm1 0x12 3", "fork mm1 mm2", "reclaim mm1 0x12"},
		addrs:  []int{0x10, 0x12, 0x11, 0x13},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}},
		dests:  []int{0x30, 0x20},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"madvise mm1 0x10+8 dontneed", "store mm1 0x10 9", "load mm1 0x12"},
		extra:  []string{"store mm1 0x11 5", "madvise mm2 0x10+8 dontneed", "migrate mm1 0x11", "store mm2 0x10 6"},
	},
	// khugepaged retracts a file THP range's table with neither mmap_lock
	// nor the VMA lock (retract_page_tables, pte_free_defer): every walker
	// of the table that holds only those (mprotect, a file fault, fork's
	// copy) maps it under RCU.
	{name: "a shared file THP range with an emptied table: khugepaged retracts the table while mprotect, a file fault and a fork walk it",
		setup:  []string{"mmap mm1 0x10+8 file1@0x0 shared rw thp", "store mm1 0x10 1", "madvise mm1 0x10+1 dontneed"},
		addrs:  []int{0x11, 0x10, 0x13},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}},
		dests:  []int{0x30},
		mms:    []string{"mm1"},
		hot:    []string{"collapse mm1 0x10", "mprotect mm1 0x10+8 r", "load mm1 0x11"},
		extra:  []string{"fork mm1 {child}", "store mm1 0x12 3", "madvise mm1 0x10+8 dontneed", "reclaim mm1 0x10"},
	},
	// ksmd write-protects a candidate page (write_protect_page: the PTE
	// cleared and flushed, the references counted, the entry put back
	// read-only) with mmap_lock read and the folio lock only, while the
	// process writes it (do_wp_page: reuse or copy), a migration replaces
	// it, mprotect changes it and MADV_DONTNEED zaps it.
	{name: "anonymous pages, some COW-shared with a child, some swapped: ksmd write-protects them while the process writes, migrates, mprotects and zaps them",
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x11 2", "store mm1 0x12 3", "fork mm1 mm2", "store mm1 0x12 4", "reclaim mm1 0x11"},
		addrs:  []int{0x12, 0x10, 0x11, 0x13},
		ranges: [][2]int{{0x10, 8}, {0x12, 2}, {0x10, 4}},
		dests:  []int{0x30, 0x20},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"ksm mm1 0x12; ksm mm1 0x10", "store mm1 0x12 9", "migrate mm1 0x12"},
		extra:  []string{"ksm mm1 0x12", "ksm mm2 0x10", "mprotect mm1 0x12+2 r", "madvise mm1 0x12+2 dontneed", "store mm2 0x11 7", "exit mm1", "munmap mm1 0x10+8", "madvise mm1 0x12+2 random"},
	},
	// A split of a hugetlb VMA inside a PMD table's range (madvise changing
	// only vm_flags: no page table is touched) must unshare the table with
	// the VMA write-locked and i_mmap_rwsem held (hugetlb_split, D.8b):
	// another mm's first fault shares it otherwise, and the halves' VMA
	// locks do not exclude each other's walkers.
	{name: "a hugetlb VMA covering a whole PMD table's range, split by madvise while another mm's first fault shares its table; one part zapped while another faults",
		files:   []string{"h 64 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+64 h@0x0 shared rw", "store mm1 0x40 1", "mmap mm2 0x80+64 h@0x0 shared rw"},
		addrs:   []int{0x58, 0x48, 0x40, 0x88},
		ranges:  [][2]int{{0x48, 8}, {0x40, 8}, {0x40, 64}},
		dests:   []int{0x100},
		mms:     []string{"mm1", "mm2"},
		hot:     []string{"madvise mm1 0x48+8 random; madvise mm1 0x40+8 dontneed", "store mm2 0x88 3; store mm1 0x58 7", "store mm1 0x58 8"},
		extra:   []string{"madvise mm1 0x40+64 normal", "mprotect mm1 0x48+8 r", "load mm2 0x80", "munmap mm1 0x48+8", "madvise mm2 0x80+8 random"},
	},
	// fork's copy_present_pte write-protects each writable PTE of the parent
	// under the parent table's PTL (the source PTL of copy_pte_range) while
	// migration and reclaim convert the same PTEs under that PTL and the
	// process keeps storing to them through its TLB.
	{name: "writable anonymous pages never forked: a fork copies them while they migrate, are reclaimed and are written",
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x11 2", "store mm1 0x12 3", "store mm1 0x13 4"},
		addrs:  []int{0x11, 0x12, 0x10, 0x13},
		ranges: [][2]int{{0x10, 4}, {0x12, 2}, {0x10, 8}},
		dests:  []int{0x30, 0x20},
		mms:    []string{"mm1"},
		hot:    []string{"fork mm1 mm2", "migrate mm1 0x11; store mm1 0x12 9", "store mm1 0x12 7; store mm1 0x12 8"},
		extra:  []string{"reclaim mm1 0x11", "migrate mm1 0x12", "store mm1 0x11 5", "load mm1 0x13", "madvise mm1 0x10+2 dontneed", "mprotect mm1 0x10+4 r", "fork mm1 {child}"},
	},
	// The two templates below cover what harness.Generate's random programs
	// reached and the others do not (a THP range mapped or first touched
	// by a task, private file THPs; an exec whose stack moves over itself
	// and across a page-table boundary). They were appended so that the
	// template choices of the inputs before them decode as they did.
	{name: "an anonymous THP range not touched yet: two first touches race for its PMD (do_huge_pmd_anonymous_page) while a task maps the range again",
		setup:  []string{"mmap mm1 0x10+8 anon rw thp"},
		addrs:  []int{0x11, 0x14, 0x10, 0x17},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}, {0x14, 4}},
		dests:  []int{0x30, 0x20},
		mms:    []string{"mm1"},
		hot:    []string{"store mm1 0x11 5", "load mm1 0x14", "mmap mm1 0x10+8 anon rw thp"},
		extra: []string{"mmap mm1 0x10+8 anon rw thp", "mmap mm1 0x18+8 anon rw thp", "mmap mm1 0x10+8 file1@0x8 private rw thp",
			"mmap mm1 0x10+8 file1@0x0 shared r thp", "fault mm1 0x12 write", "munmap mm1 0x10+8", "madvise mm1 0x10+8 dontneed",
			"mprotect mm1 0x10+8 r", "collapse mm1 0x10", "reclaim mm1 0x11"},
	},
	{name: "exec: the temporary stack relocated over itself (a shift smaller than the stack) and out of a page table it spans, while its pages migrate",
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1"},
		addrs:  []int{0x10, 0x11},
		ranges: [][2]int{{0x10, 4}, {0x10, 2}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1"},
		hot:    []string{"exec mmx 0x36+4 shift 2", "migrate mmx 0x37", "load mmx 0x35"},
	},
	// A hole punched in a shmem file (shmem_fallocate: unmap_mapping_range
	// under i_mmap_rwsem read, then each folio locked and taken out of the
	// page cache) while the pages are faulted (filemap_fault re-checks
	// folio->mapping under the folio lock), written, migrated, reclaimed
	// and copied on write through a private mapping.
	{name: "a shmem file mapped shared and private: a hole is punched while its pages are faulted, written, migrated and reclaimed",
		setup:  []string{"mmap mm1 0x10+8 file1@0x0 shared rw", "store mm1 0x10 1", "store mm1 0x12 2", "mmap mm1 0x18+4 file1@0x0 private rw", "load mm1 0x19"},
		addrs:  []int{0x10, 0x12, 0x19, 0x11, 0x18},
		ranges: [][2]int{{0x10, 8}, {0x18, 4}, {0x10, 4}},
		dests:  []int{0x30, 0x28},
		mms:    []string{"mm1"},
		hot:    []string{"punch mm1 file1 0x0+4", "load mm1 0x10; store mm1 0x12 7", "migrate mm1 0x12", "fault mm1 0x19 write"},
		extra:  []string{"punch mm1 file1 0x0+8", "punch mm1 file1 0x2+1", "fault mm1 0x11 read", "reclaim mm1 0x10", "store mm1 0x18 5", "fork mm1 {child}", "mremap mm1 0x10+4 -> 0x30"},
	},
	// collapse_file against shmem_undo_range: the small folios locked and
	// copied into a THP while a hole punch takes them out of the page
	// cache, and the THP then cut by a punch of part of its range.
	// hugetlbfs_punch_hole: whole huge pages unmapped from the VMAs whose
	// hugetlb VMA lock it can trylock, then taken out of the page cache
	// under their fault mutex (unmapped again if a fault mapped them
	// meanwhile); partial ones zeroed under i_mmap_rwsem W with a folio
	// trylock (D.22), while two mms fault, write and migrate the pages.
	{name: "a hugetlbfs file shared by two mms: holes punched (whole and partial huge pages) while its pages are faulted, written and migrated",
		files:   []string{"h 64 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+64 h@0x0 shared rw", "store mm1 0x48 1", "store mm1 0x50 2", "mmap mm2 0x40+64 h@0x0 shared rw", "load mm2 0x48"},
		addrs:   []int{0x48, 0x50, 0x58, 0x4a},
		ranges:  [][2]int{{0x48, 8}, {0x40, 64}, {0x50, 16}},
		dests:   []int{0x90},
		mms:     []string{"mm1", "mm2"},
		hot:     []string{"punch mm1 h 0x8+10", "store mm2 0x48 7", "migrate mm2 0x50; load mm1 0x4a"},
		extra: []string{"punch mm2 h 0x8+8", "punch mm1 h 0x0+64", "fault mm1 0x58 write", "migrate mm1 0x48", "madvise mm2 0x48+8 dontneed",
			"mmap mm2 0x100+16 h@0x8 shared rw", "munmap mm1 0x48+8"},
	},
	{name: "a shared shmem THP range: khugepaged collapses it while a hole is punched in it and its pages are read",
		setup:  []string{"mmap mm1 0x10+8 file1@0x0 shared rw thp", "store mm1 0x10 1", "store mm1 0x11 2", "store mm1 0x13 3", "store mm1 0x16 4", "madvise mm1 0x10+1 dontneed"},
		addrs:  []int{0x11, 0x13, 0x10, 0x16},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}},
		dests:  []int{0x30},
		mms:    []string{"mm1"},
		hot:    []string{"collapse mm1 0x10", "punch mm1 file1 0x1+2", "load mm1 0x11; load mm1 0x13"},
		extra:  []string{"punch mm1 file1 0x0+8", "punch mm1 file1 0x3+1", "store mm1 0x12 5", "migrate mm1 0x11", "fault mm1 0x14 write"},
	},
	// The anon_vma hierarchy changed from two ends at once: mm2 forks
	// (anon_vma_fork: num_children of mm2's anon_vma +1, the new AVCs into
	// every tree of the chain) while its child mm3 exits (unlink_anon_vmas:
	// mm3's anon_vma emptied, num_children of mm2's -1), both under the
	// root's rwsem, and rmap walks of the root's pages read the trees. The
	// three-level template above forks twice and never unlinks.
	{name: "a fork tree three levels deep: a grandchild exits while its parent forks again and the root's pages migrate",
		setup: []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x14 2", "fork mm1 mm2", "store mm2 0x11 3",
			"fork mm2 mm3", "store mm3 0x15 4"},
		addrs:  []int{0x10, 0x14, 0x11, 0x15},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}, {0x14, 4}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm2", "mm3", "mm1"},
		hot:    []string{"fork mm2 mm4", "exit mm3", "migrate mm1 0x14"},
		extra:  []string{"munmap mm3 0x10+8", "exit mm2", "fork mm3 {child}", "reclaim mm1 0x10", "store mm2 0x14 7", "munmap mm2 0x10+8"},
	},
	// A page shared by fork migrates while the parent writes it and the
	// child reads it: remove_migration_ptes restores the parent's PTE
	// first, and the parent's write fault must not reuse the new folio
	// (do_wp_page's folio_trylock fails on the locked destination) while
	// the child still has its migration entry.
	{name: "a fork: a page shared copy-on-write migrates while the parent writes it and the child reads it",
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x12 2", "fork mm1 mm2"},
		addrs:  []int{0x10, 0x12},
		ranges: [][2]int{{0x10, 8}, {0x10, 2}},
		dests:  []int{0x20},
		mms:    []string{"mm2", "mm1"},
		hot:    []string{"migrate mm2 0x10", "store mm1 0x10 6", "load mm2 0x10"},
		extra:  []string{"migrate mm1 0x12", "store mm2 0x12 7", "load mm1 0x12", "reclaim mm1 0x10", "fault mm2 0x10 write"},
	},
	// retract_page_tables frees the PTE tables of every VMA that maps a
	// collapsed shmem range, holding i_mmap_rwsem for read and neither
	// mmap_lock nor a VMA lock of theirs: mm1 moving its mapping of the
	// range to a fresh VMA (move_ptes, no rmap locks: the new VMA comes
	// after the old in rmap order) maps the old table under RCU only
	// until it holds the PTL and re-checks the PMD, while khugepaged
	// collapses the range through mm2's mapping.
	{name: "a shmem THP range mapped by two mms: one moves its mapping PTE by PTE while khugepaged collapses the range through the other's",
		declare: []string{"mm2"},
		setup: []string{"mmap mm1 0x10+8 file1@0x0 shared rw thp", "store mm1 0x10 1", "store mm1 0x12 2",
			"mmap mm2 0x10+8 file1@0x0 shared rw thp", "load mm2 0x11"},
		addrs:  []int{0x10, 0x12, 0x11},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}, {0x14, 4}},
		dests:  []int{0x2c, 0x22},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"mremap mm1 0x10+8 -> 0x2c", "collapse mm2 0x10", "load mm1 0x2d"},
		extra:  []string{"mremap mm1 0x10+4 -> 0x22", "collapse mm1 0x10", "store mm2 0x13 5", "punch mm2 file1 0x2+1", "madvise mm2 0x10+8 dontneed"},
	},
	// A swap-cache folio named by the child's swap entry and mapped again
	// by the parent: reclaim locks it to unmap the parent's PTE (a new
	// swap entry) while the child's entry is zapped (free_swap_and_cache:
	// the last entry gone, __try_to_reclaim_swap trylocks the folio to
	// drop it from the swap cache) and the child swaps it in (do_swap_page
	// holds the folio lock that reclaim's folio_trylock must fail on).
	{name: "a fork's page swapped out and read back by the parent: reclaimed again while the child's swap entry is zapped and the child swaps it in",
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x12 2", "fork mm1 mm2", "reclaim mm1 0x10", "reclaim mm1 0x12", "load mm1 0x10"},
		addrs:  []int{0x10, 0x12},
		ranges: [][2]int{{0x10, 8}, {0x10, 2}, {0x12, 2}},
		dests:  []int{0x20},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"reclaim mm1 0x10", "madvise mm2 0x10+8 dontneed", "load mm2 0x10"},
		extra:  []string{"load mm1 0x10", "load mm2 0x12", "store mm1 0x12 7", "exit mm2", "munmap mm2 0x10+2", "migrate mm1 0x10", "reclaim mm2 0x12"},
	},
	// khugepaged against the mmap_lock writers: the scan (after
	// mmap_read_trylock) and collapse_huge_page's revalidations run while
	// munmap, mprotect or mremap change or free the VMA and its table.
	{name: "small anonymous pages in a THP range: khugepaged collapses them while munmap, mprotect and mremap take mmap_lock for write",
		setup: []string{"mmap mm1 0x10+8 anon rw thp", "mprotect mm1 0x10+1 r", "store mm1 0x11 2", "store mm1 0x12 3",
			"mprotect mm1 0x10+1 rw"},
		addrs:  []int{0x11, 0x12, 0x13, 0x10},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}, {0x14, 4}},
		dests:  []int{0x30, 0x20},
		mms:    []string{"mm1"},
		hot:    []string{"collapse mm1 0x10", "munmap mm1 0x10+8", "mprotect mm1 0x14+4 r"},
		extra: []string{"munmap mm1 0x10+8", "mremap mm1 0x10+8 -> 0x30", "mprotect mm1 0x10+8 r", "collapse mm1 0x10",
			"madvise mm1 0x10+8 dontneed", "exit mm1"},
	},
	// A read-only THP leaf mapped once (the fork child that shared it
	// exited): a write fault reuses it (do_huge_pmd_wp_page) while a split
	// or a migration holds its folio lock, so that the fault sleeps on the
	// lock and re-takes the PMD lock, and while MADV_DONTNEED zaps the leaf.
	{name: "a read-only THP leaf mapped once: a write fault reuses it while a split holds its lock and MADV_DONTNEED zaps it",
		setup:  []string{"mmap mm1 0x10+8 anon rw thp", "store mm1 0x10 1", "fork mm1 mm2", "exit mm2"},
		addrs:  []int{0x11, 0x10, 0x13},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}},
		dests:  []int{0x30, 0x20},
		mms:    []string{"mm1"},
		hot:    []string{"store mm1 0x11 5", "split mm1 0x10", "madvise mm1 0x10+8 dontneed"},
		extra: []string{"split mm1 0x10", "migrate mm1 0x10", "store mm1 0x12 6", "reclaim mm1 0x10", "madvise mm1 0x10+4 dontneed",
			"mprotect mm1 0x10+8 r"},
	},
	// collapse_file with holes: the holes re-checked and reserved while
	// faults fill them, the i_mmap walk while another mm maps and unmaps
	// the file, the lockless scan while a punch frees the pages.
	{name: "a shared shmem THP range with holes: khugepaged collapses it while faults fill the holes, a punch frees its pages and another mm maps and unmaps the file",
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x10+8 file1@0x0 shared rw thp", "store mm1 0x10 1", "mmap mm2 0x20+8 file1@0x0 shared rw"},
		addrs:   []int{0x12, 0x13, 0x10},
		ranges:  [][2]int{{0x10, 8}, {0x10, 4}},
		dests:   []int{0x30},
		mms:     []string{"mm1", "mm2"},
		hot:     []string{"collapse mm1 0x10", "load mm1 0x12", "punch mm1 file1 0x0+8"},
		extra: []string{"munmap mm2 0x20+8", "mmap mm2 0x30+8 file1@0x0 shared rw", "store mm1 0x13 5", "load mm2 0x22",
			"punch mm1 file1 0x0+1", "collapse mm1 0x10"},
	},
	// deferred_split_scan against do_huge_pmd_wp_page: the write fault
	// holds the THP's folio lock under the PMD lock (no reference of its
	// own) when the split's trylock meets it; the fault falls back to PTEs
	// and its next access meets the split's migration entries.
	{name: "a read-only THP leaf mapped once: write faults on it while a split or a migration of it runs",
		setup:  []string{"mmap mm1 0x10+8 anon rw thp", "store mm1 0x10 1", "fork mm1 mm2", "exit mm2"},
		addrs:  []int{0x11, 0x13, 0x10},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}},
		dests:  []int{0x30},
		mms:    []string{"mm1"},
		hot:    []string{"store mm1 0x11 5; store mm1 0x13 6", "split mm1 0x10", "load mm1 0x12"},
		extra:  []string{"split mm1 0x10", "migrate mm1 0x10", "store mm1 0x12 7", "madvise mm1 0x10+8 dontneed"},
	},
	// Hugetlb migration's folio locks (unmap_and_move_huge_page): the new
	// folio stays locked until remove_migration_ptes has restored every
	// entry, or a write fault of the parent (hugetlb_fault's folio_trylock
	// for hugetlb_wp) reuses it while the child still has a migration entry
	// that then maps it too.
	{name: "a private hugetlb page shared copy-on-write by a fork migrates while the parent writes it and the child reads it",
		files:  []string{"h 32 hugetlb"},
		setup:  []string{"mmap mm1 0x40+16 h@0x0 private rw", "store mm1 0x48 1", "fork mm1 mm2"},
		addrs:  []int{0x48, 0x40},
		ranges: [][2]int{{0x48, 8}, {0x40, 16}},
		dests:  []int{0x90},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"migrate mm1 0x48", "store mm1 0x48 7", "load mm2 0x48"},
		extra:  []string{"migrate mm2 0x48", "store mm2 0x48 5", "load mm1 0x48", "punch mm1 h 0x8+8"},
	},
	// A hugetlbfs page migrates while another mm's first fault holds it
	// locked (hugetlb_no_page: the migration sleeps for the lock) and a
	// hole punch removes it (remove_inode_single_folio locks the folio it
	// found: the new folio in the page cache must still be locked), and
	// the first mm faults on the migration entries.
	{name: "a hugetlbfs page mapped by one mm and not yet by another: it migrates while the other mm's first fault locks it and a hole punch removes it",
		files:   []string{"h 32 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+16 h@0x0 shared rw", "store mm1 0x48 1", "mmap mm2 0x40+16 h@0x0 shared rw"},
		addrs:   []int{0x48, 0x40},
		ranges:  [][2]int{{0x48, 8}, {0x40, 16}},
		dests:   []int{0x90},
		mms:     []string{"mm1", "mm2"},
		hot:     []string{"migrate mm1 0x48", "load mm2 0x48", "load mm1 0x48; load mm1 0x48"},
		extra:   []string{"punch mm1 h 0x8+8", "load mm1 0x48; migrate mm1 0x48", "migrate mm2 0x48", "store mm2 0x48 5"},
	},
	{name: "a hugetlbfs page: a hole punch unmaps it, a fault maps it again and it migrates before the punch takes it out of the page cache",
		files:  []string{"h 32 hugetlb"},
		setup:  []string{"mmap mm1 0x40+16 h@0x0 shared rw", "store mm1 0x48 1"},
		addrs:  []int{0x48, 0x40},
		ranges: [][2]int{{0x48, 8}, {0x40, 16}},
		dests:  []int{0x90},
		mms:    []string{"mm1"},
		hot:    []string{"punch mm1 h 0x8+8", "load mm1 0x48; migrate mm1 0x48", "load mm1 0x40"},
		extra:  []string{"migrate mm1 0x48", "store mm1 0x48 5", "punch mm1 h 0x0+16", "load mm1 0x48"},
	},
	// unmap_hugepage_range's tlb_finish_mmu frees a private mapping's
	// copy-on-write page a punch discarded: its flush must come first, while
	// the punch still holds the hugetlb VMA lock and i_mmap_rwsem.
	{name: "a private hugetlb mapping's copy-on-write page: a hole punch discards it while another thread reads it through its TLB",
		files:  []string{"h 32 hugetlb"},
		setup:  []string{"mmap mm1 0x40+16 h@0x0 private rw", "store mm1 0x48 5", "store mm1 0x40 2"},
		addrs:  []int{0x48, 0x40},
		ranges: [][2]int{{0x48, 8}, {0x40, 16}},
		dests:  []int{0x90},
		mms:    []string{"mm1"},
		hot:    []string{"punch mm1 h 0x8+8", "load mm1 0x48; load mm1 0x48; load mm1 0x48", "store mm1 0x40 3"},
		extra:  []string{"punch mm1 h 0x0+16", "store mm1 0x48 7", "migrate mm1 0x48", "madvise mm1 0x48+8 dontneed"},
	},
	// hugetlb_change_protection unshares a shared PMD table and must flush
	// before it drops i_mmap_rwsem: a migration (i_mmap W) through the
	// other sharer may finish right after, while a thread of the first mm
	// still translates to the old folio.
	{name: "a hugetlb PMD table shared by two mms: one mprotects it (unsharing the table) while the other's page migrates and the first reads it",
		files:   []string{"h 64 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+64 h@0x0 shared rw", "store mm1 0x48 1", "mmap mm2 0x40+64 h@0x0 shared rw", "load mm2 0x48"},
		addrs:   []int{0x48, 0x50},
		ranges:  [][2]int{{0x40, 64}, {0x48, 8}},
		dests:   []int{0x90},
		mms:     []string{"mm1", "mm2"},
		hot:     []string{"mprotect mm1 0x40+64 r", "migrate mm2 0x48", "load mm1 0x48"},
		// No mprotect of mm2: with both VMAs read-only a first fault may
		// share a table whose entries are still writable, the candidate
		// race of corpus/hugetlb_mprotect_flags_before_protection_let_another_mm_share_a_writable_table.txt,
		// which the faithful kernel has.
		extra: []string{"punch mm2 h 0x8+8", "migrate mm1 0x48", "store mm2 0x48 4", "load mm2 0x50"},
	},
	// A fork child's private hugetlb VMA has no hugetlb VMA lock
	// (hugetlb_dup_vma_private): nothing but the PMD table's lock keeps a
	// MADV_DONTNEED of the child from the child's own faults: hugetlb_wp
	// reusing the anon folio the parent gave up (hugetlb_fault's
	// huge_pte_lock) and hugetlb_no_page mapping a new anon folio and
	// reusing it at once.
	{name: "a fork child's private hugetlb VMA (no hugetlb VMA lock): its writes reuse or allocate anon folios while MADV_DONTNEED zaps them",
		files:  []string{"h 32 hugetlb"},
		setup:  []string{"mmap mm1 0x40+16 h@0x0 private rw", "store mm1 0x40 1", "fork mm1 mm2", "madvise mm1 0x40+8 dontneed"},
		addrs:  []int{0x40, 0x48, 0x41},
		ranges: [][2]int{{0x40, 16}, {0x40, 8}, {0x48, 8}},
		dests:  []int{0x90},
		mms:    []string{"mm2", "mm1"},
		hot:    []string{"store mm2 0x40 7", "madvise mm2 0x40+16 dontneed", "store mm2 0x48 5"},
		extra:  []string{"punch mm1 h 0x0+16", "migrate mm2 0x40", "load mm2 0x48", "madvise mm2 0x48+8 dontneed"},
	},
	// Two mms map a hugetlbfs file in ranges too small to share a PMD
	// table, so mm2's first faults reach hugetlb_no_page's page-cache
	// lookup (filemap_lock_hugetlb_folio: RCU, folio_try_get, the folio
	// lock and its re-check) while a migration through mm1's mapping
	// replaces the folio in the page cache and frees it.
	{name: "a hugetlbfs file mapped by two mms without PMD sharing: mm2's first faults look the page cache up while the folio migrates",
		files:   []string{"h 16 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+16 h@0x0 shared rw", "store mm1 0x40 1", "store mm1 0x48 2", "mmap mm2 0x80+16 h@0x0 shared rw"},
		addrs:   []int{0x40, 0x80, 0x48, 0x88},
		ranges:  [][2]int{{0x80, 16}, {0x40, 8}, {0x40, 16}},
		dests:   []int{0x90},
		mms:     []string{"mm2", "mm1"},
		hot:     []string{"load mm2 0x80", "migrate mm1 0x40", "store mm2 0x88 3"},
		extra:   []string{"migrate mm1 0x48", "load mm2 0x81", "fault mm2 0x80 read", "migrate mm2 0x80"},
	},
	// The same without mm2's faults: a hole punched in the first huge page
	// while mm1 maps it again after hugetlb_vmdelete_list and migrates it
	// (remove_inode_single_folio's folio lock keeps the migration's
	// entries from passing for unmapped) and mm2 unmaps its VMA of the
	// file while hugetlb_unmap_file_folio walks i_mmap.
	{name: "a hugetlbfs file mapped by two mms without PMD sharing: a hole is punched while mm1 maps the page again and migrates it and mm2 unmaps",
		files:   []string{"h 16 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+16 h@0x0 shared rw", "store mm1 0x40 1", "mmap mm2 0x80+16 h@0x0 shared rw"},
		addrs:   []int{0x40, 0x41, 0x42, 0x80},
		ranges:  [][2]int{{0x80, 16}, {0x40, 8}, {0x40, 16}},
		dests:   []int{0x90},
		mms:     []string{"mm1", "mm2"},
		hot:     []string{"punch mm1 h 0x0+8", "load mm1 0x41; migrate mm1 0x40", "load mm1 0x42; munmap mm2 0x80+16"},
		extra:   []string{"load mm2 0x80", "migrate mm1 0x40", "load mm1 0x41", "munmap mm2 0x80+16", "load mm2 0x80; munmap mm2 0x80+16"},
	},
	// A hugetlb PMD table shared by two mms, zapped by MADV_DONTNEED over
	// two VMAs (under mmap_lock read: __hugetlb_zap_begin's hugetlb VMA
	// lock is all that keeps mm1's faults out) while a fork write-locks
	// mm1's VMAs, sending mm1's fault to the mmap_lock path (hugetlb_fault's
	// hugetlb VMA lock is then all that keeps the zap's huge_pmd_unshare
	// out); a hole punch unshares mm1's table from remove_inode_hugepages
	// after mm2's fault shared it again.
	{name: "a hugetlb PMD table shared by two mms: MADV_DONTNEED under mmap_lock and punches unshare it while mm1 faults in it and forks",
		files:   []string{"h 64 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+64 h@0x0 shared rw", "mmap mm1 0x80+8 anon rw", "store mm1 0x40 1", "mmap mm2 0x80+64 h@0x0 shared rw", "load mm2 0x80"},
		addrs:   []int{0x48, 0x50, 0x41, 0x88},
		ranges:  [][2]int{{0x40, 72}, {0x40, 8}, {0x40, 64}},
		dests:   []int{0x100},
		mms:     []string{"mm1", "mm2"},
		hot:     []string{"store mm1 0x48 5; load mm1 0x58", "madvise mm1 0x40+8 dontneed; madvise mm1 0x40+72 dontneed", "fork mm1 mm3"},
		extra:   []string{"punch mm1 h 0x0+8", "load mm2 0x88", "load mm1 0x50; load mm1 0x58", "load mm1 0x41", "madvise mm1 0x40+8 dontneed"},
	},
	// remove_inode_hugepages' hugetlb_unmap_file_folio meets mm1's VMA
	// lock held by a fault of another index (hugetlb_vma_trylock_write
	// fails: it sleeps on the lock), while mm2's fault shares mm1's PMD
	// table again after hugetlb_vmdelete_list unshared it, so that the
	// unmap unshares it under mm1's next fault.
	{name: "a hole punched in a hugetlb PMD table two mms share: remove_inode_hugepages unmaps the folio again and unshares the table while mm1 faults elsewhere in it and mm2 shares it again",
		files:   []string{"h 64 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+64 h@0x0 shared rw", "store mm1 0x40 1", "mmap mm2 0x80+64 h@0x0 shared rw", "load mm2 0x80"},
		addrs:   []int{0x50, 0x58, 0x41, 0x88},
		ranges:  [][2]int{{0x40, 64}, {0x40, 8}},
		dests:   []int{0x100},
		mms:     []string{"mm1", "mm2"},
		hot:     []string{"punch mm1 h 0x0+8", "load mm1 0x50; load mm1 0x58", "load mm2 0x88"},
		extra:   []string{"load mm1 0x41", "load mm1 0x41; load mm1 0x58", "load mm2 0x90", "store mm1 0x60 3"},
	},
	// A hugetlb PMD table two mms share, mm1's translation of 0x48 cached:
	// MADV_DONTNEED of mm1 (per-VMA lock; __hugetlb_zap_begin's VMA lock
	// and i_mmap_rwsem) unshares mm1's table while mm1's first fault of
	// 0x50 (the fault op: handle_mm_fault under the per-VMA lock, where
	// hugetlb_fault's VMA read lock alone keeps huge_pmd_unshare away from
	// the table pointer huge_pte_alloc gave it) runs, and mm2's page
	// migrates (under i_mmap W right after the zap: __unmap_hugepage_range's
	// force_flush must already have flushed mm1's translation, or mm1 keeps
	// reading the migrated folio).
	{name: "a hugetlb PMD table shared by two mms: MADV_DONTNEED unshares mm1's table while mm1's first fault (fault op) uses it and mm2's page migrates",
		files:   []string{"h 64 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+64 h@0x0 shared rw", "store mm1 0x48 1", "mmap mm2 0x40+64 h@0x0 shared rw", "load mm2 0x48"},
		addrs:   []int{0x48, 0x50, 0x41},
		ranges:  [][2]int{{0x48, 8}, {0x40, 64}},
		dests:   []int{0x100},
		mms:     []string{"mm1", "mm2"},
		hot:     []string{"fault mm1 0x50 write", "madvise mm1 0x48+8 dontneed", "migrate mm2 0x48"},
		extra:   []string{"fault mm1 0x41 read", "fault mm2 0x50 write", "madvise mm2 0x48+8 dontneed", "migrate mm1 0x48", "load mm1 0x48"},
	},
	// The same table: a fork write-locks mm1's VMAs, so mm1's store fault
	// falls back to the mmap_lock path, where hugetlb_fault's VMA read lock
	// alone keeps MADV_DONTNEED's huge_pmd_unshare (per-VMA lock) away from
	// the table pointer (H1 gap #27's race, each op alone in its task).
	{name: "a hugetlb PMD table shared by two mms: mm1's store falls back to mmap_lock behind a fork while MADV_DONTNEED unshares the table",
		files:   []string{"h 64 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+64 h@0x0 shared rw", "mmap mm2 0x80+64 h@0x0 shared rw", "store mm2 0x80 1", "load mm1 0x40"},
		addrs:   []int{0x48, 0x40, 0x50, 0x88},
		ranges:  [][2]int{{0x40, 8}, {0x40, 64}},
		dests:   []int{0x100},
		mms:     []string{"mm1", "mm2"},
		hot:     []string{"store mm1 0x48 5", "madvise mm1 0x40+8 dontneed", "fork mm1 mm3"},
		extra:   []string{"load mm1 0x50", "madvise mm2 0x80+8 dontneed", "store mm2 0x88 4"},
	},
	// hugetlb_unmap_file_folio's trylocked VMA lock: mm1 maps the folio
	// again (sharing mm2's table) after hugetlb_vmdelete_list, and mm1's
	// next fault must stay out of __unmap_hugepage_range's huge_pmd_unshare
	// (H1 gap #22's race).
	{name: "a hole punched in a hugetlb PMD table two mms share: mm1 maps the page again after hugetlb_vmdelete_list and faults elsewhere in the table while remove_inode_hugepages unshares it",
		files:   []string{"h 64 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+64 h@0x0 shared rw", "store mm1 0x40 1", "mmap mm2 0x80+64 h@0x0 shared rw", "load mm2 0x80"},
		addrs:   []int{0x41, 0x58, 0x50, 0x88},
		ranges:  [][2]int{{0x40, 64}, {0x40, 8}},
		dests:   []int{0x100},
		mms:     []string{"mm1", "mm2"},
		hot:     []string{"punch mm1 h 0x0+8", "load mm1 0x41; load mm1 0x58"},
		extra:   []string{"load mm1 0x41", "load mm1 0x58", "load mm2 0x88"},
	},
	// try_to_migrate of a THP mapped by PTEs whose first page was zapped:
	// page_vma_mapped_walk's map_pte finds no candidate there, and the PTL
	// is taken in next_pte for the first mapped page and kept for the
	// rest of the table, while threads fault on the pages (on their
	// migration entries: migration_entry_wait's pte_offset_map_lock) and
	// MADV_DONTNEED empties the table, which PT reclaim frees (the RCU
	// section of pte_offset_map keeps a detached table until its PTL is
	// dropped).
	{name: "a THP mapped by PTEs, its first page zapped: it migrates while threads fault on its pages and MADV_DONTNEED empties and frees its table",
		setup:  []string{"mmap mm1 0x10+8 anon rw thp", "store mm1 0x11 1", "store mm1 0x13 3", "madvise mm1 0x10+1 dontneed"},
		addrs:  []int{0x13, 0x16, 0x11, 0x10},
		ranges: [][2]int{{0x10, 8}, {0x10, 1}, {0x12, 4}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1"},
		hot:    []string{"migrate mm1 0x11", "load mm1 0x13", "madvise mm1 0x10+8 dontneed", "load mm1 0x16"},
		extra:  []string{"store mm1 0x16 5", "migrate mm1 0x13", "madvise mm1 0x12+6 dontneed", "load mm1 0x13; load mm1 0x16"},
	},
	// migrate_folio_unmap's folio lock of a shmem page: another mm's first
	// fault (filemap_fault) holds it, so the migration sleeps for it; a
	// fault on the migration entries it then installs must find the folio
	// locked (pfn_swap_entry_folio's BUG_ON).
	{name: "a shmem page mapped by one mm and not yet by another: it migrates while the other mm's first fault locks it and the first mm faults on its migration entry",
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x10+8 file1@0x0 shared rw", "store mm1 0x10 1", "mmap mm2 0x10+8 file1@0x0 shared rw"},
		addrs:   []int{0x10, 0x11},
		ranges:  [][2]int{{0x10, 8}, {0x10, 1}},
		dests:   []int{0x20},
		mms:     []string{"mm1", "mm2"},
		hot:     []string{"migrate mm1 0x10", "load mm2 0x10", "load mm1 0x10; load mm1 0x10"},
		extra:   []string{"punch mm1 file1 0x0+1", "load mm1 0x10; migrate mm1 0x10", "migrate mm2 0x10", "store mm2 0x10 5"},
	},
	// The migration's new folio stays locked from folio_migrate_mapping
	// (it is in the page cache) until remove_migration_ptes has mapped it:
	// a hole punch's shmem_undo_range locks the folio it finds, sees it
	// unmapped (its mappings are still migration entries for the old
	// folio) and takes it out of the page cache, and the migration then
	// maps the orphan.
	{name: "a shmem page: a hole punch unmaps it, a fault maps it again and it migrates before the punch takes it out of the page cache",
		setup:  []string{"mmap mm1 0x10+8 file1@0x0 shared rw", "store mm1 0x10 1"},
		addrs:  []int{0x10, 0x11},
		ranges: [][2]int{{0x10, 8}, {0x10, 1}},
		dests:  []int{0x20},
		mms:    []string{"mm1"},
		hot:    []string{"punch mm1 file1 0x0+1", "load mm1 0x10; migrate mm1 0x10"},
		extra:  []string{"migrate mm1 0x10", "store mm1 0x10 5", "punch mm1 file1 0x0+8", "load mm1 0x11"},
	},
	// shrink_folio_list's folio_trylock against do_swap_page: a fork's page
	// swapped out and read back by the parent is a swap-cache folio that
	// the child's swap entry still names; reclaim (again) and the child's
	// swap-in lock it at once. Without the trylock's failure honoured,
	// reclaim unmaps the child's PTE that do_swap_page is installing and
	// puts back a folio the child maps (use-after-free).
	{name: "a fork's page swapped out and read back by the parent: reclaimed again while the child swaps it in",
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "fork mm1 mm2", "reclaim mm1 0x10", "load mm1 0x10"},
		addrs:  []int{0x10, 0x11},
		ranges: [][2]int{{0x10, 8}, {0x10, 2}},
		dests:  []int{0x20},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"load mm2 0x10", "reclaim mm1 0x10"},
		extra:  []string{"store mm2 0x10 7", "reclaim mm2 0x10", "migrate mm1 0x10", "madvise mm2 0x10+8 dontneed"},
	},
	// collapse_file's folio_trylock against a fault of another mm that
	// holds the small page's lock while it maps it (finish_fault): the
	// collapse must give up (SCAN_PAGE_LOCK); if it goes on, the fault's
	// retry maps the old page after try_to_unmap and the store goes to a
	// folio the THP replaces (its table is then retracted with the entry
	// in it: page-table-lifetime, rmap-complete). Found by random
	// schedules in tens of runs, by PCT not in thousands.
	{name: "a shared shmem THP range mapped by two mms: khugepaged collapses it through one while the other faults and writes a page of it",
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x10+8 file1@0x0 shared rw thp", "store mm1 0x10 1", "mmap mm2 0x20+8 file1@0x0 shared rw"},
		addrs:   []int{0x10, 0x20, 0x11},
		ranges:  [][2]int{{0x10, 8}, {0x20, 8}},
		dests:   []int{0x30},
		mms:     []string{"mm1", "mm2"},
		hot:     []string{"load mm2 0x20; store mm2 0x20 5", "collapse mm1 0x10", "load mm1 0x10"},
		extra:   []string{"store mm2 0x20 5", "collapse mm1 0x10", "punch mm1 file1 0x0+1", "migrate mm2 0x20"},
	},
	// vma_merge's write lock of the VMA it removes: mprotect makes the
	// middle of three anonymous VMAs like its neighbours and the merge
	// absorbs the next one (vma_merge_existing_range, next removed and
	// freed) while a fault of an untouched page of that VMA takes its
	// per-VMA read lock (lock_vma_under_rcu). The write lock must keep the
	// fault out until the VMA is detached.
	{name: "three anonymous VMAs merged into one by mprotect or mmap while a fault under the per-VMA lock touches the VMA the merge removes",
		setup:  []string{"mmap mm1 0x10+2 anon rw", "mmap mm1 0x12+2 anon r", "mmap mm1 0x14+4 anon rw", "store mm1 0x14 1"},
		addrs:  []int{0x15, 0x16, 0x10, 0x12},
		ranges: [][2]int{{0x12, 2}, {0x10, 8}, {0x14, 4}},
		dests:  []int{0x20},
		mms:    []string{"mm1"},
		hot:    []string{"mprotect mm1 0x12+2 rw", "store mm1 0x15 5"},
		extra:  []string{"munmap mm1 0x12+2; mmap mm1 0x12+2 anon rw", "fault mm1 0x16 write", "load mm1 0x17", "madvise mm1 0x14+4 dontneed"},
	},
	// The revert of a partial mremap of a shared file mapping (an
	// injected page-table allocation failure): the destination is a fresh
	// VMA after the source in i_mmap, so the forward move_ptes needs no
	// rmap locks, but moving back goes from the later VMA to the earlier
	// one and must hold i_mmap_rwsem for write (take_rmap_locks), else
	// the rmap walks of another mm's migrations of those pages miss them.
	{name: "a shared file range moved to a fresh VMA and moved back after a failed page-table allocation, while another mm's mapping of its pages migrates them",
		declare: []string{"mm2"},
		setup: []string{"mmap mm1 0x10+16 file1@0x0 shared rw", "store mm1 0x12 1", "store mm1 0x13 2", "store mm1 0x18 3",
			"mmap mm2 0x20+16 file1@0x0 shared rw", "load mm2 0x22", "load mm2 0x23"},
		addrs:  []int{0x12, 0x13, 0x22, 0x23},
		ranges: [][2]int{{0x12, 8}, {0x10, 16}},
		dests:  []int{0x42, 0x44},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"mremap mm1 0x12+8 -> 0x42", "migrate mm2 0x22", "migrate mm2 0x23"},
		extra:  []string{"mremap mm1 0x12+8 -> 0x44", "load mm1 0x13", "migrate mm2 0x28", "punch mm2 file1 0x2+1"},
	},
	// Two threads zap one range at once (MADV_DONTNEED under mmap_lock
	// read, each its own mmu_gather): the second finds the PTEs already
	// cleared by the first, whose flush is still pending, and must flush
	// the whole mm at tlb_finish_mmu (mm_tlb_flush_nested) before it
	// returns to a thread that relies on the range being gone.
	{name: "one faulted range zapped by two threads at once, one of which touched it first",
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1", "store mm1 0x11 2"},
		addrs:  []int{0x10, 0x11, 0x12},
		ranges: [][2]int{{0x10, 4}, {0x10, 2}},
		dests:  []int{0x30},
		mms:    []string{"mm1"},
		hot:    []string{"madvise mm1 0x10+4 dontneed", "load mm1 0x10; madvise mm1 0x10+4 dontneed", "load mm1 0x11"},
		extra:  []string{"load mm1 0x10; load mm1 0x10", "store mm1 0x11 7", "madvise mm1 0x10+2 dontneed"},
	},
	// Two THP ranges of one PMD table in two VMAs (MADV_RANDOM split them):
	// khugepaged collapses the small pages of the first (mmap_lock W and
	// only that VMA write-locked) while the second's first fault, under
	// its own VMA lock, maps a THP; both deposit a PTE table on the PMD
	// table's one list (pmd_huge_pte), which only the PMD lock protects.
	{name: "two THP ranges of one PMD table in two VMAs: khugepaged collapses one while the other's first fault deposits a table on the same list",
		setup: []string{"mmap mm1 0x10+16 anon rw thp", "mprotect mm1 0x10+1 r", "store mm1 0x11 2", "store mm1 0x12 3",
			"mprotect mm1 0x10+1 rw", "madvise mm1 0x18+8 random"},
		addrs:  []int{0x18, 0x11, 0x19, 0x13},
		ranges: [][2]int{{0x18, 8}, {0x10, 8}},
		dests:  []int{0x30},
		mms:    []string{"mm1"},
		hot:    []string{"collapse mm1 0x10", "store mm1 0x18 5"},
		extra:  []string{"split mm1 0x18", "migrate mm1 0x19", "store mm1 0x18 5; split mm1 0x18", "collapse mm1 0x10"},
	},
	// Two THPs of one PMD table in two VMAs: fork copies them into the
	// child's PMD table (copy_huge_pmd deposits a table per THP under the
	// child's PMD lock) while a split of the first, through rmap, already
	// reaches the child's copy and withdraws its table from the same list.
	{name: "two THPs of one PMD table in two VMAs: fork copies them while a split of the first withdraws the child's deposited table",
		setup:  []string{"mmap mm1 0x10+16 anon rw thp", "madvise mm1 0x18+8 random", "store mm1 0x10 1", "store mm1 0x18 2"},
		addrs:  []int{0x10, 0x18, 0x11, 0x19},
		ranges: [][2]int{{0x10, 8}, {0x18, 8}},
		dests:  []int{0x30},
		mms:    []string{"mm1"},
		hot:    []string{"fork mm1 mm2", "split mm1 0x10"},
		extra:  []string{"split mm1 0x18", "migrate mm1 0x18", "store mm1 0x19 5"},
	},
	// A pool of two huge pages, both reserved by mm1's mapping: two
	// first-touch faults of the first, through the VMA lock or, while a
	// fork holds mm1's VMAs write-locked, through mmap_lock; a hole punch
	// of the second, which the setup instantiated, and faults of it: the
	// hugetlb fault mutex keeps them from consuming the one reservation
	// twice, or one the punch is removing (hugetlb-reservation).
	{name: "two reserved hugetlb pages of a two-page pool: one faulted first by two tasks at once, the other punched and faulted again",
		files:     []string{"h 16 hugetlb"},
		hugepages: 2,
		setup:     []string{"mmap mm1 0x40+16 h@0x0 shared rw", "store mm1 0x48 1"},
		addrs:     []int{0x40, 0x41, 0x48, 0x49},
		ranges:    [][2]int{{0x40, 8}, {0x40, 16}},
		dests:     []int{0x100},
		mms:       []string{"mm1"},
		hot:       []string{"store mm1 0x40 1", "load mm1 0x41", "fork mm1 mm2"},
		extra:     []string{"punch mm1 h 0x8+8", "store mm1 0x48 2", "load mm1 0x49", "punch mm1 h 0x0+8"},
	},
	// A private hugetlb mapping reads a page-cache folio (mapped read-only
	// until written) that a hole punch removes: the punch's
	// hugetlb_unmap_file_folio trylocks the private VMA's lock, its
	// resv_map's rw_sema, which the exit's zap, an mprotect or a fault of
	// that mm may hold (variant
	// hugetlb_unmap_file_folio-private-vm_private_data).
	{name: "a hugetlbfs page read through another mm's private mapping: a hole punch removes it while that mm exits, mprotects or faults",
		files:   []string{"h 32 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+32 h@0x0 shared rw", "store mm1 0x48 1", "store mm1 0x50 2", "mmap mm2 0x40+32 h@0x0 private rw", "load mm2 0x48", "load mm2 0x50"},
		addrs:   []int{0x48, 0x50, 0x40, 0x58},
		ranges:  [][2]int{{0x40, 32}, {0x48, 8}},
		dests:   []int{0x100},
		mms:     []string{"mm2", "mm1"},
		hot:     []string{"punch mm1 h 0x8+16", "exit mm2", "mprotect mm2 0x40+32 r"},
		extra:   []string{"store mm2 0x58 5", "load mm2 0x40", "munmap mm2 0x48+8", "madvise mm2 0x40+32 dontneed", "migrate mm1 0x48", "fork mm2 {child}", "punch mm1 h 0x0+32"},
	},
	// hugetlbfs_file_mmap reserves the huge pages a shared mapping covers
	// (region_chg, hugetlb_acct_memory, region_add) under the inode's
	// i_rwsem, which a hole punch holds while it takes instantiated pages
	// out of the page cache and their indices out of the reserve map
	// (hugetlb_unreserve_pages): another mm maps the range being punched.
	{name: "a hugetlbfs file with instantiated pages: another mm maps it shared (reserving) while a hole punch removes pages and their reservations",
		files:   []string{"h 32 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+32 h@0x0 shared rw", "store mm1 0x40 1", "store mm1 0x48 2"},
		addrs:   []int{0x40, 0x48, 0x50},
		ranges:  [][2]int{{0x40, 16}, {0x40, 32}},
		dests:   []int{0x100},
		mms:     []string{"mm1", "mm2"},
		hot:     []string{"punch mm1 h 0x0+16", "mmap mm2 0x80+16 h@0x0 shared rw", "mmap mm2 0xc0+32 h@0x0 shared rw"},
		extra:   []string{"store mm1 0x50 3", "punch mm1 h 0x8+8", "munmap mm1 0x40+16", "store mm2 0x80 4", "mmap mm2 0x80+8 h@0x8 shared rw"},
	},
	// One PMD table (0x40-0x7f) under a private hugetlb VMA (never
	// shared: its table is the mm's own), an anonymous THP, a shmem THP
	// range, small anonymous pages, an anonymous THP range not touched yet
	// and small pages in a THP range: the hugetlb paths (huge_pte_lock is
	// the PMD table's lock) meet the THP and page-table paths (pmd_lock)
	// on one lock, which no template with hugetlb alone in its PUD range
	// can show. Four templates race different ops of it.
	mixedPMDTable("hugetlb faults, mprotect and migration", "store mm1 0x48 6", "mprotect mm1 0x50+8 r", "migrate mm1 0x40"),
	mixedPMDTable("a fork copies it while a THP is first touched and a hugetlb page faulted", "fork mm1 mm2", "store mm1 0x68 5", "store mm1 0x48 6"),
	mixedPMDTable("a THP migrates while a task waits on its PMD migration entry and the hugetlb range is made read-only", "migrate mm1 0x50", "load mm1 0x51", "mprotect mm1 0x40+16 r"),
	mixedPMDTable("khugepaged collapses small pages while a hugetlb page is faulted and another migrates", "collapse mm1 0x70", "store mm1 0x48 6", "migrate mm1 0x40"),
	// A fault waiting on a hugetlb migration entry (migration_entry_wait_huge
	// takes the table's lock) while a THP is faulted, and the reverse; a
	// private hugetlb page copied on write (hugetlb_wp) while khugepaged
	// retracts the shmem range's table and MADV_DONTNEED frees a PTE table
	// (PT reclaim), all under the one PMD lock.
	mixedPMDTable("a fault waits on a hugetlb page's migration entry while a THP is faulted", "migrate mm1 0x40", "load mm1 0x41", "fault mm1 0x50 read"),
	mixedPMDTable("a fault waits on a THP's migration entry while a forked hugetlb page is copied on write", "migrate mm1 0x50", "load mm1 0x51", "fork mm1 mm2; store mm1 0x40 8"),
	mixedPMDTable("a forked hugetlb page is copied on write while khugepaged retracts a table and MADV_DONTNEED frees one", "collapse mm1 0x58", "fork mm1 mm2; store mm1 0x40 8", "madvise mm1 0x60+8 dontneed"),
	// A PMD table two mms share changes owner: mm2's munmap unshares it
	// (hugetlb_unshare_pmds under its PMD lock), leaving it to mm1 alone,
	// whose MAP_FIXED mmap then cuts its hugetlb VMA (no unshare left to
	// do: the table is no longer shared) and maps THP ranges in the same
	// table, while mm2's op is still at work: hugetlb and THP paths of two
	// mms on one PMD lock, each under its own mm's mmap_lock.
	{name: "a hugetlb PMD table shared by two mms: one unmaps part of its range (unsharing) while the other maps THP ranges over part of its own and uses them",
		files:   []string{"h 64 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+64 h@0x0 shared rw", "store mm1 0x48 1", "mmap mm2 0x40+64 h@0x0 shared rw", "load mm2 0x48"},
		addrs:   []int{0x50, 0x51, 0x48, 0x58},
		ranges:  [][2]int{{0x50, 8}, {0x40, 64}, {0x48, 8}},
		dests:   []int{0x100},
		mms:     []string{"mm2", "mm1"},
		hot:     []string{"munmap mm2 0x48+8", "mmap mm1 0x50+8 anon rw thp; store mm1 0x50 5", "mprotect mm2 0x40+64 r"},
		extra: []string{"mprotect mm1 0x50+8 r", "fork mm1 {child}", "madvise mm1 0x50+8 dontneed", "migrate mm1 0x50; load mm1 0x51", "store mm1 0x51 6",
			"split mm1 0x50", "mmap mm1 0x58+8 anon rw; store mm1 0x58 7", "madvise mm1 0x58+8 dontneed", "munmap mm2 0x40+64", "fork mm2 {child}",
			"store mm2 0x60 8", "migrate mm2 0x48", "mmap mm1 0x50+8 anon rw thp; store mm1 0x51 2; split mm1 0x50; collapse mm1 0x50",
			"mmap mm1 0x50+8 anon rw thp; store mm1 0x50 5; mremap mm1 0x50+8 -> 0x100", "store mm1 0x58 5", "migrate mm1 0x48",
			"mmap mm1 0x50+8 anon rw thp; store mm1 0x50 5; fork mm1 {child}; store mm1 0x51 6", "mmap mm1 0x50+8 anon rw thp; store mm1 0x50 5; fault mm1 0x51 read"},
	},
	// A private hugetlb VMA never faulted has no anon_vma: its first
	// faults under the per-VMA lock prepare one with mmap_read_trylock
	// (__vmf_anon_prepare) while the mm's other ops, khugepaged and ksmd
	// take mmap_lock.
	{name: "a private hugetlb mapping never faulted: its first faults trylock mmap_lock for its anon_vma while ops, khugepaged and ksmd of the mm take it",
		files: []string{"h 16 hugetlb"},
		setup: []string{"mmap mm1 0x40+16 h@0x0 private rw", "mmap mm1 0x10+8 anon rw thp", "mprotect mm1 0x10+1 r", "store mm1 0x11 2",
			"store mm1 0x12 3", "mprotect mm1 0x10+1 rw", "mmap mm1 0x20+8 anon rw", "store mm1 0x20 4", "store mm1 0x21 4"},
		addrs:  []int{0x40, 0x48, 0x11, 0x20},
		ranges: [][2]int{{0x20, 8}, {0x10, 8}, {0x40, 16}, {0x20, 4}},
		dests:  []int{0x30, 0x28},
		mms:    []string{"mm1"},
		hot:    []string{"store mm1 0x40 5", "store mm1 0x48 6", "mprotect mm1 0x20+4 r"},
		extra: []string{"collapse mm1 0x10", "ksm mm1 0x20", "fork mm1 {child}", "munmap mm1 0x20+8", "mremap mm1 0x20+8 -> 0x30",
			"madvise mm1 0x20+8 dontneed", "mmap mm1 0x30+8 anon rw", "store mm1 0x41 7", "fault mm1 0x48 write", "exit mm1"},
	},
	// khugepaged collapses small pages of a forked range: its anon_vma
	// lock is the root's, which the child's fork, split, move and exit
	// take too.
	{name: "small anonymous pages in a THP range shared with a fork child: khugepaged collapses them while the child forks, splits, moves and exits",
		setup: []string{"mmap mm1 0x10+8 anon rw thp", "mprotect mm1 0x10+1 r", "store mm1 0x11 2", "store mm1 0x12 3", "mprotect mm1 0x10+1 rw",
			"fork mm1 mm2", "store mm2 0x13 4", "store mm1 0x14 5"},
		addrs:  []int{0x11, 0x12, 0x13, 0x14},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}, {0x14, 4}},
		dests:  []int{0x30, 0x20},
		mms:    []string{"mm2", "mm1"},
		hot:    []string{"collapse mm1 0x10", "fork mm2 mm3", "mprotect mm2 0x10+4 r"},
		extra: []string{"collapse mm2 0x10", "exit mm2", "munmap mm2 0x10+8", "mremap mm2 0x10+8 -> 0x30", "mremap mm2 0x10+4 -> 0x30 dontunmap",
			"split mm1 0x10", "mprotect mm2 0x14+4 r", "migrate mm2 0x11", "store mm2 0x14 9", "mmap mm2 0x18+8 anon rw; store mm2 0x18 6"},
	},
	// mm->page_table_lock is taken by huge_pmd_share (a first hugetlb
	// fault sharing another mm's PMD table), huge_pte_alloc and
	// __handle_mm_fault (a PMD table allocated), move_page_tables (the
	// destination's PMD table) and __anon_vma_prepare: here all in mm1 at
	// once, the faults under the per-VMA lock while mremap holds mmap_lock.
	{name: "a hugetlb PMD table another mm shares with mm1's first faults, while mm1 moves a range into a PUD range without a PMD table and first-touches an anonymous VMA",
		files:   []string{"h 64 hugetlb"},
		declare: []string{"mm2"},
		setup: []string{"mmap mm2 0x40+64 h@0x0 shared rw", "store mm2 0x48 1", "mmap mm1 0x40+64 h@0x0 shared rw", "mmap mm1 0x10+8 anon rw",
			"store mm1 0x10 2", "mmap mm1 0x20+8 anon rw", "mmap mm1 0x180+8 h@0x0 private rw"},
		addrs:  []int{0x48, 0x50, 0x10, 0x20, 0x180},
		ranges: [][2]int{{0x10, 8}, {0x20, 8}, {0x40, 64}},
		dests:  []int{0x100, 0x140},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"load mm1 0x48", "mremap mm1 0x10+8 -> 0x100", "store mm1 0x20 3"},
		extra: []string{"store mm1 0x50 4", "mremap mm1 0x10+8 -> 0x140", "fault mm1 0x58 write", "mmap mm1 0x100+8 anon rw; store mm1 0x100 5",
			"store mm1 0x180 6", "fork mm1 {child}", "migrate mm2 0x48", "munmap mm1 0x40+64", "store mm1 0x48 7"},
	},
	// retract_page_tables takes the PMD table's lock and the emptied PTE
	// table's without mmap_lock: here the PMD table also maps an anonymous
	// THP range (first touched, written after fork, migrated), small
	// anonymous pages (swapped, merged by ksmd, freed with their table by
	// MADV_DONTNEED) and a private mapping of the same file, whose COW
	// faults prepare an anon_vma the retraction re-checks under the PTL.
	{name: "a shmem THP range with an emptied table beside anonymous THP, small anonymous and private file pages in one PMD table: khugepaged retracts it while they are faulted",
		setup: []string{"mmap mm1 0x40+8 file1@0x0 shared rw thp", "store mm1 0x40 1", "madvise mm1 0x40+1 dontneed", "mmap mm1 0x48+16 anon rw thp",
			"store mm1 0x50 2", "mmap mm1 0x58+8 anon rw", "store mm1 0x58 3", "store mm1 0x59 3", "mmap mm1 0x60+8 file1@0x0 private rw"},
		addrs:  []int{0x48, 0x51, 0x58, 0x60, 0x41, 0x59},
		ranges: [][2]int{{0x58, 8}, {0x48, 16}, {0x40, 8}, {0x60, 8}},
		dests:  []int{0x78, 0x30},
		mms:    []string{"mm1"},
		hot:    []string{"collapse mm1 0x40", "store mm1 0x48 5", "fault mm1 0x60 write"},
		extra: []string{"fork mm1 {child}", "reclaim mm1 0x58", "reclaim mm1 0x58; load mm1 0x58", "fault mm1 0x61 read", "ksm mm1 0x58",
			"migrate mm1 0x50", "load mm1 0x52", "fork mm1 {child}; store mm1 0x52 7", "madvise mm1 0x58+8 dontneed", "migrate mm1 0x58",
			"store mm1 0x5a 8", "reclaim mm1 0x50", "fault mm1 0x41 read", "collapse mm1 0x40", "mprotect mm1 0x58+8 r", "store mm1 0x60 4"},
	},
	// The shrinker's split of a PTE-mapped anonymous THP locks the folio
	// (deferred_split_scan) and each new small folio
	// (__split_huge_page_tail) until it maps them again: here while a
	// second split tries the same folio, ksmd merges its pages, reclaim
	// and swap-in take them, and khugepaged collapses them again.
	{name: "a PTE-mapped anonymous THP split by two shrinker passes at once while ksmd merges its pages, reclaim and swap-in take them and khugepaged collapses them",
		setup:  []string{"mmap mm1 0x10+8 anon rw thp", "store mm1 0x10 1", "madvise mm1 0x17+1 dontneed", "store mm1 0x12 1", "store mm1 0x13 1"},
		addrs:  []int{0x10, 0x12, 0x13, 0x11},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}, {0x14, 4}},
		dests:  []int{0x30},
		mms:    []string{"mm1"},
		hot:    []string{"split mm1 0x10", "split mm1 0x11", "ksm mm1 0x12"},
		extra: []string{"reclaim mm1 0x13", "reclaim mm1 0x13; load mm1 0x13", "collapse mm1 0x10", "fork mm1 {child}; store mm1 0x14 9", "load mm1 0x13",
			"migrate mm1 0x12", "madvise mm1 0x10+4 dontneed", "store mm1 0x11 7", "split mm1 0x12"},
	},
	// khugepaged's scan (hpage_collapse_scan_pmd, under mmap_lock read)
	// and its collapse take the PTL of a page table whose whole range an
	// anonymous THP VMA covers; once the scan dropped mmap_lock a
	// MAP_FIXED mmap may put a file mapping over part of that range (the
	// table stays: the rest of the VMA still uses it) and file faults and
	// unmaps take the same PTL, while the collapse revalidates and fails.
	{name: "small anonymous pages in a THP range: khugepaged scans and collapses them while a file is mapped over half of the range and faulted, punched and merged",
		setup: []string{"mmap mm1 0x10+8 anon rw thp", "mprotect mm1 0x10+1 r", "store mm1 0x11 2", "store mm1 0x12 3", "mprotect mm1 0x10+1 rw",
			"store mm1 0x15 3", "store mm1 0x16 3"},
		addrs:  []int{0x11, 0x14, 0x15, 0x12},
		ranges: [][2]int{{0x10, 8}, {0x14, 4}, {0x10, 4}},
		dests:  []int{0x30},
		mms:    []string{"mm1"},
		hot:    []string{"collapse mm1 0x10", "mmap mm1 0x10+4 file1@0x0 private rw; load mm1 0x11", "ksm mm1 0x15"},
		extra: []string{"mmap mm1 0x10+4 file1@0x0 shared rw; store mm1 0x12 5", "mmap mm1 0x10+4 file1@0x0 private rw; store mm1 0x10 6",
			"punch mm1 file1 0x0+2", "reclaim mm1 0x15; load mm1 0x15", "mremap mm1 0x14+4 -> 0x30", "madvise mm1 0x14+4 dontneed", "fork mm1 {child}",
			"mprotect mm1 0x14+4 r", "munmap mm1 0x14+4", "collapse mm1 0x10"},
	},
	// A page table keeps its identity while any VMA overlaps its range:
	// a file fault takes its PTL in a private file VMA, the file VMA is
	// replaced by anonymous memory that merges with the THP range beside
	// it (munmap leaves the table: the anonymous VMA still uses it), and
	// khugepaged collapses the now whole THP range, taking the same PTL,
	// all while the file fault's op is still at work.
	{name: "a page table under a private file VMA and a THP range: the file VMA is replaced by anonymous memory merging into the THP range, which khugepaged collapses while file faults are at work",
		setup: []string{"mmap mm1 0x10+4 file1@0x0 private rw", "mmap mm1 0x14+4 anon rw thp", "mprotect mm1 0x14+1 r", "store mm1 0x15 2", "store mm1 0x16 3",
			"mprotect mm1 0x14+1 rw", "load mm1 0x11"},
		addrs:  []int{0x10, 0x12, 0x15, 0x11},
		ranges: [][2]int{{0x10, 4}, {0x10, 8}, {0x14, 4}},
		dests:  []int{0x30},
		mms:    []string{"mm1"},
		hot:    []string{"store mm1 0x10 5", "munmap mm1 0x10+4; mmap mm1 0x10+4 anon rw thp", "collapse mm1 0x10"},
		extra: []string{"fault mm1 0x12 read", "fault mm1 0x13 write", "mmap mm1 0x10+4 anon rw thp", "punch mm1 file1 0x0+2", "ksm mm1 0x15",
			"mremap mm1 0x10+4 -> 0x30", "mprotect mm1 0x10+4 r", "fork mm1 {child}", "madvise mm1 0x10+4 dontneed", "store mm1 0x11 6",
			"mmap mm1 0x10+4 file1@0x0 shared rw; store mm1 0x11 7"},
	},
	// collapse_file unmaps the small folios from every mapping and
	// retract_page_tables then takes each file VMA's PMD lock and PTL,
	// skipping VMAs with an anon_vma: a racy check, which it repeats under
	// the PTL, for a private mapping's write fault (do_cow_fault,
	// wp_page_copy) prepares one without the locks retraction takes.
	{name: "a shmem THP range mapped shared and private, the private mapping read-faulted: khugepaged collapses the file and retracts tables while the private mapping is written, moved, zapped, punched and merged by ksmd",
		setup: []string{"mmap mm1 0x10+8 file1@0x0 private rw thp", "load mm1 0x10", "load mm1 0x12", "mmap mm1 0x20+8 file1@0x0 shared rw thp", "store mm1 0x21 1",
			"madvise mm1 0x20+8 dontneed"},
		addrs:  []int{0x10, 0x11, 0x12, 0x13},
		ranges: [][2]int{{0x10, 8}, {0x20, 8}, {0x10, 4}},
		dests:  []int{0x30, 0x38},
		mms:    []string{"mm1"},
		hot:    []string{"collapse mm1 0x20", "store mm1 0x10 6", "store mm1 0x11 5"},
		extra: []string{"reclaim mm1 0x10", "ksm mm1 0x10", "migrate mm1 0x12", "load mm1 0x13", "fork mm1 {child}", "mprotect mm1 0x10+8 r",
			"madvise mm1 0x10+8 dontneed", "munmap mm1 0x10+8", "mremap mm1 0x10+8 -> 0x30", "punch mm1 file1 0x0+2", "collapse mm1 0x10",
			"store mm1 0x10 6; reclaim mm1 0x10; load mm1 0x10", "fault mm1 0x14 read"},
	},
	// A fork shares its root anon_vma (and the parent's THP) with the
	// child: the child's khugepaged collapse and the shrinker's split lock
	// that root for write while the parent's mprotect merges an unfaulted
	// neighbour with the VMA (the neighbour survives and takes the other's
	// anon_vma: dup_anon_vma, under the same root); the child's PTE-mapped
	// piece of the parent's PMD-mapped THP is isolated by the collapse
	// (folio lock) while the parent's write fault locks it in
	// do_huge_pmd_wp_page, and while the split locks it and its tails.
	{name: "a fork's shared root anon_vma and THP: the child collapses and splits while the parent merges an unfaulted neighbour into them and its write faults the PMD-mapped THP",
		setup: []string{"mmap mm1 0x8+8 anon r thp", "mmap mm1 0x10+8 anon rw thp", "mprotect mm1 0x10+1 r", "store mm1 0x11 2", "store mm1 0x12 3",
			"mprotect mm1 0x10+1 rw", "mmap mm1 0x20+8 anon r thp", "mmap mm1 0x28+8 anon rw thp", "store mm1 0x28 1", "fork mm1 mm2",
			"store mm2 0x11 4", "store mm2 0x12 5", "mprotect mm2 0x28+1 r", "mprotect mm2 0x28+1 rw"},
		addrs:  []int{0x11, 0x29, 0x28, 0x12},
		ranges: [][2]int{{0x8, 8}, {0x20, 8}, {0x10, 8}, {0x28, 8}},
		dests:  []int{0x38},
		mms:    []string{"mm2", "mm1"},
		hot:    []string{"collapse mm2 0x10", "mprotect mm1 0x8+8 rw", "split mm2 0x28"},
		extra: []string{"collapse mm2 0x28", "store mm1 0x29 6", "split mm1 0x28", "mprotect mm1 0x20+8 rw", "ksm mm2 0x11",
			"collapse mm2 0x28; store mm1 0x2a 7", "ksm mm2 0x29", "split mm2 0x29", "store mm2 0x13 8", "mprotect mm2 0x20+8 rw"},
	},
	// A page swapped out of a fork's two mms and swapped in by one: in the
	// swap cache, mapped by the child, a swap entry in the parent. The
	// child's khugepaged isolates it (folio lock) while the parent's
	// swap-in locks it (do_swap_page's folio_lock_or_retry) and the
	// parent's zap frees the last swap entry (free_swap_and_cache's
	// trylock); ksmd locks a page the two still share.
	{name: "a swap-cache page mapped by a fork's child and still swapped out in the parent: the child's khugepaged isolates it while the parent swaps it in, zaps its entry and ksmd merges",
		setup: []string{"mmap mm1 0x10+8 anon rw thp", "mprotect mm1 0x10+1 r", "store mm1 0x11 2", "store mm1 0x12 3", "store mm1 0x13 4",
			"mprotect mm1 0x10+1 rw", "fork mm1 mm2", "store mm2 0x12 5", "reclaim mm1 0x11", "load mm2 0x11"},
		addrs:  []int{0x11, 0x13, 0x12, 0x14},
		ranges: [][2]int{{0x10, 4}, {0x10, 8}, {0x11, 1}},
		dests:  []int{0x30},
		mms:    []string{"mm2", "mm1"},
		hot:    []string{"collapse mm2 0x10", "load mm1 0x11", "madvise mm1 0x11+1 dontneed"},
		extra: []string{"ksm mm1 0x13", "ksm mm2 0x11", "store mm1 0x11 6", "reclaim mm2 0x11", "madvise mm1 0x10+4 dontneed", "exit mm1",
			"collapse mm2 0x10", "munmap mm1 0x11+1", "migrate mm2 0x11"},
	},
	// Two mms map a hugetlbfs file without sharing a PMD table (the range
	// is less than a table's): both fault the same page (two
	// hugetlb_no_page of one folio, the second finding it in the page
	// cache or waiting on its lock) while a hole punch zeroes part of it
	// (filemap_lock_folio_nowait) or removes it, a migration locks it, and
	// a third mapping is linked into i_mmap.
	{name: "two mms fault one hugetlbfs page at once, without a shared PMD table, while a punch zeroes or removes it and it migrates",
		files:   []string{"h 16 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+16 h@0x0 shared rw", "store mm1 0x40 1", "mmap mm2 0x40+16 h@0x0 shared rw"},
		addrs:   []int{0x48, 0x40, 0x49, 0x41},
		ranges:  [][2]int{{0x48, 8}, {0x40, 16}},
		dests:   []int{0x90},
		mms:     []string{"mm1", "mm2"},
		hot:     []string{"load mm1 0x48", "load mm2 0x48", "punch mm1 h 0x9+2"},
		extra: []string{"migrate mm1 0x40", "load mm2 0x41", "punch mm2 h 0x1+2", "punch mm1 h 0x8+8", "mmap mm2 0x60+8 h@0x0 shared rw",
			"store mm2 0x40 5", "migrate mm2 0x48", "load mm1 0x40; load mm1 0x48", "punch mm1 h 0x0+8", "mmap mm1 0x60+8 h@0x8 private rw; load mm1 0x61"},
	},
	// A PMD table two mms share changes owner (ownerChange): mm2's op
	// unshares it, and mm1, its only owner now, cuts its hugetlb VMA and
	// puts THP, small-page, private hugetlb and file THP ranges in the
	// same table, all while mm2's op is still at work.
	ownerChange("mm1 writes a THP it shares with a fork and touches it again", "munmap mm2 0x48+8",
		"mmap mm1 0x50+8 anon rw thp; store mm1 0x50 5; fork mm1 mm3; store mm1 0x50 6", "store mm1 0x51 7"),
	ownerChange("mm1 copies a private hugetlb page on write and forks it", "munmap mm2 0x48+8",
		"mmap mm1 0x50+8 h@0x8 private rw; load mm1 0x50; store mm1 0x50 5; fork mm1 mm3", "mmap mm1 0x58+8 h@0x10 private rw; store mm1 0x58 6; fork mm1 mm4"),
	ownerChange("mm1's hugetlb page migrates while mm1 waits on its migration entry", "munmap mm2 0x48+8",
		"migrate mm1 0x48", "load mm1 0x48; load mm1 0x48"),
	ownerChange("mm1's new THP migrates while mm1 waits on its PMD migration entry", "munmap mm2 0x48+8",
		"mmap mm1 0x50+8 anon rw thp; store mm1 0x50 5; migrate mm1 0x50; migrate mm1 0x50", "fault mm1 0x51 read; fault mm1 0x52 read"),
	ownerChange("mm1 frees a page table (PT reclaim), moves one whole and khugepaged retracts one", "munmap mm2 0x48+8",
		"mmap mm1 0x50+8 anon rw; store mm1 0x50 5; madvise mm1 0x50+8 dontneed", "mmap mm1 0x58+8 anon rw; store mm1 0x58 5; mremap mm1 0x58+8 -> 0x100",
		"mmap mm1 0x60+8 file1@0x0 shared rw thp; store mm1 0x60 3; collapse mm1 0x60"),
	ownerChange("unshared by mm2's mprotect: mm1 forks THP and private hugetlb pages and moves a page table", "mprotect mm2 0x40+64 r",
		"mmap mm1 0x50+8 anon rw thp; store mm1 0x50 5; fork mm1 mm3", "mmap mm1 0x58+8 h@0x10 private rw; store mm1 0x58 5; fork mm1 mm4",
		"mmap mm1 0x60+8 anon rw; store mm1 0x60 5; mremap mm1 0x60+8 -> 0x100"),
	ownerChange("unshared by mm2's MADV_DONTNEED: mm1 forks a THP", "madvise mm2 0x40+64 dontneed",
		"mmap mm1 0x50+8 anon rw thp; store mm1 0x50 5; fork mm1 mm3", "mmap mm1 0x58+8 h@0x8 private rw; load mm1 0x58; store mm1 0x58 6"),
	ownerChange("reclaim looks at mm1's new THP (folio_referenced) while mm1 moves another", "munmap mm2 0x48+8",
		"mmap mm1 0x50+8 anon rw thp; store mm1 0x50 5; reclaim mm1 0x50", "mmap mm1 0x58+8 anon rw thp; store mm1 0x58 6; mremap mm1 0x58+8 -> 0x100"),
	ownerChange("unshared by mm2's mprotect: mm1 moves a THP, and khugepaged collapses one it split", "mprotect mm2 0x40+64 r",
		"mmap mm1 0x58+8 anon rw thp; store mm1 0x58 6; mremap mm1 0x58+8 -> 0x100", "mmap mm1 0x50+8 anon rw thp; store mm1 0x50 5; split mm1 0x50; collapse mm1 0x50"),
	mixedPMDTable("a THP is written after a fork while a fault waits on a hugetlb page's migration entry", "migrate mm1 0x40", "load mm1 0x41", "fork mm1 mm2; store mm1 0x50 8"),
	// Two THPs of the one PMD table swapped out at once (try_to_unmap_one
	// splits each PMD under the walk's PMD lock), one of them looked at
	// first (folio_referenced_one, under the same lock).
	mixedPMDTable("two THPs swapped out at once", "reclaim mm1 0x50", "store mm1 0x68 5; reclaim mm1 0x68", "store mm1 0x68 5; reclaim mm1 0x69"),
	// khugepaged's collapse_file through one mm while a second pass (through
	// another mm) finds the first one's new THP in the page cache and
	// trylocks it (SCAN_PTE_MAPPED_HUGEPAGE is seen under the folio lock),
	// or faults map the new THP and it migrates before the first pass
	// ends (a fault waits on its migration entry).
	shmemCollapse("two collapses at once", "collapse mm1 0x50", "collapse mm2 0x50; collapse mm2 0x50", "collapse mm1 0x50"),
	shmemCollapse("the new THP is mapped and migrates while a fault waits on it", "collapse mm1 0x50", "load mm2 0x51; migrate mm2 0x51", "fault mm2 0x51 read; fault mm2 0x51 read"),
	// retract_page_tables takes the PTL of a private file VMA's table and
	// skips it (the VMA got an anon_vma since its lockless check: a first
	// copy-on-write fault), so the table stays, and in khugepaged's op's
	// tail (the old folios put back) the table is used as any other: a
	// copy-on-write of a page read again, a swap-in, a first anonymous
	// fault where half the VMA was replaced.
	retractSkip("a page read again is copied on write", "load mm1 0x13; store mm1 0x13 7"),
	retractSkip("an anonymous copy is swapped out and in", "store mm1 0x13 7; reclaim mm1 0x13; load mm1 0x13"),
	retractSkip("half the VMA is replaced by anonymous memory and touched", "munmap mm1 0x14+4; mmap mm1 0x14+4 anon rw; store mm1 0x14 9"),
	retractSkip("the VMA is replaced, half by half, by anonymous memory khugepaged collapses", "mmap mm1 0x14+4 anon rw thp; mmap mm1 0x10+4 anon rw thp; store mm1 0x10 9; collapse mm1 0x10"),
	retractSkip("the VMA is replaced, half by half, by a mapping of the file's next THP range, which khugepaged collapses", "mmap mm1 0x14+4 file1@0xc shared rw thp; mmap mm1 0x10+4 file1@0x8 shared rw thp; collapse mm1 0x10"),
	retractSkip("ksmd write-protects an anonymous copy in it", "store mm1 0x13 7; ksm mm1 0x13"),
	// A private hugetlb page no page-cache folio backs: the first read
	// fault maps a new anonymous folio read-only (hugetlb_no_page locks it
	// new), a migration locks it in that fault's tail, and a write fault's
	// trylock fails and waits for it (folio_wait_locked, outside the fault
	// mutex).
	{name: "a private hugetlb mapping never faulted: a read fault maps a new anonymous page while it migrates and a write waits on its lock",
		files:  []string{"h 16 hugetlb"},
		setup:  []string{"mmap mm1 0x40+16 h@0x0 private rw"},
		addrs:  []int{0x40, 0x41, 0x48},
		ranges: [][2]int{{0x40, 16}, {0x40, 8}},
		dests:  []int{0x80},
		mms:    []string{"mm1"},
		hot:    []string{"load mm1 0x40", "migrate mm1 0x40", "store mm1 0x40 5; store mm1 0x41 6"},
		extra:  []string{"load mm1 0x48", "store mm1 0x48 7", "fork mm1 {child}", "madvise mm1 0x40+8 dontneed", "mprotect mm1 0x40+16 r", "migrate mm1 0x48"},
	},
	// A THP VMA too short for a THP, never written: its first write
	// prepares its anon_vma (__anon_vma_prepare, under mmap_lock read
	// trylocked) and maps a small page, while an mmap grows it to a whole
	// THP range and khugepaged collapses it (the anon_vma lock for write)
	// before the store's op ends.
	{name: "a THP VMA too short for a THP: its first write prepares its anon_vma while an mmap grows it to a THP range khugepaged collapses",
		setup:  []string{"mmap mm1 0x50+4 anon rw thp"},
		addrs:  []int{0x50, 0x51, 0x54},
		ranges: [][2]int{{0x50, 4}, {0x50, 8}},
		dests:  []int{0x100},
		mms:    []string{"mm1"},
		hot:    []string{"store mm1 0x50 5", "mmap mm1 0x54+4 anon rw thp; collapse mm1 0x50", "store mm1 0x51 6"},
		extra:  []string{"load mm1 0x51", "fork mm1 {child}", "migrate mm1 0x50", "madvise mm1 0x50+4 dontneed", "mprotect mm1 0x50+4 r"},
	},
	// A THP's write fault locks it (do_huge_pmd_wp_page reuses it) while
	// the shrinker splits it and its head, a small folio now, is swapped
	// out and in, zapped from the swap cache, merged by ksmd or isolated
	// by khugepaged before the store's op ends; and a split's tails met by
	// the same paths while the split goes on.
	thpWriteSplit("its head swapped out and in", "split mm1 0x50; reclaim mm1 0x50; load mm1 0x50"),
	thpWriteSplit("its head swapped out and zapped (free_swap_and_cache)", "split mm1 0x50; reclaim mm1 0x50; madvise mm1 0x50+1 dontneed"),
	thpWriteSplit("its head merged by ksmd or isolated by khugepaged", "split mm1 0x50; ksm mm1 0x50", "split mm1 0x50; collapse mm1 0x50"),
	// The shrinker's pass goes on after it unlocked the split folio (its
	// list back on the queue under split_queue_lock), while the head, a
	// small folio now, is swapped out and in, zapped from the swap cache,
	// isolated by khugepaged or written.
	{name: "an anonymous THP split by the shrinker while its head is swapped out and in, zapped from the swap cache, isolated by khugepaged and written",
		setup:  []string{"mmap mm1 0x50+8 anon rw thp", "store mm1 0x50 1"},
		addrs:  []int{0x50, 0x51},
		ranges: [][2]int{{0x50, 8}, {0x50, 1}},
		dests:  []int{0x100},
		mms:    []string{"mm1"},
		hot:    []string{"split mm1 0x50", "reclaim mm1 0x50; load mm1 0x50", "load mm1 0x50"},
		extra:  []string{"reclaim mm1 0x50; madvise mm1 0x50+1 dontneed", "collapse mm1 0x50", "store mm1 0x50 9", "fork mm1 {child}; store mm1 0x50 8", "reclaim mm1 0x50"},
	},
	{name: "an anonymous THP split by the shrinker while its tails are swapped out and in, zapped from the swap cache, merged by ksmd and isolated by khugepaged",
		setup:  []string{"mmap mm1 0x50+8 anon rw thp", "store mm1 0x50 1", "store mm1 0x51 2", "store mm1 0x52 3"},
		addrs:  []int{0x51, 0x52, 0x50},
		ranges: [][2]int{{0x50, 8}, {0x51, 1}, {0x52, 1}},
		dests:  []int{0x100},
		mms:    []string{"mm1"},
		hot:    []string{"split mm1 0x50", "reclaim mm1 0x51; load mm1 0x51", "load mm1 0x51"},
		extra: []string{"reclaim mm1 0x52; madvise mm1 0x52+1 dontneed", "collapse mm1 0x50", "ksm mm1 0x51", "reclaim mm1 0x52; load mm1 0x52",
			"madvise mm1 0x51+1 dontneed"},
	},
	// Two MADV_DONTNEEDs of one range free its page table at once (PT
	// reclaim: try_to_free_pte) while a thread faults pages back in, so
	// that one finds the table no longer empty and the other frees it.
	{name: "a faulted anonymous range freed by two MADV_DONTNEEDs at once (PT reclaim) while a thread faults pages back in",
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x11 2"},
		addrs:  []int{0x12, 0x10, 0x13, 0x11},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}},
		dests:  []int{0x20},
		mms:    []string{"mm1"},
		hot:    []string{"madvise mm1 0x10+8 dontneed", "madvise mm1 0x10+8 dontneed", "store mm1 0x12 3; store mm1 0x13 4"},
		extra:  []string{"madvise mm1 0x10+4 dontneed", "store mm1 0x10 5", "migrate mm1 0x11", "mremap mm1 0x10+8 -> 0x20", "fork mm1 {child}"},
	},
	// Two shmem files mapped side by side in one PTE table: their hole
	// punches (each under its own inode's i_rwsem) zap the same table at
	// once (unmap_mapping_range_vma) while it is faulted.
	{name: "two shmem files mapped side by side in one page table: both punched at once while their pages are faulted",
		files:  []string{"file2 8"},
		setup:  []string{"mmap mm1 0x10+4 file1@0x0 shared rw", "mmap mm1 0x14+4 file2@0x0 shared rw", "store mm1 0x10 1", "store mm1 0x11 2", "store mm1 0x14 3", "store mm1 0x15 4"},
		addrs:  []int{0x10, 0x14, 0x11, 0x15},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}, {0x14, 4}},
		dests:  []int{0x20},
		mms:    []string{"mm1"},
		hot:    []string{"punch mm1 file1 0x0+4", "punch mm1 file2 0x0+4", "store mm1 0x11 5; load mm1 0x15"},
		extra:  []string{"punch mm1 file1 0x1+2", "punch mm1 file2 0x0+2", "migrate mm1 0x10", "reclaim mm1 0x14", "madvise mm1 0x10+8 dontneed", "fork mm1 {child}"},
	},
	// A PTE table under a shared file VMA and an anonymous THP range: a
	// store faults a file page in (do_shared_fault), or a load reads one
	// (do_read_fault), while the file VMA is replaced by anonymous memory
	// that merges into the THP range, which khugepaged collapses, all
	// before the fault's op ends.
	fileVMAReplaced("fault", "store mm1 0x50 5", []int{0x50, 0x54, 0x51, 0x56},
		"load mm1 0x51", "munmap mm1 0x50+4", "migrate mm1 0x54", "madvise mm1 0x54+4 dontneed", "fork mm1 {child}", "mprotect mm1 0x54+4 r"),
	fileVMAReplaced("read fault", "load mm1 0x51", []int{0x51, 0x54, 0x50, 0x56},
		"store mm1 0x50 5", "migrate mm1 0x54", "madvise mm1 0x50+8 dontneed", "mprotect mm1 0x54+4 r"),
	// A PTE-mapped anonymous THP (an mprotect of its last page split the
	// PMD): reclaim splits it (shrink_folio_list: no PMD maps it) and goes
	// on, for many steps, to swap its head out, while a second reclaim
	// swaps a tail out and a fault on the tail's swap entry finds it
	// locked and waits (do_swap_page's __folio_lock_or_retry on a lock a
	// split took first, the first reclaim still at work).
	{name: "a PTE-mapped anonymous THP split by reclaim, which goes on to swap its head out, while a second reclaim swaps a tail out and a fault waits for it",
		setup:  []string{"mmap mm1 0x50+8 anon rw thp", "store mm1 0x50 1", "store mm1 0x51 2", "store mm1 0x52 3", "mprotect mm1 0x57+1 r"},
		addrs:  []int{0x51, 0x52, 0x50},
		ranges: [][2]int{{0x50, 7}, {0x51, 1}},
		dests:  []int{0x100},
		mms:    []string{"mm1"},
		hot:    []string{"reclaim mm1 0x50", "reclaim mm1 0x51", "load mm1 0x51; load mm1 0x51"},
		extra:  []string{"reclaim mm1 0x52; load mm1 0x52", "store mm1 0x51 5", "madvise mm1 0x51+1 dontneed", "ksm mm1 0x52", "collapse mm1 0x50"},
	},
}

// generate builds a program from choices: a template, then 2-3 tasks of 1-2
// ops aimed at the template's pages and VMAs; tasks > 0 gives that many
// tasks instead (the choice of the count is read all the same).
func generate(c *chooser, tasks int) *kernelsim.Program {
	tp := templates[c.n(len(templates))]
	text := tp.header()
	st := &genState{mms: tp.mms}
	if n := 2 + c.n(2); tasks <= 0 {
		tasks = n
	}
	for t := 1; t <= tasks; t++ {
		for i, n := 0, 1+c.n(2); i < n; i++ {
			var ops []string
			if i == 0 && t <= len(tp.hot) && c.biased(2) == 0 {
				// The template's own race, most of the time.
				for _, h := range strings.Split(tp.hot[t-1], "; ") {
					switch {
					case strings.HasPrefix(h, "exec "):
						if !st.exec {
							ops, st.exec = append(ops, h), true
							st.mms = append(st.mms, "mmx")
						}
					case strings.Contains(h, " mmx ") && !st.exec:
						// exec's mm does not exist in this program
					default:
						ops = append(ops, h)
					}
				}
			}
			if len(ops) == 0 {
				ops = strings.Split(op(c, &tp, st), "; ")
			}
			for _, o := range ops {
				text += fmt.Sprintf("t%d: %s\n", t, o)
			}
		}
	}
	p, err := kernelsim.Parse("fuzz", text)
	if err != nil {
		panic("mmrace internal error: the fuzz decoder built an invalid program: " + err.Error() + "\n" + text)
	}
	return p
}

// header is the text of a program of the template before its tasks: the
// mms, the files and the setup.
func (tp *template) header() string {
	text := "mm mm1"
	for _, d := range tp.declare {
		text += " " + d
	}
	text += "\nfile file1 32\ninject alloc-failures\n"
	for _, f := range tp.files {
		text += "file " + f + "\n"
	}
	if tp.hugepages > 0 {
		text += fmt.Sprintf("hugepages %d\n", tp.hugepages)
	}
	for _, s := range tp.setup {
		text += "setup: " + s + "\n"
	}
	return text
}

// file1Page is the page of file1 that the template's setup maps at addr
// (its first mmap of file1 over addr), if any.
func (tp *template) file1Page(addr int) (int, bool) {
	for _, s := range tp.setup {
		var mm string
		var start, n, pgoff int
		var rest string
		if k, _ := fmt.Sscanf(s, "mmap %s %v+%d file1@%v %s", &mm, &start, &n, &pgoff, &rest); k == 5 && addr >= start && addr < start+n {
			return pgoff + addr - start, true
		}
	}
	return 0, false
}

// genState is what the ops generated so far created: the mms a later op
// may name (children of forks, exec's mm) and whether exec was used.
type genState struct {
	mms      []string
	children int
	exec     bool
}

func op(c *chooser, tp *template, st *genState) string {
	if len(tp.extra) > 0 && c.n(3) == 0 {
		// Only templates with ops of their own read this choice, so the
		// programs of the others decode as before.
		x := tp.extra[c.n(len(tp.extra))]
		if strings.Contains(x, "{child}") {
			// A fork of the template's own: a fresh child each time.
			if st.children >= 4 {
				return fmt.Sprintf("load %s %#x", st.mms[0], tp.addrs[0])
			}
			st.children++
			child := fmt.Sprintf("mm%d", 4+st.children)
			st.mms = append(st.mms, child)
			x = strings.ReplaceAll(x, "{child}", child)
		}
		return x
	}
	m := st.mms[c.n(len(st.mms))]
	a := c.pick(tp.addrs)
	r := tp.ranges[c.biased(len(tp.ranges))]
	prot := []string{"r", "rw", "none"}[c.n(3)]
	switch c.n(25) {
	case 0, 1, 2, 3:
		return fmt.Sprintf("migrate %s %#x", m, a)
	case 4, 5, 6:
		d := c.pick(tp.dests)
		if d < r[0]+r[1] && r[0] < d+r[1] {
			d = 0x30
		}
		extra := ""
		if c.n(4) == 0 {
			extra = " dontunmap"
		}
		return fmt.Sprintf("mremap %s %#x+%d -> %#x%s", m, r[0], r[1], d, extra)
	case 7:
		return fmt.Sprintf("store %s %#x %d", m, a, 10+c.n(90))
	case 8:
		return fmt.Sprintf("load %s %#x", m, a)
	case 9, 10:
		return fmt.Sprintf("fault %s %#x %s", m, a, []string{"write", "read"}[c.n(2)])
	case 11:
		return fmt.Sprintf("munmap %s %#x+%d", m, r[0], r[1])
	case 12:
		return fmt.Sprintf("mprotect %s %#x+%d %s", m, r[0], r[1], prot)
	case 13:
		return fmt.Sprintf("madvise %s %#x+%d dontneed", m, r[0], r[1])
	case 14:
		return fmt.Sprintf("reclaim %s %#x", m, a)
	case 15:
		if !st.exec {
			st.exec = true
			st.mms = append(st.mms, "mmx")
			return fmt.Sprintf("exec mmx 0x%x+%d shift %d", 0x30+c.n(4), 1+c.n(3), []int{4, 5, 6, 7, 8, 9, 10, 0}[c.n(8)])
		}
		return fmt.Sprintf("%s mmx 0x%x", []string{"migrate", "reclaim"}[c.n(2)], 0x28+c.n(12))
	case 16:
		// A fault aimed where a concurrent move lands.
		return fmt.Sprintf("fault %s %#x %s", m, c.pick(tp.dests)+c.n(2), []string{"write", "read"}[c.n(2)])
	case 17:
		return fmt.Sprintf("mmap %s %#x+%d anon %s", m, r[0], r[1], prot)
	case 18:
		// A file mapping next to (or over) the template's, at an offset
		// that may make it mergeable.
		start := []int{0x20 + 4*c.n(4), r[0], r[0] + r[1]}[c.n(3)]
		return fmt.Sprintf("mmap %s %#x+4 file1@0x%x %s rw", m, start, c.n(16), []string{"shared", "private"}[c.n(2)])
	case 19, 20:
		if st.children < 4 {
			st.children++
			child := fmt.Sprintf("mm%d", 4+st.children)
			st.mms = append(st.mms, child)
			return fmt.Sprintf("fork %s %s", m, child)
		}
		return fmt.Sprintf("store %s %#x %d", m, a, 10+c.n(90))
	case 21:
		return fmt.Sprintf("exit %s", m)
	case 23:
		// A hole punched in file1 where the template maps the page of one
		// of its addresses (else anywhere in the first pages, which most
		// templates map): the page cache loses the page while it is
		// faulted, migrated or reclaimed (a migration's new folio, already
		// in the page cache, is kept from the punch by its folio lock).
		pg, ok := tp.file1Page(a)
		if !ok {
			pg = c.n(8)
		}
		return fmt.Sprintf("punch %s file1 %#x+%d", m, pg, 1+c.n(2))
	case 22:
		// A split in the middle of a range: two __split_vma.
		if r[1] >= 3 {
			return fmt.Sprintf("mprotect %s %#x+%d %s", m, r[0]+1, r[1]-2, prot)
		}
		return fmt.Sprintf("munmap %s %#x+1", m, r[0])
	default:
		nl := 1 + c.n(8)
		may := ""
		if c.n(2) == 0 {
			may = " maymove"
		}
		return fmt.Sprintf("mremap %s %#x+%d resize %d%s", m, r[0], r[1], nl, may)
	}
}

// Seeds is the seed corpus: every template with a few task shapes, each
// with no schedule bytes and with the bare PCTTag, both the non-preemptive
// schedule, so that the fuzzer mutates schedules of both kinds (byte
// decisions and PCT draws, schedule.go). No seed reproduces a variant
// semantic-only.
func Seeds() [][]byte {
	var out [][]byte
	for t := 0; t < len(templates); t++ {
		for _, shape := range [][]byte{{0, 0, 0, 0}, {1, 1, 3, 0, 0, 0, 3, 1}, {2, 2, 0, 3, 4, 1, 5, 2}, {1, 0, 0, 0, 0, 0, 0}} {
			prog := append([]byte{byte(t)}, shape...)
			out = append(out, Encode(prog, nil), Encode(prog, PCTTag))
		}
	}
	return out
}

// fileVMAReplaced is a template of a PTE table under a shared file VMA
// (0x50-0x53) and an anonymous THP range (0x54-0x57, faulted): fault, a
// file fault, races an mmap that replaces the file VMA by anonymous memory
// merging into the THP range and khugepaged's collapse of it.
func fileVMAReplaced(what, fault string, addrs []int, extra ...string) template {
	return template{name: "a page table under a shared file VMA and an anonymous THP range: a file " + what + " while the file VMA is replaced by anonymous memory khugepaged collapses",
		setup:  []string{"mmap mm1 0x50+4 file1@0x0 shared rw", "mmap mm1 0x54+4 anon rw thp", "store mm1 0x54 1", "store mm1 0x55 2", "store mm1 0x56 3", "store mm1 0x57 4"},
		addrs:  addrs,
		ranges: [][2]int{{0x50, 4}, {0x50, 8}, {0x54, 4}},
		dests:  []int{0x100},
		mms:    []string{"mm1"},
		hot:    []string{fault, "mmap mm1 0x50+4 anon rw thp", "collapse mm1 0x50"},
		extra:  extra,
	}
}

// shmemCollapse is a template of a shmem THP range (file1 0x0-0x7)
// faulted through mm1 and mapped, not yet faulted, by mm2, with hot as its
// tasks' own race.
func shmemCollapse(what string, hot ...string) template {
	return template{name: "a shmem THP range mapped by two mms, khugepaged collapses it: " + what,
		declare: []string{"mm2"},
		setup: []string{"mmap mm1 0x50+8 file1@0x0 shared rw thp", "store mm1 0x50 1", "store mm1 0x51 2", "store mm1 0x52 3", "store mm1 0x53 4",
			"store mm1 0x54 5", "store mm1 0x55 6", "store mm1 0x56 7", "store mm1 0x57 8", "mmap mm2 0x50+8 file1@0x0 shared rw thp"},
		addrs:  []int{0x51, 0x50, 0x52, 0x57},
		ranges: [][2]int{{0x50, 8}, {0x52, 2}},
		dests:  []int{0x100},
		mms:    []string{"mm1", "mm2"},
		hot:    hot,
		extra: []string{"collapse mm2 0x50", "load mm2 0x51", "store mm2 0x52 9", "migrate mm1 0x50", "madvise mm2 0x50+8 dontneed", "fault mm1 0x51 read",
			"reclaim mm1 0x52", "fork mm2 {child}"},
	}
}

// retractSkip is a template of a shmem THP range mapped private (two
// pages read-faulted) and shared (emptied), beside the file's next THP
// range mapped shared (one page faulted): khugepaged collapses it and
// retracts its tables while a first copy-on-write fault gives the private
// VMA an anon_vma, and chain runs in a third task.
func retractSkip(what, chain string) template {
	return template{name: "a shmem THP range mapped private and shared: khugepaged's retraction skips the private VMA's table, written meanwhile, and then " + what,
		setup: []string{"mmap mm1 0x10+8 file1@0x0 private rw thp", "load mm1 0x10", "load mm1 0x12", "mmap mm1 0x20+8 file1@0x0 shared rw thp", "store mm1 0x21 1",
			"madvise mm1 0x20+8 dontneed", "mmap mm1 0x30+8 file1@0x8 shared rw thp", "store mm1 0x30 1"},
		addrs:  []int{0x13, 0x11, 0x10, 0x14},
		ranges: [][2]int{{0x10, 8}, {0x14, 4}, {0x20, 8}},
		dests:  []int{0x40},
		mms:    []string{"mm1"},
		hot:    []string{"collapse mm1 0x20", "store mm1 0x11 5", chain},
		extra:  []string{"store mm1 0x10 6", "load mm1 0x13", "reclaim mm1 0x11", "migrate mm1 0x12", "fork mm1 {child}", "madvise mm1 0x10+8 dontneed"},
	}
}

// thpWriteSplit is a template of an anonymous THP made read-only and
// writable again, so that a store's write fault locks it
// (do_huge_pmd_wp_page), with chains (one of them the second task's race,
// the others its extras) that split it and use its head.
func thpWriteSplit(what string, chains ...string) template {
	return template{name: "an anonymous THP written through a read-only PMD while it is split and " + what,
		setup:  []string{"mmap mm1 0x50+8 anon rw thp", "store mm1 0x50 1", "mprotect mm1 0x50+8 r", "mprotect mm1 0x50+8 rw"},
		addrs:  []int{0x50, 0x51},
		ranges: [][2]int{{0x50, 8}, {0x50, 1}},
		dests:  []int{0x100},
		mms:    []string{"mm1"},
		hot:    []string{"store mm1 0x50 5", chains[0], "load mm1 0x50"},
		extra:  append([]string{"split mm1 0x50", "reclaim mm1 0x50", "fork mm1 {child}", "migrate mm1 0x50"}, chains[1:]...),
	}
}

// ownerChange is a template of a hugetlb PMD table (0x40-0x7f) that mm1
// and mm2 share (huge_pmd_share), where unshare, mm2's first task, is an
// op of mm2 that unshares it (hugetlb_unshare_pmds at a split,
// hugetlb_change_protection, __unmap_hugepage_range), leaving it to mm1
// alone; hot are mm1's tasks, which cut mm1's hugetlb VMA with MAP_FIXED
// mmaps (no unshare left to do) and use the table as any other while
// mm2's op is still at work: every PMD-table path of mm1 meets mm2's
// unsharing path on one PMD lock. (A table that holds anything but the
// leaves of one shared hugetlb VMA belongs to one mm; this is the only way
// such a table meets another mm's path.)
func ownerChange(what, unshare string, hot ...string) template {
	return template{name: "a hugetlb PMD table shared by two mms changes owner: " + what,
		files:   []string{"h 64 hugetlb"},
		declare: []string{"mm2"},
		setup:   []string{"mmap mm1 0x40+64 h@0x0 shared rw", "store mm1 0x48 1", "mmap mm2 0x40+64 h@0x0 shared rw", "load mm2 0x48"},
		addrs:   []int{0x50, 0x48, 0x58, 0x51, 0x60},
		ranges:  [][2]int{{0x50, 8}, {0x48, 8}, {0x40, 64}, {0x58, 8}},
		dests:   []int{0x100},
		mms:     []string{"mm1", "mm2"},
		hot:     append([]string{unshare}, hot...),
		extra: []string{"munmap mm2 0x48+8", "mprotect mm2 0x40+64 r", "madvise mm2 0x40+64 dontneed", "store mm1 0x48 8", "load mm1 0x58",
			"mmap mm1 0x50+8 h@0x8 private rw; load mm1 0x50; store mm1 0x50 5", "migrate mm1 0x48; load mm1 0x48",
			"mmap mm1 0x50+8 anon rw; store mm1 0x50 5; mremap mm1 0x50+8 -> 0x100", "fork mm1 {child}"},
	}
}

// mixedPMDTable is a template of one PMD table (0x40-0x7f) shared by a
// private hugetlb VMA (one huge page faulted), an anonymous THP, an emptied
// shmem THP range, small anonymous pages, an anonymous THP range not
// touched yet (0x68) and small pages in a THP range (0x70, for khugepaged),
// with hot as its tasks' own race.
func mixedPMDTable(what string, hot ...string) template {
	return template{name: "one PMD table under a private hugetlb VMA, anonymous and shmem THP ranges and small pages: " + what,
		files: []string{"h 16 hugetlb"},
		setup: []string{"mmap mm1 0x40+16 h@0x0 private rw", "store mm1 0x40 1", "mmap mm1 0x50+8 anon rw thp", "store mm1 0x50 2",
			"mmap mm1 0x58+8 file1@0x0 shared rw thp", "store mm1 0x58 3", "madvise mm1 0x58+1 dontneed", "mmap mm1 0x60+8 anon rw", "store mm1 0x60 4",
			"store mm1 0x63 5", "mmap mm1 0x68+16 anon rw thp", "mprotect mm1 0x70+1 r", "store mm1 0x71 2", "store mm1 0x72 3", "mprotect mm1 0x70+1 rw"},
		addrs:  []int{0x48, 0x50, 0x40, 0x58, 0x60, 0x68, 0x71, 0x51},
		ranges: [][2]int{{0x50, 8}, {0x40, 16}, {0x60, 8}, {0x58, 8}, {0x40, 8}, {0x70, 8}},
		dests:  []int{0x78, 0x30},
		mms:    []string{"mm1"},
		hot:    hot,
		extra: []string{"fork mm1 {child}", "mremap mm1 0x50+8 -> 0x78", "mremap mm1 0x60+8 -> 0x78", "munmap mm1 0x40+8",
			"madvise mm1 0x50+8 dontneed", "madvise mm1 0x60+8 dontneed", "migrate mm1 0x50", "reclaim mm1 0x50", "mprotect mm1 0x40+16 r",
			"split mm1 0x50", "collapse mm1 0x58", "store mm1 0x51 7", "load mm1 0x41", "fork mm1 {child}; store mm1 0x41 8", "exit mm1",
			"reclaim mm1 0x60", "migrate mm1 0x60", "migrate mm1 0x58", "load mm1 0x52", "store mm1 0x68 5", "load mm1 0x6a", "collapse mm1 0x70",
			"madvise mm1 0x60+8 dontneed; store mm1 0x61 9", "migrate mm1 0x71", "fork mm1 {child}; store mm1 0x52 6",
			"fault mm1 0x50 read", "fault mm1 0x51 write", "madvise mm1 0x40+8 dontneed", "mprotect mm1 0x68+8 r", "store mm1 0x68 5; fault mm1 0x69 read",
			"load mm1 0x41", "migrate mm1 0x40", "fork mm1 {child}; store mm1 0x40 9", "store mm1 0x48 6", "migrate mm1 0x50; load mm1 0x51"},
	}
}
