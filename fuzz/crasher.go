package fuzz

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Engine names the fuzzing engine that wrote a crash file.
type Engine string

// The engines whose FuzzKernel crash files ReadCrashInput reads.
const (
	// GoTestFuzz is go test -fuzz: a "go test fuzz v1" corpus file under
	// testdata/fuzz/FuzzKernel.
	GoTestFuzz Engine = "go test fuzz v1"
	// LibFuzzer is a libFuzzer binary built from FuzzKernel by
	// go-118-fuzz-build (OSS-Fuzz's compile_native_go_fuzzer, ClusterFuzzLite):
	// a raw crash-<sha1> file holding the length-prefixed []byte argument.
	LibFuzzer Engine = "libFuzzer (go-118-fuzz-build)"
)

// ErrNotCrashFile is returned by ReadCrashInput for a file that is neither
// engine's crash file, such as a kernelsim program.
var ErrNotCrashFile = errors.New("not a FuzzKernel crash file")

// ReadCrashInput reads a FuzzKernel crash file of either engine and returns
// the []byte that FuzzKernel received, and the engine that wrote the file.
// A file that is neither gives ErrNotCrashFile (wrapped).
func ReadCrashInput(path string) ([]byte, Engine, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	data, eng, err := ParseCrashInput(filepath.Base(path), b)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return data, eng, nil
}

// ParseCrashInput is ReadCrashInput on a file's base name and content. A
// "go test fuzz v1" header means go test -fuzz. A libFuzzer crash file has no
// header: it is recognised by libFuzzer's artifact names (crash-, timeout-,
// oom-, leak-, slow-unit-) or by content that is not text, as no program or
// scenario is.
func ParseCrashInput(name string, b []byte) ([]byte, Engine, error) {
	if strings.HasPrefix(string(b), "go test fuzz v1") {
		data, err := ParseCrasher(string(b))
		return data, GoTestFuzz, err
	}
	if !libFuzzerArtifact(name) && isText(b) {
		return nil, "", ErrNotCrashFile
	}
	data, err := DecodeLibFuzzer(b)
	return data, LibFuzzer, err
}

// ParseCrasher reads a go test fuzz v1 corpus file of FuzzKernel (one
// []byte value) and returns the input bytes, so that a crasher can be
// replayed outside go test (mmrace replay).
func ParseCrasher(text string) ([]byte, error) {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 2 || strings.TrimSpace(lines[0]) != "go test fuzz v1" {
		return nil, fmt.Errorf("not a go test fuzz v1 file with one value")
	}
	v := strings.TrimSpace(lines[1])
	if !strings.HasPrefix(v, "[]byte(") || !strings.HasSuffix(v, ")") {
		return nil, fmt.Errorf("line 2: expected []byte(\"...\"), got %q", clip(v))
	}
	s, err := strconv.Unquote(v[len("[]byte(") : len(v)-1])
	if err != nil {
		return nil, fmt.Errorf("line 2: bad byte string: %v", err)
	}
	return []byte(s), nil
}

// DecodeLibFuzzer returns the []byte argument that a go-118-fuzz-build
// binary passes to FuzzKernel for the libFuzzer input raw. It mirrors
// go-fuzz-headers' ConsumeFuzzer.GetBytes, which the shim's F.Fuzz calls for
// a []byte parameter: a 4-byte big-endian length n, then the bytes; n == 0
// means 30; unless n equals the bytes left it is taken modulo them; bytes
// past the argument are ignored. An input of fewer than 5 bytes gives no
// argument, and the shim then skips the input: FuzzKernel never ran it.
func DecodeLibFuzzer(raw []byte) ([]byte, error) {
	if len(raw) < 5 {
		return nil, fmt.Errorf("a libFuzzer input of %d bytes is too short to hold FuzzKernel's []byte argument (it runs nothing)", len(raw))
	}
	n := binary.BigEndian.Uint32(raw)
	if n == 0 {
		n = 30
	}
	left := uint32(len(raw) - 4)
	if n != left {
		n %= left
	}
	return raw[4 : 4+n], nil
}

// EncodeLibFuzzer is DecodeLibFuzzer's inverse: the libFuzzer input that
// makes a go-118-fuzz-build binary call FuzzKernel with data. It turns the
// seeds into a libFuzzer seed corpus.
func EncodeLibFuzzer(data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(out, data...)
	if len(data) == 0 {
		out = append(out, 0) // a byte past the argument: the shim needs one
	}
	return out
}

// libFuzzerArtifact tells whether name is one libFuzzer gives the inputs it
// saves (-artifact_prefix plus kind-sha1).
func libFuzzerArtifact(name string) bool {
	for _, p := range []string{"crash-", "timeout-", "oom-", "leak-", "slow-unit-"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// isText tells whether b reads as text: UTF-8 without control characters
// other than tab, newline and carriage return.
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
