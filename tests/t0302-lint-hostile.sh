#!/bin/sh
# Hostile input: each is refused with a located error, without expanding
# or buffering it (peak memory measured with GNU time's %M, no timing
# assertions; `timeout` only guards against a hang).
. "$(dirname "$0")/lib.sh"

# Peak resident set size of a run of lint, in KiB, into rss.
lint_rss() {
	/usr/bin/time -f "%M" -o rss timeout 30 docket lint "$@"
}
# Bounded: under 200 MiB even under AddressSanitizer.
# (under valgrind, memcheck's own memory is counted: no bound there)
rss_bounded() {
	rss_below 204800
}
rss_below() {
	[ -n "${DOCKET_VALGRIND:-}" ] || test "$(tail -n 1 rss)" -lt "$1"
}

test_expect_success 'an alias bomb is refused at its first anchor' '
	{
		echo "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"
		prev=a
		for n in b c d e f g h i j k l m n o p; do
			echo "$n: &$n [*$prev, *$prev, *$prev, *$prev, *$prev, *$prev, *$prev, *$prev, *$prev]"
			prev=$n
		done
	} >bomb.yaml &&
	lint_rss bomb.yaml 2>err; test $? = 6 &&
	head -n 1 err >first &&
	echo "bomb.yaml:1:4: anchors are not allowed (found &a); write the value out" >want &&
	test_cmp want first &&
	grep -q "^bomb.yaml:2:8: aliases are not allowed (found \*a)$" err &&
	rss_bounded
'

test_expect_success 'more than 100 errors: the rest are counted, not printed' '
	test $(grep -c "^bomb.yaml:[0-9]*:[0-9]*: " err) = 100 &&
	grep -q "^bomb.yaml: [0-9]* more errors not shown$" err
'

test_expect_success '100,000-deep nesting is refused at the depth limit' '
	python3 -c "import sys; sys.stdout.write(\"[\" * 100000 + \"]\" * 100000 + \"\\n\")" >deep.yaml &&
	lint_rss deep.yaml 2>err; test $? = 6 &&
	echo "deep.yaml:1:33: nesting deeper than 32 levels" >want &&
	test_cmp want err &&
	rss_bounded
'

test_expect_success 'deep block mappings are refused too' '
	python3 -c "
