package kernelsim_test

import (
	"strings"
	"testing"

	"mmrace/kernelsim"
)

// TestParseHexLengths: lengths (of a range, of an mremap target or resize,
// of exec's shift) accept 0x-prefixed hex as addresses do, and print back
// in the canonical decimal form.
func TestParseHexLengths(t *testing.T) {
	const head = "mm mm1\nsetup: mmap mm1 0x10+64 anon rw\n"
	for _, tc := range []struct{ in, canonical string }{
		{"t1: munmap mm1 0x10+0x20", "t1: munmap mm1 0x10+32"},
		{"t1: munmap mm1 0x10+0X20", "t1: munmap mm1 0x10+32"},
		{"t1: munmap mm1 0x10+0x1f", "t1: munmap mm1 0x10+31"},
		{"t1: munmap mm1 0x10+32", "t1: munmap mm1 0x10+32"},
		{"t1: mprotect mm1 0x10+0xA r", "t1: mprotect mm1 0x10+10 r"},
		{"t1: mremap mm1 0x10+4 resize 0x10", "t1: mremap mm1 0x10+4 resize 16"},
		{"t1: mremap mm1 0x10+4 resize 16", "t1: mremap mm1 0x10+4 resize 16"},
		{"t1: mremap mm1 0x10+4 -> 0x80+0x8", "t1: mremap mm1 0x10+4 -> 0x80+8"},
		{"t1: mremap mm1 0x10+4 -> 0x80+8 dontunmap", "t1: mremap mm1 0x10+4 -> 0x80+8 dontunmap"},
		{"t1: exec mm2 0x10+4 shift 0x8", "t1: exec mm2 0x10+4 shift 8"},
		{"t1: exec mm2 0x10+0x4 shift 8", "t1: exec mm2 0x10+4 shift 8"},
	} {
		p, err := kernelsim.Parse("p", head+tc.in+"\n")
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		want := head + tc.canonical + "\n"
		if got := p.String(); got != want {
			t.Errorf("Parse(%q) prints\n%s\nwant\n%s", tc.in, got, want)
		}
		if q, err := kernelsim.Parse("canonical", p.String()); err != nil || q.String() != p.String() {
			t.Errorf("%q: the canonical form does not round-trip: %v", tc.in, err)
		}
	}
}

func TestParseBadLengths(t *testing.T) {
	const head = "mm mm1\nsetup: mmap mm1 0x10+64 anon rw\n"
	for _, tc := range []struct{ in, want string }{
		{"t1: munmap mm1 0x10+0x", `p:3: munmap: expected a length in pages after '+', got "0x"`},
		{"t1: munmap mm1 0x10+0x0", `expected a length in pages after '+', got "0x0"`},
		{"t1: munmap mm1 0x10+0", `expected a length in pages after '+', got "0"`},
		{"t1: munmap mm1 0x10+-4", `expected a length in pages after '+', got "-4"`},
		{"t1: munmap mm1 0x10+0xg", `expected a length in pages after '+', got "0xg"`},
		{"t1: munmap mm1 0x10+1_0", `expected a length in pages after '+', got "1_0"`},
		{"t1: munmap mm1 0x10+0x100001", `expected a length in pages after '+', got "0x100001"`},
		{"t1: mremap mm1 0x10+4 resize 0x0", `mremap: expected a new length in pages after resize, got "0x0"`},
		{"t1: mremap mm1 0x10+4 resize x10", `mremap: expected a new length in pages after resize, got "x10"`},
		{"t1: mremap mm1 0x10+4 -> 0x80+0xz", `mremap: target: expected a length in pages after '+', got "0xz"`},
		{"t1: exec mm2 0x10+4 shift 0x", `exec: expected a shift in pages (0 or more), got "0x"`},
		{"t1: exec mm2 0x10+4 shift -0x8", `exec: expected a shift in pages (0 or more), got "-0x8"`},
	} {
		_, err := kernelsim.Parse("p", head+tc.in+"\n")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestParseHugePages(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"hugepages 0", `p:2: hugepages: expected "hugepages N", the huge page pool's size, N in 1..512`},
		{"hugepages 513", `N in 1..512`},
		{"hugepages x", `N in 1..512`},
		{"hugepages", `N in 1..512`},
		{"hugepages 2 3", `N in 1..512`},
		{"hugepages 2\nhugepages 3", `p:3: hugepages declared twice`},
	} {
		_, err := kernelsim.Parse("p", "mm mm1\n"+tc.in+"\n")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
	p, err := kernelsim.Parse("p", "mm mm1\nfile h 16 hugetlb\nhugepages 2\nsetup: mmap mm1 0x40+16 h@0x0 shared rw\n")
	if err != nil {
		t.Fatal(err)
	}
	if p.HugePages != 2 || !strings.Contains(p.String(), "\nhugepages 2\n") {
		t.Errorf("hugepages 2 parsed as %d, printed as:\n%s", p.HugePages, p)
	}
}
