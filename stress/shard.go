package stress

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is one of Count disjoint parts of a stress run: the executions
// whose index is ≡ Index mod Count. The zero Shard is the whole run.
type Shard struct {
	Index, Count int
}

// ParseShard reads "i/N" with 0 <= i < N.
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want i/N, such as 0/4", s)
	}
	var sh Shard
	var err1, err2 error
	sh.Index, err1 = strconv.Atoi(i)
	sh.Count, err2 = strconv.Atoi(n)
	if err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want i/N with decimal i and N, such as 0/4", s)
	}
	return sh, sh.check()
}

func (s Shard) check() error {
	if s.Count < 1 || s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("shard %d/%d: want 0 <= i < N", s.Index, s.Count)
	}
	return nil
}

// String is the shard as "i/N".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }
