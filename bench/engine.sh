#!/usr/bin/env bash
# Engine benchmark, side by side with qemu-img on the same machine in one run:
#   1. sequential export of a 1 GiB monolithicSparse disk: `vmdkmount export` vs `qemu-img convert -O raw`
#   2. the same through a 100-link chain on top of that disk (chain vs base; goal: within 10 %)
#   3. open time of a 2 TB sparse disk and of a 1,000-link chain (goal: under 200 ms, independent of size and depth)
# Usage: bench/engine.sh [WORKDIR]   (default build/bench; needs ~3 GiB free; prints a Markdown table)
# Add --bdn to also run the BenchmarkDotNet suite (bench/VmdkMount.Benchmarks) on the same images.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$root/build/bench}
[ "${1:-}" = --bdn ] && work=$root/build/bench
bdn=0; for a in "$@"; do [ "$a" = --bdn ] && bdn=1; done
mkdir -p "$work"
cd "$work"

dotnet build -c Release "$root/src/VmdkMount.Cli" -o "$work/cli" >/dev/null
dotnet build -c Release "$root/bench/VmdkMount.Benchmarks" -o "$work/benchbin" >/dev/null
cli=(dotnet "$work/cli/vmdkmount.dll")
quick=(dotnet "$work/benchbin/VmdkMount.Benchmarks.dll" quick)

if [ ! -f base.vmdk ]; then
  head -c 1G /dev/urandom > base.raw
  qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse base.raw base.vmdk
  rm -f base.raw
fi
if [ ! -f chain100/top.vmdk ]; then
  rm -rf chain100 && mkdir chain100
  prev=../base.vmdk
  for i in $(seq 1 100); do
    n=chain100/l$(printf %03d "$i").vmdk
    [ "$i" = 100 ] && n=chain100/top.vmdk
    qemu-img create -q -f vmdk -u -b "$prev" -F vmdk "$n" 1G
    qemu-io -f vmdk -c "write -P $i $((i * 7 * 1048576)) 64k" "$n" >/dev/null
    prev=$(basename "$n")
  done
fi
[ -f big2t.vmdk ] || qemu-img create -q -f vmdk big2t.vmdk 2T
if [ ! -f chain1000/top.vmdk ]; then
  rm -rf chain1000 && mkdir chain1000
  qemu-img create -q -f vmdk chain1000/l0000.vmdk 64M
  prev=l0000.vmdk
  for i in $(seq 1 1000); do
    n=l$(printf %04d "$i").vmdk
    [ "$i" = 1000 ] && n=top.vmdk
    # -u with an explicit size: do not open the whole backing chain for every new link (quadratic)
    qemu-img create -q -f vmdk -u -b "$prev" -F vmdk "chain1000/$n" 64M
    prev=$n
  done
fi

calc() { awk "BEGIN { print $* }"; }
# best of 3 runs: wall seconds, and CPU seconds (user+sys) of that run, which a busy shared machine disturbs less
best() {
  local b=999999 bc=0 t
  for _ in 1 2 3; do
    t=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1 )
    rm -f out.raw
    read -r r u s <<<"$t"
    if [ "$(calc "($r < $b) ? 1 : 0")" = 1 ]; then b=$r; bc=$(calc "$u + $s"); fi
  done
  printf '%.3f' "$b"
  cpu_last=$bc
}
mibs() { printf '%.0f' "$(calc "1024 / $1")"; }

sync
best qemu-img convert -O raw base.vmdk out.raw >/dev/null  # warm the page cache
q_base=$(best qemu-img convert -O raw base.vmdk out.raw; echo " $cpu_last")
v_base=$(best "${cli[@]}" export base.vmdk out.raw; echo " $cpu_last")
q_chain=$(best qemu-img convert -O raw chain100/top.vmdk out.raw; echo " $cpu_last")
v_chain=$(best "${cli[@]}" export chain100/top.vmdk out.raw; echo " $cpu_last")
read -r q_base qc_base <<<"$q_base"; read -r v_base vc_base <<<"$v_base"
read -r q_chain qc_chain <<<"$q_chain"; read -r v_chain vc_chain <<<"$v_chain"
r_base=$("${quick[@]}" read base.vmdk)
r_chain=$("${quick[@]}" read chain100/top.vmdk)
x_base=$("${quick[@]}" rand base.vmdk)
x_chain=$("${quick[@]}" rand chain100/top.vmdk)
o_big=$("${quick[@]}" open big2t.vmdk)
o_chain=$("${quick[@]}" open chain1000/top.vmdk)
qo_big=$(best qemu-img info big2t.vmdk)
qo_chain=$(best qemu-img info --backing-chain chain1000/top.vmdk)

cat <<EOT
Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)
qemu-img $(qemu-img --version | head -1 | awk '{print $3}'), .NET $(dotnet --version)

| Measurement | vmdkmount | qemu-img | ratio (vmdkmount / qemu) |
|---|---:|---:|---:|
| export 1 GiB monolithicSparse, s (MiB/s) | $v_base ($(mibs "$v_base")) | $q_base ($(mibs "$q_base")) | $(printf '%.2f' "$(calc "$v_base / $q_base")") |
| export through 100-link chain, s (MiB/s) | $v_chain ($(mibs "$v_chain")) | $q_chain ($(mibs "$q_chain")) | $(printf '%.2f' "$(calc "$v_chain / $q_chain")") |
| chain / base export time | $(printf '%.2f' "$(calc "$v_chain / $v_base")") | $(printf '%.2f' "$(calc "$q_chain / $q_base")") | |
| export CPU s (user+sys): base / chain | $vc_base / $vc_chain | $qc_base / $qc_chain | $(printf '%.2f' "$(calc "$vc_base / $qc_base")") / $(printf '%.2f' "$(calc "$vc_chain / $qc_chain")") |
| in-process sequential read, MiB/s: base / 100-link chain | $r_base / $r_chain | | |
| warm random 64 KiB read, us: base / 100-link chain | $x_base / $x_chain | | |
| open 2 TB sparse disk, ms (qemu: whole \`qemu-img info\` process) | $o_big | $(printf '%.0f' "$(calc "$qo_big * 1000")") | |
| open 1,000-link chain, ms (qemu: \`qemu-img info --backing-chain\`) | $o_chain | $(printf '%.0f' "$(calc "$qo_chain * 1000")") | |

Exports are whole processes (startup included), best of 3, output written to $work/out.raw; open times are
in-process medians of 7 (bench/VmdkMount.Benchmarks quick open).
EOT

if [ "$bdn" = 1 ]; then
  VMDKMOUNT_BENCH_DIR=$work dotnet "$work/benchbin/VmdkMount.Benchmarks.dll" --filter '*' --job short
fi
