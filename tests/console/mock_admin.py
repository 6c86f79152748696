#!/usr/bin/python3
"""A stand-in for a Strata cluster's admin ports (docs/admin.md), to develop
and test the console (console/index.html) without the C side.

Every mock broker listens on 127.0.0.1 only, serves the console page at /
(read from disk at each request, so edits show on reload) and canned but
live-looking JSON: offsets and byte counters grow with wall time at rates
that swing over minutes, so the charts move; /v1/rates has 5 minutes of
history from the first request. The default cluster, 3 brokers:

  topics    orders (6 partitions), payments (3), iot_sensor_data (12),
            clickstream (6), __consumer_offsets (10, internal); RF 3
  payments/1  under-replicated: its last replica stopped fetching 40 s
              before the mock started, so its lag grows
  groups    billing-service (2 members, stuck on payments/1: lag grows),
            analytics-etl (3 members, caught up within ~2 s),
            audit-archiver (no members, far behind)

Options add trouble: --offline (a partition with no leader), --fenced ID
(a broker the controller fenced: in no ISR, leads nothing), --no-admin ID
(a broker that advertises no admin address), --unreachable N
(N more brokers in the metadata whose admin address refuses connections:
their port is bound, never listened on), --big N (a topic of N partitions,
to try paging at 10,000). GET /_mock/pause?seconds=N on a broker makes it
drop its connections for N seconds (the console's error banner).

Usage: mock_admin.py [--brokers 3] [--port 0] [...]; --port 0 lets the
kernel pick each port. Prints "broker ID http://127.0.0.1:PORT/" per broker,
then "ready", and serves until SIGINT/SIGTERM. Python 3 standard library only.
"""

import argparse
import json
import math
import os
import signal
import socket
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_HTML = os.path.normpath(os.path.join(HERE, "..", "..", "console", "index.html"))
CLUSTER_ID = "q7Rt2xWmS9uKc4LpZb1eNA"
VERSION = "0.1.0"
PAGE_DEFAULT, PAGE_MAX = 100, 1000
START = time.time()
EPOCH0 = START - 7200  # the counters start two hours before the mock


class Topic:
    def __init__(self, name, nparts, rate, size, phase, fanout, internal=False):
        self.name, self.nparts, self.rate, self.size = name, nparts, rate, size
        self.phase, self.fanout, self.internal = phase, fanout, internal
        w = [1 + 0.25 * math.sin(p * 1.7 + phase) for p in range(nparts)]
        s = sum(w)
        self.weights = [x / s for x in w]

    def integral(self, t):
        """Records written to the whole topic since EPOCH0, at wall time t:
        the integral of a rate that swings around self.rate."""

        def f(x):
            return self.rate * (
                x
                - 0.35 * 180 / (2 * math.pi) * math.cos(2 * math.pi * x / 180 + self.phase)
                - 0.15 * 47 / (2 * math.pi) * math.cos(2 * math.pi * x / 47 + 2 * self.phase)
            )

        return f(t - EPOCH0) - f(0)

    def end(self, p, t):
        return 1000 * (p + 1) + int(self.weights[p] * self.integral(t))


class Partition:
    def __init__(self, topic, pid, replicas):
        self.topic, self.id, self.replicas = topic, pid, replicas
        self.isr = list(replicas)
        self.leader = replicas[0]
        self.leader_epoch = 1 + (pid * 7 + len(topic.name)) % 5
        self.stuck = {}  # replica id -> the wall time it stopped fetching
        self.offline = False

    def end(self, t):
        return self.topic.end(self.id, t)

    def hw(self, t):
        return self.end(t - 0.2)

    def start(self, t):
        # Retention: the log keeps roughly the last 40 minutes.
        return max(0, self.end(t - 2400) - 1000 * (self.id + 1)) if self.topic.name != "payments" else 0


