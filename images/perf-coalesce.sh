#!/usr/bin/env bash
# Grains laid out for the coalesced sparse read path, made by qemu-io, flattened by qemu-img convert as the oracle:
# base.vmdk has runs of grains stored back to back in the file, grains written out of order (adjacent on the disk
# but not in the file) and a partial grain; child.vmdk (over base) owns single grains inside those runs.
set -euo pipefail
out=${1:?usage: perf-coalesce.sh OUTDIR}
cd "$out"
w() { local f=$1; shift; local args=(); for c in "$@"; do args+=(-c "$c"); done; qemu-io -f vmdk "${args[@]}" "$f" >/dev/null; }
qemu-img create -q -f vmdk -o subformat=monolithicSparse base.vmdk 40M
w base.vmdk 'write -P 0x01 4M 1M' 'write -P 0x02 0 1M' 'write -P 0x03 2M 64k' 'write -P 0x04 1088k 64k' \
  'write -P 0x05 1M 64k' 'write -P 0x06 3145828 5000' 'write -P 0x07 32704k 1M' 'write -P 0x08 1152k 640k'
qemu-img create -q -f vmdk -b base.vmdk -F vmdk child.vmdk
w child.vmdk 'write -P 0x11 64k 64k' 'write -P 0x12 192k 128k' 'write -P 0x13 4608k 64k' 'write -P 0x14 33M 64k'
for n in base child; do qemu-img convert -O raw $n.vmdk $n.raw; done
