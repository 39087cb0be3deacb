#!/usr/bin/env bash
# clamscan -r of the 20,000-file tree through our mount against the same tree on the host's own filesystem
# (issue 18's goal: at least 0.95x the host's files per second), in alternating rounds, medians.
# Hash signatures only (a local .hdb made here, no network): this measures the reading path, not the pattern engine.
# Uses the images of bench/fuse.sh (IMAGES_ONLY=1 bash bench/fuse.sh builds them); the host copy is made once beside
# them. Usage (root): bash bench/clamscan.sh [ROUNDS]   (BIN=path/to/vmdkmount for the native binary; default the JIT build)
set -euo pipefail
# shellcheck source=mount-common.sh
. "$(dirname "$0")/mount-common.sh"
rounds=${1:-5}
host=$root/build/bench-fuse/host-tree
if [ ! -f "$host/.done" ]; then
  rm -rf "$host"; mkdir -p "$host"
  mount -o ro,loop,noload "$img/p2.raw" "$mnt"; cp -a "$mnt/tree" "$host/"; umount "$mnt"
  touch "$host/.done"
fi
db=$img/bench.hdb
[ -f "$db" ] || printf '%s:%s:Bench.Test.Sig\n' "$(printf 'not in the tree' | md5sum | cut -d' ' -f1)" 15 > "$db"
files=$(find "$host/tree" -type f | wc -l)

scan() { local t r=0; t=$(date +%s.%N); clamscan --no-summary -d "$db" -r "$1" > /dev/null || r=$?
  [ "$r" -le 1 ] || { echo "clamscan failed ($r)" >&2; exit 1; }; echo "$files / ($(date +%s.%N) - $t)" | bc -l; }
ours_scan() { "${ours[@]}" mount "$img/$1" "$mnt" --volume "$2" --state-dir "$state" > /dev/null; cat "$img"/*.vmdk > /dev/null
  scan "$mnt/tree"; "${ours[@]}" unmount "$mnt" --state-dir "$state" > /dev/null; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -a H N E C
for ((i = 0; i < rounds; i++)); do
  find "$host/tree" -type f -print0 | xargs -0 cat > /dev/null
  H+=("$(scan "$host/tree")")
  N+=("$(ours_scan base.vmdk p1)")
  E+=("$(ours_scan base.vmdk p2)")
  C+=("$(ours_scan link100.vmdk p2)")
done
h=$(median "${H[@]}")
printf '| contender | clamscan files/s (median of %d) | vs host |\n|---|---|---|\n' "$rounds"
printf '| host filesystem (%s) | %.0f | 1.00x |\n' "$(findmnt -n -o FSTYPE -T "$host")" "$h"
for row in "ours, NTFS p1 of base.vmdk:N" "ours, ext4 p2 of base.vmdk:E" "ours, ext4 p2 of link100.vmdk (100-link chain):C"; do
  label=${row%:*}; declare -n arr=${row##*:}; m=$(median "${arr[@]}")
  printf '| %s | %.0f | %.2fx |\n' "$label" "$m" "$(echo "$m / $h" | bc -l)"
done
echo "samples: host ${H[*]}; ntfs ${N[*]}; ext4 ${E[*]}; chain ${C[*]}" | sed -E 's/([0-9]+)\.[0-9]+/\1/g'
