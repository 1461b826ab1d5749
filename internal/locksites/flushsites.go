package locksites

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"mmrace/kernelsim/ksync"
)

// TLB flush sites (issue 16): mmrace locks mutates the model's TLB flushes
// like its lock acquisitions (the flush removed, or deferred past the
// unlock; kernelsim/flushmutant.go).
//
// Every flush goes through flushTLBRange, the TLB model's flush (tlb.go).
// The flush functions are flushTLBRange and every function of the TLB
// model's own files (tlbModelFiles) that calls a flush function —
// flushTLBMM, tlbFinishMMU (whose flush is attributed to its caller, as a
// delegated acquisition is). A flush site is a call of a flush function
// written in any other kernelsim file: one site per call line, whatever
// the flush function does inside (tlb_finish_mmu's range flush and its
// nested-gather flush_tlb_mm are one site, its caller's).
//
// The same rule runs at run time (IdentifyFlush): from the flush's call
// stack, skip ksync's frames and the TLB model's files; the first other
// kernelsim frame is the site. A test checks that every flush the corpus
// and generated programs execute is identified as a statically found site.

// flushPrimitive is the model's flush: every TLB flush passes through it.
const flushPrimitive = "flushTLBRange"

// tlbModelFiles are the files of the TLB model: calls written there are
// the model's own plumbing, never sites.
var tlbModelFiles = []string{"tlb.go", "flushmutant.go"}

// flushKernelNames are the kernel's names of the flush functions.
var flushKernelNames = map[string]string{
	"flushTLBRange": "flush_tlb_range",
	"flushTLBMM":    "flush_tlb_mm",
	"tlbFinishMMU":  "tlb_finish_mmu",
}

// kernelName is a kernel function name ("wp_page_copy").
var kernelName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// flushSites finds the flush sites of the source.
func (l *loader) flushSites() ([]*Site, error) {
	flushFns := map[*fn]bool{}
	for _, x := range l.funcs {
		if x.decl != nil && x.decl.Name.Name == flushPrimitive && x.decl.Recv != nil && slices.Contains(tlbModelFiles, x.file) {
			flushFns[x] = true
		}
	}
	if len(flushFns) != 1 {
		return nil, fmt.Errorf("the TLB model's flush (Kernel.%s in %s) is not in the kernelsim source: the flush-site scan needs updating", flushPrimitive, strings.Join(tlbModelFiles, ", "))
	}
	calls := func(x *fn) []*ast.CallExpr {
		var out []*ast.CallExpr
		inspect(x, func(n ast.Node) bool {
			if c, ok := n.(*ast.CallExpr); ok {
				if callee := l.staticCallee(c); callee != nil && flushFns[callee] {
					out = append(out, c)
				}
			}
			return true
		})
		return out
	}
	for changed := true; changed; {
		changed = false
		for _, x := range l.funcs {
			if !flushFns[x] && slices.Contains(tlbModelFiles, x.file) && len(calls(x)) > 0 {
				flushFns[x], changed = true, true
			}
		}
	}
	var out []*Site
	for _, x := range l.funcs {
		if slices.Contains(tlbModelFiles, x.file) {
			continue
		}
		variants := l.variantGuards(x)
		for _, c := range calls(x) {
			callee := l.staticCallee(c)
			name := callee.decl.Name.Name
			flush := flushKernelNames[name]
			if flush == "" {
				flush = name
			}
			out = append(out, &Site{Func: x.name, Kernel: l.flushKernel(x), Class: ksync.FlushClass, Primitive: name, Flush: flush,
				Variant: variants[c], Chain: []Pos{l.pos(c)}})
		}
	}
	return out, nil
}

// flushKernel is the kernel function a flush is written in: the
// function's "const site" when it names one (the closest enclosing
// function's, for a closure), else what its doc comment says it mirrors,
// else its Go name.
func (l *loader) flushKernel(x *fn) string {
	for y := x; y != nil; y = y.parent {
		if s := l.constSite(y); s != "" {
			return s
		}
	}
	if k := docKernel(x); k != "" {
		return k
	}
	return x.name
}

// constSite returns the value of "const site = ..." declared in x's own
// body when it is a kernel function name.
func (l *loader) constSite(x *fn) string {
	var out string
	inspect(x, func(n ast.Node) bool {
		g, ok := n.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST || out != "" {
			return out == ""
		}
		for _, sp := range g.Specs {
			vs := sp.(*ast.ValueSpec)
			for i, id := range vs.Names {
				if id.Name != "site" || i >= len(vs.Values) {
					continue
				}
				if tv, ok := l.info.Types[vs.Values[i]]; ok && tv.Value != nil && tv.Value.Kind() == constant.String {
					if v := constant.StringVal(tv.Value); kernelName.MatchString(v) {
						out = v
					}
				}
			}
		}
		return false
	})
	return out
}

// IdentifyFlush returns the site position of the flush whose call stack is
// pcs (from the flush hook outwards): skip ksync's frames and the TLB
// model's files; the first other kernelsim frame. ok is false when there
// is none.
func IdentifyFlush(pcs []uintptr) (Pos, bool) {
	frames := runtime.CallersFrames(pcs)
	for {
		fr, more := frames.Next()
		switch {
		case strings.HasPrefix(fr.Function, ksyncPath+"."):
		case strings.HasPrefix(fr.Function, kernelsimPath+"."):
			if f := filepath.Base(fr.File); !slices.Contains(tlbModelFiles, f) {
				return Pos{File: f, Line: fr.Line}, true
			}
		default:
			return Pos{}, false
		}
		if !more {
			return Pos{}, false
		}
	}
}

// IsFlush reports whether s is a TLB flush site.
func (s *Site) IsFlush() bool { return s.Class == ksync.FlushClass }

// identifyFlushChain is IdentifyFlush as a site chain (nil: none).
func identifyFlushChain(pcs []uintptr) []Pos {
	if p, ok := IdentifyFlush(pcs); ok {
		return []Pos{p}
	}
	return nil
}
