#!/usr/bin/python3
"""Hostile clients for tests/admin/bad_input_test.sh (standard library only).

  bad_input.py probe PORT
      garbage, oversized heads, a 1 MB request line, other methods, bodies,
      odd paths: one ok/FAIL line each (cases run side by side)
  bad_input.py slowloris PORT N
      N clients sending one byte of a head per second; ok/FAIL on when and
      how the server closed them
  bad_input.py flood PORT N SECONDS RATE MARKER
      open N idle connections at once (touch MARKER when they are), then
      open RATE more a second for SECONDS, keeping N open; never send
  bad_input.py watch PORT PID SECONDS MAX LABEL
      every 0.2 s: GET /livez and /metrics on new connections, read
      strata_connections{listener="admin"}, count the broker's sockets on
      PORT from /proc; ok/FAIL lines at the end
  bad_input.py amid PORT PID BEFORE AFTER
      with the broker stopped, BEFORE idle connections, a GET /livez, AFTER
      idle ones; then let it run: the /livez must be answered
  bad_input.py socks PORT PID      print how many sockets on PORT PID holds
  bad_input.py get PORT PATH FILE  GET PATH, body to FILE; prints the status

Every ok/FAIL line goes to stdout; the exit status is the number of FAILs.
"""
import collections
import errno
import os
import random
import re
import resource
import select
import socket
import ssl
import sys
import threading
import time

HOST = "127.0.0.1"
HEAD_TIMEOUT = 5.0      # HTTP_HEAD_TIMEOUT_MS (common/http_server_uv.h)
REQUEST_MAX = 8192      # HTTP_REQUEST_MAX (common/http_request.h)
fails = 0


def report(ok, msg):
    global fails
    print(("ok   " if ok else "FAIL ") + msg, flush=True)
    if not ok:
        fails += 1
    return ok


def status_of(data):
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", data)
    return int(m.group(1)) if m else None


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def read_until_close(s, deadline):
    """Read until the peer closes or the deadline. Returns (data, how):
    how is 'eof', 'reset' or None (still open at the deadline)."""
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, None
        s.settimeout(left)
        try:
            b = s.recv(65536)
        except socket.timeout:
            return data, None
        except (ConnectionResetError, BrokenPipeError):
            return data, "reset"
        if not b:
            return data, "eof"
        data += b


def http_get(port, path, timeout):
    """(status or None, body, seconds, error or '')."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection((HOST, port), timeout=timeout)
    except OSError as e:
        return None, b"", time.monotonic() - t0, "connect: %s" % e
    try:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n"
                  % (path.encode(), HOST.encode(), port))
        data, how = read_until_close(s, t0 + timeout)
    except OSError as e:
        return None, b"", time.monotonic() - t0, str(e)
    finally:
        s.close()
    dt = time.monotonic() - t0
    head, _, body = data.partition(b"\r\n\r\n")
    err = "" if how == "eof" else ("reset" if how == "reset" else "no answer in %.1f s" % timeout)
    return status_of(head + b"\r\n"), body, dt, err


# ---- probe ----

def tls_client_hello():
    """A real TLS ClientHello, as a browser sends to an https:// URL."""
    ctx = ssl.create_default_context()
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outg, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outg.read()


def exchange(port, data, wait):
    """Send data, read the answer until close. (status, how, seconds after
    the last byte sent, send error or '')."""
    s = socket.create_connection((HOST, port), timeout=5)
    err = ""
    try:
        s.sendall(data)
    except OSError as e:
        err = type(e).__name__
    t0 = time.monotonic()
    got, how = read_until_close(s, t0 + wait)
    s.close()
    return status_of(got), how, time.monotonic() - t0, err


def describe(st, how, dt, err=""):
    return "%s, %s after %.2f s%s" % (
        "answered %d" % st if st else "no answer",
        {"eof": "closed", "reset": "reset", None: "STILL OPEN"}[how], dt,
        ", send: " + err if err else "")


def case_expect(port, name, data, statuses, within, allow_silent=False):
    """One case: answered with one of statuses (or, if allow_silent, closed
    without an answer) and closed within `within` seconds."""
    def run():
        st, how, dt, err = exchange(port, data, within + 1)
        good = how is not None and dt <= within and (st in statuses or (allow_silent and st is None))
        want = ("%d-%d" % (statuses[0], statuses[-1]) if len(statuses) > 3
                else "/".join(map(str, statuses))) + (" or a close" if allow_silent else "")
        return good, "%s: %s (want %s within %.1f s)" % (name, describe(st, how, dt, err), want, within)
    return run


