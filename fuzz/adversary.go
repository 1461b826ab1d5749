package fuzz

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"mmrace/kernelsim"
)

// PairProgram builds a program from the program that data decodes to: its
// declarations and setup, task keep's ops as t1, and as t2 an adversary,
// one or two ops drawn as the decoder draws them for data's template (a
// template's own race ops now and then, else the general ones); one time
// in four a second adversary as t3. It is how a search puts a path it
// wants raced (the task that ran a lock mutant's mutated site) against
// every kind of op the template can aim at the same pages and VMAs, one
// adversary at a time, instead of waiting for the decoder to draw both
// into one program of 2-3 tasks: a hand-made pair (PT reclaim's
// MADV_DONTNEED against reclaim's walk of a page the madvise zaps) killed
// a map_pte RCU mutant in 18 runs of `mmrace run`, which 40,000 executions
// of the byte-mutating search never did.
//
// With keep = KeepAll every task of the program stays, and the adversaries
// come after them: the site may need the others (a fault reaches
// migration_entry_wait only while another task migrates the page).
//
// It returns nil when the program does not parse (keep's ops name an mm
// that another task of the program created, or two tasks create the same
// one) or would have more than 8 tasks.
func PairProgram(rng *rand.Rand, data []byte, p *kernelsim.Program, keep int) *kernelsim.Program {
	if keep != KeepAll && (keep < 0 || keep >= len(p.Tasks) || len(p.Tasks[keep]) == 0) {
		return nil
	}
	tp := &templates[TemplateOf(data)]
	choices := make([]byte, 24)
	for i := range choices {
		choices[i] = byte(rng.UintN(256))
	}
	c := &chooser{b: choices}
	st := &genState{mms: append([]string(nil), tp.mms...)}
	if addrs := pageOps(p, keep); len(addrs) > 0 && c.n(2) == 0 {
		// Half the time the adversaries aim at the pages the kept tasks
		// touch (a migration's page: a punch of its file page, a store to
		// it, a zap of it), not at any page of the template: the race a
		// site needs is often on the one page its task is working on.
		aimed := *tp
		aimed.addrs = addrs
		tp = &aimed
	}
	advs := adversaries(c, tp, st)
	q := *p
	q.Schedule = ""
	q.Checks = nil
	q.Tasks = nil
	var b strings.Builder
	b.WriteString(q.String())
	var kept [][]string
	for i, ops := range p.Tasks {
		if keep == KeepAll || keep == i {
			var texts []string
			for _, o := range ops {
				texts = append(texts, o.String())
			}
			kept = append(kept, texts)
		}
	}
	if len(kept)+len(advs) > maxTasks {
		return nil
	}
	writeTasks(&b, kept, 1)
	writeTasks(&b, advs, len(kept)+1)
	pair, err := kernelsim.Parse("pair", b.String())
	if err != nil {
		return nil
	}
	pair.Variants = p.Variants
	return pair
}

// pageOps returns the addresses that the ops of task keep (or of every
// task) aim at one page: migrations, reclaims, faults, loads and stores, in
// program order without repeats.
func pageOps(p *kernelsim.Program, keep int) []int {
	var out []int
	for i, ops := range p.Tasks {
		if keep != KeepAll && keep != i {
			continue
		}
		for _, o := range ops {
			switch o.Verb {
			case kernelsim.OpMigrate, kernelsim.OpReclaim, kernelsim.OpFault, kernelsim.OpLoad, kernelsim.OpStore:
				if !slices.Contains(out, o.Addr) {
					out = append(out, o.Addr)
				}
			}
		}
	}
	return out
}

// adversaries draws the adversary tasks of a pair: one, and one time in
// four a second one (some races need two others: a fork and a split
// around a walk).
func adversaries(c *chooser, tp *template, st *genState) [][]string {
	advs := [][]string{adversary(c, tp, st)}
	if c.n(4) == 0 {
		advs = append(advs, adversary(c, tp, st))
	}
	return advs
}

// writeTasks writes tasks as program lines, the first as t<first>.
func writeTasks(b *strings.Builder, tasks [][]string, first int) {
	for i, ops := range tasks {
		for _, o := range ops {
			fmt.Fprintf(b, "t%d: %s\n", first+i, o)
		}
	}
}

// KeepAll is PairProgram's keep for every task of the program.
const KeepAll = -1

// maxTasks is the language's bound on tasks (t1 to t8).
const maxTasks = 8

