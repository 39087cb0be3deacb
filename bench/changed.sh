#!/usr/bin/env bash
# `changed` fast path (issue 15) against the full walk of both trees (`changed --full`), both ours, alternating rounds.
#   bash bench/changed.sh [ROUNDS] [FS]      FS: ext4 (default), ntfs, fat32 or xfs; needs root (loop mount / ntfs-3g) the first time
#   BIN=path/to/vmdkmount bash bench/changed.sh ...   measures another build of both commands, such as the native
#                                                      binary of install/package.sh (build/package/vmdkmount)
# Builds, cached under build/bench-changed/FS: a 2-link chain (base.vmdk + child.vmdk) over an unpartitioned volume of
# 200,000 files in 200 folders x 10 subfolders (ext4: mke2fs -d; ntfs: mkntfs + ntfs-3g; xfs: mkfs.xfs +
# kernel loop mount; fat32: mkfs.fat with 4 KiB
# clusters + mcopy) whose newest link changes 1,000 of them: 400 rewritten with other bytes, 200 overwritten in place
# with the same size (fat32: mcopy -o, the same size), 200 created, 200 deleted, spread over all folders. The child
# is written as a backup increment is: the volume is changed through the kernel (loop mount), ntfs-3g or mtools on a
# raw copy, then `qemu-img create -b base.vmdk` + qemu-io write into child.vmdk
# exactly the 64 KiB clusters that differ from its parent (as images/chain-lib.sh does; no nbd module needed). Each round runs both commands once (the order alternating), checks
# that they print the same lines, and records wall and CPU seconds; prints the medians and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-5}; FS=${2:-ext4}
D=$(pwd)/build/bench-changed/$FS
JIT=$(pwd)/build/bin/VmdkMount.Cli/Release/net10.0
cli=(dotnet "$JIT/vmdkmount.dll")
if [ -n "${BIN:-}" ]; then cli=("$(realpath "$BIN")"); build="native ($BIN)"
else build="JIT (dotnet vmdkmount.dll)"; [ -f "$JIT/vmdkmount.dll" ] || dotnet build src/VmdkMount.Cli -c Release -v q >/dev/null; fi
mkdir -p "$D"
trap 'mountpoint -q "$D/mnt" && umount "$D/mnt"; rm -rf /dev/shm/vmdkmount-bench-changed-*' EXIT

