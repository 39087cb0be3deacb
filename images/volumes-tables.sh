#!/usr/bin/env bash
# Partition tables and filesystems for the volume-discovery tests, made by real tools:
# sfdisk, sgdisk, parted (tables); mkntfs, mkfs.fat, mke2fs, mkfs.xfs, mkfs.btrfs, mkfs.exfat, mkswap,
# cryptsetup, genisoimage (contents). Filesystems are made as separate files and dd'ed into place.
# Usage: volumes-tables.sh OUTDIR
set -euo pipefail
OUT=$1
cd "$OUT"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

put() { # put FSFILE DISK LBA SECTORSIZE
  dd if="$1" of="$2" bs="$4" seek="$3" conv=notrunc,sparse status=none
}

# ---- filesystem pieces -------------------------------------------------------------------------
truncate -s 10M "$T/ntfs.img";   mkntfs -F -Q -q -L WinSys "$T/ntfs.img" >/dev/null
truncate -s 5M "$T/ntfsrec.img"; mkntfs -F -Q -q -L Recovery "$T/ntfsrec.img" >/dev/null
truncate -s 10M "$T/ext4.img";   mke2fs -q -F -t ext4 -L linroot "$T/ext4.img"
truncate -s 10M "$T/ext3.img";   mke2fs -q -F -t ext3 -L e3 "$T/ext3.img"
truncate -s 10M "$T/ext2.img";   mke2fs -q -F -t ext2 -L e2 "$T/ext2.img"
truncate -s 10M "$T/fat16.img";  mkfs.fat -F 16 -n FAT16VOL "$T/fat16.img" >/dev/null
truncate -s 5M "$T/fat12.img";   mkfs.fat -F 12 -n SMALLFAT "$T/fat12.img" >/dev/null
truncate -s 40M "$T/fat32.img";  mkfs.fat -F 32 -s 1 -n EFI "$T/fat32.img" >/dev/null
truncate -s 20M "$T/exfat.img";  mkfs.exfat -L EXFATVOL "$T/exfat.img" >/dev/null
truncate -s 5M "$T/swap.img";    mkswap -L swp "$T/swap.img" >/dev/null
truncate -s 300M "$T/xfs.img";   mkfs.xfs -q -L xfsvol "$T/xfs.img"
truncate -s 128M "$T/btrfs.img"; mkfs.btrfs -q -f -L bt "$T/btrfs.img" >/dev/null
truncate -s 8M "$T/luks2.img"
# a small keyslot area keeps the image small (the default writes 16 MiB of key material)
echo -n pw | cryptsetup luksFormat -q --type luks2 --label secret --key-size 256 --luks2-keyslots-size 256k --pbkdf pbkdf2 --pbkdf-force-iterations 1000 "$T/luks2.img" -
truncate -s 8M "$T/luks1.img"
echo -n pw | cryptsetup luksFormat -q --type luks1 --key-size 256 --pbkdf-force-iterations 1000 "$T/luks1.img" -
mkdir "$T/isodir" && echo hello > "$T/isodir/hello.txt"
genisoimage -quiet -V ISOVOL -o "$T/iso.img" -R -J "$T/isodir"

# ---- mbr.img: sfdisk, 3 primaries + extended with 7 logicals ----------------------------------------
truncate -s 420M mbr.img
sfdisk -q mbr.img <<'T1'
label: dos
label-id: 0x12345678
start=2048, size=20480, type=7, bootable
start=22528, size=20480, type=83
start=43008, size=20480, type=6
start=63488, type=f
T1
sfdisk -q -a mbr.img <<'T2'
start=65536, size=10240, type=1
start=77824, size=10240, type=82
start=90112, size=10240, type=27
start=102400, size=614400, type=83
start=718848, size=20480, type=83
start=741376, size=20480, type=83
start=763904, size=40960, type=7
T2
put "$T/ntfs.img" mbr.img 2048 512
put "$T/ext4.img" mbr.img 22528 512
put "$T/fat16.img" mbr.img 43008 512
put "$T/fat12.img" mbr.img 65536 512
put "$T/swap.img" mbr.img 77824 512
put "$T/ntfsrec.img" mbr.img 90112 512
put "$T/xfs.img" mbr.img 102400 512
put "$T/ext2.img" mbr.img 718848 512
put "$T/ext3.img" mbr.img 741376 512
put "$T/exfat.img" mbr.img 763904 512

