#!/usr/bin/env bash
# A/B of the CLI's tree walks, two builds interleaved: `extract` of a 20,000-file tree and `ls -R --json` of it,
# from an ext4 image made by mke2fs -d (read as a raw disk, so only the walk and the reader are measured).
#   bash bench/tree-ab.sh OLD_BIN_DIR NEW_BIN_DIR [ROUNDS]   (BIN_DIR holds vmdkmount.dll)
# Prints medians of wall s, CPU s (user+sys: steadier on a shared machine) and peak RSS MiB per build and command.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$(realpath "$1"); B=$(realpath "$2"); R=${3:-5}
D=$(pwd)/build/bench/tree; O=/dev/shm/vmdkmount-tree-ab
mkdir -p "$D"
if [ ! -f "$D/tree.img" ]; then
  rm -rf "$D/src"; mkdir -p "$D/src"
  for d in $(seq 1 200); do
    mkdir -p "$D/src/d$d"
    for f in $(seq 1 100); do printf 'file %d/%d\n' "$d" "$f" > "$D/src/d$d/f$f.txt"; done
  done
  mke2fs -q -t ext4 -d "$D/src" "$D/tree.img" 256M
fi
run() { # BIN CMD...: "wall cpu rssMiB"
  local bin=$1; shift
  rm -rf "$O"
  /usr/bin/time -f '%e %U %S %M' -o "$D/time.txt" dotnet "$bin/vmdkmount.dll" "$@" >/dev/null 2>&1 || true
  read -r e u s m <"$D/time.txt"
  awk "BEGIN { printf \"%.3f %.3f %.0f\", $e, $u + $s, $m / 1024 }"
}
declare -A res
for r in $(seq "$R"); do
  for v in A B; do
    bin=${!v}
    res[$v-extract]+="$(run "$bin" extract "$D/tree.img" disk:/ "$O" --raw-input -q);"
    res[$v-ls]+="$(run "$bin" ls "$D/tree.img" disk:/ -R --json --raw-input);"
  done
done
rm -rf "$O"
med() { tr ';' '\n' | grep . | awk -v c="$1" '{ print $c }' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "| command (20,000 files, ext4, raw) | build | wall s | CPU s | peak RSS MiB |"
echo "|---|---|---|---|---|"
for c in extract ls; do
  for v in A B; do
    name=old; [ $v = B ] && name=new
    echo "| $c | $name | $(echo "${res[$v-$c]}" | med 1) | $(echo "${res[$v-$c]}" | med 2) | $(echo "${res[$v-$c]}" | med 3) |"
  done
done
