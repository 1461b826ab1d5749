//go:build !chromium

package timeline_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain is chromium_test.go's under the chromium build tag.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