# ---- gpt.img: sgdisk, Windows and Linux types, encrypted and unsupported contents ------------------
truncate -s 320M gpt.img
sgdisk -o gpt.img >/dev/null
sgdisk -n 1:2048:+40M -t 1:EF00 -c 1:"EFI system partition" -n 2:0:+16M -t 2:0C01 -c 2:"Microsoft reserved partition" \
       -n 3:0:+10M -t 3:0700 -c 3:"Basic data partition" -n 4:0:+10M -t 4:2700 -n 5:0:+128M -t 5:8300 -c 5:btrfs \
       -n 6:0:+5M -t 6:8200 -n 7:0:+32M -t 7:8309 -n 8:0:+8M -t 8:8309 -n 9:0:+1M -t 9:4201 -n 10:0:+5M -t 10:4200 \
       -n 11:0:+2M -t 11:0700 -c 11:"cd image" gpt.img >/dev/null
sgdisk -A 1:set:0 -A 3:set:62 -A 3:set:63 gpt.img >/dev/null
gptstart() { sgdisk -i "$1" gpt.img | sed -n 's/^First sector: \([0-9]*\).*/\1/p'; }
put "$T/fat32.img" gpt.img "$(gptstart 1)" 512
put "$T/ntfs.img" gpt.img "$(gptstart 3)" 512
put "$T/btrfs.img" gpt.img "$(gptstart 5)" 512
put "$T/swap.img" gpt.img "$(gptstart 6)" 512
put "$T/luks2.img" gpt.img "$(gptstart 7)" 512
put "$T/luks1.img" gpt.img "$(gptstart 8)" 512
put "$T/iso.img" gpt.img "$(gptstart 11)" 512

# hybrid MBR: partition 3 mirrored into the MBR beside the 0xEE entry
cp --sparse=always gpt.img hybrid.img
sgdisk -h 3:EE hybrid.img >/dev/null

# ---- gpt4k.img: GPT written through a 4096-byte-sector loop device (a 4Kn disk) ---------------------
truncate -s 100M gpt4k.img
L=$(losetup -f --show --sector-size 4096 gpt4k.img)
sgdisk -o -n 1:0:+20M -t 1:0700 -c 1:"Basic data partition" -n 2:0:+20M -t 2:8300 "$L" >/dev/null || { losetup -d "$L"; exit 1; }
S1=$(sgdisk -i 1 "$L" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
S2=$(sgdisk -i 2 "$L" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
losetup -d "$L"
truncate -s 20M "$T/ntfs4k.img"; mkntfs -F -Q -q -s 4096 -L Win4K "$T/ntfs4k.img" >/dev/null
put "$T/ntfs4k.img" gpt4k.img "$S1" 4096
put "$T/ext4.img" gpt4k.img "$S2" 4096

# ---- mbr4k.img: an MBR written through a 4096-byte-sector loop device (LBAs count 4 KiB sectors) -------
truncate -s 64M mbr4k.img
L=$(losetup -f --show --sector-size 4096 mbr4k.img)
{ sfdisk -q --no-reread --no-tell-kernel "$L" <<'T3'
label: dos
start=256, size=2560, type=7
start=2816, size=2560, type=83
start=5376, type=5
T3
sfdisk -q -a --no-reread --no-tell-kernel "$L" <<'T4'
start=5632, size=2560, type=83
T4
} || { losetup -d "$L"; exit 1; }
losetup -d "$L"
put "$T/ntfs4k.img" mbr4k.img 256 4096
put "$T/ext4.img" mbr4k.img 2816 4096
put "$T/ext2.img" mbr4k.img 5632 4096

# ---- parted.img: parted msdos table with logical partitions ---------------------------------------
truncate -s 64M parted.img
parted -s parted.img mklabel msdos mkpart primary fat16 1MiB 12MiB mkpart extended 12MiB 60MiB \
       mkpart logical ext2 13MiB 24MiB mkpart logical linux-swap 25MiB 31MiB
put "$T/fat16.img" parted.img 2048 512
put "$T/ext2.img" parted.img $((13 * 2048)) 512
put "$T/swap.img" parted.img $((25 * 2048)) 512

# ---- parted-gpt.img: parted GPT with names ----------------------------------------------------------
truncate -s 64M parted-gpt.img
parted -s parted-gpt.img mklabel gpt mkpart data ntfs 1MiB 12MiB mkpart home ext4 12MiB 30MiB
put "$T/ntfs.img" parted-gpt.img 2048 512
put "$T/ext4.img" parted-gpt.img $((12 * 2048)) 512

# ---- whole-disk filesystems (no partition table) ----------------------------------------------------
cp --sparse=always "$T/ntfs.img" disk-ntfs.img
cp --sparse=always "$T/fat16.img" disk-fat.img
cp --sparse=always "$T/ext4.img" disk-ext4.img
cp --sparse=always "$T/xfs.img" disk-xfs.img
cp --sparse=always "$T/luks1.img" disk-luks.img
truncate -s 8M blank.img

# the filesystem pieces, for byte comparisons
mkdir pieces
cp --sparse=always "$T/ntfs.img" "$T/ext4.img" "$T/ext2.img" "$T/fat32.img" pieces/
