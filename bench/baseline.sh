#!/usr/bin/env bash
# bench/baseline.sh REV: a release build of ferry at git revision REV, for bench/run.sh's second
# ferry (FERRY_BASELINE=REV, shown as "ferry-old"). The commit is checked out with
# `git worktree add --detach` into build-baseline/<commit>/src and built there the way `make build`
# builds (CMake, Release, Ninja, target ferry) into build-baseline/<commit>/build. A later call
# for the same commit reuses both: Ninja finds nothing to do. Two calls at once build once (a
# lock per commit). Prints the binary's path on stdout; progress and errors go to stderr.
# build-baseline/ is ignored by git (/build-*/). To delete one build:
#   git worktree remove --force build-baseline/<commit>/src && rm -rf build-baseline/<commit>
set -euo pipefail

fail() { echo "baseline: $*" >&2; exit 1; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
(( $# == 1 )) || fail "usage: bench/baseline.sh REV (a commit, branch or tag)"
rev=$1
commit=$(git -C "$root" rev-parse --verify --quiet "$rev^{commit}") || fail "'$rev' is not a commit in $root"
dir=$root/build-baseline/$commit
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock -w 1800 9 || fail "another build of $commit held $dir/.lock for 30 minutes"

if [[ ! -e $dir/src/.git ]]; then
  # A worktree whose folder was deleted by hand is still registered: forget it first.
  git -C "$root" worktree prune
  echo "baseline: checking out $commit into $dir/src" >&2
  git -C "$root" worktree add --detach "$dir/src" "$commit" >&2 || fail "git worktree add failed"
fi
[[ $(git -C "$dir/src" rev-parse HEAD) == "$commit" ]] ||
  fail "$dir/src is not at $commit (moved by hand?); remove it as said at the head of bench/baseline.sh"

# Tests off: only the ferry target is built, and an old revision's test dependencies do not matter.
timeout 600 cmake -S "$dir/src" -B "$dir/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFERRY_TESTS=OFF \
  >"$dir/configure.log" 2>&1 || fail "cmake configure failed: see $dir/configure.log"
echo "baseline: building ferry at ${commit:0:7} in $dir/build (nothing to do if built before)" >&2
timeout 3600 cmake --build "$dir/build" -j "$(nproc)" --target ferry >&2 || fail "build of $commit failed"
[[ -x $dir/build/ferry ]] || fail "no binary at $dir/build/ferry after the build"
echo "$dir/build/ferry"
