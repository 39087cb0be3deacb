#!/usr/bin/env bash
# End-to-end FUSE benchmark: our `vmdkmount mount` against its peers on the same images, in one run.
#   ntfs-3g on a raw copy of the NTFS volume
#   libyal vmdkmount (Debian libvmdk-utils, /usr/bin/vmdkmount) + loop device + ntfs-3g
#   qemu-storage-daemon FUSE export + loop device + ntfs-3g
#   the kernel's ext4 on a loop mount of a raw copy of the ext4 volume (against our ext4 reader)
# Measures: mount time, sequential read of a 1 GiB file (cold FUSE page cache, warm host page cache), reading a
# 20,000-file tree, find + ls -lR of it, clamscan files per second, peak RSS of the serving processes; and our
# mount of the top of a 100-link chain against its base alone.
# Usage (root): bash bench/fuse.sh [WORKDIR]   (default build/bench-fuse; images are kept there and reused)
# IMAGES_ONLY=1 builds the images and stops (for bench/ab-mount.sh).
# Writes the results between the fuse.sh markers in bench/RESULTS.md and prints them.
# BASELINE_DLL=path/to/vmdkmount.dll adds our rows again for another build (before/after a change), and MARK=name
# writes between the fuse-NAME markers instead, e.g.
#   BASELINE_DLL=/work/old/build/bin/VmdkMount.Cli/Release/net10.0/vmdkmount.dll MARK=cache-ab \
#   ONLY='^vmdkmount \((ours|baseline)\), NTFS p1 of base' bash bench/fuse.sh
set -euo pipefail
shopt -s inherit_errexit
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(realpath -m "${1:-$root/build/bench-fuse}")
[ "$(id -u)" = 0 ] || { echo "bench/fuse.sh: run as root (loop devices, ntfs-3g)" >&2; exit 2; }
mkdir -p "$work"
export TZ=UTC

MiB=$((1024 * 1024))
P1=$((1 * MiB)); S1=$((1600 * MiB))
P2=$((1601 * MiB)); S2=$((1600 * MiB))
DISK=$((3300 * MiB))
FILES=20000

dotnet build "$root/src/VmdkMount.Cli" -c Release -v quiet -nologo >/dev/null
ours_dll=$root/build/bin/VmdkMount.Cli/Release/net10.0/vmdkmount.dll
ours() { dotnet "$ours_dll" "$@"; }