class Cluster:
    def __init__(self, args):
        self.ids = list(range(1, args.brokers + 1))
        self.unreachable_ids = list(range(args.brokers + 1, args.brokers + 1 + args.unreachable))
        all_ids = self.ids + self.unreachable_ids
        self.fenced = set(args.fenced or [])
        self.no_admin = set(args.no_admin or [])
        self.topics = [
            Topic("orders", 6, 850, 420, 0.3, 2),
            Topic("payments", 3, 240, 310, 1.9, 1),
            Topic("iot_sensor_data", 12, 4200, 96, 3.1, 1),
            Topic("clickstream", 6, 1600, 780, 4.4, 1),
            Topic("__consumer_offsets", 10, 12, 120, 5.2, 0, internal=True),
        ]
        if args.big:
            self.topics.append(Topic("bulk-events", args.big, 9000, 200, 2.2, 0))
        self.topics.sort(key=lambda tp: tp.name.encode())
        rf = min(3, len(all_ids))
        self.parts = []  # every partition, in topic then partition order
        for ti, tp in enumerate(self.topics):
            for p in range(tp.nparts):
                k = (ti + p) % len(all_ids)
                reps = [all_ids[(k + j) % len(all_ids)] for j in range(rf)]
                part = Partition(tp, p, reps)
                live = [r for r in reps if r not in self.fenced]
                part.isr = live
                part.leader = live[0] if live else -1
                self.parts.append(part)
        pay = self.find("payments", 1)
        if len(pay.isr) > 1:
            gone = pay.isr[-1]
            pay.isr = pay.isr[:-1]
            pay.stuck[gone] = START - 40
        if args.offline:
            off = self.find("clickstream", 4)
            off.offline, off.leader, off.isr = True, -1, []
        self.racks = {b: "eu-west-1" + "abc"[(b - 1) % 3] for b in all_ids}
        self.admin = {}  # id -> "127.0.0.1:PORT"
        self.epochs = {b: 40 + 3 * b for b in all_ids}

    def find(self, topic, p):
        for part in self.parts:
            if part.topic.name == topic and part.id == p:
                return part
        raise KeyError((topic, p))

    # -- a broker's view ---------------------------------------------------

    def role(self, b, part):
        if part.leader == b:
            return "leader"
        return "follower" if b in part.replicas and b not in self.fenced else "none"

    def follower_end(self, part, r, t):
        if r in part.stuck:
            return part.end(part.stuck[r])
        return part.end(t - 0.3)

    def hw_here(self, b, part, t):
        """This broker's replica's high watermark; -1 when it holds none."""
        role = self.role(b, part)
        if role == "leader":
            return part.hw(t)
        if b not in part.replicas:
            return -1
        return min(part.hw(t - 0.5), self.follower_end(part, b, t))

    def partition_json(self, b, part, t):
        role = self.role(b, part)
        if role == "leader":
            hw, start, end = part.hw(t), part.start(t), part.end(t)
            lag = [{"replica": r, "lag": max(0, end - self.follower_end(part, r, t))}
                   for r in part.replicas if r != b]
        elif role == "follower" or (part.offline and b in part.replicas):
            hw = self.hw_here(b, part, t)
            end = self.follower_end(part, b, t) if not part.offline else part.end(START - 90)
            hw = min(hw, end)
            start, lag = part.start(t), []
        else:
            hw, start, end, lag = 0, 0, 0, []
        return {
            "topic": part.topic.name, "partition": part.id, "leader": part.leader,
            "leader_epoch": part.leader_epoch, "replicas": part.replicas, "isr": part.isr,
            "role": role, "high_watermark": hw, "log_start": start, "log_end": end,
            "under_replicated": role == "leader" and len(part.isr) < len(part.replicas),
            "offline": part.offline, "replica_lag": lag,
        }

    def counters(self, b, t):
        """This broker's byte and record totals (as leader) at wall time t."""
        bi = bo = ri = 0.0
        for tp, share in self.shares(b):
            recs = share * tp.integral(t)
            ri += recs
            bi += recs * tp.size
            bo += tp.fanout * share * tp.integral(t - 2) * tp.size * 1.02
        return int(bi), int(bo), int(ri)

    def shares(self, b):
        cache = getattr(self, "_shares", None)
        if cache is None:
            cache = self._shares = {}
        if b not in cache:
            out = []
            for tp in self.topics:
                s = sum(tp.weights[p.id] for p in self.parts if p.topic is tp and p.leader == b)
                if s:
                    out.append((tp, s))
            cache[b] = out
        return cache[b]

    def cluster_json(self, b, t):
        led = [p for p in self.parts if p.leader == b]
        bi, bo, ri = self.counters(b, t)
        fenced = b in self.fenced
        return {
            "node": {"role": "broker", "id": b, "version": VERSION, "cluster_id": CLUSTER_ID,
                     "ready": not fenced, "reason": "fenced by the controller" if fenced else "",
                     "time_ms": int(t * 1000)},
            "controller": {"id": 0, "connected": not fenced},
            "brokers": [
                {"id": i, "host": "127.0.0.%d" % i, "port": 19092, "rack": self.racks[i],
                 "epoch": self.epochs[i], "fenced": i in self.fenced,
                 "admin": "" if i in self.no_admin else self.admin.get(i, "")}
                for i in self.ids + self.unreachable_ids
            ],
            "totals": {
                "topics": len(self.topics), "partitions": len(self.parts), "leaders": len(led),
                "followers": sum(1 for p in self.parts if self.role(b, p) == "follower"),
                "under_replicated": sum(1 for p in led if len(p.isr) < len(p.replicas)),
                "under_min_isr": sum(1 for p in led if len(p.isr) < 2),
                "offline": sum(1 for p in self.parts if p.offline),
                "bytes_in_total": bi, "bytes_out_total": bo, "records_in_total": ri,
            },
        }

    def topics_json(self, b, q, t):
        flt = q.get("filter", "")
        off, lim = page(q)
        names = [tp for tp in self.topics if flt in tp.name]
        rows = []
        for tp in names[off:off + lim]:
            mine = [p for p in self.parts if p.topic is tp and p.leader == b]
            share = sum(tp.weights[p.id] for p in mine)
            recs = int(share * tp.integral(t))
            rows.append({
                "name": tp.name, "partitions": tp.nparts, "internal": tp.internal,
                "under_replicated": sum(1 for p in mine if len(p.isr) < len(p.replicas)),
                "offline": sum(1 for p in self.parts if p.topic is tp and p.offline),
                "bytes_in_total": recs * tp.size,
                "bytes_out_total": int(tp.fanout * share * tp.integral(t - 2) * tp.size),
                "records_in_total": recs,
            })
        return {"total": len(names), "offset": off, "limit": lim, "topics": rows}

    def partitions_json(self, b, q, t):
        topic, flt = q.get("topic", ""), q.get("filter", "")
        only = q.get("under_replicated", "") in ("1", "true")
        off, lim = page(q)
        rows, total = [], 0
        for part in self.parts:
            if topic:
                if part.topic.name != topic:
                    continue
            elif flt not in part.topic.name:
                continue
            if only and not part.offline and not (
                    part.leader == b and len(part.isr) < len(part.replicas)):
                continue
            total += 1
            if total > off and len(rows) < lim:
                rows.append(self.partition_json(b, part, t))
        return {"partitions": rows, "total": total, "offset": off, "limit": lim}

    def groups(self):
        """The groups: name, members [(id, instance, [(topic, p)])], committed(t)."""
        pay = [p for p in self.parts if p.topic.name == "payments"]
        iot = [p for p in self.parts if p.topic.name in ("iot_sensor_data", "clickstream")]
        orders = [p for p in self.parts if p.topic.name == "orders"]

        def billing(part, t):
            if part.id == 1:  # a poison record: stuck since before the mock started
                return part.end(START - 300)
            return part.hw(t - 1.5)

        return [
            ("analytics-etl", 9, [
                ("analytics-etl-7f3a1c2e-5b9d-4c1e-9a0f-2d6e8b7c4a11", "", iot[0::3]),
                ("analytics-etl-0b8e4d6a-91c2-4f7e-b3a5-6c1d2e9f8a20", "", iot[1::3]),
                ("analytics-etl-c4d2a9e1-3f6b-48a7-8e5c-9b0a1f2d3e33", "", iot[2::3]),
            ], iot, lambda part, t: part.hw(t - 2.0)),
            ("audit-archiver", 12, [], orders,
             lambda part, t: part.end(EPOCH0 + 5400) if part.id % 2 == 0 else part.end(EPOCH0 + 6100)),
            ("billing-service", 4, [
                ("billing-1-5e2f8c1a-77d4-4b0e-a6c3-1f9e2d8b5c40", "billing-a", pay[:2]),
                ("billing-2-a9c3e7f0-12b6-4d58-9e1a-3c5f7b9d0e51", "billing-b", pay[2:]),
            ], pay, billing),
        ]

    def coordinator(self, group):
        offs = [p for p in self.parts if p.topic.name == "__consumer_offsets"]
        return offs[zlib.crc32(group.encode()) % len(offs)].leader

    def groups_json(self, b, t):
        out = []
        for name, epoch, members, parts, committed in self.groups():
            if self.coordinator(name) != b:
                continue
            offsets, total = [], 0
            for part in parts:
                c = committed(part, t)
                hw = self.hw_here(b, part, t)
                row = {"topic": part.topic.name, "partition": part.id, "committed": c,
                       "high_watermark": hw}
                if hw >= 0:
                    row["lag"] = max(0, hw - c)
                    total += row["lag"]
                offsets.append(row)
            out.append({
                "group": name, "coordinator": b, "epoch": epoch,
                "members": [{"id": mid, "instance_id": inst, "epoch": epoch,
                             "assignment": [{"topic": p.topic.name, "partition": p.id} for p in ps]}
                            for mid, inst, ps in members],
                "offsets": offsets, "lag_total": total,
            })
        return {"groups": out}

    def rates_json(self, b, t):
        now = int(t)
        first = now - 299
        samples = []
        for s in range(first, now + 1):
            # Each broker samples at its own phase within the second.
            ts = s + 0.1 * b
            if ts > t:
                continue
            bi, bo, ri = self.counters(b, ts)
            samples.append({"time_ms": int(ts * 1000), "bytes_in": bi, "bytes_out": bo,
                            "records_in": ri})
        return {"interval_ms": 1000, "samples": samples[-300:]}

    def metrics(self, b, t):
        c = self.cluster_json(b, t)["totals"]
        return ("# HELP strata_broker_under_replicated_partitions Led partitions with a short ISR.\n"
                "# TYPE strata_broker_under_replicated_partitions gauge\n"
                "strata_broker_under_replicated_partitions %d\n" % c["under_replicated"])


