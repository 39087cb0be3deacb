#!/usr/bin/env bash
# twoGbMaxExtentSparse with VMware/VirtualBox piece sizes (4,192,256 sectors = 2047 MiB), which qemu-img does not
# write itself: the pieces are qemu monolithicSparse files (their embedded descriptors must be ignored), the
# descriptor is written by hand, and qemu-img reads the result as the oracle (split.raw, split.map.json).
set -euo pipefail
out=${1:?usage: vmdk-split2047.sh OUTDIR}
cd "$out"
qemu-img create -q -f vmdk -o subformat=monolithicSparse split-s001.vmdk 2047M
qemu-img create -q -f vmdk -o subformat=monolithicSparse split-s002.vmdk 2047M
qemu-img create -q -f vmdk -o subformat=monolithicSparse split-s003.vmdk 6M
qemu-io -f vmdk -c 'write -P 0x61 0 64k' -c 'write -P 0x62 2046M 1M' split-s001.vmdk >/dev/null
qemu-io -f vmdk -c 'write -P 0x63 0 1M' -c 'write -P 0x64 100M 64k' split-s002.vmdk >/dev/null
qemu-io -f vmdk -c 'write -P 0x65 5M 1M' split-s003.vmdk >/dev/null
cat > split.vmdk <<'EOT'
# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=7a7a7a7a
parentCID=ffffffff
isNativeSnapshot="no"
createType="twoGbMaxExtentSparse"

# Extent description
RW 4192256 SPARSE "split-s001.vmdk"
RW 4192256 SPARSE "split-s002.vmdk"
RW 12288 SPARSE "split-s003.vmdk"

# The Disk Data Base 
#DDB

ddb.adapterType = "lsilogic"
ddb.virtualHWVersion = "13"
EOT
qemu-img convert -O raw split.vmdk split.raw
qemu-img map --output=json split.vmdk > split.map.json
