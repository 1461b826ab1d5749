package fuzz

import (
	"testing"

	"mmrace/kernelsim/sched"
)

// TestStrategyKinds: a schedule part is byte decisions unless it starts
// with PCTTag; the bare tag is the non-preemptive schedule; after it, one
// byte gives PCT's depth and windows, eight more its seed.
func TestStrategyKinds(t *testing.T) {
	p, _ := Decode(Seeds()[0])
	if _, ok := Strategy(p, []byte{0x80, 0x81}).(*sched.Bytes); !ok {
		t.Error("byte decisions: not sched.Bytes")
	}
	if b, ok := Strategy(p, PCTTag).(*sched.Bytes); !ok || len(b.Data) != 0 {
		t.Error("the bare tag: not the empty byte schedule")
	}
	for _, c := range []struct {
		sb      []byte
		depth   int
		windows bool
		seed    uint64
	}{
		{append([]byte{0xff, 'P'}, 0), 1, false, 0},
		{append([]byte{0xff, 'P'}, 0x82, 1, 2), 3, true, 0x0201},
		{append([]byte{0xff, 'P'}, 5, 1, 0, 0, 0, 0, 0, 0, 0x80, 9), 6, false, 0x8000000000000001},
	} {
		pct, ok := Strategy(p, c.sb).(*sched.PCT)
		if !ok {
			t.Fatalf("%x: not PCT", c.sb)
		}
		if pct.Depth != c.depth || pct.Windows != c.windows || pct.Seed != c.seed || pct.K != 60+12*p.Ops() {
			t.Errorf("%x: depth %d windows %v seed %#x k %d, want %d %v %#x %d", c.sb, pct.Depth, pct.Windows, pct.Seed, pct.K, c.depth, c.windows, c.seed, 60+12*p.Ops())
		}
	}
}
