package oracle

import (
	"fmt"
	"slices"
	"strings"

	"mmrace/kernelsim"
)

// Difference is the first place where the model and the host disagree.
type Difference struct {
	Step int `json:"step"` // the op's index in program order
	// Kind classifies the difference, stably enough to count and to list as
	// known: the op's shape, then the category, e.g.
	// "mremap-grow: vma-merge".
	Kind   string `json:"kind"`
	MM     string `json:"mm,omitempty"` // the mm whose state differs
	Detail string `json:"detail"`
}

// Categories of difference, the second half of a Kind.
var categories = map[string]string{
	"result":             "the op's result differs (success, errno or signal)",
	"loaded-value":       "a load returned different values",
	"model-violation":    "the model failed one of its own checks where the host ran the op",
	"mm-gone":            "the mm exists on one side only",
	"vma-merge":          "the host has one VMA where the model has several",
	"vma-split":          "the model has one VMA where the host has several",
	"vma-bounds":         "the same pages are mapped, with VMA boundaries that differ otherwise",
	"vma-prot":           "a VMA's protection differs",
	"vma-backing":        "a VMA's file or shared/private mapping differs",
	"vma-pgoff":          "a file VMA's offset differs",
	"vma-host-only":      "the host maps pages the model does not",
	"vma-model-only":     "the model maps pages the host does not",
	"vma-layout":         "each side maps pages the other does not",
	"present-host-only":  "a page is present on the host and not in the model",
	"present-model-only": "a page is present in the model and not on the host",
	"present":            "each side has present pages the other has not",
	"value":              "a present page holds different values",
	"page-backing":       "a present page is a page-cache page on one side and private memory on the other",
}

// shape names the form of an op finely enough to tell kernel paths apart:
// mmap-anon, mremap-grow, mremap-dontunmap, fault-write, ...
func shape(o kernelsim.Op) string {
	switch o.Verb {
	case kernelsim.OpMmap:
		switch {
		case o.File == "":
			return "mmap-anon"
		case o.Shared:
			return "mmap-file-shared"
		}
		return "mmap-file-private"
	case kernelsim.OpMremap:
		switch {
		case o.DontUnmap:
			return "mremap-dontunmap"
		case o.Fixed && o.NewLen < o.Len:
			return "mremap-move-shrink"
		case o.Fixed:
			return "mremap-move"
		case o.NewLen > o.Len:
			return "mremap-grow"
		case o.NewLen < o.Len:
			return "mremap-shrink"
		}
		return "mremap-same"
	case kernelsim.OpFault:
		if o.Write {
			return "fault-write"
		}
		return "fault-read"
	}
	return o.Verb.String()
}

