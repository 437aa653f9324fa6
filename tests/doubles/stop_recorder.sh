#!/bin/sh
# Test double for `systemctl stop` (and `systemctl start --no-block`): appends one line with the units it was asked
# to stop (or start) to the file named by its first argument, and stops (starts) nothing.  Usage: stop_recorder.sh RECORD UNIT...
record=$1
shift
printf '%s\n' "$*" >>"$record"
