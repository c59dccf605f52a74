#!/usr/bin/env python3
"""Tamper with a docket ledger the way an attacker with write access to
the repository would: every change goes through git itself (cat-file,
fast-import, commit-tree, update-ref), so the repository stays
consistent (`git fsck --strict` clean) and only the ledger's own rules
can catch it. Used by tests/t0201-tamper.sh.

usage: tamper.py LEDGER OP ARGS...

  edit-byte SEQ OFFSET|mid|body [--fix-trailer]
        change one byte of record SEQ (a letter changes case, a digit
        goes up by one, anything else becomes a space; `body` picks the
        first letter or digit of the body); later commits are
        rebuilt on top. --fix-trailer also rewrites the commit's
        Docket-Record trailer to the new hash.
  delete SEQ            remove record SEQ; later records move down a place
  swap A B              exchange the records at A and B
  insert SEQ            insert a well-formed record at SEQ (chained to SEQ-1)
  extra-file SEQ PATH   the commit of record SEQ also adds the file PATH
  merge SEQ             the commit of record SEQ gets a second parent
  commit-time SEQ DELTA shift the commit's author and committer time
  trailer SEQ KEY VALUE set trailer KEY (Docket-Seq, Docket-Record) to VALUE
  subject SEQ TEXT      replace the commit subject
  set-record SEQ FILE   replace record SEQ's bytes with FILE's, exactly (the
                        Docket-Record trailer is fixed)
  set-field SEQ KEY JSON  set a top-level field of record SEQ (the record is
                        re-serialized and its Docket-Record trailer fixed)
  truncate SEQ          move the branch back so that SEQ is the head
  rewrite-from SEQ      rewrite records SEQ..head with a changed body and a
                        fully consistent chain (new prev, hashes, trailers)
  explode               unpack every pack into loose objects
  corrupt-loose SEQ     damage the loose object file of record SEQ's blob
                        (packs are exploded first)
  mismatch-loose SEQ    replace record SEQ's loose blob with another object
  remove-object SEQ     delete record SEQ's blob from the repository
  corrupt-pack SEQ      damage record SEQ's blob inside its pack
"""

import hashlib
import json
import os
import subprocess
import sys
import zlib

BRANCH = "refs/heads/main"