// compare returns how the host's and the model's observations after step i
// differ, or nil, and the pages it tolerated as the kernel's fault-around
// ("mm1 0x17").
func compare(i int, st planStep, host, model Obs) (*Difference, []string) {
	kind := func(cat string) string { return shape(st.op) + ": " + cat }
	var tolerated []string
	hr, mr := host.Result, model.Result
	if mr.Outcome == "violation" {
		inv, _, _ := strings.Cut(mr.Detail, ":")
		return &Difference{Step: i, Kind: kind("model-violation"), Detail: fmt.Sprintf("the model failed %s (%s); the host answered %s", inv, mr.Detail, hr)}, nil
	}
	if hr.Outcome != "skipped" {
		if hr.Outcome != mr.Outcome {
			return &Difference{Step: i, Kind: kind(fmt.Sprintf("result host=%s model=%s", hr.Outcome, mr.Outcome)), Detail: fmt.Sprintf("the host answered %s, the model %s%s", hr.Outcome, mr.Outcome, detail(mr))}, nil
		}
		if hr.Value != mr.Value {
			return &Difference{Step: i, Kind: kind("loaded-value"), Detail: fmt.Sprintf("the host loaded %d, the model %d", hr.Value, mr.Value)}, nil
		}
	}
	for _, hs := range host.MMs {
		ms := model.mm(hs.MM)
		if ms == nil || ms.Gone != hs.Gone {
			return &Difference{Step: i, Kind: kind("mm-gone"), MM: hs.MM, Detail: fmt.Sprintf("%s: host gone=%v, model gone=%v", hs.MM, hs.Gone, ms == nil || ms.Gone)}, tolerated
		}
		if cat, d := compareVMAs(hs.VMAs, ms.VMAs); cat != "" {
			return &Difference{Step: i, Kind: kind(cat), MM: hs.MM, Detail: hs.MM + ": " + d}, tolerated
		}
		pages, ahead := faultAround(&hs, ms, &model)
		for _, a := range ahead {
			tolerated = append(tolerated, fmt.Sprintf("%s %#x", hs.MM, a))
		}
		if cat, d := comparePages(pages, ms.Pages); cat != "" {
			return &Difference{Step: i, Kind: kind(cat), MM: hs.MM, Detail: hs.MM + ": " + d}, tolerated
		}
	}
	return nil, tolerated
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func detail(r Result) string {
	if r.Detail == "" {
		return ""
	}
	return " (" + r.Detail + ")"
}

// compareVMAs classifies how two VMA lists differ ("" when they do not).
func compareVMAs(h, m []VMA) (string, string) {
	if slices.Equal(h, m) {
		return "", ""
	}
	if cat, d := sided(coverage(h), coverage(m), "vma", "vma-layout", "mapped"); cat != "" {
		return cat, d
	}
	hb, mb := boundaries(h), boundaries(m)
	counts := fmt.Sprintf("the host has %s, the model %d", plural(len(h), "VMA"), len(m))
	switch {
	case subset(hb, mb) && len(hb) < len(mb):
		return "vma-merge", fmt.Sprintf("%s: the model splits at %s", counts, points(minus(mb, hb)))
	case subset(mb, hb) && len(mb) < len(hb):
		return "vma-split", fmt.Sprintf("%s: the host splits at %s", counts, points(minus(hb, mb)))
	case !slices.Equal(hb, mb):
		return "vma-bounds", counts
	}
	for j := range h {
		a, b := h[j], m[j]
		switch {
		case a.Prot != b.Prot:
			return "vma-prot", fmt.Sprintf("[%#x,%#x) is %s on the host, %s in the model", a.Start, a.End, a.Prot, b.Prot)
		case a.File != b.File || a.Shared != b.Shared:
			return "vma-backing", fmt.Sprintf("host %s, model %s", a, b)
		case a.Pgoff != b.Pgoff:
			return "vma-pgoff", fmt.Sprintf("host %s, model %s", a, b)
		}
	}
	return "", ""
}

// faultAround returns the host's present pages without those the kernel's
// fault-around mapped ahead of the model (LIMITS.md, "fault-around"): a
// page-cache page present only on the host, inside a file VMA, whose file
// page the model holds in its page cache with the same value. The model
// maps that very page on the first access, so the difference is in the
// present bit only.
func faultAround(hs, ms *MMState, model *Obs) (kept []Page, ahead []int) {
	for _, p := range hs.Pages {
		if _, both := slices.BinarySearchFunc(ms.Pages, p.Addr, func(q Page, a int) int { return q.Addr - a }); both {
			kept = append(kept, p)
			continue
		}
		keep := true
		for _, v := range hs.VMAs {
			if !p.File {
				break
			}
			if v.File != "" && v.Start <= p.Addr && p.Addr < v.End {
				val, ok := model.cached(v.File, v.Pgoff+p.Addr-v.Start)
				keep = !ok || val != p.Value
			}
		}
		if keep {
			kept = append(kept, p)
		} else {
			ahead = append(ahead, p.Addr)
		}
	}
	return kept, ahead
}

// comparePages classifies how two present-page lists differ.
func comparePages(h, m []Page) (string, string) {
	if slices.Equal(h, m) {
		return "", ""
	}
	addrs := func(ps []Page) []int {
		out := make([]int, len(ps))
		for i, p := range ps {
			out[i] = p.Addr
		}
		return out
	}
	if cat, d := sided(addrs(h), addrs(m), "present", "present", "present"); cat != "" {
		return cat, d
	}
	for j := range h {
		if h[j].Value != m[j].Value {
			return "value", fmt.Sprintf("page %#x holds %d on the host, %d in the model", h[j].Addr, h[j].Value, m[j].Value)
		}
	}
	for j := range h {
		if h[j].File != m[j].File {
			return "page-backing", fmt.Sprintf("page %#x is %s on the host, %s in the model", h[j].Addr, backing(h[j]), backing(m[j]))
		}
	}
	return "", ""
}

func backing(p Page) string {
	if p.File {
		return "a page-cache page"
	}
	return "private memory"
}

// sided classifies two ascending sets of pages by what one side has alone:
// cat+"-host-only", cat+"-model-only", or both when each side has pages the
// other lacks; "" when the sets are equal. what says what the pages are
// ("mapped", "present").
func sided(h, m []int, cat, both, what string) (string, string) {
	hOnly, mOnly := minus(h, m), minus(m, h)
	switch {
	case len(hOnly) > 0 && len(mOnly) > 0:
		return both, fmt.Sprintf("%s only on the host: %s; only in the model: %s", what, ranges(hOnly), ranges(mOnly))
	case len(hOnly) > 0:
		return cat + "-host-only", fmt.Sprintf("%s only on the host: %s", what, ranges(hOnly))
	case len(mOnly) > 0:
		return cat + "-model-only", fmt.Sprintf("%s only in the model: %s", what, ranges(mOnly))
	}
	return "", ""
}

// coverage returns the pages the VMAs map, ascending.
func coverage(vs []VMA) []int {
	var out []int
	for _, v := range vs {
		for a := v.Start; a < v.End; a++ {
			out = append(out, a)
		}
	}
	return out
}

// boundaries returns the VMAs' start and end points, ascending, without
// repeats.
func boundaries(vs []VMA) []int {
	var out []int
	for _, v := range vs {
		out = append(out, v.Start, v.End)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// minus returns the elements of a (ascending) not in b (ascending).
func minus(a, b []int) []int {
	var out []int
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}

func subset(a, b []int) bool { return len(minus(a, b)) == 0 }

// ranges prints ascending pages as ranges: "0x10-0x12, 0x18".
func ranges(ps []int) string {
	var parts []string
	for i := 0; i < len(ps); {
		j := i
		for j+1 < len(ps) && ps[j+1] == ps[j]+1 {
			j++
		}
		if i == j {
			parts = append(parts, fmt.Sprintf("%#x", ps[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%#x-%#x", ps[i], ps[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

func points(ps []int) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = fmt.Sprintf("%#x", p)
	}
	return strings.Join(parts, ", ")
}
