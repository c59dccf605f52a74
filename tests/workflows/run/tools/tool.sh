#!/bin/sh
# The exec tool of the docket run tests: tools/tool.sh MODE, the step's
# args as JSON on stdin (docket sends them compact, keys sorted).
#
#   step    append "N" to $RUN_DIR/effects and print {"n": N, "usage":
#           {"input_tokens": T}} (T from the args); but when
#           $RUN_DIR/kill-at holds N, first remove it and SIGKILL the
#           parent (docket-run), as a crash at the start of step N would
#   usage   print {"usage": {"input_tokens": T}} (T from the args)
#   echo    print the args back as {"echo": ARGS}
#   secret  print {"pin": "PIN-OUTPUTSECRET-42", "public": "visible"}
#   badjson print something that is not JSON
#   hang    sleep far past any timeout
#   big     print 100 MB
#   fat     print a valid JSON object of 5 MB
#   fail    complain on stderr and exit 3
#   wait    append "wait" to $RUN_DIR/effects, then wait (at most 30 s)
#           for the file $RUN_DIR/go and print {}
set -u
in=$(cat)
num() { printf '%s' "$in" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
case "$1" in
step)
	n=$(num n)
	if [ -f "$RUN_DIR/kill-at" ] && [ "$(cat "$RUN_DIR/kill-at")" = "$n" ]; then
		rm -f "$RUN_DIR/kill-at"
		kill -KILL "$PPID"
		exit 1
	fi
	echo "$n" >>"$RUN_DIR/effects"
	printf '{"n": %s, "usage": {"input_tokens": %s}}\n' "$n" "$(num tokens)"
	;;
usage)
	printf '{"usage": {"input_tokens": %s, "output_tokens": 1}}\n' "$(num tokens)"
	;;
echo) printf '{"echo": %s}\n' "$in" ;;
secret) printf '{"pin": "PIN-OUTPUTSECRET-42", "public": "visible"}\n' ;;
badjson) printf '{"answer": tru\n' ;;
hang) exec sleep 60 ;;
big) head -c 104857600 /dev/zero ;;
fat)
	printf '{"fat": "'
	head -c 5000000 /dev/zero | tr '\0' a
	printf '"}\n'
	;;
wait)
	echo wait >>"$RUN_DIR/effects"
	i=0
	while [ ! -f "$RUN_DIR/go" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	echo '{}'
	;;
fail)
	echo "tool.sh: something broke" >&2
	exit 3
	;;
*)
	echo "tool.sh: unknown mode $1" >&2
	exit 2
	;;
esac
