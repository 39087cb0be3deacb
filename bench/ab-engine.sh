#!/usr/bin/env bash
# Before/after check of an engine change: alternating rounds of two builds on the images of bench/engine.sh.
# Usage: bench/ab-engine.sh DIR [ROUNDS]   DIR holds base.vmdk and chain100/top.vmdk (as engine.sh makes them) and
# old-cli/, new-cli/, old-benchbin/, new-benchbin/ (dotnet build -c Release src/VmdkMount.Cli -o DIR/old-cli, ...).
# Per round and build: export (wall s, CPU s) of both images to /dev/shm, in-process sequential read (MiB/s).
# Alternating old/new rounds keeps a busy machine's drift out of the comparison; take medians.
set -euo pipefail
cd "$1"
rounds=${2:-3}
t() { local o; o=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1 ); rm -f /dev/shm/seams-out.raw; read -r r u s <<<"$o"; awk "BEGIN{printf \"%.3f %.3f\", $r, $u+$s}"; }
for round in $(seq 1 "$rounds"); do
  for v in old new; do
    cli=(dotnet $v-cli/vmdkmount.dll); q=(dotnet $v-benchbin/VmdkMount.Benchmarks.dll quick)
    eb=$(t "${cli[@]}" export base.vmdk /dev/shm/seams-out.raw)
    ec=$(t "${cli[@]}" export chain100/top.vmdk /dev/shm/seams-out.raw)
    rb=$("${q[@]}" read base.vmdk); rc=$("${q[@]}" read chain100/top.vmdk)
    echo "$round $v export_base=$eb export_chain=$ec read_base=$rb read_chain=$rc"
  done
done