// adversary draws the ops of one adversary task: one or two ops (a second
// one time in four), each a template's own race op one time in four (when
// it has some), else one of the general ops.
func adversary(c *chooser, tp *template, st *genState) []string {
	var adv []string
	for n := 1 + c.n(4)/3; n > 0; n-- {
		if len(tp.hot) > 0 && c.n(4) == 0 {
			adv = append(adv, strings.Split(tp.hot[c.n(len(tp.hot))], "; ")...)
			continue
		}
		adv = append(adv, strings.Split(op(c, tp, st), "; ")...)
	}
	return adv
}

// TemplateOf returns the index of the template data's program starts from
// (its first program choice, as Decode reads it).
func TemplateOf(data []byte) int {
	c := &chooser{}
	if len(data) > 0 {
		n := min(int(data[0]), len(data)-1)
		c.b = data[1 : 1+n]
	}
	return c.n(len(templates))
}

// VerbPair builds a program like PairProgram's, from scratch: a random
// template, as t1 an op of the given verb aimed at it (drawn as the
// decoder draws ops, the template's own race and extra ops included, until
// one has the verb), and the adversaries. It carries the path that reached
// a site to every template, where PairProgram keeps the templates the
// search happened to reach it in. nil when no op of the verb came up for
// the template drawn.
func VerbPair(rng *rand.Rand, verb string) *kernelsim.Program {
	return verbPairOf(rng, &templates[rng.IntN(len(templates))], verb)
}

// verbPairOf is VerbPair on template tp.
func verbPairOf(rng *rand.Rand, tp *template, verb string) *kernelsim.Program {
	var own []string
	for _, h := range append(append([]string(nil), tp.hot...), tp.extra...) {
		for _, o := range strings.Split(h, "; ") {
			if strings.HasPrefix(o, verb+" ") && !strings.Contains(o, "{child}") {
				own = append(own, o)
			}
		}
	}
	choices := make([]byte, 24)
	var t1 string
	if len(own) > 0 && rng.IntN(2) == 0 {
		t1 = own[rng.IntN(len(own))]
	}
	for try := 0; t1 == "" && try < 64; try++ {
		for i := range choices {
			choices[i] = byte(rng.UintN(256))
		}
		o := op(&chooser{b: choices}, tp, &genState{mms: append([]string(nil), tp.mms...)})
		if strings.HasPrefix(o, verb+" ") && !strings.Contains(o, ";") {
			t1 = o
		}
	}
	if t1 == "" {
		return nil
	}
	var b strings.Builder
	b.WriteString(tp.header())
	b.WriteString("t1: " + t1 + "\n")
	for i := range choices {
		choices[i] = byte(rng.UintN(256))
	}
	c := &chooser{b: choices}
	st := &genState{mms: append([]string(nil), tp.mms...)}
	if f := strings.Fields(t1); f[0] == "fork" {
		// t1's child: the adversaries may act on it (refused until the
		// fork returns) and name their own children after it.
		n, _ := strconv.Atoi(strings.TrimPrefix(f[2], "mm"))
		st.children = max(n-4, 0)
		st.mms = append(st.mms, f[2])
	}
	if strings.HasPrefix(t1, "exec ") {
		st.exec = true
	}
	writeTasks(&b, adversaries(c, tp, st), 2)
	p, err := kernelsim.Parse("pair", b.String())
	if err != nil {
		return nil
	}
	return p
}

// pairVerbs are the verbs of the decoder's ops that RandomPair draws from.
var pairVerbs = []string{"mmap", "munmap", "mprotect", "fork", "fault", "load", "store", "mremap", "migrate", "reclaim", "exec", "madvise", "exit", "collapse", "split", "ksm", "punch"}

// RandomPair draws a VerbPair of a random verb (another verb when a
// template has no op of the one drawn; nil after 64 tries). Beside the decoder's programs of
// 2-3 tasks, it gives the faithful searches (mmrace stress, hunt's
// faithful phase) pairs of paths on the same pages in every template: in
// 200,000 faithful PCT runs half of them pairs reach 676 cells of the
// reach matrix where the decoded programs alone reach 589.
func RandomPair(rng *rand.Rand) *kernelsim.Program {
	for try := 0; try < 64; try++ {
		if p := VerbPair(rng, pairVerbs[rng.IntN(len(pairVerbs))]); p != nil {
			return p
		}
	}
	return nil
}
