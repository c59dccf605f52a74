#!/bin/sh
# SIGKILL of docket dispatch at each pwrite64 call (the ledger lock's
# intent line; see tests/lib-dispatch-kill.sh).
. "$(dirname "$0")/lib.sh"
KILL_SYSCALL=pwrite64
. "$SRC/tests/lib-dispatch-kill.sh"
