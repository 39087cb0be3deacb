#!/usr/bin/env bash
# A three-link VMDK chain (base -> child1 -> child2) over an MBR disk with NTFS (p1), ext4 (p2) and FAT16 (p3),
# made with mkntfs+ntfs-3g, mke2fs -d + a kernel loop mount, mkfs.fat+mtools, sfdisk and qemu-img/qemu-io.
# Changes in the children are written as exactly the 64 KiB clusters that differ, so the chain really layers:
#   child1: ext4 file rewritten, a file added and one deleted; a FAT file added.
#   child2: NTFS gets the EICAR test file (only in this link) and a file rewritten in place.
# Outputs: base.vmdk child1.vmdk child2.vmdk, and eicar.txt (the test string, for the signature database).
set -euo pipefail
out=$(realpath "$1")
work=$(mktemp -d)
mnt=$work/mnt
mkdir -p "$mnt"
cleanup() { mountpoint -q "$mnt" && umount "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
export TZ=UTC

MiB=$((1024 * 1024))
P1=$((1 * MiB)); S1=$((24 * MiB))
P2=$((25 * MiB)); S2=$((24 * MiB))
P3=$((49 * MiB)); S3=$((20 * MiB))
DISK=$((72 * MiB))

rnd() { head -c "$2" /dev/urandom > "$1"; }
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
printf '%s' "$EICAR" > "$out/eicar.txt"

# --- NTFS (p1), populated through ntfs-3g
truncate -s $S1 "$work/ntfs.img"
mkntfs -q -F -Q -p $((P1 / 512)) -H 255 -S 63 -L WinSys "$work/ntfs.img" >/dev/null
ntfs-3g "$work/ntfs.img" "$mnt"
mkdir -p "$mnt/Documents" "$mnt/Users/alice/Downloads" "$mnt/Program Files/App" "$mnt/many"
rnd "$mnt/Documents/report.docx" 200000
rnd "$mnt/Documents/big.bin" $((3 * MiB + 123))
printf 'unicode\n' > "$mnt/Documents/ünïcødé — 名前.txt"
printf 'alice notes\n' > "$mnt/Users/alice/notes.txt"
ln "$mnt/Users/alice/notes.txt" "$mnt/Users/alice/notes-hardlink.txt"
: > "$mnt/Users/alice/empty.txt"
printf 'read only\n' > "$mnt/Program Files/App/readonly.cfg"
setfattr -h -v 0x00000001 -n system.ntfs_attrib_be "$mnt/Program Files/App/readonly.cfg"
setfattr -n user.Zone.Identifier -v $'[ZoneTransfer]\r\nZoneId=3\r\n' "$mnt/Documents/report.docx"
setfattr -n user.summary -v "a second stream" "$mnt/Documents/report.docx"
truncate -s $((2 * MiB)) "$mnt/Documents/sparse.bin"
printf 'in the middle' | dd of="$mnt/Documents/sparse.bin" bs=1 seek=$MiB conv=notrunc status=none
for i in $(seq 1 300); do printf 'file %d\n' "$i" > "$mnt/many/f$i.txt"; done
touch -d '2021-03-04 05:06:07.123456700' "$mnt/Documents/report.docx"
umount "$mnt"

# --- ext4 (p2), from a staging tree with owners, modes, links, a fifo and nanosecond times
stage=$work/ext
mkdir -p "$stage/home/bob/docs" "$stage/etc" "$stage/many" "$stage/var/empty"
printf 'bob original\n' > "$stage/home/bob/a.txt"
rnd "$stage/home/bob/big.bin" $((2 * MiB + 7))
printf 'secret=1\n' > "$stage/etc/config"
chmod 600 "$stage/etc/config"
chown 1000:1000 "$stage/etc/config" "$stage/home/bob" "$stage/home/bob/a.txt"
chmod 750 "$stage/home/bob"
chmod 4755 "$stage/home/bob/big.bin"
ln -s /etc/config "$stage/home/bob/abs-link"
ln -s ../../etc/config "$stage/home/bob/rel-link"
ln -s /home/bob/docs "$stage/home/bob/dir-link"
ln -s /nowhere/at/all "$stage/home/bob/dangling"
ln "$stage/home/bob/a.txt" "$stage/home/bob/a-hardlink.txt"
mkfifo "$stage/home/bob/pipe"
printf 'ext unicode\n' > "$stage/home/bob/docs/ünïcødé — 名前.txt"
truncate -s $((3 * MiB)) "$stage/home/bob/sparse.bin"
printf 'tail' | dd of="$stage/home/bob/sparse.bin" bs=1 seek=$((3 * MiB - 4)) conv=notrunc status=none
for i in $(seq 1 300); do printf 'ext file %d\n' "$i" > "$stage/many/e$i.txt"; done
touch -h -d '2020-01-02 03:04:05.987654321' "$stage/home/bob/a.txt" "$stage/home/bob/abs-link"
truncate -s $S2 "$work/ext.img"
mke2fs -q -t ext4 -L linuxroot -I 256 -d "$stage" "$work/ext.img"

# --- FAT16 (p3), filled with mtools
truncate -s $S3 "$work/fat.img"
mkfs.fat -F 16 -n FATVOL "$work/fat.img" >/dev/null
fstage=$work/fat
mkdir -p "$fstage/EFI/Boot" "$fstage/Long Folder Name"
rnd "$fstage/EFI/Boot/bootx64.efi" 300000
printf 'a long file name\n' > "$fstage/Long Folder Name/A File With A Long Name.txt"
printf 'short\n' > "$fstage/SHORT.TXT"
MTOOLS_SKIP_CHECK=1 mcopy -s -m -i "$work/fat.img" "$fstage/EFI" "$fstage/Long Folder Name" "$fstage/SHORT.TXT" ::/
MTOOLS_SKIP_CHECK=1 mattrib -i "$work/fat.img" +r ::/SHORT.TXT

# --- the base disk
place() { dd if="$work/ntfs.img" of="$1" bs=1M seek=$((P1 / MiB)) conv=notrunc,sparse status=none
          dd if="$work/ext.img" of="$1" bs=1M seek=$((P2 / MiB)) conv=notrunc,sparse status=none
          dd if="$work/fat.img" of="$1" bs=1M seek=$((P3 / MiB)) conv=notrunc,sparse status=none; }
truncate -s $DISK "$work/d0.raw"
printf 'label: dos\n%s\n%s\n%s\n' "start=$((P1 / 512)), size=$((S1 / 512)), type=7" \
  "start=$((P2 / 512)), size=$((S2 / 512)), type=83" "start=$((P3 / 512)), size=$((S3 / 512)), type=6" \
  | sfdisk -q "$work/d0.raw"
place "$work/d0.raw"
qemu-img convert -q -f raw -O vmdk "$work/d0.raw" "$out/base.vmdk"

source "$(dirname "$0")/chain-lib.sh"

# --- child1: ext4 and FAT changes
mount -o loop "$work/ext.img" "$mnt"
printf 'bob changed in child1\n' > "$mnt/home/bob/a.txt"
printf 'new in child1\n' > "$mnt/home/bob/new-in-child1.txt"
rm "$mnt/many/e7.txt"
umount "$mnt"
printf 'added in child1\n' > "$work/child1.txt"
MTOOLS_SKIP_CHECK=1 mcopy -m -i "$work/fat.img" "$work/child1.txt" ::/CHILD1.TXT
cp --sparse=always "$work/d0.raw" "$work/d1.raw"
place "$work/d1.raw"
delta "$work/d0.raw" "$work/d1.raw" child1.vmdk base.vmdk

# --- child2: NTFS gets EICAR and an in-place rewrite
ntfs-3g "$work/ntfs.img" "$mnt"
printf '%s' "$EICAR" > "$mnt/Users/alice/Downloads/invoice.pdf.com"
printf 'CHILD2' | dd of="$mnt/Documents/big.bin" bs=1 seek=$((MiB + 5)) conv=notrunc status=none
umount "$mnt"
cp --sparse=always "$work/d1.raw" "$work/d2.raw"
place "$work/d2.raw"
delta "$work/d1.raw" "$work/d2.raw" child2.vmdk child1.vmdk
# The EICAR bytes must live in child2 only.
if grep -q -F "EICAR-STANDARD" "$out/base.vmdk" "$out/child1.vmdk"; then echo "EICAR leaked into an older link" >&2; exit 1; fi
grep -q -F "EICAR-STANDARD" "$out/child2.vmdk"
