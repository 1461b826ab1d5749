package fuzz

import (
	"strings"

	"mmrace/kernelsim"
)

// TemplateRaces returns the programs of the templates' own races that have
// an op of verb: each such template's setup, and its hot ops with one task
// per entry, all of them at once (the decoder draws them together only
// when it draws the template, as many tasks as it has entries and each
// entry's op first in its task: for a three-task race, about one program
// in 600). A search that saw a lock mutant's mutation take effect in an op
// of verb runs these under more schedules: the templates' races are the
// most race-prone programs they have, and some mutants need all their
// tasks (a migration's destination folio lock: the parent's write must
// come between the two restored PTEs and the child's read after them,
// killed in 28 PCT runs of that three-task race and never in 10,000
// executions of the byte-mutating search).
func TemplateRaces(verb string) []*kernelsim.Program {
	var out []*kernelsim.Program
	for i := range templates {
		if p := templateRace(&templates[i], verb); p != nil {
			out = append(out, p)
		}
	}
	return out
}

// TemplateRaceOf returns the race of the template data's program starts
// from (every hot op, one task per entry), or nil when it has fewer than
// two entries.
func TemplateRaceOf(data []byte) *kernelsim.Program {
	return templateRace(&templates[TemplateOf(data)], "")
}

// templateRace is tp's race; with a verb, only when one of its ops has it.
func templateRace(tp *template, verb string) *kernelsim.Program {
	has := verb == ""
	var tasks [][]string
	for _, h := range tp.hot {
		ops := strings.Split(h, "; ")
		for _, o := range ops {
			has = has || strings.HasPrefix(o, verb+" ")
		}
		tasks = append(tasks, ops)
	}
	if !has || len(tasks) < 2 {
		return nil
	}
	var b strings.Builder
	b.WriteString(tp.header())
	writeTasks(&b, tasks, 1)
	p, err := kernelsim.Parse("template race", b.String())
	if err != nil {
		panic("mmrace internal error: a template's race does not parse: " + err.Error() + "\n" + b.String())
	}
	return p
}
