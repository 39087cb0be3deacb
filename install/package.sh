#!/usr/bin/env bash
# Builds the native vmdkmount (Native AOT, linux-x64: one executable, no .NET runtime needed) and a Debian package:
#   build/package/vmdkmount                        the native binary
#   build/package/vmdkmount_<version>_amd64.deb    installs it, mount.vmdk, the man page and bash completion
# Install with `apt install ./build/package/vmdkmount_*.deb` (depends on fuse3). Debian's libvmdk-utils has an
# unrelated program of the same name in /usr/bin; this package puts ours in /usr/local/bin, which comes first in PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=$root/build/package
mkdir -p "$out"
[ "$(id -u)" = 0 ] && bash install/deps.sh --package
echo "building the native binary (Native AOT) ..."
dotnet publish src/VmdkMount.Cli/VmdkMount.Cli.csproj -c Release -r linux-x64 -p:PublishAot=true -p:StripSymbols=true \
  -v quiet -nologo -o "$out/publish" >"$out/publish.log" 2>&1 || { cat "$out/publish.log" >&2; exit 1; }
cp "$out/publish/vmdkmount" "$out/vmdkmount"
version=$("$out/vmdkmount" --version | sed 's/+.*//')

stage=$out/stage
rm -rf "$stage"
install -D -m 0755 "$out/vmdkmount" "$stage/usr/lib/vmdkmount/vmdkmount"
install -D -m 0755 install/package/mount.vmdk "$stage/usr/sbin/mount.vmdk"
# section 8 (system administration), beside mount.vmdk: libvmdk-utils owns man1/vmdkmount.1.gz
install -D -m 0644 install/package/vmdkmount.8 "$stage/usr/share/man/man8/vmdkmount.8"
gzip -9n "$stage/usr/share/man/man8/vmdkmount.8"
ln -s vmdkmount.8.gz "$stage/usr/share/man/man8/mount.vmdk.8.gz"
install -D -m 0644 install/package/vmdkmount.bash-completion "$stage/usr/share/bash-completion/completions/vmdkmount"
install -D -m 0644 install/package/copyright "$stage/usr/share/doc/vmdkmount/copyright"
mkdir -p "$stage/DEBIAN"
# /usr/local/bin (first in PATH, ahead of libyal's /usr/bin/vmdkmount) belongs to the admin, not to dpkg: the link is
# made by the maintainer scripts, so that removing the package leaves /usr/local exactly as it was
install -m 0755 install/package/postinst "$stage/DEBIAN/postinst"
install -m 0755 install/package/prerm "$stage/DEBIAN/prerm"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: vmdkmount
Version: $version
Architecture: amd64
Maintainer: VmdkMount developers <vmdkmount@localhost>
Depends: fuse3, libc6 (>= 2.31)
Installed-Size: $size
Section: admin
Priority: optional
Homepage: https://localhost/vmdkmount
Description: read-only mount of backed-up VMware disk chains
 vmdkmount opens the newest link of a VMDK backup chain, follows its parents,
 finds the partitions, LVM volumes and filesystems inside (NTFS, ext2/3/4, XFS, FAT,
 exFAT) and shows every volume as a folder through FUSE, or lists, prints and
 restores files with its own ls, cat, find and extract commands. Local files, NBD
 exports and HTTP(S) URLs are read. Not related to libyal's vmdkmount (package libvmdk-utils),
 which lives in /usr/bin; this one is /usr/local/bin/vmdkmount.
CONTROL
deb=$out/vmdkmount_${version}_amd64.deb
rm -f "$out"/vmdkmount_*_amd64.deb
dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
echo "$out/vmdkmount"
echo "$deb"
