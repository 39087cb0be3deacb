#!/usr/bin/env bash
# XFS images whose files carry extended attributes in every attribute-fork form, written through the kernel's XFS
# on a loop mount (v5; this kernel cannot mount v4), with the kernel's own listing as the oracle:
#   sf.txt      two small user attributes (short form in the inode)
#   leaf.txt    20 attributes of 60 bytes (one leaf block)
#   node.txt    300 attributes of 40 bytes (several leaves under a DA node)
#   remote.txt  a 20,000-byte value (remote value blocks) and a small one
#   ns.txt      trusted.secret and security.label beside user.visible (only user.* is shown by the mount)
#   dir/        a folder with one attribute; none.txt has none
# Images: v5_4k (mkfs defaults) and v5_1k (-b size=1024). Outputs per image: IMG.img, IMG.vmdk (qemu-img
# monolithicSparse), IMG.xattrs (path TAB name TAB hex value for every user.* attribute, read by the kernel) and
# IMG.shapes (path, aformat, attr-fork extents, magic of attr block 0, from xfs_db).
# Usage: images/xfs-xattr.sh OUTDIR   (root: loop mounts)
set -euo pipefail
out=$(cd "$1" && pwd)
work=$(mktemp -d)
mnt="$work/mnt"
cleanup() { mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$mnt"
export TZ=UTC LC_ALL=C

for spec in "v5_4k:" "v5_1k:-b size=1024"; do
  name=${spec%%:*}; opts=${spec#*:}
  img=$out/$name.img
  rm -f "$img"; truncate -s 320M "$img"
  # shellcheck disable=SC2086
  mkfs.xfs -q -f $opts "$img"
  mount -o loop "$img" "$mnt"
  echo sf > "$mnt/sf.txt"; setfattr -n user.a -v one "$mnt/sf.txt"; setfattr -n user.b -v two "$mnt/sf.txt"
  echo leaf > "$mnt/leaf.txt"
  for i in $(seq -w 1 20); do setfattr -n "user.leaf$i" -v "$(printf "L%059d" "$((10#$i))")" "$mnt/leaf.txt"; done
  echo node > "$mnt/node.txt"
  for i in $(seq -w 1 300); do setfattr -n "user.n$i" -v "$(printf "N%039d" "$((10#$i))")" "$mnt/node.txt"; done
  echo remote > "$mnt/remote.txt"
  head -c 15000 /dev/urandom | base64 -w0 | head -c 20000 > "$work/big"
  setfattr -n user.big -v "$(cat "$work/big")" "$mnt/remote.txt"; setfattr -n user.small -v s "$mnt/remote.txt"
  echo ns > "$mnt/ns.txt"
  setfattr -n trusted.secret -v t "$mnt/ns.txt"; setfattr -n security.label -v l "$mnt/ns.txt"; setfattr -n user.visible -v v "$mnt/ns.txt"
  mkdir "$mnt/dir"; setfattr -n user.folder -v f "$mnt/dir"
  echo none > "$mnt/none.txt"
  python3 - "$mnt" > "$out/$name.xattrs" <<'PY'
import os, sys
root = sys.argv[1]
for path in ["sf.txt", "leaf.txt", "node.txt", "remote.txt", "ns.txt", "dir", "none.txt"]:
    full = os.path.join(root, path)
    for n in sorted(os.listxattr(full)):
        if n.startswith("user."):
            print(f"/{path}\t{n}\t{os.getxattr(full, n).hex()}")
PY
  declare -A ino=()
  for f in sf.txt leaf.txt node.txt remote.txt ns.txt dir none.txt; do ino[$f]=$(stat -c %i "$mnt/$f"); done
  umount "$mnt"
  : > "$out/$name.shapes"
  for f in sf.txt leaf.txt node.txt remote.txt ns.txt dir none.txt; do
    shape=$(xfs_db -r -c "inode ${ino[$f]}" -c "print core.aformat core.naextents" "$img" | tr '\n' ' ')
    magic=$(xfs_db -r -c "inode ${ino[$f]}" -c "ablock 0" -c "print" "$img" 2>/dev/null | grep -m1 -o 'magic = 0x[0-9a-f]*' || true)
    printf '/%s\t%s\t%s\n' "$f" "$shape" "$magic" >> "$out/$name.shapes"
  done
  qemu-img convert -f raw -O vmdk "$img" "$out/$name.vmdk"
done
