#!/usr/bin/env bash
# NTFS read speed: `vmdkmount extract` against ntfs-3g (cp -a from a read-only ntfs-3g mount) on the same volume.
# Both sides read the image from the host page cache (a warm-up pass reads it first), so the readers are compared,
# not the disk; each timed ntfs-3g copy runs on a fresh mount, as each `vmdkmount extract` is a fresh process, so
# neither side is served from a cache of the decoded file. For reference the script also times a second cp from
# the same ntfs-3g mount, which the kernel serves from the FUSE page cache without asking ntfs-3g.
# RUNS (default 5) alternating runs per side; the medians are compared.
# Workloads: one 1 GiB file, and a tree of 20,000 small files (4 KiB .. 24 KiB).
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

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
runs=${RUNS:-5}

run() { # NAME VOLPATH
  local name="$1" path="$2" i ours=() theirs=() cached=()
  rm -rf "$out/out-ours" "$out/out-3g"
  cat "$work/ntfs.vmdk" "$img" > /dev/null                                             # warm host page cache
  "$cli" extract "$disk" "disk:$path" "$out/out-ours" "${mode[@]}" >/dev/null          # warm-up
  rm -rf "$out/out-ours"
  ntfs-3g -o ro "$img" "$mnt"; cp -a "$mnt$path" "$out/out-3g"; rm -rf "$out/out-3g"; umount "$mnt"   # warm-up
  for ((i = 0; i < runs; i++)); do
    rm -rf "$out/out-ours"
    ours+=("$(t "$cli" extract "$disk" "disk:$path" "$out/out-ours" "${mode[@]}")")
    rm -rf "$out/out-3g"
    ntfs-3g -o ro "$img" "$mnt"
    theirs+=("$(t cp -a "$mnt$path" "$out/out-3g")")
    rm -rf "$out/out-3g"
    cached+=("$(t cp -a "$mnt$path" "$out/out-3g")")
    umount "$mnt"
  done
  local same=no
  if diff -rq "$out/out-ours" "$out/out-3g" >/dev/null 2>&1 || cmp -s "$out/out-ours" "$out/out-3g"; then same=yes; fi
  local o t c; o=$(median "${ours[@]}"); t=$(median "${theirs[@]}"); c=$(median "${cached[@]}")
  printf '%-18s vmdkmount %6.2fs   ntfs-3g (fresh mount) %6.2fs   ratio (ntfs-3g/ours) %5.2f   second cp (FUSE page cache) %6.2fs   identical: %s\n' \
    "$name" "$o" "$t" "$(echo "$t / $o" | bc -l)" "$c" "$same"
  echo "  samples: vmdkmount ${ours[*]} | ntfs-3g ${theirs[*]} | second cp ${cached[*]}"
}

echo "source: $disk   output: $out"
run "1 GiB file" /big.bin
run "20,000-file tree" /tree
rm -rf "$out/out-ours" "$out/out-3g"
