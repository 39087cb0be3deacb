# Sourced by the image scripts that build a chain of qemu-img children whose contents are known (fuse-chain.sh,
# points-*.sh). Expects $out (the output folder), $work (a scratch folder) and $DISK (the capacity); step also needs
# place (the script's: puts its filesystem images into a raw disk at their partitions).

# Writes into CHILD exactly the 64 KiB clusters where NEW differs from OLD (qemu-io, one process).
delta() {
  local old=$1 new=$2 child=$3 backing=$4
  qemu-img create -q -f vmdk -b "$backing" -F vmdk "$out/$child" $DISK
  local args=() n=0
  mkdir -p "$work/chunks"
  for c in $(cmp -l "$old" "$new" | awk '{print int(($1 - 1) / 65536)}' | uniq); do
    dd if="$new" of="$work/chunks/$c" bs=64K skip="$c" count=1 status=none
    args+=(-c "write -q -s $work/chunks/$c $((c * 65536)) 65536")
    n=$((n + 1))
  done
  [ "$n" -gt 0 ]
  qemu-io -f vmdk "${args[@]}" "$out/$child" >/dev/null
  rm -rf "$work/chunks"
  qemu-img compare -q "$new" "$out/$child"
}

step() { # step N: the raw disk d(N-1), with the current filesystem image placed, becomes child-00N
  local n=$1 prev
  prev=$([ "$n" -eq 1 ] && echo base.vmdk || printf 'child-%03d.vmdk' $((n - 1)))
  cp --sparse=always "$work/d$((n - 1)).raw" "$work/d$n.raw"
  place "$work/d$n.raw"
  delta "$work/d$((n - 1)).raw" "$work/d$n.raw" "$(printf 'child-%03d.vmdk' "$n")" "$prev"
  rm -f "$work/d$((n - 1)).raw"
}
