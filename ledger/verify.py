#!/usr/bin/env python3
"""An independent verifier for docket ledgers.

Implements the "Verifying" section of ledger/FORMAT.md with Python's
standard library and the `git` command only; it shares no code with
docket, so an auditor can check a ledger without trusting docket.

usage: python3 ledger/verify.py [--anchor SEQ:HASH]... [--json] [-q] LEDGER_DIR

Exit codes (the same as `docket verify`):
   0  the ledger verifies
   2  bad command line
   4  not a ledger, or a ledger format newer than this verifier
  10  tampered: a rule of FORMAT.md is broken (first bad record named)
  11  unreadable: a git object could not be read at all
"""

import calendar
import hashlib
import json
import math
import os
import re
import subprocess
import sys

FORMAT_VERSION = 1
BRANCH = "refs/heads/main"
MAX_RECORD = 4 * 1024 * 1024
LEVELS = 5
ZERO_HASH = "0" * 64
CHUNK = 512  # commits checked per round of batched object reads

EXIT_OK, EXIT_USAGE, EXIT_NOLEDGER = 0, 2, 4
EXIT_TAMPERED, EXIT_UNREADABLE = 10, 11

TYPE_RE = re.compile(r"[a-z][a-z0-9_.-]{0,63}", re.ASCII)
HEX64_RE = re.compile(r"[0-9a-f]{64}", re.ASCII)
AT_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z", re.ASCII)
# A tree entry: octal mode (leading zeros allowed, as git parses them),
# a space, a name without NUL, NUL, the raw object id.
TREE_ENTRY_RE = {
    20: re.compile(rb"0*([1-7][0-7]*) ([^\0]+)\0(.{20})", re.S),
    32: re.compile(rb"0*([1-7][0-7]*) ([^\0]+)\0(.{32})", re.S),
}
TREE_FULL_RE = {
    20: re.compile(rb"(?:0*[1-7][0-7]* [^\0]+\0.{20})*", re.S),
    32: re.compile(rb"(?:0*[1-7][0-7]* [^\0]+\0.{32})*", re.S),
}
NUL_ESCAPE_RE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")
MODE_TREE, MODE_BLOB = b"40000", b"100644"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_DEPTH = 2048  # values nested, scalars included; the record is at depth 1


class Bad(Exception):
    """The first failure: verdict 'tampered' or 'unreadable'."""

    def __init__(self, verdict, seq, commit, reason):
        super().__init__(reason)
        self.verdict, self.seq, self.commit, self.reason = verdict, seq, commit, reason


class Refuse(Exception):
    """Not something this verifier can judge (exit 4)."""


class Unreadable:
    """Stands for an object that could not be read."""

    def __init__(self, why):
        self.why = why


def usage(msg=None):
    if msg:
        print("verify.py: %s" % msg, file=sys.stderr)
    print("usage: python3 ledger/verify.py [--anchor SEQ:HASH]... [--json] [-q] LEDGER_DIR",
          file=sys.stderr)
    sys.exit(EXIT_USAGE)


def parse_args(argv):
    anchors, as_json, quiet, operands = [], False, False, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            operands += argv[i + 1:]
            break
        if a in ("-h", "--help"):
            print(__doc__.strip())
            sys.exit(EXIT_OK)
        if a == "--json":
            as_json = True
        elif a in ("-q", "--quiet"):
            quiet = True
        elif a == "--anchor" or a.startswith("--anchor="):
            if a == "--anchor":
                i += 1
                if i >= len(argv):
                    usage("--anchor needs SEQ:HASH")
                val = argv[i]
            else:
                val = a[len("--anchor="):]
            m = re.fullmatch(r"([0-9]+):([0-9a-f]{64})", val, re.ASCII)
            if not m:
                usage("bad anchor '%s': expected SEQ:HASH as printed by 'docket head'" % val)
            anchors.append((int(m.group(1)), m.group(2)))
        elif a.startswith("-") and a != "-":
            usage("unknown option '%s'" % a)
        else:
            operands.append(a)
        i += 1
    if len(operands) != 1:
        usage("expected one LEDGER_DIR")
    return anchors, as_json, quiet, operands[0]


# --- git access -------------------------------------------------------------


