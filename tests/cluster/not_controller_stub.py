"""A controller that is not the active one, for controller_list_test.sh:
it accepts Strata's native frames on 127.0.0.1:PORT and answers every
request with NOT_CONTROLLER (34) naming the active controller in the
Header's controller_leader_id (10) and controller_leader_address (11), as
a quorum's follower does (issue 14). Standard library only. Each accepted
connection is one line in the log file ("conn N"), each request one line
("req API").

  python3 not_controller_stub.py PORT LEADER_ID LEADER_ADDRESS LOGFILE
"""
import os
import socket
import struct
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "security"))
from secwire import pb, pb_parse  # noqa: E402

NOT_CONTROLLER = 34


def serve(conn, leader_id, leader_addr, log):
    try:
        while True:
            head = b""
            while len(head) < 8:
                b = conn.recv(8 - len(head))
                if not b:
                    return
                head += b
            n, hl = struct.unpack(">II", head)
            rest = b""
            while len(rest) < n - 4:
                b = conn.recv(n - 4 - len(rest))
                if not b:
                    return
                rest += b
            h = pb_parse(rest[:hl])
            api = h.get(1, [0])[0]
            corr = h.get(3, [0])[0]
            log("req %d" % api)
            hdr = pb((1, api), (3, corr), (4, 1), (5, NOT_CONTROLLER),
                     (6, "not the active controller"), (10, leader_id), (11, leader_addr))
            conn.sendall(struct.pack(">II", 4 + len(hdr), len(hdr)) + hdr)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    port, leader_id, leader_addr, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    lock = threading.Lock()
    out = open(path, "a", buffering=1)

    def log(line):
        with lock:
            out.write(line + "\n")
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)
    n = 0
    while True:
        c, _ = srv.accept()
        n += 1
        log("conn %d" % n)
        threading.Thread(target=serve, args=(c, leader_id, leader_addr, log), daemon=True).start()


if __name__ == "__main__":
    main()
