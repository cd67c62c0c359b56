#!/usr/bin/env python3
"""qmp.py - one-shot QMP client for bash tests (test-only helper).

    qmp.py SOCKET COMMAND [JSON-ARGUMENTS]

Connects, negotiates capabilities, runs COMMAND, prints its "return" value
as JSON on stdout, and exits 0; prints the QMP error and exits 1 on an
error reply.  Asynchronous events are skipped.  This exists so tests can
check QEMU state independently of vqscope's own QMP client.
"""
import json
import socket
import sys


def read_message(f):
    while True:
        line = f.readline()
        if not line:
            raise SystemExit("qmp.py: QEMU closed the connection")
        msg = json.loads(line)
        if "event" in msg:
            continue
        return msg


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(sys.argv[1])
    f = sock.makefile("rw")
    read_message(f)  # greeting
    f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n")
    f.flush()
    read_message(f)
    cmd = {"execute": sys.argv[2]}
    if len(sys.argv) > 3:
        cmd["arguments"] = json.loads(sys.argv[3])
    f.write(json.dumps(cmd) + "\n")
    f.flush()
    reply = read_message(f)
    if "error" in reply:
        print("qmp.py: %s: %s" % (sys.argv[2], reply["error"].get("desc")), file=sys.stderr)
        return 1
    print(json.dumps(reply.get("return")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