def git_env(**extra):
    """The environment for git: nothing from the caller's GIT_* variables
    (which could point git at other objects), and git's replace refs
    off, so that git shows the objects as stored."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_NO_REPLACE_OBJECTS"] = "1"
    env.update(extra)
    return env


def git(gitdir, *args, check=True):
    p = subprocess.run(["git", "--git-dir", gitdir] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=git_env())
    if check and p.returncode != 0:
        raise RuntimeError(p.stderr.decode("utf-8", "replace").strip())
    return p


class ObjectReader:
    """One long-lived `git cat-file --batch`; every object read is hashed
    and compared with its name (FORMAT.md, Verifying, rule 5)."""

    def __init__(self, gitdir, algo):
        self.gitdir, self.algo = gitdir, algo
        self.proc = None

    def _start(self):
        self.proc = subprocess.Popen(
            ["git", "--git-dir", self.gitdir, "cat-file", "--batch"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, bufsize=1 << 16, env=git_env())

    def close(self):
        if self.proc:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            self.proc.stdout.close()
            self.proc.stderr.close()
            self.proc.wait()
            self.proc = None

    def _died(self):
        why = "git cat-file failed"
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        err = self.proc.stderr.read().decode("utf-8", "replace").strip()
        self.proc.wait()
        self.proc = None
        if err:
            why = err.splitlines()[-1]
            why = re.sub(r"^(fatal|error): ", "", why)
        return why

    def read_many(self, oids):
        """Read objects; returns {oid: (type, data) or Unreadable}."""
        out = {}
        todo = list(dict.fromkeys(oids))
        pos = 0
        while pos < len(todo):
            if self.proc is None:
                self._start()
            batch = todo[pos:pos + 1000]  # < 64 KiB of requests: no deadlock
            try:
                self.proc.stdin.write(("\n".join(batch) + "\n").encode("ascii"))
                self.proc.stdin.flush()
            except OSError:
                out[batch[0]] = Unreadable(self._died())
                pos += 1
                continue
            stdout = self.proc.stdout
            done = 0
            for oid in batch:
                line = stdout.readline()
                if not line:
                    out[oid] = Unreadable(self._died())
                    break
                parts = line.split()
                if len(parts) == 2 and parts[1] == b"missing":
                    out[oid] = Unreadable("object %s is missing or cannot be read" % oid)
                    done += 1
                    continue
                if len(parts) != 3:
                    out[oid] = Unreadable("git cat-file: unexpected reply %r" % line[:80])
                    self.close()
                    break
                otype, size = parts[1].decode("ascii"), int(parts[2])
                data = stdout.read(size + 1)
                if len(data) != size + 1:
                    out[oid] = Unreadable(self._died())
                    break
                data = data[:size]
                h = hashlib.new(self.algo)
                h.update(b"%s %d\0" % (otype.encode("ascii"), size))
                h.update(data)
                if h.hexdigest() != oid:
                    out[oid] = ("mismatch", data)
                else:
                    out[oid] = (otype, data)
                done += 1
            pos += done + (1 if done < len(batch) else 0)
        return out


# --- object parsing ---------------------------------------------------------


def parse_commit(data):
    """Returns dict(tree, parents, author_time, committer_time, message) or
    None when the commit is malformed."""
    head, sep, message = data.partition(b"\n\n")
    if not sep:
        # a commit with no message still has the blank line in git;
        # headers only is malformed for a ledger commit
        return None
    lines = head.split(b"\n")
    c = {"parents": []}
    i = 0
    if not lines[i].startswith(b"tree "):
        return None
    c["tree"] = lines[i][5:].decode("ascii", "replace")
    i += 1
    while i < len(lines) and lines[i].startswith(b"parent "):
        c["parents"].append(lines[i][7:].decode("ascii", "replace"))
        i += 1
    for key in (b"author", b"committer"):
        if i >= len(lines) or not lines[i].startswith(key + b" "):
            return None
        m = re.fullmatch(rb".* <[^<>\n]*> ([0-9]+) ([+-][0-9]{4})", lines[i][len(key) + 1:], re.S)
        if not m:
            return None
        c[key.decode() + "_time"] = int(m.group(1))
        c[key.decode() + "_tz"] = m.group(2).decode()
        i += 1
    c["message"] = message.lstrip(b"\n")
    return c


class Tree:
    """A parsed tree: entries (name, mode, oid) in stored order, modes
    without leading zeros; index maps a name to its position. A tree
    parsed as "its hint plus or but one entry" remembers which (the
    hint's oid as base, the entry's name as changed), which makes the
    comparison with that tree free."""

    __slots__ = ("oid", "entries", "index", "raw", "last_off", "base", "changed")

    def __init__(self, entries, index, raw, last_off, base=None, changed=None):
        self.oid = None
        self.entries, self.index, self.raw = entries, index, raw
        self.last_off, self.base, self.changed = last_off, base, changed


def parse_tree(data, rawlen, hint=None):
    """Parse a tree object; None when malformed (git's tree format; two
    entries may not share a name). `hint`, a parsed tree that this one
    probably extends (the previous record's tree at the same level), only
    makes parsing faster: the result is the same with or without it."""
    one = TREE_ENTRY_RE[rawlen]
    if hint is not None and hint.oid is not None:
        hr = hint.raw
        if len(data) > len(hr) and data.startswith(hr):
            # the hint plus one entry at the end
            m = one.fullmatch(data, len(hr))
            if m and m.group(2) not in hint.index:
                e = (m.group(2), m.group(1), m.group(3))
                index = hint.index.copy()
                index[e[0]] = len(hint.entries)
                return Tree(hint.entries + [e], index, data, len(hr), hint.oid, e[0])
        lo = hint.last_off
        if hint.entries and data.startswith(hr[:lo]):
            # the hint with its last entry changed
            m = one.fullmatch(data, lo)
            if m and m.group(2) == hint.entries[-1][0]:
                e = (m.group(2), m.group(1), m.group(3))
                return Tree(hint.entries[:-1] + [e], hint.index, data, lo, hint.oid, e[0])
    if not TREE_FULL_RE[rawlen].fullmatch(data):
        return None
    entries, last_off = [], 0
    for m in one.finditer(data):
        entries.append((m.group(2), m.group(1), m.group(3)))
        last_off = m.start()
    index = {e[0]: k for k, e in enumerate(entries)}
    if len(index) != len(entries):
        return None  # two entries with one name
    return Tree(entries, index, data, last_off)


def same_but(t, p, name):
    """Is tree t equal to tree p except for the entry `name`? p may be None
    (the empty tree)."""
    if p is not None and t.base is not None and t.base == p.oid and t.changed == name:
        return True
    te, ti = t.entries, t.index
    if p is None:
        pe, pi = [], {}
    else:
        pe, pi = p.entries, p.index
    a = ti.get(name)
    b = pi.get(name)
    if a is not None:
        te = te[:a] + te[a + 1:]
    if b is not None:
        pe = pe[:b] + pe[b + 1:]
    return te == pe


def _reject_constant(name):
    raise ValueError("%s is not JSON" % name)


def _int_in_range(s):
    v = int(s)
    if v < INT64_MIN or v > INT64_MAX:
        raise ValueError("integer %s is out of range" % s)
    return v


def _finite_float(s):
    v = float(s)
    if math.isinf(v) or math.isnan(v):
        raise ValueError("real number %s overflows" % s)
    return v


def _no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError("duplicate object key '%s'" % k)
        d[k] = v
    return d


def json_depth(v):
    """The depth of the deepest value in v, v itself at depth 1, scalars
    counted (as jansson counts); iterative."""
    deepest, todo = 0, [(v, 1)]
    while todo:
        x, d = todo.pop()
        deepest = max(deepest, d)
        if isinstance(x, dict):
            x = x.values()
        elif not isinstance(x, list):
            continue
        todo.extend((y, d + 1) for y in x)
    return deepest


def parse_record(data):
    """Parse a record's bytes (FORMAT.md, Records). Returns the object or
    raises ValueError with the reason."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("record is not valid UTF-8")
    if NUL_ESCAPE_RE.search(text):
        raise ValueError("record is not a JSON object: \\u0000 is not allowed")
    try:
        obj = json.loads(text, object_pairs_hook=_no_duplicates,
                         parse_constant=_reject_constant,
                         parse_int=_int_in_range, parse_float=_finite_float)
    except (ValueError, RecursionError) as e:
        raise ValueError("record is not a JSON object: %s" % e)
    if not isinstance(obj, dict):
        raise ValueError("record is not a JSON object: not an object")
    if text.count("[") + text.count("{") >= MAX_DEPTH and json_depth(obj) > MAX_DEPTH:
        raise ValueError("record is not a JSON object: nested deeper than %d" % MAX_DEPTH)
    if SURROGATE_ESCAPE_RE.search(text):
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("record is not a JSON object: unpaired surrogate escape")

    def is_int(x):
        return type(x) is int

    def is_str(x):
        return type(x) is str

    seq, prev = obj.get("seq"), obj.get("prev")
    if not (is_int(seq) and seq >= 0 and is_str(prev) and HEX64_RE.fullmatch(prev)
            and is_str(obj.get("type")) and is_str(obj.get("actor"))
            and is_str(obj.get("at")) and type(obj.get("body")) is dict
            and is_int(obj.get("v"))):
        raise ValueError("record lacks a required field (v, seq, prev, type, at, actor, body)")
    return obj


def parse_at(s):
    """Seconds since the epoch for a well-formed `at`, else None."""
    m = AT_RE.fullmatch(s)
    if not m:
        return None
    y, mo, d, h, mi, se = (int(x) for x in m.groups())
    if y < 1 or not 1 <= mo <= 12 or h > 23 or mi > 59 or se > 59:
        return None
    if not 1 <= d <= calendar.monthrange(y, mo)[1]:
        return None
    return calendar.timegm((y, mo, d, h, mi, se, 0, 0, 0))


def record_comps(seq):
    d = "%010d" % seq
    return [d[0:2].encode(), d[2:4].encode(), d[4:6].encode(), d[6:8].encode(),
            (d[8:10] + ".json").encode()]


def trailer_ok(message, key, want):
    """Exactly one line of the message starts with `KEY:`, and it is
    `KEY: WANT`."""
    found = [ln for ln in message.split(b"\n") if ln.startswith(key + b":")]
    return len(found) == 1 and found[0] == key + b": " + want


# --- the verifier -----------------------------------------------------------


class Verifier:
    def __init__(self, gitdir, anchors):
        self.gitdir = gitdir
        self.anchors = sorted(anchors)
        self.next_anchor = 0
        self.anchors_checked = 0
        self.records = 0
        self.bytes = 0
        self.ledger_id = ""
        self.head_commit = ""
        self.head_seq = 0
        self.prev_hash = ZERO_HASH
        self.prev_root = None  # the parent's root tree, parsed
        self.prev_parsed = {}  # the parent's path trees: oid -> parsed
        self.hints = [None] * LEVELS  # parsing hints, see parse_tree
        fmt = git(gitdir, "rev-parse", "--show-object-format", check=False)
        self.algo = fmt.stdout.decode().strip() if fmt.returncode == 0 else "sha1"
        if self.algo not in ("sha1", "sha256"):
            raise Refuse("unknown object format '%s'" % self.algo)
        self.rawlen = 20 if self.algo == "sha1" else 32
        self.reader = ObjectReader(gitdir, self.algo)

    # rule 1 and the walk
    def chain(self):
        p = git(self.gitdir, "rev-parse", "--verify", "--quiet", BRANCH, check=False)
        if p.returncode != 0:
            if self.ref_present():
                raise Bad("unreadable", None, None, "cannot read %s: corrupted reference" % BRANCH)
            raise Bad("tampered", None, None, "cannot read %s: reference not found" % BRANCH)
        head = p.stdout.decode().strip()
        self.head_commit = head
        # rev-list is fast, but may take parents from a commit-graph file
        # or honour grafts; the commits themselves decide, so a walk that
        # disagrees with them is redone one commit at a time
        p = git(self.gitdir, "rev-list", "--first-parent", head, check=False)
        ids = None
        if p.returncode == 0:
            ids = p.stdout.decode("ascii").split()
        if ids and ids[0] == head:
            commits = self.read_commits(ids)
            if commits is None:
                ids = None
        else:
            ids = None  # rev-list failed, or the head is not a commit
        if ids is None:
            ids, commits = self.walk_slowly(head)
        ids.reverse()
        return ids, commits

    def ref_present(self):
        """Is there a (perhaps unreadable) refs/heads/main?"""
        if os.path.lexists(os.path.join(self.gitdir, BRANCH)):
            return True
        try:
            with open(os.path.join(self.gitdir, "packed-refs"), "rb") as f:
                return any(ln.rstrip(b"\n").endswith(b" " + BRANCH.encode()) for ln in f)
        except OSError:
            return False

    def read_commits(self, ids):
        """Read and check every commit, newest first (a commit that cannot
        be read leaves the seq of every record unknown). None when a
        commit's first parent is not the next id."""
        commits = {}
        for k in range(0, len(ids), 1000):
            got = self.reader.read_many(ids[k:k + 1000])
            for oid in ids[k:k + 1000]:
                commits[oid] = self.check_commit_object(oid, got[oid])
        for n, oid in enumerate(ids):
            want = ids[n + 1] if n + 1 < len(ids) else None
            ps = commits[oid]["parents"]
            if (ps[0] if ps else None) != want:
                return None
        return commits

    def check_commit_object(self, oid, obj):
        if isinstance(obj, Unreadable):
            raise Bad("unreadable", None, oid, "cannot read commit: %s" % obj.why)
        otype, data = obj
        if otype == "mismatch":
            raise Bad("tampered", None, oid,
                      "cannot read commit: object hash mismatch (the object's content does not hash to its name)")
        if otype != "commit":
            raise Bad("tampered", None, oid, "cannot read commit: the object is a %s, not a commit" % otype)
        c = parse_commit(data)
        if c is None:
            raise Bad("tampered", None, oid, "cannot read commit: malformed commit object")
        return c

    def walk_slowly(self, head):
        """Follow first parents one commit at a time."""
        ids, commits, cur = [], {}, head
        while cur:
            if cur in commits:
                raise Bad("tampered", None, cur, "the commit chain has a cycle")
            ids.append(cur)
            obj = self.reader.read_many([cur])[cur]
            c = self.check_commit_object(cur, obj)
            commits[cur] = c
            cur = c["parents"][0] if c["parents"] else None
        return ids, commits

    def run(self):
        ids, commits = self.chain()
        for k in range(0, len(ids), CHUNK):
            self.check_chunk(k, ids[k:k + CHUNK], commits)
        self.head_seq = self.records - 1 if self.records else 0
        if self.next_anchor < len(self.anchors):
            a = self.anchors[self.next_anchor]
            raise Bad("tampered", a[0], None,
                      "anchor %d:%.16s... is past the head (seq %d): the ledger was truncated"
                      % (a[0], a[1], self.head_seq))

    def check_chunk(self, base, ids, commits):
        # Read ahead level by level: root trees, then each level's subtree
        # on the record's path, then the blobs. Problems are only noted
        # here; they are reported in seq order below.
        objs = {}
        level_ids = [commits[c]["tree"] for c in ids]
        paths = [record_comps(base + j) for j in range(len(ids))]
        parsed = dict(self.prev_parsed)
        hints = self.hints  # the previous commit's tree at each level
        for lvl in range(LEVELS + 1):
            need = [x for x in level_ids if x is not None and x not in objs]
            objs.update(self.reader.read_many(need))
            if lvl == LEVELS:
                break
            nxt = []
            for j, tid in enumerate(level_ids):
                o = objs.get(tid) if tid else None
                if o is None or isinstance(o, Unreadable) or o[0] != "tree":
                    nxt.append(None)
                    continue
                if tid not in parsed:
                    t = parse_tree(o[1], self.rawlen, hints[lvl])
                    if t is not None:
                        t.oid = tid
                    parsed[tid] = t
                t = parsed[tid]
                if t is None:
                    nxt.append(None)
                    continue
                hints[lvl] = t
                k = t.index.get(paths[j][lvl])
                nxt.append(t.entries[k][2].hex() if k is not None else None)
            level_ids = nxt
        for j, cid in enumerate(ids):
            self.check_one(base + j, cid, commits[cid], paths[j], objs, parsed)

    def get_tree(self, seq, cid, tid, objs, parsed):
        t = parsed.get(tid)
        if t is not None:
            return t
        o = objs.get(tid)
        if o is None:
            o = self.reader.read_many([tid])[tid]
            objs[tid] = o
        if isinstance(o, Unreadable):
            raise Bad("unreadable", seq, cid, "cannot read a tree: %s" % o.why)
        if o[0] == "mismatch":
            raise Bad("tampered", seq, cid, "a tree's content does not hash to its name")
        if o[0] != "tree":
            raise Bad("tampered", seq, cid, "a tree entry names a %s, not a tree" % o[0])
        t = parsed.get(tid)
        if t is None:
            t = parse_tree(o[1], self.rawlen)
            if t is not None:
                t.oid = tid
            parsed[tid] = t
        if t is None:
            raise Bad("tampered", seq, cid, "malformed tree object")
        return t

    def check_one(self, seq, cid, c, comps, objs, parsed):
        if len(c["parents"]) > 1:
            raise Bad("tampered", seq, cid, "commit is a merge: the ledger history must be linear")
        # rule 2: the tree adds exactly the record
        t = self.get_tree(seq, cid, c["tree"], objs, parsed)
        tids = [c["tree"]] + [None] * (LEVELS - 1)
        p = self.prev_root
        new_trees = {}
        blob = None
        for i in range(LEVELS):
            leaf = i == LEVELS - 1
            name = comps[i]
            new_trees[tids[i]] = t
            k = t.index.get(name)
            te = t.entries[k] if k is not None else None
            pk = p.index.get(name) if p is not None else None
            pe = p.entries[pk] if pk is not None else None
            if te is None:
                raise Bad("tampered", seq, cid, "the commit's tree has no record %d" % seq)
            if not same_but(t, p, name):
                raise Bad("tampered", seq, cid,
                          "the commit changes more than its record (extra, changed or removed files)")
            if leaf:
                if pe is not None:
                    raise Bad("tampered", seq, cid, "the commit replaces record %d instead of adding it" % seq)
                if te[1] != MODE_BLOB:
                    raise Bad("tampered", seq, cid, "record %d is not a regular file" % seq)
                blob = te[2].hex()
                break
            if te[1] != MODE_TREE or (pe is not None and pe[1] != MODE_TREE):
                raise Bad("tampered", seq, cid, "unexpected file in the ledger layout")
            tids[i + 1] = te[2].hex()
            t = self.get_tree(seq, cid, tids[i + 1], objs, parsed)
            p = self.get_tree(seq, cid, pe[2].hex(), objs, parsed) if pe is not None else None
        # rule 3: the record
        o = objs.get(blob)
        if o is None:
            o = self.reader.read_many([blob])[blob]
        if isinstance(o, Unreadable):
            raise Bad("unreadable", seq, cid, "cannot read record: %s" % o.why)
        if o[0] == "mismatch":
            raise Bad("tampered", seq, cid, "the record's blob does not hash to its name")
        if o[0] != "blob":
            raise Bad("tampered", seq, cid, "the record is a %s, not a blob" % o[0])
        data = o[1]
        if len(data) > MAX_RECORD:
            raise Bad("tampered", seq, cid, "record is larger than %d bytes" % MAX_RECORD)
        rhash = hashlib.sha256(data).hexdigest()
        try:
            rec = parse_record(data)
        except ValueError as e:
            raise Bad("tampered", seq, cid, str(e))
        if seq == 0 and rec["v"] > FORMAT_VERSION:
            raise Refuse("the ledger uses format %d; this verifier reads format %d"
                         % (rec["v"], FORMAT_VERSION))
        if rec["seq"] != seq:
            raise Bad("tampered", seq, cid,
                      "record says seq %d where %d belongs (records removed, inserted or swapped)"
                      % (rec["seq"], seq))
        if rec["prev"] != self.prev_hash:
            raise Bad("tampered", seq, cid,
                      "prev is %.16s... but the previous record hashes to %.16s... "
                      "(a record was changed, removed or inserted)" % (rec["prev"], self.prev_hash))
        if rec["v"] < 1 or rec["v"] > FORMAT_VERSION:
            raise Bad("tampered", seq, cid, "record format version %d is not 1..%d" % (rec["v"], FORMAT_VERSION))
        if (seq == 0) != (rec["type"] == "genesis"):
            raise Bad("tampered", seq, cid,
                      "the first record is not a genesis record" if seq == 0 else "a second genesis record")
        if not TYPE_RE.fullmatch(rec["type"]):
            raise Bad("tampered", seq, cid, "record type '%s' is not a valid type" % rec["type"])
        at = parse_at(rec["at"])
        if at is None:
            raise Bad("tampered", seq, cid, "record time '%s' is not RFC 3339 UTC" % rec["at"])
        # rule 4: the commit
        if (c["committer_time"] != at or c["author_time"] != at
                or c["committer_tz"] != "+0000" or c["author_tz"] != "+0000"):
            raise Bad("tampered", seq, cid, "commit time differs from the record's time")
        msg = c["message"]
        if not trailer_ok(msg, b"Docket-Seq", b"%d" % seq):
            raise Bad("tampered", seq, cid, "commit message has no single Docket-Seq: %d" % seq)
        if not trailer_ok(msg, b"Docket-Record", rhash.encode()):
            raise Bad("tampered", seq, cid, "commit message's Docket-Record is not the record's hash")
        if not msg.startswith(rec["type"].encode() + b":"):
            raise Bad("tampered", seq, cid, "commit subject does not name the record type '%s'" % rec["type"])
        if seq == 0:
            lid = rec["body"].get("ledger_id")
            self.ledger_id = lid if type(lid) is str else ""
        # rule 6: anchors
        while self.next_anchor < len(self.anchors) and self.anchors[self.next_anchor][0] == seq:
            a = self.anchors[self.next_anchor]
            if a[1] != rhash:
                raise Bad("tampered", seq, cid,
                          "anchor %d:%.16s... does not match: the history was rewritten" % (seq, a[1]))
            self.next_anchor += 1
            self.anchors_checked += 1
        self.prev_hash = rhash
        self.prev_root = new_trees[c["tree"]]
        self.prev_parsed = new_trees
        self.records += 1
        self.bytes += len(data)


def find_gitdir(path):
    if not os.path.isdir(path):
        return None
    p = subprocess.run(["git", "-C", path, "rev-parse", "--absolute-git-dir"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=git_env(GIT_CEILING_DIRECTORIES=os.path.dirname(os.path.abspath(path))))
    if p.returncode != 0:
        return None
    gitdir = p.stdout.decode().strip()
    # only the repository at `path` itself, not one found above it
    a = os.path.realpath(path)
    g = os.path.realpath(gitdir)
    if g != a and os.path.dirname(g) != a:
        return None
    return gitdir


def main(argv):
    anchors, as_json, quiet, path = parse_args(argv)
    gitdir = find_gitdir(path)
    if gitdir is None:
        print("verify.py: no ledger at %s: not a git repository" % path, file=sys.stderr)
        return EXIT_NOLEDGER
    v = None
    bad = None
    try:
        v = Verifier(gitdir, anchors)
        v.run()
    except Bad as e:
        bad = e
    except Refuse as e:
        print("verify.py: %s: %s" % (path, e), file=sys.stderr)
        return EXIT_NOLEDGER
    finally:
        if v is not None:
            v.reader.close()
    verdict = bad.verdict if bad else "ok"
    if as_json:
        out = {"ok": bad is None, "verdict": verdict, "records": v.records,
               "bytes": v.bytes, "ledger_id": v.ledger_id, "head_commit": v.head_commit,
               "anchors_checked": v.anchors_checked}
        if bad:
            fb = {"reason": bad.reason}
            if bad.seq is not None:
                fb["seq"] = bad.seq
            if bad.commit:
                fb["commit"] = bad.commit
            out["first_bad"] = fb
        else:
            out["head_seq"] = v.head_seq
            out["head_hash"] = v.prev_hash
        print(json.dumps(out, sort_keys=True, separators=(",", ":")))
    elif not quiet:
        if bad is None:
            print("ok: %d records, head %d:%s" % (v.records, v.head_seq, v.prev_hash))
        else:
            s = bad.verdict.upper()
            if bad.seq is not None:
                s += " at record %d" % bad.seq
            if bad.commit:
                s += " (commit %.12s)" % bad.commit
            print("%s: %s" % (s, bad.reason))
    if bad is None:
        return EXIT_OK
    if not quiet and not as_json:
        print("verify.py: the ledger %s" % ("was altered" if bad.verdict == "tampered" else "could not be read"),
              file=sys.stderr)
    return EXIT_TAMPERED if bad.verdict == "tampered" else EXIT_UNREADABLE


if __name__ == "__main__":
    # json's decoder recurses; let it reach past MAX_DEPTH so that the
    # limit, not the interpreter, decides
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3 * MAX_DEPTH))
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:
        sys.exit(1)
