#!/usr/bin/env bash
# test-libvirt-domain.sh - vqscope on libvirt domains (SOURCE libvirt:NAME@URI)
# with a real libvirtd that the test starts and stops itself.
#
# Set-up: virtlogd and libvirtd run as root in a private mount namespace
# (unshare -m): their own /etc/libvirt (from $T/etc), /run/libvirt and
# capabilities cache, their sockets in $T/run, so nothing else on the
# machine sees them or is seen by them.  /dev/kvm is hidden in there: the
# domains are TCG, and libvirt 9.0 probes QEMU again on every lookup when
# /dev/kvm exists but its QEMU user may not open it (root-only here),
# which makes each `virsh create` take a minute; QEMU's own /dev
# namespace is off for the same reason (qemu.conf namespaces = []).
#
# Checks:
#   - the domain of docs/libvirt.md (read from the page, so that it stays
#     true) boots the demo guest under TCG with a <shmem> trace region,
#     shared file-backed RAM, and a second QMP socket added; attach, top
#     --batch --json, record, report and dump work on libvirt:NAME, the
#     counters move, and with the domain suspended every counter equals
#     what the QMP-socket path reads; doctor watches it; the exporter
#     serves its metrics, named or found with --libvirt (which leaves out
#     a domain without <shmem>, and drops one that is destroyed);
#   - p and c in the live view suspend and resume the domain through
#     libvirt (virsh domstate says "paused (user)", then "running");
#   - libvirt-xml prints the elements, and for a domain what it lacks;
#   - bad input, each with its message: no such domain, no domain name, a
#     domain of a driver without QMP (test:///default), a domain without
#     <shmem>, one whose RAM is not shared, a user who may read the region
#     but not write it nor reach guest RAM, libvirtd killed while recording
#     and the domain destroyed while recording (both: exit 3, the
#     recording closed and valid).
# Exit 77 (with the reason) where libvirtd cannot run: not root, no
# libvirt, no mount namespace, or libvirtd fails to start.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/tui/lib.sh"
. "$ROOT/tests/exporter/lib.sh"

[ "$(id -u)" = 0 ] || skip "libvirtd needs root"
for tool in libvirtd virtlogd virsh unshare nsenter setpriv python3; do
	command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/deps.sh installs it)"
done
getent passwd libvirt-qemu >/dev/null || skip "no libvirt-qemu user (libvirt-daemon-system)"

P=vqt$$ # everything made outside $T is named $P-*
GOOD=$P-good
URI="qemu:///system?socket=$T/run/libvirt-sock"
QEMU_PIDS=()
HOLDER=
LIBVIRTD_PID=
VIRTLOGD_PID=

# ---- private libvirtd ---------------------------------------------------------------

# QEMU runs as libvirt-qemu and reaches $T/vm only; the socket dir is
# root:libvirt for the unprivileged user of the permissions check.
chmod 0711 "$T"
mkdir -p "$T/etc" "$T/run" "$T/vm"
chown libvirt-qemu "$T/vm"
chmod 0700 "$T/vm"
chgrp libvirt "$T/run"
chmod 0750 "$T/run"
cp "$DEMO_KERNEL" "$T/vm/vqdemo.elf"
: >"$T/no-kvm"
chmod 0600 "$T/no-kvm"
cat >"$T/etc/libvirtd.conf" <<EOF
unix_sock_dir = "$T/run"
unix_sock_group = "libvirt"
unix_sock_rw_perms = "0770"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$T/libvirtd.log"
EOF
echo 'namespaces = [ ]' >"$T/etc/qemu.conf"
echo "log_outputs = \"3:file:$T/virtlogd.log\"" >"$T/etc/virtlogd.conf"
cat >"$T/ns.sh" <<EOF
set -e
mount --bind '$T/etc' /etc/libvirt
mkdir -p /run/libvirt /var/cache/libvirt # where libvirtd would make them
mount -t tmpfs -o mode=0755 tmpfs /run/libvirt
mount -t tmpfs -o mode=0711 tmpfs /var/cache/libvirt
if [ -e /dev/kvm ]; then mount --bind '$T/no-kvm' /dev/kvm; fi
virtlogd -d -p '$T/virtlogd.pid'
libvirtd -d -p '$T/libvirtd.pid' -f '$T/etc/libvirtd.conf'
: >'$T/ns.ready'
exec sleep 3600
EOF

