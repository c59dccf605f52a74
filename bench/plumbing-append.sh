#!/bin/sh
# Baseline: append N note records to a ledger with git plumbing only, as a
# careful shell script would (ledger/FORMAT.md layout, prev-chained).
# usage: plumbing-append.sh LEDGER N
set -eu
L=$1
N=$2
export GIT_DIR=$L
head=$(git rev-parse refs/heads/main)
seq=$(git log -1 --format=%B "$head" | sed -n 's/^Docket-Seq: //p')
d=$(printf '%010d' "$seq")
prev=$(git cat-file blob "$head:${d%????????}/$(echo "$d" | cut -c3-4)/$(echo "$d" | cut -c5-6)/$(echo "$d" | cut -c7-8)/$(echo "$d" | cut -c9-10).json" | sha256sum | cut -c1-64)
i=0
while [ $i -lt "$N" ]; do
	seq=$((seq + 1))
	d=$(printf '%010d' "$seq")
	a=$(echo "$d" | cut -c1-2) b=$(echo "$d" | cut -c3-4) c=$(echo "$d" | cut -c5-6)
	e=$(echo "$d" | cut -c7-8) f=$(echo "$d" | cut -c9-10)
	t=$(date +%s)
	at=$(date -u -d "@$t" +%Y-%m-%dT%H:%M:%SZ)
	rec=$(printf '{"actor":"bench","at":"%s","body":{"text":"plumbing %d"},"prev":"%s","seq":%d,"type":"note","v":1}' "$at" "$seq" "$prev" "$seq")
	blob=$(printf '%s\n' "$rec" | git hash-object -w --stdin)
	prev=$(printf '%s\n' "$rec" | sha256sum | cut -c1-64)
	sub() { git ls-tree "$head:$1" 2>/dev/null | grep -v "	$2\$" || true; }
	t5=$( { sub "$a/$b/$c/$e" "$f.json"; printf '100644 blob %s\t%s.json\n' "$blob" "$f"; } | git mktree)
	t4=$( { sub "$a/$b/$c" "$e"; printf '040000 tree %s\t%s\n' "$t5" "$e"; } | git mktree)
	t3=$( { sub "$a/$b" "$c"; printf '040000 tree %s\t%s\n' "$t4" "$c"; } | git mktree)
	t2=$( { sub "$a" "$b"; printf '040000 tree %s\t%s\n' "$t3" "$b"; } | git mktree)
	t1=$( { git ls-tree "$head" | grep -v "	$a\$" || true; printf '040000 tree %s\t%s\n' "$t2" "$a"; } | git mktree)
	new=$(printf 'note: plumbing %d\n\nDocket-Seq: %d\nDocket-Record: %s\n' "$seq" "$seq" "$prev" |
		GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=docket GIT_COMMITTER_NAME=bench \
		GIT_COMMITTER_EMAIL=docket GIT_AUTHOR_DATE="$t +0000" GIT_COMMITTER_DATE="$t +0000" \
		git commit-tree "$t1" -p "$head")
	git update-ref refs/heads/main "$new" "$head"
	head=$new
	i=$((i + 1))
done
