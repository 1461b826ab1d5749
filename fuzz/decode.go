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
package fuzz

import (
	"fmt"
	"strings"

	"mmrace/kernelsim"
)

// Decode splits data into a program and the schedule bytes.
func Decode(data []byte) (*kernelsim.Program, []byte) {
	if len(data) == 0 {
		return generate(&chooser{}), nil
	}
	n := int(data[0])
	if n > len(data)-1 {
		n = len(data) - 1
	}
	return generate(&chooser{b: data[1 : 1+n]}), data[1+n:]
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
	setup  []string
	addrs  []int    // pages that are mapped (targets of faults, loads, stores, migrations)
	ranges [][2]int // [start, len] ranges (sources of mremap, munmap, mprotect, madvise)
	dests  []int    // mremap destinations
	mms    []string
	hot    []string // the ops whose race the template is for, task by task
}

var templates = []template{
	{ // a faulted anonymous range
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x11 2", "store mm1 0x15 3", "store mm1 0x16 4"},
		addrs:  []int{0x10, 0x11, 0x15, 0x16},
		ranges: [][2]int{{0x10, 8}, {0x14, 4}, {0x10, 4}, {0x15, 2}},
		dests:  []int{0x20, 0x30, 0x26, 0x18},
		mms:    []string{"mm1"},
		hot:    []string{"mremap mm1 0x14+4 -> 0x26", "migrate mm1 0x15", "load mm1 0x14"},
	},
	{ // the upper half moved away, so that moving it back merges
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x11 2", "store mm1 0x15 3", "mremap mm1 0x14+4 -> 0x20"},
		addrs:  []int{0x21, 0x10, 0x11, 0x15},
		ranges: [][2]int{{0x20, 4}, {0x10, 4}, {0x21, 2}},
		dests:  []int{0x14, 0x30, 0x24},
		mms:    []string{"mm1"},
		hot:    []string{"mremap mm1 0x20+4 -> 0x14", "migrate mm1 0x21", "load mm1 0x15"},
	},
	{ // split by mprotect
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x14 2", "store mm1 0x17 3", "mprotect mm1 0x13+2 r"},
		addrs:  []int{0x10, 0x14, 0x17, 0x13},
		ranges: [][2]int{{0x13, 2}, {0x10, 8}, {0x15, 3}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1"},
		hot:    []string{"mprotect mm1 0x13+2 rw", "migrate mm1 0x14", "fault mm1 0x13 write"},
	},
	{ // a fork: pages shared copy-on-write
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x15 2", "fork mm1 mm2"},
		addrs:  []int{0x10, 0x15, 0x11},
		ranges: [][2]int{{0x10, 4}, {0x14, 4}, {0x10, 8}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1", "mm2"},
		hot:    []string{"munmap mm1 0x10+4", "migrate mm2 0x10", "store mm1 0x15 9"},
	},
	{ // a fork whose child moved part of its copy away
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x15 2", "fork mm1 mm2", "mremap mm2 0x14+4 -> 0x20"},
		addrs:  []int{0x15, 0x10, 0x21},
		ranges: [][2]int{{0x20, 4}, {0x10, 4}},
		dests:  []int{0x14, 0x30},
		mms:    []string{"mm2", "mm1"},
		hot:    []string{"mremap mm2 0x20+4 -> 0x14", "migrate mm1 0x15", "load mm2 0x15"},
	},
	{ // whole page tables: an aligned table moved away
		setup:  []string{"mmap mm1 0x8+16 anon rw", "store mm1 0x8 1", "store mm1 0x10 2", "store mm1 0x11 3", "mremap mm1 0x10+8 -> 0x28"},
		addrs:  []int{0x29, 0x8, 0x28, 0x11},
		ranges: [][2]int{{0x28, 8}, {0x8, 8}},
		dests:  []int{0x10, 0x38},
		mms:    []string{"mm1"},
		hot:    []string{"mremap mm1 0x28+8 -> 0x10", "migrate mm1 0x29", "load mm1 0x11"},
	},
	{ // file mappings, shared and private
		setup:  []string{"mmap mm1 0x10+4 file1@0x0 shared rw", "mmap mm1 0x18+4 file1@0x0 private rw", "store mm1 0x10 1", "load mm1 0x19"},
		addrs:  []int{0x10, 0x11, 0x18, 0x19},
		ranges: [][2]int{{0x10, 4}, {0x18, 4}},
		dests:  []int{0x20, 0x30},
		mms:    []string{"mm1"},
		hot:    []string{"munmap mm1 0x10+4", "migrate mm1 0x18", "madvise mm1 0x18+4 dontneed"},
	},
	{ // neighbouring VMAs with different protections, not faulted alike
		setup:  []string{"mmap mm1 0x10+4 anon r", "mmap mm1 0x14+4 anon rw", "store mm1 0x14 2"},
		addrs:  []int{0x16, 0x14, 0x10},
		ranges: [][2]int{{0x14, 4}, {0x10, 4}},
		dests:  []int{0x30, 0x20},
		mms:    []string{"mm1"},
		hot:    []string{"fault mm1 0x16 write", "mremap mm1 0x14+4 -> 0x30 dontunmap", "munmap mm1 0x10+4"},
	},
	{ // nothing faulted yet: first faults prepare anon_vmas
		setup:  []string{"mmap mm1 0x10+4 anon rw"},
		addrs:  []int{0x10, 0x12},
		ranges: [][2]int{{0x12, 2}, {0x10, 4}},
		dests:  []int{0x20, 0x14},
		mms:    []string{"mm1"},
		hot:    []string{"fault mm1 0x10 write", "mprotect mm1 0x12+2 r", "fault mm1 0x11 write"},
	},
	{ // exec: the temporary stack relocated while its pages migrate
		setup:  []string{"mmap mm1 0x10+4 anon rw", "store mm1 0x10 1"},
		addrs:  []int{0x10},
		ranges: [][2]int{{0x10, 4}},
		dests:  []int{0x20},
		mms:    []string{"mm1"},
		hot:    []string{"exec mmx 0x30+2 shift 8", "migrate mmx 0x30", "load mmx 0x28"},
	},
	{ // a THP mapped by a PMD leaf: moved off its alignment, split, zapped
		setup:  []string{"mmap mm1 0x10+8 anon rw thp", "store mm1 0x10 1", "store mm1 0x13 4"},
		addrs:  []int{0x10, 0x13, 0x24, 0x25},
		ranges: [][2]int{{0x10, 8}, {0x24, 8}, {0x10, 4}, {0x14, 4}},
		dests:  []int{0x30, 0x24, 0x21, 0x28},
		mms:    []string{"mm1"},
		hot:    []string{"mremap mm1 0x10+8 -> 0x30", "split mm1 0x10", "madvise mm1 0x10+4 dontneed"},
	},
	{ // a THP mapped by PTEs after fork and exit: one page reused writable, the others read-only
		setup: []string{"mmap mm1 0x10+8 anon rw thp", "store mm1 0x10 1", "fork mm1 mm2", "exit mm2",
			"munmap mm1 0x17+1", "store mm1 0x10 5"},
		addrs:  []int{0x11, 0x12, 0x10, 0x21},
		ranges: [][2]int{{0x13, 4}, {0x10, 7}, {0x10, 4}},
		dests:  []int{0x30, 0x21, 0x24},
		mms:    []string{"mm1"},
		hot:    []string{"migrate mm1 0x11", "store mm1 0x12 6", "load mm1 0x13"},
	},
	{ // a THP shared with a child, which faulted a THP of its own at the same address; the parent's moved away
		setup: []string{"mmap mm1 0x10+8 anon rw thp", "store mm1 0x10 1", "fork mm1 mm2", "madvise mm2 0x10+8 dontneed", "store mm2 0x10 2",
			"mremap mm1 0x10+8 -> 0x30"},
		addrs:  []int{0x10, 0x30, 0x11, 0x31},
		ranges: [][2]int{{0x10, 8}, {0x30, 8}, {0x10, 4}},
		dests:  []int{0x20, 0x24},
		mms:    []string{"mm2", "mm1"},
		hot:    []string{"migrate mm2 0x10", "split mm1 0x30", "load mm2 0x11"},
	},
	{ // a shared file mapping of a whole THP's range, its page table emptied: khugepaged collapses it and retracts the table
		setup:  []string{"mmap mm1 0x10+8 file1@0x0 shared rw thp", "store mm1 0x10 1", "madvise mm1 0x10+1 dontneed"},
		addrs:  []int{0x10, 0x13, 0x11},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}},
		dests:  []int{0x30, 0x38, 0x28},
		mms:    []string{"mm1"},
		hot:    []string{"collapse mm1 0x10", "mremap mm1 0x10+8 -> 0x30", "madvise mm1 0x10+8 dontneed"},
	},
	{ // a whole PTE table of anonymous pages: MADV_DONTNEED frees the table (PT reclaim) while faults refill it
		setup:  []string{"mmap mm1 0x10+8 anon rw", "store mm1 0x10 1", "store mm1 0x11 2", "store mm1 0x12 3"},
		addrs:  []int{0x10, 0x13, 0x11, 0x12},
		ranges: [][2]int{{0x10, 8}, {0x10, 4}},
		dests:  []int{0x30, 0x20},
		mms:    []string{"mm1"},
		hot:    []string{"madvise mm1 0x10+8 dontneed", "store mm1 0x10 9", "store mm1 0x13 4"},
	},
}

