#!/usr/bin/env bash
# Mount time and first `ls` of a 120-link chain over HTTP from nginx on loopback (issue 12's goal: under 2 s),
# against the same chain mounted from its local path. The base is a small ext4 volume (mke2fs -d); each child
# allocates one grain (qemu-io writes zeros over blocks the filesystem does not use), so every link has a grain
# table and the open must read every link's header and descriptor. Alternating rounds, medians.
# Usage (root: FUSE): bench/http-chain.sh [ROUNDS] [LINKS]   (defaults 5 rounds, 120 links; chain kept in build/bench/http-chain)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
links=${2:-120}
work=$PWD/build/bench/http-chain
mkdir -p "$work/www" "$work/nginx/logs" "$work/nginx/tmp" "$work/mnt" "$work/state"
dotnet build -c Release src/VmdkMount.Cli -v quiet -nologo >/dev/null
jit=(dotnet "$PWD/build/bin/VmdkMount.Cli/Release/net10.0/vmdkmount.dll")
aot=$PWD/build/package/vmdkmount
export VMDKMOUNT_STATE_DIR=$work/state

top=$(printf 'link-%03d.vmdk' "$links")
if [ ! -f "$work/www/.complete-$links" ]; then
  rm -rf "$work/www" "$work/stage"; mkdir -p "$work/www" "$work/stage/docs"
  for i in $(seq 1 50); do echo "file $i" > "$work/stage/docs/f$i.txt"; done
  truncate -s 64M "$work/base.raw"; mke2fs -q -t ext4 -d "$work/stage" "$work/base.raw"
  qemu-img convert -q -f raw -O vmdk "$work/base.raw" "$work/www/link-000.vmdk"
  for i in $(seq 1 "$links"); do
    prev=$(printf 'link-%03d.vmdk' $((i - 1))); cur=$(printf 'link-%03d.vmdk' "$i")
    (cd "$work/www" && qemu-img create -q -f vmdk -b "$prev" -F vmdk "$cur" \
      && qemu-io -f vmdk -c "write -q -P 0 $((60 << 20)) 4k" "$cur" >/dev/null)
  done
  rm -rf "$work/base.raw" "$work/stage"
  touch "$work/www/.complete-$links"
fi
[ "$(qemu-img info --backing-chain "$work/www/$top" | grep -c '^image:')" = $((links + 1)) ] \
  || { echo "the chain is not $links links deep" >&2; exit 1; }

. bench/nginx.sh
nginx_start "$work" "$work/www"
stop() {
  mountpoint -q "$work/mnt" && "${jit[@]}" unmount "$work/mnt" >/dev/null 2>&1 || true
  nginx_stop "$work"
}
trap stop EXIT
url="http://127.0.0.1:$port/$top"

# seconds from the mount command's start until the first listing of the volume's folder has returned
mount_ls() {
  local s e; s=$(date +%s%N)
  "${@:2}" mount "$1" "$work/mnt" >/dev/null
  [ "$(ls "$work/mnt/disk/docs" | wc -l)" = 50 ] || { echo "the volume does not list its 50 files" >&2; exit 1; }
  e=$(date +%s%N)
  "${@:2}" unmount "$work/mnt" >/dev/null
  echo "scale=3; ($e - $s) / 1000000000" | bc
}
declare -A T=()
add() { T[$1]="${T[$1]:-} $2"; }
for r in $(seq 1 "$rounds"); do
  add "jit http" "$(mount_ls "$url" "${jit[@]}")"
  add "jit local" "$(mount_ls "$work/www/$top" "${jit[@]}")"
  if [ -x "$aot" ]; then
    add "aot http" "$(mount_ls "$url" "$aot")"
    add "aot local" "$(mount_ls "$work/www/$top" "$aot")"
  fi
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
m() { echo "${T[$1]:-}" | median | awk '{printf "%.3f", $1}'; }
echo "## 120-link chain over HTTP (bench/http-chain.sh $rounds $links), $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1 /proc/loadavg)"
echo
echo "| Build | mount + first ls over HTTP (s) | the same from the local path (s) | goal |"
echo "|---|---:|---:|---|"
echo "| JIT (dotnet vmdkmount.dll) | $(m 'jit http') | $(m 'jit local') | under 2 s |"
[ -x "$aot" ] && echo "| native (build/package/vmdkmount) | $(m 'aot http') | $(m 'aot local') | under 2 s |"
echo