def case_long_line(port):
    """A 1 MB request line sent 64 KiB at a time: the answer (414/431) must
    come after the first 64 KiB, and the rest must not get through."""
    def run():
        s = socket.create_connection((HOST, port), timeout=5)
        first = b"GET /" + b"a" * (64 * 1024 - 5)
        s.sendall(first)
        t0 = time.monotonic()
        s.settimeout(1.0)
        try:
            got = s.recv(4096)
        except socket.timeout:
            got = None
        except OSError:
            got = b""
        dt = time.monotonic() - t0
        st = status_of(got) if got else None
        # The server has read at most HTTP_REQUEST_MAX of it and closed:
        # sending the remaining ~1 MB must fail.
        sent, err = len(first), ""
        s.settimeout(2.0)
        chunk = b"a" * (64 * 1024)
        try:
            for _ in range(16):
                sent += s.send(chunk)
                time.sleep(0.01)
        except OSError as e:
            err = type(e).__name__
        s.close()
        good = st in (414, 431) and dt <= 1.0 and err != ""
        return good, ("1 MB request line, 64 KiB at a time: %s after %.2f s; the rest of the "
                      "line: %s after %d bytes (want 414/431 within 1 s, then refused)"
                      % ("answered %d" % st if st else "no answer" if got is None else "closed",
                         dt, err or "ALL ACCEPTED", sent))
    return run


