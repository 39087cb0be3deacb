#!/usr/bin/env bash
# NTFS read speed: `vmdkmount extract` against ntfs-3g (cp -a from a read-only ntfs-3g mount) on the same volume,
# one run each after a warm-up pass (both then read the image from the page cache, so the readers are compared,
# not the disk). Workloads: one 1 GiB file, and a tree of 20,000 small files (4 KiB .. 24 KiB).
# The volume sits in a monolithicSparse VMDK made by qemu-img when the VMDK engine can open it; otherwise the raw
# image is used (--raw-input) and the script says so.
# Usage: bench/ntfs.sh [WORKDIR]   (default build/bench-ntfs; needs root for the ntfs-3g mount)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$root/build/bench-ntfs}
mkdir -p "$work"
mnt="$work/mnt"; mkdir -p "$mnt"
cleanup() { mountpoint -q "$mnt" && umount "$mnt" || true; }
trap cleanup EXIT

dotnet build -c Release "$root/src/VmdkMount.Cli" -v q -nologo >/dev/null
cli="$root/build/bin/VmdkMount.Cli/Release/net10.0/vmdkmount"

img="$work/ntfs.img"
if [[ ! -f "$work/.made" ]]; then
  rm -f "$img"; truncate -s 1600M "$img"
  mkntfs -q -F -Q -c 4096 -L Bench "$img" 2>/dev/null
  ntfs-3g "$img" "$mnt"
  head -c 1G /dev/urandom > "$mnt/big.bin"
  mkdir "$mnt/tree"
  python3 - "$mnt/tree" <<'PY'
import os, random, sys
root = sys.argv[1]; r = random.Random(1)
for d in range(100):
    os.mkdir(f"{root}/d{d:03}")
    for f in range(200):
        with open(f"{root}/d{d:03}/f{f:03}.dat", "wb") as fh:
            fh.write(r.randbytes(r.randint(4096, 24576)))
PY
  umount "$mnt"
  qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse "$img" "$work/ntfs.vmdk"
  touch "$work/.made"
fi

disk="$work/ntfs.vmdk"; mode=()
if ! "$cli" volumes "$disk" >/dev/null 2>&1; then
  echo "note: the VMDK engine cannot open $disk yet; reading the raw image instead" >&2
  disk="$img"; mode=(--raw-input)
fi

# Extract into tmpfs when it has room, so both sides pay the same (small) write cost and the readers dominate.
out="$work"
if [[ -d /dev/shm ]] && (( $(df --output=avail -k /dev/shm | tail -1) > 3 * 1024 * 1024 )); then out=$(mktemp -d /dev/shm/bench-ntfs.XXXX); fi
trap 'cleanup; [[ "$out" == /dev/shm/* ]] && rm -rf "$out"' EXIT

t() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }

run() { # NAME VOLPATH
  local name="$1" path="$2"
  rm -rf "$out/out-ours" "$out/out-3g"
  "$cli" extract "$disk" "disk:$path" "$out/out-ours" "${mode[@]}" >/dev/null          # warm-up
  rm -rf "$out/out-ours"
  local ours; ours=$(t "$cli" extract "$disk" "disk:$path" "$out/out-ours" "${mode[@]}")
  ntfs-3g -o ro "$img" "$mnt"
  cp -a "$mnt$path" "$out/out-3g"; rm -rf "$out/out-3g"                                # warm-up
  local theirs; theirs=$(t cp -a "$mnt$path" "$out/out-3g")
  umount "$mnt"
  local same=no
  if diff -rq "$out/out-ours" "$out/out-3g" >/dev/null 2>&1 || cmp -s "$out/out-ours" "$out/out-3g"; then same=yes; fi
  printf '%-28s vmdkmount %7.2fs   ntfs-3g %7.2fs   ratio (ntfs-3g/ours) %5.2f   identical: %s\n' \
    "$name" "$ours" "$theirs" "$(echo "$theirs / $ours" | bc -l)" "$same"
}

echo "source: $disk   output: $out"
run "1 GiB file" /big.bin
run "20,000-file tree" /tree
rm -rf "$out/out-ours" "$out/out-3g"
