// mmhelper runs the mm ops of an mmrace program on the kernel of the machine,
// for mmrace's oracle (package mmrace/oracle). It is driven by the Go
// controller, one request at a time, and answers what the kernel did.
//
// Usage (by the controller only): mmhelper SLOTS WINDOW
//
// File descriptors 3 .. 3+SLOTS-1 are SOCK_SEQPACKET sockets, one per process
// of the program ("slot"). The first process serves slot 0; "spawn J" and
// "fork J" create the process of slot J with clone(CLONE_PARENT), so every
// helper process is a child of the controller, which reaps them all. Each
// process reads one request per message and writes one reply per message.
//
// The program's address space is a window of WINDOW pages at a base chosen
// so that the window and a guard gap of 1 GiB on each side are free; the
// helper reserves nothing there, so none of its own mappings can merge with
// the program's. Model page N is base + N pages.
//
// Requests (numbers are decimal; addresses and lengths are window pages):
//
//	hello                     -> ok BASE PAGESIZE
//	file IDX PAGES NAME       -> ok       (a memfd "mmrace-NAME" of PAGES zero pages)
//	spawn SLOT                -> ok PID   (a fresh process with an empty window)
//	fork SLOT                 -> ok PID   (fork(2); the child serves SLOT)
//	mmap A N PROT SHARED FILE PGOFF       (FILE -1: anonymous; PROT bits 1 read, 2 write)
//	munmap A N
//	mprotect A N PROT
//	mremap A N NEWA NEWN FLAGS -> ok WHERE (FLAGS: MREMAP_* bits; WHERE: window page)
//	relocate FROM N TO -> ok (move the N pages at window page FROM, which may
//	  lie outside the window, to window page TO: MREMAP_MAYMOVE|MREMAP_FIXED)
//	madvise A N ADVICE
//	punch FILE PGOFF N        (fallocate(PUNCH_HOLE|KEEP_SIZE) of the file's pages)
//	load A | store A VALUE | fault A WRITE
//	snap                      -> ok, then "v START END PERMS PGOFF FILE" and "p ADDR VALUE [f]" lines
//	                             (f: a page-cache page, pagemap's PM_FILE bit)
//	exit                      -> ok, then the process exits (its mm is gone)
//
// Replies: "ok [VALUE]", "err ENAME" (the errno the kernel returned), "sig
// SIGSEGV" or "sig SIGBUS" (the access raised it; the helper caught it), or
// "bad REASON" for a request the helper does not understand.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAXFILES 64
#define REPLYMAX (256 * 1024)
#define GUARD (1UL << 30)

static long pagesize;
static long window;  // pages
static char *base;   // the window's first byte
static int nslots;
static int sock;     // this process's slot
static int memfds[MAXFILES];
static int pagemapfd = -1, memfd_self = -1;
static pid_t controller;

static char reply[REPLYMAX];
static size_t replylen;

static sigjmp_buf jb;
static volatile sig_atomic_t injump;

static void out(const char *fmt, ...) {
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(reply + replylen, sizeof reply - replylen, fmt, ap);
	va_end(ap);
	if (n > 0) {
		replylen += (size_t)n;
		if (replylen >= sizeof reply) {
			replylen = sizeof reply - 1;
		}
	}
}

static void die(const char *what) {
	dprintf(2, "mmhelper %d: %s: %s\n", getpid(), what, strerror(errno));
	_exit(3);
}

static const char *errname(int e) {
	switch (e) {
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EAGAIN: return "EAGAIN";
	case EPERM: return "EPERM";
	case EEXIST: return "EEXIST";
	case EBUSY: return "EBUSY";
	case EACCES: return "EACCES";
	case EBADF: return "EBADF";
	case ENODEV: return "ENODEV";
	case EOVERFLOW: return "EOVERFLOW";
	}
	static char buf[32];
	snprintf(buf, sizeof buf, "E%d", e);
	return buf;
}

// onfault catches the signal of a program's access. Any other fault is the
// helper's own bug: with the default action restored, returning re-runs the
// faulting instruction and the process dies of it. (No raise(): after a raw
// clone, glibc's cached thread id is the parent's.)
static void onfault(int sig) {
	if (injump) {
		injump = 0;
		siglongjmp(jb, sig);
	}
	signal(sig, SIG_DFL);
}

static char *page(long n) { return base + n * pagesize; }

