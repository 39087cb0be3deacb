#!/usr/bin/env bash
# Hostile symlinks for the mount and ls (made by mke2fs -d and debugfs), wrapped in a VMDK by qemu-img.
#   links.vmdk (unpartitioned ext4, volume id `disk`):
#     /etc/passwd            a file "volume-passwd" (where confined absolute targets land)
#     /abs_up                -> /../../../../etc/passwd        (absolute with .. components)
#     /a/b/rel_up            -> ../../../../../../etc/shadow    (relative, climbing far above the root)
#     /toroot                -> /
#     /through               -> toroot/../../../../etc/passwd   (through a link to the root, then climbing)
#     /a/b/hl and /a/b/c/hl2 one symlink inode with two names at different depths, target ../x
#                            (from /a/b it is /a/x = "ax"; from /a/b/c it is /a/b/x = "abx")
# Usage: images/hostile-links.sh OUTDIR   (needs e2fsprogs, qemu-img)
set -euo pipefail
out=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TZ=UTC E2FSPROGS_FAKE_TIME=1764000000
src="$work/src"
mkdir -p "$src/etc" "$src/a/b/c"
echo volume-passwd > "$src/etc/passwd"
echo volume-shadow > "$src/etc/shadow"
echo ax > "$src/a/x"
echo abx > "$src/a/b/x"
ln -s /../../../../etc/passwd "$src/abs_up"
ln -s ../../../../../../etc/shadow "$src/a/b/rel_up"
ln -s / "$src/toroot"
ln -s toroot/../../../../etc/passwd "$src/through"
ln -s ../x "$src/a/b/hl"
mke2fs -q -F -t ext4 -b 4096 -L links -d "$src" "$work/links.img" 8M
# A second name for the symlink inode one level deeper (a hard-linked symlink, as ext allows).
ino=$(debugfs -R "stat /a/b/hl" "$work/links.img" 2>/dev/null | awk '/^Inode:/ {print $2; exit}')
debugfs -w -R "ln <$ino> /a/b/c/hl2" "$work/links.img" >/dev/null 2>&1
debugfs -w -R "sif <$ino> links_count 2" "$work/links.img" >/dev/null 2>&1
debugfs -R "ls -l /a/b/c" "$work/links.img" > "$out/links.listing" 2>/dev/null
qemu-img convert -q -f raw -O vmdk "$work/links.img" "$out/links.vmdk"
