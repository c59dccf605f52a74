# Sourced by CLI tests (after tests/lib.sh) that talk to the fake provider
# (tests/fake-provider.py) on 127.0.0.1.
#
#   start_provider NAME [FLAGS...]   start one; sets NAME_URL etc. through
#                                    files: NAME.port, NAME.log, NAME.pid
#   provider_url NAME                http://127.0.0.1:PORT
#   provider_ctl NAME METHOD PATH [JSON]   call a control endpoint
#   provider_fault NAME JSON         add a fault rule (see fake-provider.py)
#   effects NAME [KEY]               side effects performed (for KEY)
#   requests NAME [KEY]              provider requests received (for KEY)
#   wait_log NAME PATTERN            wait (10 s at most) for a log line
#   stop_provider NAME               stop it (also done at exit)
#
# Every provider stops by itself after PROVIDER_MAX_SECONDS (default 120).

_providers=""

start_provider() {
	_pn=$1
	shift
	rm -f "$TRASH/$_pn.port" "$TRASH/$_pn.log"
	python3 "$SRC/tests/fake-provider.py" --port-file "$TRASH/$_pn.port" \
		--log "$TRASH/$_pn.log" \
		--max-seconds "${PROVIDER_MAX_SECONDS:-120}" "$@" \
		2>"$TRASH/$_pn.stderr" &
	echo $! >"$TRASH/$_pn.pid"
	_providers="$_providers $_pn"
	_i=0
	while [ ! -s "$TRASH/$_pn.port" ]; do
		_i=$((_i + 1))
		if [ $_i -gt 200 ]; then
			echo "provider $_pn did not start" >&2
			cat "$TRASH/$_pn.stderr" >&2
			return 1
		fi
		sleep 0.05
	done
	# Listening (unless started with --refuse-for) once "start" is logged.
	wait_log "$_pn" '"event":"start"'
}

provider_port() {
	cat "$TRASH/$1.port"
}

provider_url() {
	echo "http://127.0.0.1:$(provider_port "$1")"
}

provider_ctl() {
	curl -sS --max-time 10 --noproxy '*' -X "$2" ${4:+-d "$4"} \
		"$(provider_url "$1")$3"
}

provider_fault() {
	provider_ctl "$1" POST /__faults "$2" >/dev/null
}

effects() {
	if [ -n "${2:-}" ]; then
		grep '"event":"effect"' "$TRASH/$1.log" |
			grep -c "\"key\":\"$2\"" || :
	else
		grep -c '"event":"effect"' "$TRASH/$1.log" || :
	fi
}

requests() {
	if [ -n "${2:-}" ]; then
		grep '"event":"request"' "$TRASH/$1.log" |
			grep -c "\"key\":\"$2\"" || :
	else
		grep -c '"event":"request"' "$TRASH/$1.log" || :
	fi
}

wait_log() {
	_i=0
	until grep -q "$2" "$TRASH/$1.log" 2>/dev/null; do
		_i=$((_i + 1))
		if [ $_i -gt 200 ]; then
			echo "no '$2' in $1.log" >&2
			return 1
		fi
		sleep 0.05
	done
}

stop_provider() {
	[ -f "$TRASH/$1.pid" ] || return 0
	_pid=$(cat "$TRASH/$1.pid")
	kill "$_pid" 2>/dev/null
	_i=0
	while kill -0 "$_pid" 2>/dev/null && [ $_i -lt 100 ]; do
		_i=$((_i + 1))
		sleep 0.05
	done
	rm -f "$TRASH/$1.pid"
}

_stop_all_providers() {
	for _p in $_providers; do
		stop_provider "$_p"
	done
}
trap '_stop_all_providers; _test_cleanup' EXIT
