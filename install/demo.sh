#!/usr/bin/env bash
# The README's first command: builds vmdkmount, mounts the bundled demo backup chain
# (images/demo/demo-000002.vmdk -> demo-000001.vmdk -> demo.vmdk) and shows what is inside.
# The mount stays up for you to browse; the last lines say how to unmount it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash install/deps.sh --runtime
echo "building vmdkmount ..."
dotnet build src/VmdkMount.Cli -c Release -v quiet -nologo >/dev/null
bin="dotnet $root/build/bin/VmdkMount.Cli/Release/net10.0/vmdkmount.dll"
chain=images/demo/demo-000002.vmdk
mnt=${1:-$root/build/demo-mount}

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@" || echo "(exit code $?)"; }
vmdkmount() { $bin "$@"; }

step vmdkmount info "$chain"
step vmdkmount volumes "$chain"
if mountpoint -q "$mnt" 2>/dev/null; then vmdkmount unmount "$mnt" >/dev/null || true; fi
mkdir -p "$mnt"
step vmdkmount mount "$chain" "$mnt"
step ls -l "$mnt"
step find "$mnt/p1/Users" "$mnt/p2/home"
step cat "$mnt/p1/Users/alice/Documents/invoice.xlsx"
step ls -l "$mnt/p2/home/bob"
step vmdkmount cat "$chain" p2:/home/bob/changelog.txt
cat <<TXT

The demo chain is mounted read-only at $mnt (p1 = NTFS, p2 = ext4). Browse it with any program.
To unmount:  dotnet $root/build/bin/VmdkMount.Cli/Release/net10.0/vmdkmount.dll unmount $mnt
TXT
