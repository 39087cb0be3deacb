#!/usr/bin/env bash
# LVM2 images for the volume-discovery tests. device-mapper is absent, so LVs are written with vgcfgrestore
# (metadata only) onto PVs made by pvcreate on loop devices, and the LV contents (mke2fs/mkswap/mkfs.fat images)
# are dd'ed into the PV extents that `lvs --segments` reports. Usage: volumes-lvm.sh OUTDIR
set -euo pipefail
OUT=$1
cd "$OUT"
T=$(mktemp -d)
LOOPS=()
cleanup() { for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
CFG='devices { obtain_device_list_from_udev=0 } activation { udev_sync=0 udev_rules=0 } backup { backup=0 archive=0 }'
lvmq() { "$@" --config "$CFG" >/dev/null 2>"$T/lvm.err" || { cat "$T/lvm.err" >&2; return 1; }; }
loop() { local l; l=$(losetup -f --show "$@"); LOOPS+=("$l"); echo "$l"; }
MiB=1048576

# write FILE into the disk image at byte offset OFF
putb() { dd if="$1" of="$2" bs=64K seek="$3" oflag=seek_bytes conv=notrunc,sparse status=none; }
# write COUNT bytes of FILE starting at byte SKIP into DISK at byte SEEK
putpart() { dd if="$1" of="$2" bs=64K skip="$3" seek="$4" count="$5" iflag=skip_bytes,count_bytes oflag=seek_bytes conv=notrunc,sparse status=none; }

# closes the VG section of a vgcfgbackup file and appends LVs from stdin
with_lvs() { head -n -1 "$1"; cat; echo "}"; }

# ---- lvm-mbr.img: ext4 /boot on p1, PV on p2 (type 8e) holding a two-segment root LV and a swap LV ----
truncate -s 200M lvm-mbr.img
sfdisk -q lvm-mbr.img <<'T1'
label: dos
start=2048, size=40960, type=83
start=43008, type=8e
T1
P2=$((43008 * 512))
L=$(loop -o $P2 lvm-mbr.img)
lvmq pvcreate "$L"
lvmq vgcreate vgvola "$L"
lvmq vgcfgbackup -f "$T/a.txt" vgvola
with_lvs "$T/a.txt" > "$T/a2.txt" <<'LV'
logical_volumes {
root {
id = "aaaaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaaaa"
status = ["READ", "WRITE", "VISIBLE"]
segment_count = 2
segment1 {
start_extent = 0
extent_count = 10
type = "striped"
stripe_count = 1
stripes = [
"pv0", 0
]
}
segment2 {
start_extent = 10
extent_count = 3
type = "striped"
stripe_count = 1
stripes = [
"pv0", 20
]
}
}
swap {
id = "bbbbbb-bbbb-bbbb-bbbb-bbbb-bbbb-bbbbbb"
status = ["READ", "WRITE", "VISIBLE"]
segment_count = 1
segment1 {
start_extent = 0
extent_count = 2
type = "striped"
stripe_count = 1
stripes = [
"pv0", 12
]
}
}
}
LV
lvmq vgcfgrestore -f "$T/a2.txt" vgvola
lvs --config "$CFG" --noheadings --segments -o lv_name,seg_start_pe,seg_size_pe,seg_pe_ranges vgvola > lvs-mbr.txt 2>/dev/null
pvs --config "$CFG" --noheadings --units b -o pv_name,pe_start "$L" > pvs-mbr.txt 2>/dev/null
losetup -d "$L"
truncate -s 20M "$T/boot.img"; mke2fs -q -F -t ext4 -L boot "$T/boot.img"
# a few files, so the LV can be browsed end to end (tree kept beside the images as the oracle)
mkdir -p root-tree/etc root-tree/home/user
echo "lvm root" > root-tree/etc/hostname
head -c 300000 /dev/urandom > root-tree/home/user/blob.bin
seq 1 20000 > root-tree/home/user/numbers.txt
truncate -s 52M "$T/root.img"; mke2fs -q -F -t ext4 -L lvroot -d root-tree "$T/root.img"
truncate -s 8M "$T/swap.img"; mkswap -L lvswap "$T/swap.img" >/dev/null 2>&1
putb "$T/boot.img" lvm-mbr.img $((2048 * 512))
PE0=$((P2 + MiB))
putpart "$T/root.img" lvm-mbr.img 0 $PE0 $((40 * MiB))
putpart "$T/root.img" lvm-mbr.img $((40 * MiB)) $((PE0 + 80 * MiB)) $((12 * MiB))
putb "$T/swap.img" lvm-mbr.img $((PE0 + 48 * MiB))
cp --sparse=always "$T/root.img" lvm-mbr-root.img

# ---- lvm-striped.img: two PVs (p1, p2) in one VG; a 2-way striped LV (64 KiB stripes) and a linear LV ----
truncate -s 100M lvm-striped.img
sfdisk -q lvm-striped.img <<'T2'
label: dos
start=2048, size=81920, type=8e
start=83968, size=81920, type=8e
T2
A=$((2048 * 512)); B=$((83968 * 512))
L1=$(loop -o $A --sizelimit $((40 * MiB)) lvm-striped.img)
L2=$(loop -o $B --sizelimit $((40 * MiB)) lvm-striped.img)
lvmq pvcreate "$L1" "$L2"
lvmq vgcreate vgvolb "$L1" "$L2"
lvmq vgcfgbackup -f "$T/b.txt" vgvolb
grep -A2 'pv0 {' "$T/b.txt" | grep -q "device = \"$L1\"" || { echo "pv0 is not $L1" >&2; exit 1; }
with_lvs "$T/b.txt" > "$T/b2.txt" <<'LV'
logical_volumes {
data {
id = "cccccc-cccc-cccc-cccc-cccc-cccc-cccccc"
status = ["READ", "WRITE", "VISIBLE"]
segment_count = 1
segment1 {
start_extent = 0
extent_count = 4
type = "striped"
stripe_count = 2
stripe_size = 128
stripes = [
"pv0", 1,
"pv1", 2
]
}
}
lin {
id = "dddddd-dddd-dddd-dddd-dddd-dddd-dddddd"
status = ["READ", "WRITE", "VISIBLE"]
segment_count = 1
segment1 {
start_extent = 0
extent_count = 1
type = "striped"
stripe_count = 1
stripes = [
"pv1", 0
]
}
}
}
LV
lvmq vgcfgrestore -f "$T/b2.txt" vgvolb
lvs --config "$CFG" --noheadings --segments -o lv_name,seg_start_pe,seg_size_pe,stripes,stripe_size,seg_pe_ranges vgvolb > lvs-striped.txt 2>/dev/null
losetup -d "$L1"; losetup -d "$L2"
truncate -s 16M "$T/data.img"; mke2fs -q -F -t ext4 -L striped "$T/data.img"
truncate -s 4M "$T/lin.img"; mkfs.fat -F 12 -n LINFAT "$T/lin.img" >/dev/null
# dm-stripe layout: 64 KiB chunk c goes to stripe c%2, row c/2 of that stripe's extents
S0=$((A + MiB + 1 * 4 * MiB)); S1=$((B + MiB + 2 * 4 * MiB)); CH=$((64 * 1024))
for ((c = 0; c < 16 * MiB / CH; c++)); do
  if ((c % 2 == 0)); then base=$S0; else base=$S1; fi
  putpart "$T/data.img" lvm-striped.img $((c * CH)) $((base + (c / 2) * CH)) $CH
done
putb "$T/lin.img" lvm-striped.img $((B + MiB))
cp --sparse=always "$T/data.img" lvm-striped-data.img

# ---- lvm-disk.img: a PV on the whole disk (no partition table) ----
truncate -s 40M lvm-disk.img
L=$(loop lvm-disk.img)
lvmq pvcreate "$L"
lvmq vgcreate vgvolc "$L"
lvmq vgcfgbackup -f "$T/c.txt" vgvolc
with_lvs "$T/c.txt" > "$T/c2.txt" <<'LV'
logical_volumes {
whole {
id = "eeeeee-eeee-eeee-eeee-eeee-eeee-eeeeee"
status = ["READ", "WRITE", "VISIBLE"]
segment_count = 1
segment1 {
start_extent = 0
extent_count = 2
type = "striped"
stripe_count = 1
stripes = [
"pv0", 1
]
}
}
}
LV
lvmq vgcfgrestore -f "$T/c2.txt" vgvolc
losetup -d "$L"
truncate -s 8M "$T/whole.img"; mke2fs -q -F -t ext2 -L wholelv "$T/whole.img"
putb "$T/whole.img" lvm-disk.img $((MiB + 4 * MiB))

# ---- lvm-2mda.img: a whole-disk PV with two metadata copies (the second at the end of the PV) ----
truncate -s 24M lvm-2mda.img
L=$(loop lvm-2mda.img)
lvmq pvcreate --pvmetadatacopies 2 "$L"
lvmq vgcreate vgvold "$L"
lvmq vgcfgbackup -f "$T/d.txt" vgvold
with_lvs "$T/d.txt" > "$T/d2.txt" <<'LV'
logical_volumes {
two {
id = "ffffff-ffff-ffff-ffff-ffff-ffff-ffffff"
status = ["READ", "WRITE", "VISIBLE"]
segment_count = 1
segment1 {
start_extent = 0
extent_count = 1
type = "striped"
stripe_count = 1
stripes = [
"pv0", 0
]
}
}
}
LV
lvmq vgcfgrestore -f "$T/d2.txt" vgvold
pvs --config "$CFG" --noheadings -o pv_mda_count "$L" > pvs-2mda.txt 2>/dev/null
losetup -d "$L"
