#!/bin/sh
# dk_http_send_all: many provider actions at once over libcurl's multi
# interface, each with its own retry loop, still one side effect each.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/lib-provider.sh"

start_provider P
U=$(provider_url P)
J='Content-Type: application/json'
many() {
	http-tool --allow-plain-local -H "$J" -d '{"amount":900}' --retry 8 \
		--base-ms 50 --cap-ms 300 "$@" POST "$U/v1/refunds"
}
# Every key PREFIX-1..N has exactly one side effect.
once_each() {
	i=1
	while [ $i -le "$2" ]; do
		test "$(effects P "$1-$i")" = 1 ||
			{ echo "$1-$i: $(effects P "$1-$i") effects"; return 1; }
		i=$((i + 1))
	done
	test "$(grep '"event":"effect"' P.log | grep -c "\"key\":\"$1-")" = "$2"
}
faults() {
	provider_ctl P DELETE /__faults >/dev/null &&
	provider_fault P "{\"rules\":[
		{\"fault\":\"drop\",\"path\":\"/v1/refunds\",\"nth\":[2,9]},
		{\"fault\":\"500\",\"path\":\"/v1/refunds\",\"nth\":[3,4,12]},
		{\"fault\":\"reset\",\"path\":\"/v1/refunds\",\"nth\":[6]},
		{\"fault\":\"429\",\"retry_after\":1,\"path\":\"/v1/refunds\",\"nth\":[7]},
		{\"fault\":\"delay\",\"seconds\":0.5,\"path\":\"/v1/refunds\",\"nth\":[10]}]}"
}

for n in 1 4 16; do
	test_expect_success "16 actions, $n in flight, faults injected: one effect each" '
		faults &&
		many --count 16 --parallel '$n' -k par'$n' >out 2>err &&
		grep -q "^success=16 of 16$" out &&
		once_each par'$n' 16 &&
		grep -q "status 500 verdict retry" err &&
		grep -q "status 429 verdict retry.* wait 1[0-9][0-9][0-9] ms" err
	'
done

test_expect_success 'a final refusal stops only its own job' '
	provider_ctl P DELETE /__faults >/dev/null &&
	provider_fault P "{\"fault\":\"400\",\"path\":\"/v1/refunds\",\"nth\":[3]}" &&
	test_expect_code 5 many --count 6 --parallel 3 -k ref >out 2>err &&
	grep -q "^success=5 of 6$" out &&
	grep -q "verdict=provider-refused attempts=1" out &&
	test "$(grep "\"event\":\"effect\"" P.log | grep -c "\"key\":\"ref-")" = 5
'

test_expect_success 'a job that runs out of attempts reports why' '
	provider_ctl P DELETE /__faults >/dev/null &&
	provider_fault P "{\"fault\":\"503\",\"path\":\"/v1/refunds\",\"times\":100}" &&
	test_expect_code 5 http-tool --allow-plain-local -H "$J" \
		-d "{\"amount\":1}" --retry 2 --base-ms 10 --count 3 \
		--parallel 3 -k gone POST $U/v1/refunds >out 2>err &&
	grep -q "^success=0 of 3$" out &&
	test "$(grep -c "gave up after 2 attempts: last status 503" err)" = 3 &&
	provider_ctl P DELETE /__faults >/dev/null
'

test_expect_success 'a refused URL fails each job without sending' '
	test_expect_code 5 http-tool --count 2 -k x GET http://example.invalid/ \
		>out 2>err &&
	test "$(grep -c "verdict=failed attempts=1" out)" = 2 &&
	grep -q "host is not local\|only https" err
'

test_done
