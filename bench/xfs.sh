#!/usr/bin/env bash
# XFS restore speed: `vmdkmount extract` of a 1 GiB file and of a 20,000-file tree from an XFS volume in a VMDK,
# against the kernel's XFS on a loop mount of the same image + `cp -a`; and a FUSE tree read (find | xargs cat)
# through `vmdkmount mount` against the same read on the kernel mount. Fresh mount per round (the kernel's and
# ours), host page cache warm for the image files, alternating rounds, medians.
# Usage (root): bash bench/xfs.sh [ROUNDS]   (default 5; images kept in build/bench-xfs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-5}
work=$root/build/bench-xfs
[ "$(id -u)" = 0 ] || { echo "bench/xfs.sh: run as root (loop mounts, FUSE)" >&2; exit 2; }
dotnet build "$root/src/VmdkMount.Cli" -c Release -v quiet -nologo >/dev/null
dll=$root/build/bin/VmdkMount.Cli/Release/net10.0/vmdkmount.dll
ours() { dotnet "$dll" "$@"; }
export TZ=UTC VMDKMOUNT_STATE_DIR=$work/state
mkdir -p "$work"
img=$work/xfs.img vmdk=$work/xfs.vmdk kmnt=$work/kernel omnt=$work/ours dest=$work/dest
mkdir -p "$kmnt" "$omnt"
cleanup() { mountpoint -q "$kmnt" && umount "$kmnt"; mountpoint -q "$omnt" && ours unmount "$omnt" >/dev/null; rm -rf "$dest"; }
trap cleanup EXIT

if [ ! -f "$work/.done" ]; then
  echo "building the XFS image in $work (once)..." >&2
  rm -rf "$work/stage"; mkdir -p "$work/stage/tree"
  head -c $((1024 << 20)) /dev/urandom > "$work/stage/big.bin"
  perl -e 'srand(7); for my $d (0..199) { mkdir "$ARGV[0]/d$d"; for my $f (0..99) { open my $h, ">", "$ARGV[0]/d$d/f$f.dat";
    print $h chr(65 + ($d + $f) % 26) x (1024 + int(rand(15 * 1024))); close $h } }' "$work/stage/tree"
  rm -f "$img"; truncate -s 2G "$img"; mkfs.xfs -q -f "$img"
  mount -o loop "$img" "$kmnt"; cp -a "$work/stage/tree" "$work/stage/big.bin" "$kmnt/"; umount "$kmnt"
  qemu-img convert -f raw -O vmdk "$img" "$vmdk"
  rm -rf "$work/stage"
  touch "$work/.done"
fi

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
secs() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo "scale=3; ($e - $s) / 1000000000" | bc; }
declare -A T=()
add() { T[$1]="${T[$1]:-} $2"; }
tree_read() { find "$1" -type f -print0 | xargs -0 cat > /dev/null; }

for ((r = 1; r <= rounds; r++)); do
  # kernel XFS + cp -a
  rm -rf "$dest"; mkdir -p "$dest"
  mount -o ro,loop "$img" "$kmnt"; add "kernel tree" "$(secs cp -a "$kmnt/tree" "$dest/")"; umount "$kmnt"
  mount -o ro,loop "$img" "$kmnt"; add "kernel big" "$(secs cp -a "$kmnt/big.bin" "$dest/")"; umount "$kmnt"
  mount -o ro,loop "$img" "$kmnt"; add "kernel fuse-tree" "$(secs tree_read "$kmnt/tree")"; umount "$kmnt"
  [ "$(find "$dest/tree" -type f | wc -l)" = 20000 ] || { echo "kernel copy is not 20,000 files" >&2; exit 1; }
  # ours
  rm -rf "$dest"; mkdir -p "$dest"
  add "ours tree" "$(secs ours extract "$vmdk" disk:/tree "$dest" -q)"
  add "ours big" "$(secs ours extract "$vmdk" disk:/big.bin "$dest" -q)"
  ours mount "$vmdk" "$omnt" >/dev/null; add "ours fuse-tree" "$(secs tree_read "$omnt/disk/tree")"; ours unmount "$omnt" >/dev/null
  [ "$(find "$dest/tree" -type f | wc -l)" = 20000 ] || { echo "our extract is not 20,000 files" >&2; exit 1; }
done
m() { echo ${T[$1]} | tr ' ' '\n' | median; }
echo "## XFS (bench/xfs.sh $rounds), $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1 /proc/loadavg)"
echo
echo "| Work | kernel XFS (s) | vmdkmount (s) | ours / kernel | goal |"
echo "|---|---:|---:|---:|---|"
for k in "tree:20,000-file tree (extract vs cp -a):1.2" "big:1 GiB file (extract vs cp -a):1.5" "fuse-tree:tree read through the mount (find, xargs cat):-"; do
  IFS=: read -r key label goal <<<"$k"
  kt=$(m "kernel $key"); ot=$(m "ours $key")
  printf '| %s | %s | %s | %.2fx | %s |\n' "$label" "$kt" "$ot" "$(echo "scale=4; $ot / $kt" | bc)" "$([ "$goal" = - ] && echo "as bench/fuse.sh for ext4" || echo "at most ${goal}x")"
done
