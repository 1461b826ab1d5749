#!/usr/bin/env bash
# gen.sh regenerates ../kernel_shapes.txt from the kernel's own interval tree.
#
#	testdata/kernelharness/gen.sh KERNEL_DIR
#
# KERNEL_DIR holds, at the paths they have in the kernel tree, the files that
# README.md names: lib/rbtree.c, mm/interval_tree.c and, under include/linux,
# rbtree.h, rbtree_augmented.h and interval_tree_generic.h (the userspace
# copies in tools/ are the same code). They are not part of mmrace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
k=${1:?usage: gen.sh KERNEL_DIR}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
inc=(-I"$here/shim" -I"$k/include")
# The kernel's code at -O0, instrumented: the harness's __tsan_* functions
# see every load and store in source order. No sanitizer runtime is linked.
for f in lib/rbtree.c mm/interval_tree.c; do
	cc -std=gnu11 -O0 -fno-strict-aliasing -fsanitize=thread "${inc[@]}" \
		-c "$k/$f" -o "$out/$(basename "$f" .c).o"
done
cc -std=gnu11 -O2 -Wall -Werror "${inc[@]}" "$here/harness.c" \
	"$out/rbtree.o" "$out/interval_tree.o" -o "$out/harness"
"$out/harness" >"$here/../kernel_shapes.txt"
wc -l "$here/../kernel_shapes.txt"