// generate builds a program from choices: a template, then 2-4 tasks of 1-3
// ops aimed at the template's pages and VMAs.
func generate(c *chooser) *kernelsim.Program {
	tp := templates[c.n(len(templates))]
	text := "mm mm1\nfile file1 16\ninject alloc-failures\n"
	for _, s := range tp.setup {
		text += "setup: " + s + "\n"
	}
	tasks := 2 + c.n(2)
	execs := 0
	for t := 1; t <= tasks; t++ {
		for i, n := 0, 1+c.n(2); i < n; i++ {
			o := ""
			if i == 0 && t <= len(tp.hot) && c.biased(2) == 0 {
				h := tp.hot[t-1] // the template's own race, most of the time
				switch {
				case strings.HasPrefix(h, "exec "):
					if execs == 0 {
						o, execs = h, 1
					}
				case strings.Contains(h, " mmx ") && execs == 0:
					// exec's mm does not exist in this program
				default:
					o = h
				}
			}
			if o == "" {
				o = op(c, &tp, &execs)
			}
			text += fmt.Sprintf("t%d: %s\n", t, o)
		}
	}
	p, err := kernelsim.Parse("fuzz", text)
	if err != nil {
		panic("mmrace internal error: the fuzz decoder built an invalid program: " + err.Error() + "\n" + text)
	}
	return p
}

