#!/usr/bin/env python3
"""A fake payment/shop provider for docket's tests (Python standard library).

It listens on 127.0.0.1 (port 0 picks a free port, written to --port-file)
and behaves like a real provider: a few POST endpoints create a resource
with an id and answer JSON, and the Idempotency-Key header is honoured the
way Stripe documents it:

  * same key, same method, path and body: the saved first response is
    returned again, with "Idempotent-Replayed: true";
  * same key, different request: 400 (or --mismatch-status) with
    {"error": {"type": "idempotency_error", ...}};
  * same key while the first request is still being processed: 409 with
    {"error": {"type": "idempotency_error", "code": "idempotency_key_in_use"}}.

Responses are saved under a key only once the endpoint has run (as Stripe
does); faults injected in front of the endpoint (500, 429, 400, reset) are
not saved, so a retry with the same key gets a fresh try.

Every request and every side effect is logged as one JSON object per line
to --log ("event": "request" | "effect" | "fault" | ...). A side effect is
performed and logged exactly once per created resource, so tests count
`"event":"effect"` lines.

Endpoints
  POST /v1/refunds                 {"amount": N, ...}    -> 200 refund re_...
  POST /v1/orders/ID/cancel        {...}                 -> 200 order cancelled
  POST /v3/mail/send               {...}                 -> 202, X-Message-Id
  POST /v1/tickets                 {...}                 -> 201 ticket tk_...
  POST /v1/echo                    echoes headers and body (no side effect)
  ANY  /redirect                   302 to /v1/refunds
  GET  /v1/large?bytes=N[&chunked=1]  N bytes of "x"
  GET  /v1/ping                    {"ok": true} (no side effect; benchmarks)
Control (never faulted, never counted as provider requests)
  POST /__faults    {"rules": [RULE, ...]} or one RULE: add fault rules
  DELETE /__faults  clear the rules          GET /__faults  list them
  POST /__refuse    {"seconds": S}: stop listening for S seconds
  GET  /__effects   every side effect so far
  POST /__shutdown  stop the server

A RULE is {"fault": KIND, "path": GLOB (default "*"), "method": M,
"nth": [N, ...] or "times": N (default 1), ...}. It counts the requests
that match its path and method from the moment it is installed and fires
on the listed ordinals (1-based), or on the first `times` of them. KIND:
  reset    close the connection with a TCP reset before processing
  drop     process the request (side effect done, response saved under the
           key), then reset the connection instead of answering
  delay    take "seconds" (default 3) to process: the key stays in flight
           meanwhile, then the request is processed and answered
  status   answer "status" (500, 503, 400, 429, ...) without processing;
           "retry_after" adds a Retry-After header (seconds)
  500, 429, 400, 503   shorthand for status (429 gets Retry-After 1)
  echo     process normally, but echo the Authorization header back in the
           response body and in an X-Echo-Authorization header
The same rules can be given at start with --fault KIND:PATH[:NTH[,NTH]][:ARG]
(ARG is seconds for delay, Retry-After for 429, status for status).

With --tls-cert/--tls-key it speaks HTTPS only. With --api-key, requests
must carry "Authorization: Bearer KEY" (a wrong key gets 401 whose message
echoes the key back, as a careless provider might). It stops by itself
after --max-seconds (default 60), on SIGTERM/SIGINT, or on /__shutdown.
"""

