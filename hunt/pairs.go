package hunt

import (
	"math/rand/v2"
	"strconv"

	"mmrace/fuzz"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// pairState is Search's pair runs under a lock mutant. A byte run in which
// the mutation took effect names the task that ran the mutated site (the
// first event of the window, MutantInterference's start); its ops become
// a source. Half of the runs then take a source and race its task alone
// against one adversary (fuzz.PairProgram: one or two ops of the source's
// template, drawn afresh each time), under mutant-directed PCT; a pair
// whose run shows another task inside the window with a pair of sites
// never seen before is kept (hot) and gets exploitSchedules more schedules
// at once, as the byte runs do.
//
// Why: a consequence of a missing lock needs the one op that makes use of
// the window (PT reclaim's table free for map_pte's RCU section, a split
// for a walker's anon_vma lock). The decoder draws 2-3 tasks of 1-2 ops
// from 24 kinds per template and 66 templates, so a given pair of
// the mutated path and its adversary on the same pages is rare, and the
// byte mutations wander off it; the pair runs try every kind of adversary
// against exactly the path that reached the site.
type pairState struct {
	src     []pairSource
	seen    map[string]bool // sources by template and task text
	hot     []*kernelsim.Program
	exploit []pairExploit
}

type pairSource struct {
	data []byte // the input, for its template
	p    *kernelsim.Program
	task int
}

type pairExploit struct {
	p    *kernelsim.Program
	left int
}

// maxPairs bounds the sources and the hot pairs kept.
const maxPairs = 512

// source records a byte run in which the mutation took effect.
func (s *pairState) source(data []byte, p *kernelsim.Program, tr *sched.Trace) {
	if len(s.src) >= maxPairs {
		return
	}
	task := -1
	for _, e := range tr.Events {
		if e.Task >= 0 && isMutantStart(e) {
			task = e.Task
			break
		}
	}
	if task < 0 || task >= len(p.Tasks) {
		return
	}
	key := strconv.Itoa(fuzz.TemplateOf(data))
	for _, o := range p.Tasks[task] {
		key += "\n" + o.String()
	}
	if s.seen[key] {
		return
	}
	s.seen[key] = true
	s.src = append(s.src, pairSource{data: data, p: p, task: task})
}

// next returns the program of the next pair run: one owed more schedules,
// a hot one half the time (under a schedule of its own: the search draws
// PCT's seed afresh), else a new pair; nil when the new pair does not
// parse (the byte search goes on for that run).
func (s *pairState) next(rng *rand.Rand) *kernelsim.Program {
	switch {
	case len(s.exploit) > 0:
		p := s.exploit[0].p
		if s.exploit[0].left--; s.exploit[0].left == 0 {
			s.exploit = s.exploit[1:]
		}
		return p
	case len(s.hot) > 0 && rng.IntN(2) == 0:
		return s.hot[rng.IntN(len(s.hot))]
	}
	src := s.src[rng.IntN(len(s.src))]
	return fuzz.PairProgram(rng, src.data, src.p, src.task)
}

// ran records a pair run in which the mutation took effect, with its
// interference pairs (MutantInterference): a pair never seen before makes
// p hot.
func (s *pairState) ran(p *kernelsim.Program, pairs []uint32, seenWin map[uint32]bool) {
	fresh := false
	for _, h := range pairs {
		if !seenWin[h] {
			seenWin[h], fresh = true, true
		}
	}
	if fresh && len(s.hot) < maxPairs {
		s.hot = append(s.hot, p)
		s.exploit = append(s.exploit, pairExploit{p: p, left: exploitSchedules})
	}
}
