package fuzz

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain lives apart from the fuzz targets: go-118-fuzz-build compiles
// fuzz_test.go alone, with its own testing package (see fuzz_test.go).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
