#!/usr/bin/env python3
"""httpc.py - the HTTP client side of the exporter tests (tests/exporter/).

  httpc.py get URL [ACCEPT]      print the body of a GET; exit 1 unless 200
  httpc.py query PROM EXPR [T]   evaluate EXPR with Prometheus's query API
                                (at unix time T), print the first value
                                or "none"
  httpc.py targets PROM          print "HEALTH LAST-ERROR" per scrape target
  httpc.py free-port             a TCP port on 127.0.0.1 free right now
"""
import json
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request


def get(url, accept=None, timeout=20):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read()


def query(prom, expr, at=None):
    args = {"query": expr}
    if at:
        args["time"] = at
    _, _, body = get(prom + "/api/v1/query?" + urllib.parse.urlencode(args))
    reply = json.loads(body)
    if reply["status"] != "success":
        raise SystemExit("query %s: %s" % (expr, reply))
    result = reply["data"]["result"]
    if reply["data"]["resultType"] == "scalar":
        return result[1]
    return result[0]["value"][1] if result else "none"


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    try:
        if cmd == "get":
            status, _, body = get(argv[2], argv[3] if len(argv) > 3 else None)
            sys.stdout.buffer.write(body)
            return 0 if status == 200 else 1
        if cmd == "query":
            print(query(argv[2], argv[3], argv[4] if len(argv) > 4 else None))
            return 0
        if cmd == "targets":
            _, _, body = get(argv[2] + "/api/v1/targets")
            for t in json.loads(body)["data"]["activeTargets"]:
                print(t["health"], t["lastError"] or "-")
            return 0
        if cmd == "free-port":
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                print(s.getsockname()[1])
            return 0
    except (urllib.error.URLError, OSError) as e:
        print("httpc.py %s: %s" % (cmd, e), file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
