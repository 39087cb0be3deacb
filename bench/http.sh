#!/usr/bin/env bash
# A VMDK chain over HTTP from nginx on loopback: `vmdkmount export URL` (reads the flattened disk sequentially
# through range requests, the read-ahead cache and the chain) against `curl` fetching the same bytes (the
# flattened image, as qemu-img makes it, from the same nginx). Alternating rounds, medians.
# Usage: bench/http.sh [ROUNDS] [SIZE]   (defaults 5 rounds, 512M disk). Needs nginx, curl, qemu-img (install/deps.sh).
# Output: one line per round, then the medians and the ratio (vmdkmount MiB/s / curl MiB/s; goal at least 0.9), then
# warm random 4 KiB reads of the chain over HTTP through the engine (bench quick rand), with the block cache (the
# remote default) and without it, in microseconds per read.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
size=${2:-512M}
work=$PWD/build/bench/http
mkdir -p "$work/www/vm 1" "$work/nginx/logs" "$work/nginx/tmp"
# BIN=path/to/vmdkmount measures another build, such as the native binary of install/package.sh (what the package installs).
if [ -n "${BIN:-}" ]; then cli=("$BIN"); else
  dotnet build -c Release src/VmdkMount.Cli -o "$work/cli" >/dev/null
  cli=(dotnet "$work/cli/vmdkmount.dll")
fi
dotnet build -c Release bench/VmdkMount.Benchmarks -o "$work/benchbin" >/dev/null
quick=(dotnet "$work/benchbin/VmdkMount.Benchmarks.dll" quick)

# the chain: a base of random data (every grain allocated), two children with scattered writes
www="$work/www/vm 1"
if [ ! -f "$www/.complete-$size" ]; then
  rm -rf "$www"; mkdir -p "$www"
  head -c "$size" /dev/urandom > "$work/base.raw"
  qemu-img convert -q -f raw -O vmdk "$work/base.raw" "$www/base disk.vmdk"
  (cd "$www" && qemu-img create -q -f vmdk -b "base disk.vmdk" -F vmdk "child #1.vmdk" \
    && qemu-io -f vmdk -c 'write -q -P 0x11 1M 4M' -c 'write -q -P 0x12 100M 1M' "child #1.vmdk" >/dev/null \
    && qemu-img create -q -f vmdk -b "child #1.vmdk" -F vmdk disk-000002.vmdk \
    && qemu-io -f vmdk -c 'write -q -P 0x21 3M 64k' -c 'write -q -P 0x22 200M 2M' disk-000002.vmdk >/dev/null \
    && qemu-img convert -q -O raw disk-000002.vmdk flat.raw)
  rm -f "$work/base.raw"
  touch "$www/.complete-$size"
fi

. bench/nginx.sh
nginx_start "$work" "$work/www"
stop() { nginx_stop "$work"; rm -f /dev/shm/http-bench.*; }
trap stop EXIT

url="http://127.0.0.1:$port/vm%201/disk-000002.vmdk"
flat="http://127.0.0.1:$port/vm%201/flat.raw"
bytes=$(stat -c %s "$www/flat.raw")
"${cli[@]}" export "$url" /dev/shm/http-bench.img >/dev/null
cmp /dev/shm/http-bench.img "$www/flat.raw"   # the same bytes, or the figures mean nothing
# wall and CPU (user+sys) seconds of one command: on a shared machine the CPU time is the steadier figure
secs() { local o; o=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1 ); read -r r u s <<<"$o"; awk "BEGIN{printf \"%.3f %.3f\", $r, $u+$s}"; }
ours=(); theirs=(); ourcpu=(); theircpu=(); opens=()
for r in $(seq 1 "$rounds"); do
  read -r a ac <<<"$(secs "${cli[@]}" export "$url" /dev/shm/http-bench.img)"; rm -f /dev/shm/http-bench.img
  read -r b bc <<<"$(secs curl -sf -o /dev/shm/http-bench.curl "$flat")"; rm -f /dev/shm/http-bench.curl
  read -r i _ <<<"$(secs "${cli[@]}" info "$url")"
  ours+=("$a"); theirs+=("$b"); ourcpu+=("$ac"); theircpu+=("$bc"); opens+=("$i")
  echo "round $r: vmdkmount export ${a}s (CPU ${ac}s), curl ${b}s (CPU ${bc}s), vmdkmount info (start-up and open) ${i}s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mo=$(median "${ours[@]}"); mt=$(median "${theirs[@]}"); co=$(median "${ourcpu[@]}"); ct=$(median "${theircpu[@]}"); mi=$(median "${opens[@]}")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v c="$co" -v d="$ct" 'BEGIN { printf "median CPU: vmdkmount %.3f s, curl %.3f s\n", c, d }'
awk -v b="$bytes" -v o="$mo" -v t="$mt" -v i="$mi" 'BEGIN {
  printf "median over %d MiB: vmdkmount export %.3f s (%.0f MiB/s), curl %.3f s (%.0f MiB/s), ratio %.2f\n",
         b / 1048576, o, b / 1048576 / o, t, b / 1048576 / t, t / o
  if (o > i) printf "less start-up and open (info, %.3f s): %.3f s (%.0f MiB/s), ratio %.2f\n", i, o - i, b / 1048576 / (o - i), t / (o - i) }'
rc=$("${quick[@]}" rand "$url" 4096)
rn=$(VMDKMOUNT_BENCH_NO_CACHE=1 "${quick[@]}" rand "$url" 4096)
echo "random 4 KiB reads over HTTP (warm, 16,384 offsets, 4 passes): ${rc} µs/read with the cache (256 MiB budget), ${rn} µs/read with a 1 MiB budget (next to no cache)"
