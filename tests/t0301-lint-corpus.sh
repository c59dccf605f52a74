#!/bin/sh
# The invalid corpus: each tests/workflows/invalid/NAME.yaml must fail
# lint with exit 6 and exactly the lines in NAME.err (file:line:column:
# message, every error in the file).
. "$(dirname "$0")/lib.sh"

CORPUS="$SRC/tests/workflows/invalid"

test_expect_success 'the corpus base workflow is valid' '
	docket lint "$SRC/tests/workflows/base.yaml" >/dev/null
'

test_expect_success 'the corpus holds at least 40 cases, each with its errors' '
	n=0 &&
	for f in "$CORPUS"/*.yaml; do
		test -s "${f%.yaml}.err" || { echo "no errors for $f"; exit 1; }
		n=$((n + 1))
	done &&
	test $n -ge 40
'

for f in "$CORPUS"/*.yaml; do
	name=$(basename "$f" .yaml)
	test_expect_success "invalid: $name" "
		(cd \"$CORPUS\" && test_expect_code 6 docket lint $name.yaml) >out 2>err &&
		test ! -s out &&
		test_cmp \"$CORPUS/$name.err\" err
	"
done

test_expect_success 'linting the whole corpus reports every file' '
	test_expect_code 6 docket lint "$CORPUS" 2>err &&
	for f in "$CORPUS"/*.yaml; do
		grep -q "^$f:" err || { echo "nothing for $f"; exit 1; }
	done
'

test_done
