#!/usr/bin/env bash
# NTFS feature images, made by mkntfs and populated through an ntfs-3g mount (images/ntfs-lib.sh helpers).
#   basic.img      4 KiB clusters: resident/non-resident/sparse/>4 GiB/compressed files, ADS, hard links, DOS names,
#                  attribute flags, case-only-different POSIX names, Interix and reparse-point symlinks, junctions
#                  (inside, outside, volume GUID, loop), WSL symlink, dedup and cloud placeholders, EFS (flag patched),
#                  names with unpaired UTF-16 surrogates (one unit patched)
#   dirty.img      basic.img with the $Volume dirty flag set
#   c512.img c2k.img c64k.img c2m.img   other cluster sizes, a smaller file set
# Oracles beside each image: NAME.manifest.json (ntfs-3g mount: paths, types, sizes, SHA-256 of files and streams)
# and NAME.fls (sleuthkit `fls -r -p`). Also basic.records: record numbers of selected files from `ifind`.
set -euo pipefail
out=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/ntfs-lib.sh"
work=$(mktemp -d)
trap 'ntfs_cleanup; rm -rf "$work"' EXIT
export TZ=UTC

hexrp() { # python struct packing of reparse buffers: KIND ARGS...
  python3 - "$@" <<'PY'
import struct, sys
kind = sys.argv[1]
def u16(s): return s.encode('utf-16-le')
def ms(tag, data): return struct.pack('<IHH', tag, len(data), 0) + data
if kind == 'symlink':            # symlink SUBST PRINT FLAGS
    s, p, fl = u16(sys.argv[2]), u16(sys.argv[3]), int(sys.argv[4])
    data = struct.pack('<HHHHI', 0, len(s), len(s), len(p), fl) + s + p
    buf = ms(0xA000000C, data)
elif kind == 'junction':         # junction SUBST PRINT (NUL terminated, as Windows writes)
    s, p = u16(sys.argv[2]), u16(sys.argv[3])
    data = struct.pack('<HHHH', 0, len(s), len(s) + 2, len(p)) + s + b'\0\0' + p + b'\0\0'
    buf = ms(0xA0000003, data)
elif kind == 'lx':               # WSL symlink: version 2 + UTF-8 target
    buf = ms(0xA000001D, struct.pack('<I', 2) + sys.argv[2].encode())
elif kind == 'tag':              # any Microsoft tag with a small opaque payload
    buf = ms(int(sys.argv[2], 16), bytes(16))
elif kind == 'bare':             # a tag without data (WSL special files)
    buf = ms(int(sys.argv[2], 16), b'')
print('0x' + buf.hex())
PY
}

repeat() { python3 -c "import sys; t=(sys.argv[1]+'\\n').encode(); n=int(sys.argv[2]); sys.stdout.buffer.write((t*(n//len(t)+1))[:n])" "$1" "$2"; }

populate_common() { # MNT: the file set every cluster size gets
  local m="$1"
  echo "hello resident" > "$m/small.txt"
  head -c 300000 /dev/urandom > "$m/big.bin"
  truncate -s 10M "$m/sparse.bin"
  printf middle | dd of="$m/sparse.bin" bs=1 seek=5000000 conv=notrunc status=none
  echo "stream data" > "$m/small.txt:mystream"
  head -c 70000 /dev/urandom > "$m/big.bin:bigstream"
  mkdir -p "$m/dir1/sub"
  ln "$m/big.bin" "$m/dir1/hardlink_to_big.bin"
  printf 'nested\n' > "$m/dir1/sub/nested.txt"
  python3 -c "import sys; sys.stdout.buffer.write(bytes((i*7+3)%251 for i in range(123457)))" > "$m/dir1/pattern.bin"
}

populate_compressed() { # MNT
  local m="$1"
  mkdir "$m/compdir"
  setfattr -n system.ntfs_attrib_be -v 0x00000810 "$m/compdir"
  repeat "compressible text" 200000 > "$m/compdir/comp.txt"
  head -c 100000 /dev/urandom > "$m/compdir/random.bin"                       # units stored uncompressed
  { repeat "abc" 40000; head -c 50000 /dev/urandom; repeat "xyz" 30000; } > "$m/compdir/mixed.bin"
  truncate -s 1M "$m/compdir/sparse_in_comp.bin"                             # sparse units inside a compressed file
  printf 'island' | dd of="$m/compdir/sparse_in_comp.bin" bs=1 seek=300000 conv=notrunc status=none
  echo "tiny compressed" > "$m/compdir/tiny.txt"
  head -c 131072 /dev/zero > "$m/compdir/zeros.bin"
}