import argparse
import fnmatch
import hashlib
import itertools
import json
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Abort(Exception):
    """The handler ended the connection on purpose (a fault)."""


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.log_lock = threading.Lock()
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None
        self.rules = []
        self.idem = {}  # (auth, key) -> dict(state, fingerprint, response)
        self.effects = []
        self.seq = itertools.count(1)
        self.ids = itertools.count(1)
        self.stop = threading.Event()
        self.refuse = None  # seconds to stop listening for
        self.wake = threading.Event()

    def write(self, **rec):
        rec["ts"] = round(time.time(), 6)
        line = json.dumps(rec, sort_keys=True, separators=(",", ":"))
        with self.log_lock:
            if self.log:
                self.log.write(line + "\n")
                self.log.flush()

    def new_id(self, prefix):
        return "%s_%06d%s" % (prefix, next(self.ids), os.urandom(4).hex())

    def add_rule(self, rule):
        if not isinstance(rule, dict) or "fault" not in rule:
            raise ValueError("a rule needs a \"fault\"")
        kind = str(rule["fault"])
        if kind in ("500", "503", "400", "429", "401", "404", "422"):
            rule.setdefault("status", int(kind))
            if kind == "429":
                rule.setdefault("retry_after", 1)
            kind = "status"
        if kind not in ("reset", "drop", "delay", "status", "echo"):
            raise ValueError("unknown fault %r" % kind)
        if kind == "status" and "status" not in rule:
            raise ValueError("a status fault needs \"status\"")
        r = {
            "fault": kind,
            "path": str(rule.get("path", "*")),
            "method": rule.get("method"),
            "seen": 0,
            "fired": 0,
        }
        for k in ("status", "retry_after", "seconds", "nth", "times"):
            if k in rule:
                r[k] = rule[k]
        if "nth" not in r and "times" not in r:
            r["times"] = 1
        with self.lock:
            self.rules.append(r)
        return r

    def match_rule(self, method, path):
        """Count this request against every rule; return the one that fires."""
        hit = None
        with self.lock:
            for r in self.rules:
                if not fnmatch.fnmatchcase(path, r["path"]):
                    continue
                if r["method"] and r["method"].upper() != method:
                    continue
                r["seen"] += 1
                if hit is not None:
                    continue
                if "nth" in r:
                    fire = r["seen"] in r["nth"]
                else:
                    fire = r["fired"] < int(r["times"])
                if fire:
                    r["fired"] += 1
                    hit = dict(r)
        return hit


def parse_fault_flag(spec):
    parts = spec.split(":")
    if len(parts) < 2:
        raise argparse.ArgumentTypeError("--fault KIND:PATH[:NTH[,NTH]][:ARG]")
    rule = {"fault": parts[0], "path": parts[1]}
    if len(parts) > 2 and parts[2]:
        rule["nth"] = [int(x) for x in parts[2].split(",")]
    if len(parts) > 3 and parts[3]:
        arg = parts[3]
        if parts[0] == "delay":
            rule["seconds"] = float(arg)
        elif parts[0] == "429":
            rule["retry_after"] = int(arg)
        elif parts[0] == "status":
            rule["status"] = int(arg)
    return rule


