#!/usr/bin/env bash
# Before/after of a change on the FUSE mount: find + ls -lR of the 20,000-file tree, reading every file of it, and
# the mount's peak RSS, alternating two builds of ours round by round (single runs on this VM vary 2x; take medians).
# Uses the images of bench/fuse.sh (run it once first).
# Usage (root): bash bench/ab-mount.sh OLD.dll NEW.dll [ROUNDS]   (VOL=p2 for ext4, DISK=link100.vmdk for the chain)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
img=$root/build/bench-fuse/img
[ -f "$img/.done" ] || { echo "bench/ab-mount.sh: run bench/fuse.sh once first (it builds the images)" >&2; exit 2; }
work=$(mktemp -d); mnt=$work/mnt; state=$work/state
mkdir -p $mnt $state
trap 'mountpoint -q $mnt && umount -l $mnt; rm -rf $work' EXIT
declare -A DLL=([old]=$1 [new]=$2)
vol=${VOL:-p1}; disk=${DISK:-base.vmdk}
for ((round = 0; round < ${3:-5}; round++)); do
  for k in old new; do
    dotnet ${DLL[$k]} mount $img/$disk $mnt --volume $vol --state-dir $state >/dev/null
    cat $img/*.vmdk > /dev/null
    t=$(date +%s.%N); find $mnt/tree > /dev/null; ls -lR $mnt/tree > /dev/null; t1=$(date +%s.%N)
    dotnet ${DLL[$k]} unmount $mnt --state-dir $state >/dev/null
    dotnet ${DLL[$k]} mount $img/$disk $mnt --volume $vol --state-dir $state >/dev/null
    t2=$(date +%s.%N); (cd $mnt/tree && find . -type f -print0 | xargs -0 cat > /dev/null); t3=$(date +%s.%N)
    pid=$(cat $state/*.json | grep -o '"Pid":[0-9]*' | head -1 | cut -d: -f2); rss=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
    dotnet ${DLL[$k]} unmount $mnt --state-dir $state >/dev/null
    printf '%s list %.2f tree %.2f rss %d\n' $k $(echo "$t1 - $t" | bc) $(echo "$t3 - $t2" | bc) $((rss / 1024))
  done
done
