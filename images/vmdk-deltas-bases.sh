#!/bin/bash
# Parents for the COWD / SEsparse chain tests, made by qemu-img (the children on top are written by the
# test-only writers in tests/VmdkMount.Tests/Vmdk/Writers, since qemu cannot create those formats).
#   ms-base.vmdk   monolithicSparse, 32 MiB, 64 KiB grains: text at 0-1 MiB, 4 MiB+192 KiB, 17 MiB+64 KiB,
#                  31-32 MiB; the rest unallocated
set -euo pipefail
out=$1
cd "$out"

# position-dependent, deterministic bytes (coreutils only): a grain read from the wrong place shows
seq -f 'line %09g of the base disk' 1 2000000 > text.bin

raw=ms-base.raw
truncate -s 32M "$raw"
put() { dd if=text.bin of="$raw" bs=1k skip=$(( $1 / 1024 )) seek=$(( $1 / 1024 )) count=$(( $2 / 1024 )) conv=notrunc status=none; }
put $((0)) $((1024*1024))
put $((4*1024*1024)) $((192*1024))
put $((17*1024*1024)) $((64*1024))
put $((31*1024*1024)) $((1024*1024))
qemu-img convert -q -f raw -O vmdk -o subformat=monolithicSparse "$raw" ms-base.vmdk
qemu-img check -q ms-base.vmdk
rm -f "$raw" text.bin
