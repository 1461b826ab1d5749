package sched

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
)

// Decision is one choice a strategy made: the task picked at a scheduling
// point where more than one task was runnable, or a data choice.
type Decision struct {
	Data  bool // a data choice rather than a task pick
	Value int  // the task index picked, or the value chosen
}

// Schedule is the ordered list of decisions of a run. Replaying it with the
// same program and variants reproduces the run exactly.
type Schedule []Decision

// scheduleVersion prefixes every replay string.
const scheduleVersion = "v1."

// maxTaskID bounds task indexes encodable in a replay string.
const maxTaskID = 15

// String encodes the schedule as a replay string: "v1." followed by the
// base64url encoding of run-length-encoded varint tokens and a CRC-32 of
// them. A task-run token is (count-1)<<5 | task<<1; a data token is
// value<<1 | 1.
func (s Schedule) String() string {
	var p []byte
	for i := 0; i < len(s); {
		d := s[i]
		if d.Data {
			p = binary.AppendUvarint(p, uint64(d.Value)<<1|1)
			i++
			continue
		}
		n := 1
		for i+n < len(s) && !s[i+n].Data && s[i+n].Value == d.Value {
			n++
		}
		p = binary.AppendUvarint(p, uint64(n-1)<<5|uint64(d.Value)<<1)
		i += n
	}
	p = binary.BigEndian.AppendUint32(p, crc32.ChecksumIEEE(p))
	return scheduleVersion + base64.RawURLEncoding.EncodeToString(p)
}

// ErrBadSchedule is wrapped by every replay-string parse error.
var ErrBadSchedule = errors.New("bad replay string")

// ParseSchedule decodes a replay string made by Schedule.String.
func ParseSchedule(str string) (Schedule, error) {
	str = strings.TrimSpace(str)
	if !strings.HasPrefix(str, "v") || !strings.Contains(str, ".") {
		return nil, fmt.Errorf("%w: %q does not start with a version such as %q", ErrBadSchedule, clip(str), scheduleVersion)
	}
	if !strings.HasPrefix(str, scheduleVersion) {
		return nil, fmt.Errorf("%w: unsupported version %q (this mmrace reads %q)", ErrBadSchedule, str[:strings.Index(str, ".")+1], scheduleVersion)
	}
	p, err := base64.RawURLEncoding.DecodeString(str[len(scheduleVersion):])
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url after %q: %v", ErrBadSchedule, scheduleVersion, err)
	}
	if len(p) < 4 {
		return nil, fmt.Errorf("%w: too short (%d bytes, need at least a 4-byte checksum)", ErrBadSchedule, len(p))
	}
	body, sum := p[:len(p)-4], binary.BigEndian.Uint32(p[len(p)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch (the string is corrupt or truncated)", ErrBadSchedule)
	}
	var s Schedule
	for off := 0; off < len(body); {
		x, n := binary.Uvarint(body[off:])
		if n <= 0 {
			return nil, fmt.Errorf("%w: bad token at byte %d", ErrBadSchedule, off)
		}
		off += n
		if x&1 == 1 {
			if x>>1 > 1<<30 {
				return nil, fmt.Errorf("%w: data choice too large at byte %d", ErrBadSchedule, off)
			}
			s = append(s, Decision{Data: true, Value: int(x >> 1)})
			continue
		}
		task, count := int(x>>1&maxTaskID), x>>5+1
		if count > 1<<24 {
			return nil, fmt.Errorf("%w: run of %d decisions is too long at byte %d", ErrBadSchedule, count, off)
		}
		for ; count > 0; count-- {
			s = append(s, Decision{Value: task})
		}
	}
	return s, nil
}

func clip(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}
