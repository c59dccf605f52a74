#!/bin/sh
# The tamper matrix of t0201 again, each tampered ledger repacked into a
# single pack (git repack -ad) before both verifiers run: packing changes
# no verdict.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/tamper-lib.sh"
TAMPER_REPACK=1
. "$SRC/tests/tamper-matrix.sh"

test_done
