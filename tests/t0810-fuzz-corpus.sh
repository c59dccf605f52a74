#!/bin/sh
# The fuzz corpus as regression tests: every input in tests/fuzz/corpus/
# NAME (the seeds, what `make fuzz` kept for coverage, and every input
# that once crashed a target) goes once through the target's
# LLVMFuzzerTestOneInput, built without libFuzzer (replay-NAME). Under
# `make asan` the same replay runs with the sanitizers.
. "$(dirname "$0")/lib.sh"

for name in workflow record handle args http; do
	test_expect_success "fuzz corpus: $name" "
		n=\$(ls \"\$SRC/tests/fuzz/corpus/$name\" | wc -l) &&
		test \$n -gt 0 &&
		replay-$name \"\$SRC/tests/fuzz/corpus/$name\" >out 2>err &&
		grep \"^replayed \$n inputs\$\" out &&
		! grep -i 'sanitizer\\|runtime error' err
	"
done

test_expect_success 'the replay fails on what it cannot read' '
	test_must_fail replay-handle /nonexistent-input 2>err &&
	grep nonexistent-input err
'

# Found by fuzzing: libcurl returned success for "HTTP/200 OK" with no
# status code; dk_http_send now reports an I/O error (retryable, as a
# reset is) instead of a response with status 0.
test_expect_success 'a response without a valid status line is an I/O error' '
	cat >raw-server.py <<-\EOF &&
	import socket, sys
	s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
	print(s.getsockname()[1], flush=True)
	c, _ = s.accept(); c.recv(65536)
	c.sendall(b"HTTP/200 OK\r\n\r\n{\"id\":\"x\"}"); c.close()
	EOF
	python3 raw-server.py >port &
	while ! test -s port; do sleep 0.05; done &&
	test_expect_code 1 http-tool --allow-plain-local POST \
		"http://127.0.0.1:$(cat port)/v1/x" >out 2>err;
	wait &&
	grep "no valid HTTP status line" err
'

# Found by fuzzing the record decoder: a second genesis record given to
# the policy half of verify replaced the policy in force (and leaked the
# first). The chain checks already refuse such a ledger, before the
# policy half sees it; the policy half now refuses it on its own too.
test_expect_success 'verify: a second genesis record is tampering' '
	make_key admin &&
	docket init --admin admin --key admin.pub L >/dev/null &&
	docket note --ledger L "to be replaced" >/dev/null &&
	git --git-dir=L cat-file blob main:00/00/00/00/00.json >g0 &&
	python3 -c "
import hashlib, json, sys
b = open(\"g0\", \"rb\").read()
r = json.loads(b)
r[\"seq\"] = 1
r[\"prev\"] = hashlib.sha256(b).hexdigest()
sys.stdout.write(json.dumps(r, sort_keys=True, separators=(\",\", \":\")) + \"\\n\")
" >g1 &&
	python3 "$SRC/tests/tamper.py" L set-record 1 g1 &&
	test_expect_code 10 docket verify --ledger L >out 2>err &&
	grep "TAMPERED at record 1 .*second genesis record" out &&
	test_expect_code 10 python3 "$SRC/ledger/verify.py" L >out 2>err
'

test_done
