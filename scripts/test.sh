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

all_steps=(setup sanity lint build unit integration molecule e2e)
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

# sanity runs in the background while the quick steps (lint, build, unit) run: each uses about one
# CPU, so on two CPUs they all take about as long as sanity alone. Its output follows when it ends,
# before any other step starts.
quick_steps=" lint build unit "
sanity_log=$root/.cache/sanity.log
sanity_pid=

start_sanity() {
  mkdir -p "$(dirname "$sanity_log")"
  # A session of its own, so that a failed foreground step stops all of it (the trap below). setsid
  # forks when it leads a process group already: the session's id comes from the pidfile, and -w
  # makes $! end with sanity's own status.
  # shellcheck disable=SC2016 # $$ is the inner shell's
  setsid -w sh -c 'echo $$ >"$0" && exec scripts/sanity.sh' "$sanity_log.pid" >"$sanity_log" 2>&1 &
  sanity_pid=$! sanity_start=$SECONDS
  trap '[ -z "$sanity_pid" ] || kill -- -"$(cat "$sanity_log.pid")" 2>/dev/null || true' EXIT
}

finish_sanity() {
  local status=0
  wait "$sanity_pid" || status=$?
  sanity_pid=
  echo "=== sanity (ran beside the quick steps)"
  cat "$sanity_log"
  [ "$status" -eq 0 ] || { echo "spotkit: step sanity failed (exit $status)" >&2; exit "$status"; }
  timings+=("$(printf '%-12s %5ss' sanity $((SECONDS - sanity_start)))")
}

timings=()
for step in "${steps[@]}"; do
  if ! declare -F "$step" >/dev/null; then
    echo "spotkit: unknown step '$step'; steps: ${all_steps[*]}" >&2
    exit 2
  fi
  if [ "$step" = sanity ]; then
    start_sanity
    continue
  fi
  if [ -n "$sanity_pid" ] && [[ $quick_steps != *" $step "* ]]; then
    finish_sanity
  fi
  echo "=== $step"
  start=$SECONDS
  "$step"
  timings+=("$(printf '%-12s %5ss' "$step" $((SECONDS - start)))")
done
if [ -n "$sanity_pid" ]; then
  finish_sanity
fi
echo "=== all steps passed"
printf '%s\n' "${timings[@]}"
