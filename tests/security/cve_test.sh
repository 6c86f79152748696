#!/bin/bash
# Unauthenticated resource use on a secure cluster (tests/security/lib.sh):
# - CVE-2022-34917: after the TLS handshake, before SASL, a frame whose
#   length prefix says 100 MB is not buffered: the broker closes the
#   connection long before 8 MB have been sent (the 512 KiB pre-auth cap), on
#   the Kafka and the native port, three times each, and its RSS stays flat;
# - the deadline for handshake plus authentication: a connection that never
#   starts TLS, and one that finishes TLS but never authenticates, are closed
#   within 13 s (10 s deadline);
# - afterwards the broker still serves an authenticated client.
. "$(dirname "$0")/lib.sh"
sec_need_tools curl
sec_up cve
# Idle connections, opened now and checked at the end (the deadline runs meanwhile).
native=${SEC_NATIVE:-SASL_SSL}
$PY - "$CERTS" 127.0.0.2 "$KPORT" "$PORT" "$native" >"$dir/idle.out" 2>&1 <<'PYEOF' &
import socket, ssl, sys, time
certs, host, kport, nport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.load_verify_locations(certs + "/ca.pem")
conns = [("TCP only, no TLS handshake, Kafka port", socket.create_connection((host, kport))),
         ("TCP only, no TLS handshake, native port", socket.create_connection((host, nport))),
         ("TLS done, no SASL, Kafka port", ctx.wrap_socket(socket.create_connection((host, kport)), server_hostname=host))]
if sys.argv[5] == "SASL_SSL":
    conns.append(("TLS done, no SASL, native port",
                  ctx.wrap_socket(socket.create_connection((host, nport)), server_hostname=host)))
t0 = time.time()
for label, s in conns:
    s.settimeout(max(0.1, 13 - (time.time() - t0)))
    try:
        while s.recv(4096):
            pass
        print("ok   %s: closed by the broker after %.1f s" % (label, time.time() - t0))
    except socket.timeout:
        print("FAIL %s: still open after 13 s" % label)
    except (OSError, ssl.SSLError) as e:
        print("ok   %s: closed by the broker after %.1f s (%s)" % (label, time.time() - t0, type(e).__name__))
PYEOF
idle=$!
_sec_pids+=("$idle")
sec_run "$dir/bk.out" timeout 120 $PY $ST/attacks.py bigframe --target 127.0.0.1:$KPORT --pid "$BROKER_PID_1" \
  --label "broker 1 Kafka port" --certs "$CERTS"
[ "$native" = SSL ] || # (no SASL on the native port with SEC_NATIVE=SSL: nothing comes "before authentication")
  sec_run "$dir/bn.out" timeout 120 $PY $ST/attacks.py bigframe --target 127.0.0.1:$PORT --pid "$BROKER_PID_1" \
    --label "broker 1 native port" --certs "$CERTS"
wait $idle
cat "$dir/idle.out"
n=$(grep -c '^FAIL' "$dir/idle.out"); fails=$((fails + n)); grep '^FAIL' "$dir/idle.out" >>"$dir/fails"
[ "$(grep -c '^ok' "$dir/idle.out")" -ge 3 ] || [ "$n" -gt 0 ] || bad "idle connections: $(tail -n 2 "$dir/idle.out" | tr '\n' ' ')"
kill -0 "$BROKER_PID_1" 2>/dev/null && ok "broker 1 is alive" || bad "broker 1 died"
sec_cli alice topic list >/dev/null 2>"$dir/after.err" && ok "broker 1 still serves alice (TLS + SCRAM)" ||
  bad "after the attacks alice cannot list topics: $(head -n 2 "$dir/after.err" | tr '\n' ' ')"
sec_no_secrets
sec_end
