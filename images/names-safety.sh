#!/usr/bin/env bash
# Names that an escape could confuse, made by real tools and wrapped in VMDKs by qemu-img.
#   names-ext.vmdk   unpartitioned ext4 (mke2fs -d), volume id `disk`:
#     /top/d%FF/inner.txt        a folder literally named `d%FF` ("literal-dir")
#     /top/<d 0xFF>              a symlink named by the raw byte 0xFF -> /tmp/vmdkmount-names-safety-outside
#                                (an absolute host folder; both names would read `d%FF` under an ambiguous escape)
#     /top/esc_<ESC>[31mred      files whose names hold ESC, a newline and BEL ("esc", "nl", "bel")
#     /top/nl_a<LF>b  /top/bel_<BEL>
#     /fffd/<U+FFFD>             a file named by the (valid) replacement character: the name a lossy decoding of an
#                                argument holding the byte 0xFF would look up ("replacement-char")
#     /bogus/ok.txt and two entries no name can show: `..` and `.` pointing at files (made as zz and y, renamed in
#                                the directory block; no metadata_csum, so the block still reads as valid)
#   names-ntfs.vmdk  unpartitioned NTFS (mkntfs + ntfs-3g), volume id `disk`:
#     /slash/a/b.txt             a name holding '/' ("slash"): made as a∕b.txt (U+2215) through ntfs-3g, then that
#                                one UTF-16 unit patched to '/' in the MFT record and its $I30 index entry
#     /slash/a%2Fb.txt           a name that literally reads like the escape of the one above ("literal")
#     /nul/a<NUL>b.txt           a name holding NUL ("nul"), made as a␀b.txt (U+2400) and patched the same way
#     /link_slash                a reparse-point symlink to C:\slash\a/b.txt (a '/' inside a Windows component)
#   names-fat.vmdk   unpartitioned FAT16 (mkfs.fat + mcopy), volume id `disk`:
#     /a/b.txt                   a long name holding '/' ("fat-slash"): made as a∕b.txt, the UTF-16 unit patched in
#                                the VFAT long-name entry (whose checksum covers only the 8.3 name)
#     /a%2Fb.txt                 a long name that literally reads like its escape ("fat-literal")
#   names-exfat.vmdk unpartitioned exFAT (mkfs.exfat + exfat-fuse on a loop device), volume id `disk`:
#     /a/b.txt, /a%2Fb.txt       as on FAT ("exfat-slash", "exfat-literal"); the '/' patched into the file name
#                                entry and the entry set's checksum recomputed (the name hash is left as it was)
# Usage: images/names-safety.sh OUTDIR   (needs e2fsprogs, ntfs-3g, dosfstools, mtools, exfatprogs, exfat-fuse,
#        qemu-img, python3, iconv, xxd)
set -euo pipefail
out=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/ntfs-lib.sh"
work=$(mktemp -d)
loop=""
cleanup() {
  ntfs_cleanup
  if mountpoint -q "$work/x" 2>/dev/null; then umount "$work/x" || fusermount3 -u "$work/x" || true; fi
  if [ -n "$loop" ]; then losetup -d "$loop" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
export TZ=UTC E2FSPROGS_FAKE_TIME=1764000000

src="$work/src"
mkdir -p "$src/top/d%FF" "$src/fffd"
echo replacement-char > "$src/fffd/$(printf '\xef\xbf\xbd')"
echo literal-dir > "$src/top/d%FF/inner.txt"
ln -s /tmp/vmdkmount-names-safety-outside "$src/top/$(printf 'd\xff')"
echo esc > "$src/top/$(printf 'esc_\033[31mred')"
printf 'nl\n' > "$src/top/nl_a
b"
echo bel > "$src/top/$(printf 'bel_\007')"
mkdir -p "$src/bogus"
echo ok > "$src/bogus/ok.txt"; echo zz > "$src/bogus/zz"; echo y > "$src/bogus/y"
mke2fs -q -F -t ext4 -b 4096 -O ^metadata_csum -L names -d "$src" "$work/names-ext.img" 8M
blk=$(debugfs -R "blocks /bogus" "$work/names-ext.img" 2>/dev/null | awk '{print $1}')
python3 - "$work/names-ext.img" "$blk" <<'PY'
import sys
path, blk = sys.argv[1], int(sys.argv[2])
with open(path, 'r+b') as f:
    f.seek(blk * 4096); b = bytearray(f.read(4096))
    for old, new in ((b'\x02\x01zz', b'\x02\x01..'), (b'\x01\x01y', b'\x01\x01.')):  # name_len, file type, name
        i = b.find(old); assert i > 0 and b.find(old, i + 1) < 0, old
        b[i:i+len(old)] = new
    f.seek(blk * 4096); f.write(b)
PY
debugfs -R "ls -l /bogus" "$work/names-ext.img" > "$out/bogus.listing" 2>/dev/null
qemu-img convert -q -f raw -O vmdk "$work/names-ext.img" "$out/names-ext.vmdk"

img="$work/names-ntfs.img"
truncate -s 16M "$img"
mkntfs -q -F -Q -c 4096 -L NamesVol "$img" 2>/dev/null
m="$work/m"
ntfs_mount "$img" "$m"
mkdir "$m/slash" "$m/nul"
echo slash > "$m/slash/a∕b.txt"
echo literal > "$m/slash/a%2Fb.txt"
echo nul > "$m/nul/a␀b.txt"
touch "$m/link_slash"
setfattr -n system.ntfs_reparse_data -v "$(python3 - <<'PY'
import struct
def u16(s): return s.encode('utf-16-le')
s, p = u16('\\??\\C:\\slash\\a/b.txt'), u16('C:\\slash\\a/b.txt')
data = struct.pack('<HHHHI', 0, len(s), len(s), len(p), 0) + s + p
print('0x' + (struct.pack('<IHH', 0xA000000C, len(data), 0) + data).hex())
PY
)" "$m/link_slash"
ntfs_umount
# Each directory's index sorts a/b.txt where a∕b.txt was: U+2215 and '/' both sort after '%', so the B-tree order
# stays valid; the NUL name is alone in its folder.
u16() { printf '%s' "$1" | iconv -f utf-8 -t utf-16le | xxd -p | tr -d '\n'; }
ntfs_patch "$img" 0 rename "$(u16 'a∕b.txt')" "$(u16 'a/b.txt')"
ntfs_patch "$img" 0 rename "$(u16 'a␀b.txt')" "$(u16 'a')0000$(u16 'b.txt')"
qemu-img convert -q -f raw -O vmdk "$img" "$out/names-ntfs.vmdk"

