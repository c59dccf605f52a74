#!/usr/bin/env python3
"""Check the note records of a ledger against what writers acknowledged.

Usage: ledger-check.py LOG_JSON ACKED [MAYBE]

LOG_JSON is the output of `docket log -n BIG --json` (newest first).
ACKED is a file of note texts, one a line, each of which must be present
exactly once. Each text in the file MAYBE (appends that were killed)
must be present at most once. Every note text in the ledger must be ACKED or a MAYBE, the
seqs must run 0..N with no gap. Prints nothing and exits 0 when all
holds (the chain itself is docket verify's job).
"""
import collections
import json
import sys


def main():
    with open(sys.argv[1]) as f:
        recs = json.load(f)
    with open(sys.argv[2]) as f:
        acked = [line.rstrip("\n") for line in f if line.strip()]
    maybe = set()
    if len(sys.argv) > 3:
        with open(sys.argv[3]) as f:
            maybe = set(line.rstrip("\n") for line in f if line.strip())
    bad = []
    seqs = [r["seq"] for r in recs]
    if seqs != list(range(len(recs) - 1, -1, -1)):
        bad.append("seqs are not N..0 without gaps: %s" % seqs[:20])
    texts = collections.Counter(
        r["body"].get("text") for r in recs if r["type"] == "note")
    for t in acked:
        if texts[t] != 1:
            bad.append("acknowledged note %r present %d times" % (t, texts[t]))
    for t in maybe:
        if texts[t] > 1:
            bad.append("killed note %r present %d times" % (t, texts[t]))
    known = set(acked) | maybe
    for t, n in texts.items():
        if t not in known:
            bad.append("unexpected note %r (%d times)" % (t, n))
    for msg in bad[:20]:
        print(msg, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
