#!/usr/bin/env python3
"""qmp_delay_proxy.py - a QMP proxy that holds QEMU's messages (test-only).

    qmp_delay_proxy.py LISTEN_SOCKET QEMU_SOCKET DELAY_S TRIGGER_FILE

Accepts clients on LISTEN_SOCKET and connects each to QEMU_SOCKET.  What
the client sends goes to QEMU at once; every line QEMU sends back (replies
and events) is passed on unchanged, but, once TRIGGER_FILE exists, only
DELAY_S seconds after it arrived, in order.  Tests use it to play a slow
QEMU after vqscope has attached at full speed.
"""
import os
import queue
import socket
import sys
import threading
import time


def pump_to_qemu(client, qemu):
    try:
        while True:
            data = client.recv(65536)
            if not data:
                break
            qemu.sendall(data)
    except OSError:
        pass
    for s in (qemu, client):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def read_from_qemu(qemu, lines, delay, trigger):
    """Each line with the time it may go out: now, or DELAY_S from now."""
    buf = b""
    try:
        while True:
            data = qemu.recv(65536)
            if not data:
                break
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                hold = delay if os.path.exists(trigger) else 0
                lines.put((time.monotonic() + hold, line + b"\n"))
    except OSError:
        pass
    lines.put(None)


def send_to_client(client, lines):
    try:
        while True:
            item = lines.get()
            if item is None:
                break
            due, line = item
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            client.sendall(line)
    except OSError:
        pass
    try:
        client.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def main():
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    listen_path, qemu_path, delay, trigger = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(listen_path)
    server.listen(4)
    while True:
        client, _ = server.accept()
        qemu = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        qemu.connect(qemu_path)
        threading.Thread(target=pump_to_qemu, args=(client, qemu), daemon=True).start()
        lines = queue.Queue()
        threading.Thread(target=read_from_qemu, args=(qemu, lines, delay, trigger),
                         daemon=True).start()
        threading.Thread(target=send_to_client, args=(client, lines), daemon=True).start()


if __name__ == "__main__":
    main()
