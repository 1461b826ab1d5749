package harness_test

// A gopter state-machine property over one kernelsim.Kernel: every command
// runs one op as the only task of its own sched run, and after every command
// the result (and a load's value) must match a plain reference model of the
// address spaces, and the quiescent and memory-contents invariants must hold.
// When a sequence ends, exit_mmap of every mm must leave no leaks.

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/leanovate/gopter"
	"github.com/leanovate/gopter/commands"

	"mmrace/invariants"
	"mmrace/kernelsim"
	"mmrace/kernelsim/ksync"
	"mmrace/kernelsim/sched"
)

// The shape of the generated programs: addresses in a small window so that
// ops overlap and VMAs split and merge often; one file of 16 pages; at most
// three mms (mm1 and two forks).
const (
	smWindow    = 0x20                // range starts and accessed addresses: 0x0..0x1f
	smMaxLen    = 6                   // range lengths: 1..6
	smPages     = smWindow + smMaxLen // pages the model tracks: 0x0..0x25
	smFileName  = "file1"             // the one file
	smFilePages = 16                  // its size in pages
	smMaxMMs    = 3                   // mm1 and up to two children
	smMinSize   = 10                  // shortest generated sequence (gopter ramps sizes)
	smMaxSize   = 80                  // longest generated sequence
	smSeed      = int64(20240601)     // fixed seed: both tests are deterministic
	smVariant   = "test-mprotect-skips-vm_flags"
	smSegv      = "SIGSEGV"
	smRefused   = "refused"
	smOK        = "ok"
	smTaskIndex = 0 // every command runs as t1
)

// ---------------------------------------------------------------------------
// The reference model: no kernelsim types, just pages.

// smPage is one page of one mm in the reference model.
type smPage struct {
	mapped bool
	read   bool // PROT_READ
	write  bool // PROT_WRITE
	file   bool // backed by file1, else anonymous
	index  int  // file page index
	shared bool // MAP_SHARED file page: its contents are the file's
	priv   bool // private contents valid: anonymous pages always, private file pages once COWed
	val    uint64
	// cowFault: a private file page whose private copy was made by a write
	// fault (COW break) and not stored to since. See smKnownCOWFault.
	cowFault bool
}

// smMM is one address space of the model.
type smMM struct {
	name  string
	pages [smPages]smPage
}

// smExpect is what the model predicts for the last command.
type smExpect struct {
	outcome string // smOK, smSegv or smRefused
	val     uint64 // a successful load's value
}

// smState is the model state. It is never mutated once built: NextState
// returns a copy (gopter calls NextState on the same state many times while
// generating and shrinking).
type smState struct {
	mms  []smMM
	file [smFilePages]uint64 // the page cache of file1: what shared mappings see
	want smExpect
}

func newSMState() *smState { return &smState{mms: []smMM{{name: "mm1"}}} }

func (s *smState) String() string {
	names := make([]string, len(s.mms))
	for i := range s.mms {
		names[i] = s.mms[i].name
	}
	return fmt.Sprintf("{mm %s; file %s %d}", strings.Join(names, " "), smFileName, smFilePages)
}

func (s *smState) clone() *smState {
	n := *s
	n.mms = append([]smMM(nil), s.mms...)
	n.want = smExpect{}
	return &n
}

func (s *smState) mm(name string) *smMM {
	for i := range s.mms {
		if s.mms[i].name == name {
			return &s.mms[i]
		}
	}
	return nil
}

// access reports whether a user access at p is allowed, as kernelsim's
// accessOK (a write needs VM_WRITE, a read VM_READ or VM_WRITE) plus the
// SIGBUS-beyond-EOF case of a file page (reported as SIGSEGV).
func (p *smPage) access(write bool) bool {
	if !p.mapped {
		return false
	}
	if p.file && p.index >= smFilePages {
		return false
	}
	if write {
		return p.write
	}
	return p.read || p.write
}

// value is what a load at p returns.
func (s *smState) value(p *smPage) uint64 {
	if p.priv {
		return p.val
	}
	return s.file[p.index] // shared file page, or private file page never COWed
}

