#!/usr/bin/env bash
# A/B of `vmdkmount extract` for one 1 GiB file of random bytes, two builds interleaved, against cp from peers.
#
#   bash bench/extract-ab.sh OLD_BIN_DIR NEW_BIN_DIR [runs]     (as root; BIN_DIR holds vmdkmount.dll)
#
# e.g. build main into one folder and your branch into another (dotnet build src/VmdkMount.Cli -c Release, then copy
# build/bin/VmdkMount.Cli/Release/net10.0). Images (made once under build/bench/p): ntfs.raw / ext4.raw holding
# big.bin, their qemu-img monolithicSparse VMDKs, and hand-written monolithicFlat descriptors over the raw images
# (the same bytes with no grain tables, to isolate the sparse-extent cost). Backing files are warm in the page
# cache; the copy goes to tmpfs (/dev/shm) so the destination disk does not dominate. Prints medians of wall and
# CPU (user+sys) seconds: CPU is the steadier figure on a shared machine. The peers are ntfs-3g + cp and the
# kernel's ext4 on a loop device + cp.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$(realpath "$1"); B=$(realpath "$2"); R=${3:-5}
D=$(pwd)/build/bench/p; O=/dev/shm/vmdkmount-extract-ab
mkdir -p "$D" "$O"
if [ ! -f "$D/done" ]; then
  rm -rf "$D/src" "$D/m"; mkdir -p "$D/src" "$D/m"
  head -c $((1024 * 1024 * 1024)) /dev/urandom > "$D/src/big.bin"
  truncate -s 0 "$D/ntfs.raw"; truncate -s 1300M "$D/ntfs.raw"
  mkntfs -q -F -Q "$D/ntfs.raw" >/dev/null 2>&1
  ntfs-3g "$D/ntfs.raw" "$D/m"; cp "$D/src/big.bin" "$D/m/"; umount "$D/m"
  rm -f "$D/ext4.raw"; mke2fs -q -t ext4 -d "$D/src" "$D/ext4.raw" 1300M
  for f in ntfs ext4; do
    qemu-img convert -f raw -O vmdk "$D/$f.raw" "$D/$f.vmdk"
    printf '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW %d FLAT "%s.raw" 0\n' \
      $(( $(stat -c %s "$D/$f.raw") / 512 )) "$f" > "$D/$f-flat.vmdk"
  done
  sha256sum < "$D/src/big.bin" > "$D/big.sha"; rm -rf "$D/src"; touch "$D/done"
fi
sample() { /usr/bin/time -f "%e,%U,%S" -o "$O/t" "$@"; awk -F, '{printf "%s,%.2f\n", $1, $2+$3}' "$O/t"; }
one() { rm -f "$O/big.bin"; sample dotnet "$1/vmdkmount.dll" extract "$D/$2" disk:/big.bin "$O/" -q; }
med() { python3 -c 'import sys,statistics as st; r=[tuple(map(float,l.split(","))) for l in sys.stdin.read().split() if "," in l]; print("wall %.2f cpu %.2f" % (st.median(x[0] for x in r), st.median(x[1] for x in r)), end="")'; }
for img in ntfs.vmdk ext4.vmdk ntfs-flat.vmdk ext4-flat.vmdk; do
  cat "$D/$img" "$D/${img%%[.-]*}.raw" >/dev/null  # warm the VMDK and the raw image a flat descriptor names
  ta=(); tb=()
  for _ in $(seq "$R"); do ta+=("$(one "$A" "$img")"); tb+=("$(one "$B" "$img")"); done
  [ "$(sha256sum < "$O/big.bin" | cut -d' ' -f1)" = "$(cut -d' ' -f1 "$D/big.sha")" ] || echo "$img: WRONG CONTENT" >&2
  printf "%-15s old %s   new %s\n" "$img" "$(printf '%s\n' "${ta[@]}" | med)" "$(printf '%s\n' "${tb[@]}" | med)"
done
peer() { # NAME MOUNT-COMMAND...
  local name=$1; shift; "$@"; cat "$D/m/big.bin" >/dev/null; local c=()
  for _ in $(seq "$R"); do rm -f "$O/big.bin"; c+=("$(sample cp "$D/m/big.bin" "$O/")"); done
  umount "$D/m"; printf "%-15s cp  %s\n" "$name" "$(printf '%s\n' "${c[@]}" | med)"
}
peer ntfs-3g ntfs-3g -o ro "$D/ntfs.raw" "$D/m"
peer kernel-ext4 mount -o ro,loop "$D/ext4.raw" "$D/m"
rm -rf "$O"
