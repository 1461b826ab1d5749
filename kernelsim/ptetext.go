package kernelsim

import "mmrace/kernelsim/sched"

// Typed trace texts (sched.Text) for the model's values whose printed form
// is made of names and numbers: a PTE (PTE.String) and a VMA
// (VMA.Describe). The hot trace events name them; recording them typed
// keeps their operands (names and integers, taken when the event happens)
// and formats the text only when the trace is read, byte for byte as the
// String methods print it.

// vmaDescFmt is the format of VMA.Describe; descOps adds its operands.
const vmaDescFmt = "%s [%#x,%#x) pgoff %#x"

// descOps adds the operands of vmaDescFmt for v as it is now.
func (v *VMA) descOps(x *sched.Text) *sched.Text {
	return x.S(v.name).N(v.start).N(v.end).N(v.pgoff)
}

// pteText is PTE.String of one PTE as a shape (which of the forms
// PTE.String prints, numbered by pteShapeOf) and the operands the shape's
// format takes: the folio's name and, for a page of a large folio, its
// index. It is taken when the event happens: a folio's order changes when
// it is split, so the PTE itself cannot be formatted later.
type pteText struct {
	shape uint8
	name  string
	page  int
}

// The targets of PTE.String: what the entry points at.
const (
	pteTgtZero = iota // zero-page
	pteTgtName        // f3
	pteTgtPMD         // f3[pmd]
	pteTgtPage        // f3[2]
	numPTETargets
)

// The forms of PTE.String around its target.
const (
	pteFormMigration  = iota // migration(T)
	pteFormMigrationW        // migration(T)/w
	pteFormSwap              // swap(T)
	pteFormR                 // T/r
	pteFormRW                // T/rw
	pteFormNone              // T/none
	numPTEForms
)

// numPTEShapes counts the shapes: none (0), then one per target and form.
const numPTEShapes = 1 + numPTETargets*numPTEForms

var (
	pteTargetFmt = [numPTETargets]string{"zero-page", "%s", "%s[pmd]", "%s[%d]"}
	pteFormFmt   = [numPTEForms][2]string{{"migration(", ")"}, {"migration(", ")/w"}, {"swap(", ")"}, {"", "/r"}, {"", "/rw"}, {"", "/none"}}
)

// pteShapeFmt returns the format of shape s.
func pteShapeFmt(s int) string {
	if s == 0 {
		return "none"
	}
	tgt, form := (s-1)/numPTEForms, (s-1)%numPTEForms
	return pteFormFmt[form][0] + pteTargetFmt[tgt] + pteFormFmt[form][1]
}

// pteTextOf takes p's text as PTE.String would print it now.
func pteTextOf(p *PTE) pteText {
	if p == nil || p.Kind == PTENone {
		return pteText{}
	}
	tgt, x := pteTgtZero, pteText{}
	switch {
	case p.Folio == nil:
	case p.Huge:
		tgt, x.name = pteTgtPMD, p.Folio.name
	case p.Folio.Large():
		tgt, x.name, x.page = pteTgtPage, p.Folio.name, p.Page
	default:
		tgt, x.name = pteTgtName, p.Folio.name
	}
	var form int
	switch p.Kind {
	case PTEMigration:
		form = pteFormMigration
		if p.Write {
			form = pteFormMigrationW
		}
	case PTESwap:
		form = pteFormSwap
	default:
		form = pteFormR
		if p.Write {
			form = pteFormRW
		} else if !p.Read {
			form = pteFormNone
		}
	}
	x.shape = uint8(1 + tgt*numPTEForms + form)
	return x
}

// ops adds the operands of p's shape's format to x.
func (p pteText) ops(x *sched.Text) *sched.Text {
	if p.shape == 0 {
		return x
	}
	switch (int(p.shape) - 1) / numPTEForms {
	case pteTgtName, pteTgtPMD:
		x.S(p.name)
	case pteTgtPage:
		x.S(p.name).N(p.page)
	}
	return x
}

// pteFormats holds, for each PTE shape, a format with the shape's format
// inside a fixed text: prefix, the PTE, suffix.
type pteFormats [numPTEShapes]string

func newPTEFormats(prefix, suffix string) *pteFormats {
	var f pteFormats
	for s := range f {
		f[s] = prefix + pteShapeFmt(s) + suffix
	}
	return &f
}

// of returns the format for p.
func (f *pteFormats) of(p pteText) string { return f[p.shape] }

// pteMoveFormats holds the formats "OLD -> NEW" of setPTE's detail, for
// every pair of shapes.
var pteMoveFormats = func() *[numPTEShapes][numPTEShapes]string {
	var f [numPTEShapes][numPTEShapes]string
	for a := range f {
		for b := range f[a] {
			f[a][b] = pteShapeFmt(a) + " -> " + pteShapeFmt(b)
		}
	}
	return &f
}()

// Formats of hot walk events that print a PTE.
var (
	pteLooksAtFmt   = newPTEFormats("looks at %s %#x: ", "")
	pteNotCandidate = newPTEFormats("looks at %s %#x: ", " (lockless peek: not a candidate)")
)
