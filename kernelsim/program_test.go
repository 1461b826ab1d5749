package kernelsim_test

import (
	"strings"
	"testing"

	"mmrace/kernelsim"
)

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"t1: load mm1 0x10", "p:1: load: unknown mm \"mm1\""},
		{"mm mm1\nt1: mmap mm1 0x10 anon rw", "p:2: mmap: expected a range ADDR+LEN"},
		{"mm mm1\nt1: mmap mm1 0x10+4 anon rwx", "p:2: mmap: expected a protection none, r or rw"},
		{"mm mm1\nt1: mmap mm1 0x10+4 f@0 shared rw", "p:2: mmap: unknown file \"f\""},
		{"mm mm1\nt1: frob mm1", "p:2: unknown op \"frob\""},
		{"mm mm1\nt9: load mm1 0x1", "p:2: expected setup or a task t1..t8"},
		{"mm mm1\nt2: load mm1 0x1", "task t1 has no ops"},
		{"mm mm1\nvariants nope", "p:2: unknown variant \"nope\""},
		{"mm mm1\nsetup: fork mm1 mm1", "p:2: fork: child \"mm1\" already exists"},
		{"mm mm1\nsetup: store mm1 0x10 -1", "p:2: store: expected a decimal value"},
		{"mm mm1\nfile f 0", "p:2: file f: expected a page count"},
		{"mm mm1\nschedule x", "p:2: schedule: expected one replay string"},
		{"load mm1", "p:1: expected \"setup: OP\""},
	} {
		_, err := kernelsim.Parse("p", tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}
