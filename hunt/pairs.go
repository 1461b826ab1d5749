package hunt

import (
	"math/rand/v2"
	"slices"
	"strconv"

	"mmrace/fuzz"
	"mmrace/kernelsim"
	"mmrace/kernelsim/sched"
)

// pairState is Search's pair runs under a lock mutant. A byte run in which
// the mutation took effect names the task that ran the mutated site (the
// first event of the window, MutantInterference's start); its ops become
// a source, and the verb of the op it was in (fork, migrate, ...) joins
// the verbs. Half of the runs are then pair runs under mutant-directed
// PCT: a source's task alone, or (half the time) with the other tasks of
// its program, against one adversary (fuzz.PairProgram: one or two ops of
// the source's template, drawn afresh each time; a second adversary task
// one time in four), or, half the time, an op of one of
// the verbs carried to a random template (fuzz.VerbPair) against
// adversaries of that template: the byte runs reach a site in few
// templates (19 sources in 10,000 runs for anon_vma_fork's lock). A pair
// whose run shows another task inside the window with a pair of sites
// never seen before is kept (hot) and gets exploitSchedules more schedules
// at once, as the byte runs do. A quarter of the pair runs that owe no
// schedules run the templates' own races (all of a template's race ops
// at once, fuzz.TemplateRaces): those that have an op of one of the
// verbs, and those of the templates whose byte runs reached the site
// (half of these runs go to the latter); a quarter of the template-race
// runs are scheduled at random rather than by mutant-directed PCT
// (search.go).
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
	verbs   []string        // the verbs of the ops the mutation took effect in
	hot     []*kernelsim.Program
	exploit []pairExploit
	// races are the templates' own races with an op of one of the verbs
	// (fuzz.TemplateRaces) or whose byte runs reached the site
	// (reachedIn), drawn in a quarter of the pair runs that owe no
	// schedules: 45 templates' races have a migration, so
	// under mmrace locks' 10,000 executions each gets about 28
	// mutant-directed PCT schedules when only migrations reach the site;
	// a race of depth 2 or 3 through the window (the migration's
	// destination folio lock, in a fork's three-task race: 28 runs of
	// mmrace run) is then likely found.
	races []*kernelsim.Program
	// raceOf marks the templates whose race joined races because a byte
	// run of theirs reached the mutated site (reachedIn); reached are
	// those races, which get half of the template-race runs: a hugetlb
	// site is reached by a few hugetlb templates, while 48 templates'
	// races have a migration, and a race that hits its window once in
	// 300 to 1,000 schedules needs more than the 28 a uniform draw gives.
	raceOf  map[int]bool
	reached []*kernelsim.Program
	// lastRace says the last program next returned is a template's race,
	// which the search runs under random scheduling one time in four.
	lastRace bool
}

// active reports whether pair runs have anything to run.
func (s *pairState) active() bool { return len(s.src) > 0 || len(s.races) > 0 }

// reachedIn records a byte run of data's template that reached the
// mutated site, whether or not the mutation took effect: the template's
// race joins races once. An ignore-trylock-failure mutant takes effect
// only when its trylock fails, which needs a holder of the lock on the
// same object at that moment: a race the templates write down (reclaim's
// folio_trylock against do_swap_page's folio lock: killed in 748 runs of
// mmrace run, while the search's byte runs made the trylock fail once in
// 10,000 executions).
func (s *pairState) reachedIn(data []byte) {
	ti := fuzz.TemplateOf(data)
	if s.raceOf[ti] {
		return
	}
	if s.raceOf == nil {
		s.raceOf = map[int]bool{}
	}
	s.raceOf[ti] = true
	if q := fuzz.TemplateRaceOf(data); q != nil {
		s.races = append(s.races, q)
		s.reached = append(s.reached, q)
	}
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

// source records a byte run in which the mutation took effect: the task
// it took effect in, with its ops, and the verb of the op it was in.
func (s *pairState) source(data []byte, p *kernelsim.Program, tr *sched.Trace) {
	task, verb := -1, ""
	var cur [8]string // the verb of the op each task (t1 to t8) is in
	for _, e := range tr.Events {
		if e.Task < 0 || e.Task >= len(cur) {
			continue
		}
		if e.Kind == sched.KindOp {
			cur[e.Task] = e.Site // an op event's site is its verb
			continue
		}
		if isMutantStart(e) {
			task, verb = e.Task, cur[e.Task]
			break
		}
	}
	if task < 0 || task >= len(p.Tasks) {
		return
	}
	if verb != "" && !slices.Contains(s.verbs, verb) {
		s.verbs = append(s.verbs, verb)
		// The templates' own races with an op of the verb
		// (fuzz.TemplateRaces).
		s.races = append(s.races, fuzz.TemplateRaces(verb)...)
	}
	key := strconv.Itoa(fuzz.TemplateOf(data))
	for _, o := range p.Tasks[task] {
		key += "\n" + o.String()
	}
	if s.seen[key] || len(s.src) >= maxPairs {
		return
	}
	s.seen[key] = true
	s.src = append(s.src, pairSource{data: data, p: p, task: task})
}

// next returns the program of the next pair run: one owed more
// schedules, a template's race a quarter of the time (always, while no
// source is known), a hot one half the time (under a schedule of its
// own: the search draws PCT's seed afresh), else a new pair; nil when the
// new pair does not parse (the byte search goes on for that run).
func (s *pairState) next(rng *rand.Rand) *kernelsim.Program {
	s.lastRace = false
	switch {
	case len(s.exploit) > 0:
		p := s.exploit[0].p
		if s.exploit[0].left--; s.exploit[0].left == 0 {
			s.exploit = s.exploit[1:]
		}
		return p
	case len(s.races) > 0 && rng.IntN(4) == 0:
		s.lastRace = true
		if len(s.reached) > 0 && rng.IntN(2) == 0 {
			return s.reached[rng.IntN(len(s.reached))]
		}
		return s.races[rng.IntN(len(s.races))]
	case len(s.hot) > 0 && rng.IntN(2) == 0:
		return s.hot[rng.IntN(len(s.hot))]
	}
	if len(s.src) == 0 {
		s.lastRace = true
		return s.races[rng.IntN(len(s.races))] // active: races is not empty
	}
	if len(s.verbs) > 0 && rng.IntN(2) == 0 {
		return fuzz.VerbPair(rng, s.verbs[rng.IntN(len(s.verbs))])
	}
	src := s.src[rng.IntN(len(s.src))]
	keep := src.task
	if rng.IntN(2) == 0 {
		keep = fuzz.KeepAll // the whole program, adversaries after it
	}
	return fuzz.PairProgram(rng, src.data, src.p, keep)
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
