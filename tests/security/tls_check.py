"""TLS checks tls_test.sh cannot make with kcat, curl or openssl s_client
(standard library only, plus tests/kafka/kwire.py for Kafka frames):

  proxy LISTEN TARGET DIR        plaintext 127.0.0.1:LISTEN -> TLS 127.0.0.1:TARGET with
                                 DIR/client.pem, so the strata CLI reaches a TLS native
                                 listener before libstrata speaks TLS itself
  midframe PORT DIR TOPIC        a Produce cut mid-frame, then EOF (with and without
                                 close_notify): nothing is appended, the broker stays up
  badframe PORT DIR              a Kafka frame over socket.request.max.bytes: the broker
                                 ends the connection with close_notify (a graceful close)
  rotation PORT DIR CMD          a connection opened before CMD (which swaps the
                                 certificate files and sends SIGHUP) keeps working; a new
                                 one sees the new certificate
Prints "ok ..." / "FAIL ..." lines; exits 1 on any FAIL.
"""
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "kafka"))
import kwire  # noqa: E402
from kwire import array, i16, i32, string  # noqa: E402

fails = 0


def ok(msg):
    print("ok   " + msg)


def bad(msg):
    global fails
    fails += 1
    print("FAIL " + msg)


def context(d, cert="client"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(d, "ca.pem"))
    if cert:
        ctx.load_cert_chain(os.path.join(d, cert + ".pem"), os.path.join(d, cert + ".key"))
    return ctx


class TlsConn(kwire.Conn):
    """kwire.Conn over TLS."""

    def __init__(self, port, d, timeout=10.0, ragged_ok=True):
        raw = socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
        self.sock = context(d).wrap_socket(raw, server_hostname="127.0.0.1",
                                           suppress_ragged_eofs=ragged_ok)
        self.corr = 0

    def peer_cn(self):
        for rdn in self.sock.getpeercert()["subject"]:
            for k, v in rdn:
                if k == "commonName":
                    return v
        return None


def pipe(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def proxy(listen, target, d):
    ctx = context(d)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(listen)))
    ls.listen(64)
    while True:
        c, _ = ls.accept()
        try:
            raw = socket.create_connection(("127.0.0.1", int(target)), timeout=10)
            t = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
            t.settimeout(None)
        except OSError as e:
            print("proxy: %s" % e, file=sys.stderr)
            c.close()
            continue
        threading.Thread(target=pipe, args=(c, t), daemon=True).start()
        threading.Thread(target=pipe, args=(t, c), daemon=True).start()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def varint(n):
    n = (n << 1) ^ (n >> 63)  # zigzag
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def record_batch(n):
    """A RecordBatch v2 of n small records (kafka-python is not needed)."""
    import struct
    now = int(time.time() * 1000)
    recs = b""
    for i in range(n):
        v = b"cut-%d" % i
        body = b"\0" + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        recs += varint(len(body)) + body
    after_crc = (struct.pack(">hiqqqhi", 0, n - 1, now, now, -1, -1, -1) +
                 struct.pack(">i", n) + recs)
    head = struct.pack(">ib", -1, 2) + struct.pack(">I", crc32c(after_crc))
    return struct.pack(">qi", 0, len(head) + len(after_crc)) + head + after_crc


def produce_frame(topic, corr):
    recs = record_batch(50)
    body = (string(None) + i16(-1) + i32(10000) +
            array([topic], lambda t: string(t) + array([0], lambda p: i32(p) + i32(len(recs)) + recs)))
    return kwire.frame(kwire.header_v1(0, 7, corr) + body)


def high_watermark(port, d, topic):
    c = TlsConn(port, d)
    err, hw, _ = kwire.fetch(c, topic, 0, 0, max_bytes=1024)
    c.close()
    return err, hw


def midframe(port, d, topic):
    err, before = high_watermark(port, d, topic)
    if err:
        bad("fetch before: error %d" % err)
        return
    for notify in (True, False):
        c = TlsConn(port, d)
        f = produce_frame(topic, 1)
        c.sock.sendall(f[:len(f) - 20])
        how = "close_notify" if notify else "a bare EOF"
        if notify:
            try:
                c.sock.unwrap()  # close_notify, then the TCP close
            except (OSError, ssl.SSLError):
                pass
        c.sock.close()
        time.sleep(0.3)
        err, after = high_watermark(port, d, topic)
        if err == 0 and after == before:
            ok("a Produce cut mid-frame and ended by %s appends nothing (high watermark %d)" % (how, after))
        else:
            bad("after a Produce cut mid-frame and %s: error %d, high watermark %d, was %d" %
                (how, err, after, before))
    # The whole frame on a new connection does append: the check above can fail.
    c = TlsConn(port, d)
    c.sock.sendall(produce_frame(topic, 2))
    c.recv_frame()
    c.close()
    err, after = high_watermark(port, d, topic)
    if after == before + 50:
        ok("the same Produce whole appends its 50 records")
    else:
        bad("the whole Produce: high watermark %d, wanted %d" % (after, before + 50))


def badframe(port, d):
    c = TlsConn(port, d, timeout=5, ragged_ok=False)
    kwire.api_versions(c)
    c.sock.sendall(b"\x7f\xff\xff\xff")
    try:
        while c.sock.recv(65536):
            pass
        ok("an oversized Kafka frame over TLS: the broker closes with close_notify")
    except ssl.SSLEOFError:
        bad("an oversized Kafka frame over TLS: closed without close_notify")
    except (socket.timeout, OSError) as e:
        bad("an oversized Kafka frame over TLS: %s" % e)
    c.close()


def rotation(port, d, cmd):
    old = TlsConn(port, d)
    err, _ = kwire.api_versions(old)
    cn = old.peer_cn()
    if err == 0 and cn == "broker-1":
        ok("before the reload the broker shows CN=broker-1")
    else:
        bad("before the reload: ApiVersions error %s, CN %s" % (err, cn))
    subprocess.run(cmd, shell=True, check=True)
    deadline = time.time() + 10
    new_cn = None
    while time.time() < deadline:
        n = TlsConn(port, d)
        new_cn = n.peer_cn()
        n.close()
        if new_cn == "broker-1-rotated":
            break
        time.sleep(0.1)
    if new_cn == "broker-1-rotated":
        ok("after SIGHUP a new connection gets the new certificate")
    else:
        bad("after SIGHUP a new connection still sees CN=%s" % new_cn)
    try:
        err, _ = kwire.api_versions(old)
        if err == 0 and old.peer_cn() == "broker-1":
            ok("the connection opened before the reload still works, on its old certificate")
        else:
            bad("the old connection after the reload: error %d" % err)
    except (OSError, kwire.Closed, ValueError) as e:
        bad("the old connection broke at the reload: %s" % e)
    old.close()


def main():
    cmd = sys.argv[1]
    if cmd == "proxy":
        proxy(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "midframe":
        midframe(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "badframe":
        badframe(sys.argv[2], sys.argv[3])
    elif cmd == "rotation":
        rotation(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("unknown command " + cmd)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
