#!/usr/bin/env bash
# Two disks of one RHEL-like VM for the several-disks tests. Disk 1: GPT, an ext4 /boot (p1; XFS is not read on
# this branch) and an LVM PV (p2). Disk 2: a whole-disk PV added to the same VG with vgextend. LVs made by the real
# lvm2 tools: root (ext4, files), swap, home (lvcreate on PV 1, lvextend onto PV 2: it spans both disks, a big file
# crosses the PV boundary) and data (lvcreate -i2: striped over both disks). A second VM (nomda1, nomda2): a VG whose
# second PV holds no metadata of its own (pvcreate --metadatacopies 0), with an LV "spill" spanning both.
# device-mapper is absent here, so LVs cannot be activated: lvcreate/lvextend run with --driverloaded n (metadata
# only), each LV's filesystem is written through the kernel on a loop-mounted image of the LV's size, and its bytes
# are copied into the PV extents that `lvs --segments` reports (stripes chunk by chunk). The oracle is sha256 of every
# file as the kernel's ext4 sees it after a read-only remount. Each raw disk is then wrapped by qemu-img as a VMDK.
# The VG name is new per run (vgname.txt), so it never clashes with the host's or another build's.
# Usage: multidisk-lvm.sh OUTDIR
set -euo pipefail
OUT=$1
cd "$OUT"
T=$(mktemp -d)
LOOPS=()
MOUNTED=()
cleanup() {
  for m in "${MOUNTED[@]}"; do umount "$m" 2>/dev/null || true; done
  for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
CFG='devices { obtain_device_list_from_udev=0 } activation { udev_sync=0 udev_rules=0 } backup { backup=0 archive=0 }'
lvmq() { "$@" --config "$CFG" >"$T/lvm.out" 2>"$T/lvm.err" || { cat "$T/lvm.err" >&2; return 1; }; }
lvmout() { "$@" --config "$CFG" 2>"$T/lvm.err" || { cat "$T/lvm.err" >&2; return 1; }; }
# newloop VAR ARGS...: attaches a loop device (losetup ARGS) and names it in VAR; in this shell, so cleanup knows it
newloop() { local dev; dev=$(losetup -f --show "${@:2}"); LOOPS+=("$dev"); printf -v "$1" %s "$dev"; }
MiB=1048576
VG="vgmd$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
echo "$VG" > vgname.txt

putpart() { dd if="$1" of="$2" bs=64K skip="$3" seek="$4" count="$5" iflag=skip_bytes,count_bytes oflag=seek_bytes conv=notrunc,sparse status=none; }

# ---- the disks and the VG ----
truncate -s 160M disk1.raw
sgdisk -o disk1.raw >/dev/null
sgdisk -n 1:2048:+32M -t 1:8300 -c 1:boot -n 2:0:0 -t 2:8E00 -c 2:lvm disk1.raw >/dev/null
P2_LBA=$(sgdisk -i 2 disk1.raw | awk '/First sector/ {print $3}')
P2=$((P2_LBA * 512))
truncate -s 96M disk2.raw
newloop L1 -o $P2 disk1.raw
newloop L2 disk2.raw
declare -A IMG=(["$L1"]=disk1.raw ["$L2"]=disk2.raw)
declare -A BASE=(["$L1"]=$P2 ["$L2"]=0)
lvmq pvcreate "$L1" "$L2"
lvmq vgcreate "$VG" "$L1"
lvmq lvcreate --driverloaded n -an -Zn -y -L 40M -n root "$VG" "$L1"
lvmq lvcreate --driverloaded n -an -Zn -y -L 8M -n swap "$VG" "$L1"
lvmq lvcreate --driverloaded n -an -Zn -y -L 24M -n home "$VG" "$L1"
lvmq vgextend "$VG" "$L2"
lvmq lvextend --driverloaded n -y -L +40M "$VG/home" "$L2"
lvmq lvcreate --driverloaded n -an -Zn -y -i 2 -I 64k -L 16M -n data "$VG" "$L1" "$L2"
E=$(lvmout vgs --noheadings --nosuffix --units b -o vg_extent_size "$VG" | tr -d ' ')
echo "$E" > extent-bytes.txt
declare -A PESTART
for l in "$L1" "$L2"; do PESTART[$l]=$(lvmout pvs --noheadings --nosuffix --units b -o pe_start "$l" | tr -d ' '); done
lvmout lvs --noheadings --segments -o lv_name,seg_start_pe,seg_size_pe,stripes,stripe_size,seg_pe_ranges "$VG" > lvs-segments.txt
lvmout pvs --noheadings -o pv_name,pv_uuid,pe_start "$L1" "$L2" | sed "s#$L1#disk1#; s#$L2#disk2#" > pvs.txt
sed -i "s#$L1#disk1#g; s#$L2#disk2#g" lvs-segments.txt
[ "$(grep -c '^ *home ' lvs-segments.txt)" -eq 2 ] || { echo "home does not have two segments" >&2; cat lvs-segments.txt >&2; exit 1; }
[ "$(awk '$1 == "data" {print $4}' lvs-segments.txt)" -eq 2 ] || { echo "data is not striped over 2 PVs" >&2; exit 1; }

# place LVIMG VG/LV: copies an LV's bytes into the PV extents LVM gave it, segment by segment (stripes chunk by chunk)
place() {
  local img=$1 lv=$2 start size n ssize ranges
  lvmout lvs --noheadings --nosuffix --units b --separator ';' --segments -o seg_start_pe,seg_size_pe,stripes,stripe_size,seg_pe_ranges "$lv" |
  while IFS=';' read -r start size n ssize ranges; do
    start=$(echo "$start" | tr -d ' '); size=$(echo "$size" | tr -d ' '); n=$(echo "$n" | tr -d ' '); ssize=$(echo "$ssize" | tr -d ' ')
    local -a devs=() pes=()
    for r in $ranges; do devs+=("${r%%:*}"); local pe=${r#*:}; pes+=("${pe%%-*}"); done
    if [ "$n" -eq 1 ]; then
      local d=${devs[0]}
      putpart "$img" "${IMG[$d]}" $((start * E)) $((BASE[$d] + PESTART[$d] + pes[0] * E)) $((size * E))
    else
      local c chunks=$((size * E / ssize))
      for ((c = 0; c < chunks; c++)); do
        local k=$((c % n)) row=$((c / n)) d=${devs[$((c % n))]}
        putpart "$img" "${IMG[$d]}" $((start * E + c * ssize)) $((BASE[$d] + PESTART[$d] + pes[k] * E + row * ssize)) "$ssize"
      done
    fi
  done
}

# fs IMG LABEL SIZE: an empty ext4 image; kmount IMG DIR [OPT]: loop-mounts it (files go in through the kernel)
fs() { truncate -s "$3" "$1"; mke2fs -q -F -t ext4 -L "$2" "$1"; }
kmount() { mkdir -p "$2"; mount -o "loop${3:+,$3}" "$1" "$2"; MOUNTED+=("$2"); }
kumount() { sync; umount "$1"; }
# sums IMG NAME: sha256 of every regular file as the kernel's ext4 sees it, remounted read-only
sums() {
  kmount "$1" "$T/ro-$2" ro
  (cd "$T/ro-$2" && find . -path ./lost+found -prune -o -type f -print0 | sort -z | xargs -0 -r sha256sum) > "sums-$2.txt"
  umount "$T/ro-$2"
}

# ---- /boot (p1) ----
fs "$T/boot.img" boot 32M
kmount "$T/boot.img" "$T/m-boot"
mkdir -p "$T/m-boot/grub2"
echo "menuentry 'Red Hat Enterprise Linux' { linux /vmlinuz root=/dev/mapper/$VG-root }" > "$T/m-boot/grub2/grub.cfg"
head -c 2000000 /dev/urandom > "$T/m-boot/vmlinuz-5.14.0"
kumount "$T/m-boot"
sums "$T/boot.img" boot
putpart "$T/boot.img" disk1.raw 0 $((2048 * 512)) $((32 * MiB))

# ---- root: linear on PV 1 ----
fs "$T/root.img" root 40M
kmount "$T/root.img" "$T/m-root"
mkdir -p "$T/m-root/etc/sysconfig" "$T/m-root/usr/bin" "$T/m-root/var/log"
echo "rhel-like" > "$T/m-root/etc/hostname"
printf 'NAME="Red Hat Enterprise Linux"\nVERSION_ID="9.4"\n' > "$T/m-root/etc/os-release"
echo "/dev/mapper/$VG-home /home ext4 defaults 0 0" > "$T/m-root/etc/fstab"
head -c 3000000 /dev/urandom > "$T/m-root/usr/bin/bash"
seq 1 50000 > "$T/m-root/var/log/messages"
ln -s ../usr/bin/bash "$T/m-root/etc/shell"
kumount "$T/m-root"
sums "$T/root.img" root
place "$T/root.img" "$VG/root"

# ---- swap ----
truncate -s 8M "$T/swap.img"; mkswap -L swap "$T/swap.img" >/dev/null 2>&1
place "$T/swap.img" "$VG/swap"

# ---- home: 24 MiB on PV 1, then 40 MiB on PV 2; big.bin is larger than the first part, so it crosses ----
fs "$T/home.img" home 64M
kmount "$T/home.img" "$T/m-home"
mkdir -p "$T/m-home/alice/Documents" "$T/m-home/bob"
echo "hello from alice" > "$T/m-home/alice/notes.txt"
head -c 30000000 /dev/urandom > "$T/m-home/alice/big.bin"
head -c 700000 /dev/urandom > "$T/m-home/alice/Documents/report.pdf"
seq 1 100000 > "$T/m-home/bob/numbers.txt"
kumount "$T/m-home"
sums "$T/home.img" home
# the file's blocks as ext4 placed them (oracle for "crosses the PV boundary"): block size, then block numbers
{ dumpe2fs -h "$T/home.img" 2>/dev/null | awk -F: '/^Block size/ {gsub(/ /, "", $2); print $2}'
  debugfs -R "blocks /alice/big.bin" "$T/home.img" 2>/dev/null; } > home-big-blocks.txt
place "$T/home.img" "$VG/home"

# ---- data: striped over both PVs, 64 KiB chunks ----
fs "$T/data.img" data 16M
kmount "$T/data.img" "$T/m-data"
head -c 5000000 /dev/urandom > "$T/m-data/striped.bin"
echo "striped across two disks" > "$T/m-data/README"
kumount "$T/m-data"
sums "$T/data.img" data
place "$T/data.img" "$VG/data"

lvmq vgchange --driverloaded n -an "$VG"

# ---- another VM: its second PV was made with --metadatacopies 0 (the VG text is only on the first); "spill" spans both ----
VG2="${VG}n"
echo "$VG2" > vgname-nomda.txt
truncate -s 40M nomda1.raw nomda2.raw
newloop M1 nomda1.raw
newloop M2 nomda2.raw
IMG[$M1]=nomda1.raw; IMG[$M2]=nomda2.raw; BASE[$M1]=0; BASE[$M2]=0
lvmq pvcreate "$M1"
lvmq pvcreate --metadatacopies 0 "$M2"
lvmq vgcreate "$VG2" "$M1" "$M2"
lvmq lvcreate --driverloaded n -an -Zn -y -L 56M -n spill "$VG2" "$M1" "$M2"
for l in "$M1" "$M2"; do PESTART[$l]=$(lvmout pvs --noheadings --nosuffix --units b -o pe_start "$l" | tr -d ' '); done
lvmout pvs --noheadings -o pv_name,pv_uuid,pv_mda_count "$M1" "$M2" | sed "s#$M1#nomda1#; s#$M2#nomda2#" > pvs-nomda.txt
[ "$(awk '$1 == "nomda2" {print $3}' pvs-nomda.txt)" -eq 0 ] || { echo "nomda2 has metadata" >&2; exit 1; }
[ "$(lvmout lvs --noheadings --segments -o lv_name "$VG2/spill" | wc -l)" -eq 2 ] || { echo "spill does not span both PVs" >&2; exit 1; }
fs "$T/spill.img" spill 56M
kmount "$T/spill.img" "$T/m-spill"
head -c 40000000 /dev/urandom > "$T/m-spill/across.bin"
kumount "$T/m-spill"
sums "$T/spill.img" spill
place "$T/spill.img" "$VG2/spill"
lvmq vgchange --driverloaded n -an "$VG2"

for l in "${LOOPS[@]}"; do losetup -d "$l"; done
LOOPS=()
for d in disk1 disk2 nomda1 nomda2; do qemu-img convert -f raw -O vmdk $d.raw $d.vmdk; rm -f $d.raw; done
