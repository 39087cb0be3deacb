#!/usr/bin/env bash
# Footprint of the install issue: start-up of `--version` and `volumes`, time until a mount is ready, peak RSS of a
# mount after reading a 20,000-file tree and of an idle mount, and 20 concurrent mounts of the demo chain with their
# total RSS: the Native AOT binary against the JIT build (dotnet vmdkmount.dll), and ntfs-3g on the same NTFS tree.
# Alternating rounds, medians. Usage (root): bash bench/footprint.sh [ROUNDS]   (default 7)
# Needs build/package/vmdkmount (bash install/package.sh) and the JIT build; images are kept in build/bench-footprint.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-7}
work=$root/build/bench-footprint
aot=$root/build/package/vmdkmount
jit_dll=$root/build/bin/VmdkMount.Cli/Release/net10.0/vmdkmount.dll
demo=$root/images/demo/demo-000002.vmdk
[ "$(id -u)" = 0 ] || { echo "bench/footprint.sh: run as root (FUSE, loop devices)" >&2; exit 2; }
[ -x "$aot" ] || [ -n "${PREPARE_ONLY:-}" ] || { echo "bench/footprint.sh: $aot missing: run bash install/package.sh" >&2; exit 2; }
[ -f "$jit_dll" ] || dotnet build "$root/src/VmdkMount.Cli" -c Release -v quiet -nologo >/dev/null
mkdir -p "$work"
export TZ=UTC VMDKMOUNT_STATE_DIR=$work/state

# The tree: 20,000 files of 1-16 KiB in 200 folders, as bench/fuse.sh makes it, on ext4 (mke2fs -d) and on NTFS
# (mkntfs + ntfs-3g), each wrapped as a monolithicSparse VMDK by qemu-img.
if [ ! -f "$work/.done" ]; then
  rm -rf "$work/stage" "$work"/*.img "$work"/*.vmdk; mkdir -p "$work/stage/tree"
  perl -e 'srand(7); for my $d (0..199) { mkdir "$ARGV[0]/d$d"; for my $f (0..99) { open my $h, ">", "$ARGV[0]/d$d/f$f.dat";
    print $h chr(65 + ($d + $f) % 26) x (1024 + int(rand(15 * 1024))); close $h } }' "$work/stage/tree"
  truncate -s 512M "$work/ext.img"; mke2fs -q -t ext4 -d "$work/stage" "$work/ext.img"
  truncate -s 512M "$work/ntfs.img"; mkntfs -q -F -f "$work/ntfs.img" >/dev/null
  mkdir -p "$work/m"; ntfs-3g "$work/ntfs.img" "$work/m"; cp -r "$work/stage/tree" "$work/m/"; umount "$work/m"
  qemu-img convert -f raw -O vmdk "$work/ext.img" "$work/ext.vmdk"
  qemu-img convert -f raw -O vmdk "$work/ntfs.img" "$work/ntfs.vmdk"
  touch "$work/.done"
fi
[ "$(find "$work/stage/tree" -type f | wc -l)" = 20000 ] || { echo "tree is not 20,000 files" >&2; exit 1; }
[ -z "${PREPARE_ONLY:-}" ] || exit 0

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
hwm_mib() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
mount_pid() { grep -ho '"Pid":[0-9]*' "$VMDKMOUNT_STATE_DIR"/*.json | head -1 | cut -d: -f2; }
run_aot() { "$aot" "$@"; }
run_jit() { dotnet "$jit_dll" "$@"; }

declare -A T=()
add() { T[$1]="${T[$1]:-} $2"; }
mnt=$work/mnt; mkdir -p "$mnt"
for ((r = 1; r <= rounds; r++)); do
  for who in aot jit; do
    add "$who version" "$(ms run_$who --version)"
    add "$who volumes" "$(ms run_$who volumes "$demo")"
    add "$who mount" "$(ms run_$who mount "$demo" "$mnt")"
    pid=$(mount_pid); sleep 0.5; add "$who idle-rss" "$(rss_mib "$pid")"
    run_$who unmount "$mnt" >/dev/null
    for fs in ext ntfs; do
      run_$who mount "$work/$fs.vmdk" "$mnt" >/dev/null; pid=$(mount_pid)
      find "$mnt/disk/tree" -type f -print0 | xargs -0 cat > /dev/null
      add "$who $fs tree-rss" "$(hwm_mib "$pid")"
      run_$who unmount "$mnt" >/dev/null
    done
  done
  # ntfs-3g on the same NTFS image: ready time, idle RSS and RSS after the tree read
  s=$(date +%s%N); ntfs-3g -o ro "$work/ntfs.img" "$mnt"; e=$(date +%s%N); add "ntfs-3g mount" $(((e - s) / 1000000))
  pid=$(pgrep -n -f "ntfs-3g -o ro $work/ntfs.img"); add "ntfs-3g idle-rss" "$(rss_mib "$pid")"
  find "$mnt/tree" -type f -print0 | xargs -0 cat > /dev/null
  add "ntfs-3g ntfs tree-rss" "$(hwm_mib "$pid")"; umount "$mnt"
done

echo "## Footprint (bench/footprint.sh $rounds), $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1 /proc/loadavg)"
echo
echo "| What | AOT binary | JIT (dotnet vmdkmount.dll) | ntfs-3g |"
echo "|---|---|---|---|"
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"; }
m() { [ -n "${T[$1]:-}" ] && echo ${T[$1]} | tr ' ' '\n' | median || echo -; }
row "\`--version\` (ms)" "$(m 'aot version')" "$(m 'jit version')" -
row "\`volumes\` of the demo chain (ms)" "$(m 'aot volumes')" "$(m 'jit volumes')" -
row "\`mount\` until ready (ms; demo chain / ntfs-3g on the NTFS image)" "$(m 'aot mount')" "$(m 'jit mount')" "$(m 'ntfs-3g mount')"
row "idle mount RSS (MiB)" "$(m 'aot idle-rss')" "$(m 'jit idle-rss')" "$(m 'ntfs-3g idle-rss')"
row "peak RSS after reading the 20,000-file tree, ext4 (MiB)" "$(m 'aot ext tree-rss')" "$(m 'jit ext tree-rss')" -
row "peak RSS after reading the 20,000-file tree, NTFS (MiB)" "$(m 'aot ntfs tree-rss')" "$(m 'jit ntfs tree-rss')" "$(m 'ntfs-3g ntfs tree-rss')"

# 20 concurrent mounts of the demo chain (AOT), each read once, then their total RSS.
pids=()
for i in $(seq 1 20); do
  mkdir -p "$work/many/$i"
  VMDKMOUNT_STATE_DIR=$work/state-many "$aot" mount "$demo" "$work/many/$i" >/dev/null
  cat "$work/many/$i/p2/home/bob/changelog.txt" > /dev/null
done
total=0
for f in "$work"/state-many/*.json; do p=$(grep -o '"Pid":[0-9]*' "$f" | cut -d: -f2); total=$(awk -v t=$total -v k="$(awk '/VmRSS/ {print $2}' /proc/$p/status)" 'BEGIN {print t + k}'); done
echo
echo "20 concurrent AOT mounts of the demo chain, each read once: total RSS $(awk -v t=$total 'BEGIN {printf "%.1f", t / 1024}') MiB ($(awk -v t=$total 'BEGIN {printf "%.1f", t / 1024 / 20}') MiB each)"
for i in $(seq 1 20); do VMDKMOUNT_STATE_DIR=$work/state-many "$aot" unmount "$work/many/$i" >/dev/null; done