FILES_PER_DIR=100; DIRS=200; SUBS=10   # 200 x 10 x 100 = 200,000 files
if [ ! -f "$D/child.vmdk" ]; then
  rm -rf "$D"/*; mnt=$D/mnt; mkdir -p "$mnt"
  if [ "$FS" = ext4 ] || [ "$FS" = fat32 ]; then
    src=/dev/shm/vmdkmount-bench-changed-src; rm -rf "$src"; mkdir -p "$src"
    python3 - "$src" $DIRS $SUBS $FILES_PER_DIR <<'EOF'
import os, sys
root, dirs, subs, files = sys.argv[1], *map(int, sys.argv[2:])
for d in range(dirs):
    for s in range(subs):
        p = f"{root}/d{d:03}/s{s}"
        os.makedirs(p)
        for f in range(files):
            with open(f"{p}/f{f:03}.txt", "w") as h: h.write(f"file {d}/{s}/{f}\n" * (1 + f % 7))
EOF
    if [ "$FS" = ext4 ]; then mke2fs -q -t ext4 -b 4096 -N 262144 -d "$src" "$D/vol.raw" 2G
    else
      truncate -s 2G "$D/vol.raw"
      mkfs.fat -F 32 -s 8 "$D/vol.raw" >/dev/null
      MTOOLS_SKIP_CHECK=1 mcopy -s -m -i "$D/vol.raw" "$src"/* ::/
    fi
    rm -rf "$src"
  else
    truncate -s 2G "$D/vol.raw"
    if [ "$FS" = xfs ]; then mkfs.xfs -q -f "$D/vol.raw"; mount -o loop "$D/vol.raw" "$mnt"
    else mkntfs -q -F -Q "$D/vol.raw" >/dev/null; ntfs-3g "$D/vol.raw" "$mnt"; fi
    python3 - "$mnt" $DIRS $SUBS $FILES_PER_DIR <<'EOF'
import os, sys
root, dirs, subs, files = sys.argv[1], *map(int, sys.argv[2:])
for d in range(dirs):
    for s in range(subs):
        p = f"{root}/d{d:03}/s{s}"
        os.makedirs(p)
        for f in range(files):
            with open(f"{p}/f{f:03}.txt", "w") as h: h.write(f"file {d}/{s}/{f}\n" * (1 + f % 7))
EOF
    umount "$mnt"
  fi
  qemu-img convert -q -f raw -O vmdk "$D/vol.raw" "$D/base.vmdk"
  cp --sparse=always "$D/vol.raw" "$D/old.raw"
  if [ "$FS" = fat32 ]; then
    # the same 1,000 changes through mtools: the files are made in a staging copy of each touched subfolder, then put
    src=/dev/shm/vmdkmount-bench-changed-src; rm -rf "$src"
    for d in $(seq 0 $((DIRS - 1))); do
      p=$(printf 'd%03d/s%d' "$d" $((d % SUBS))); mkdir -p "$src/$p"
      MTOOLS_SKIP_CHECK=1 mcopy -n -m -i "$D/vol.raw" "::/$p/f000.txt" "::/$p/f001.txt" "::/$p/f002.txt" "$src/$p/"
      printf 'appended in the child\n' | tee -a "$src/$p/f000.txt" >> "$src/$p/f001.txt"
      head -c "$(stat -c %s "$src/$p/f002.txt")" /dev/zero | tr '\0' X > "$src/$p/t" && mv "$src/$p/t" "$src/$p/f002.txt"
      printf 'created in the child\n' > "$src/$p/new.txt"
      MTOOLS_SKIP_CHECK=1 mcopy -o -i "$D/vol.raw" "$src/$p"/* "::/$p/"
      MTOOLS_SKIP_CHECK=1 mdel -i "$D/vol.raw" "::/$p/f099.txt"
    done
    rm -rf "$src"
  else
  if [ "$FS" = ntfs ]; then ntfs-3g "$D/vol.raw" "$mnt"; else mount -o loop "$D/vol.raw" "$mnt"; fi
  # 1,000 changes, five per folder d000..d199 (subfolder by folder number, so all subfolders are touched)
  python3 - "$mnt" $DIRS $SUBS <<'EOF'
import os, sys
root, dirs, subs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in range(dirs):
    p = f"{root}/d{d:03}/s{d % subs}"
    for f in (0, 1):                               # rewritten, other size
        with open(f"{p}/f{f:03}.txt", "a") as h: h.write("appended in the child\n")
    with open(f"{p}/f002.txt", "r+b") as h:        # overwritten in place, same size
        n = len(h.read()); h.seek(0); h.write(b"X" * n)
    with open(f"{p}/new.txt", "w") as h: h.write("created in the child\n")
    os.remove(f"{p}/f099.txt")
EOF
  umount "$mnt"
  fi
  (cd "$D" && qemu-img create -q -f vmdk -b base.vmdk -F vmdk child.vmdk 2G)
  chunks=/dev/shm/vmdkmount-bench-changed-chunks; rm -rf "$chunks"; mkdir -p "$chunks"
  python3 - "$D/old.raw" "$D/vol.raw" "$chunks" > "$D/qemu-io.cmds" <<'EOF'
import sys
old, new, out = open(sys.argv[1], "rb"), open(sys.argv[2], "rb"), sys.argv[3]
c = 0
while True:
    a, b = old.read(65536), new.read(65536)
    if not b: break
    if a != b:
        open(f"{out}/{c}", "wb").write(b)
        print(f"write -q -s {out}/{c} {c * 65536} {len(b)}")
    c += 1
EOF
  mapfile -t cmds < "$D/qemu-io.cmds"
  args=(); for c in "${cmds[@]}"; do args+=(-c "$c"); done
  qemu-io -f vmdk "${args[@]}" "$D/child.vmdk" >/dev/null
  qemu-img compare -q "$D/vol.raw" "$D/child.vmdk"
  echo "child.vmdk: ${#cmds[@]} clusters of 64 KiB differ from base.vmdk" > "$D/child.txt"
  rm -rf "$chunks" "$D/vol.raw" "$D/old.raw" "$D/qemu-io.cmds"
fi
cat "$D/child.txt"

run() { # ARGS...: "wall cpu"
  /usr/bin/time -f '%e %U %S' -o "$D/time.txt" "${cli[@]}" changed "$D/child.vmdk" --since base.vmdk -q "$@" >"$D/out$#.txt" 2>"$D/err$#.txt"
  read -r e u s <"$D/time.txt"
  awk "BEGIN { printf \"%.3f %.3f\", $e, $u + $s }"
}
fast=""; full=""
for r in $(seq "$R"); do
  if [ $((r % 2)) -eq 1 ]; then fast+="$(run);"; full+="$(run --full);"; else full+="$(run --full);"; fast+="$(run);"; fi
  cmp -s "$D/out0.txt" "$D/out1.txt" || { echo "round $r: fast and full answers differ" >&2; exit 1; }
done
med() { tr ';' '\n' | grep . | awk -v c="$1" '{ print $c }' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
fw=$(med 1 <<<"$fast"); fc=$(med 2 <<<"$fast"); tw=$(med 1 <<<"$full"); tc=$(med 2 <<<"$full")
echo "$FS, 200,000 files, 1,000 changed ($(wc -l <"$D/out0.txt") lines), $R alternating rounds, $build, load $(cut -d' ' -f1-3 /proc/loadavg)"
grep -h "walking both trees" "$D/err0.txt" || true
echo "| command | wall s (median) | CPU s (median) |"
echo "|---|---:|---:|"
echo "| changed --since base.vmdk | $fw | $fc |"
echo "| changed --since base.vmdk --full | $tw | $tc |"
awk "BEGIN { printf \"| ratio full / fast | %.1fx | %.1fx |\n\", $tw / $fw, $tc / $fc }"
