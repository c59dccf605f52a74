#!/bin/sh
# Transport safety through docket dispatch: plain http only to hosts the
# workflow marks local (refused before any connection, nothing recorded),
# TLS always verified (a self-signed server is refused; --ca-file trusts
# it), redirects never followed.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-provider.sh"
. "$SRC/tests/lib-dispatch.sh"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
	-keyout key.pem -out cert.pem >/dev/null 2>&1
dispatch_setup || exit 1
start_provider tls --api-key "$PAY_KEY" --tls-cert cert.pem --tls-key key.pem
TLS_URL=https://127.0.0.1:$(provider_port tls)

test_expect_success 'plain http to a non-local host is refused before any connection; nothing recorded' '
	P=$(new_run ORD-1 1000) && echo "$P" >p1 &&
	docket head --json >before &&
	DOCKET_PAY_URL=http://example.invalid ASAN_OPTIONS=detect_leaks=0 \
		strace -f -e trace=connect -o trace docket dispatch "$P" >out 2>err;
	test $? = 1 &&
	grep "refusing plain http to .http://example.invalid/v1/refunds.: host is not local" err &&
	! grep -E "sin_port|sin6_port" trace &&
	docket head --json >after &&
	test_cmp before after
'

test_expect_success 'a loopback host the provider does not list as local is refused too' '
	test_expect_code 1 env DOCKET_PAY_URL=http://localhost:$(provider_port pay) \
		docket dispatch "$(cat p1)" >out 2>err &&
	grep "plain http to localhost is refused" err &&
	test "$(requests pay)" = 0
'

test_expect_success 'ftp and credentials in the URL are refused' '
	test_expect_code 1 env DOCKET_PAY_URL=ftp://127.0.0.1 \
		docket dispatch "$(cat p1)" 2>err &&
	test_expect_code 1 env DOCKET_PAY_URL=https://user:pw@127.0.0.1 \
		docket dispatch "$(cat p1)" 2>err &&
	! grep "pw@" err &&
	docket head --json >after &&
	test_cmp before after
'

test_expect_success 'a self-signed TLS server is refused: failed, no side effect' '
	test_expect_code 1 env DOCKET_PAY_URL=$TLS_URL \
		docket dispatch "$(cat p1)" >out &&
	grep "pay.refund: failed" out &&
	grep -i "tls" out &&
	test "$(effects tls)" = 0 &&
	docket log --json -n 100 --type dispatch.result |
		jq -e ".[0].body.outcome == \"failed\" and .[0].body.status == null"
'

test_expect_success 'with --ca-file the same server is trusted' '
	P=$(new_run ORD-2 1000) &&
	DOCKET_PAY_URL=$TLS_URL docket dispatch --ca-file cert.pem "$P" >out &&
	grep "pay.refund: succeeded" out &&
	grep "pay.mail: succeeded" out &&
	test "$(effects tls "$(key_of "$P")")" = 1
'

test_expect_success 'DOCKET_CA_FILE does the same' '
	P=$(new_run ORD-3 1000) &&
	DOCKET_CA_FILE=cert.pem DOCKET_PAY_URL=$TLS_URL docket dispatch "$P" >out &&
	grep "pay.refund: succeeded" out
'

test_expect_success 'a redirect is not followed: failed, nothing sent to its target' '
	P=$(new_run ORD-4 1000) &&
	before=$(requests pay) &&
	test_expect_code 1 env "DOCKET_PAY_URL=$DOCKET_PAY_URL/redirect?to=" \
		docket dispatch "$P" >out &&
	grep "pay.refund: failed HTTP 302" out &&
	test "$(requests pay)" = $((before + 1)) &&
	test "$(effects pay)" = 0
'

test_expect_success 'the ledger verifies; the key is nowhere' '
	docket verify >/dev/null &&
	ledger_objects >objects && ! grep -a "$PAY_KEY" objects &&
	! grep "$PAY_KEY" out err
'

test_done
