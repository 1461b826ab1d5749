package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"mmrace/kernelsim"
)

// TestDecodeLibFuzzer pins the go-fuzz-headers GetBytes rules that a
// go-118-fuzz-build binary applies to FuzzKernel's []byte argument.
func TestDecodeLibFuzzer(t *testing.T) {
	for _, tc := range []struct {
		raw  []byte
		want []byte // nil: an error (the shim runs nothing)
	}{
		{nil, nil},
		{[]byte{0, 0, 0, 3}, nil}, // length but no byte left
		{[]byte{0, 0, 0, 3, 'a', 'b', 'c'}, []byte("abc")},                   // exact
		{[]byte{0, 0, 0, 2, 'a', 'b', 'c'}, []byte("ab")},                    // trailing bytes ignored
		{[]byte{0, 0, 0, 5, 'a', 'b', 'c'}, []byte("ab")},                    // 5 mod 3
		{[]byte{0, 0, 0, 6, 'a', 'b', 'c'}, []byte{}},                        // 6 mod 3
		{[]byte{0, 0, 0, 0, 'a', 'b', 'c'}, []byte{}},                        // 0 means 30; 30 mod 3
		{[]byte{0, 0, 0, 0, 'a', 'b', 'c', 'd'}, []byte("ab")},               // 30 mod 4
		{[]byte{1, 0, 0, 0, 'a', 'b', 'c'}, []byte("a")},                     // 2^24 mod 3, big-endian
		{[]byte{0xff, 0xff, 0xff, 0xff, 'a', 'b'}, []byte("a")},              // 2^32-1 mod 2
		{[]byte{0, 0, 0, 30, 'a', 'b', 'c'}[:5], []byte{}},                   // 30 mod 1
		{append([]byte{0, 0, 0, 30}, make([]byte, 30)...), make([]byte, 30)}, // n equal to the bytes left is taken whole
	} {
		got, err := DecodeLibFuzzer(tc.raw)
		if tc.want == nil {
			if err == nil {
				t.Errorf("% x: got %q, want an error", tc.raw, got)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("% x: got %q, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
}

// TestEncodeLibFuzzer: EncodeLibFuzzer inverts DecodeLibFuzzer on random
// data, and a random libFuzzer input re-encoded decodes to the same argument.
func TestEncodeLibFuzzer(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		data := make([]byte, rng.IntN(64))
		for j := range data {
			data[j] = byte(rng.UintN(256))
		}
		got, err := DecodeLibFuzzer(EncodeLibFuzzer(data))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%q: round trip gives %q, %v", data, got, err)
		}
		if len(data) < 5 {
			continue
		}
		arg, err := DecodeLibFuzzer(data)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := DecodeLibFuzzer(EncodeLibFuzzer(arg)); !bytes.Equal(again, arg) {
			t.Fatalf("% x: argument %q re-encoded decodes to %q", data, arg, again)
		}
	}
}

// TestReadCrashInputFiles reads crash files: a libFuzzer crash file (the
// form scripts/libfuzzer-check.sh gets from FuzzKernel built with
// go-118-fuzz-build, fuzzing move_ptes-skip-rmap-locks semantic-only; the
// decoder's changes invalidate old ones, so the one kept here is an input
// of RandomInput that fails under the variant, written in libFuzzer's
// encoding by EncodeLibFuzzer), and a go test -fuzz crasher; both decode to a run that fails under the variant
// and passes on the faithful kernel. A program is not a crash file.
func TestReadCrashInputFiles(t *testing.T) {
	libfuzzer, err := filepath.Glob("testdata/libfuzzer/FuzzKernel/crash-*")
	if err != nil || len(libfuzzer) == 0 {
		t.Fatalf("no libFuzzer crash file under testdata/libfuzzer/FuzzKernel: %v", err)
	}
	variant := Config{Variants: kernelsim.Variants{"move_ptes-skip-rmap-locks": true}, SemanticOnly: true}
	for _, path := range libfuzzer {
		data, eng, err := ReadCrashInput(path)
		if err != nil || eng != LibFuzzer {
			t.Fatalf("%s: %v, engine %q", path, err, eng)
		}
		if rep := Run(data, variant); !rep.Finding() {
			t.Errorf("%s: no finding under %s: %s", path, variant.Variants, rep.Summary())
		}
		if rep := Run(data, Config{}); !rep.OK() {
			t.Errorf("%s: the faithful kernel fails: %s", path, rep.Summary())
		}
		// The same input saved by go test -fuzz reads back the same.
		raw, _ := os.ReadFile(path)
		gotest := filepath.Join(t.TempDir(), "crasher")
		if err := os.WriteFile(gotest, fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", data), 0o644); err != nil {
			t.Fatal(err)
		}
		again, eng, err := ReadCrashInput(gotest)
		if err != nil || eng != GoTestFuzz || !bytes.Equal(again, data) {
			t.Fatalf("go test form of %s: %q, %q, %v", path, again, eng, err)
		}
		// Renamed, a libFuzzer file is still told by its content.
		renamed := filepath.Join(t.TempDir(), "input.bin")
		if err := os.WriteFile(renamed, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, eng, err := ReadCrashInput(renamed); err != nil || eng != LibFuzzer {
			t.Fatalf("%s renamed: %q, %v", path, eng, err)
		}
	}
	prog := filepath.Join(t.TempDir(), "prog.txt")
	if err := os.WriteFile(prog, []byte("mm mm1\nsetup: mmap mm1 0x10+4 anon rw\nt1: fault mm1 0x10 write\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadCrashInput(prog); !errors.Is(err, ErrNotCrashFile) {
		t.Fatalf("a program: %v, want ErrNotCrashFile", err)
	}
	short := filepath.Join(t.TempDir(), "crash-0000")
	if err := os.WriteFile(short, []byte{0, 0, 1}, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadCrashInput(short); err == nil || errors.Is(err, ErrNotCrashFile) {
		t.Fatalf("a 3-byte libFuzzer file: %v, want a decoding error", err)
	}
}

// TestLibFuzzerSeeds: every seed survives the libFuzzer encoding. With
// MMRACE_LIBFUZZER_SEEDS=DIR it writes them into DIR as a libFuzzer seed
// corpus; .clusterfuzzlite/build.sh and scripts/libfuzzer-check.sh use it:
//
//	MMRACE_LIBFUZZER_SEEDS=/tmp/seeds go test ./fuzz -run '^TestLibFuzzerSeeds$'
func TestLibFuzzerSeeds(t *testing.T) {
	dir := os.Getenv("MMRACE_LIBFUZZER_SEEDS")
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range seeds() {
		raw := EncodeLibFuzzer(s)
		if got, err := DecodeLibFuzzer(raw); err != nil || !bytes.Equal(got, s) {
			t.Fatalf("seed %d: %q, %v", i, got, err)
		}
		if dir != "" {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%03d", i)), raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