def case_blast(port):
    """The same 1 MB line in one send: answered or reset, quickly."""
    def run():
        st, how, dt, err = exchange(port, b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\n\r\n", 3)
        good = how is not None and dt <= 2.0 and (st in (414, 431) or (st is None and how == "reset"))
        return good, "1 MB request line in one send: %s (want 414/431 or a reset within 2 s)" % describe(
            st, how, dt, err)
    return run


def probe(port):
    rnd = random.Random(16)
    binary = bytes(rnd.randrange(256) for _ in range(600))
    with_lf = binary[:300] + b"\r\n" + binary[300:] + b"\r\n\r\n"
    no_lf = bytes(b for b in binary if b != 0x0A)
    hello = tls_client_hello()
    big_headers = b"GET /livez HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-Filler-%02d: %s\r\n" % (i, b"f" * 250) for i in range(40)) + b"\r\n"
    many_headers = b"GET /livez HTTP/1.1\r\n" + b"a: b\r\n" * 65 + b"\r\n"
    long_path = b"GET /" + b"p" * 2048 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    garbage = 400, 505
    t = HEAD_TIMEOUT + 1.5
    cases = [
        # 1. garbage: a 400 (505) or a close, never a crash
        case_expect(port, "random binary with line ends", with_lf, garbage, t, True),
        case_expect(port, "random binary without a line end", no_lf, garbage, t, True),
        case_expect(port, "TLS ClientHello (%d bytes)" % len(hello), hello, garbage, t, True),
        case_expect(port, "a line without HTTP version", b"GET /metrics\r\n\r\n", garbage, t, True),
        case_expect(port, "HTTP/0.9 request", b"GET /\n", garbage, t, True),
        case_expect(port, "NUL bytes", b"\0" * 100, garbage, t, True),
        case_expect(port, "blank lines only", b"\r\n\r\n\r\n", garbage, t, True),
        case_expect(port, "SSH banner", b"SSH-2.0-OpenSSH_9.2\r\n", garbage, t, True),
        case_expect(port, "HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", (400, 405, 505), t, True),
        case_expect(port, "HTTP/3.0 request line", b"GET / HTTP/3.0\r\n\r\n", (505,), 1.0),
        # garbage is refused as soon as it cannot be HTTP, not after the head timeout
        case_expect(port, "binary without a line end, at once", no_lf, (400,), 1.0),
        # 2. a head over 8 KiB; more than 64 header lines; a target over 1 KiB
        case_expect(port, "header block of %d bytes" % len(big_headers), big_headers, (431,), 1.0),
        case_expect(port, "65 header lines", many_headers, (431,), 1.0),
        case_expect(port, "a 2 KiB path", long_path, (414,), 1.0),
        # 3. a 1 MB request line
        case_long_line(port),
        case_blast(port),
        # 4. other methods, bodies
        case_expect(port, "POST", b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", (405,), 1.0),
        case_expect(port, "PUT", b"PUT /v1/topics HTTP/1.1\r\nHost: x\r\n\r\n", (405,), 1.0),
        case_expect(port, "DELETE", b"DELETE /v1/topics HTTP/1.1\r\n\r\n", (405,), 1.0),
        case_expect(port, "GET with Content-Length: 5",
                    b"GET /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", (400,), 1.0),
        case_expect(port, "GET with Transfer-Encoding: chunked",
                    b"GET /livez HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                    (400,), 1.0),
    ]
    # Odd targets the router must answer (any 2xx-4xx), not crash on.
    for path in ["/v1/topics?limit=-5&offset=99999999999999999999999",
                 "/v1/partitions?topic=%00&filter=%&limit=abc&under_replicated=2",
                 "/v1/topics?filter=%ff%fe%", "/%2e%2e/%2e%2e/etc/passwd", "//metrics",
                 "/metrics?" + "&" * 500, "/v1/groups?=&=&", "/livez#frag"]:
        cases.append(case_expect(port, "GET " + path[:60], b"GET " + path.encode() +
                                 b" HTTP/1.1\r\nHost: x\r\n\r\n", tuple(range(200, 500)), 1.0))
    results = [None] * len(cases)

    def worker(i, fn):
        try:
            results[i] = fn()
        except Exception as e:  # a refused connect (server gone) etc.
            results[i] = (False, "case %d: %s: %s" % (i, type(e).__name__, e))
    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(cases)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for good, msg in results:
        report(good, msg)


# ---- slowloris ----

def slowloris(port, n):
    head = b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\nAccept: */*\r\n\r\n"
    results = [None] * n

    def one(i):
        s = socket.create_connection((HOST, port), timeout=5)
        t0 = time.monotonic()
        sent, got, how = 0, b"", None
        while time.monotonic() - t0 < HEAD_TIMEOUT + 5:
            if sent < len(head) - 2:  # never the end of the head
                try:
                    s.send(head[sent:sent + 1])
                    sent += 1
                except OSError:
                    how = "reset"
                    break
            nxt = t0 + sent  # one byte a second
            r, _, _ = select.select([s], [], [], max(0.0, nxt - time.monotonic()))
            if r:
                try:
                    b = s.recv(4096)
                except OSError:
                    how = "reset"
                    break
                if not b:
                    how = "eof"
                    break
                got += b
        results[i] = (time.monotonic() - t0, how, status_of(got) if got else None, sent)
        s.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    times = [r[0] for r in results]
    statuses = sorted(set(str(r[2]) if r[2] else "close" for r in results))
    closed = sum(1 for r in results if r[1])
    report(closed == n and all(HEAD_TIMEOUT - 1 <= t <= HEAD_TIMEOUT + 2 for t in times),
           "slowloris: %d of %d one-byte-a-second clients closed by the server after %.2f-%.2f s "
           "(want all, %.0f-%.0f s), having sent %d bytes each at most"
           % (closed, n, min(times), max(times), HEAD_TIMEOUT - 1, HEAD_TIMEOUT + 2,
              max(r[3] for r in results)))
    report(all(r[2] in (None, 408) for r in results),
           "slowloris: answered %s (want 408 or a plain close)" % "/".join(statuses))


# ---- flood ----

def flood(port, n, seconds, rate, marker):
    have = raise_nofile(n + 200)
    if have < n + 50:
        n = have - 50
        print("# RLIMIT_NOFILE is %d: flooding with %d connections" % (have, n), flush=True)
    socks = collections.deque()
    failed = 0

    def connect():
        nonlocal failed
        s = socket.socket()
        s.settimeout(3)
        try:
            s.connect((HOST, port))
            socks.append(s)
            return True
        except OSError:
            failed += 1
            s.close()
            return False

    # The burst: up to 64 connects in flight at a time, so that one whose
    # SYN the kernel dropped (the broker's listen queue was full for a
    # moment; it is sent again after 1 s) does not hold up the others.
    t0 = time.monotonic()
    pending, poll, started = {}, select.poll(), 0
    while (started < n or pending) and time.monotonic() - t0 < 15:
        while started < n and len(pending) < 64:
            s = socket.socket()
            s.setblocking(False)
            err = s.connect_ex((HOST, port))
            started += 1
            if err == 0:
                socks.append(s)
            elif err == errno.EINPROGRESS:
                pending[s.fileno()] = s
                poll.register(s, select.POLLOUT)
            else:
                failed += 1
                s.close()
        for fd, _ in poll.poll(100):
            s = pending.pop(fd)
            poll.unregister(fd)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                socks.append(s)
            else:
                failed += 1
                s.close()
    for s in pending.values():
        failed += 1
        s.close()
    burst = time.monotonic() - t0
    open(marker, "w").close()
    opened = len(socks)
    more = 0
    t1 = time.monotonic()
    while time.monotonic() - t1 < seconds:
        if connect():
            more += 1
        while len(socks) > n:
            socks.popleft().close()
        time.sleep(max(0.0, t1 + more / rate - time.monotonic()))
    # How many of those still open the server has closed (evicted).
    poll = select.poll()
    for s in socks:
        poll.register(s, select.POLLIN)
    r = poll.poll(0)
    report(opened == n and failed == 0,
           "flood: %d idle connections opened in %.2f s, %d more at %d/s for %.0f s, %d connects "
           "failed; at the end the server had closed %d of the %d the flood held"
           % (opened, burst, more, rate, seconds, failed, len(r), len(socks)))
    for s in socks:
        s.close()


# ---- amid ----

def amid(port, pid, before, after):
    """A scrape that arrives amid a burst of idle connections: with the
    broker stopped (SIGSTOP), open `before` idle connections, then one that
    sends GET /livez at once, then `after` more idle ones (all wait in the
    listen queue, under its 128), and let the broker go. It accepts them
    all in one go; more than admin.connections.max after the scrape means
    the scrape is the oldest reader when room must be made: it has to be
    answered (its request is there to read), not evicted."""
    import signal
    socks = []
    os.kill(pid, signal.SIGSTOP)
    try:
        for _ in range(before):
            socks.append(socket.create_connection((HOST, port), timeout=5))
        probe = socket.create_connection((HOST, port), timeout=5)
        probe.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        for _ in range(after):
            socks.append(socket.create_connection((HOST, port), timeout=5))
        time.sleep(0.05)
    finally:
        os.kill(pid, signal.SIGCONT)
    t0 = time.monotonic()
    got, how = read_until_close(probe, t0 + 3)
    dt = time.monotonic() - t0
    st = status_of(got) if got else None
    report(st == 200, "a /livez amid a burst (%d idle connections before it, %d after, accepted "
           "at once): %s" % (before, after, describe(st, how, dt)))
    for s in socks + [probe]:
        s.close()


# ---- watch ----

def broker_sockets(pid, port):
    """Sockets PID holds with local port PORT, other than its listener."""
    want = ":%04X" % port
    inodes = set()
    for f in ("/proc/%d/net/tcp" % pid, "/proc/%d/net/tcp6" % pid):
        try:
            with open(f) as fh:
                next(fh)
                for line in fh:
                    p = line.split()
                    if p[1].endswith(want) and p[3] != "0A":
                        inodes.add(p[9])
        except OSError:
            pass
    n = 0
    fd_dir = "/proc/%d/fd" % pid
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return -1
    for fd in fds:
        try:
            link = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            n += 1
    return n


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def watch(port, pid, seconds, cmax, label):
    live, scrape, conns, socks, errs = [], [], [], [], []
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        socks.append(broker_sockets(pid, port))
        st, _, dt, err = http_get(port, "/livez", 2.0)
        live.append(dt if st == 200 else None)
        if st != 200:
            errs.append("/livez: %s %s" % (st, err))
        st, body, dt, err = http_get(port, "/metrics", 2.0)
        scrape.append(dt if st == 200 else None)
        if st != 200:
            errs.append("/metrics: %s %s" % (st, err))
        m = re.search(rb'^strata_connections\{listener="admin"\} (\d+)$', body, re.M)
        if m:
            conns.append(int(m.group(1)))
        elif st == 200:
            errs.append("/metrics without strata_connections{listener=\"admin\"}")
        socks.append(broker_sockets(pid, port))
        time.sleep(0.2)

    def lat(xs):
        ok = [x for x in xs if x is not None]
        return "%d of %d, max %.0f ms" % (len(ok), len(xs), 1000 * max(ok) if ok else -1)
    report(alive(pid), "%s: the broker is running" % label)
    report(all(x is not None and x <= 1.0 for x in live),
           "%s: /livez answered 200 within 1 s on every new connection (%s)%s"
           % (label, lat(live), "; " + "; ".join(errs[:3]) if errs else ""))
    report(all(x is not None and x <= 1.0 for x in scrape),
           "%s: /metrics scraped within 1 s every time (%s)" % (label, lat(scrape)))
    report(len(conns) == len(scrape) and max(conns) <= cmax,
           '%s: strata_connections{listener="admin"} at most %d (%d scrapes, max %d)'
           % (label, cmax, len(conns), max(conns) if conns else -1))
    # One more than the maximum: the socket just accepted, before it evicts.
    report(0 <= max(socks) <= cmax + 1,
           "%s: the broker held at most %d admin sockets (/proc, %d samples, max %d)"
           % (label, cmax + 1, len(socks), max(socks)))


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    cmd, port = a[0], int(a[1])
    if cmd == "probe":
        probe(port)
    elif cmd == "slowloris":
        slowloris(port, int(a[2]))
    elif cmd == "flood":
        flood(port, int(a[2]), float(a[3]), float(a[4]), a[5])
    elif cmd == "watch":
        watch(port, int(a[2]), float(a[3]), int(a[4]), a[5])
    elif cmd == "amid":
        amid(port, int(a[2]), int(a[3]), int(a[4]))
    elif cmd == "socks":
        print(broker_sockets(int(a[2]), port))
    elif cmd == "get":
        st, body, dt, err = http_get(port, a[2], 5.0)
        with open(a[3], "wb") as f:
            f.write(body)
        print(st if st else "none (%s)" % err)
        sys.exit(0 if st == 200 else 1)
    else:
        sys.exit(__doc__)
    sys.exit(min(fails, 100))


if __name__ == "__main__":
    main()
