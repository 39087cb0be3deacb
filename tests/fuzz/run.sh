#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers: SharpFuzz instruments VmdkMount.Core.dll, AFL++ drives one harness at a time.
#   bash tests/fuzz/run.sh [--minutes N | --seconds N] [--out DIR] [harness...]     (default: 5 minutes each, every harness)
# Everything a run makes is under DIR (default build/fuzz/run): the instrumented build, the seeds, AFL's output.
# Seeds are made from the test images (build/test-images, built by images/*.sh when missing); dictionaries are
# tests/fuzz/dict/NAME.dict. Each input has AFL's 1 s timeout and a 256 MiB managed-heap bound (an allocation past it
# is an OutOfMemoryException, so a crash). Prints executions and findings per harness; exits 1 when anything was found.
# A finding replays (uninstrumented) with: build/bin/VmdkMount.Fuzz/Release/net10.0/VmdkMount.Fuzz replay NAME FILE
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
seconds=300
out=$root/build/fuzz/run
harnesses=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) seconds=$(( $2 * 60 )); shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --out) out=$(realpath -m "$2"); shift 2 ;;
    -h|--help) sed -n 2,8p "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) harnesses+=("$1"); shift ;;
  esac
done

# afl++ comes with the test packages (install/deps.sh); the SharpFuzz instrumenter is a dotnet tool kept under build/
command -v afl-fuzz >/dev/null || bash install/deps.sh || { echo "run.sh: afl-fuzz is missing (apt-get install afl++)" >&2; exit 2; }
tools=$root/build/fuzz/tools
if [ ! -x "$tools/sharpfuzz" ]; then
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
fi

# the plain build makes the seeds and replays findings (instrumented code runs only under afl-fuzz: outside it, it writes
# to a coverage map that is not there); a fresh publish each run is what AFL runs: sharpfuzz instruments the assembly
# in place, and an instrumented one cannot be instrumented again
dotnet build tests/fuzz/VmdkMount.Fuzz -c Release --nologo -v quiet >/dev/null
plain=$root/build/bin/VmdkMount.Fuzz/Release/net10.0/VmdkMount.Fuzz
bin=$out/bin
rm -rf "$bin"
dotnet publish tests/fuzz/VmdkMount.Fuzz -c Release -o "$bin" --nologo -v quiet -p:TreatWarningsAsErrors=true >/dev/null
"$tools/sharpfuzz" "$bin/VmdkMount.Core.dll" >/dev/null
fuzz=$bin/VmdkMount.Fuzz
[ ${#harnesses[@]} -eq 0 ] && mapfile -t harnesses < <("$plain" list | awk '{print $1}')

# AFL's checks that do not apply: the target is a .NET host (no AFL instrumentation in the ELF), the CPU governor
# and the core pattern are the machine's, not ours; several harnesses share the machine, so no CPU pinning
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1
export AFL_FORKSRV_INIT_TMOUT=20000 AFL_QUIET=1
# the memory bound: the managed heap may not pass 256 MiB (afl-fuzz's own -m cannot bound a runtime that reserves
# address space up front)
export DOTNET_GCHeapHardLimit=0x10000000 DOTNET_TieredPGO=0 DOTNET_TC_QuickJitForLoops=1

status=0
printf '%-14s %12s %8s %8s %8s %8s\n' harness executions seconds crashes hangs corpus
for h in "${harnesses[@]}"; do
  seeds=$out/seeds/$h
  rm -rf "$seeds" "$out/$h"
  mkdir -p "$out"
  "$plain" seeds "$h" "$seeds" >/dev/null
  dict=()
  [ -f "tests/fuzz/dict/$h.dict" ] && dict=(-x "tests/fuzz/dict/$h.dict")
  start=$(date +%s)
  # -t 1000, not 1000+: with the + AFL scales the bound down to what the seeds take (120 ms), and a .NET harness
  # then spends its time in timeouts
  afl-fuzz -i "$seeds" -o "$out/$h" -t 1000 -m none "${dict[@]}" -V "$seconds" -- "$fuzz" run "$h" >"$out/$h.log" 2>&1 || {
    echo "run.sh: afl-fuzz failed for $h (log: $out/$h.log):" >&2; tail -5 "$out/$h.log" >&2; status=1; continue; }
  took=$(( $(date +%s) - start ))
  stats=$out/$h/default/fuzzer_stats
  execs=$(awk -F' *: *' '$1=="execs_done"{print $2}' "$stats")
  crashes=$(find "$out/$h/default/crashes" -name 'id:*' 2>/dev/null | wc -l)
  hangs=$(find "$out/$h/default/hangs" -name 'id:*' 2>/dev/null | wc -l)
  corpus=$(awk -F' *: *' '$1=="corpus_count"{print $2}' "$stats")
  printf '%-14s %12s %8s %8s %8s %8s\n' "$h" "$execs" "$took" "$crashes" "$hangs" "$corpus"
  if [ "$crashes" -gt 0 ] || [ "$hangs" -gt 0 ]; then
    status=1
    for f in "$out/$h/default/crashes"/id:* "$out/$h/default/hangs"/id:*; do
      [ -f "$f" ] && echo "  finding: $plain replay $h '$f'"
    done
  fi
done
exit $status