// apply runs op against the model and returns the new state with its
// expectation.
func (s *smState) apply(op kernelsim.Op) *smState {
	n := s.clone()
	n.want = smExpect{outcome: smOK}
	m := n.mm(op.MM)
	switch op.Verb {
	case kernelsim.OpMmap:
		if op.File != "" && op.Pgoff+op.Len > smFilePages {
			n.want.outcome = smRefused // the mapping would run past EOF
			break
		}
		for a := op.Addr; a < op.Addr+op.Len; a++ {
			p := smPage{mapped: true, read: op.Prot&kernelsim.VMRead != 0, write: op.Prot&kernelsim.VMWrite != 0}
			if op.File != "" {
				p.file, p.index, p.shared = true, op.Pgoff+(a-op.Addr), op.Shared
			} else {
				p.priv = true // fresh anonymous memory reads 0
			}
			m.pages[a] = p
		}
	case kernelsim.OpMunmap:
		for a := op.Addr; a < op.Addr+op.Len; a++ {
			m.pages[a] = smPage{}
		}
	case kernelsim.OpMprotect:
		// do_mprotect_pkey: the pages up to the first hole change, then
		// ENOMEM (at once when the first page is not mapped).
		for a := op.Addr; a < op.Addr+op.Len; a++ {
			if !m.pages[a].mapped {
				n.want.outcome = smRefused
				break
			}
			m.pages[a].read, m.pages[a].write = op.Prot&kernelsim.VMRead != 0, op.Prot&kernelsim.VMWrite != 0
		}
	case kernelsim.OpFork:
		// The child gets the parent's pages: private contents as of now
		// (copy-on-write from here on, which value copies model), shared file
		// pages stay the file's.
		c := *m
		c.name = op.Child
		n.mms = append(n.mms, c)
	case kernelsim.OpFault:
		p := &m.pages[op.Addr]
		if !p.access(op.Write) {
			n.want.outcome = smSegv
			break
		}
		if op.Write && p.file && !p.shared && !p.priv {
			// A write fault on a private file page breaks COW: the page
			// becomes a private copy of the file page as it is now.
			p.priv, p.val, p.cowFault = true, n.file[p.index], true
		}
	case kernelsim.OpLoad:
		p := &m.pages[op.Addr]
		if !p.access(false) {
			n.want.outcome = smSegv
			break
		}
		n.want.val = n.value(p)
	case kernelsim.OpStore:
		p := &m.pages[op.Addr]
		if !p.access(true) {
			n.want.outcome = smSegv
			break
		}
		if p.file && p.shared {
			n.file[p.index] = op.Value
		} else {
			p.priv, p.val, p.cowFault = true, op.Value, false
		}
	}
	return n
}

// ---------------------------------------------------------------------------
// The system under test.

// smSUT is one kernel serving a whole command sequence.
type smSUT struct {
	k      *kernelsim.Kernel
	run    *smRun // the check this sequence belongs to
	ops    []kernelsim.Op
	broken bool // a sched run ended early: the kernel may be inconsistent
	failed bool // a postcondition failed
}

// smRun collects what one property check saw, for the must-fail test.
type smRun struct {
	variants    kernelsim.Variants
	lastFailing []kernelsim.Op // the ops of the last sequence that failed
	commands    int            // commands run, over every sequence
	sequences   int            // sequences run (shrink attempts included)
}

// smResult is what one command observed.
type smResult struct {
	sut        *smSUT
	skipped    bool
	verdict    sched.Verdict
	err        error
	loaded     bool
	loadOK     bool
	val        uint64
	violations []sched.Violation
}

func (r *smResult) outcome() string {
	switch {
	case r.err == nil:
		return smOK
	case strings.Contains(r.err.Error(), "SIGSEGV"):
		return smSegv
	}
	return smRefused
}

// runOne runs fn as the only task of a fresh, non-preemptive sched run.
func runOne(fn func(t *sched.Task)) sched.Result {
	s := sched.New(sched.Options{Strategy: sched.NewBytes(nil)})
	s.Spawn(fn)
	return s.Run()
}

// ---------------------------------------------------------------------------
// The commands.

// smCmd is one op; all commands share this type.
type smCmd struct{ op kernelsim.Op }

func (c *smCmd) String() string { return c.op.String() }