export MTOOLS_SKIP_CHECK=1
fat="$work/names-fat.img"
mkfs.fat -C -F 16 -n NAMESFAT "$fat" 16384 >/dev/null
echo fat-slash > "$work/fs.txt"; echo fat-literal > "$work/fl.txt"
LC_ALL=C.UTF-8 mcopy -i "$fat" "$work/fs.txt" "::/a∕b.txt"
LC_ALL=C.UTF-8 mcopy -i "$fat" "$work/fl.txt" "::/a%2Fb.txt"
python3 - "$fat" <<'PY'
import sys
old, new = 'a\u2215b'.encode('utf-16-le'), 'a/b'.encode('utf-16-le')
with open(sys.argv[1], 'r+b') as f:
    b = bytearray(f.read())
    i = b.find(old); assert i > 0 and b.find(old, i + 1) < 0, 'long name not found once'
    b[i:i+len(old)] = new
    f.seek(0); f.write(b)
PY
qemu-img convert -q -f raw -O vmdk "$fat" "$out/names-fat.vmdk"

ex="$work/names-exfat.img"
truncate -s 8M "$ex"
loop=$(losetup -f --show "$ex")
mkfs.exfat -L NAMESEX "$loop" >/dev/null
mkdir "$work/x"
mount.exfat-fuse "$loop" "$work/x" 2>/dev/null
mountpoint -q "$work/x"
echo exfat-slash > "$work/x/a∕b.txt"
echo exfat-literal > "$work/x/a%2Fb.txt"
sync; umount "$work/x"
losetup -d "$loop"; loop=""
python3 - "$ex" <<'PY'
import struct, sys
old, new = 'a\u2215b'.encode('utf-16-le'), 'a/b'.encode('utf-16-le')
with open(sys.argv[1], 'r+b') as f:
    b = bytearray(f.read())
    i = b.find(old); assert i > 0 and b.find(old, i + 1) < 0, 'name not found once'
    name_entry = i - i % 32; assert b[name_entry] == 0xC1 and i - name_entry == 2, 'not the first name entry'
    b[i:i+len(old)] = new
    start = name_entry - 64; assert b[start] == 0x85 and b[start + 32] == 0xC0, 'not a file entry set'
    n = 32 * (1 + b[start + 1]); s = 0
    for k in range(n):
        if k in (2, 3): continue
        s = (((s & 1) << 15 | s >> 1) + b[start + k]) & 0xFFFF
    struct.pack_into('<H', b, start + 2, s)
    f.seek(0); f.write(b)
PY
qemu-img convert -q -f raw -O vmdk "$ex" "$out/names-exfat.vmdk"
