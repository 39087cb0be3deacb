# Sourced by the mount benchmarks of issue 18 (tree.sh, seq.sh, clamscan.sh): checks that the images of bench/fuse.sh
# exist and that we are root, picks the build to measure (BIN=path/to/vmdkmount for the native binary, else the JIT
# build; BASELINE=path/to/vmdkmount(.dll) for an older one beside it), and makes a work folder with a mount point and
# a state folder, unmounted and removed on exit.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
img=$root/build/bench-fuse/img
me=bench/$(basename "$0")
[ -f "$img/.done" ] || { echo "$me: build the images first: IMAGES_ONLY=1 bash bench/fuse.sh" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$me: run as root (loop mounts)" >&2; exit 2; }
if [ -n "${BIN:-}" ]; then ours=("$BIN"); else
  dotnet build "$root/src/VmdkMount.Cli" -c Release -v quiet -nologo >/dev/null
  ours=(dotnet "$root/build/bin/VmdkMount.Cli/Release/net10.0/vmdkmount.dll")
fi
# shellcheck disable=SC2034  # used by the scripts that source this
base=(); case "${BASELINE:-}" in "") ;; *.dll) base=(dotnet "$BASELINE");; *) base=("$BASELINE");; esac
work=$(mktemp -d); mnt=$work/mnt; state=$work/state; mkdir -p "$mnt" "$state"
trap 'mountpoint -q "$mnt" && umount -l "$mnt"; rm -rf "$work"' EXIT