func (c *smCmd) PreCondition(st commands.State) bool {
	s := st.(*smState)
	if s.mm(c.op.MM) == nil {
		return false
	}
	if c.op.Verb == kernelsim.OpFork {
		return s.mm(c.op.Child) == nil && len(s.mms) < smMaxMMs
	}
	return true
}

func (c *smCmd) NextState(st commands.State) commands.State { return st.(*smState).apply(c.op) }

func (c *smCmd) Run(su commands.SystemUnderTest) commands.Result {
	sut := su.(*smSUT)
	sut.ops = append(sut.ops, c.op)
	sut.run.commands++
	r := &smResult{sut: sut}
	if sut.broken {
		r.skipped = true
		return r
	}
	k := sut.k
	before := len(k.MemLog())
	res := runOne(func(t *sched.Task) {
		r.err = k.Exec(t, &c.op)
		k.Env.AssertNoneHeld(t, "return to user space")
	})
	r.verdict = res.Verdict
	if res.Verdict.Outcome != sched.OK {
		sut.broken = true
		return r
	}
	for _, e := range k.MemLog()[before:] {
		if e.Kind == kernelsim.MemLoad {
			r.loaded, r.loadOK, r.val = true, e.OK, e.Value
		}
	}
	r.violations = append(invariants.Quiescent(k), invariants.MemoryContents(k)...)
	return r
}

func (c *smCmd) PostCondition(st commands.State, res commands.Result) *gopter.PropResult {
	s := st.(*smState)
	r := res.(*smResult)
	fail := func(format string, args ...any) *gopter.PropResult {
		r.sut.failed = true
		return &gopter.PropResult{Status: gopter.PropFalse, Labels: []string{c.op.String() + ": " + fmt.Sprintf(format, args...)}}
	}
	switch {
	case r.skipped:
		return fail("not run: an earlier sched run ended early")
	case r.verdict.Outcome != sched.OK:
		return fail("sched run: %s", r.verdict)
	}
	if r.outcome() != s.want.outcome {
		return fail("kernelsim returned %v (%s), the model expects %s", r.err, r.outcome(), s.want.outcome)
	}
	if c.op.Verb == kernelsim.OpLoad && r.outcome() == smOK {
		switch {
		case !r.loaded || !r.loadOK:
			return fail("no successful load in the memory log")
		case r.val != s.want.val:
			return fail("load returned %d, the model expects %d", r.val, s.want.val)
		}
	}
	if len(r.violations) > 0 {
		return fail("invariant: %s", r.violations[0])
	}
	return &gopter.PropResult{Status: gopter.PropTrue}
}

// smGenCommand draws one command valid in state s.
func smGenCommand(st commands.State) gopter.Gen {
	s := st.(*smState)
	return func(p *gopter.GenParameters) *gopter.GenResult {
		rng := p.Rng
		m := &s.mms[rng.Intn(len(s.mms))]
		op := kernelsim.Op{Task: smTaskIndex, MM: m.name}
		// addr is mostly a mapped page of the mm, preferably one where ok
		// holds (so that accesses and mprotects do something), sometimes any
		// page of the window.
		addr := func(ok func(p *smPage) bool) int {
			if rng.Intn(10) >= 8 {
				return rng.Intn(smWindow)
			}
			var mapped, good []int
			for a := range m.pages {
				if p := &m.pages[a]; p.mapped {
					mapped = append(mapped, a)
					if ok(p) {
						good = append(good, a)
					}
				}
			}
			switch {
			case len(good) > 0 && rng.Intn(4) > 0:
				return good[rng.Intn(len(good))]
			case len(mapped) > 0:
				return mapped[rng.Intn(len(mapped))]
			}
			return rng.Intn(smWindow)
		}
		anyPage := func(*smPage) bool { return true }
		readable := func(p *smPage) bool { return p.read || p.write }
		writable := func(p *smPage) bool { return p.write }
		length := func() int { return 1 + rng.Intn(smMaxLen) }
		w := rng.Intn(100)
		switch {
		case w < 24:
			op.Verb = kernelsim.OpMmap
			op.Addr, op.Len = rng.Intn(smWindow), length()
			op.Prot = [...]kernelsim.Flags{0, kernelsim.VMRead, kernelsim.VMRead, kernelsim.VMRead | kernelsim.VMWrite}[rng.Intn(4)]
			if rng.Intn(3) == 0 {
				op.Prot = kernelsim.VMRead | kernelsim.VMWrite
			}
			if w >= 10 {
				op.File, op.Shared = smFileName, rng.Intn(2) == 0
				if rng.Intn(12) == 0 {
					op.Pgoff = rng.Intn(smFilePages) // sometimes past EOF: refused
				} else {
					op.Pgoff = rng.Intn(smFilePages - op.Len + 1)
				}
			}
		case w < 30:
			op.Verb = kernelsim.OpMunmap
			op.Addr, op.Len = rng.Intn(smWindow), length()
		case w < 42:
			op.Verb = kernelsim.OpMprotect
			op.Addr, op.Len = addr(anyPage), length()
			op.Prot = [...]kernelsim.Flags{0, kernelsim.VMRead, kernelsim.VMRead | kernelsim.VMWrite}[rng.Intn(3)]
		case w < 46 && len(s.mms) < smMaxMMs:
			op.Verb = kernelsim.OpFork
			op.Child = fmt.Sprintf("mm%d", len(s.mms)+1)
		case w < 60:
			op.Verb = kernelsim.OpFault
			op.Write = rng.Intn(2) == 0
			if op.Write {
				op.Addr = addr(writable)
			} else {
				op.Addr = addr(readable)
			}
		case w < 80:
			op.Verb = kernelsim.OpLoad
			op.Addr = addr(readable)
		default:
			op.Verb = kernelsim.OpStore
			op.Addr, op.Value = addr(writable), uint64(1+rng.Intn(999))
		}
		return gopter.NewGenResult(&smCmd{op: op}, smShrinkCmd)
	}
}

