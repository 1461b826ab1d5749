package fuzz

import (
	"fmt"
	"strconv"
	"strings"
)

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

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