img=$work/img
if [ ! -f "$img/.done" ]; then
  rm -rf "$img"; mkdir -p "$img/stage"
  echo "building images in $img (once)..." >&2
  # The staging tree: big.bin (1 GiB) and tree/ with $FILES files of 1-16 KiB in 200 folders.
  head -c $((1024 * MiB)) /dev/urandom > "$img/stage/big.bin"
  perl -e '
    my ($dir, $n) = @ARGV; srand(7);
    for my $i (0 .. $n - 1) {
      my $d = sprintf("%s/tree/d%03d", $dir, $i % 200); mkdir "$dir/tree"; mkdir $d;
      open(my $f, ">", sprintf("%s/file%05d.dat", $d, $i)) or die; binmode $f;
      my $len = 1024 + int(rand(15 * 1024)); my $s = "";
      $s .= pack("N", int(rand(4294967295))) for 1 .. int($len / 4); print $f $s; close $f;
    }' "$img/stage" $FILES
  truncate -s $S1 "$img/ntfs.img"
  mkntfs -q -F -Q -p $((P1 / 512)) -H 255 -S 63 -L Bench "$img/ntfs.img" >/dev/null 2>&1
  mkdir -p "$img/m"
  ntfs-3g "$img/ntfs.img" "$img/m"
  cp -r "$img/stage/big.bin" "$img/stage/tree" "$img/m/"
  umount "$img/m"
  truncate -s $S2 "$img/ext.img"
  mke2fs -q -t ext4 -d "$img/stage" "$img/ext.img"
  truncate -s $DISK "$img/disk.raw"
  printf 'label: dos\n%s\n%s\n' "start=$((P1 / 512)), size=$((S1 / 512)), type=7" "start=$((P2 / 512)), size=$((S2 / 512)), type=83" \
    | sfdisk -q "$img/disk.raw"
  dd if="$img/ntfs.img" of="$img/disk.raw" bs=1M seek=$((P1 / MiB)) conv=notrunc,sparse status=none
  dd if="$img/ext.img" of="$img/disk.raw" bs=1M seek=$((P2 / MiB)) conv=notrunc,sparse status=none
  qemu-img convert -q -f raw -O vmdk "$img/disk.raw" "$img/base.vmdk"
  # 100 links on top of the base, each holding one 64 KiB grain past the partitions.
  prev=base.vmdk
  for i in $(seq -w 1 100); do
    n=$((10#$i))
    qemu-img create -q -f vmdk -b "$prev" -F vmdk "$img/link$i.vmdk" $DISK
    qemu-io -f vmdk -c "write -q -P $((n + 16)) $((P2 + S2 + n * 65536)) 65536" "$img/link$i.vmdk" >/dev/null
    prev=link$i.vmdk
  done
  mv "$img/ntfs.img" "$img/p1.raw"; mv "$img/ext.img" "$img/p2.raw"
  rm -rf "$img/stage" "$img/m" "$img/disk.raw"
  touch "$img/.done"
fi
[ -z "${IMAGES_ONLY:-}" ] || exit 0
if [ ! -f "$img/bench.hdb" ]; then
  printf '%s:%s:Bench.Test.Sig\n' "$(printf 'not in the tree' | md5sum | cut -d' ' -f1)" 15 > "$img/bench.hdb"
fi

mnt=$work/mnt; aux=$work/aux; state=$work/state
mkdir -p "$mnt" "$aux" "$state"
loop=""; pids=""; backing=""

now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc -l; }
fmt() { printf '%.2f' "$1"; }
warm() { cat $backing > /dev/null; }
peak_rss_mib() { local t=0; for p in $pids; do t=$((t + $(awk '/VmHWM/ {print $2}' /proc/$p/status 2>/dev/null || echo 0))); done; echo $((t / 1024)); }

# mount_<name>: mounts the volume root at $mnt, sets $pids (serving processes) and $backing (host files read).
mount_ours() {
  ours mount "$1" "$mnt" --volume "$2" --state-dir "$state" "${@:3}" >/dev/null
  pids=$(cat "$state"/*.json | grep -o '"Pid":[0-9]*' | head -1 | cut -d: -f2)
  backing=$(ls "$img"/*.vmdk)
}
umount_ours() { ours unmount "$mnt" --state-dir "$state" >/dev/null; }
mount_baseline() {
  dotnet "$BASELINE_DLL" mount "$1" "$mnt" --volume "$2" --state-dir "$state" "${@:3}" >/dev/null
  pids=$(cat "$state"/*.json | grep -o '"Pid":[0-9]*' | head -1 | cut -d: -f2)
  backing=$(ls "$img"/*.vmdk)
}
umount_baseline() { dotnet "$BASELINE_DLL" unmount "$mnt" --state-dir "$state" >/dev/null; }
mount_ntfs3g() {
  ntfs-3g -o ro "$img/p1.raw" "$mnt"
  pids=$(pgrep -f "ntfs-3g -o ro $img/p1.raw" | head -1); backing=$img/p1.raw
}
umount_ntfs3g() { umount "$mnt"; }
mount_libyal() {
  /usr/bin/vmdkmount "$img/base.vmdk" "$aux" >/dev/null
  for _ in $(seq 100); do [ -e "$aux/vmdk1" ] && break; sleep 0.05; done
  loop=$(losetup -r -f --show -o $P1 --sizelimit $S1 "$aux/vmdk1")
  ntfs-3g -o ro "$loop" "$mnt"
  pids="$(pgrep -f "/usr/bin/vmdkmount $img/base.vmdk" | head -1) $(pgrep -f "ntfs-3g -o ro $loop" | head -1)"; backing=$img/base.vmdk
}
umount_libyal() { umount "$mnt"; losetup -d "$loop"; umount "$aux"; }
mount_qsd() {
  rm -f "$work/qsd.img" "$work/qsd.pid"; touch "$work/qsd.img"
  qemu-storage-daemon --daemonize --pidfile "$work/qsd.pid" \
    --blockdev driver=file,node-name=f,filename="$img/base.vmdk",read-only=on \
    --blockdev driver=vmdk,node-name=d,file=f,read-only=on \
    --export type=fuse,id=e,node-name=d,mountpoint="$work/qsd.img",writable=off
  for _ in $(seq 200); do [ "$(stat -c %s "$work/qsd.img")" -ge $DISK ] && break; sleep 0.05; done
  loop=$(losetup -r -f --show -o $P1 --sizelimit $S1 "$work/qsd.img")
  ntfs-3g -o ro "$loop" "$mnt"
  pids="$(cat "$work/qsd.pid") $(pgrep -f "ntfs-3g -o ro $loop" | head -1)"; backing=$img/base.vmdk
}
umount_qsd() {
  local qsd; qsd=$(cat "$work/qsd.pid")
  umount "$mnt"; losetup -d "$loop"; kill "$qsd"
  for _ in $(seq 200); do kill -0 "$qsd" 2>/dev/null || break; sleep 0.05; done
}
mount_kernel() { mount -o ro,loop,noload "$img/p2.raw" "$mnt"; pids=""; backing=$img/p2.raw; }
umount_kernel() { umount "$mnt"; }

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# The contenders: label|KIND (ours|ntfs3g|libyal|qsd|kernel)|args for mount_KIND...
CONTENDERS=(
  "vmdkmount (ours), NTFS p1 of base.vmdk|ours|$img/base.vmdk|p1"
  "vmdkmount (ours) --direct-io, NTFS p1 of base.vmdk|ours|$img/base.vmdk|p1|--direct-io"
  "vmdkmount (ours) --threads 1, NTFS p1 of base.vmdk|ours|$img/base.vmdk|p1|--threads|1"
  "ntfs-3g on a raw copy of the volume|ntfs3g"
  "libyal vmdkmount + loop + ntfs-3g|libyal"
  "qemu-storage-daemon FUSE export + loop + ntfs-3g|qsd"
  "vmdkmount (ours), NTFS p1 of link100.vmdk (100-link chain)|ours|$img/link100.vmdk|p1"
  "vmdkmount (ours) --direct-io, NTFS p1 of link100.vmdk (100-link chain)|ours|$img/link100.vmdk|p1|--direct-io"
  "vmdkmount (ours), ext4 p2 of base.vmdk|ours|$img/base.vmdk|p2"
  "vmdkmount (ours) --direct-io, ext4 p2 of base.vmdk|ours|$img/base.vmdk|p2|--direct-io"
  "kernel ext4, loop mount of a raw copy of the volume|kernel"
)
if [ -n "${BASELINE_DLL:-}" ]; then
  CONTENDERS+=(
    "vmdkmount (baseline), NTFS p1 of base.vmdk|baseline|$img/base.vmdk|p1"
    "vmdkmount (baseline), NTFS p1 of link100.vmdk (100-link chain)|baseline|$img/link100.vmdk|p1"
    "vmdkmount (baseline), ext4 p2 of base.vmdk|baseline|$img/base.vmdk|p2"
  )
fi
begin_mark="<!-- fuse${MARK:+-$MARK}.sh begin -->"; end_mark="<!-- fuse${MARK:+-$MARK}.sh end -->"
# ONLY=REGEX keeps the contenders whose label matches (e.g. ONLY='direct-io|ntfs-3g on').
if [ -n "${ONLY:-}" ]; then
  kept=(); for c in "${CONTENDERS[@]}"; do [[ "${c%%|*}" =~ $ONLY ]] && kept+=("$c"); done; CONTENDERS=("${kept[@]}")
fi
SEQ_ROUNDS=${SEQ_ROUNDS:-5}
declare -A SEQ=() SEQ_RSS=()

# Sequential 1 GiB read, cold FUSE (fresh mount), warm host page cache: one read per contender, in turn. Rounds go
# round-robin over the contenders so that a slow spell of this VM (single runs vary 2-3x: the first touch of guest
# memory is slow) lands on all of them rather than on one row.
seq_round() {
  local c parts label kind t r
  for c in "${CONTENDERS[@]}"; do
    IFS='|' read -r -a parts <<< "$c"
    label=${parts[0]}; kind=${parts[1]}
    "mount_$kind" "${parts[@]:2}"; warm
    t=$(now); cat "$mnt/big.bin" > /dev/null; SEQ[$label]+=" $(echo "1024 / ($(elapsed "$t"))" | bc -l)"
    r=$(peak_rss_mib); [ "$r" -gt "${SEQ_RSS[$label]:-0}" ] && SEQ_RSS[$label]=$r
    "umount_$kind"
  done
}

# One contender's row: label, KIND, then args for mount_KIND. Mount time is the median of 3 fresh mounts, seq the
# median of the rounds above; the tree measurements run once.
measure() {
  local label=$1 kind=$2; shift 2
  local t mount_s seq_mbs list_s tree_s clam_fps rss=${SEQ_RSS[$label]:-0} r i samples
  # mount time (to the first listing of the root), host page cache warm
  samples=()
  for i in 1 2 3; do
    warm; t=$(now); "mount_$kind" "$@"; ls "$mnt" > /dev/null; samples+=("$(elapsed "$t")")
    r=$(peak_rss_mib); [ "$r" -gt "$rss" ] && rss=$r
    "umount_$kind"
  done
  mount_s=$(median "${samples[@]}")
  read -r -a samples <<< "${SEQ[$label]}"
  seq_mbs=$(median "${samples[@]}")
  printf '  %s: seq MB/s samples %s\n' "$label" "$(printf '%.0f ' "${samples[@]}")" >&2
  "mount_$kind" "$@"
  # find + ls -lR of the tree
  warm
  t=$(now); find "$mnt/tree" > /dev/null; ls -lR "$mnt/tree" > /dev/null; list_s=$(elapsed "$t")
  # read every file of the tree
  "umount_$kind"; "mount_$kind" "$@"; warm
  t=$(now); (cd "$mnt/tree" && find . -type f -print0 | xargs -0 cat > /dev/null); tree_s=$(elapsed "$t")
  r=$(peak_rss_mib); [ "$r" -gt "$rss" ] && rss=$r
  # clamscan (hash signatures only: measures the reading path, not the scanner's pattern engine)
  "umount_$kind"; "mount_$kind" "$@"; warm
  t=$(now); r=0; clamscan --no-summary -d "$img/bench.hdb" -r "$mnt/tree" > /dev/null || r=$?
  [ "$r" -le 1 ] || { echo "clamscan failed ($r)" >&2; exit 1; }
  clam_fps=$(echo "$FILES / ($(elapsed "$t"))" | bc -l)
  r=$(peak_rss_mib); [ "$r" -gt "$rss" ] && rss=$r
  "umount_$kind"
  local rss_text="$rss"; [ -z "$pids" ] && rss_text="(kernel)"
  local row
  row=$(printf '| %s | %s | %.0f | %s | %s | %.0f | %s |' "$label" "$(fmt "$mount_s")" "$seq_mbs" "$(fmt "$list_s")" "$(fmt "$tree_s")" "$clam_fps" "$rss_text")
  echo "$row"; echo "$row" >&2
}

cleanup() {
  mountpoint -q "$mnt" && umount -l "$mnt" || true
  mountpoint -q "$aux" && umount -l "$aux" || true
  [ -n "$loop" ] && losetup -d "$loop" 2>/dev/null || true
}
trap cleanup EXIT

# Warm-up (not reported): the first contender of a run used to come out slowest whatever it was (runtime files,
# backing files and JIT not yet warm), so one of our mounts reads everything once first.
mount_ours "$img/base.vmdk" p1; cat "$mnt/big.bin" > /dev/null; (cd "$mnt/tree" && find . -type f -print0 | xargs -0 cat > /dev/null); umount_ours

rows=$(
  for ((round = 0; round < SEQ_ROUNDS; round++)); do seq_round; done
  for c in "${CONTENDERS[@]}"; do IFS='|' read -r -a parts <<< "$c"; measure "${parts[@]}"; done
)

report=$(cat <<TXT
$begin_mark
## FUSE mount (bench/fuse.sh${MARK:+, $MARK})

Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) vCPUs, $(uname -r), libfuse $(dpkg-query -W -f='${Version}' libfuse3-3 2>/dev/null), .NET $(dotnet --version).
Images: MBR disk, NTFS p1 and ext4 p2 (1600 MiB each), each holding big.bin (1 GiB random) and tree/ ($FILES files,
1-16 KiB, 200 folders); base.vmdk is qemu-img's monolithicSparse, link001..link100 each add one grain.
Every measurement starts from a fresh mount (cold FUSE page cache) after reading the backing files once (warm host
page cache). Times in seconds; "seq" is MB/s reading big.bin with cat; RSS is the peak (VmHWM) of the serving
processes in MiB. Mount time is the median of 3 fresh mounts, seq the median of 5 rounds (each round reads once with every
contender in turn), the tree columns one run each, on a 2-vCPU
VM (load average at the end of the run: $(cut -d' ' -f1-3 /proc/loadavg); DAMON pageout: $(cat /sys/kernel/mm/damon/admin/kdamonds/0/state 2>/dev/null || echo none)); compare rows within one run only.

| contender | mount s | seq MB/s | find + ls -lR s | read tree s | clamscan files/s | peak RSS MiB |
|---|---|---|---|---|---|---|
$rows
$end_mark
TXT
)
echo "$report"
results=$root/bench/RESULTS.md
[ -f "$results" ] || printf '# Benchmark results\n\n' > "$results"
awk -v report="$report" -v begin="$begin_mark" -v end="$end_mark" '
  $0 == begin { skip = 1; print report; done = 1; next }
  $0 == end { skip = 0; next }
  !skip { print }
  END { if (!done) print "\n" report }' "$results" > "$results.tmp" && mv "$results.tmp" "$results"