// smShrinkCmd offers simpler forms of one command: shorter ranges, smaller
// values. (Dropping whole commands is the sequence shrinker's job.)
func smShrinkCmd(v interface{}) gopter.Shrink {
	c := v.(*smCmd)
	var out []*smCmd
	with := func(f func(o *kernelsim.Op)) {
		o := c.op
		f(&o)
		out = append(out, &smCmd{op: o})
	}
	switch c.op.Verb {
	case kernelsim.OpMmap, kernelsim.OpMunmap, kernelsim.OpMprotect:
		if c.op.Len > 1 {
			with(func(o *kernelsim.Op) { o.Len = 1 })
		}
		if c.op.Len > 2 {
			with(func(o *kernelsim.Op) { o.Len-- })
		}
	case kernelsim.OpStore:
		if c.op.Value > 1 {
			with(func(o *kernelsim.Op) { o.Value = 1 })
		}
	}
	i := 0
	return func() (interface{}, bool) {
		if i >= len(out) {
			return nil, false
		}
		i++
		return out[i-1], true
	}
}

// smCommands builds the state machine; run collects what the checks saw.
func smCommands(run *smRun) commands.Commands {
	return &commands.ProtoCommands{
		NewSystemUnderTestFunc: func(commands.State) commands.SystemUnderTest {
			k := kernelsim.New(ksync.Config{}, run.variants)
			kernelsim.Build(&kernelsim.Program{MMs: []string{"mm1"}, Files: []kernelsim.FileDecl{{Name: smFileName, Pages: smFilePages}}}, k)
			return &smSUT{k: k, run: run}
		},
		DestroySystemUnderTestFunc: func(su commands.SystemUnderTest) {
			sut := su.(*smSUT)
			run.sequences++
			if sut.failed || sut.broken {
				run.lastFailing = append([]kernelsim.Op(nil), sut.ops...)
				return
			}
			// The end of the sequence: exit_mmap of every mm, then the leak
			// checks. commands.Prop has no final-check hook, so a finding
			// here panics; gopter turns the panic into a failed (error)
			// result for this sequence and shrinks it like any other.
			res := runOne(func(t *sched.Task) {
				for _, m := range sut.k.MMs() {
					sut.k.ExitProcess(t, m)
				}
			})
			msg := ""
			if res.Verdict.Outcome != sched.OK {
				msg = "exit_mmap: " + res.Verdict.String()
			} else if v := invariants.Leaks(sut.k); len(v) > 0 {
				msg = "after exit_mmap: " + v[0].String()
			}
			if msg != "" {
				run.lastFailing = append([]kernelsim.Op(nil), sut.ops...)
				panic(msg)
			}
		},
		InitialStateGen: func(*gopter.GenParameters) *gopter.GenResult {
			return gopter.NewGenResult(newSMState(), gopter.NoShrinker)
		},
		GenCommandFunc: smGenCommand,
	}
}

