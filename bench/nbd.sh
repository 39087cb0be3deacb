#!/usr/bin/env bash
# NBD benchmark, side by side in one run, alternating rounds, medians:
#   1. sequential read of a 1 GiB export from qemu-nbd on loopback: `vmdkmount export nbd://...` against
#      `qemu-img convert -O raw nbd://...` (both write the raw copy to /dev/shm, so the disk under it is not measured)
#   2. the same with the export served with multi-conn (`qemu-nbd -e 4`, CAN_MULTI_CONN): what extra connections give
#   3. warm random 4 KiB reads through the engine (bench quick rand), with the block cache (the remote default) and
#      without it, in microseconds per read
# Usage: bench/nbd.sh [ROUNDS]   (default 5; needs qemu-nbd, ~1 GiB in build/bench and ~2 GiB free in /dev/shm)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-5}
work=$root/build/bench
mkdir -p "$work"
cd "$work"
dotnet build -c Release "$root/src/VmdkMount.Cli" -o "$work/cli" >/dev/null
dotnet build -c Release "$root/bench/VmdkMount.Benchmarks" -o "$work/benchbin" >/dev/null
cli=(dotnet "$work/cli/vmdkmount.dll")
# BIN=path/to/vmdkmount measures another build, such as the native binary of install/package.sh (what the package installs).
[ -z "${BIN:-}" ] || cli=("$(realpath "$BIN")")   # realpath: the script works from build/bench
quick=(dotnet "$work/benchbin/VmdkMount.Benchmarks.dll" quick)
[ -f nbd-1g.raw ] || head -c 1G /dev/urandom > nbd-1g.raw

pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -f /dev/shm/vmdkmount-nbd-bench.raw; }
trap stop EXIT
serve() { # PORT EXTRA-ARGS...: qemu-nbd read-only, persistent, in the background
  local port=$1; shift
  qemu-nbd -r -f raw -t -x exp -b 127.0.0.1 -p "$port" "$@" nbd-1g.raw &
  pids+=($!)
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0; sleep 0.05; done
  echo "qemu-nbd on $port did not start" >&2; exit 1
}
serve 10809
serve 10810 -e 4
out=/dev/shm/vmdkmount-nbd-bench.raw
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); rm -f "$out"; awk "BEGIN { printf \"%.3f\", $e - $s }"; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -A t
for r in $(seq "$rounds"); do
  for port in 10809 10810; do
    t[q$port]+=" $(secs qemu-img convert -f raw -O raw "nbd://127.0.0.1:$port/exp" "$out")"
    t[v$port]+=" $(secs "${cli[@]}" export "nbd://127.0.0.1:$port/exp" "$out")"
  done
done
rc=$("${quick[@]}" rand nbd://127.0.0.1:10809/exp 4096)
rn=$(VMDKMOUNT_BENCH_NO_CACHE=1 "${quick[@]}" rand nbd://127.0.0.1:10809/exp 4096)

echo "| 1 GiB export over NBD (qemu-nbd, loopback), median of $rounds alternating rounds | qemu-img convert | vmdkmount export | ratio (qemu-img time / ours) |"
echo "|---|---|---|---|"
for port in 10809 10810; do
  q=$(echo "${t[q$port]}" | median); v=$(echo "${t[v$port]}" | median)
  label="qemu-nbd -r (one connection)"; [ "$port" = 10810 ] && label="qemu-nbd -r -e 4 (CAN_MULTI_CONN)"
  echo "| $label | ${q} s | ${v} s | $(awk "BEGIN { printf \"%.2fx\", $q / $v }") |"
done
echo
echo "Random 4 KiB reads (warm, 16,384 offsets, 4 passes): ${rc} µs/read with the block cache, ${rn} µs/read without"
echo "rounds: qemu-img ${t[q10809]} | ours ${t[v10809]} | qemu-img -e4 ${t[q10810]} | ours -e4 ${t[v10810]}"
