#!/bin/sh
# SIGKILL of docket dispatch at each write call (see tests/lib-dispatch-kill.sh).
. "$(dirname "$0")/lib.sh"
KILL_SYSCALL=write
. "$SRC/tests/lib-dispatch-kill.sh"
