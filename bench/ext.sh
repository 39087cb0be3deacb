#!/usr/bin/env bash
# ext4 read benchmark: `vmdkmount extract` of a 1 GiB file and of a 20,000-file tree from an ext4 volume in a VMDK
# (qemu-img monolithicSparse) and from the raw image, against the kernel's ext4 reading the same raw image through a
# read-only loop mount (cp). Every timing is the best of 3 runs with the host page cache warm for both sides (the
# image files are read once before timing), so the numbers compare the readers, not the disk.
# Usage: bench/ext.sh [WORKDIR]   (root: loop mount). Prints a Markdown table.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$repo/build/bench-ext}
mkdir -p "$work"
work=$(cd "$work" && pwd)
mnt="$work/mnt"
cleanup() { mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"; rm -rf "$work/out"; }
trap cleanup EXIT
mkdir -p "$mnt"

if [ ! -f "$work/ext4.img" ] || [ ! -f "$work/ext4.vmdk" ]; then
  rm -rf "$work/src"; mkdir -p "$work/src/tree"
  head -c $((1024 * 1024 * 1024)) /dev/urandom > "$work/src/big.bin"
  for d in $(seq 1 100); do
    mkdir "$work/src/tree/d$d"
    for f in $(seq 1 200); do head -c $(( (d * 200 + f) % 8192 + 1 )) /dev/urandom > "$work/src/tree/d$d/f$f"; done
  done
  mke2fs -q -F -t ext4 -b 4096 -L bench -d "$work/src" "$work/ext4.img" 1400M
  qemu-img convert -f raw -O vmdk "$work/ext4.img" "$work/ext4.vmdk"
  rm -rf "$work/src"
fi

dotnet build -c Release "$repo/src/VmdkMount.Cli" -o "$work/cli" >/dev/null
cli() { dotnet "$work/cli/vmdkmount.dll" "$@"; }
cat "$work/ext4.img" "$work/ext4.vmdk" > /dev/null   # warm the host page cache for both sides

best() { # best of 3 wall-clock seconds of a command (output dir recreated each time)
  local best=""
  for _ in 1 2 3; do
    rm -rf "$work/out"; mkdir -p "$work/out"
    local t0 t1
    t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N)
    local t; t=$(echo "$t1 - $t0" | bc)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
  done
  printf '%.2f' "$best"
}

kernel_file() { mount -o loop,ro "$work/ext4.img" "$mnt"; cp "$mnt/big.bin" "$work/out/"; umount "$mnt"; }
kernel_tree() { mount -o loop,ro "$work/ext4.img" "$mnt"; cp -a "$mnt/tree" "$work/out/"; umount "$mnt"; }
ours_vmdk_file() { cli extract -q "$work/ext4.vmdk" disk:/big.bin "$work/out/"; }
ours_vmdk_tree() { cli extract -q "$work/ext4.vmdk" disk:/tree "$work/out/"; }
ours_raw_file() { cli extract -q --raw-input "$work/ext4.img" disk:/big.bin "$work/out/"; }
ours_raw_tree() { cli extract -q --raw-input "$work/ext4.img" disk:/tree "$work/out/"; }

# correctness first: the extracted bytes equal the kernel's
rm -rf "$work/out"; mkdir -p "$work/out/k" "$work/out/o"
mount -o loop,ro "$work/ext4.img" "$mnt"; cp -a "$mnt/big.bin" "$mnt/tree" "$work/out/k/"; umount "$mnt"
cli extract -q "$work/ext4.vmdk" disk:/big.bin "$work/out/o/" >/dev/null
cli extract -q "$work/ext4.vmdk" disk:/tree "$work/out/o/" >/dev/null
diff -r "$work/out/k" "$work/out/o" >/dev/null || { echo "extracted data differs from the kernel's" >&2; exit 1; }

kf=$(best kernel_file); kt=$(best kernel_tree)
vf=$(best ours_vmdk_file); vt=$(best ours_vmdk_tree)
rf=$(best ours_raw_file); rt=$(best ours_raw_tree)
echo "| ext4 read ($(date -u +%F), $(nproc) cores) | kernel loop mount + cp | vmdkmount extract (VMDK) | ratio | vmdkmount extract (raw) | ratio |"
echo "|---|---:|---:|---:|---:|---:|"
echo "| 1 GiB file | ${kf} s | ${vf} s | $(echo "scale=2; $vf / $kf" | bc) | ${rf} s | $(echo "scale=2; $rf / $kf" | bc) |"
echo "| 20,000-file tree (100 dirs) | ${kt} s | ${vt} s | $(echo "scale=2; $vt / $kt" | bc) | ${rt} s | $(echo "scale=2; $rt / $kt" | bc) |"
