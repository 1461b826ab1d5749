package locksites

import (
	"strings"
	"testing"
)

// TestCheckBuild: a source whose Kernel methods start on other lines than
// the binary's is refused (Find reads the source next to the binary, which
// may have been edited since it was built).
func TestCheckBuild(t *testing.T) {
	ss, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	p, ok := ss.funcLines["Fault"]
	if !ok {
		t.Fatal("no line for Kernel.Fault")
	}
	ss.funcLines["Fault"] = Pos{File: p.File, Line: p.Line + 1}
	if err := ss.checkBuild(); err == nil || !strings.Contains(err.Error(), "rebuild mmrace") {
		t.Errorf("a moved Kernel.Fault was not noticed: %v", err)
	}
}
