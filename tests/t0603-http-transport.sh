#!/bin/sh
# Transport safety in lib/http: https only (plain http only to loopback,
# and only when allowed), TLS verified, no redirects, nothing sent when a
# URL is refused.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-provider.sh"

# LeakSanitizer cannot run under strace (ptrace): off for those commands.
# A self-signed certificate for 127.0.0.1 and localhost.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
	-keyout key.pem -out cert.pem >/dev/null 2>&1
start_provider TLS --tls-cert cert.pem --tls-key key.pem
TP=$(provider_port TLS)
start_provider P
U=$(provider_url P)
J='Content-Type: application/json'

test_expect_success 'a self-signed certificate is refused' '
	test_expect_code 6 http-tool --retry 3 -H "$J" -k t1 \
		-d "{\"amount\":1}" POST https://127.0.0.1:$TP/v1/refunds \
		>out 2>err &&
	grep -q "^neterr=tls$" out &&
	grep -q "^verdict=failed$" out &&
	grep -q "^attempts=1$" out &&
	grep -qi "certificate" err &&
	wait_log TLS "\"event\":\"tls_handshake_failed\"" &&
	test "$(requests TLS)" = 0 &&
	test "$(effects TLS)" = 0
'

test_expect_success 'the same server is accepted with its certificate as CA' '
	http-tool --ca-file cert.pem -H "$J" -k t2 -d "{\"amount\":1}" \
		POST https://127.0.0.1:$TP/v1/refunds >out &&
	grep -q "^verdict=success$" out &&
	test "$(effects TLS t2)" = 1
'

test_expect_success 'a certificate for another host name is refused' '
	test_expect_code 6 http-tool --ca-file cert.pem \
		GET https://other.localhost:$TP/v1/ping >out 2>err &&
	grep -q "^neterr=tls$" out &&
	grep -q "other.localhost" err
'

test_expect_success 'a missing CA file is a TLS failure, not a fallback' '
	test_expect_code 6 http-tool --ca-file nope.pem \
		GET https://127.0.0.1:$TP/v1/ping >out &&
	grep -q "^neterr=tls$" out
'

test_expect_success 'plain http is refused without --allow-plain-local' '
	before=$(requests P) &&
	test_expect_code 6 http-tool GET $U/v1/ping >out 2>err &&
	grep -q "^neterr=policy$" out &&
	grep -q "only https is allowed" err &&
	test "$(requests P)" = "$before"
'

test_expect_success 'plain http to a non-local host is refused before connecting' '
	test_expect_code 6 http-tool --allow-plain-local --retry 5 \
		POST http://example.invalid/v1/refunds >out 2>err &&
	grep -q "^neterr=policy$" out &&
	grep -q "^attempts=1$" out &&
	grep -q "host is not local" err
'

test_expect_success 'no lookup and no connection happen for a refused URL' '
	before=$(requests P) &&
	http_proxy=$U HTTP_PROXY=$U https_proxy=$U ALL_PROXY=$U \
	ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=connect,sendto,sendmsg -o trace \
		http-tool --allow-plain-local POST http://example.invalid/x \
		>out 2>err;
	test $? = 6 &&
	! grep -E "sin_port|sin6_port" trace &&
	test "$(requests P)" = "$before"
'

test_expect_success 'the strace check above would see a connection' '
	ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=connect -o trace2 \
		http-tool --allow-plain-local GET $U/v1/ping >out &&
	grep -q "sin_port=htons($(provider_port P))" trace2
'

test_expect_success 'only loopback hosts count as local' '
	for url in http://127.0.0.1/ http://127.9.8.7:80/x http://localhost:1/ \
		http://LOCALHOST/ "http://[::1]:8080/"; do
		http-tool --allow-plain-local --check-url GET "$url" >/dev/null ||
			{ echo "refused $url"; exit 1; }
	done &&
	for url in http://10.0.0.1/ http://128.0.0.1/ http://localhost.example.com/ \
		http://127.0.0.1.nip.io/ "http://[::2]/" http://0.0.0.0/ \
		"http://[::ffff:127.0.0.1]/" http://example.invalid/; do
		test_expect_code 6 http-tool --allow-plain-local --check-url \
			GET "$url" 2>/dev/null >/dev/null ||
			{ echo "allowed $url"; exit 1; }
	done
'

test_expect_success 'other schemes and credentials in the URL are refused' '
	for url in ftp://127.0.0.1/ file:///etc/passwd gopher://localhost/ \
		"https://user:pass@example.com/"; do
		test_expect_code 6 http-tool --allow-plain-local GET "$url" \
			>/dev/null 2>err || { echo "allowed $url"; exit 1; }
	done &&
	grep -q "credentials" err &&
	! grep -q pass err
'

test_expect_success 'a malformed URL or header is an error' '
	test_expect_code 6 http-tool GET "not a url" >out 2>err &&
	grep -q "malformed URL" err &&
	test_expect_code 6 http-tool --allow-plain-local -H "NoColon" \
		GET $U/v1/ping >out 2>err &&
	grep -q "malformed header" err
'

test_expect_success 'https redirects are not followed either' '
	before=$(grep -c "\"path\":\"/v1/refunds\"" TLS.log) &&
	test_expect_code 6 http-tool --ca-file cert.pem \
		POST https://127.0.0.1:$TP/redirect >out &&
	grep -q "^status=302$" out &&
	test "$(grep -c "\"path\":\"/v1/refunds\"" TLS.log)" = "$before"
'

test_done
