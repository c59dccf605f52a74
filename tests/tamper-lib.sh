# Sourced by the tamper tests (t0201, t0204) after lib.sh: run both
# verifiers and compare their verdicts.
TAMPER="python3 $SRC/tests/tamper.py"
VERIFY_PY="python3 $SRC/ledger/verify.py"

# both_say VERDICT SEQ|none LEDGER [--anchor SEQ:HASH]...
both_say() {
	bs_want=$1 bs_seq=$2 bs_l=$3
	shift 3
	case $bs_want in
	ok) bs_code=0 ;;
	tampered) bs_code=10 ;;
	unreadable) bs_code=11 ;;
	*) bs_code=$bs_want ;;
	esac
	test_expect_code $bs_code docket verify --ledger "$bs_l" --json "$@" >c.json &&
	test_expect_code $bs_code $VERIFY_PY --json "$@" "$bs_l" >p.json &&
	printf "%s\t%s\n" "$bs_want" "$bs_seq" >want.out &&
	jq -r '[.verdict, (.first_bad.seq // "none" | tostring)] | @tsv' \
		c.json >c.out &&
	jq -r '[.verdict, (.first_bad.seq // "none" | tostring)] | @tsv' \
		p.json >p.out &&
	test_cmp want.out c.out &&
	test_cmp want.out p.out &&
	# verify.py checks the chain, not approval signatures (yet): docket
	# alone reports how many signatures it checked
	jq -c "del(.first_bad.reason, .signatures, .signature_ms)" c.json >c.cmp &&
	jq -c "del(.first_bad.reason, .signatures, .signature_ms)" p.json >p.cmp &&
	test_cmp c.cmp p.cmp
}

# tamper_case VERDICT SEQ OP ARGS...: on a fresh copy X of the base
# ledger B, as docket wrote it or (TAMPER_REPACK=1) after `git repack
# -ad`; git fsck --strict stays clean.
tamper_case() {
	tc_v=$1 tc_s=$2
	shift 2
	rm -rf X && cp -r B X &&
	$TAMPER X "$@" &&
	git -C X fsck --strict --no-dangling &&
	if [ "${TAMPER_REPACK:-0}" = 1 ]; then
		git -C X repack -adq &&
		test "$(ls X/objects/pack/*.pack | wc -l)" = 1
	fi &&
	both_say "$tc_v" "$tc_s" X $ANCHORS
}
ANCHORS=