func op(c *chooser, tp *template, execs *int) string {
	m := tp.mms[c.n(len(tp.mms))]
	a := c.pick(tp.addrs)
	r := tp.ranges[c.biased(len(tp.ranges))]
	prot := []string{"r", "rw", "none"}[c.n(3)]
	switch c.n(20) {
	case 18:
		return fmt.Sprintf("collapse %s %#x", m, a)
	case 19:
		return fmt.Sprintf("split %s %#x", m, a)
	case 0, 1, 2, 16:
		return fmt.Sprintf("migrate %s %#x", m, a)
	case 3, 4, 17:
		d := c.pick(tp.dests)
		if d < r[0]+r[1] && r[0] < d+r[1] {
			d = 0x30
		}
		extra := ""
		if c.n(4) == 0 {
			extra = " dontunmap"
		}
		return fmt.Sprintf("mremap %s %#x+%d -> %#x%s", m, r[0], r[1], d, extra)
	case 5:
		return fmt.Sprintf("store %s %#x %d", m, a, 10+c.n(90))
	case 6:
		return fmt.Sprintf("load %s %#x", m, a)
	case 7:
		return fmt.Sprintf("fault %s %#x %s", m, a, []string{"write", "read"}[c.n(2)])
	case 8:
		return fmt.Sprintf("munmap %s %#x+%d", m, r[0], r[1])
	case 9:
		return fmt.Sprintf("mprotect %s %#x+%d %s", m, r[0], r[1], prot)
	case 10:
		return fmt.Sprintf("madvise %s %#x+%d dontneed", m, r[0], r[1])
	case 11:
		return fmt.Sprintf("reclaim %s %#x", m, a)
	case 12:
		if *execs == 0 {
			*execs = 1
			return fmt.Sprintf("exec mmx 0x%x+%d shift %d", 0x30+c.n(4), 1+c.n(3), 4+c.n(8))
		}
		return fmt.Sprintf("migrate %s %#x", m, a)
	case 13:
		if *execs == 1 { // exec's mm exists in the text above
			return fmt.Sprintf("migrate mmx %#x", 0x30+c.n(4))
		}
		return fmt.Sprintf("migrate %s %#x", m, a)
	case 14:
		return fmt.Sprintf("mmap %s %#x+%d anon %s", m, r[0], r[1], prot)
	default:
		return fmt.Sprintf("mmap %s 0x%x+4 file1@0x%x shared rw", m, 0x20+4*c.n(4), c.n(8))
	}
}

// Seeds is the seed corpus: every template with a few task shapes and no
// schedule bytes (the non-preemptive schedule), which reproduces no variant
// semantic-only.
func Seeds() [][]byte {
	var out [][]byte
	for t := 0; t < len(templates); t++ {
		for _, shape := range [][]byte{{0, 0, 0, 0}, {1, 1, 3, 0, 0, 0, 3, 1}, {2, 2, 0, 3, 4, 1, 5, 2}} {
			prog := append([]byte{byte(t)}, shape...)
			out = append(out, Encode(prog, nil))
		}
	}
	return out
}
