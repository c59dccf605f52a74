#!/usr/bin/env python3
"""Generate a docket ledger of N records with git fast-import, for
benchmarks. The records are byte-identical in form to what docket writes
(ledger/FORMAT.md): compact sorted JSON, prev-chained, one per commit.

usage: gen-ledger.py N DIR ADMIN_PUBKEY_FILE
"""
import hashlib
import json
import os
import subprocess
import sys

T0 = 1767225600  # 2026-01-01T00:00:00Z


def rfc3339(t):
    import time
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def path(seq):
    d = "%010d" % seq
    return "%s/%s/%s/%s/%s.json" % (d[0:2], d[2:4], d[4:6], d[6:8], d[8:10])


def record(seq, prev, typ, at, body):
    rec = {"v": 1, "seq": seq, "prev": prev, "type": typ, "at": at,
           "actor": "bench", "body": body}
    return (json.dumps(rec, sort_keys=True, separators=(",", ":"),
                       ensure_ascii=False) + "\n").encode()


def main():
    n, out, keyfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    key = open(keyfile).read().split("\n")[0]
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", out],
                   check=True)
    subprocess.run(["git", "-C", out, "config", "docket.format", "1"],
                   check=True)
    fi = subprocess.Popen(["git", "-C", out, "fast-import", "--quiet",
                           "--depth=10"], stdin=subprocess.PIPE)
    w = fi.stdin.write
    prev = "0" * 64
    for seq in range(n):
        t = T0 + seq // 100
        at = rfc3339(t)
        if seq == 0:
            typ = "genesis"
            body = {"created": at, "format": "docket-ledger",
                    "ledger_id": "%032x" % 0xbe9c4,
                    "policy": {"admins_required": 1, "version": 1,
                               "principals": [{"name": "admin",
                                               "roles": ["admin"],
                                               "key": key}]}}
        else:
            typ = "note"
            body = {"text": "bench note %d" % seq}
        data = record(seq, prev, typ, at, body)
        h = hashlib.sha256(data).hexdigest()
        summary = "genesis" if seq == 0 else body["text"]
        msg = ("%s: %s\n\nDocket-Seq: %d\nDocket-Record: %s\n" %
               (typ, summary, seq, h)).encode()
        w(b"commit refs/heads/main\n")
        w(b"author bench <docket> %d +0000\n" % t)
        w(b"committer bench <docket> %d +0000\n" % t)
        w(b"data %d\n%s\n" % (len(msg), msg))
        w(b"M 100644 inline %s\ndata %d\n%s\n" %
          (path(seq).encode(), len(data), data))
        prev = h
    fi.stdin.close()
    if fi.wait() != 0:
        sys.exit("gen-ledger: git fast-import failed")


if __name__ == "__main__":
    main()
