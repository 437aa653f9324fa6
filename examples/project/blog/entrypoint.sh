#!/bin/sh
# Started as root with CHOWN, SETUID and SETGID only: gives Caddy's data directory to caddy (on a new
# instance Docker creates the host directory as root; restored files may carry another image's uid),
# then runs the command as caddy, with no capability left.
set -eu
if [ "$(id -u)" -eq 0 ]; then
	find /data ! \( -user caddy -group caddy \) -exec chown -h caddy:caddy {} +
	exec setpriv --reuid=caddy --regid=caddy --clear-groups --inh-caps=-all -- "$@"
fi
exec "$@"
