#!/bin/sh
# Rebuilds the BPF objects from their C sources. Needs clang with the BPF target
# (Debian: clang-19). The objects are committed so tests run without clang.
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang-19}
for src in csum maps calls global_func; do
	"$CLANG" -O2 -g -target bpf -mcpu=v3 -c "$src.c" -o "$src.o"
done
# Without -g: no BTF, so function names come from symbols alone.
"$CLANG" -O2 -target bpf -mcpu=v3 -c calls.c -o calls_nobtf.o
# ISA v4 only: sign-extending loads, bswap, sdiv/smod.
"$CLANG" -O2 -g -target bpf -mcpu=v4 -c v4ops.c -o v4ops.o
# Sample inputs and their expected results (samples.json).
python3 make_samples.py
