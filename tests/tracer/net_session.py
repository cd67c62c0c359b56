#!/usr/bin/env python3
"""net_session.py - the host side of tests/tracer/net.sh: drives the traced
Linux guest through its phases over its serial console and checks, while
the guest runs, what vqscope and the trace region show.

The guest's init (net.sh) prints "vqtest: sync NAME" at each phase
boundary and waits for a line back; the host does what the phase needs
(start `vqscope top`, snapshot the trace region's queue table), then
answers.  Nothing here depends on how fast the guest runs: every wait is
for something the guest or vqscope says, bounded by a generous timeout.

Phases and checks (each check is a function in CHECKS; add more there):
  live   the guest reads one 4 KiB block every 200 ms; `vqscope top
         --batch --json --interval 250ms` must show the block queue's adds
         grow, each read within LIVE_LIMIT_S of the guest saying it is done
  ping   the guest pings the user-network gateway; the region's counters
         around it (check_region --queues): tx adds are the packets sent
         (plus a few for ARP), rx reaps at least the replies, and the
         interrupts of both queues are the guest's /proc/interrupts deltas.
         `vqscope top --json` (still running) must show the same: tx adds,
         rx fills and interrupts; rx as a receive queue with buffers
         posted, no latency, no stall, no anomaly and no finding
  record `vqscope record` on the second QMP socket, side by side with top,
         from the start to after the pings; `vqscope report --json` of it:
         rx is a receive queue with no latency, stall or anomaly, the
         buffers posted before tracing counted as such, and the session's
         time is not spent waiting for the device (rx buffers wait for
         packets the whole time: counted as device wait, they would make
         it all of it); `vqscope export` of it passes check_export, with
         the buffers posted before tracing counted as such, not unmatched
  end    the tracer stops: the region says so, and holds exactly the
         records it said it lost
  stopped  the guest reads its disk and pings, untraced, for 3 s; `vqscope
         top --json` and `vqscope doctor` watching then say the producer
         stopped, and raise no stuck finding and no device disagreement
         (the device moving on past the trace is no fault); so does
         `vqscope doctor` of a recording made on a third QMP socket from
         the start through the untraced work

Python (standard library only) because it juggles a console socket, a
subprocess and timestamps at once.
"""
import argparse
import json
import queue
import re
import socket
import subprocess
import sys
import threading
import time

LIVE_LIMIT_S = 1.0  # each read's add must reach `vqscope top` within this
WAIT_S = 300  # longest wait for any one thing the guest or vqscope does
ARP_ALLOWANCE = 4  # tx packets besides the pings (ARP)

failures = 0


def check(ok, text):
    global failures
    print(("ok: " if ok else "FAIL: ") + text, flush=True)
    if not ok:
        failures += 1


class Console:
    """The guest's serial console: lines with the host time they came."""

    def __init__(self, path, log):
        self.lines = []  # (host time, text)
        self.syncs = queue.Queue()
        self.log = open(log, "w")
        deadline = time.monotonic() + 30
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b""
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                self.syncs.put(None)
                return
            buf += data
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                text = raw.decode("utf-8", "replace").replace("\r", "")
                now = time.monotonic()
                self.lines.append((now, text))
                self.log.write("%.3f %s\n" % (now, text))
                self.log.flush()
                m = re.match(r"vqtest: sync (\S+)$", text)
                if m:
                    self.syncs.put(m.group(1))

    def next_sync(self):
        try:
            return self.syncs.get(timeout=WAIT_S)
        except queue.Empty:
            return None

    def answer(self):
        self.sock.sendall(b"go\n")

    def find(self, pattern):
        """(time, match) of every line matching pattern."""
        out = []
        for t, text in list(self.lines):
            m = re.search(pattern, text)
            if m:
                out.append((t, m))
        return out


