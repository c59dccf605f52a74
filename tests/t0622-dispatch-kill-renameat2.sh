#!/bin/sh
# SIGKILL of docket dispatch at each renameat2 call: the ledger branch
# moves by RENAME_EXCHANGE (see tests/lib-dispatch-kill.sh).
. "$(dirname "$0")/lib.sh"
KILL_SYSCALL=renameat2
. "$SRC/tests/lib-dispatch-kill.sh"
