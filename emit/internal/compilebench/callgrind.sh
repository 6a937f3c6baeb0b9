#!/bin/sh
# callgrind.sh ARCH N MODE [K]: callgrind instructions (Ir) per BPF slot of one
# emit.Compile of compilebench's N-slot program, counted on the main thread as
# (Ir with K+1 timed compiles - Ir with 1) / K / N. Repeatable on a loaded machine.
# Run from the module root: emit/internal/compilebench/callgrind.sh amd64 10000 plain
set -eu
arch=$1 n=$2 mode=$3 k=${4:-8}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
go build -o "$d/compilebench" "./$(dirname "$0")"
run() {
	GOGC=off GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 valgrind --tool=callgrind \
		--separate-threads=yes --callgrind-out-file="$d/cg.$1" \
		"$d/compilebench" -arch "$arch" -n "$n" -mode "$mode" -iters "$1" >/dev/null 2>&1
	awk '/^(summary|totals):/ { print $2; exit }' "$d/cg.$1-01"
}
a=$(run 1)
b=$(run $((k + 1)))
awk -v a="$a" -v b="$b" -v k="$k" -v n="$n" -v s="$arch n=$n $mode" \
	'BEGIN { printf "%s: %.1f Ir/slot, %d Ir per compile\n", s, (b - a) / k / n, (b - a) / k }'
