#!/bin/sh
# Test double for `systemctl stop`: appends one line with the units it was asked to stop to the file
# named by its first argument, and stops nothing.  Usage: stop_recorder.sh RECORD UNIT...
record=$1
shift
printf '%s\n' "$*" >>"$record"
