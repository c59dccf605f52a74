# Sourced by t0804 and t0805 after tests/lib.sh: the I/O-error sweep of
# one docket command (strace fault injection; skips the script without
# strace, and under valgrind). Needs L.base, a copy of
# the ledger L to start every attempt from.
#
#   sweep CMD SYSCALL ERRNO ARGS...   fail each call in turn; print counts

skip_under_valgrind 'fault points are counted system calls, and valgrind makes its own'
if ! command -v strace >/dev/null 2>&1; then
	test_skip 'no strace' 'I/O error sweeps of approve and dispatch'
	test_done
fi

# LeakSanitizer cannot run under ptrace
STRACE_ASAN="$ASAN_OPTIONS:detect_leaks=0"

fresh() {
	rm -rf L && cp -a L.base L
}

# sweep CMD SYSCALL ERRNO ARGS...: see above; prints what it saw
sweep() {
	_cmd=$1 _sc=$2 _e=$3
	shift 3
	fresh &&
	ASAN_OPTIONS=$STRACE_ASAN strace -f -qq -o probe -e trace="$_sc" \
		docket "$_cmd" "$@" >probe.out 2>&1 ||
		{ echo "$_cmd: the clean run failed: $(cat probe.out)" >&2; return 1; }
	_calls=$(grep -c "$_sc(" probe)
	[ "$_calls" -gt 0 ] || { echo "$_cmd: no $_sc calls" >&2; return 1; }
	_n=1 _failed=0 _absorbed=0
	# openat: from the first file of the ledger on (before it, the
	# loader and libraries open theirs, which no command can survive)
	if [ "$_sc" = openat ]; then
		_n=$(grep "openat(" probe | grep -n "/L/\|/L\"" | head -n 1 | cut -d: -f1)
	fi
	while [ $_n -le "$_calls" ]; do
		fresh || return 1
		_rc=0
		ASAN_OPTIONS=$STRACE_ASAN strace -f -qq -o /dev/null \
			-e trace="$_sc" -e inject="$_sc":error="$_e":when=$_n \
			docket "$_cmd" "$@" >out 2>err || _rc=$?
		if [ $_rc -ge 128 ]; then
			echo "$_cmd $_sc $_e #$_n: died with $_rc" >&2
			return 1
		elif [ $_rc = 0 ]; then
			_absorbed=$((_absorbed + 1))
		elif ! grep -q "^docket: $_cmd: " err &&
			! grep -q "^wrp://.*\(error\|failed\|did not continue\)\|did not continue" out; then
			echo "$_cmd $_sc $_e #$_n: no message: $(cat err)" >&2
			return 1
		else
			_failed=$((_failed + 1))
		fi
		docket verify -q || {
			echo "$_cmd $_sc $_e #$_n: ledger does not verify" >&2
			return 1
		}
		# the fault gone, the same command succeeds, or finds the
		# work done (a vote already recorded is refused, exit 7)
		_rc=0
		docket "$_cmd" "$@" >out2 2>err2 || _rc=$?
		if [ $_rc != 0 ] && ! { [ $_rc = 7 ] &&
			grep -q "already voted" err2; }; then
			echo "$_cmd $_sc $_e #$_n: no recovery ($_rc): $(cat err2 out2)" >&2
			return 1
		fi
		docket verify -q || return 1
		_n=$((_n + 1))
	done
	echo "$_cmd $_sc $_e: $_calls calls, $_failed failed cleanly, $_absorbed absorbed"
}