# stop_pid PID: SIGTERM, up to 20 s, then SIGKILL.
stop_pid() {
	local pid=$1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
}

stop_libvirt() {
	local d p
	if [ -n "$LIBVIRTD_PID" ] && kill -0 "$LIBVIRTD_PID" 2>/dev/null; then
		for d in $(virsh -c "$URI" list --name 2>/dev/null); do
			case $d in $P-*) virsh -c "$URI" destroy "$d" >/dev/null 2>&1 || true ;; esac
		done
	fi
	stop_pid "$LIBVIRTD_PID"
	stop_pid "$VIRTLOGD_PID"
	for p in "${QEMU_PIDS[@]}"; do stop_pid "$p"; done
	stop_pid "$HOLDER"
	# What libvirt made outside the namespace for our domains.
	rm -rf /dev/shm/vqtrace-"$P"-* /var/lib/libvirt/qemu/domain-*-"$P"-* \
		/var/lib/libvirt/qemu/ram/*-"$P"-* /var/log/libvirt/qemu/"$P"-*.log
}
at_exit stop_libvirt

unshare -m --propagation private bash "$T/ns.sh" >"$T/ns.log" 2>&1 </dev/null &
HOLDER=$!
wait_for 30 test -e "$T/ns.ready" -o ! -d "/proc/$HOLDER" || true
if [ ! -e "$T/ns.ready" ]; then
	skip "cannot start libvirtd in a private mount namespace: $(tail -3 "$T/ns.log" | tr '\n' ' ')"
fi
VIRTLOGD_PID=$(cat "$T/virtlogd.pid")
LIBVIRTD_PID=$(cat "$T/libvirtd.pid")
if ! wait_for 20 test -S "$T/run/libvirt-sock"; then
	skip "libvirtd did not start: $(tail -3 "$T/libvirtd.log" 2>/dev/null | tr '\n' ' ')"
fi
virsh -c "$URI" version >"$T/version" 2>&1 || skip "libvirtd does not answer: $(cat "$T/version")"
pass "libvirtd $LIBVIRTD_PID and virtlogd $VIRTLOGD_PID run in a private mount namespace"

# ---- domains -------------------------------------------------------------------------

# domain_xml NAME SHMEM(0|1) SHARED_RAM(0|1) QMP_SOCKET_OR_EMPTY: the domain
# of docs/libvirt.md (section 2) renamed, with its files in $T/vm, without
# what a case leaves out, and with a second QMP socket when asked for.
domain_xml() {
	python3 - "$ROOT/docs/libvirt.md" "$T/vm" "$@" <<'EOF'
import re, sys
import xml.etree.ElementTree as ET
doc, vm, name, shmem, ram, qmp = sys.argv[1:7]
m = re.search(r"```xml\n(<domain type='qemu'>.*?</domain>)\n```", open(doc).read(), re.S)
assert m, "no example domain in docs/libvirt.md"
QEMU = "http://libvirt.org/schemas/domain/qemu/1.0"
ET.register_namespace("qemu", QEMU)
d = ET.fromstring(m.group(1))
d.find("name").text = name
d.find("os/kernel").text = vm + "/vqdemo.elf"
d.find("devices/serial/source").set("path", f"{vm}/{name}.serial")
d.find("devices/shmem").set("name", "vqtrace-" + name)
if shmem == "0":
    d.find("devices").remove(d.find("devices/shmem"))
if ram == "0":
    d.remove(d.find("memoryBacking"))
if qmp:
    line = ET.SubElement(d, f"{{{QEMU}}}commandline")
    ET.SubElement(line, f"{{{QEMU}}}arg", value="-qmp")
    ET.SubElement(line, f"{{{QEMU}}}arg", value=f"unix:{qmp},server=on,wait=off")
sys.stdout.write(ET.tostring(d, encoding="unicode") + "\n")
EOF
}

# create NAME ARGS...: virsh create a transient domain from domain_xml ARGS.
create() {
	local name=$1 pidfile
	shift
	domain_xml "$name" "$@" >"$T/$name.xml"
	virsh -c "$URI" create "$T/$name.xml" >"$T/$name.create" 2>&1 ||
		fail "virsh create $name: $(cat "$T/$name.create")"
	# QEMU's pid, in case libvirtd is gone when the test ends.
	pidfile=/proc/$LIBVIRTD_PID/root/run/libvirt/qemu/$name.pid
	wait_for 10 test -s "$pidfile" || fail "no pid file for $name"
	QEMU_PIDS+=("$(cat "$pidfile")")
}

domstate() { virsh -c "$URI" domstate --reason "$GOOD" 2>&1; }
state_is() { [ "$(domstate)" = "$1" ]; }

create "$GOOD" 1 1 "$T/vm/qmp.sock"
GOOD_SRC="libvirt:$GOOD@$URI"
wait_for 20 test -S "$T/vm/qmp.sock" || fail "QEMU of $GOOD did not create its QMP socket"
pass "the domain of docs/libvirt.md ($GOOD, TCG) boots the demo guest"

# ---- attach -----------------------------------------------------------------------------
expect() { # FILE REGEX WHAT
	grep -Eq -- "$2" "$1" || { cat "$1" >&2; fail "$3"; }
}
# Until the guest has registered its queues.
attached() {
	"$VQSCOPE" attach --wait 30s "$GOOD_SRC" >"$T/attach.out" 2>"$T/attach.err" ||
		fail "attach $GOOD_SRC: $(cat "$T/attach.err")"
	grep -q ' gpu0\.control ' "$T/attach.out"
}
wait_for 60 attached || { cat "$T/attach.out" >&2; fail "the demo guest never registered gpu0.control"; }
expect "$T/attach.out" "^QMP +libvirt:$GOOD@.*\(QEMU [0-9.]+, VM running\)" "attach: no QMP line"
expect "$T/attach.out" "^region +/dev/shm/vqtrace-$GOOD \(4 MiB, /machine/peripheral/shmem0" \
	"attach: the region is not the domain's <shmem>"
expect "$T/attach.out" '^producer +vqdemo .*can step' "attach: no producer"
expect "$T/attach.out" '^guest RAM +/.*\(128 MiB, mapped read-only\)' "attach: guest RAM not mapped"
expect "$T/attach.out" '^ +0 gpu0\.control +device 16 queue 0, size 64' "attach: no gpu0.control"
expect "$T/attach.out" '^ +[-0-9]+ virtio-gpu +.*last_avail [0-9]+' "attach: no device-side view"
pass "attach finds the <shmem> region, shared RAM and both views through libvirt"

# ---- top --batch --json: the counters move ------------------------------------------------
"$VQSCOPE" top --batch --json --count 3 --interval 1s "$GOOD_SRC" >"$T/top.json" 2>"$T/top.err" ||
	fail "top --batch --json: $(cat "$T/top.err")"
python3 - "$T/top.json" "libvirt:$GOOD@$URI" <<'EOF' || fail "top --batch --json on libvirt"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 3, f"{len(lines)} lines, not 3"
for l in lines:
    assert l["source"] == sys.argv[2], l["source"]
    assert l["vm"] == "running", l["vm"]
    assert l["producer"].startswith("vqdemo"), l["producer"]
    assert l["violations"] == 0, l["violations"]
q = [[q for q in l["queues"] if q["name"] == "gpu0.control"][0] for l in lines]
assert lines[2]["events"] > lines[0]["events"], "events did not move"
assert q[2]["completions"] > q[0]["completions"], "completions did not move"
assert "device" in q[2], "no device-side sample"
EOF
pass "top --batch --json on libvirt:NAME: events and completions move"

# ---- the same counters as the QMP-socket path, with the domain suspended -------------------
virsh -c "$URI" suspend "$GOOD" >/dev/null
wait_for 10 state_is "paused (user)" || fail "virsh suspend: $(domstate)"
top_once() { # SOURCE NAME
	"$VQSCOPE" top --batch --json --count 1 "$1" >"$T/$2.json" 2>"$T/$2.err" ||
		fail "top --batch on $1: $(cat "$T/$2.err")"
}
top_once "$GOOD_SRC" paused-libvirt
top_once "$T/vm/qmp.sock" paused-qmp
python3 - "$T/paused-libvirt.json" "$T/paused-qmp.json" <<'EOF' || fail "libvirt and QMP paths disagree"
import json, sys
a, b = (json.loads(open(p).readline()) for p in sys.argv[1:3])
for k in ("vm", "producer", "generation", "events", "lost", "violations", "frames"):
    assert a[k] == b[k], f"{k}: libvirt {a[k]} != QMP {b[k]}"
assert a["vm"] == "paused", a["vm"]
assert a["events"] > 0
def key(q):
    k = {k: q[k] for k in ("slot", "name", "ring_size", "in_flight", "avail_idx",
                           "last_used_idx", "adds", "completions", "kicks")}
    # The device side, but not its text (it says for how long, by the clock).
    k["device"] = {d: q["device"][d] for d in ("last_avail_idx", "used_idx", "inuse")}
    return k
qa, qb = ([key(q) for q in x["queues"]] for x in (a, b))
assert qa == qb, f"queues: libvirt {qa} != QMP {qb}"
EOF
virsh -c "$URI" resume "$GOOD" >/dev/null
wait_for 10 state_is "running (unpaused)" || fail "virsh resume: $(domstate)"
pass "suspended, libvirt:NAME and the QMP socket read the same counters"

# ---- record, report, dump ------------------------------------------------------------------
"$VQSCOPE" record -o "$T/good.vqt" -d 3s "$GOOD_SRC" 2>"$T/record.err" ||
	fail "record: $(cat "$T/record.err")"
expect "$T/record.err" '[1-9][0-9]* events in 3\.[0-9]+ s \(lost [0-9]+, violations 0\); duration elapsed' \
	"record: no summary"
"$VQSCOPE" report "$T/good.vqt" >"$T/report.out" 2>&1 || fail "report: $(cat "$T/report.out")"
expect "$T/report.out" '^  events +[1-9][0-9]* \(lost [0-9]+, protocol violations 0' "report: no events"
expect "$T/report.out" '^ +0 gpu0\.control +64 +[1-9]' "report: no gpu0.control row"
"$VQSCOPE" dump "$T/good.vqt" >"$T/dump.out" 2>&1 || fail "dump: $(tail -3 "$T/dump.out")"
expect "$T/dump.out" ' USED 0 gpu0\.control head=' "dump: no USED events"
"$VQSCOPE" dump --only-new -d 2s "$GOOD_SRC" >"$T/dump-live.out" 2>&1 ||
	fail "dump of libvirt:NAME: $(tail -3 "$T/dump-live.out")"
expect "$T/dump-live.out" ' ADD 0 gpu0\.control head=' "live dump: no ADD events"
pass "record, report and dump on libvirt:NAME"

# ---- doctor: watches the domain, and finds no error in the demo guest ---------------------------
"$VQSCOPE" doctor -d 3s "$GOOD_SRC" >"$T/doctor.out" 2>&1 || fail "doctor: $(cat "$T/doctor.out")"
expect "$T/doctor.out" "^vqscope doctor: libvirt:$GOOD@.*, a live watch of events \([1-9][0-9]* events, lost [0-9]+\)" \
	"doctor: no live watch of libvirt:NAME"
pass "doctor on libvirt:NAME: a live watch, no error on a correct driver"

# ---- exporter: the domain's queues as Prometheus metrics ---------------------------------------
exporter_start "web=$GOOD_SRC"
wait_for 60 metrics_have 'vqscope_up{vm="web"} 1' || fail "exporter: web is not up: $(metrics | grep vqscope_up)"
completions() {
	metrics | sed -n 's/^vqscope_queue_completions_total{vm="web",queue="gpu0\.control",[^}]*} \([0-9]*\)$/\1/p'
}
first=$(completions)
[ -n "$first" ] || fail "exporter: no completions of gpu0.control: $(metrics | head -40)"
more() { [ "$(completions)" -gt "$first" ]; }
wait_for 30 more || fail "exporter: completions stayed at $first"
exporter_stop
pass "exporter serves libvirt:NAME's queues, and they move"

# ---- p and c in the live view: virDomainSuspend and virDomainResume ---------------------------
tui_start 120 40 "'$VQSCOPE' top '$GOOD_SRC'"
wait_screen 60 '^gpu0\.control +[0-9]+ +[0-9]+/[0-9]+ '
keys p
wait_for 20 state_is "paused (user)" || fail "p: the domain is $(domstate), not paused (user)"
wait_screen 10 'pausing the VM \(virDomainSuspend\)'
wait_screen 10 ' VM paused '
keys c
wait_for 20 state_is "running (unpaused)" || fail "c: the domain is $(domstate)"
wait_screen 10 ' VM running '
keys q
tui_wait_exit 20
[ "$TUI_EXIT" = 0 ] || fail "top exited with $TUI_EXIT"
tui_stop
pass "p and c suspend and resume the domain through libvirt (paused (user), running)"

# ---- libvirt-xml ------------------------------------------------------------------------------
"$VQSCOPE" libvirt-xml >"$T/xml.out" || fail "libvirt-xml failed"
expect "$T/xml.out" "^<shmem name='vqtrace'>" "libvirt-xml: no <shmem>"
expect "$T/xml.out" "^  <model type='ivshmem-plain'/>" "libvirt-xml: no model"
expect "$T/xml.out" "^  <source type='file'/>" "libvirt-xml: no memoryBacking source"
expect "$T/xml.out" "^  <access mode='shared'/>" "libvirt-xml: no memoryBacking access"
"$VQSCOPE" libvirt-xml "$GOOD_SRC" >"$T/xml-good.out" || fail "libvirt-xml $GOOD failed"
expect "$T/xml-good.out" "trace region: <shmem name='vqtrace-$GOOD'>" "libvirt-xml: $GOOD's shmem"
expect "$T/xml-good.out" "guest RAM: a shared file" "libvirt-xml: $GOOD's RAM"
! grep -q '^<[a-z]' "$T/xml-good.out" || fail "libvirt-xml printed elements $GOOD has"
pass "libvirt-xml prints the elements, and nothing for a domain that has them"

# ---- a user who may read the region but not write it, nor reach guest RAM ----------------------
setpriv --reuid=nobody --regid=nogroup --groups=libvirt \
	"$VQSCOPE" attach --no-device "$GOOD_SRC" >"$T/nobody.out" 2>&1 ||
	fail "attach as nobody: $(cat "$T/nobody.out")"
expect "$T/nobody.out" "control page read-only to us \(/dev/shm/vqtrace-$GOOD is libvirt-qemu:libvirt-qemu, mode 0[0-7]+\): step mode needs write access" \
	"nobody: no message about the read-only control page"
expect "$T/nobody.out" '^guest RAM +/.*not mapped: guest RAM /.*: Permission denied \((directory )?/.* is libvirt-qemu:.*\): vqscope needs read access' \
	"nobody: no message about guest RAM access"
expect "$T/nobody.out" '^producer +vqdemo' "nobody: the region is not read"
pass "without write access: read-only region, step mode and guest RAM say why"

# ---- bad input ---------------------------------------------------------------------------------
"$VQSCOPE" attach "libvirt:$P-nosuch@$URI" >"$T/nosuch.out" 2>&1 && fail "attach to no domain succeeded"
expect "$T/nosuch.out" "^vqscope attach: libvirt: no domain '$P-nosuch' at qemu:///system\?socket=.* \(virsh -c .* list --all lists them\)$" \
	"no such domain: wrong message"
"$VQSCOPE" top --batch --count 1 "libvirt:" >"$T/noname.out" 2>&1 && fail "libvirt: without a name worked"
expect "$T/noname.out" "^vqscope top: libvirt:: no domain name \(libvirt:DOMAIN or libvirt:DOMAIN@URI\)$" \
	"no domain name: wrong message"
"$VQSCOPE" attach "libvirt:test@test:///default" >"$T/test-driver.out" 2>&1 &&
	fail "attach to a test:///default domain succeeded"
expect "$T/test-driver.out" "^vqscope attach: libvirt: test:///default does not pass QMP through for domain test \(a QEMU domain is needed\)" \
	"not a QEMU domain: wrong message"
pass "no such domain, no domain name, not a QEMU domain: one line each"

create "$P-noshm" 0 1 ""
create "$P-noram" 1 0 ""
"$VQSCOPE" attach --no-device "libvirt:$P-noshm@$URI" >"$T/noshm.out" 2>&1 ||
	fail "attach $P-noshm: $(cat "$T/noshm.out")"
expect "$T/noshm.out" "^region +no trace region: domain $P-noshm has no <shmem> for the trace region: add <shmem name='vqtrace-$P-noshm'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem> to its <devices>" \
	"no <shmem>: wrong message"
"$VQSCOPE" libvirt-xml "libvirt:$P-noshm@$URI" >"$T/noshm-xml.out" || fail "libvirt-xml $P-noshm"
expect "$T/noshm-xml.out" "^<shmem name='vqtrace-$P-noshm'>" "libvirt-xml: no <shmem> for $P-noshm"
! grep -q '^<memoryBacking>' "$T/noshm-xml.out" || fail "libvirt-xml: memoryBacking for $P-noshm"
"$VQSCOPE" attach --no-device --wait 30s "libvirt:$P-noram@$URI" >"$T/noram.out" 2>&1 ||
	fail "attach $P-noram: $(cat "$T/noram.out")"
expect "$T/noram.out" "^guest RAM +guest RAM of domain $P-noram is not a shared file \(it has no <memoryBacking>\): add <memoryBacking><source type='file'/><access mode='shared'/></memoryBacking> to <domain>" \
	"RAM not shared: wrong message"
expect "$T/noram.out" "^region +/dev/shm/vqtrace-$P-noram " "$P-noram: no region"
"$VQSCOPE" libvirt-xml "libvirt:$P-noram@$URI" >"$T/noram-xml.out" || fail "libvirt-xml $P-noram"
expect "$T/noram-xml.out" '^<memoryBacking>' "libvirt-xml: no memoryBacking for $P-noram"
pass "no <shmem>, RAM not shared: the message names the element to add"

# ---- exporter --libvirt: the running domains that have a trace region ------------------------
exporter_start --retry 1s "--libvirt=$URI"
up_line() { metrics | grep -E "^vqscope_up\{vm=\"$1\"\} [01]\$"; }
wait_for 60 metrics_have "vqscope_up{vm=\"$GOOD\"} 1" ||
	fail "exporter --libvirt: $GOOD is not up: $(metrics | grep vqscope_up; cat "$T/exporter.err")"
wait_for 30 up_line "$P-noram" >/dev/null || fail "exporter --libvirt: no $P-noram, which has a <shmem>"
! up_line "$P-noshm" >/dev/null || fail "exporter --libvirt serves $P-noshm, which has no <shmem>"
completions() {
	metrics | sed -n "s/^vqscope_queue_completions_total{vm=\"$GOOD\",queue=\"gpu0\\.control\",[^}]*} \([0-9]*\)\$/\1/p"
}
first=$(completions)
[ -n "$first" ] || fail "exporter --libvirt: no completions of $GOOD's gpu0.control"
wait_for 30 more || fail "exporter --libvirt: completions of $GOOD stayed at $first"
virsh -c "$URI" destroy "$P-noshm" >/dev/null
virsh -c "$URI" destroy "$P-noram" >/dev/null
wait_for 60 grep -q "^vqscope exporter: $P-noram: left (its domain is gone)\$" "$T/exporter.err" ||
	fail "exporter --libvirt: $P-noram did not leave: $(cat "$T/exporter.err")"
! up_line "$P-noram" >/dev/null || fail "exporter --libvirt: $P-noram is still served after it left"
exporter_stop
pass "exporter --libvirt serves the domains with a <shmem> ($GOOD moves), not $P-noshm; a destroyed one leaves"

# ---- libvirtd goes away while recording ---------------------------------------------------------
# record_until FILE WHAT...: record FILE in the background, run WHAT once
# it holds events, expect exit 3 within 60 s.
bigger_than() { [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -gt "$2" ]; }
record_until() {
	local file=$1 rec
	shift
	"$VQSCOPE" record -o "$file" -d 120s "$GOOD_SRC" 2>"$file.err" &
	rec=$!
	track_pid "$rec"
	wait_for 30 bigger_than "$file" 8192 || fail "record $file wrote nothing"
	"$@"
	qemu_wait "$rec" 60 || fail "record $file did not end"
	[ "$QEMU_STATUS" = 3 ] || fail "record $file exited with $QEMU_STATUS, not 3: $(cat "$file.err")"
}
kill_libvirtd() { kill "$LIBVIRTD_PID"; }
record_until "$T/killed.vqt" kill_libvirtd
expect "$T/killed.vqt.err" "events in .*; libvirtd closed the connection" "libvirtd killed: wrong message"
"$VQSCOPE" report "$T/killed.vqt" >"$T/killed.report" 2>&1 ||
	fail "report of the recording cut by libvirtd: $(cat "$T/killed.report")"
expect "$T/killed.report" 'ended: libvirtd closed the connection' "killed.vqt: no end reason"
expect "$T/killed.report" '^  events +[1-9]' "killed.vqt: no events"
pass "libvirtd killed while recording: exit 3, the recording is closed and valid"

# libvirtd again, in the same namespace: it finds the domain still running.
stop_pid "$LIBVIRTD_PID"
rm -f "$T/run/libvirt-sock"
nsenter -t "$HOLDER" -m libvirtd -d -p "$T/libvirtd.pid" -f "$T/etc/libvirtd.conf" ||
	fail "libvirtd did not start again"
LIBVIRTD_PID=$(cat "$T/libvirtd.pid")
running() { domstate | grep -q '^running'; }
wait_for 20 running || fail "after the restart $GOOD is $(domstate)"

destroy_good() { virsh -c "$URI" destroy "$GOOD" >/dev/null; }
record_until "$T/destroyed.vqt" destroy_good
expect "$T/destroyed.vqt.err" "events in .*; libvirt domain $GOOD stopped \(destroyed\)" \
	"domain destroyed: wrong message"
"$VQSCOPE" report "$T/destroyed.vqt" >"$T/destroyed.report" 2>&1 ||
	fail "report of the recording cut by virsh destroy: $(cat "$T/destroyed.report")"
expect "$T/destroyed.report" "ended: libvirt domain $GOOD stopped \(destroyed\)" "destroyed.vqt: no end reason"
pass "domain destroyed while recording: exit 3, the recording is closed and valid"
