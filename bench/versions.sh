#!/usr/bin/env bash
# `versions` of one file in a 120-link chain (issue 15's goal: under 0.5 s), alternating rounds, medians.
# The chain: base.vmdk of images/points-ext.sh (the test suite's cached build, or made here) and 119 qemu-img children
# on top, child N writing 4 KiB of byte N into the data of /big.bin (found with debugfs on the raw partition), so each
# link changes that file and no other; cached under build/bench-versions. Measured: `versions` of /big.bin (every
# link wrote it: decided by its bytes) and of /keep/k3.txt (no link wrote it: decided from the allocation), and
# `info` of the same chain (process start and chain open) to set them against.
# Usage (root): bash bench/versions.sh [ROUNDS]   (default 5; BIN=path/to/vmdkmount for the native binary)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-5}
work=$root/build/bench-versions
if [ -n "${BIN:-}" ]; then cli=("$(realpath "$BIN")"); else
  dotnet build "$root/src/VmdkMount.Cli" -c Release -v quiet -nologo >/dev/null
  cli=(dotnet "$root/build/bin/VmdkMount.Cli/Release/net10.0/vmdkmount.dll")
fi
if [ ! -f "$work/.done" ]; then
  rm -rf "$work"; mkdir -p "$work"
  src=$(ls -d "$root"/build/test-images/points-ext-*/ 2>/dev/null | head -1)
  if [ -z "$src" ]; then src=$work/src; mkdir -p "$src"; bash "$root/images/points-ext.sh" "$src"; fi
  cp "$src/base.vmdk" "$work/base.vmdk"
  qemu-img convert -q -O raw "$work/base.vmdk" "$work/disk.raw"
  MiB=$((1024 * 1024))
  dd if="$work/disk.raw" of="$work/p1.raw" bs=1M skip=1 count=32 status=none   # p1 of points-ext.sh: 1 MiB, 32 MiB
  bs=$(dumpe2fs -h "$work/p1.raw" 2>/dev/null | awk -F: '/^Block size/ { print $2 + 0 }')
  blk=$(debugfs -R "bmap /big.bin 0" "$work/p1.raw" 2>/dev/null)
  [ "$blk" -gt 0 ] || { echo "no block for /big.bin" >&2; exit 1; }
  off=$((MiB + blk * bs))
  rm -f "$work/disk.raw" "$work/p1.raw"
  prev=base.vmdk
  for i in $(seq -w 1 119); do
    n=$((10#$i))
    (cd "$work" && qemu-img create -q -f vmdk -b "$prev" -F vmdk "child-$i.vmdk" \
      && qemu-io -f vmdk -c "write -q -P $n $((off + (n % 256) * 4096)) 4096" "child-$i.vmdk" > /dev/null)
    prev=child-$i.vmdk
  done
  [ "$(qemu-img info --backing-chain "$work/child-119.vmdk" | grep -c '^image:')" = 120 ] || { echo "chain is not 120 links" >&2; exit 1; }
  touch "$work/.done"
fi
top=$work/child-119.vmdk
secs() { local t; t=$(date +%s.%N); "$@" > /dev/null; echo "$(date +%s.%N) - $t" | bc -l; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
changed=$("${cli[@]}" versions "$top" p1:/big.bin | grep -c changed || true)
B=(); K=(); N=()
for ((i = 0; i < rounds; i++)); do
  B+=("$(secs "${cli[@]}" versions "$top" p1:/big.bin)")
  K+=("$(secs "${cli[@]}" versions "$top" p1:/keep/k3.txt)")
  N+=("$(secs "${cli[@]}" info "$top")")
done
echo "120-link chain, $rounds alternating rounds, load $(cut -d' ' -f1-3 /proc/loadavg), ${BIN:+native }build; /big.bin: $changed versions marked changed"
printf '| command | wall s (median) |\n|---|---:|\n'
printf '| versions child-119.vmdk p1:/big.bin (every link wrote it) | %.3f |\n' "$(median "${B[@]}")"
printf '| versions child-119.vmdk p1:/keep/k3.txt (no link wrote it) | %.3f |\n' "$(median "${K[@]}")"
printf '| info child-119.vmdk (start and chain open) | %.3f |\n' "$(median "${N[@]}")"