import sys
for i in range(40):
    sys.stdout.write(\"  \" * i + \"k%d:\\n\" % i)
" >deepmap.yaml &&
	test_expect_code 6 docket lint deepmap.yaml 2>err &&
	echo "deepmap.yaml:33:65: nesting deeper than 32 levels" >want &&
	test_cmp want err
'

test_expect_success 'a 50 MB file is refused before it is read' '
	yes "description: padding padding padding padding" | head -c 52428800 >big.yaml &&
	lint_rss big.yaml 2>err; test $? = 6 &&
	echo "big.yaml:1:1: expected at most 1048576 bytes (1 MiB), the file is larger" >want &&
	test_cmp want err &&
	rss_below 51200
'

test_expect_success 'invalid UTF-8 is refused with its position' '
	printf "name: demo.flow\ndescription: caf\\303\\n" >bad.yaml &&
	test_expect_code 6 docket lint bad.yaml 2>err &&
	echo "bad.yaml:2:17: expected UTF-8 text, found an invalid byte" >want &&
	test_cmp want err
'

test_expect_success 'overlong UTF-8 and surrogates are invalid too' '
	printf "name: demo.flow\nversion: 1 # \\300\\257\n" >overlong.yaml &&
	test_expect_code 6 docket lint overlong.yaml 2>err &&
	grep -q "^overlong.yaml:2:14: expected UTF-8 text" err &&
	printf "name: \\355\\240\\200\n" >surrogate.yaml &&
	test_expect_code 6 docket lint surrogate.yaml 2>err &&
	grep -q "^surrogate.yaml:1:7: expected UTF-8 text" err
'

test_expect_success 'a NUL byte is refused' '
	printf "name: a\\000b\n" >nul.yaml &&
	test_expect_code 6 docket lint nul.yaml 2>err &&
	grep -q "^nul.yaml:1:8: expected UTF-8 text, found an invalid byte$" err
'

test_expect_success 'a mapping with more than 1000 entries is refused' '
	python3 -c "
import sys
sys.stdout.write(\"roles:\\n\")
for i in range(1200):
    sys.stdout.write(\"  - r%d\\n\" % i)
" >wide.yaml &&
	test_expect_code 6 docket lint wide.yaml 2>err &&
	echo "wide.yaml:1002:5: more than 1000 entries in one sequence" >want &&
	test_cmp want err
'

test_expect_success 'a jq expression over the size limit is refused' '
	python3 -c "
import sys
sys.stdout.write(\"name: a.b\\nversion: 1\\ncapabilities:\\n  c.d:\\n    kind: exec\\n    argv: [x]\\nsteps:\\n  - key: s\\n    capability: c.d\\n    args: \\\"\" + \".a + \" * 2000 + \".a\\\"\\n\")
" >longjq.yaml &&
	test_expect_code 6 docket lint longjq.yaml 2>err &&
	echo "longjq.yaml:10:11: invalid jq in the args of step \"s\": expression longer than 8192 bytes" >want &&
	test_cmp want err
'

test_expect_success 'a workflow with 1000 steps and 2000 jq expressions loads' '
	python3 -c "
import sys
w = sys.stdout.write
w(\"name: a.b\\nversion: 1\\ncapabilities:\\n  c.d: {kind: exec, argv: [x]}\\nsteps:\\n\")
for i in range(1000):
    w(\"  - {key: s%d, capability: c.d, args: \\\"{n: %d}\\\", when: \\\".input.x != %d\\\"}\\n\" % (i, i, i))
" >steps.yaml &&
	lint_rss --json steps.yaml >out &&
	python3 -c "
import json
v = json.load(open(\"out\"))
assert len(v[\"steps\"]) == 1000 and v[\"steps\"][999][\"when\"] == \".input.x != 999\"
" &&
	rss_bounded
'

test_expect_success 'mutated examples are refused or accepted, never crash lint' '
	python3 - "$SRC" <<-\EOF_
	import glob, os, random, subprocess, sys
	random.seed(3)
	src = sys.argv[1]
	files = sorted(glob.glob(src + "/workflows/commerce/*.yaml")) + \
	    [src + "/tests/workflows/all-keys.yaml"]
	texts = [open(f, "rb").read() for f in files]
	for i in range(150):
	    b = bytearray(random.choice(texts))
	    for _ in range(random.randint(1, 4)):
	        p = random.randrange(len(b))
	        op = random.randint(0, 2)
	        if op == 0:
	            del b[p:p + random.randint(1, 20)]
	        elif op == 1:
	            b[p:p] = random.choice([b":", b"-", b"[", b"{", b"\"", b"&a",
	                                    b"*a", b"\n  ", b"#", b"|", b"\xff",
	                                    b"(", b")", b".steps.", b"}", b"]",
	                                    b"? ", b"!!str ", b"---\n", b"\\(",
	                                    b"\t", b",", b"\xc3"])
	        else:
	            q = random.randrange(len(b))
	            b[p], b[q] = b[q], b[p]
	    open("m%d.yaml" % i, "wb").write(b)
	    r = subprocess.run(["docket", "lint", "m%d.yaml" % i],
	                       capture_output=True)
	    if r.returncode not in (0, 6):
	        sys.exit("m%d.yaml: exit %d: %s" % (i, r.returncode, r.stderr[-500:]))
	    if r.returncode == 6 and not r.stderr.startswith(b"m%d.yaml:" % i):
	        sys.exit("m%d.yaml: unlocated error: %s" % (i, r.stderr[:200]))
	    os.unlink("m%d.yaml" % i)
	EOF_
'

test_done
