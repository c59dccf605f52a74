#!/bin/sh
# A real full disk: a ledger on a tiny tmpfs, appended to until the file
# system is full. Each failed append exits non-zero with a clear message
# and prints no success; the ledger verifies; once space is freed, the
# next append succeeds.
DOCKET_FSYNC=1
. "$(dirname "$0")/lib.sh"

M=$TRASH/mnt
mkdir -p "$M"
if ! mount -t tmpfs -o size=1m tmpfs "$M" 2>/dev/null; then
	test_skip 'cannot mount a tmpfs here (needs root)' 'a real ENOSPC'
	test_done
fi
trap 'umount "$M" 2>/dev/null; _test_cleanup' EXIT

test_expect_success 'setup: a ledger on a 1 MiB tmpfs, nearly filled' '
	make_key admin &&
	docket init --admin admin --key admin.pub "$M/L" >/dev/null &&
	free=$(df -k --output=avail "$M" | tail -n 1) &&
	dd if=/dev/zero of="$M/filler" bs=1k count=$((free - 48)) 2>/dev/null;
	test -f "$M/filler"
'

test_expect_success 'appends until the disk is full: clear errors, nothing half-written' '
	i=0 && full=0 &&
	while [ $i -lt 200 ]; do
		rc=0
		docket note --ledger "$M/L" "fill-$i" >out 2>err || rc=$?
		if [ $rc != 0 ]; then
			full=$((full + 1))
			test ! -s out || { echo "printed success: $(cat out)"; exit 1; }
			grep -q "^docket: note: .*No space left on device" err ||
				{ echo "unclear: $(cat err)"; exit 1; }
			docket verify --ledger "$M/L" -q ||
				{ echo "does not verify after a failed append"; exit 1; }
			[ $full -ge 3 ] && break
		fi
		i=$((i + 1))
	done &&
	test $full -ge 3
'

test_expect_success 'once space is freed, the next append succeeds' '
	rm -f "$M/filler" &&
	docket note --ledger "$M/L" "after" >/dev/null &&
	docket verify --ledger "$M/L" -q &&
	git -C "$M/L" fsck --strict --no-dangling >/dev/null
'

test_done
