package sched

// FuzzParseSchedule is in the package itself and alone in its file so that
// OSS-Fuzz's compile_native_go_fuzzer (go-118-fuzz-build) can compile it
// into a libFuzzer binary: it takes the file that defines the target into
// the package as plain Go, which an external _test package cannot join.

import "testing"

// FuzzParseSchedule checks that any string either parses or errors, never
// panics, and that what parses re-encodes to a string that parses the same.
func FuzzParseSchedule(f *testing.F) {
	f.Add("v1.AAIAIvegSpY")
	f.Add(Schedule{{Value: 3}, {Data: true, Value: 9}}.String())
	f.Fuzz(func(t *testing.T, str string) {
		s, err := ParseSchedule(str)
		if err != nil {
			return
		}
		again, err := ParseSchedule(s.String())
		if err != nil || len(again) != len(s) {
			t.Fatalf("re-encoding %q: %v", str, err)
		}
	})
}