class Top:
    """`vqscope top --batch --json` running: its samples with host times."""

    def __init__(self, vqscope, qmp, log):
        self.samples = []  # (host time, parsed object)
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            [vqscope, "top", "--batch", "--json", "--interval", "250ms", qmp],
            stdout=subprocess.PIPE, stderr=self.log)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            now = time.monotonic()
            self.log.write("%.3f %s" % (now, raw.decode("utf-8", "replace")))
            self.log.flush()
            try:
                self.samples.append((now, json.loads(raw)))
            except ValueError:
                pass

    def wait(self, predicate, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if any(predicate(s) for _, s in list(self.samples)):
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def settled(self, queues, suffixes, seconds):
        """The first sample taken from now whose counts of the queues
        (by name suffix) are the region's queue table's (check_region):
        every event the producer counted has reached top.  A queue not
        in the table yet (the tracer registers a queue when it first
        moves) counts nothing on both sides."""
        start = len(self.samples)
        want = {x: counts(by_suffix(queues, x)) for x in suffixes}
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.proc.poll() is None:
            for _, sample in list(self.samples)[start:]:
                if all(counts(sample_queue(sample, x)) == want[x] for x in suffixes):
                    return sample
            time.sleep(0.05)
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def sample_queue(sample, suffix):
    for q in sample.get("queues", []):
        if q.get("name", "").endswith(suffix):
            return q
    return None


def counts(q):
    """A queue's (adds, completions, irqs); nothing for no queue."""
    return (q["adds"], q["completions"], q["irqs"]) if q else (0, 0, 0)


def queue_adds(sample, suffix):
    for q in sample.get("queues", []):
        if q.get("name", "").endswith(suffix):
            return q.get("adds", 0)
    return None


def snapshot(check_region, region):
    """The region as check_region --queues prints it: (header, {name: queue})."""
    out = subprocess.run([check_region, region, "--queues"], capture_output=True, text=True,
                         timeout=WAIT_S)
    if out.returncode != 0:
        print("check_region %s --queues: exit %d: %s" % (region, out.returncode,
                                                          out.stderr.strip()), flush=True)
        return None, {}
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    return lines[0], {q["name"]: q for q in lines[1:]}


def by_suffix(queues, suffix):
    for name, q in queues.items():
        if name.endswith(suffix):
            return q
    return None


def interrupts(console, when):
    """{irq name: count} from the guest's "vqtest: irq-WHEN: LINE" lines."""
    counts = {}
    for _, m in console.find(r"^vqtest: irq-%s: (.*)$" % when):
        fields = m.group(1).split()
        if len(fields) < 3 or not fields[0].endswith(":"):
            continue
        numbers = []
        for f in fields[1:]:  # one count per CPU, then the chip and the name
            if not f.isdigit():
                break
            numbers.append(int(f))
        counts[fields[-1]] = sum(numbers)
    return counts


def stop_recorder(proc):
    """SIGINT, so that vqscope record closes its file in order; its exit
    status (killed if it does not end)."""
    proc.send_signal(2)
    try:
        return proc.wait(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


class Session:
    def __init__(self, args):
        self.args = args
        self.console = Console(args.console, args.log)
        self.top = None
        self.record = None
        self.through = None
        self.snap = {}  # phase -> (header, queues)
        self.top_at = {}  # phase -> top's sample with the region's counts then

    def on_ready(self):
        # Recorded through the second QMP socket while top holds the first.
        self.record_log = open(self.args.recording + ".log", "w")
        self.record = subprocess.Popen(
            [self.args.vqscope, "record", "-q", "-o", self.args.recording, self.args.qmp2],
            stdout=self.record_log, stderr=self.record_log)
        # And through the third until the untraced work is done.
        self.through_log = open(self.args.recording_through + ".log", "w")
        self.through = subprocess.Popen(
            [self.args.vqscope, "record", "-q", "-o", self.args.recording_through,
             self.args.qmp3], stdout=self.through_log, stderr=self.through_log)
        self.top = Top(self.args.vqscope, self.args.qmp, self.args.top_log)
        ok = self.top.wait(lambda s: "vqscope-trace" in s.get("producer", ""), WAIT_S)
        check(ok, "vqscope top reads the region the tracer writes (producer vqscope-trace)")
        # The disk's adds before the reads: once top shows what the region
        # counted, while the guest waits for the answer to start reading.
        # (Not the last sample before the console's "live begin": on a
        # loaded host that line can come after the first reads' adds.)
        _, queues = snapshot(self.args.check_region, self.args.region)
        sample = self.top.settled(queues, (".req.0",), WAIT_S) if ok else None
        check(sample is not None, "vqscope top caught up with the region's counters before "
              "the reads")
        self.live_base = counts(sample_queue(sample, ".req.0"))[0] if sample else 0

    def on_live_end(self):
        reads = self.args.reads
        # Give the last read its full allowance before stopping.
        self.top.wait(lambda s: (queue_adds(s, ".req.0") or 0) >= self.live_base + reads,
                      LIVE_LIMIT_S + 5)

    def on_stopped(self):
        """Watch, with top and doctor side by side, while the guest works
        untraced (it starts when answered; until it says it is done)."""
        self.on_snapshot("done")
        top = subprocess.Popen(
            [self.args.vqscope, "top", "--batch", "--json", "--interval", "250ms",
             self.args.qmp], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        doctor = subprocess.Popen(
            [self.args.vqscope, "doctor", "--duration", "4s", "--stuck-after", "500ms",
             self.args.qmp2], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.console.answer()
        found = wait_for(lambda: self.console.find(r"^vqtest: untraced work done$"), WAIT_S)
        top.send_signal(2)
        try:
            out, _ = top.communicate(timeout=WAIT_S)
            self.doctor_out, _ = doctor.communicate(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            top.kill()
            doctor.kill()
            out, self.doctor_out = top.communicate()[0], doctor.communicate()[0]
        self.stopped_samples = [json.loads(x) for x in out.splitlines() if x.strip()]
        self.doctor_rc = doctor.returncode
        check(bool(found), "the guest worked on with the tracer stopped")
        self.through_rc = stop_recorder(self.through)
        doctor = subprocess.run([self.args.vqscope, "doctor", self.args.recording_through],
                                capture_output=True, text=True, timeout=WAIT_S)
        self.through_doctor_rc = doctor.returncode
        self.through_doctor_out = doctor.stdout + doctor.stderr
        report = subprocess.run([self.args.vqscope, "report", "--json",
                                 self.args.recording_through],
                                capture_output=True, text=True, timeout=WAIT_S)
        self.through_note = (json.loads(report.stdout).get("producer_note")
                             if report.returncode == 0 else report.stderr)

    def on_snapshot(self, phase):
        self.snap[phase] = snapshot(self.args.check_region, self.args.region)

    def on_ping_edge(self, phase):
        """The region's counters, and top's sample once it shows them."""
        self.on_snapshot(phase)
        _, queues = self.snap[phase]
        self.top_at[phase] = self.top.settled(queues, (".input.0", ".output.0"), WAIT_S)
        if phase == "ping-after":
            self.top.stop()
            self.record_rc = stop_recorder(self.record)

    def run(self):
        handlers = {
            "ready": self.on_ready,
            "live-end": self.on_live_end,
            "ping-before": lambda: self.on_ping_edge("ping-before"),
            "ping-after": lambda: self.on_ping_edge("ping-after"),
            "stopped": self.on_stopped,
            "done": lambda: None,
        }
        while True:
            name = self.console.next_sync()
            if name is None:
                check(False, "the guest went quiet or away before its last phase")
                break
            handler = handlers.get(name)
            if handler:
                handler()
            else:
                check(False, "the guest asked for unknown phase %s" % name)
            if name != "stopped":  # answered when the watch began
                self.console.answer()
            if name == "done":
                break
        if self.top:
            self.top.stop()
        for rec in (self.record, self.through):
            if rec and rec.poll() is None:
                rec.kill()
                rec.wait()


# ---- checks ------------------------------------------------------------------------


def check_live(s):
    reads = s.args.reads
    done = {int(m.group(1)): t for t, m in s.console.find(r"^vqtest: live read (\d+)$")}
    samples = [(t, queue_adds(x, ".req.0")) for t, x in (s.top.samples if s.top else [])]
    samples = [(t, a) for t, a in samples if a is not None]
    check(len(done) == reads, "the guest did its %d reads (%d said done)" % (reads, len(done)))
    late = []
    delays = []
    for k in range(1, reads + 1):
        seen = [t for t, a in samples if a >= s.live_base + k]
        if k not in done or not seen:
            late.append("read %d never shown" % k)
            continue
        delay = max(0.0, seen[0] - done[k])
        delays.append(delay)
        if delay > LIVE_LIMIT_S:
            late.append("read %d after %.2f s" % (k, delay))
    delays.sort()
    summary = ("max %.2f s, median %.2f s" % (delays[-1], delays[len(delays) // 2])
               if delays else "none")
    check(not late, "vqscope top showed each read's add live, within %.1f s (%s)%s" %
          (LIVE_LIMIT_S, summary, ": " + ", ".join(late) if late else ""))
    final = samples[-1][1] if samples else 0
    check(final - s.live_base >= reads,
          "the block queue's adds grew by %d while the guest read %d blocks" %
          (final - s.live_base, reads))


def ping_counts(s):
    sent = s.console.find(r"^vqtest: ping: (\d+) packets transmitted, (\d+) packets received")
    if not sent:
        return None, None
    return int(sent[0][1].group(1)), int(sent[0][1].group(2))


def delta(s, suffix, counter):
    _, before = s.snap.get("ping-before", (None, {}))
    _, after = s.snap.get("ping-after", (None, {}))
    a, b = by_suffix(after, suffix), by_suffix(before, suffix)
    if a is None:
        return None
    return a[counter] - (b[counter] if b else 0)


def check_ping(s):
    sent, received = ping_counts(s)
    check(sent == s.args.pings and received is not None and received > 0,
          "the guest pinged the gateway: %s sent, %s replies" % (sent, received))
    if sent is None:
        return
    tx = delta(s, ".output.0", "adds")
    rx = delta(s, ".input.0", "completions")
    check(tx is not None and sent <= tx <= sent + ARP_ALLOWANCE,
          "tx adds are the packets sent: %s for %d pings (up to %d more for ARP)" %
          (tx, sent, ARP_ALLOWANCE))
    check(rx is not None and rx >= received,
          "rx reaps (buffers filled) cover the replies: %s for %d" % (rx, received))


def skipped_interrupts(s):
    """vring_interrupt runs the kernel skipped, as the tracer reported."""
    found = s.console.find(r"hook runs the kernel skipped: (.*)$")
    if not found:
        return 0
    m = re.search(r"/vring_interrupt (\d+)", found[-1][1].group(1))
    return int(m.group(1)) if m else 0


def compare_interrupts(s, where, traced):
    """Check that traced(suffix) -- a queue's interrupts over the pings as
    `where` shows them -- is the guest's /proc/interrupts delta for it,
    less the vring_interrupt runs the kernel skipped."""
    before, after = interrupts(s.console, "before"), interrupts(s.console, "after")
    skipped = skipped_interrupts(s)
    _, queues = s.snap.get("ping-after", (None, {}))
    missing = 0
    parts = []
    ok = True
    for suffix in (".input.0", ".output.0"):
        q = by_suffix(queues, suffix)
        if q is None:
            ok = False
            parts.append("%s not in the region" % suffix)
            continue
        irq = q["name"].replace(".", "-", 1)  # virtio2.input.0 -> virtio2-input.0
        guest = after.get(irq, 0) - before.get(irq, 0)
        count = traced(suffix)
        parts.append("%s: %s %s, /proc/interrupts %d" % (irq, where, count, guest))
        if count is None or count > guest:
            ok = False
        else:
            missing += guest - count
    check(ok and missing <= skipped and any(after.values()),
          "interrupts in the %s are the guest's /proc/interrupts deltas (%s; %d runs of "
          "vring_interrupt skipped by the kernel)" % (where, "; ".join(parts), skipped))


def check_interrupts(s):
    compare_interrupts(s, "region", lambda suffix: delta(s, suffix, "irqs"))


def check_kinds(s):
    _, queues = s.snap.get("ping-after", (None, {}))
    rx, tx, blk = (by_suffix(queues, x) for x in (".input.0", ".output.0", ".req.0"))
    receive = 1 << 4  # VQT_QF_RECEIVE
    check(rx is not None and tx is not None and blk is not None and rx["flags"] & receive and
          not tx["flags"] & receive and not blk["flags"] & receive,
          "rx is marked a receive queue, tx and the disk request queues (flags %s, %s, %s)" %
          tuple(q["flags"] if q else None for q in (rx, tx, blk)))


def check_end(s):
    header, _ = s.snap.get("done", (None, {}))
    running, _ = s.snap.get("ping-after", (None, {}))
    summary = s.console.find(r"vqscope-trace: \d+ events on \d+ queues; lost (\d+):")
    exited = s.console.find(r"^vqtest: tracer exit (\d+)$")
    check(bool(exited) and exited[-1][1].group(1) == "0", "the tracer exited cleanly on SIGINT")
    check(running is not None and running["producer_state"] == 1 and
          running["heartbeat_ms"] > 0,
          "while tracing, the region says the producer runs, with a heartbeat (%s)" % running)
    check(header is not None and header["producer_state"] == 2,
          "once the tracer exited, the region says it stopped (%s)" % header)
    lost = int(summary[-1][1].group(1)) if summary else None
    check(header is not None and lost is not None and header["lost"] == lost and
          header["violations"] == 0,
          "the region holds exactly the records the tracer counted lost (%s, region %s)" %
          (lost, header["lost"] if header else None))


def top_delta(s, suffix, counter):
    before, after = s.top_at.get("ping-before"), s.top_at.get("ping-after")
    if before is None or after is None:
        return None
    a, b = sample_queue(after, suffix), sample_queue(before, suffix)
    return a[counter] - (b[counter] if b else 0) if a else None


def check_top_ping(s):
    """What vqscope top showed of the pings, once it had every event."""
    sent, received = ping_counts(s)
    check(s.top_at.get("ping-before") is not None and s.top_at.get("ping-after") is not None,
          "vqscope top caught up with the region's counters before and after the pings")
    if sent is None or s.top_at.get("ping-after") is None:
        return
    tx = top_delta(s, ".output.0", "adds")
    rx = top_delta(s, ".input.0", "completions")
    check(tx is not None and sent <= tx <= sent + ARP_ALLOWANCE,
          "top: tx adds are the packets sent: %s for %d pings" % (tx, sent))
    check(rx is not None and rx >= received,
          "top: rx fills cover the replies: %s for %d" % (rx, received))
    compare_interrupts(s, "top --json", lambda suffix: top_delta(s, suffix, "irqs"))
    rxq = sample_queue(s.top_at["ping-after"], ".input.0")
    recv = rxq.get("receive") or {} if rxq else {}
    findings = [f["code"] for f in s.top_at["ping-after"].get("findings", [])
                if rxq and f.get("queue") == rxq["slot"]]
    check(rxq is not None and rxq["kind"] == "receive" and rxq["latency_p99_ns"] is None and
          rxq["stalls"] == 0 and rxq["anomalies"] == 0 and not findings and
          recv.get("posted", 0) > 0 and recv.get("fills", 0) >= received,
          "top: rx is a receive queue with buffers posted, fills, no latency, stall, "
          "anomaly or finding (%s)" % ({k: rxq.get(k) for k in (
              "kind", "latency_p99_ns", "stalls", "anomalies", "receive")} if rxq else None,))


def check_recording(s):
    """vqscope report --json of what vqscope record wrote beside top."""
    check(getattr(s, "record_rc", None) == 0,
          "vqscope record ran beside top on the second QMP socket and closed its file "
          "(exit %s)" % getattr(s, "record_rc", None))
    out = subprocess.run([s.args.vqscope, "report", "--json", s.args.recording],
                         capture_output=True, text=True, timeout=WAIT_S)
    try:
        rep = json.loads(out.stdout)
    except ValueError:
        check(False, "vqscope report --json reads the recording (%s)" % out.stderr.strip())
        return
    check(rep.get("producer_note") is None,
          "report: the tracer ran to the end of this recording (producer_note %r)" %
          rep.get("producer_note"))
    rx = [q for q in rep["queues"] if q["name"].endswith(".input.0")]
    rx = rx[0] if rx else None
    stalls = [x for x in rep["worst_stalls"] if rx and x.get("queue") == rx["slot"]]
    check(rx is not None and rx["kind"] == "receive" and rx["latency"] is None and
          rx["counts"]["stalls"] == 0 and not stalls and rx["anomalies"] == 0 and
          rx["receive"]["posted_before_tracing"] + rx["receive"]["time_to_fill_count"] ==
          rx["counts"]["completions"],
          "report: rx is a receive queue, no latency, stall or anomaly; its fills are of "
          "buffers posted before tracing or timed (%s)" %
          ({k: rx[k] for k in ("kind", "latency", "anomalies", "receive")} if rx else None,))
    exported = s.args.recording + ".json"
    out = subprocess.run([s.args.vqscope, "export", "-q", "--format", "chrome", "-o", exported,
                          s.args.recording], capture_output=True, text=True, timeout=WAIT_S)
    checked = subprocess.run([s.args.check_export, exported], capture_output=True, text=True,
                             timeout=WAIT_S)
    try:
        with open(exported) as f:
            other = json.load(f)["otherData"]
    except (OSError, ValueError, KeyError):
        other = {}
    posted = sum(q["posted_before_tracing"] for q in rep["queues"])
    check(out.returncode == 0 and checked.returncode == 0 and
          other.get("posted_before_tracing") == posted and posted > 0 and
          other.get("unmatched_used") == 0 and other.get("anomalies") == 0 and
          other.get("last_anomaly", "") is None,
          "export: well-formed, %s buffers posted before tracing (report: %d), none of them "
          "unmatched (%s)%s" % (other.get("posted_before_tracing"), posted,
                                {k: other.get(k) for k in ("unmatched_used", "anomalies",
                                                           "fill_slices", "command_slices")},
                                (": " + out.stderr.strip() + " " +
                                 " ".join(l for l in checked.stdout.splitlines()
                                          if l.startswith("bad")))
                                if out.returncode or checked.returncode else ""))
    attr = rep["session_attribution"]
    share = attr["device_ns"] / attr["total_ns"] if attr["total_ns"] else 1.0
    check(attr["total_ns"] > 0 and share < 0.5,
          "report: the session did not go to waiting for the device (%.0f%% of %.1f s), "
          "though rx buffers were posted all of it" % (share * 100, attr["total_ns"] / 1e9))


def check_stopped(s):
    """What top and doctor said while the devices moved on untraced."""
    samples = getattr(s, "stopped_samples", [])
    states = sorted(set(x.get("producer_state") for x in samples))
    notes = [x.get("producer_note") or "" for x in samples]
    disagree = [q["name"] for x in samples for q in x.get("queues", [])
                if q.get("device", {}).get("disagree")]
    stuck = [f["code"] for x in samples for f in x.get("findings", [])
             if f["code"].startswith("STUCK")]
    check(len(samples) >= 8 and states == ["stopped"] and
          all(n.startswith("producer stopped at ") for n in notes),
          "top: the producer stopped, in each of %d samples (%s; %s)" %
          (len(samples), states, notes[-1] if notes else None))
    check(not disagree and not stuck,
          "top: no device disagreement and no stuck finding while the devices moved on "
          "untraced (disagree %s, stuck %s)" % (disagree, stuck))
    out = getattr(s, "doctor_out", "") or ""
    check(getattr(s, "doctor_rc", None) == 0 and "producer stopped at " in out and
          "STUCK" not in out,
          "doctor: says the producer stopped, and finds nothing stuck (exit %s):\n%s" %
          (getattr(s, "doctor_rc", None), out.strip()))
    out = getattr(s, "through_doctor_out", "") or ""
    check(getattr(s, "through_rc", None) == 0 and getattr(s, "through_doctor_rc", None) == 0 and
          "producer stopped at " in out and "STUCK" not in out,
          "doctor of the recording through the untraced work: says the producer stopped, and "
          "finds nothing stuck (record exit %s, doctor exit %s):\n%s" %
          (getattr(s, "through_rc", None), getattr(s, "through_doctor_rc", None), out.strip()))
    note = getattr(s, "through_note", None)
    check(isinstance(note, str) and note.startswith("producer stopped at "),
          "report of that recording: producer_note says it stopped (%r)" % note)


CHECKS = [check_live, check_ping, check_interrupts, check_kinds, check_end, check_top_ping,
          check_recording, check_stopped]


def main():
    p = argparse.ArgumentParser()
    for name in ("console", "qmp", "qmp2", "qmp3", "recording", "recording-through", "vqscope",
                 "check-region", "check-export", "region", "log", "top-log"):
        p.add_argument("--" + name, required=True)
    p.add_argument("--reads", type=int, required=True)
    p.add_argument("--pings", type=int, required=True)
    args = p.parse_args()
    session = Session(args)
    session.run()
    for c in CHECKS:
        c(session)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
