#!/usr/bin/env bash
# Small-file figures of issue 18, in alternating rounds with medians: `find` + `ls -lR` of the 20,000-file tree and
# reading every file of it (find | xargs cat), each from a fresh mount with the host's page cache warm, for
#   the kernel's ext4 on a loop mount of the raw volume, ntfs-3g on the raw NTFS volume,
#   ours on the NTFS and ext4 volumes of base.vmdk and of link100.vmdk (the 100-link chain),
#   and, with BASELINE=path/to/vmdkmount(.dll), an older build of ours on the same four.
# Uses the images of bench/fuse.sh (IMAGES_ONLY=1 bash bench/fuse.sh builds them).
# Usage (root): bash bench/tree.sh [ROUNDS]   (default 5; BIN=path/to/vmdkmount for the native binary, else the JIT build)
set -euo pipefail
# shellcheck source=mount-common.sh
. "$(dirname "$0")/mount-common.sh"
rounds=${1:-5}

# contender: label|how  (how: kernel, ntfs3g, or ours/base:DISK:VOL)
C=("kernel ext4 (loop)|kernel" "ntfs-3g|ntfs3g"
   "ours NTFS base|ours:base.vmdk:p1" "ours NTFS 100-link chain|ours:link100.vmdk:p1"
   "ours ext4 base|ours:base.vmdk:p2" "ours ext4 100-link chain|ours:link100.vmdk:p2")
[ ${#base[@]} -eq 0 ] || C+=("baseline NTFS base|base:base.vmdk:p1" "baseline NTFS 100-link chain|base:link100.vmdk:p1"
   "baseline ext4 base|base:base.vmdk:p2" "baseline ext4 100-link chain|base:link100.vmdk:p2")

up() { case $1 in
  kernel) mount -o ro,loop,noload "$img/p2.raw" "$mnt"; cat "$img/p2.raw" > /dev/null;;
  ntfs3g) ntfs-3g -o ro "$img/p1.raw" "$mnt"; cat "$img/p1.raw" > /dev/null;;
  ours:*|base:*) IFS=: read -r who disk vol <<< "$1"; local cmd=("${ours[@]}"); [ "$who" = ours ] || cmd=("${base[@]}")
    "${cmd[@]}" mount "$img/$disk" "$mnt" --volume "$vol" --state-dir "$state" > /dev/null; cat "$img"/*.vmdk > /dev/null;;
  esac; }
down() { umount "$mnt"; for _ in $(seq 100); do mountpoint -q "$mnt" || return 0; sleep 0.05; done; }
now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A L T
for ((r = 0; r < rounds; r++)); do
  for c in "${C[@]}"; do
    label=${c%%|*}; how=${c##*|}
    up "$how"; t=$(now); find "$mnt/tree" > /dev/null; ls -lR "$mnt/tree" > /dev/null; L[$label]+=" $(echo "$(now) - $t" | bc)"; down
    up "$how"; t=$(now); (cd "$mnt/tree" && find . -type f -print0 | xargs -0 cat > /dev/null); T[$label]+=" $(echo "$(now) - $t" | bc)"; down
  done
done
printf 'Load average at the end: %s; %d rounds; medians in seconds.\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$rounds"
printf '| contender | find + ls -lR s | read tree s |\n|---|---|---|\n'
for c in "${C[@]}"; do label=${c%%|*}
  # shellcheck disable=SC2086
  printf '| %s | %.2f | %.2f |\n' "$label" "$(median ${L[$label]})" "$(median ${T[$label]})"
done
echo
for c in "${C[@]}"; do label=${c%%|*}; echo "samples $label: list${L[$label]} | tree${T[$label]}"; done | sed -E 's/([0-9]*\.[0-9]{3})[0-9]*/\1/g'
