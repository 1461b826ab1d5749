// Package oracle checks the model's sequential semantics against the Linux
// kernel of the machine it runs on. A program's ops run in program order
// (setup, then t1's, t2's, ...) on both sides: on the model in one simulated
// task, and on the host by a small C helper (helper/mmhelper.c, built with
// cc on first use) that runs each op in a process of its own mm, inside a
// window of the helper's address space where model page N is base + N
// pages. After every op both sides report the op's result, the VMAs of
// every mm (bounds, protection, file, offset), its present pages and the
// values they hold; Diff returns the first difference, classified by kind.
//
// The command line is
//
//	mmrace diff prog.txt [-json]
//
// Ops without a host counterpart (migrate, reclaim, exec) are skipped on the
// host and listed; a program that reaches a deliberate limit of the model
// (LIMITS.md) is compared up to that op.
package oracle
