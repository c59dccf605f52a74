#!/usr/bin/env python3
"""A small, deterministic message classifier for the demo workflows.

Reads {"message": "..."} as JSON on stdin and writes
{"intent": ..., "angry": bool, "legal": bool, "usage": {...}} on stdout.
It stands in for a language-model classifier: it reports token usage and
cost the way a model-backed tool would, so budgets can be exercised.
"""
import json
import re
import sys

INTENTS = [
    ("cancel", r"\bcancel"),
    ("refund", r"\brefund|money back"),
    ("return", r"\breturn"),
    ("modify", r"\bchange|\bmodify|\baddress|\bquantity|\bprice"),
    ("status", r"\bwhere|\bstatus|\btrack|\bshipped|\barriv"),
]
ANGRY = r"\bangry|\bfurious|\bunacceptable|\bworst|\bscam|!!"
LEGAL = r"\blawyer|\blegal|\bsue\b|\bcourt|\bchargeback"


def classify(msg):
    low = msg.lower()
    intent = "other"
    for name, pat in INTENTS:
        if re.search(pat, low):
            intent = name
            break
    words = len(low.split())
    return {
        "intent": intent,
        "angry": bool(re.search(ANGRY, low)),
        "legal": bool(re.search(LEGAL, low)),
        "usage": {
            "input_tokens": 200 + 2 * words,
            "output_tokens": 40,
            "cost_cents": 1,
        },
    }


def main():
    try:
        req = json.load(sys.stdin)
    except ValueError as e:
        sys.stderr.write("classify: invalid JSON input: %s\n" % e)
        return 2
    msg = req.get("message") if isinstance(req, dict) else None
    if not isinstance(msg, str):
        sys.stderr.write("classify: expected {\"message\": string}\n")
        return 2
    json.dump(classify(msg), sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
