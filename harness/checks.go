package harness

import (
	"fmt"
	"strings"

	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// runChecks evaluates a program's check: lines after its concurrent phase,
// in order, as task t, and returns the first that fails (invariant
// "check"), or nil. A load check performs a real load (it may fault).
func runChecks(t *sched.Task, k *kernelsim.Kernel, checks []kernelsim.Check) *sched.Violation {
	for _, c := range checks {
		if msg := evalCheck(t, k, c); msg != "" {
			return &sched.Violation{Invariant: "check", Task: -1, Step: t.Step(), Detail: fmt.Sprintf("line %d: check: %s: %s", c.Line, c, msg)}
		}
	}
	return nil
}

func evalCheck(t *sched.Task, k *kernelsim.Kernel, c kernelsim.Check) string {
	m := k.MM(c.MM)
	if m == nil || m.Exited() {
		return c.MM + " does not exist (exited)"
	}
	switch c.Kind {
	case kernelsim.CheckLoad:
		v, ok := k.Load(t, m, c.Addr)
		if !ok {
			return "the load raised SIGSEGV"
		}
		if v != c.Value {
			return fmt.Sprintf("the load returned %d", v)
		}
	case kernelsim.CheckUnmapped:
		if vs := overlapping(m, c.Addr, c.Addr+c.Len); len(vs) > 0 {
			return "mapped by " + describeVMAs(vs)
		}
	case kernelsim.CheckVMAs:
		first, last := c.VMAs[0], c.VMAs[len(c.VMAs)-1]
		vs := overlapping(m, first.Start, last.Start+last.Len)
		ok := len(vs) == len(c.VMAs)
		for i := 0; ok && i < len(vs); i++ {
			w := c.VMAs[i]
			ok = vs[i].Start() == w.Start && vs[i].End() == w.Start+w.Len &&
				(!w.HasProt || vs[i].Flags()&(kernelsim.VMRead|kernelsim.VMWrite) == w.Prot)
		}
		if !ok {
			return "found " + describeVMAs(vs)
		}
	}
	return ""
}

func overlapping(m *kernelsim.MM, start, end int) []*kernelsim.VMA {
	var out []*kernelsim.VMA
	for _, v := range m.VMAs() {
		if v.Start() < end && v.End() > start {
			out = append(out, v)
		}
	}
	return out
}

func describeVMAs(vs []*kernelsim.VMA) string {
	if len(vs) == 0 {
		return "no VMA"
	}
	var parts []string
	for _, v := range vs {
		parts = append(parts, fmt.Sprintf("[%#x,%#x) %s", v.Start(), v.End(), v.Flags()))
	}
	return strings.Join(parts, ", ")
}
