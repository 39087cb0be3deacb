#!/usr/bin/env bash
# Installs the Debian packages that the demo and the test suite use, when they are missing.
# Safe to run repeatedly; does nothing when everything is present. Needs root to install.
set -euo pipefail

# runtime: fuse3 (mount). tests and oracles: the rest (qemu-utils also has qemu-nbd; nbdkit and gnutls-bin's certtool
# serve NBD exports and make TLS certificates for the transport tests; nginx serves chains over HTTP; afl++ drives the
# fuzzing harnesses of tests/fuzz).
PACKAGES=(
  fuse3 libfuse3-3 qemu-utils ntfs-3g e2fsprogs dosfstools mtools sleuthkit
  fdisk gdisk parted lvm2 xfsprogs btrfs-progs cryptsetup-bin exfatprogs exfat-fuse
  attr clamav kmod util-linux genisoimage perl bc xxd coreutils findutils python3
  nbdkit gnutls-bin openssl nginx afl++
)
if [ "${1:-}" = "--runtime" ]; then PACKAGES=(fuse3 libfuse3-3); fi
# install/package.sh: Native AOT links with gcc; dpkg-deb builds the package
if [ "${1:-}" = "--package" ]; then PACKAGES=(fuse3 libfuse3-3 gcc libc6-dev dpkg); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "install/deps.sh: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install/deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
