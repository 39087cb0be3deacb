#!/usr/bin/env bash
# VMDK engine test images, all made by qemu-img/qemu-io (qemu-utils), with qemu's own flattening as the oracle:
# for every disk NAME.vmdk that a test opens, NAME.raw is `qemu-img convert -O raw` (a sparse file),
# NAME.map.json the output of `qemu-img map --output=json`, NAME.info.json `qemu-img info --backing-chain`.
set -euo pipefail
out=${1:?usage: vmdk-qemu.sh OUTDIR}
cd "$out"
q() { qemu-img "$@" >/dev/null; }
w() { local f=$1; shift; local args=(); for c in "$@"; do args+=(-c "$c"); done; qemu-io -f vmdk "${args[@]}" "$f" >/dev/null; }
oracle() { # NAME
  qemu-img convert -O raw "$1.vmdk" "$1.raw"
  qemu-img map --output=json "$1.vmdk" > "$1.map.json"
  qemu-img info --output=json --backing-chain "$1.vmdk" > "$1.info.json"
}

# monolithicSparse with data across grain-table boundaries (a GT covers 32 MiB), a partial grain and the last grain
q create -f vmdk -o subformat=monolithicSparse ms.vmdk 80M
w ms.vmdk 'write -P 0x11 0 128k' 'write -P 0x22 1M 64k' 'write -P 0x33 33M 4k' 'write -P 0x44 65600k 100k' 'write -P 0x55 80832k 4k'
oracle ms

# monolithicFlat
q create -f vmdk -o subformat=monolithicFlat mf.vmdk 16M
w mf.vmdk 'write -P 0x66 0 64k' 'write -P 0x77 15M 1M'
oracle mf

# split sparse and split flat (2 GiB pieces), data straddling the piece boundaries
q create -f vmdk -o subformat=twoGbMaxExtentSparse ts.vmdk 5G
w ts.vmdk 'write -P 0x21 0 64k' 'write -P 0x22 2047M 2M' 'write -P 0x23 4095M 2M' 'write -P 0x24 5119M 1M'
oracle ts
q create -f vmdk -o subformat=twoGbMaxExtentFlat tf.vmdk 5G
w tf.vmdk 'write -P 0x31 0 64k' 'write -P 0x32 2047M 2M' 'write -P 0x33 4095M 2M' 'write -P 0x34 5119M 1M'
oracle tf

# streamOptimized (qemu layout: GD in header, compressed grains with LBA markers) from a mixed raw image
head -c 3M /dev/urandom > src.raw
truncate -s 20M src.raw
printf 'compressible text %.0s' $(seq 1 20000) | dd of=src.raw bs=1 seek=$((8*1024*1024)) conv=notrunc status=none
printf 'tail' | dd of=src.raw bs=1 seek=$((20*1024*1024-4)) conv=notrunc status=none
q convert -f raw -O vmdk -o subformat=streamOptimized src.raw so.vmdk
oracle so
rm -f src.raw

# zeroed-grain child over a base with data: GTE 1 reads zeros without consulting the parent
q create -f vmdk -o subformat=monolithicSparse zbase.vmdk 16M
w zbase.vmdk 'write -P 0x99 0 4M'
q create -f vmdk -o zeroed_grain=on -b zbase.vmdk -F vmdk zchild.vmdk
w zchild.vmdk 'write -z 0 64k' 'write -z 1M 128k' 'write -P 0xaa 2M 64k'
oracle zchild

# a chain of mixed kinds: sparse base <- sparse <- split sparse <- stream (compressed writes) <- zeroed-grain sparse
q create -f vmdk -o subformat=monolithicSparse base.vmdk 64M
w base.vmdk 'write -P 0x01 0 8M' 'write -P 0x02 40M 1M'
q create -f vmdk -b base.vmdk -F vmdk c1.vmdk
w c1.vmdk 'write -P 0x11 64k 64k' 'write -P 0x12 4M 3k'
q create -f vmdk -o subformat=twoGbMaxExtentSparse -b c1.vmdk -F vmdk c2.vmdk
w c2.vmdk 'write -P 0x21 1M 4k' 'write -P 0x22 50M 64k'
q create -f vmdk -o subformat=streamOptimized -b c2.vmdk -F vmdk c3.vmdk
w c3.vmdk 'write -c -P 0x31 6M 64k'
q create -f vmdk -o zeroed_grain=on -b c3.vmdk -F vmdk c4.vmdk
w c4.vmdk 'write -z 7M 64k' 'write -P 0x41 63M 1M'
oracle c4
oracle c2

# a 200-link chain, each link writing its own 4 KiB (whole-grain copy-on-write) and some overwriting older ones
mkdir deep && cd deep
q create -f vmdk deep000.vmdk 32M
w deep000.vmdk 'write -P 0x5a 0 32M'
prev=deep000.vmdk
for i in $(seq 1 199); do
  n=$(printf 'deep%03d.vmdk' "$i")
  q create -f vmdk -u -b "$prev" -F vmdk "$n" 32M   # -u + size: do not open the whole chain per link
  w "$n" "write -P $((i % 250 + 1)) $((i * 131072)) 4k"
  prev=$n
done
oracle deep199
cd ..

# CID mismatch: write to the parent after the child exists
q create -f vmdk cidbase.vmdk 8M
q create -f vmdk -b cidbase.vmdk -F vmdk cidchild.vmdk
w cidbase.vmdk 'write -P 0x10 0 64k'
