#!/usr/bin/env bash
# A six-point VMDK chain (base -> child-001 -> ... -> child-005) over an MBR disk with one FAT32 volume (p1, 512-byte
# clusters), each child changing files through mtools; each child holds exactly the 64 KiB clusters that differ from
# its parent (qemu-img create -b + qemu-io writes, chain-lib.sh), as points-ext.sh. Every file is put with mcopy -m
# from a source whose mtime is set first, so each write stores a known, distinct time.
#   child-001: new.txt created, log.txt appended, same.bin overwritten (same size), trunc.bin truncated,
#              docs/doc.txt rewritten (v2)
#   child-002: del.txt deleted, "Ren Old Name.txt" renamed to "Ren New Name.txt", touched.txt rewritten with identical
#              bytes (a new time), deep/inner/x.txt rewritten (deep/ itself lists the same)
#   child-003: recreate.txt deleted and re-created, tree/ deleted and re-created (other files), docs/doc.txt v3
#   child-004: newdir/sub/file.txt created, keep/k7.txt moved to newdir/k7.txt
#   child-005: emptydir/ created, new.txt deleted
#   child-006: big.bin's first cluster rewritten behind mtools' back (dd into the image: its directory entry and
#              the FAT untouched), which the fast path of `changed` cannot map and must fall back on. Not in the
#              oracle: the points tests open child-005; the fallback test compares this link with `--full`.
# Oracle: for every point, manifest-POINT.tsv (path, type, size, sha256, mode "-", no link target) read by mtools
# (mcopy -s of that point's `qemu-img convert -O raw` to a folder): an independent reader of each point.
set -euo pipefail
out=$(realpath "$1")
work=$(mktemp -d)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
export TZ=UTC LC_ALL=C.UTF-8 MTOOLS_SKIP_CHECK=1

MiB=$((1024 * 1024))
P1=$((1 * MiB)); S1=$((40 * MiB))
DISK=$((42 * MiB))
rnd() { head -c "$2" /dev/urandom > "$1"; }
fat=$work/fat.img
src=$work/src
mkdir -p "$src"
day=0
# put SOURCE DEST: copies a file in with the next day's mtime (FAT keeps 2-second times: every write gets its own)
put() { day=$((day + 1)); touch -d "@$((1600000000 + day * 86400))" "$1"; mcopy -o -m -i "$fat" "$1" "::$2"; }
text() { printf '%s' "$2" > "$src/t"; put "$src/t" "$1"; }

truncate -s $S1 "$fat"
mkfs.fat -F 32 -s 1 -n POINTS "$fat" >/dev/null
mmd -i "$fat" ::/docs ::/tree ::/tree/a ::/tree/a/b ::/keep ::/deep ::/deep/inner
text /docs/doc.txt $'doc v1\n'
text /log.txt $'line 1\n'
rnd "$src/same.bin" 100000; put "$src/same.bin" /same.bin
rnd "$src/trunc.bin" 300000; put "$src/trunc.bin" /trunc.bin
text /del.txt $'to be deleted\n'
text "/Ren Old Name.txt" $'renamed later\n'
text /touched.txt $'touched, same bytes\n'
text /recreate.txt $'first incarnation\n'
text /tree/a/b/c.txt $'c\n'
text /tree/a/d.txt $'d\n'
text /tree/e.txt $'e\n'
text /deep/inner/x.txt $'x v1\n'
rnd "$src/big.bin" $((2 * MiB + 3)); put "$src/big.bin" /big.bin
for i in $(seq 1 50); do text "/keep/k$i.txt" "keep $i"$'\n'; done

place() { dd if="$fat" of="$1" bs=1M seek=$((P1 / MiB)) conv=notrunc,sparse status=none; }
truncate -s $DISK "$work/d0.raw"
printf 'label: dos\n%s\n' "start=$((P1 / 512)), size=$((S1 / 512)), type=c" | sfdisk -q "$work/d0.raw"
place "$work/d0.raw"
qemu-img convert -q -f raw -O vmdk "$work/d0.raw" "$out/base.vmdk"

source "$(dirname "$0")/chain-lib.sh"

text /new.txt $'new in child-001\n'
printf 'line 1\nline 2\n' > "$src/log.txt"; put "$src/log.txt" /log.txt
rnd "$src/same.bin" 100000; put "$src/same.bin" /same.bin
head -c 1000 "$src/trunc.bin" > "$src/trunc2.bin"; put "$src/trunc2.bin" /trunc.bin
text /docs/doc.txt $'doc v2\n'
step 1

mdel -i "$fat" ::/del.txt
mren -i "$fat" "::/Ren Old Name.txt" "::/Ren New Name.txt"
text /touched.txt $'touched, same bytes\n'
text /deep/inner/x.txt $'x v2, longer\n'
step 2

mdel -i "$fat" ::/recreate.txt
text /recreate.txt $'second incarnation, longer\n'
mdeltree -i "$fat" ::/tree
mmd -i "$fat" ::/tree ::/tree/a
text /tree/a/new.txt $'new in the new tree\n'
text /tree/e.txt $'e\n'
text /docs/doc.txt $'doc v3, longer than before\n'
step 3

mmd -i "$fat" ::/newdir ::/newdir/sub
text /newdir/sub/file.txt $'deep\n'
mmove -i "$fat" ::/keep/k7.txt ::/newdir/k7.txt
step 4

mmd -i "$fat" ::/emptydir
mdel -i "$fat" ::/new.txt
step 5

# big.bin's first cluster: the data region starts after the reserved sectors and the FATs (FAT32 BPB fields)
first=$(MTOOLS_SKIP_CHECK=1 mshowfat -i "$fat" ::/big.bin | sed -n 's/.*<\([0-9]*\).*/\1/p' | head -1)
data=$(python3 -c 'import struct,sys; b=open(sys.argv[1],"rb").read(512); bps,spc,res,nf=struct.unpack_from("<HBHB",b,11); fs=struct.unpack_from("<I",b,36)[0]; print((res+nf*fs)*bps + (int(sys.argv[2])-2)*spc*bps)' "$fat" "$first")
head -c 512 /dev/urandom | dd of="$fat" bs=512 seek=$((data / 512)) conv=notrunc status=none
step 6
rm -f "$work"/d*.raw

# The oracle: each point read by mtools from a raw copy of that point.
for point in base child-001 child-002 child-003 child-004 child-005; do
  qemu-img convert -q -f vmdk -O raw "$out/$point.vmdk" "$work/point.raw"
  rm -rf "$work/x"
  mkdir "$work/x"
  mcopy -s -n -i "$work/point.raw@@$P1" '::/*' "$work/x/"
  (cd "$work/x" && find . -mindepth 1 -printf '%P\0' | sort -z | while IFS= read -r -d '' p; do
     if [ -d "$p" ]; then printf '/%s\tdir\t0\t-\t-\t\n' "$p"
     else printf '/%s\tfile\t%s\t%s\t-\t\n' "$p" "$(stat -c %s "$p")" "$(sha256sum < "$p" | cut -d' ' -f1)"; fi
   done) > "$out/manifest-$point.tsv"
  rm -f "$work/point.raw"
done