# ---------------------------------------------------------------- basic.img (4 KiB clusters)
img="$work/basic.img"
truncate -s 64M "$img"
mkntfs -q -F -Q -c 4096 -L BasicVol "$img" 2>/dev/null
m="$work/mnt"
ntfs_mount "$img" "$m"
populate_common "$m"
populate_compressed "$m"
truncate -s 5G "$m/huge.bin"                                    # > 4 GiB, sparse, data past 4 GiB
printf 'beyond four gigabytes' | dd of="$m/huge.bin" bs=1 seek=$((4*1024*1024*1024 + 12345)) conv=notrunc status=none
printf 'start' | dd of="$m/huge.bin" bs=1 conv=notrunc status=none
echo "long name" > "$m/A long file name.txt"
setfattr -n system.ntfs_dos_name -v "ALONGF~1.TXT" "$m/A long file name.txt"
echo hidden > "$m/hidden.txt";   setfattr -n system.ntfs_attrib_be -v 0x00000022 "$m/hidden.txt"
echo readonly > "$m/readonly.txt"; setfattr -n system.ntfs_attrib_be -v 0x00000021 "$m/readonly.txt"
echo system > "$m/system.txt";   setfattr -n system.ntfs_attrib_be -v 0x00000024 "$m/system.txt"
mkdir "$m/case"
echo upper > "$m/case/Case.txt"; echo lower > "$m/case/case.txt"; echo only > "$m/case/Only.TXT"
mkdir "$m/unicode"
echo accent > "$m/unicode/héllo wörld ✓.txt"; echo emoji > "$m/unicode/😀 smile.txt"; echo cjk > "$m/unicode/日本語.txt"
echo "dir stream" > "$m/dir1:dirstream"
for i in $(seq 1 40); do ln "$m/small.txt" "$m/dir1/link_with_a_rather_long_file_name_number_$i"; done   # attribute list by names
ln -s small.txt "$m/posix_link"                                 # ntfs-3g Interix symlink
# reparse points (raw buffers, section 11 of the digest)
touch "$m/win_symlink_rel"; setfattr -n system.ntfs_reparse_data -v "$(hexrp symlink 'dir1\sub\nested.txt' 'dir1\sub\nested.txt' 1)" "$m/win_symlink_rel"
touch "$m/win_symlink_abs"; setfattr -n system.ntfs_reparse_data -v "$(hexrp symlink '\??\C:\dir1\pattern.bin' 'C:\dir1\pattern.bin' 0)" "$m/win_symlink_abs"
touch "$m/win_symlink_up"; setfattr -n system.ntfs_reparse_data -v "$(hexrp symlink '..\..\outside.txt' '..\..\outside.txt' 1)" "$m/win_symlink_up"
touch "$m/win_symlink_via_junction"; setfattr -n system.ntfs_reparse_data -v "$(hexrp symlink '\??\C:\junction_in\nested.txt' 'C:\junction_in\nested.txt' 0)" "$m/win_symlink_via_junction"
touch "$m/win_symlink_missing"; setfattr -n system.ntfs_reparse_data -v "$(hexrp symlink '\??\C:\no\such.txt' 'C:\no\such.txt' 0)" "$m/win_symlink_missing"
touch "$m/win_symlink_other_drive"; setfattr -n system.ntfs_reparse_data -v "$(hexrp symlink '\??\D:\data\x.txt' 'D:\data\x.txt' 0)" "$m/win_symlink_other_drive"
touch "$m/win_symlink_unc"; setfattr -n system.ntfs_reparse_data -v "$(hexrp symlink '\??\UNC\server\share\f.txt' '\\server\share\f.txt' 0)" "$m/win_symlink_unc"
mkdir "$m/junction_in";  setfattr -n system.ntfs_reparse_data -v "$(hexrp junction '\??\C:\dir1\sub' 'C:\dir1\sub')" "$m/junction_in"
mkdir "$m/junction_out"; setfattr -n system.ntfs_reparse_data -v "$(hexrp junction '\??\E:\Users' 'E:\Users')" "$m/junction_out"
mkdir "$m/junction_vol"; setfattr -n system.ntfs_reparse_data -v "$(hexrp junction '\??\Volume{01234567-89ab-cdef-0123-456789abcdef}\' '')" "$m/junction_vol"
mkdir -p "$m/loopdir"; mkdir "$m/loopdir/loop"; setfattr -n system.ntfs_reparse_data -v "$(hexrp junction '\??\C:\loopdir' 'C:\loopdir')" "$m/loopdir/loop"
touch "$m/wsl_link"; setfattr -n system.ntfs_reparse_data -v "$(hexrp lx 'dir1/sub/nested.txt')" "$m/wsl_link"
touch "$m/dir1/sub/up_link"; setfattr -n system.ntfs_reparse_data -v "$(hexrp symlink '..\pattern.bin' '..\pattern.bin' 1)" "$m/dir1/sub/up_link"
touch "$m/wsl_abs_drive"; setfattr -n system.ntfs_reparse_data -v "$(hexrp lx '/mnt/c/dir1/pattern.bin')" "$m/wsl_abs_drive"
touch "$m/wsl_abs_linux"; setfattr -n system.ntfs_reparse_data -v "$(hexrp lx '/etc/passwd')" "$m/wsl_abs_linux"
mkdir "$m/special"
mknod "$m/special/intx_chr" c 1 3                                # ntfs-3g Interix device files
mknod "$m/special/intx_blk" b 8 1
echo "dedup" > "$m/dedup.bin"; setfattr -n system.ntfs_reparse_data -v "$(hexrp tag 80000013)" "$m/dedup.bin"
echo "cloud" > "$m/cloud.txt"; setfattr -n system.ntfs_reparse_data -v "$(hexrp tag 9000601A)" "$m/cloud.txt"
echo "secret" > "$m/efs.txt"
mkdir "$m/surrogates"
echo high > "$m/surrogates/hi_$(printf '\xed\x9f\xbf')_x.txt"      # U+D7FF, patched to an unpaired U+D800 below
echo low > "$m/surrogates/lo_$(printf '\xee\x80\x80')_y.txt"       # U+E000, patched to an unpaired U+DC00
ntfs_umount
# WSL special files (reparse tags LX_FIFO/AF_UNIX/LX_CHR/LX_BLK/LX_SYMLINK, device numbers in $EA $LXDEV)
ntfs_mount "$img" "$m" special_files=wsl
mkdir "$m/wsl"
mkfifo "$m/wsl/fifo"; mknod "$m/wsl/chr" c 1 3; mknod "$m/wsl/blk" b 8 17
python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('$m/wsl/sock')"
ln -s ../dir1/sub/nested.txt "$m/wsl/lnk"
ntfs_umount

