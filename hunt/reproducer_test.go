package hunt

import (
	"os"
	"strings"
	"testing"

	"mmrace/harness"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
	"mmrace/minimize"
)

// A variant that fails in the sequential setup phase records no schedule;
// the reproducer must still carry a schedule line that mmrace replay takes.
func TestReproducerOfASetupFailure(t *testing.T) {
	p, err := kernelsim.Parse("setup", "mm mm1\nfile file1 32\nsetup: mmap mm1 0x10+8 file1@0x0 shared rw\nt1: load mm1 0x10\n")
	if err != nil {
		t.Fatal(err)
	}
	v, ok := kernelsim.LookupVariant("mmap-vma-lock-after-i_mmap")
	if !ok {
		t.Fatal("no variant mmap-vma-lock-after-i_mmap")
	}
	p.Variants = kernelsim.Variants{v.Name: true}
	rep := harness.Run(p, harness.Options{})
	if !rep.Finding() || rep.Schedule != "" {
		t.Fatalf("want a finding in setup without a schedule, got %s (schedule %q)", rep.Summary(), rep.Schedule)
	}
	path, err := writeScenario(t.TempDir(), v, minimize.Result{Program: p, Report: rep}, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "schedule ") {
			line = strings.TrimPrefix(l, "schedule ")
		}
	}
	if _, err := sched.ParseSchedule(line); err != nil {
		t.Fatalf("the reproducer's schedule line %q: %v\n%s", line, err, b)
	}
}