// inwindow reports whether [a, a+n) lies inside the window.
static int inwindow(long a, long n) { return a >= 0 && n > 0 && a + n <= window; }

// readMaps returns this process's /proc/self/maps, NUL-terminated, in a
// buffer the next call overwrites.
static char *readMaps(void) {
	static char maps[1 << 16];
	int fd = open("/proc/self/maps", O_RDONLY);
	if (fd < 0) {
		die("open /proc/self/maps");
	}
	size_t len = 0;
	ssize_t n;
	while ((n = read(fd, maps + len, sizeof maps - 1 - len)) > 0) {
		len += (size_t)n;
	}
	close(fd);
	maps[len] = 0;
	return maps;
}

// chooseBase picks a base aligned to 1 GiB with the window and its guard
// gaps free in this process's mappings.
static char *chooseBase(void) {
	char *maps = readMaps();
	for (unsigned long cand = 0x100000000000UL; cand < 0x700000000000UL; cand += 0x10000000000UL) {
		unsigned long lo = cand - GUARD, hi = cand + (unsigned long)window * pagesize + GUARD;
		int clash = 0;
		for (char *l = maps; *l; ) {
			unsigned long s, e;
			if (sscanf(l, "%lx-%lx", &s, &e) == 2 && s < hi && e > lo) {
				clash = 1;
			}
			char *nl = strchr(l, '\n');
			if (!nl) {
				break;
			}
			l = nl + 1;
		}
		if (!clash) {
			return (char *)cand;
		}
	}
	errno = ENOSPC;
	die("no free window");
	return NULL;
}

// openProc opens this process's pagemap and mem files.
static void openProc(void) {
	if (pagemapfd >= 0) {
		close(pagemapfd);
		close(memfd_self);
	}
	if ((pagemapfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)) < 0) {
		die("open /proc/self/pagemap");
	}
	if ((memfd_self = open("/proc/self/mem", O_RDONLY | O_CLOEXEC)) < 0) {
		die("open /proc/self/mem");
	}
}

// newProcess creates the process of slot j as a sibling (clone with
// CLONE_PARENT, so the controller is its parent and reaps it). It returns
// the child's pid in the caller and 0 in the child, which serves slot j.
static pid_t newProcess(int j) {
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
	if (pid != 0) {
		return pid;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != controller) {
		_exit(4); // the controller died before we could ask to follow it
	}
	for (int i = 0; i < j; i++) {
		close(3 + i); // slots of processes that existed before this one
	}
	sock = 3 + j;
	openProc(); // /proc/self files name the mm of whoever opened them
	return 0;
}

// snapshot reports the VMAs in the window and the present pages with
// their values (read through /proc/self/mem, which neither faults a page in
// nor minds PROT_NONE).
static void snapshot(void) {
	char *maps = readMaps();
	out("ok\n");
	unsigned long lo = (unsigned long)base, hi = lo + (unsigned long)window * pagesize;
	for (char *l = maps; *l; ) {
		char *nl = strchr(l, '\n');
		if (nl) {
			*nl = 0;
		}
		unsigned long s, e, off;
		char perms[8];
		int pathAt = 0;
		if (sscanf(l, "%lx-%lx %7s %lx %*s %*s%n", &s, &e, perms, &off, &pathAt) == 4 && s < hi && e > lo) {
			char *path = l + pathAt;
			while (*path == ' ') {
				path++;
			}
			const char *name = "-";
			char buf[256];
			long pgoff = (long)(off / pagesize);
			if (*path == 0) {
				pgoff = -1; // anonymous: maps shows 0, not vm_pgoff
			} else if (strncmp(path, "/memfd:mmrace-", 14) == 0) {
				snprintf(buf, sizeof buf, "%s", path + 14);
				char *d = strstr(buf, " (deleted)");
				if (d) {
					*d = 0;
				}
				name = buf;
			} else {
				snprintf(buf, sizeof buf, "?%s", path);
				for (char *c = buf; *c; c++) {
					if (*c == ' ') {
						*c = '_';
					}
				}
				name = buf;
			}
			long a = ((long)s - (long)lo) / pagesize, b = ((long)e - (long)lo) / pagesize;
			out("v %ld %ld %s %ld %s\n", a, b, perms, pgoff, name);
		}
		if (!nl) {
			break;
		}
		l = nl + 1;
	}
	static uint64_t pm[1 << 16];
	size_t want = (size_t)window * sizeof(uint64_t);
	if (pread(pagemapfd, pm, want, (off_t)(lo / pagesize) * 8) != (ssize_t)want) {
		die("pread /proc/self/pagemap");
	}
	for (long a = 0; a < window; a++) {
		if (!(pm[a] >> 63 & 1)) {
			continue;
		}
		uint64_t v = 0;
		if (pread(memfd_self, &v, sizeof v, (off_t)(lo + (unsigned long)a * pagesize)) != sizeof v) {
			out("p %ld ?%s\n", a, errname(errno));
			continue;
		}
		out("p %ld %llu%s\n", a, (unsigned long long)v, pm[a] >> 61 & 1 ? " f" : "");
	}
}

