#!/usr/bin/env bash
# Sequential-read figures of issue 18, in alternating rounds with medians: reading the 1 GiB big.bin with
# `dd bs=1M` from a fresh mount each time (the FUSE page cache cold, the host's page cache warm), for
#   the kernel's ext4 on a loop mount of the raw volume, ntfs-3g on the raw NTFS volume,
#   ours on the NTFS and ext4 volumes of base.vmdk and of link100.vmdk (the 100-link chain), in the default
#   (page-cache) mode and with --direct-io.
# Uses the images of bench/fuse.sh (IMAGES_ONLY=1 bash bench/fuse.sh builds them).
# Usage (root): bash bench/seq.sh [ROUNDS]   (default 5; BIN=path/to/vmdkmount for the native binary, else the JIT build;
#   BASELINE=path/to/other/vmdkmount(.dll) adds its default-mode NTFS and ext4 base reads, for a before/after in one run)
set -euo pipefail
# shellcheck source=mount-common.sh
. "$(dirname "$0")/mount-common.sh"
rounds=${1:-5}

# contender: label|how  (how: kernel, ntfs3g, or ours:DISK:VOL[:extra mount option])
C=("kernel ext4 (loop)|kernel" "ntfs-3g|ntfs3g"
   "ours NTFS base|ours:base.vmdk:p1" "ours NTFS 100-link chain|ours:link100.vmdk:p1"
   "ours NTFS base --direct-io|ours:base.vmdk:p1:--direct-io" "ours NTFS 100-link chain --direct-io|ours:link100.vmdk:p1:--direct-io"
   "ours ext4 base|ours:base.vmdk:p2" "ours ext4 100-link chain|ours:link100.vmdk:p2"
   "ours ext4 base --direct-io|ours:base.vmdk:p2:--direct-io" "ours ext4 100-link chain --direct-io|ours:link100.vmdk:p2:--direct-io")
[ ${#base[@]} -eq 0 ] || C+=("baseline NTFS base|baseline:base.vmdk:p1" "baseline ext4 base|baseline:base.vmdk:p2")

up() { case $1 in
  kernel) mount -o ro,loop,noload "$img/p2.raw" "$mnt"; cat "$img/p2.raw" > /dev/null;;
  ntfs3g) ntfs-3g -o ro "$img/p1.raw" "$mnt"; cat "$img/p1.raw" > /dev/null;;
  ours:*|baseline:*) IFS=: read -r who disk vol extra <<< "$1"
    local bin=("${ours[@]}"); [ "$who" = baseline ] && bin=("${base[@]}")
    "${bin[@]}" mount "$img/$disk" "$mnt" --volume "$vol" --state-dir "$state" ${extra:+"$extra"} > /dev/null; cat "$img"/*.vmdk > /dev/null;;
  esac; }
down() { umount "$mnt"; for _ in $(seq 100); do mountpoint -q "$mnt" || return 0; sleep 0.05; done; }
now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
size=$((1024 * 1024 * 1024))
declare -A S
for ((r = 0; r < rounds; r++)); do
  for c in "${C[@]}"; do
    label=${c%%|*}; how=${c##*|}
    up "$how"; t=$(now); dd if="$mnt/big.bin" of=/dev/null bs=1M status=none; e=$(now); down
    S[$label]+=" $(echo "$size / ($e - $t) / 1000000" | bc -l)"
  done
done
printf 'Load average at the end: %s; %d rounds; medians in MB/s (1 GiB, dd bs=1M, fresh mount each).\n\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$rounds"
printf '| contender | MB/s |\n|---|---|\n'
for c in "${C[@]}"; do label=${c%%|*}
  # shellcheck disable=SC2086
  printf '| %s | %.0f |\n' "$label" "$(median ${S[$label]})"
done
echo
for c in "${C[@]}"; do label=${c%%|*}; echo "samples $label:${S[$label]}"; done | sed -E 's/([0-9]+)\.[0-9]+/\1/g'
