#!/usr/bin/env bash
# Incremental antivirus scan (issue 15): clamscan of only what `changed` lists since the last scanned point, against
# clamscan -r of the whole point, both through one mount of the newest link; alternating rounds, medians.
# Uses the 200,000-file chains of bench/changed.sh (run it once for FS first; it builds build/bench-changed/FS).
# Hash signatures only (a local .hdb made here, no network), as bench/clamscan.sh: this measures reading, not the
# pattern engine. The incremental time includes `changed` itself and turning its -0 output into clamscan's list.
# Usage (root): bash bench/incremental-scan.sh [ROUNDS] [FS]   (defaults 3 and ext4; BIN=path/to/vmdkmount for the
#   native binary of install/package.sh, else the JIT build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-3}
FS=${2:-ext4}
D=$root/build/bench-changed/$FS
[ -f "$D/child.vmdk" ] || { echo "bench/incremental-scan.sh: build the chain first: bash bench/changed.sh 1 $FS" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench/incremental-scan.sh: run as root (FUSE mount)" >&2; exit 2; }
if [ -n "${BIN:-}" ]; then cli=("$(realpath "$BIN")"); else
  dotnet build "$root/src/VmdkMount.Cli" -c Release -v quiet -nologo >/dev/null
  cli=(dotnet "$root/build/bin/VmdkMount.Cli/Release/net10.0/vmdkmount.dll")
fi
work=$(mktemp -d); mnt=$work/mnt; state=$work/state; mkdir -p "$mnt" "$state"
trap '"${cli[@]}" unmount "$mnt" --state-dir "$state" >/dev/null 2>&1 || umount -l "$mnt" 2>/dev/null; rm -rf "$work"' EXIT
db=$work/bench.hdb
printf '%s:%s:Bench.Test.Sig\n' "$(printf 'not in the tree' | md5sum | cut -d' ' -f1)" 15 > "$db"
"${cli[@]}" mount "$D/child.vmdk" "$mnt" --state-dir "$state" >/dev/null
cat "$D"/*.vmdk > /dev/null

now() { date +%s.%N; }
full() { local r=0; clamscan --no-summary -d "$db" -r "$mnt" > /dev/null || r=$?; [ "$r" -le 1 ] || { echo "clamscan failed ($r)" >&2; exit 1; }; }
incremental() { # the README's recipe: volume paths of `changed -0` made paths in the mount, one per line
  local r=0
  "${cli[@]}" changed "$D/child.vmdk" --since base.vmdk -0 -q | tr '\0' '\n' | sed "s#^\([^:]*\):/#$mnt/\1/#" > "$work/list"
  clamscan --no-summary -d "$db" --file-list="$work/list" > /dev/null || r=$?; [ "$r" -le 1 ] || { echo "clamscan failed ($r)" >&2; exit 1; }
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
files=$(find "$mnt" -type f | wc -l)
F=(); I=()
for ((i = 0; i < rounds; i++)); do
  if ((i % 2)); then t=$(now); full; F+=("$(echo "$(now) - $t" | bc -l)"); t=$(now); incremental; I+=("$(echo "$(now) - $t" | bc -l)")
  else t=$(now); incremental; I+=("$(echo "$(now) - $t" | bc -l)"); t=$(now); full; F+=("$(echo "$(now) - $t" | bc -l)"); fi
done
listed=$(wc -l < "$work/list")
f=$(median "${F[@]}"); n=$(median "${I[@]}")
echo "$FS, $files files in the point, $listed paths listed by changed; $rounds alternating rounds; load $(cut -d' ' -f1-3 /proc/loadavg); ${BIN:+native }build"
printf '| scan | wall s (median) |\n|---|---:|\n| clamscan -r of the whole point | %.2f |\n| changed -0 + clamscan --file-list | %.2f |\n| ratio | %.1fx |\n' "$f" "$n" "$(echo "$f / $n" | bc -l)"
echo "samples: full ${F[*]} | incremental ${I[*]}" | sed -E 's/([0-9]*\.[0-9]{2})[0-9]*/\1/g'