// userAccess performs a user access at window page a: 0 load, 1 store v, 2 read
// fault, 3 write fault (a locked add of 0: a write that keeps the value).
static void userAccess(long a, int kind, uint64_t v) {
	volatile uint64_t *p = (volatile uint64_t *)page(a);
	int sig = sigsetjmp(jb, 1);
	if (sig != 0) {
		out("sig %s", sig == SIGBUS ? "SIGBUS" : "SIGSEGV");
		return;
	}
	injump = 1;
	uint64_t got = 0;
	switch (kind) {
	case 0:
	case 2:
		got = *p;
		break;
	case 1:
		*p = v;
		break;
	case 3:
		__atomic_fetch_add((uint64_t *)p, 0, __ATOMIC_SEQ_CST);
		break;
	}
	injump = 0;
	if (kind == 0) {
		out("ok %llu", (unsigned long long)got);
	} else {
		out("ok");
	}
}

static int prot(long bits) {
	return (bits & 1 ? PROT_READ : 0) | (bits & 2 ? PROT_WRITE : 0);
}

static void result(long r) {
	if (r == -1) {
		out("err %s", errname(errno));
	} else {
		out("ok");
	}
}

// handle answers one request. It returns 1 when the caller's process should
// go on serving, 0 in a new child that must not reply on the parent's slot.
static int handle(char *req) {
	char verb[16];
	long a[6] = {0};
	char name[64] = "";
	int n = sscanf(req, "%15s %ld %ld %ld %ld %ld %ld", verb, &a[0], &a[1], &a[2], &a[3], &a[4], &a[5]);
	if (n < 1) {
		out("bad empty request");
		return 1;
	}
	n--;
#define NEED(k) if (n != (k)) { out("bad %s: expected %d numbers, got %d", verb, (k), n); return 1; }
#define RANGE(x, l) if (!inwindow((x), (l))) { out("bad %s: range %ld+%ld outside the window", verb, (long)(x), (long)(l)); return 1; }
	if (!strcmp(verb, "hello")) {
		NEED(0);
		out("ok %lu %ld", (unsigned long)base, pagesize);
	} else if (!strcmp(verb, "file")) {
		if (sscanf(req, "file %ld %ld %63s", &a[0], &a[1], name) != 3 || a[0] < 0 || a[0] >= MAXFILES || a[1] <= 0) {
			out("bad file: expected IDX PAGES NAME");
			return 1;
		}
		char mname[80];
		snprintf(mname, sizeof mname, "mmrace-%s", name);
		int fd = memfd_create(mname, MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, a[1] * pagesize) < 0) {
			out("err %s", errname(errno));
			return 1;
		}
		memfds[a[0]] = fd;
		out("ok");
	} else if (!strcmp(verb, "spawn") || !strcmp(verb, "fork")) {
		NEED(1);
		if (a[0] <= sock - 3 || a[0] >= nslots) {
			out("bad %s: slot %ld is not a later slot", verb, a[0]);
			return 1;
		}
		pid_t pid = newProcess((int)a[0]);
		if (pid < 0) {
			out("err %s", errname(errno));
		} else if (pid == 0) {
			if (!strcmp(verb, "spawn") && munmap(base, (size_t)window * pagesize) < 0) {
				die("spawn: munmap window");
			}
			return 0;
		} else {
			out("ok %d", (int)pid);
		}
	} else if (!strcmp(verb, "mmap")) {
		NEED(6);
		RANGE(a[0], a[1]);
		int flags = MAP_FIXED | (a[3] ? MAP_SHARED : MAP_PRIVATE);
		int fd = -1;
		if (a[4] < 0) {
			flags |= MAP_ANONYMOUS;
		} else if (a[4] >= MAXFILES || memfds[a[4]] <= 0) {
			out("bad mmap: no file %ld", a[4]);
			return 1;
		} else {
			fd = memfds[a[4]];
		}
		void *r = mmap(page(a[0]), (size_t)a[1] * pagesize, prot(a[2]), flags, fd, (off_t)a[5] * pagesize);
		result(r == MAP_FAILED ? -1 : 0);
	} else if (!strcmp(verb, "munmap")) {
		NEED(2);
		RANGE(a[0], a[1]);
		result(munmap(page(a[0]), (size_t)a[1] * pagesize));
	} else if (!strcmp(verb, "mprotect")) {
		NEED(3);
		RANGE(a[0], a[1]);
		result(mprotect(page(a[0]), (size_t)a[1] * pagesize, prot(a[2])));
	} else if (!strcmp(verb, "mremap")) {
		NEED(5);
		RANGE(a[0], a[1]);
		RANGE(a[2], a[3]);
		char *r = mremap(page(a[0]), (size_t)a[1] * pagesize, (size_t)a[3] * pagesize, (int)a[4], page(a[2]));
		if (r == MAP_FAILED) {
			result(-1);
		} else {
			out("ok %ld", (long)(r - base) / pagesize); // where it went, in window pages
		}
	} else if (!strcmp(verb, "relocate")) {
		// relocate FROM N TO: move a mapping that a MREMAP_MAYMOVE growth
		// put anywhere (FROM may lie outside the window) to window page TO.
		NEED(3);
		RANGE(a[2], a[1]);
		char *r = mremap(page(a[0]), (size_t)a[1] * pagesize, (size_t)a[1] * pagesize, MREMAP_MAYMOVE | MREMAP_FIXED, page(a[2]));
		result(r == MAP_FAILED ? -1 : 0);
	} else if (!strcmp(verb, "madvise")) {
		NEED(3);
		RANGE(a[0], a[1]);
		result(madvise(page(a[0]), (size_t)a[1] * pagesize, (int)a[2]));
	} else if (!strcmp(verb, "punch")) {
		NEED(3);
		if (a[0] < 0 || a[0] >= MAXFILES || memfds[a[0]] <= 0 || a[1] < 0 || a[2] <= 0) {
			out("bad punch: no file %ld, or a bad range", a[0]);
			return 1;
		}
		result(fallocate(memfds[a[0]], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)a[1] * pagesize, (off_t)a[2] * pagesize));
	} else if (!strcmp(verb, "load")) {
		NEED(1);
		RANGE(a[0], 1);
		userAccess(a[0], 0, 0);
	} else if (!strcmp(verb, "store")) {
		unsigned long long v;
		if (sscanf(req, "store %ld %llu", &a[0], &v) != 2) {
			out("bad store: expected ADDR VALUE");
			return 1;
		}
		RANGE(a[0], 1);
		userAccess(a[0], 1, v);
	} else if (!strcmp(verb, "fault")) {
		NEED(2);
		RANGE(a[0], 1);
		userAccess(a[0], a[1] ? 3 : 2, 0);
	} else if (!strcmp(verb, "snap")) {
		NEED(0);
		snapshot();
	} else if (!strcmp(verb, "exit")) {
		NEED(0);
		out("ok");
		if (write(sock, reply, replylen) < 0) {
			die("write reply");
		}
		_exit(0);
	} else {
		out("bad unknown request %s", verb);
	}
	return 1;
}

int main(int argc, char **argv) {
	if (argc != 3 || (nslots = atoi(argv[1])) <= 0 || (window = atol(argv[2])) <= 0 || window > (1 << 16)) {
		dprintf(2, "usage: mmhelper SLOTS WINDOW (run by mmrace's oracle, not by hand)\n");
		return 2;
	}
	controller = getppid();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != controller) {
		_exit(4);
	}
	// Small pages only: layouts and present pages as the model sees them.
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	pagesize = sysconf(_SC_PAGESIZE);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = onfault;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	openProc();
	base = chooseBase();
	sock = 3;
	static char req[512];
	for (;;) {
		ssize_t n = read(sock, req, sizeof req - 1);
		if (n <= 0) {
			_exit(n < 0 ? 3 : 0); // the controller closed the slot
		}
		req[n] = 0;
		replylen = 0;
		reply[0] = 0;
		if (!handle(req)) {
			continue; // a new child: serve its own slot
		}
		if (write(sock, reply, replylen) < 0) {
			die("write reply");
		}
	}
}
