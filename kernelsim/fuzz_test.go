package kernelsim

// FuzzParseProgram is in the package itself and alone in its file so that
// OSS-Fuzz's compile_native_go_fuzzer (go-118-fuzz-build) can compile it
// into a libFuzzer binary: it takes the file that defines the target into
// the package as plain Go, which an external _test package cannot join.

import "testing"

// FuzzParseProgram: any text parses or errors (never panics), and what
// parses prints to a canonical form that parses back to the same text.
func FuzzParseProgram(f *testing.F) {
	f.Add("mm mm1\nfile file1 8\nsetup: mmap mm1 0x10+4 file1@0x2 shared rw\nt1: store mm1 0x10 5\nt2: fork mm1 mm2\nt2: load mm2 0x10\nschedule v1.AAAA\n")
	f.Add("mm mm1\nvariants mmap-vma-lock-after-i_mmap\nt1: mprotect mm1 0x0+1 none\n")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse("fuzz", s)
		if err != nil {
			return
		}
		q, err := Parse("canonical", p.String())
		if err != nil || q.String() != p.String() {
			t.Fatalf("canonical form does not round-trip: %v\n%s", err, p)
		}
	})
}