efs_rec=$(ifind -n /efs.txt "$img")
ntfs_patch "$img" "$efs_rec" efs
ntfs_patch "$img" 0 rename "$(printf 'hi_\xed\x9f\xbf_x' | iconv -f utf-8 -t utf-16le | xxd -p)" "$(python3 -c "print('hi_'.encode('utf-16-le').hex()+'00d8'+'_x'.encode('utf-16-le').hex())")"
ntfs_patch "$img" 0 rename "$(printf 'lo_\xee\x80\x80_y' | iconv -f utf-8 -t utf-16le | xxd -p)" "$(python3 -c "print('lo_'.encode('utf-16-le').hex()+'00dc'+'_y'.encode('utf-16-le').hex())")"
{
  for p in /efs.txt /small.txt /big.bin /dir1/sub /dedup.bin /cloud.txt; do echo "$p $(ifind -n "$p" "$img")"; done
} > "$out/basic.records"
cp --sparse=always "$img" "$out/basic.img"
ntfs_oracle_manifest "$img" "$out/basic.manifest.json" surrogates
ntfs_fls "$img" "$out/basic.fls"
cp --sparse=always "$img" "$work/dirty.img"
ntfs_patch "$work/dirty.img" 3 dirty
cp --sparse=always "$work/dirty.img" "$out/dirty.img"

# ---------------------------------------------------------------- other cluster sizes
for spec in c512:512:48M c2k:2048:48M c64k:65536:600M c2m:2097152:3G; do
  IFS=: read -r name cs size <<< "$spec"
  img="$work/$name.img"
  truncate -s "$size" "$img"
  mkntfs -q -F -Q -c "$cs" -L "$name" "$img" 2>/dev/null
  ntfs_mount "$img" "$m"
  populate_common "$m"
  if [[ $cs -le 4096 ]]; then populate_compressed "$m"; fi
  mkdir "$m/many"; (cd "$m/many" && seq -f 'entry_%04g' 1 400 | xargs touch)   # sub-node VCN units for large clusters
  ntfs_umount
  cp --sparse=always "$img" "$out/$name.img"
  ntfs_oracle_manifest "$img" "$out/$name.manifest.json"
  ntfs_fls "$img" "$out/$name.fls"
  rm "$img"
done
# lib: 5d4b980709a9
