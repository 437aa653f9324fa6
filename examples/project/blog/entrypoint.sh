#!/bin/sh
# Started as root with CHOWN, SETUID and SETGID only: gives Caddy's data directory to caddy (on a new
# instance Docker creates the host directory as root), then runs the command as caddy, with no capability
# left. Only /data itself: what is below it caddy wrote (its uid is fixed in the image, and a restore keeps
# owners), in directories of mode 0700 that root without DAC_READ_SEARCH could not even walk.
set -eu
if [ "$(id -u)" -eq 0 ]; then
	chown caddy:caddy /data
	exec setpriv --reuid=caddy --regid=caddy --clear-groups --inh-caps=-all -- "$@"
fi
exec "$@"
