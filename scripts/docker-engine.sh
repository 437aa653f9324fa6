#!/usr/bin/env bash
# Make sure a Docker engine answers. On Debian as root, install docker.io and start dockerd when
# none does; elsewhere say what is missing.
set -euo pipefail

engine_answers() { docker info >/dev/null 2>&1; }
engine_answers && exit 0

if [ "$(id -u)" -ne 0 ] || [ ! -f /etc/debian_version ]; then
  echo "spotkit: no Docker engine answers (docker info failed). Start Docker and retry;" \
       "on Debian as root this script installs docker.io and starts it itself." >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "spotkit: no Docker engine answers; installing Debian's docker.io package"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  echo "spotkit: starting docker.service"
  systemctl start docker
else
  log=/var/log/spotkit-dockerd.log
  echo "spotkit: no Docker engine answers; starting dockerd in the background (log: $log)"
  # Close every inherited descriptor above stderr first: a caller's flock lock (or a pipe) held by
  # a daemon that outlives the caller would never be released.
  (
    for fd in "/proc/$BASHPID/fd/"*; do
      fd=${fd##*/}
      [ "$fd" -gt 2 ] && eval "exec $fd>&-"
    done
    exec nohup dockerd >"$log" 2>&1 </dev/null
  ) &
fi
for _ in $(seq 60); do
  engine_answers && { echo "spotkit: Docker engine is up"; exit 0; }
  sleep 1
done
echo "spotkit: dockerd did not answer within 60 s; see its log" >&2
exit 1
