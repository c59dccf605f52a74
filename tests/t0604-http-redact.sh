#!/bin/sh
# Secrets given to lib/http never come back out of it: not in response
# bodies or headers a provider echoes, not in libcurl's error messages, not
# in lib/http's own. http-tool prints what the library returns, untouched.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-provider.sh"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
	-keyout key.pem -out cert.pem >/dev/null 2>&1
start_provider P
start_provider A --api-key sk_test_right
start_provider TLS --tls-cert cert.pem --tls-key key.pem
U=$(provider_url P)
AU=$(provider_url A)
TP=$(provider_port TLS)
J='Content-Type: application/json'
CANARY=sk_live_canary_7f3a9c21e
export CANARY
ht() { http-tool --allow-plain-local "$@"; }
# No canary anywhere in the files named.
clean() { ! grep -F "$CANARY" "$@"; }

test_expect_success 'a secret echoed in a body and a header is redacted' '
	ht --secret CANARY -H "Authorization: Bearer \${CANARY}" \
		-d "token=\${CANARY}" POST $U/v1/echo >out 2>err &&
	grep -q "X-Echo-Authorization: Bearer \[REDACTED\]" out &&
	grep -q "\"Authorization\": \"Bearer \[REDACTED\]\"" out &&
	grep -q "\"body\": \"token=\[REDACTED\]\"" out &&
	clean out err
'

test_expect_success 'without --secret the same echo shows it (the check can fail)' '
	ht -H "Authorization: Bearer $CANARY" POST $U/v1/echo >out 2>err &&
	grep -qF "$CANARY" out
'

test_expect_success 'a secret echoed JSON-escaped is redacted too' '
	Q="sk_q\"uo\\\\te/$CANARY" &&
	export Q &&
	ht --secret Q -H "Authorization: Bearer \${Q}" POST $U/v1/echo \
		>out 2>err &&
	grep -q "\"Authorization\": \"Bearer \[REDACTED\]\"" out &&
	clean out err && ! grep -F "uo\\\\\\\\te" out
'

test_expect_success 'a wrong key echoed in a 401 error message is redacted' '
	test_expect_code 3 ht --secret CANARY \
		-H "Authorization: Bearer \${CANARY}" -H "$J" \
		-d "{\"amount\":1}" POST $AU/v1/refunds >out 2>err &&
	grep -q "^status=401$" out &&
	grep -q "Invalid API Key provided: \[REDACTED\]" out &&
	clean out err
'

test_expect_success 'a secret echoed on every retry is redacted in each' '
	provider_fault P "{\"fault\":\"500\",\"path\":\"/v1/refunds\",\"times\":1}" &&
	provider_fault P "{\"fault\":\"echo\",\"path\":\"/v1/refunds\",\"times\":3}" &&
	ht --secret CANARY --retry 3 --base-ms 20 \
		-H "Authorization: Bearer \${CANARY}" -H "$J" -k e1 \
		-d "{\"amount\":1}" POST $U/v1/refunds >out 2>err &&
	grep -q "^attempts=2$" out &&
	grep -q "\"echo_authorization\": \"Bearer \[REDACTED\]\"" out &&
	grep -q "^X-Echo-Authorization: Bearer \[REDACTED\]" out &&
	clean out err
'

test_expect_success 'libcurl error messages are redacted (connect)' '
	start_provider DEAD && DP=$(provider_port DEAD) && stop_provider DEAD &&
	test_expect_code 5 http-tool --secret CANARY \
		GET "https://\${CANARY}.localhost:$DP/" >out 2>err &&
	grep -q "connect to \[REDACTED\].localhost" err &&
	clean out err &&
	test_expect_code 5 http-tool GET "https://$CANARY.localhost:$DP/" \
		>out 2>err &&
	grep -qF "$CANARY" err
'

test_expect_success 'libcurl error messages are redacted (TLS host name)' '
	test_expect_code 6 http-tool --secret CANARY --ca-file cert.pem \
		GET "https://\${CANARY}.localhost:$TP/" >out 2>err &&
	grep -q "^neterr=tls$" out &&
	grep -q "\[REDACTED\].localhost" err &&
	clean out err
'

test_expect_success 'a secret in the URL is redacted from lib/http messages' '
	provider_ctl P DELETE /__faults >/dev/null &&
	provider_fault P "{\"fault\":\"reset\",\"path\":\"/v1/refunds\"}" &&
	test_expect_code 5 ht --secret CANARY -H "$J" -d "{\"amount\":1}" \
		POST "$U/v1/refunds?key=\${CANARY}" >out 2>err &&
	grep -q "refunds?key=\[REDACTED\]" err &&
	clean out err &&
	test_expect_code 6 http-tool --secret CANARY \
		GET "http://example.invalid/?key=\${CANARY}" >out 2>err &&
	grep -q "key=\[REDACTED\]" err &&
	clean out err
'

test_expect_success 'the real secret is sent, only the output is redacted' '
	RIGHT=sk_test_right &&
	export RIGHT &&
	ht --secret RIGHT -H "Authorization: Bearer \${RIGHT}" -H "$J" \
		-k ok1 -d "{\"amount\":1}" POST $AU/v1/refunds >out 2>err &&
	grep -q "^status=200$" out &&
	test "$(effects A ok1)" = 1 &&
	! grep -F sk_test_right out err
'

test_expect_success 'a secret cut short in a truncated libcurl message is removed' '
	L=$(python3 -c "print(\".\".join([\"a\" * 60] * 3 + [\"b\" * 35]))") &&
	start_provider DEAD2 && DP=$(provider_port DEAD2) && stop_provider DEAD2 &&
	test_expect_code 5 http-tool GET "https://$L.$CANARY.localhost:$DP/" \
		>out 2>err &&
	grep -q "connect to .*\.sk_live_canary" err &&
	test_expect_code 5 http-tool --secret CANARY \
		GET "https://$L.\${CANARY}.localhost:$DP/" >out 2>err &&
	! grep -q "sk_live_can" err &&
	grep -q "connect to .*b\.\[REDACTED\]" err
'

test_done
