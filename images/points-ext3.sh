#!/usr/bin/env bash
# The six-point chain of points-ext.sh on ext3: no extents, so files are mapped by block maps and indirect blocks
# (the issue asks for ext with and without extents). The kernel's ext4 driver writes the children and reads the
# oracle manifests, as for points-ext.sh; a filesystem without the extent feature gets no extent-mapped files.
set -euo pipefail
export POINTS_EXT_TYPE=ext3
source "$(dirname "$0")/points-ext.sh"
