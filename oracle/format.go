package oracle

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Format writes the report as a reader wants it: the first difference (the
// op with its line, the kind, both sides' layouts as ASCII diagrams, the
// present pages and values, the results), or that there is none; then the
// limit reached and the ops skipped on the host. lines are the ops' line
// numbers (OpLines); nil leaves them out.
func (r *Report) Format(w io.Writer, lines []int) {
	if d := r.First; d != nil {
		st := r.Steps[d.Step]
		fmt.Fprintf(w, "DIFFERENCE at op %d%s: %s\n", d.Step+1, lineOf(lines, d.Step), st.Text)
		fmt.Fprintf(w, "kind: %s (%s)\n", d.Kind, Category(d.Kind))
		fmt.Fprintf(w, "%s\n\n", d.Detail)
		fmt.Fprintf(w, "RESULT\n  host:  %s\n  model: %s%s\n\n", st.Host.Result, st.Model.Result, detail(st.Model.Result))
		var before *Obs
		if d.Step > 0 {
			before = &r.Steps[d.Step-1].Model
		}
		for _, hs := range st.Host.MMs {
			ms := st.Model.mm(hs.MM)
			if ms == nil {
				continue
			}
			var bs *MMState
			if before != nil {
				bs = before.mm(hs.MM)
			}
			fmt.Fprintf(w, "%s\n", layouts(hs.MM, bs, &hs, ms))
		}
	} else {
		fmt.Fprintf(w, "NO DIFFERENCE in %d ops\n", len(r.Steps))
	}
	if r.Limit != nil {
		fmt.Fprintf(w, "\nLIMIT (the ops from here on are not compared)\n  %s\n", r.Limit)
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintf(w, "\nSKIPPED ON THE HOST (their snapshots are compared)\n")
		for _, s := range r.Skipped {
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
	if len(r.FaultAround) > 0 {
		fmt.Fprintf(w, "\nPRESENT ON THE HOST BY FAULT-AROUND (tolerated: LIMITS.md)\n")
		for _, s := range r.FaultAround {
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
}

func lineOf(lines []int, i int) string {
	if i < len(lines) {
		return fmt.Sprintf(" (line %d)", lines[i])
	}
	return ""
}

// Category returns the description of a kind's category (the word after
// the op's shape).
func Category(kind string) string {
	_, cat, _ := strings.Cut(kind, ": ")
	cat, _, _ = strings.Cut(cat, " ")
	return categories[cat]
}

// layouts draws one mm before the op and after it on both sides, one column
// per page, each VMA a letter and each present page a '*', as the kernel's
// VMA tests draw them:
//
//	mm1          0x10    0x18
//	before       A B
//	host         AAA
//	model        AAB
//	host pages   * *
//	model pages  *
func layouts(mm string, before, host, model *MMState) string {
	type row struct {
		name string
		vmas []VMA
		page []Page
		pgs  bool
	}
	rows := []row{}
	if before != nil {
		rows = append(rows, row{name: "before", vmas: before.VMAs})
	}
	rows = append(rows, row{name: "host", vmas: host.VMAs}, row{name: "model", vmas: model.VMAs},
		row{name: "host pages", page: host.Pages, pgs: true}, row{name: "model pages", page: model.Pages, pgs: true})
	lo, hi := 1<<30, 0
	for _, r := range rows {
		for _, v := range r.vmas {
			lo, hi = min(lo, v.Start), max(hi, v.End)
		}
		for _, p := range r.page {
			lo, hi = min(lo, p.Addr), max(hi, p.Addr+1)
		}
	}
	var b strings.Builder
	if hi <= lo {
		fmt.Fprintf(&b, "%s: no VMAs on either side\n", mm)
		return b.String()
	}
	lo = lo / 8 * 8
	if hi-lo > 128 {
		fmt.Fprintf(&b, "%s (too wide to draw)\n", mm)
	} else {
		head := fmt.Sprintf("%-13s", mm)
		for a := lo; a < hi; a += 8 {
			head += fmt.Sprintf("%-8s", fmt.Sprintf("%#x", a))
		}
		b.WriteString(strings.TrimRight(head, " ") + "\n")
		for _, r := range rows {
			line := []rune(strings.Repeat(" ", hi-lo))
			for i, v := range r.vmas {
				for a := v.Start; a < v.End; a++ {
					line[a-lo] = rune('A' + i%26)
				}
			}
			for _, p := range r.page {
				line[p.Addr-lo] = '*'
			}
			if r.pgs && len(r.page) == 0 {
				continue
			}
			fmt.Fprintf(&b, "%s\n", strings.TrimRight(fmt.Sprintf("%-13s%s", r.name, string(line)), " "))
		}
	}
	for _, r := range rows {
		if r.pgs {
			continue
		}
		var parts []string
		for i, v := range r.vmas {
			parts = append(parts, fmt.Sprintf("%c = %s", 'A'+i%26, v))
		}
		if len(parts) == 0 {
			parts = []string{"no VMAs"}
		}
		fmt.Fprintf(&b, "  %-7s %s\n", r.name+":", strings.Join(parts, ", "))
	}
	if !slices.Equal(host.Pages, model.Pages) {
		fmt.Fprintf(&b, "  present, host:  %s\n  present, model: %s\n", pageList(host.Pages), pageList(model.Pages))
	}
	return b.String()
}

func pageList(ps []Page) string {
	if len(ps) == 0 {
		return "none"
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = fmt.Sprintf("%#x=%d", p.Addr, p.Value)
	}
	return strings.Join(parts, " ")
}

// Summary is the report as `mmrace diff -json` prints it.
type Summary struct {
	Ops     int        `json:"ops"` // ops compared
	Differs bool       `json:"differs"`
	First   *FirstDiff `json:"difference,omitempty"`
	Limit   *LimitHit  `json:"limit,omitempty"`
	Skipped []string   `json:"skipped,omitempty"`
	// FaultAround: pages tolerated as the kernel's fault-around.
	FaultAround []string `json:"fault_around,omitempty"`
}

// FirstDiff is the first difference with the op, its line and what both
// sides saw before and after it.
type FirstDiff struct {
	Difference
	Op       string `json:"op"`
	Line     int    `json:"line,omitempty"`
	Category string `json:"category"`
	Before   *Obs   `json:"before,omitempty"` // after the previous op (both sides agreed)
	Host     Obs    `json:"host"`
	Model    Obs    `json:"model"`
}

// Summary returns the report's summary; lines are the ops' line numbers
// (OpLines), nil if unknown.
func (r *Report) Summary(lines []int) Summary {
	s := Summary{Ops: len(r.Steps), Differs: r.Differs(), Limit: r.Limit, Skipped: r.Skipped, FaultAround: r.FaultAround}
	if d := r.First; d != nil {
		st := r.Steps[d.Step]
		f := &FirstDiff{Difference: *d, Op: st.Text, Category: Category(d.Kind), Host: st.Host, Model: st.Model}
		if d.Step < len(lines) {
			f.Line = lines[d.Step]
		}
		if d.Step > 0 {
			f.Before = &r.Steps[d.Step-1].Model
		}
		s.First = f
	}
	return s
}
