#!/usr/bin/env bash
# End-to-end speed of VmdkMount against its peers, measured side by side in one run on the same images.
#
#   bash bench/peers.sh [--quick]      (as root; results appended to build/bench/peers-<date>.md and printed)
#
# Images (made once, cached in build/bench): an NTFS volume and an ext4 volume, each holding a 1 GiB file of random
# bytes and a 20,000-file tree (about 80 MiB), as bare filesystems (volume id `disk`), each kept as a raw image and
# as a monolithicSparse VMDK, plus a 100-link chain over the NTFS VMDK whose children each hold a small write.
#
# Every measurement: the backing files warm in the host page cache, then a fresh mount (cold FUSE/kernel caches),
# median of 3 runs. Peers: ntfs-3g on the raw image; libyal's /usr/bin/vmdkmount + ntfs-3g; qemu-storage-daemon's
# FUSE export + ntfs-3g; the kernel's ext4 on a loop device; and ours (FUSE mount, and `extract`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
quick=0; [ "${1:-}" = "--quick" ] && quick=1
runs=3
B=$root/build/bench
mkdir -p "$B"

need=()
for p in ntfs-3g e2fsprogs qemu-utils qemu-system-common libvmdk-utils fuse3 time bc clamav xxd; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; fi

dotnet build src/VmdkMount.Cli -c Release -v quiet -nologo >/dev/null
ours="$root/build/bin/VmdkMount.Cli/Release/net10.0/vmdkmount.dll"
vm() { dotnet "$ours" "$@"; }

big_mib=1024; files=20000
[ $quick = 1 ] && { big_mib=128; files=2000; }
tag="${big_mib}m-${files}"

# ---------------------------------------------------------------- images
make_tree() {  # $1 = folder: big.bin + tree/ with $files small files in 100 folders
  mkdir -p "$1/tree"
  head -c $((big_mib * 1024 * 1024)) /dev/urandom > "$1/big.bin"
  python3 - "$1/tree" "$files" <<'PY'
import os, sys, random
root, n = sys.argv[1], int(sys.argv[2]); random.seed(7)
for i in range(n):
    d = os.path.join(root, f"d{i % 100:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"file{i:05d}.txt"), "wb") as f:
        f.write(random.randbytes(random.randint(100, 8000)))
PY
}
if [ ! -f "$B/$tag.done" ]; then
  rm -rf "$B/src" "$B/mnt"; mkdir -p "$B/src" "$B/mnt"
  make_tree "$B/src"
  size_mib=$((big_mib + files * 12 / 1024 + 200))
  truncate -s 0 "$B/ntfs-$tag.raw"; truncate -s ${size_mib}M "$B/ntfs-$tag.raw"
  mkntfs -q -F -Q "$B/ntfs-$tag.raw" >/dev/null 2>&1
  ntfs-3g "$B/ntfs-$tag.raw" "$B/mnt"; cp -r "$B/src/." "$B/mnt/"; umount "$B/mnt"
  rm -f "$B/ext4-$tag.raw"; mke2fs -q -t ext4 -d "$B/src" "$B/ext4-$tag.raw" ${size_mib}M
  qemu-img convert -f raw -O vmdk "$B/ntfs-$tag.raw" "$B/ntfs-$tag.vmdk"
  qemu-img convert -f raw -O vmdk "$B/ext4-$tag.raw" "$B/ext4-$tag.vmdk"
  rm -rf "$B/chain-$tag"; mkdir -p "$B/chain-$tag"
  cp "$B/ntfs-$tag.vmdk" "$B/chain-$tag/l000.vmdk"
  cap=$(stat -c %s "$B/ntfs-$tag.raw")
  prev=l000.vmdk
  for i in $(seq 1 100); do
    cur=$(printf 'l%03d.vmdk' "$i")
    (cd "$B/chain-$tag" && qemu-img create -q -f vmdk -b "$prev" -F vmdk "$cur" >/dev/null)
    # each incremental rewrites one 64 KiB grain near the end of the volume (free space), as a backup's delta would
    (cd "$B/chain-$tag" && qemu-io -f vmdk -c "write -P $((i % 250)) $((cap - (i + 1) * 65536)) 64k" "$cur" >/dev/null)
    prev=$cur
  done
  rm -rf "$B/src" "$B/mnt"
  touch "$B/$tag.done"
fi
NR="$B/ntfs-$tag.raw"; NV="$B/ntfs-$tag.vmdk"; ER="$B/ext4-$tag.raw"; EV="$B/ext4-$tag.vmdk"; CH="$B/chain-$tag/l100.vmdk"

# ---------------------------------------------------------------- mount helpers (each prints the folder holding big.bin and tree/)
M=$B/m; mkdir -p "$M"/{a,b,c}
warm() { for f in "$@"; do cat "$f" > /dev/null; done; }
umount_all() { for d in "$M"/c "$M"/b "$M"/a; do mountpoint -q "$d" && { umount "$d" 2>/dev/null || fusermount3 -u "$d" 2>/dev/null || umount -l "$d"; }; done; pkill -f qemu-storage-daemon 2>/dev/null || true; rm -f "$M/qsd.img"; sleep 0.2; }
trap umount_all EXIT
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }

mount_ntfs3g()  { warm "$NR"; ntfs-3g -o ro "$NR" "$M/a"; echo "$M/a"; }
mount_ours_n()  { warm "$NV"; vm mount "$NV" "$M/a" --volume disk >/dev/null; echo "$M/a"; }
mount_ours_ch() { warm "$B/chain-$tag"/*.vmdk; vm mount "$CH" "$M/a" --volume disk >/dev/null; echo "$M/a"; }
mount_ours_e()  { warm "$EV"; vm mount "$EV" "$M/a" --volume disk >/dev/null; echo "$M/a"; }
mount_libyal()  { warm "$NV"; /usr/bin/vmdkmount "$NV" "$M/b" >/dev/null 2>&1; ntfs-3g -o ro "$M/b/vmdk1" "$M/a"; echo "$M/a"; }
mount_qsd()     {
  warm "$NV"; : > "$M/qsd.img"
  qemu-storage-daemon --blockdev driver=file,filename="$NV",node-name=f,read-only=on \
    --blockdev driver=vmdk,file=f,node-name=d,read-only=on \
    --export type=fuse,id=e,node-name=d,mountpoint="$M/qsd.img" >/dev/null 2>&1 &
  for _ in $(seq 100); do [ "$(stat -c %s "$M/qsd.img")" -gt 0 ] && break; sleep 0.05; done
  ntfs-3g -o ro "$M/qsd.img" "$M/a"; echo "$M/a"; }
mount_kernel_e() { warm "$ER"; mount -o loop,ro "$ER" "$M/a"; echo "$M/a"; }

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# measure NAME MOUNTFN WORKLOAD -> prints median seconds of WORKLOAD (mount excluded) over $runs fresh mounts
measure() {
  local mountfn=$2 work=$3 t=()
  for _ in $(seq $runs); do
    umount_all; drop
    local dir; dir=$($mountfn)
    local s; s=$(now)
    eval "$work" >/dev/null 2>&1
    local e; e=$(now)
    t+=("$(echo "$e - $s" | bc -l)")
    umount_all
  done
  printf '%s\n' "${t[@]}" | median
}
# mount time (median) and the mount's peak RSS for ours
mount_time() {
  local mountfn=$1 t=()
  for _ in $(seq $runs); do umount_all; drop; local s; s=$(now); $mountfn >/dev/null; local e; e=$(now); t+=("$(echo "$e - $s" | bc -l)"); umount_all; done
  printf '%s\n' "${t[@]}" | median
}

SEQ='cat "$dir/big.bin"'
TREE='find "$dir/tree" -type f -print0 | xargs -0 cat'
LIST='find "$dir/tree" > /dev/null; ls -lR "$dir/tree"'

out="$B/peers-$(date -u +%Y%m%dT%H%M%SZ).md"
{
echo "## Side-by-side run $(date -u +%Y-%m-%dT%H:%MZ) ($(nproc) cores; big file ${big_mib} MiB; tree ${files} files; median of $runs)"
echo
echo "| workload | ours (FUSE) | ntfs-3g on raw | libyal vmdkmount + ntfs-3g | qemu-storage-daemon + ntfs-3g | ntfs-3g time / ours (above 1: ours faster) |"
echo "|---|---|---|---|---|---|"
for w in SEQ TREE LIST; do
  o=$(measure ours mount_ours_n "${!w}"); n=$(measure ntfs3g mount_ntfs3g "${!w}")
  l=$(measure libyal mount_libyal "${!w}"); q=$(measure qsd mount_qsd "${!w}")
  printf '| NTFS %s | %.2f s | %.2f s | %.2f s | %.2f s | %.2f |\n' "$w" "$o" "$n" "$l" "$q" "$(echo "$n / $o" | bc -l)"
done
echo
echo "| workload | ours (FUSE) on ext4 VMDK | kernel ext4, loop on raw | kernel time / ours (above 1: ours faster) |"
echo "|---|---|---|---|"
for w in SEQ TREE LIST; do
  o=$(measure ours mount_ours_e "${!w}"); k=$(measure kernel mount_kernel_e "${!w}")
  printf '| ext4 %s | %.2f s | %.2f s | %.2f |\n' "$w" "$o" "$k" "$(echo "$k / $o" | bc -l)"
done
echo
echo "| workload | ours, NTFS in a 100-link chain | ours, NTFS base alone | chain / base |"
echo "|---|---|---|---|"
for w in SEQ TREE; do
  c=$(measure ours mount_ours_ch "${!w}"); o=$(measure ours mount_ours_n "${!w}")
  printf '| %s | %.2f s | %.2f s | %.2f |\n' "$w" "$c" "$o" "$(echo "$c / $o" | bc -l)"
done
echo
echo "| restore with \`extract\` (to build/bench) | ours: vmdkmount extract | ntfs-3g / kernel mount + cp -a | ours / peer time (below 1: ours faster) |"
echo "|---|---|---|---|"
x() { rm -rf "$B/x"; mkdir -p "$B/x"; }
for fs in ntfs ext4; do
  img=$NV; raw=$NR; mfn=mount_ntfs3g; [ $fs = ext4 ] && { img=$EV; raw=$ER; mfn=mount_kernel_e; }
  for what in big.bin tree; do
    t=(); for _ in $(seq $runs); do x; drop; warm "$img"; s=$(now); vm extract "$img" "disk:/$what" "$B/x/" -q >/dev/null; e=$(now); t+=("$(echo "$e - $s" | bc -l)"); done
    o=$(printf '%s\n' "${t[@]}" | median)
    t=(); for _ in $(seq $runs); do x; umount_all; drop; dir=$($mfn); s=$(now); cp -a "$dir/$what" "$B/x/"; e=$(now); t+=("$(echo "$e - $s" | bc -l)"); umount_all; done
    p=$(printf '%s\n' "${t[@]}" | median)
    printf '| %s %s | %.2f s | %.2f s | %.2f |\n' "$fs" "$what" "$o" "$p" "$(echo "$o / $p" | bc -l)"
  done
done
rm -rf "$B/x"
echo
# antivirus scan of the tree through each mount (clamscan with a one-signature local database: no network)
printf 'bench-sig:0:*:%s\n' "$(printf 'VMDKMOUNT-BENCH-NEVER-PRESENT' | xxd -p)" > "$B/bench.ndb"
scan() { clamscan --no-summary -r -d "$B/bench.ndb" "$dir/tree" >/dev/null 2>&1 || true; }
o=$(measure ours mount_ours_n scan); n=$(measure ntfs3g mount_ntfs3g scan)
printf '| clamscan of the tree | ours %.2f s (%.0f files/s) | ntfs-3g %.2f s (%.0f files/s) | ours / ntfs-3g time %.2f (below 1: ours faster) |\n|---|---|---|---|\n\n' \
  "$o" "$(echo "$files / $o" | bc -l)" "$n" "$(echo "$files / $n" | bc -l)" "$(echo "$o / $n" | bc -l)"
o=$(mount_time mount_ours_n); n=$(mount_time mount_ntfs3g); c=$(mount_time mount_ours_ch)
printf '| mount time | ours NTFS VMDK %.3f s | ours 100-link chain %.3f s | ntfs-3g raw %.3f s |\n|---|---|---|---|\n' "$o" "$c" "$n"
umount_all; drop; dir=$(mount_ours_n); find "$dir/tree" -type f -print0 | xargs -0 cat > /dev/null; cat "$dir/big.bin" > /dev/null
pid=$(pgrep -f "vmdkmount.dll mount .*--foreground" | head -1 || true)
[ -n "$pid" ] && echo && echo "peak RSS of our mount after reading everything: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status)"
umount_all
} | tee "$out"
echo "written: $out"
