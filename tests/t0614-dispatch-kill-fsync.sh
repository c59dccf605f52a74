#!/bin/sh
# SIGKILL of docket dispatch at each fsync call (see tests/lib-dispatch-kill.sh).
. "$(dirname "$0")/lib.sh"
KILL_SYSCALL=fsync
. "$SRC/tests/lib-dispatch-kill.sh"
