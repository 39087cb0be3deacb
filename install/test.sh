#!/usr/bin/env bash
# Runs the whole test suite: installs the Debian packages the tests use (when root), builds, tests.
# Test images are built by images/*.sh on first use and cached under build/test-images.
set -uo pipefail
cd "$(dirname "$0")/.."
bash install/deps.sh || exit 2
mkdir -p build
log=build/test-output.log
dotnet test VmdkMount.sln -c Release --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# One plain summary line for any reader of the log: "N passed, N failed".
passed=$(awk '/^ *Passed: *[0-9]+/ {s+=$2} END {print s+0}' "$log")
failed=$(awk '/^ *Failed: *[0-9]+/ {s+=$2} END {print s+0}' "$log")
skipped=$(awk '/^ *Skipped: *[0-9]+/ {s+=$2} END {print s+0}' "$log")
echo
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$rc" -eq 0 ] && [ "$passed" -eq 0 ]; then echo "no test ran" >&2; exit 1; fi
exit "$rc"