// smParameters are the gopter parameters of both tests.
func smParameters() *gopter.TestParameters {
	p := gopter.DefaultTestParametersWithSeed(smSeed)
	p.MinSuccessfulTests = 10000
	if testing.Short() {
		p.MinSuccessfulTests = 1000
	}
	p.MinSize, p.MaxSize = smMinSize, smMaxSize
	p.Workers = 1 // one worker: generation, and so the run, is deterministic
	return p
}

// smReporter keeps the result of the one property it reports.
type smReporter struct {
	result *gopter.TestResult
	text   strings.Builder
}

func (r *smReporter) ReportTestResult(name string, res *gopter.TestResult) {
	r.result = res
	gopter.NewFormatedReporter(true, 160, &r.text).ReportTestResult(name, res)
}

func smCheck(v kernelsim.Variants) (*gopter.TestResult, *smRun, string) {
	run := &smRun{variants: v}
	props := gopter.NewProperties(smParameters())
	props.Property("kernelsim matches the reference model", commands.Prop(smCommands(run)))
	rep := &smReporter{}
	props.Run(rep)
	return rep.result, run, rep.text.String()
}

// smProgram prints ops as a kernelsim program that mmrace can run.
func smProgram(v kernelsim.Variants, ops []kernelsim.Op) string {
	p := &kernelsim.Program{MMs: []string{"mm1"}, Files: []kernelsim.FileDecl{{Name: smFileName, Pages: smFilePages}}, Variants: v}
	p.Tasks = [][]kernelsim.Op{ops}
	return p.String()
}

// smShrunkLen is the length of the shrunk command sequence of a failed
// check, read from gopter's (unexported) actions value; -1 if unavailable.
func smShrunkLen(res *gopter.TestResult) int {
	if len(res.Args) == 0 {
		return -1
	}
	v := reflect.ValueOf(res.Args[0].Arg)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return -1
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return -1
	}
	f := v.FieldByName("sequentialCommands")
	if !f.IsValid() || f.Kind() != reflect.Slice {
		return -1
	}
	return f.Len()
}

// TestStateMachine: the faithful kernel matches the reference model over
// 10,000 random command sequences (1,000 with -short).
func TestStateMachine(t *testing.T) {
	res, run, text := smCheck(kernelsim.Variants{})
	if !res.Passed() {
		t.Fatalf("state-machine property failed after %d sequences:\n%s\nshrunk program:\n%s", res.Succeeded, text, smProgram(nil, run.lastFailing))
	}
	want := smParameters().MinSuccessfulTests
	if res.Succeeded < want {
		t.Fatalf("only %d sequences ran, want %d", res.Succeeded, want)
	}
	t.Logf("%d sequences (%d commands) passed in %v", res.Succeeded, run.commands, res.Time)
}

// TestStateMachineMustFail: under the test-only variant that makes mprotect
// keep the old protection, the same property fails, and shrinking reduces the
// failing sequence to at most 3 commands.
func TestStateMachineMustFail(t *testing.T) {
	v := kernelsim.Variants{smVariant: true}
	res, run, text := smCheck(v)
	if res.Status != gopter.TestFailed {
		t.Fatalf("with %s the property should be falsified, got %s after %d sequences:\n%s", smVariant, res.Status, res.Succeeded, text)
	}
	n := smShrunkLen(res)
	if n < 0 {
		t.Fatalf("cannot read the shrunk command sequence from %+v", res.Args)
	}
	if n != len(run.lastFailing) {
		t.Fatalf("shrunk sequence has %d commands, the last failing run had %d: %v", n, len(run.lastFailing), run.lastFailing)
	}
	t.Logf("falsified after %d passing sequences, shrunk in %d steps to %d commands (labels %q):\n%s",
		res.Succeeded, res.Args[0].Shrinks, n, res.Labels, smProgram(v, run.lastFailing))
	if n > 3 {
		t.Fatalf("shrunk failing sequence has %d commands, want at most 3:\n%s", n, text)
	}
}
