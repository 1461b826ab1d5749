package oracle

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// InternalPrefix starts every error that is the oracle's own fault (the
// helper crashed, hung or answered nonsense), never the model's or the
// kernel's.
const InternalPrefix = "mmrace internal error: oracle: "

// host is one program's helper processes: one per mm with a host process
// (a slot), all children of this process in one process group. The
// controller talks to them with blocking reads and writes (a round trip is
// a few microseconds; through the runtime's poller it is ten times that),
// and a watchdog kills the group when the program runs past its timeout,
// which ends any blocked read.
type host struct {
	pgid    int
	conns   []int    // the controller's end of each slot
	stderr  *os.File // what the helpers write to their stderr
	buf     []byte
	timeout time.Duration
	base    uint64

	mu       sync.Mutex // the watchdog against close
	closed   bool
	expired  bool
	watchdog *time.Timer
}

// startHost starts the helper with slots slots and a window of pages
// pages; timeout bounds the whole program.
func startHost(helper string, slots, pages int, timeout time.Duration) (*host, error) {
	h := &host{buf: make([]byte, 256<<10), timeout: timeout}
	ends := make([]int, 0, slots)
	defer func() {
		for _, fd := range ends {
			syscall.Close(fd)
		}
	}()
	for range slots {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			h.close()
			return nil, fmt.Errorf(InternalPrefix+"socketpair: %v", err)
		}
		h.conns = append(h.conns, fds[0])
		ends = append(ends, fds[1])
	}
	r, w, err := os.Pipe()
	if err != nil {
		h.close()
		return nil, fmt.Errorf(InternalPrefix+"pipe: %v", err)
	}
	h.stderr = r
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		w.Close()
		h.close()
		return nil, fmt.Errorf(InternalPrefix+"%v", err)
	}
	files := []uintptr{devnull.Fd(), devnull.Fd(), w.Fd()}
	for _, fd := range ends {
		files = append(files, uintptr(fd))
	}
	pid, err := syscall.ForkExec(helper, []string{"mmhelper", strconv.Itoa(slots), strconv.Itoa(pages)}, &syscall.ProcAttr{
		Files: files,
		// Its own process group, so that one kill reaches every helper
		// process; SIGKILL if this process dies first.
		Sys: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	})
	devnull.Close()
	w.Close()
	if err != nil {
		h.close()
		return nil, fmt.Errorf(InternalPrefix+"starting %s: %v", helper, err)
	}
	h.pgid = pid
	h.watchdog = time.AfterFunc(timeout, h.expire)
	rep, err := h.call(0, "hello")
	if err != nil {
		h.close()
		return nil, err
	}
	var ps int
	if _, err := fmt.Sscanf(rep, "ok %d %d", &h.base, &ps); err != nil {
		h.close()
		return nil, fmt.Errorf(InternalPrefix+"hello: unexpected reply %q", rep)
	}
	return h, nil
}

// expire is the watchdog: it kills every helper process, so that a blocked
// read returns.
func (h *host) expire() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.expired = true
		syscall.Kill(-h.pgid, syscall.SIGKILL)
	}
}

// call sends one request to the process of slot and returns its reply. A
// reply that does not come before the watchdog fires, or a "bad" one, is an
// internal error.
func (h *host) call(slot int, req string) (string, error) {
	c := h.conns[slot]
	if req == "" {
		// A zero-length message reads as the end of the stream.
		return "", fmt.Errorf(InternalPrefix + "empty request")
	}
	if _, err := retry(func() (int, error) { return syscall.Write(c, []byte(req)) }); err != nil {
		return "", h.fail(slot, req, err)
	}
	n, err := retry(func() (int, error) { return syscall.Read(c, h.buf) })
	if err == nil && n == 0 {
		err = io.EOF
	}
	if err != nil {
		return "", h.fail(slot, req, err)
	}
	rep := string(h.buf[:n])
	if strings.HasPrefix(rep, "bad ") {
		return "", fmt.Errorf(InternalPrefix+"helper slot %d refused %q: %s", slot, req, rep[4:])
	}
	return rep, nil
}

// retry repeats a system call interrupted by a signal.
func retry(call func() (int, error)) (int, error) {
	for {
		n, err := call()
		if err != syscall.EINTR {
			return n, err
		}
	}
}

func (h *host) fail(slot int, req string, err error) error {
	h.mu.Lock()
	expired := h.expired
	h.mu.Unlock()
	switch {
	case expired:
		err = fmt.Errorf("no reply: the program ran past its timeout of %v", h.timeout)
	case errors.Is(err, io.EOF) || err == syscall.ECONNRESET || err == syscall.EPIPE:
		err = errors.New("the helper process is gone")
	}
	return fmt.Errorf(InternalPrefix+"helper slot %d, request %q: %v", slot, req, err)
}

// close kills every helper process, reaps them all (they are all children
// of this process, in the group pgid) and closes the sockets. It returns
// what the helpers wrote to stderr.
func (h *host) close() string {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	if h.watchdog != nil {
		h.watchdog.Stop()
	}
	if h.pgid > 0 {
		syscall.Kill(-h.pgid, syscall.SIGKILL)
		for {
			var ws syscall.WaitStatus
			_, err := syscall.Wait4(-h.pgid, &ws, 0, nil)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				break // ECHILD: every helper process is reaped
			}
		}
		h.pgid = 0
	}
	for _, c := range h.conns {
		syscall.Close(c)
	}
	h.conns = nil
	msg := ""
	if h.stderr != nil {
		b, _ := io.ReadAll(io.LimitReader(h.stderr, 64<<10))
		msg = string(b)
		h.stderr.Close()
		h.stderr = nil
	}
	return msg
}
