#!/bin/bash
# A GPT disk with an EFI system partition (FAT32) and an exFAT data partition, wrapped by qemu-img as VMDK.
# Usage: fat-vmdk.sh OUTDIR -> disk.vmdk (monolithicSparse), disk-stream.vmdk (streamOptimized),
#                              esp.img and exdata.img (the two partitions' bytes, for the oracles)
set -euo pipefail
out=$(realpath "$1")
export MTOOLS_SKIP_CHECK=1 LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=UTC
work=$(mktemp -d)
loop=""
cleanup() {
  if mountpoint -q "$work/m" 2>/dev/null; then umount "$work/m" || fusermount3 -u "$work/m" || true; fi
  if [ -n "$loop" ]; then losetup -d "$loop" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

# partition 1: ESP, sectors 2048..100351 (48 MiB); partition 2: exFAT, sectors 100352..182271 (40 MiB)
truncate -s 100M disk.raw
sgdisk -n 1:2048:+48M -t 1:EF00 -c 1:"EFI system partition" -n 2:100352:+40M -t 2:0700 -c 2:"Data" disk.raw >/dev/null

mkdir -p esp/EFI/BOOT esp/EFI/Microsoft/Boot esp/EFI/debian
head -c 600000 /dev/urandom > esp/EFI/BOOT/BOOTX64.EFI
head -c 24576 /dev/urandom > esp/EFI/Microsoft/Boot/BCD
head -c 1500000 /dev/urandom > esp/EFI/Microsoft/Boot/bootmgfw.efi
printf 'search.fs_uuid 1234 root\nconfigfile $prefix/grub.cfg\n' > esp/EFI/debian/grub.cfg
echo "Startup script with a long name" > "esp/EFI/Startup Script With A Long Name.nsh"
touch -d '2024-02-29 12:34:56 UTC' esp/EFI/debian/grub.cfg
mkfs.fat -F 32 -n ESP -C esp.img 49152 >/dev/null
mcopy -s -m -i esp.img esp/* ::/

truncate -s 40M exdata.img
mkfs.exfat -L DATA exdata.img >/dev/null
mkdir m
loop=$(losetup -f --show exdata.img)
mount.exfat-fuse "$loop" m 2>/dev/null
mountpoint -q m
mkdir -p m/Documents/Reports
head -c 2500000 /dev/urandom > m/Documents/Reports/annual.pdf
echo "naïve café" > "m/Documents/Ünïcödé notes.txt"
: > m/empty.bin
touch -d '2023-06-01 08:00:02 UTC' m/Documents/Reports/annual.pdf
umount m
losetup -d "$loop"
loop=""

dd if=esp.img of=disk.raw bs=1M seek=1 conv=notrunc status=none
dd if=exdata.img of=disk.raw bs=512 seek=100352 conv=notrunc status=none
qemu-img convert -f raw -O vmdk disk.raw "$out/disk.vmdk"
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized disk.raw "$out/disk-stream.vmdk"
cp esp.img exdata.img "$out/"
