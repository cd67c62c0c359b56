#!/usr/bin/env bash
# test-exporter-http.sh - what `vqscope exporter` does with bad and greedy
# HTTP clients, and that it keeps serving after each: a wrong path (404),
# other methods (405 with Allow: GET), a 1 MiB header (431 or the
# connection closed), 200 connections at once (each answered in full or
# closed, never half), a client that stalls (closed after --timeout while
# others are served), and idle clients holding every connection slot.
# Afterwards it holds no more file descriptors than before.  It watches a
# VM that is not there, which is all the HTTP side needs.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/lib.sh"

# ---- the command line ---------------------------------------------------------------------------
usage_error() { # STATUS MESSAGE-REGEX ARGS...
	local want=$1 regex=$2 rc=0
	shift 2
	"$VQSCOPE" exporter "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
	[ "$rc" = "$want" ] && grep -Eq -- "$regex" "$T/err" ||
		fail "exporter $*: status $rc, expected $want and /$regex/: $(cat "$T/err")"
}
touch "$T/a.vqt"
usage_error 2 'needs a SOURCE'
usage_error 2 'not HOST:PORT' --listen 9877 x.sock
usage_error 2 'is not a port' --listen 127.0.0.1:65536 x.sock
usage_error 2 'a.vqt is not a QMP socket' "$T/a.vqt"
usage_error 2 "two VMs named 'a'" a=/x.sock a=/y.sock
usage_error 2 'at least 1s' --timeout 10ms x.sock
usage_error 1 'No such file' --qmp-dir "$T/absent"
pass "bad command lines: status 2 (1 for a missing --qmp-dir) with one line saying why"

MAX_CONNECTIONS=8
exporter_start --timeout 2s --max-connections "$MAX_CONNECTIONS" "nowhere=$T/absent.sock"
wait_for 10 metrics_have 'vqscope_up{vm="nowhere"} 0' || fail "no vqscope_up 0 for a missing VM"
fds() { find "/proc/$EXPORTER_PID/fd" -mindepth 1 | wc -l; }
fds_before=$(fds)
pass "serves vqscope_up 0 for a VM that is not there"
address=${EXPORTER_URL#http://}
usage_error 1 "cannot listen on $address: .*port ${address##*:}: Address already in use" \
	--listen "$address" x.sock
pass "a port in use: status 1, saying so with that port"

# One case of the Python side; it prints what it saw and fails with a reason.
case_() {
	python3 - "${EXPORTER_URL#http://}" "$@" <<'EOF'
import socket, sys, threading, time

host, port = sys.argv[1].rsplit(":", 1)
addr = (host, int(port))
case = sys.argv[2]
LONG = 30  # seconds a client waits before calling the server stuck


def exchange(s, data):
    """Send data on s and read until the server closes; return (status line,
    headers, body), or the way it ended ("closed", "reset", "timeout")."""
    reply = b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    except (ConnectionResetError, BrokenPipeError):
        if not reply:
            return ("reset", b"", b"")
    except socket.timeout:
        return ("timeout", b"", b"")
    finally:
        s.close()
    return parse(reply) if reply else ("closed", b"", b"")


def request(data, timeout=LONG):
    return exchange(socket.create_connection(addr, timeout=timeout), data)


def parse(reply):
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    return lines[0].decode(), b"\r\n".join(lines[1:]), body


def get(path, extra=b""):
    return request(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                   + extra + b"\r\n")


def expect_status(result, code):
    assert result[0].split(" ")[1:2] == [str(code)], result


def metrics_ok(result):
    expect_status(result, 200)
    assert b'vqscope_up{vm="nowhere"} 0\n' in result[2], result


if case == "path":
    for path in ("/nope", "/metrics/x", "/metricsx", "/index.html"):
        expect_status(get(path), 404)
    print("404 for /nope, /metrics/x, /metricsx, /index.html")
elif case == "method":
    for method in (b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS"):
        r = request(method + b" /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                    b"Content-Length: 5\r\n\r\nx=1&y")
        expect_status(r, 405)
        assert b"Allow: GET" in r[1], r
    print("405 with Allow: GET for POST, PUT, DELETE, HEAD, OPTIONS")
elif case == "header":
    r = get("/metrics", b"X-Big: " + b"a" * (1 << 20) + b"\r\n")
    assert r[0] in ("closed", "reset") or r[0].split(" ")[1] == "431", r
    print("a 1 MiB header: %s" % r[0])
elif case == "concurrent":
    n = int(sys.argv[3])
    socks = [socket.create_connection(addr, timeout=LONG) for _ in range(n)]
    results = [None] * n

    def run(i):
        results[i] = exchange(
            socks[i], b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = 0
    for r in results:
        if r[0] in ("closed", "reset"):
            continue
        metrics_ok(r)  # a response is always whole
        ok += 1
    assert ok > 0, results[:3]
    print("%d connections at once: %d answered in full, %d closed" % (n, ok, n - ok))
elif case == "stall":
    stalled = socket.create_connection(addr, timeout=LONG)
    stalled.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\n")  # and never the end
    silent = socket.create_connection(addr, timeout=LONG)  # says nothing at all
    metrics_ok(get("/metrics"))  # others are served meanwhile
    for s in (stalled, silent):
        try:
            assert s.recv(1024) == b"", "a stalled client got an answer"
        except ConnectionResetError:
            pass
        s.close()
    print("stalled clients are closed after the timeout; others served meanwhile")
elif case == "slots":
    n = int(sys.argv[3])
    idle = [socket.create_connection(addr, timeout=LONG) for _ in range(n)]
    time.sleep(0.5)  # accepted, holding every slot
    metrics_ok(get("/metrics"))  # waits for a slot, then served
    for s in idle:
        try:
            assert s.recv(1024) == b""
        except ConnectionResetError:
            pass
        s.close()
    print("%d idle clients holding every slot: a scrape waits, then is served" % n)
EOF
}

check_case() {
	local what=$1
	shift
	case_ "$@" >"$T/case.out" 2>&1 || { cat "$T/case.out" >&2; fail "$what"; }
	exporter_alive || fail "the exporter stopped serving after: $what"
	metrics_have 'vqscope_up{vm="nowhere"} 0' || fail "/metrics is wrong after: $what"
	pass "$what: $(tail -1 "$T/case.out"); still serving"
}

check_case "a wrong path" path
check_case "other methods" method
check_case "a huge header" header
check_case "200 concurrent connections" concurrent 200
check_case "clients that stall" stall
check_case "idle clients on every slot" slots "$MAX_CONNECTIONS"

fds_settled() { [ "$(fds)" -le "$fds_before" ]; }
wait_for 30 fds_settled || fail "the exporter holds $(fds) fds, $fds_before before"
pass "back to $fds_before file descriptors"

exporter_stop