def git(gitdir, *args, input=None):
    p = subprocess.run(["git", "--git-dir", gitdir] + list(args), input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit("tamper.py: git %s: %s" % (" ".join(args), p.stderr.decode().strip()))
    return p.stdout


def path_of(seq):
    d = "%010d" % seq
    return "%s/%s/%s/%s/%s.json" % (d[0:2], d[2:4], d[4:6], d[6:8], d[8:10])


def cat_batch(gitdir, names):
    out = git(gitdir, "cat-file", "--batch", input="".join(n + "\n" for n in names).encode())
    res, pos = [], 0
    for _ in names:
        nl = out.index(b"\n", pos)
        oid, _t, size = out[pos:nl].split()
        size = int(size)
        res.append((oid.decode(), out[nl + 1:nl + 1 + size]))
        pos = nl + 1 + size + 1
    return res


def load(gitdir):
    """The chain, oldest first: dicts with commit, record bytes, author and
    committer lines and message."""
    ids = git(gitdir, "rev-list", "--first-parent", "--reverse", BRANCH).decode().split()
    commits = cat_batch(gitdir, ids)
    blobs = cat_batch(gitdir, ["%s:%s" % (c, path_of(i)) for i, c in enumerate(ids)])
    items = []
    for (cid, raw), (_b, rec) in zip(commits, blobs):
        head, _, msg = raw.partition(b"\n\n")
        hdr = {}
        for ln in head.split(b"\n"):
            k, _, v = ln.partition(b" ")
            hdr.setdefault(k.decode(), v)
        items.append({"commit": cid, "record": rec, "author": hdr["author"],
                      "committer": hdr["committer"], "message": msg,
                      "extra": [], "merge": None})
    return items


def rebuild(gitdir, items, start):
    """Recommit items[start:] on top of the commit of items[start-1], each
    record at the path of its (new) position, and move the branch."""
    out = []
    if start == 0:
        out.append(b"reset " + BRANCH.encode() + b"\n")
    for i in range(start, len(items)):
        it = items[i]
        out.append(b"commit " + BRANCH.encode() + b"\n")
        out.append(b"author " + it["author"] + b"\n")
        out.append(b"committer " + it["committer"] + b"\n")
        out.append(b"data %d\n" % len(it["message"]) + it["message"] + b"\n")
        if i == start and start > 0:
            out.append(b"from " + items[start - 1]["commit"].encode() + b"\n")
        if it["merge"]:
            out.append(b"merge " + it["merge"].encode() + b"\n")
        files = [(path_of(i), it["record"])] + it["extra"]
        for p, data in files:
            out.append(b"M 100644 inline " + p.encode() + b"\n")
            out.append(b"data %d\n" % len(data) + data + b"\n")
        out.append(b"\n")
    if len(items) <= start:
        # nothing to recommit: the branch ends at items[start-1]
        git(gitdir, "update-ref", BRANCH, items[start - 1]["commit"])
        return
    git(gitdir, "fast-import", "--quiet", "--force", "--date-format=raw",
        input=b"".join(out))


def record_hash(data):
    return hashlib.sha256(data).hexdigest()


def set_trailer(msg, key, value):
    lines = msg.split(b"\n")
    for k, ln in enumerate(lines):
        if ln.startswith(key.encode() + b":"):
            lines[k] = key.encode() + b": " + value.encode()
    return b"\n".join(lines)


def canonical(obj):
    return (json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def change_byte(data, offset):
    b = bytearray(data)
    if offset in ("mid", "body"):
        k = len(b) // 2 if offset == "mid" else b.index(b'"body":') + 7
        while not chr(b[k]).isalnum():
            k += 1
    else:
        k = int(offset)
    c = chr(b[k])
    if c.isalpha():
        b[k] = ord(c.swapcase())
    elif c.isdigit():
        b[k] = ord(str((int(c) + 1) % 10))
    else:
        b[k] = ord(" ")
    return bytes(b)


def loose_path(gitdir, oid):
    return os.path.join(gitdir, "objects", oid[:2], oid[2:])


def explode(gitdir):
    """Turn every pack into loose objects (git unpack-objects)."""
    pdir = os.path.join(gitdir, "objects", "pack")
    if not os.path.isdir(pdir):
        return
    packs = [f for f in os.listdir(pdir) if f.endswith(".pack")]
    if not packs:
        return
    hold = os.path.join(gitdir, "tamper-packs")
    os.makedirs(hold, exist_ok=True)
    for f in os.listdir(pdir):
        os.rename(os.path.join(pdir, f), os.path.join(hold, f))
    for f in packs:
        with open(os.path.join(hold, f), "rb") as pf:
            git(gitdir, "unpack-objects", "-q", input=pf.read())
    for f in os.listdir(hold):
        os.unlink(os.path.join(hold, f))
    os.rmdir(hold)


def blob_of(gitdir, items, k):
    return git(gitdir, "rev-parse", "%s:%s" % (items[k]["commit"], path_of(k))).decode().strip()


def corrupt_in_pack(gitdir, oid):
    pdir = os.path.join(gitdir, "objects", "pack")
    for f in sorted(os.listdir(pdir)):
        if not f.endswith(".idx"):
            continue
        idx = os.path.join(pdir, f)
        out = git(gitdir, "verify-pack", "-v", idx).decode()
        for ln in out.splitlines():
            parts = ln.split()
            if parts and parts[0] == oid:
                in_pack, offset = int(parts[3]), int(parts[4])
                pack = idx[:-4] + ".pack"
                os.chmod(pack, 0o644)
                with open(pack, "r+b") as pf:
                    # the middle of the object's deflate stream
                    pos = offset + in_pack // 2
                    pf.seek(pos)
                    b = pf.read(4)
                    pf.seek(pos)
                    pf.write(bytes(x ^ 0xff for x in b))
                return
    sys.exit("tamper.py: %s is in no pack" % oid)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    gitdir, op, args = argv[1], argv[2], argv[3:]
    items = load(gitdir)
    if op == "edit-byte":
        k = int(args[0])
        items[k]["record"] = change_byte(items[k]["record"], args[1])
        if "--fix-trailer" in args:
            items[k]["message"] = set_trailer(items[k]["message"], "Docket-Record",
                                              record_hash(items[k]["record"]))
        rebuild(gitdir, items, k)
    elif op == "delete":
        k = int(args[0])
        del items[k]
        rebuild(gitdir, items, k)
    elif op == "swap":
        a, b = sorted(int(x) for x in args[:2])
        items[a], items[b] = items[b], items[a]
        rebuild(gitdir, items, a)
    elif op == "insert":
        k = int(args[0])
        obj = json.loads(items[k]["record"])
        obj["seq"] = k
        obj["prev"] = record_hash(items[k - 1]["record"])
        obj["body"] = {"text": "inserted"}
        obj["type"] = "note"
        rec = canonical(obj)
        new = dict(items[k - 1])
        new.update(record=rec, extra=[], merge=None, author=items[k]["author"],
                   committer=items[k]["committer"],
                   message=b"note: inserted\n\nDocket-Seq: %d\nDocket-Record: %s\n"
                   % (k, record_hash(rec).encode()))
        items.insert(k, new)
        rebuild(gitdir, items, k)
    elif op == "extra-file":
        k = int(args[0])
        items[k]["extra"] = [(args[1], b"slipped in\n")]
        rebuild(gitdir, items, k)
    elif op == "merge":
        k = int(args[0])
        empty = git(gitdir, "mktree", input=b"").decode().strip()
        side = git(gitdir, "commit-tree", empty, "-m", "side").decode().strip()
        items[k]["merge"] = side
        rebuild(gitdir, items, k)
    elif op == "commit-time":
        k, delta = int(args[0]), int(args[1])
        for who in ("author", "committer"):
            ident, ts, tz = items[k][who].rsplit(b" ", 2)
            items[k][who] = b"%s %d %s" % (ident, int(ts) + delta, tz)
        rebuild(gitdir, items, k)
    elif op == "trailer":
        k = int(args[0])
        items[k]["message"] = set_trailer(items[k]["message"], args[1], args[2])
        rebuild(gitdir, items, k)
    elif op == "subject":
        k = int(args[0])
        msg = items[k]["message"]
        items[k]["message"] = args[1].encode() + msg[msg.index(b"\n"):]
        rebuild(gitdir, items, k)
    elif op == "set-record":
        k = int(args[0])
        with open(args[1], "rb") as f:
            items[k]["record"] = f.read()
        items[k]["message"] = set_trailer(items[k]["message"], "Docket-Record",
                                          record_hash(items[k]["record"]))
        rebuild(gitdir, items, k)
    elif op == "set-field":
        k = int(args[0])
        obj = json.loads(items[k]["record"])
        obj[args[1]] = json.loads(args[2])
        items[k]["record"] = canonical(obj)
        items[k]["message"] = set_trailer(items[k]["message"], "Docket-Record",
                                          record_hash(items[k]["record"]))
        rebuild(gitdir, items, k)
    elif op == "truncate":
        k = int(args[0])
        git(gitdir, "update-ref", BRANCH, items[k]["commit"], items[-1]["commit"])
    elif op == "rewrite-from":
        k = int(args[0])
        prev = record_hash(items[k - 1]["record"]) if k else "0" * 64
        for i in range(k, len(items)):
            obj = json.loads(items[i]["record"])
            obj["prev"] = prev
            if obj["type"] != "genesis":
                obj["body"] = {"text": "rewritten %d" % i}
            rec = canonical(obj)
            prev = record_hash(rec)
            items[i]["record"] = rec
            msg = set_trailer(items[i]["message"], "Docket-Record", prev)
            items[i]["message"] = msg
        rebuild(gitdir, items, k)
    elif op == "explode":
        explode(gitdir)
    elif op == "remove-object":
        k = int(args[0])
        oid = blob_of(gitdir, items, k)
        explode(gitdir)
        os.unlink(loose_path(gitdir, oid))
    elif op == "corrupt-pack":
        k = int(args[0])
        corrupt_in_pack(gitdir, blob_of(gitdir, items, k))
    elif op in ("corrupt-loose", "mismatch-loose"):
        k = int(args[0])
        oid = blob_of(gitdir, items, k)
        explode(gitdir)
        p = loose_path(gitdir, oid)
        if not os.path.exists(p):
            sys.exit("tamper.py: %s is not a loose object" % oid)
        os.chmod(p, 0o644)
        if op == "corrupt-loose":
            data = open(p, "rb").read()
            # keep the zlib header, damage the deflate stream
            data = data[:2] + bytes(x ^ 0x55 for x in data[2:])
        else:
            other = items[k - 1]["record"] if k else b"{}\n"
            data = zlib.compress(b"blob %d\0" % len(other) + other)
        with open(p, "wb") as f:
            f.write(data)
    else:
        sys.exit("tamper.py: unknown operation '%s'" % op)


if __name__ == "__main__":
    main(sys.argv)
