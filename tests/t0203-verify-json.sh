#!/bin/sh
# The JSON edge cases where two JSON parsers tend to disagree: docket
# (jansson) and ledger/verify.py (Python's json) must give the same
# verdict on each, as FORMAT.md ("Records") defines it. Each case
# replaces the newest record's body text with raw bytes (the commit's
# Docket-Record trailer fixed, so only the JSON rule decides).
. "$(dirname "$0")/lib.sh"

TAMPER="python3 $SRC/tests/tamper.py"
VERIFY_PY="python3 $SRC/ledger/verify.py"

# A case per line: VERDICT<TAB>python bytes literal for the text value
cat >cases <<'CASES'
ok	b'"plain"'
ok	b'"\\u00e9 \xc3\xa9 \\/"'
ok	b'"\\ud83d\\ude00"'
ok	b'"a\\\\u0000b"'
ok	b'"\\\\ud800"'
ok	b'9223372036854775807'
ok	b'-9223372036854775808'
ok	b'1e-400'
ok	b'-0'
ok	b'1.5E+3'
ok	b'true'
ok	b'"a"  \t '
ok	b'[' * 2046 + b']' * 2046
ok	b'{"a":' * 2045 + b'1' + b'}' * 2045
tampered	b'[' * 2047 + b']' * 2047
tampered	b'{"a":' * 2046 + b'1' + b'}' * 2046
tampered	b'[' * 100000 + b']' * 100000
tampered	b'"a\\u0000b"'
tampered	b'"\\ud800"'
tampered	b'"\\udc00x"'
tampered	b'99999999999999999999'
tampered	b'-9223372036854775809'
tampered	b'1e400'
tampered	b'NaN'
tampered	b'-Infinity'
tampered	b'01'
tampered	b'"tab\tin"'
tampered	b'"x", "text": "dup"'
tampered	b'"\xc3"'
tampered	b'"\xc0\xaf"'
tampered	b'"\xed\xa0\x80"'
tampered	b'"\xf4\x90\x80\x80"'
tampered	b'[1,]'
tampered	b'"a" "b"'
CASES

test_expect_success 'setup: a ledger of 4 records, and the cases' '
	make_ledger B &&
	for i in 1 2 3; do docket note --ledger B "text $i" >/dev/null || exit 1; done &&
	git --git-dir=B cat-file blob main:00/00/00/00/03.json >r3 &&
	python3 - <<-PY
	import ast
	r = open("r3", "rb").read()
	assert b"\"text\":\"text 3\"" in r
	for n, line in enumerate(open("cases", encoding="utf-8")):
	    verdict, lit = line.rstrip("\n").split("\t", 1)
	    val = eval(lit)
	    with open("case%02d.rec" % n, "wb") as f:
	        f.write(r.replace(b"\"text\":\"text 3\"", b"\"text\":" + val))
	    with open("case%02d.want" % n, "w") as f:
	        f.write(verdict + "\n")
	PY
	test -f case33.rec
'

# one ledger copy per case; both verdicts must be the expected one
check_cases() {
	for w in case*.want; do
		c=${w%.want}
		rm -rf X && cp -r B X &&
		$TAMPER X set-record 3 $c.rec || return 1
		docket verify --ledger X --json >c.json 2>/dev/null
		crc=$?
		$VERIFY_PY --json X >p.json 2>/dev/null
		prc=$?
		want=$(cat $w)
		got_c=$(jq -r ".verdict + \" \" + (.first_bad.seq // \"-\" | tostring)" c.json)
		got_p=$(jq -r ".verdict + \" \" + (.first_bad.seq // \"-\" | tostring)" p.json)
		case $want in ok) exp="ok -" code=0 ;; *) exp="$want 3" code=10 ;; esac
		if [ "$got_c" != "$exp" ] || [ "$got_p" != "$exp" ] ||
		   [ $crc != $code ] || [ $prc != $code ]; then
			echo "$c ($(sed -n "$((${c#case} + 1))p" cases)): want $exp/$code," \
				"docket $got_c/$crc, verify.py $got_p/$prc"
			return 1
		fi
	done
}

test_expect_success 'both verifiers agree on every JSON edge case' '
	check_cases
'

test_done
