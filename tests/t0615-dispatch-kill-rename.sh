#!/bin/sh
# SIGKILL of docket dispatch at each rename call (see tests/lib-dispatch-kill.sh).
. "$(dirname "$0")/lib.sh"
KILL_SYSCALL=rename
. "$SRC/tests/lib-dispatch-kill.sh"
