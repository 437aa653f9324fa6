#!/usr/bin/env bash
# The whole test suite, from a fresh machine: `make test` runs this, and so does CI (.ci/run).
# Any failing step fails the run. `scripts/test.sh STEP...` runs only the named steps.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH=$root/.venv/bin:$PATH
export NO_COLOR=1 PY_COLORS=0 ANSIBLE_FORCE_COLOR=0
# The suite writes into the checkout's .cache and temporary directories only: Ansible's home
# (local temporary files, the galaxy cache), the caches of pip, ansible-lint and molecule (whose
# scenarios' ephemeral directories go under the project's .ansible/, or ANSIBLE_HOME).
export ANSIBLE_HOME=$root/.cache/ansible XDG_CACHE_HOME=$root/.cache
# A virtualenv's own .ansible would be molecule's cache otherwise: .venv may be shared.
unset VIRTUAL_ENV
# The scenarios are at the collection root (molecule/), where molecule finds them without a warning.
export MOLECULE_GLOB='molecule/*/molecule.yml'

all_steps=(setup sanity lint build unit molecule integration e2e)
steps=("${@:-${all_steps[@]}}")

setup() {
  scripts/venv.sh
  scripts/host-packages.sh
  scripts/docker-engine.sh
  scripts/base-images.sh
}

lint() {
  yamllint --strict .
  ansible-lint
  antsibull-changelog lint
  # The GitHub Actions workflows, shipped (examples/github-actions) or run here (.github/workflows).
  local workflows=()
  mapfile -t workflows < <(find examples/github-actions .github/workflows \( -name '*.yml' -o -name '*.yaml' \) 2>/dev/null | sort)
  if [ ${#workflows[@]} -gt 0 ]; then
    actionlint "${workflows[@]}"
    echo "actionlint: ${#workflows[@]} workflows"
  fi
}

build() {
  local dist=.cache/dist tarball
  rm -rf "$dist"
  ansible-galaxy collection build --force --output-path "$dist" >/dev/null
  tarball=$(ls "$dist"/spotkit-ec2-*.tar.gz)
  echo "built $tarball ($(tar -tzf "$tarball" | wc -l) entries)"
  # The product alone: no sandbox, tests or tooling; installed from the tarball, every plugin
  # documented and every shipped playbook valid.
  scripts/check-collection.py "$tarball"
}

sanity() { scripts/sanity.sh; }

unit() { pytest tests/unit; }

integration() {
  # In parallel workers, each with its own emulator and whole modules (docs/testing.md). The runs
  # use about as many CPU seconds as they last: on two CPUs, three or four workers were no faster.
  if [ -d tests/integration ]; then
    pytest tests/integration -n "${SPOTKIT_TEST_WORKERS:-2}" --durations=15
  else
    echo "no tests/integration yet"
  fi
}

molecule() {
  local scenario start scenarios=() times=()
  # default first: it checks the platforms that every other scenario runs on.
  for scenario in molecule/default/molecule.yml molecule/*/molecule.yml; do
    scenario=$(basename "$(dirname "$scenario")")
    [[ -e molecule/$scenario/molecule.yml && " ${scenarios[*]} " != *" $scenario "* ]] && scenarios+=("$scenario")
  done
  [ ${#scenarios[@]} -gt 0 ] || { echo "no molecule scenarios yet"; return 0; }
  for scenario in "${scenarios[@]}"; do
    # arm64 scenarios run under emulation, minutes longer: only on request.
    if [[ $scenario == *_arm64 && ${SPOTKIT_ARM64:-0} != 1 ]]; then
      echo "--- molecule scenario $scenario: not run (arm64 under emulation; SPOTKIT_ARM64=1 runs it)"
      continue
    fi
    echo "--- molecule scenario $scenario"
    start=$SECONDS
    command molecule test --scenario-name "$scenario"
    echo "--- molecule scenario $scenario: $((SECONDS - start))s"
    times+=("$(printf '%-24s %5ss' "$scenario" $((SECONDS - start)))")
  done
  printf '%s\n' "--- molecule scenarios:" "${times[@]}"
}

e2e() {
  if [ -d tests/e2e ]; then pytest tests/e2e --durations=30; else echo "no tests/e2e yet"; fi
}

# Two steps run in the background, each beside the steps that leave a CPU to it; their output follows when they
# end, before any other step starts:
# - sanity beside the quick steps (lint, build, unit): each uses about one CPU, so on two CPUs they all take about
#   as long as sanity alone;
# - integration beside e2e, which waits on its sandbox about half the time: integration runs at the lowest
#   priority, so that it takes only what e2e leaves, and the drills' figures stay e2e's own.
declare -A beside=([sanity]=" lint build unit " [integration]=" e2e ")
lowest_priority=" integration "
background='' background_pid='' background_start=''

start_background() {
  local log=$root/.cache/$1.log
  mkdir -p "$(dirname "$log")"
  # A session of its own, so that a failed foreground step stops all of it (the trap below). setsid
  # forks when it leads a process group already: the session's id comes from the pidfile, and -w
  # makes $! end with the step's own status.
  # At the lowest priority: nice 19 for its processes and, where the kernel shares the CPUs out between sessions
  # first (autogroup, sched(7)), for its session too, or it would get as much as the whole foreground session.
  local nice=0
  [[ $lowest_priority != *" $1 "* ]] || nice=19
  # shellcheck disable=SC2016 # $$ is the inner shell's
  setsid -w sh -c 'echo $$ >"$0" && { [ "$2" = 0 ] || echo "$2" 2>/dev/null >/proc/self/autogroup || true; } &&
    exec nice -n "$2" scripts/test.sh "$1"' "$log.pid" "$1" "$nice" >"$log" 2>&1 &
  background=$1 background_pid=$! background_start=$SECONDS
  trap '[ -z "$background_pid" ] || kill -- -"$(cat "$root/.cache/$background.log.pid")" 2>/dev/null || true' EXIT
}

finish_background() {
  local status=0 log=$root/.cache/$background.log
  wait "$background_pid" || status=$?
  background_pid=
  echo "=== $background (ran beside:${beside[$background]% })"
  cat "$log"
  [ "$status" -eq 0 ] || { echo "spotkit: step $background failed (exit $status)" >&2; exit "$status"; }
  timings+=("$(printf '%-12s %5ss' "$background" $((SECONDS - background_start)))")
}

timings=()
for step in "${steps[@]}"; do
  if ! declare -F "$step" >/dev/null; then
    echo "spotkit: unknown step '$step'; steps: ${all_steps[*]}" >&2
    exit 2
  fi
  if [ -n "$background_pid" ] && [[ ${beside[$background]} != *" $step "* ]]; then
    finish_background
  fi
  # In the background only when a step it runs beside comes next: alone, it runs as any other.
  if [ -n "${beside[$step]:-}" ] && [ "$step" != "${steps[-1]}" ]; then
    start_background "$step"
    continue
  fi
  echo "=== $step"
  start=$SECONDS
  "$step"
  timings+=("$(printf '%-12s %5ss' "$step" $((SECONDS - start)))")
done
if [ -n "$background_pid" ]; then
  finish_background
fi
echo "=== all steps passed"
printf '%s\n' "${timings[@]}"
