#!/usr/bin/env bash
# Runs every benchmark bench/RESULTS.md reports, -count 10, and summarises each set with
# benchstat (medians and their spread). Run it on a quiet machine: nothing else running.
#   bench/run.sh [OUTDIR]      (default: bench/out)
# Needs benchstat: go install golang.org/x/perf/cmd/benchstat@latest
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/out}
mkdir -p "$out"
count=${COUNT:-10}
bt=${BENCHTIME:-500ms}
run() { # name package regexp
  echo "== $1" >&2
  go test -run '^$' -bench "$3" -benchmem -count "$count" -benchtime "$bt" "$2" | tee "$out/$1.txt" >/dev/null
  benchstat "$out/$1.txt" > "$out/$1.stat"
}
run bridge ./bridge/ 'RunEmpty|MachineRunEmpty|HelperGate|HelperExitReenter|GoIndirectCall|RunOneHelperCall'
run interp ./interp/ 'InterpLoop|InterpRunOverhead'
run jit . 'Checksum1500|ALULoop32|ALULanes32|LoadFixedCost|ProgramRunEmpty'
run compile . 'BenchmarkCompile'
run tailcalls . 'TailCall|ProgArrayUpdate|ArrayLookup'
run verifier ./verifier/ 'Verify'
run maps ./maps/ 'Lookup|Update'
echo "results in $out" >&2
