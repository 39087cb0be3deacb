#!/usr/bin/env bash
# The README's first command: builds vmdkmount and runs it on the bundled demo backup chain
# (images/demo/demo-000002.vmdk -> demo-000001.vmdk -> demo.vmdk).
set -euo pipefail
cd "$(dirname "$0")/.."
bash install/deps.sh --runtime || true
dotnet build src/VmdkMount.Cli -c Release -v quiet -nologo >/dev/null
vmdkmount() { dotnet build/bin/VmdkMount.Cli/Release/net10.0/vmdkmount.dll "$@"; }
chain=images/demo/demo-000002.vmdk
step() { printf '\n\033[1m$ vmdkmount %s\033[0m\n' "$*"; vmdkmount "$@" || echo "(exit code $?)"; }
step info "$chain"
step check "$chain"
step map "$chain"
step volumes "$chain"
step ls "$chain" p1:/ -R
step cat "$chain" p1:/Users/alice/Documents/invoice.xlsx
step ls "$chain" p2:/home/bob -l
