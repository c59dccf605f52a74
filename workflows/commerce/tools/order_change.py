#!/usr/bin/env python3
"""Decide whether a requested order change is allowed.

Reads {"order": {...}, "change": "...", ...} as JSON on stdin and writes
{"allowed": bool, "change": ..., "reason": ..., "refund_cents": N} on
stdout. Used by commerce.propose_order_change (order_assistant.yaml) and
commerce.review_modification (order_handoff.yaml).
"""
import json
import sys

CANCELLABLE = {"placed", "processing"}
MODIFIABLE = {"placed"}


def decide(req):
    order = req.get("order") or {}
    change = req.get("change", "")
    status = order.get("status")
    total = int(order.get("total_cents") or 0)
    out = {"allowed": False, "change": change, "order_id": order.get("id"),
           "refund_cents": 0}
    if not order:
        out["reason"] = "order not found for this customer"
    elif change == "cancel_order":
        if status in CANCELLABLE:
            out.update(allowed=True, refund_cents=total,
                       reason="order has not shipped yet")
        else:
            out["reason"] = "order is %s and can no longer be cancelled" % status
    elif change in ("change_address", "change_quantity"):
        if status in MODIFIABLE:
            out.update(allowed=True, reason="order is not being processed yet")
        else:
            out["reason"] = "order is %s and can no longer be modified" % status
    elif change == "change_price":
        out["reason"] = "price changes are never made by the assistant"
    else:
        out["reason"] = "unknown change %r" % change
    return out


def main():
    try:
        req = json.load(sys.stdin)
    except ValueError as e:
        sys.stderr.write("order_change: invalid JSON input: %s\n" % e)
        return 2
    if not isinstance(req, dict):
        sys.stderr.write("order_change: expected a JSON object\n")
        return 2
    json.dump(decide(req), sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
