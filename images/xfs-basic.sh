#!/usr/bin/env bash
# XFS test images, made by mkfs.xfs on files and populated through the kernel's XFS on a loop mount (v5), or by a
# mkfs prototype file where this kernel cannot mount the result (v4: CONFIG_XFS_SUPPORT_V4 is off; 64 KiB blocks:
# larger than the 4 KiB page). The tests compare each image with the kernel's read-only mount of it, or with the
# source tree the prototype was made from, and assert with xfs_db that each forced format is really there.
#   v5_4k        mkfs defaults (4 KiB blocks, 512 B inodes, bigtime): every directory form (short form, block,
#                leaf, node with a BMBT data fork), extents and BMBT files, holes, unwritten extents, inline and
#                remote symlinks, devices, FIFO, socket, hard links, times past 2038 and before 1970, odd names
#   v5_1k        -b size=1024 (directory blocks of 4 KiB = 4 fs blocks), 2-level BMBT, same population
#   v5_dir16k    -n size=16384 -i size=2048 -d agcount=7
#   v5_n64_old   -m bigtime=0 -i nrext64=1: legacy 32-bit times (2300 is clamped to 2038 by the kernel), 64-bit
#                extent counters
#   v5_big       one sparse file of 6 GiB with data at 0, across 4 GiB and at the end
#   v5_dirty     v5_4k's mkfs, files written, then the log left dirty (xfs_io shutdown)
#   v4           -m crc=0 (prototype), v4_512: -m crc=0 -b size=512 -n ftype=0 (prototype)
#   v5_64k       -b size=65536 (prototype)
#   ci           -n version=ci: ASCII case-insensitive names (prototype)
#   v5_4k.vmdk   v5_4k wrapped by qemu-img (monolithicSparse)
# Usage: images/xfs-basic.sh OUTDIR   (root: loop mounts, mknod)
set -euo pipefail
out=$(cd "$1" && pwd)
work=$(mktemp -d)
mnt="$work/mnt"
cleanup() { mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$mnt"
export TZ=UTC

populate() { # DIR: the kernel-written tree every v5 image holds
  local d=$1
  (
    cd "$d"
    mkdir sf blk leaf node holes deep deep/a deep/a/b
    for i in 1 2 3; do echo "sf $i" > sf/f$i; done
    for i in $(seq 1 60); do echo "blk $i" > blk/file_$i; done
    for i in $(seq 1 400); do echo "leaf $i" > leaf/leaf_entry_name_$i; done
    (cd node && seq 1 3000 | sed 's/^/node_entry_with_a_longer_name_/' | xargs touch)
    echo "node 77" > node/node_entry_with_a_longer_name_77
    for i in $(seq 1 150); do echo "h $i" > holes/h_$i; done
    for i in $(seq 1 3 150); do rm holes/h_$i; done
    echo "deep file" > deep/a/b/leaf.txt
    truncate -s 20M sparse.bin; printf MIDDLE | dd of=sparse.bin bs=1 seek=10485760 conv=notrunc status=none
    truncate -s 48M huge_sparse.bin; printf TAIL | dd of=huge_sparse.bin bs=1 seek=$((48*2**20-4)) conv=notrunc status=none
    head -c 1048576 /dev/urandom > contig_1m
    fallocate -l 1M prealloc.bin; printf 'written in the middle' | dd of=prealloc.bin bs=1 seek=300000 conv=notrunc status=none
    printf head > prealloc_keepsize.bin; fallocate -n -o 64K -l 1M prealloc_keepsize.bin
    # every other block punched: one extent per block, far more than the inode's fork holds -> BMBT
    head -c $((4096 * 2000)) /dev/urandom > frag_btree.bin
    python3 - <<'PY'
import os, ctypes
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open('frag_btree.bin', os.O_RDWR)
for i in range(0, 2000, 2):
    if libc.fallocate(fd, 3, ctypes.c_long(i * 4096), ctypes.c_long(4096)) != 0:  # PUNCH_HOLE|KEEP_SIZE
        raise OSError(ctypes.get_errno(), 'fallocate')
os.close(fd)
PY
    ln contig_1m hardlink_to_contig
    ln -s sf/f1 symlink_short
    ln -s "$(python3 -c 'print("/".join("segment%03d" % i for i in range(90)))')" symlink_remote
    ln -s /etc/passwd abslink
    mknod chardev c 1 3; mknod blockdev b 7 0; mknod bigdev c 259 65537; mkfifo fifo
    python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('socket')"
    echo u > "ünïcödé_日本語.txt"; echo b > "$(printf 'bad\xff\xfe.bin')"; echo p > "100%25real"
    : > empty.txt
    echo future > future; echo past > past; echo crt > owned
    chown 1234:5678 owned; chmod 4751 owned
    touch -d '2300-01-02 03:04:05.123456789 UTC' future
    touch -d '1950-06-07 08:09:10.5 UTC' past
    setfattr -n user.small -v hello owned
  )
}

kernel_image() { # NAME SIZE MKFS-OPTIONS...: mkfs, populate through the kernel, unmount cleanly
  local name=$1 size=$2; shift 2
  truncate -s "$size" "$out/$name.img"
  mkfs.xfs --unsupported -f -q -L "$name" "$@" "$out/$name.img" 2>/dev/null
  mount -o loop "$out/$name.img" "$mnt"
  populate "$mnt"
  umount "$mnt"
}

kernel_image v5_4k 300M
kernel_image v5_1k 300M -b size=1024
kernel_image v5_dir16k 300M -n size=16384 -i size=2048 -d agcount=7
kernel_image v5_n64_old 300M -m bigtime=0 -i nrext64=1

# file offsets past 4 GiB (not in the trees above: the oracle hashes every byte of every file, holes too)
truncate -s 300M "$out/v5_big.img"
mkfs.xfs --unsupported -f -q -L v5_big "$out/v5_big.img" 2>/dev/null
mount -o loop "$out/v5_big.img" "$mnt"
truncate -s $((6*2**30 + 5)) "$mnt/over4g.bin"
printf START | dd of="$mnt/over4g.bin" bs=1 conv=notrunc status=none
printf ACROSS4G | dd of="$mnt/over4g.bin" bs=1 seek=$((4*2**30 - 4)) conv=notrunc status=none
printf TAIL | dd of="$mnt/over4g.bin" bs=1 seek=$((6*2**30 + 1)) conv=notrunc status=none
umount "$mnt"

# a dirty log: written, synced, the filesystem shut down without checkpointing, then unmounted
truncate -s 300M "$out/v5_dirty.img"
mkfs.xfs --unsupported -f -q -L v5_dirty "$out/v5_dirty.img" 2>/dev/null
mount -o loop "$out/v5_dirty.img" "$mnt"
echo before > "$mnt/before.txt"
umount "$mnt"; mount -o loop "$out/v5_dirty.img" "$mnt"
mkdir "$mnt/only_in_log"; for i in $(seq 1 50); do echo "$i" > "$mnt/only_in_log/f$i"; done
sync
xfs_io -x -c shutdown "$mnt"
umount "$mnt"

# prototype-made images: a host tree and a proto file describing it (no sockets, hard links or times in protos)
src="$work/src"
mkdir -p "$src/sf" "$src/blk" "$src/leaf" "$src/node" "$src/deep/a/b"
for i in 1 2 3; do echo "sf $i" > "$src/sf/f$i"; done
for i in $(seq 1 60); do echo "blk $i" > "$src/blk/file_$i"; done
for i in $(seq 1 400); do echo "leaf $i" > "$src/leaf/leaf_entry_name_$i"; done
for i in $(seq 1 1500); do echo "n$i" > "$src/node/node_entry_with_a_longer_name_$i"; done
echo "deep file" > "$src/deep/a/b/leaf.txt"
head -c 3000000 /dev/urandom > "$src/big.bin"
head -c 70000 /dev/urandom > "$src/medium.bin"
: > "$src/empty.txt"
ln -s sf/f1 "$src/symlink_short"
ln -s "$(python3 -c 'print("/".join("segment%03d" % i for i in range(90)))')" "$src/symlink_remote"
python3 - "$src" > "$work/tree.proto" <<'PY'
import os, stat, sys
root = sys.argv[1]
print("dummy\n0 0\nd--755 0 0")
stack = [(root, 1, iter(sorted(os.listdir(root))))]
while stack:
    path, depth, it = stack[-1]
    name = next(it, None)
    if name is None:
        stack.pop(); print(" " * (depth - 1) + "$"); continue
    full = os.path.join(path, name); st = os.lstat(full); pad = " " * depth
    if stat.S_ISLNK(st.st_mode): print(f"{pad}{name} l--777 0 0 {os.readlink(full)}")
    elif stat.S_ISDIR(st.st_mode):
        print(f"{pad}{name} d--755 0 0"); stack.append((full, depth + 1, iter(sorted(os.listdir(full)))))
    else: print(f"{pad}{name} ---644 0 0 {full}")
PY
sed -i '$d' "$work/tree.proto"   # the root's closing "$" (the proto root is closed by the end of the file)
printf ' chardev c--644 0 0 1 3\n fifo p--644 0 0\n$\n' >> "$work/tree.proto"
# mkfs 6.1 writes a v5 remote symlink from a proto with a bad header CRC (xfs_repair -n says so): leave it out there
grep -v '^ symlink_remote ' "$work/tree.proto" > "$work/tree_v5.proto"
proto_image() { # NAME SIZE PROTO MKFS-OPTIONS...
  local name=$1 size=$2 proto=$3; shift 3
  truncate -s "$size" "$out/$name.img"
  mkfs.xfs --unsupported -f -q -L "$name" "$@" -p "$proto" "$out/$name.img" 2>/dev/null
}
proto_image v4 300M "$work/tree.proto" -m crc=0
proto_image v4_512 300M "$work/tree.proto" -m crc=0 -b size=512 -n ftype=0
proto_image v5_64k 600M "$work/tree_v5.proto" -b size=65536
proto_image ci 300M "$work/tree_v5.proto" -n version=ci
mkdir -p "$out/src"; cp -a "$src/." "$out/src/"

qemu-img convert -f raw -O vmdk "$out/v5_4k.img" "$out/v5_4k.vmdk"
for i in v5_4k v5_1k v5_dir16k v5_n64_old v4 v4_512 v5_64k ci; do xfs_repair -n "$out/$i.img" >/dev/null 2>&1 || { echo "xfs_repair -n $i failed" >&2; exit 1; }; done