def body_params(ctype, raw):
    if not raw:
        return {}
    if ctype.startswith("application/json"):
        v = json.loads(raw.decode("utf-8"))
        if not isinstance(v, dict):
            raise ValueError("the body must be a JSON object")
        return v
    q = urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True)
    return {k: v[-1] for k, v in q.items()}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-provider/1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls

    def log_message(self, fmt, *args):  # quiet: everything goes to --log
        pass

    def setup(self):
        ctx = self.server.ssl_ctx
        if ctx is not None:
            self.request.settimeout(10)
            try:
                self.request = ctx.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                self.server.st.write(event="tls_handshake_failed",
                                     error=str(e)[:200])
                raise Abort()
        super().setup()

    # -- replies ----------------------------------------------------------

    def reply(self, status, obj=None, headers=None, raw=None):
        if raw is None:
            raw = b"" if obj is None else (
                json.dumps(obj, sort_keys=True) + "\n").encode()
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)
        self.wfile.flush()
        return status

    def error(self, status, etype, message, code=None, headers=None):
        err = {"type": etype, "message": message}
        if code:
            err["code"] = code
        return self.reply(status, {"error": err}, headers)

    def reset(self):
        """End the connection with a TCP RST: no status line, no FIN."""
        try:
            self.wfile.flush()
        except OSError:
            pass
        sock = self.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
        except OSError:
            pass
        sock.close()
        self.close_connection = True
        raise Abort()

    # -- dispatch ---------------------------------------------------------

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_PUT(self):
        self.handle_any("PUT")

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1 << 20:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    def handle_any(self, method):
        st = self.server.st
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        try:
            raw = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self.error(400, "invalid_request_error", "unreadable body")
            return
        if path.startswith("/__"):
            self.control(method, path, raw)
            return
        n = next(st.seq)
        key = self.headers.get("Idempotency-Key")
        rec = {"event": "request", "n": n, "method": method, "path": path,
               "key": key, "body_sha256": hashlib.sha256(raw).hexdigest()}
        st.write(event="begin", n=n, method=method, path=path, key=key)
        rule = st.match_rule(method, path)
        if rule:
            rec["fault"] = rule["fault"]
        try:
            status = self.serve(method, url, raw, key, rule, rec)
            rec["status"] = status
        except Abort:
            rec.setdefault("status", None)
            rec["aborted"] = True
            raise
        finally:
            st.write(**rec)

    def serve(self, method, url, raw, key, rule, rec):
        st = self.server.st
        kind = rule["fault"] if rule else None
        if kind == "reset":
            self.reset()
        if kind == "status":
            hdr = {}
            if "retry_after" in rule:
                hdr["Retry-After"] = str(rule["retry_after"])
            s = int(rule["status"])
            etype = {429: "rate_limit_error", 400: "invalid_request_error",
                     401: "authentication_error"}.get(s, "api_error")
            return self.error(s, etype, "injected %d" % s, headers=hdr)
        auth = self.headers.get("Authorization") or ""
        if st.args.api_key and auth != "Bearer " + st.args.api_key:
            return self.error(401, "authentication_error",
                              "Invalid API Key provided: %s" % auth[7:])
        if url.path == "/redirect":
            return self.reply(302, {"redirect": "/v1/refunds"},
                              {"Location": "/v1/refunds"})
        if url.path == "/v1/ping" and method == "GET":
            return self.reply(200, {"ok": True})
        if url.path == "/v1/large" and method == "GET":
            return self.large(url)
        if url.path == "/v1/echo":
            hdrs = {k: v for k, v in self.headers.items()}
            return self.reply(200, {"headers": hdrs,
                                    "body": raw.decode("utf-8", "replace")},
                              {"X-Echo-Authorization": auth})
        handler = self.endpoint(method, url.path)
        if handler is None:
            return self.error(404, "invalid_request_error",
                              "Unrecognized request URL (%s: %s)"
                              % (method, url.path))
        try:
            params = body_params(self.headers.get("Content-Type") or "", raw)
        except (ValueError, UnicodeDecodeError) as e:
            return self.error(400, "invalid_request_error",
                              "malformed body: %s" % e)
        fingerprint = hashlib.sha256(
            method.encode() + b" " + url.path.encode() + b"\n" + raw
        ).hexdigest()
        slot = None
        if key:
            ikey = (auth, key)
            with st.lock:
                slot = st.idem.get(ikey)
                if slot is None:
                    slot = {"state": "inflight", "fp": fingerprint,
                            "response": None}
                    st.idem[ikey] = slot
                    slot = None  # we own it
                    owned = True
                else:
                    owned = False
            if not owned:
                return self.replay(slot, fingerprint, ikey, rec)
        delay = float(rule.get("seconds", 3)) if kind == "delay" else 0
        if delay:
            time.sleep(delay)
        try:
            status, obj, hdr = handler(params, url.path)
        except Exception:
            if key:
                with st.lock:
                    st.idem.pop((auth, key), None)
            raise
        if kind == "echo":
            obj = dict(obj or {})
            obj["echo_authorization"] = auth
            hdr = dict(hdr)
            hdr["X-Echo-Authorization"] = auth
        if key:
            with st.lock:
                s = st.idem[(auth, key)]
                if status < 400 or status >= 500 or status == 402:
                    s["state"] = "done"
                    s["response"] = (status, obj, hdr)
                else:
                    # Validation failures are not saved (as Stripe does).
                    del st.idem[(auth, key)]
                st.cond.notify_all()
        if kind == "drop":
            rec["status"] = status
            self.reset()
        return self.reply(status, obj, hdr)

    def replay(self, slot, fingerprint, ikey, rec):
        if slot["fp"] != fingerprint:
            rec["idempotency"] = "mismatch"
            return self.error(
                self.server.st.args.mismatch_status, "idempotency_error",
                "Keys for idempotent requests can only be used with the "
                "same parameters they were first used with.",
                code="idempotency_key_reused")
        if slot["state"] == "inflight":
            rec["idempotency"] = "in_flight"
            return self.error(
                409, "idempotency_error",
                "There is currently another in-progress request using "
                "this idempotency key. Try again later.",
                code="idempotency_key_in_use")
        rec["idempotency"] = "replayed"
        status, obj, hdr = slot["response"]
        hdr = dict(hdr)
        hdr["Idempotent-Replayed"] = "true"
        return self.reply(status, obj, hdr)

    def large(self, url):
        q = urllib.parse.parse_qs(url.query)
        n = int(q.get("bytes", ["1000"])[0])
        if q.get("chunked", ["0"])[0] == "1":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            left = n
            try:
                while left > 0:
                    k = min(left, 4096)
                    self.wfile.write(b"%x\r\n" % k + b"x" * k + b"\r\n")
                    left -= k
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except OSError:
                self.close_connection = True
            return 200
        try:
            return self.reply(200, headers={"Content-Type": "text/plain"},
                              raw=b"x" * n)
        except OSError:
            self.close_connection = True
            return 200

    # -- endpoints --------------------------------------------------------

    def endpoint(self, method, path):
        if method != "POST":
            return None
        if path == "/v1/refunds":
            return self.create_refund
        if path == "/v3/mail/send":
            return self.send_mail
        if path == "/v1/tickets":
            return self.create_ticket
        parts = path.split("/")
        if len(parts) == 5 and parts[1:3] == ["v1", "orders"] \
                and parts[4] == "cancel" and parts[3]:
            return self.cancel_order
        # Shopify's form: /orders/ID/cancel.json (the demo's workflow)
        if len(parts) == 4 and parts[1] == "orders" \
                and parts[3] == "cancel.json" and parts[2]:
            return self.cancel_order
        return None

    def effect(self, kind, rid, params):
        st = self.server.st
        e = {"kind": kind, "id": rid,
             "key": self.headers.get("Idempotency-Key"), "params": params}
        with st.lock:
            st.effects.append(e)
        st.write(event="effect", **e)

    def create_refund(self, p, path):
        amount = p.get("amount")
        try:
            amount = int(amount)
        except (TypeError, ValueError):
            amount = None
        if amount is None or amount <= 0:
            return 400, {"error": {
                "type": "invalid_request_error", "param": "amount",
                "message": "amount must be a positive integer"}}, {}
        rid = self.server.st.new_id("re")
        self.effect("refund", rid, p)
        return 200, {"id": rid, "object": "refund", "amount": amount,
                     "currency": p.get("currency", "usd"),
                     "charge": p.get("charge"), "status": "succeeded"}, {}

    def cancel_order(self, p, path):
        parts = path.split("/")
        oid = parts[3] if parts[1] == "v1" else parts[2]
        cid = self.server.st.new_id("cx")
        self.effect("order_cancel", cid, dict(p, order=oid))
        return 200, {"order": {"id": oid, "cancel_id": cid,
                               "cancelled_at": int(time.time()),
                               "cancel_reason": p.get("reason", "customer")}}, {}

    def send_mail(self, p, path):
        mid = self.server.st.new_id("msg")
        self.effect("mail", mid, p)
        return 202, None, {"X-Message-Id": mid}

    def create_ticket(self, p, path):
        tid = self.server.st.new_id("tk")
        self.effect("ticket", tid, p)
        return 201, {"id": tid, "object": "ticket",
                     "subject": p.get("subject")}, {}

    # -- control ----------------------------------------------------------

    def control(self, method, path, raw):
        st = self.server.st
        try:
            arg = json.loads(raw.decode() or "{}") if raw else {}
        except ValueError:
            return self.error(400, "invalid_request_error", "bad JSON")
        if path == "/__faults" and method == "POST":
            rules = arg.get("rules", [arg]) if isinstance(arg, dict) else arg
            try:
                added = [st.add_rule(dict(r)) for r in rules]
            except (ValueError, TypeError) as e:
                return self.error(400, "invalid_request_error", str(e))
            st.write(event="faults_added", rules=added)
            return self.reply(200, {"added": len(added)})
        if path == "/__faults" and method == "DELETE":
            with st.lock:
                st.rules = []
            st.write(event="faults_cleared")
            return self.reply(200, {"cleared": True})
        if path == "/__faults" and method == "GET":
            with st.lock:
                rules = list(st.rules)
            return self.reply(200, {"rules": rules})
        if path == "/__effects" and method == "GET":
            with st.lock:
                eff = list(st.effects)
            return self.reply(200, {"count": len(eff), "effects": eff})
        if path == "/__refuse" and method == "POST":
            secs = float(arg.get("seconds", 1))
            st.write(event="refuse", seconds=secs)
            self.close_connection = True
            self.reply(200, {"refusing": secs})
            st.refuse = secs
            st.wake.set()
            return
        if path == "/__shutdown" and method == "POST":
            self.close_connection = True
            self.reply(200, {"stopping": True})
            st.write(event="shutdown_requested")
            st.stop.set()
            st.wake.set()
            return
        return self.error(404, "invalid_request_error", "no such control")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (Abort, ConnectionError, BrokenPipeError,
                            socket.timeout, ssl.SSLError)):
            return
        self.st.write(event="server_error", error=repr(exc)[:300])