def page(q):
    def num(k, d, mx):
        v = q.get(k, "")
        if not v.isdigit():
            return d
        return min(int(v), mx)

    return num("offset", 0, 1 << 40), num("limit", PAGE_DEFAULT, PAGE_MAX)


def make_handler(cluster, bid, html_path, paused):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "strata-mock"

        def log_message(self, fmt, *a):
            if os.environ.get("MOCK_VERBOSE"):
                sys.stderr.write("broker %d: %s\n" % (bid, fmt % a))

        def answer(self, status, ctype, body, cors):
            if isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            if cors:
                self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.close_connection = True

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            if time.time() < paused.get(bid, 0):
                self.close_connection = True
                return  # no answer at all: the browser sees an empty response
            u = urlsplit(self.path)
            q = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
            t = time.time()
            J = "application/json"
            if u.path == "/":
                try:
                    with open(html_path, "rb") as f:
                        body = f.read()
                except OSError as e:
                    return self.answer(500, "text/plain; charset=utf-8", "%s\n" % e, False)
                return self.answer(200, "text/html; charset=utf-8", body, False)
            if u.path == "/_mock/pause":
                paused[bid] = t + float(q.get("seconds", "10"))
                return self.answer(200, "text/plain; charset=utf-8", "paused\n", True)
            routes = {
                "/v1/cluster": lambda: cluster.cluster_json(bid, t),
                "/v1/topics": lambda: cluster.topics_json(bid, q, t),
                "/v1/partitions": lambda: cluster.partitions_json(bid, q, t),
                "/v1/groups": lambda: cluster.groups_json(bid, t),
                "/v1/rates": lambda: cluster.rates_json(bid, t),
                "/livez": lambda: {"status": "live"},
            }
            if u.path in routes:
                return self.answer(200, J, json.dumps(routes[u.path](), separators=(",", ":")) + "\n", True)
            if u.path == "/readyz":
                if bid in cluster.fenced:
                    return self.answer(503, J, '{"status":"not ready","reason":"fenced by the controller"}\n', True)
                return self.answer(200, J, '{"status":"ready"}\n', True)
            if u.path == "/metrics":
                return self.answer(200, "text/plain; version=0.0.4; charset=utf-8", cluster.metrics(bid, t), False)
            return self.answer(404, "text/plain; charset=utf-8",
                               "not found: see docs/admin.md for the endpoints\n", False)

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--brokers", type=int, default=3, help="brokers that answer (default 3)")
    ap.add_argument("--port", type=int, default=0,
                    help="first port; broker i gets PORT+i-1 (default 0: the kernel picks)")
    ap.add_argument("--html", default=DEFAULT_HTML, help="the page served at / (%(default)s)")
    ap.add_argument("--offline", action="store_true", help="clickstream/4 has no leader")
    ap.add_argument("--fenced", type=int, action="append", metavar="ID", help="a fenced broker")
    ap.add_argument("--unreachable", type=int, default=0, metavar="N",
                    help="N more brokers whose admin address refuses connections")
    ap.add_argument("--no-admin", type=int, action="append", metavar="ID",
                    help="this broker advertises no admin address (it still serves)")
    ap.add_argument("--big", type=int, default=0, metavar="N", help="add a topic of N partitions")
    args = ap.parse_args()
    if args.brokers < 1:
        ap.error("--brokers must be at least 1")

    cluster = Cluster(args)
    servers, holds, paused = [], [], {}
    for i, bid in enumerate(cluster.ids):
        port = args.port + i if args.port else 0
        srv = ThreadingHTTPServer(("127.0.0.1", port), make_handler(cluster, bid, args.html, paused))
        srv.daemon_threads = True
        cluster.admin[bid] = "127.0.0.1:%d" % srv.server_address[1]
        servers.append((bid, srv))
    for bid in cluster.unreachable_ids:
        # Bound but never listening: connections to it are refused, and no
        # one else can take the port while the mock runs.
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        holds.append(s)
        cluster.admin[bid] = "127.0.0.1:%d" % s.getsockname()[1]
    for bid, srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        print("broker %d http://%s/" % (bid, cluster.admin[bid]))
    for bid in cluster.unreachable_ids:
        print("unreachable %d http://%s/" % (bid, cluster.admin[bid]))
    print("ready", flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(3600):
        pass
    for _, srv in servers:
        srv.shutdown()
        srv.server_close()
    for s in holds:
        s.close()


if __name__ == "__main__":
    main()
