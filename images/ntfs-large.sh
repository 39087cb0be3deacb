#!/usr/bin/env bash
# Big and fragmented NTFS volumes, made by mkntfs and populated through ntfs-3g:
#   big.img   a directory of 100,000 entries (multi-level $I30 B-tree); oracle big.names = `find -printf '%i %f'`
#             from the ntfs-3g mount (inode = MFT record number)
#   frag.img  a 1400-run file with a non-resident $ATTRIBUTE_LIST and extension records, plus a $MFT fragmented
#             into hundreds of runs with its own attribute list (fill the volume, punch holes, write, then
#             create files until ENOSPC); oracle frag.manifest.json + frag.fls
set -euo pipefail
out=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/ntfs-lib.sh"
work=$(mktemp -d)
trap 'ntfs_cleanup; rm -rf "$work"' EXIT
m="$work/mnt"

# ---------------------------------------------------------------- big.img
img="$work/big.img"
truncate -s 192M "$img"
mkntfs -q -F -Q -c 4096 -L BigDir "$img" 2>/dev/null
ntfs_mount "$img" "$m"
mkdir "$m/huge"
(cd "$m/huge" && seq -f 'file_%06g.dat' 1 100000 | xargs touch)
echo "needle" > "$m/huge/file_054321.dat"
ntfs_umount
ntfs_mount "$img" "$m" ro
(cd "$m/huge" && find . -mindepth 1 -maxdepth 1 -printf '%i %f\n') > "$out/big.names"
ntfs_umount
cp --sparse=always "$img" "$out/big.img"
rm "$img"

# ---------------------------------------------------------------- frag.img
img="$work/frag.img"
truncate -s 48M "$img"
mkntfs -q -F -Q -c 4096 -L Frag "$img" 2>/dev/null
ntfs_mount "$img" "$m"
mkdir "$m/frag"
for i in $(seq 1 6000); do printf '%4096s' x > "$m/frag/f$i"; done
dd if=/dev/zero of="$m/filler" bs=1M 2>/dev/null || true
for i in $(seq 1 2 6000); do rm "$m/frag/f$i"; done
sync
python3 -c "open('$m/fragmented.bin','wb').write(bytes((i*7+3)%251 for i in range(1400*4096)))"
# grow the $MFT into the one-cluster holes that are left: empty files (MFT records only) until the volume is full
mkdir "$m/mftgrow"
for i in $(seq 1 8000); do : > "$m/mftgrow/g$i" 2>/dev/null || break; done
rm "$m/filler"
ntfs_umount
cp --sparse=always "$img" "$out/frag.img"
ntfs_oracle_manifest "$img" "$out/frag.manifest.json"
ntfs_fls "$img" "$out/frag.fls"
istat "$img" 0 > "$out/frag.mft.istat"
istat "$img" "$(ifind -n /fragmented.bin "$img")" > "$out/frag.file.istat"
# lib: 5d4b980709a9
