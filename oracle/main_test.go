package oracle

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks, besides goroutine leaks, that no helper process is left
// behind once every test has run.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if left := helpersLeft(); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "helper processes left behind: %v\n", left)
			code = 1
		}
		os.Exit(code)
	}))
}

// helpersLeft returns the helper processes that are children of this
// process, zombies included (every helper process is one: see host.go).
func helpersLeft() []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	me := os.Getpid()
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		comm, rest := s[open+1:close], strings.Fields(s[close+1:])
		if len(rest) < 2 || !strings.HasPrefix(comm, "mmhelper") {
			continue
		}
		if ppid, _ := strconv.Atoi(rest[1]); ppid == me {
			out = append(out, fmt.Sprintf("%s (%s, state %s)", e.Name(), comm, rest[0]))
		}
	}
	return out
}
