#!/usr/bin/env bash
# Runs ferry's libFuzzer targets, one after the other, each for SECONDS on a scratch copy of
# its seed corpus (tests/fuzz/corpus/<target>) plus its regression inputs
# (tests/fuzz/regressions/<target>), which are never written to.
#   scripts/fuzz-run.sh BUILD_DIR SECONDS [TARGET...]     (default: every target)
# Prints per target the runs, the corpus size at the end and the crashes; exits 1 when a
# target crashed, leaked or hung. Crash inputs stay in BUILD_DIR/fuzz-crashes/<target>/.
set -uo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(request_head response_head chunked target config session http2 client_hello)

failed=0
summary=()
for t in "${targets[@]}"; do
  exe="$build/tests/fuzz/fuzz_$t"
  if [[ ! -x $exe ]]; then
    echo "ferry: $exe not built (configure with -DFERRY_FUZZ=ON, or run make fuzz)" >&2
    failed=1
    summary+=("$t: not built")
    continue
  fi
  work="$build/fuzz-work/$t"
  crashes="$build/fuzz-crashes/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$crashes"
  cp "$root/tests/fuzz/corpus/$t/"* "$work/corpus/" 2>/dev/null
  dirs=("$work/corpus")
  if [[ -d $root/tests/fuzz/regressions/$t ]]; then
    dirs+=("$root/tests/fuzz/regressions/$t")
  fi
  before=$(ls "$crashes" | wc -l)
  start=$(date +%s)
  # One process, one job (the machine is shared); new inputs go to the scratch corpus only.
  "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "${dirs[@]}" >"$work/log" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  corpus=$(ls "$work/corpus" | wc -l)
  after=$(ls "$crashes" | wc -l)
  found=$((after - before))
  line="$t: ${runs:-?} runs in ${took}s, corpus $corpus, crashes $found"
  if [[ $rc -ne 0 || $found -gt 0 ]]; then
    failed=1
    line+=" — FAILED (exit $rc; log $work/log; inputs in $crashes)"
    grep -m 5 -E "ERROR|fuzz invariant|runtime error|SUMMARY" "$work/log" >&2
  fi
  echo "$line"
  summary+=("$line")
done

if [[ ${#targets[@]} -gt 1 ]]; then
  echo "---"
  printf '%s\n' "${summary[@]}"
fi
exit $failed
