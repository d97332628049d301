#!/usr/bin/env bash
# Runs a test command (by default the README's, `cargo test --workspace
# --locked`) and prints, per test binary, its wall time and the longest
# time it went without printing a line: what BENCHMARKS.md records under
# "How long the tests take". Usage:
#
#   scripts/test-times.sh                      # the README's test command
#   scripts/test-times.sh cargo test -p moin-session-conformance --test cli
#
# The command's own output goes to target/test-times.log; the table goes to
# standard output. Exits with the command's status.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
  set -- cargo test --workspace --locked
fi
mkdir -p target
log=target/test-times.log
start=$(date +%s.%N)
"$@" 2>&1 | while IFS= read -r line; do
  printf '%s %s\n' "$(date +%s.%N)" "$line"
done >"$log"
status=${PIPESTATUS[0]}
end=$(date +%s.%N)
awk -v start="$start" -v end="$end" '
  function close_binary(t) {
    if (name != "") {
      printf "| %s | %.1f | %.1f |\n", name, t - began, (t - last > gap ? t - last : gap)
    }
  }
  {
    t = $1
    line = substr($0, length($1) + 2)
    if (line ~ /^ *(Running|Doc-tests) /) {
      close_binary(t)
      name = line
      sub(/^ *Running /, "", name)
      sub(/^ *Doc-tests /, "doc-tests ", name)
      sub(/ \(.*\)$/, "", name)
      began = t; last = t; gap = 0
      next
    }
    if (name != "") {
      if (t - last > gap) gap = t - last
      last = t
    }
    if (line ~ /^test result: /) { close_binary(t); name = "" }
  }
  BEGIN { print "| test binary | wall time (s) | longest silence (s) |"; print "| --- | ---: | ---: |" }
  END { printf "\nwhole command: %.1f s (building included)\n", end - start }
' "$log"
exit "$status"