def make_server(st, port, ssl_ctx):
    srv = Server(("127.0.0.1", port), Handler)
    srv.st = st
    srv.ssl_ctx = ssl_ctx
    return srv


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--max-seconds", type=float, default=60)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--api-key")
    ap.add_argument("--mismatch-status", type=int, default=400,
                    choices=(400, 422))
    ap.add_argument("--refuse-for", type=float, default=0,
                    help="start by not listening for this many seconds")
    ap.add_argument("--fault", action="append", default=[],
                    type=parse_fault_flag)
    args = ap.parse_args()

    st = State(args)
    for r in args.fault:
        st.add_rule(r)
    ssl_ctx = None
    if args.tls_cert:
        ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_ctx.load_cert_chain(args.tls_cert, args.tls_key)

    def on_signal(signum, frame):
        st.write(event="signal", signum=signum)
        st.stop.set()
        st.wake.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    srv = make_server(st, args.port, ssl_ctx)
    port = srv.server_address[1]
    if args.refuse_for > 0:
        srv.server_close()
        srv = None
        st.refuse = args.refuse_for
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    st.write(event="start", port=port, pid=os.getpid(),
             tls=bool(ssl_ctx))
    deadline = time.monotonic() + args.max_seconds
    while not st.stop.is_set():
        if srv is None:
            secs = st.refuse or 0
            st.refuse = None
            st.stop.wait(min(secs, max(0, deadline - time.monotonic())))
            if st.stop.is_set() or time.monotonic() >= deadline:
                break
            srv = make_server(st, port, ssl_ctx)
            st.write(event="listening_again")
        t = threading.Thread(target=srv.serve_forever,
                             kwargs={"poll_interval": 0.05}, daemon=True)
        t.start()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                st.write(event="max_seconds")
                st.stop.set()
                break
            if st.wake.wait(min(left, 1.0)):
                st.wake.clear()
                if st.stop.is_set() or st.refuse:
                    break
        srv.shutdown()
        srv.server_close()
        t.join(5)
        srv = None
        if st.refuse:
            st.write(event="not_listening", seconds=st.refuse)
    st.write(event="stop")
    if st.log:
        st.log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
