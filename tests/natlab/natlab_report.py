#!/usr/bin/python3
"""natlab_report.py - the NAT lab's table, assertions and fallback figures.

Usage: natlab_report.py TMPDIR [--matrix TYPE=W,...]...
Reads TMPDIR/pairs (one "A B" per line), TMPDIR/A--B/{a,b}.json and .rc
(the offerer in NAT type A, the answerer in B) and TMPDIR/metrics.txt
(turnpiked's /metrics after the run). Exit 0 when every assertion held.
"""
import json
import os
import re
import sys

SHORT = {"nonat": "nonat", "none": "nonat", "full": "full", "fc": "full",
         "restricted": "restricted", "rc": "restricted",
         "portrestricted": "portrestricted", "prc": "portrestricted",
         "port": "portrestricted", "symmetric": "symmetric", "sym": "symmetric",
         "udpblocked": "udpblocked", "udp": "udpblocked", "tcp": "udpblocked"}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def needs_relay(a, b):
    """The expected outcome: which pairs cannot connect directly."""
    if "udpblocked" in (a, b):
        return True
    return {a, b} in ({"symmetric"}, {"symmetric", "portrestricted"})


def retriggered(call_dir):
    """True when a side's log (--verbose twice) shows a check of the peer
    arriving for a pair whose own check was already out, and a triggered
    check queued for it (RFC 8445 section 7.3.1.4): behind two filtering
    NATs the first check of the direct pair is dropped by the other side's
    NAT, and the peer's check that then gets through must not wait for the
    dropped one's retransmission."""
    for side in ("a", "b"):
        sent = set()
        try:
            with open(os.path.join(call_dir, side + ".err"), errors="replace") as f:
                for line in f:
                    m = re.search(r" debug: check (\S+ \S+ -> \S+ \S+)$", line)
                    if m:
                        sent.add(m.group(1))
                        continue
                    m = re.search(r" debug: checked by the peer: (\S+ \S+ -> \S+ \S+)"
                                  r".*, triggered check queued$", line)
                    if m and m.group(1) in sent:
                        return True
        except OSError:
            pass
    return False


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def metric(text, name):
    """Sum of every sample of a metric (all label sets)."""
    total = 0.0
    for m in re.finditer(r"^%s(?:\{[^}]*\})? ([0-9.eE+-]+)$" % re.escape(name), text, re.M):
        total += float(m.group(1))
    return total


def parse_matrix(spec, types):
    w = {}
    for item in spec.split(","):
        name, _, val = item.partition("=")
        t = SHORT.get(name.strip().lower())
        if t is None or t not in types:
            sys.exit("natlab: --matrix: unknown NAT type %r (types: %s)" % (name, " ".join(types)))
        try:
            w[t] = float(val)
        except ValueError:
            sys.exit("natlab: --matrix: bad weight %r for %s" % (val, name))
        if w[t] < 0:
            sys.exit("natlab: --matrix: negative weight for %s" % name)
    total = sum(w.values())
    if total <= 0:
        sys.exit("natlab: --matrix: the weights add up to 0")
    return {t: v / total for t, v in w.items()}


def main():
    tmp = sys.argv[1]
    matrices = []
    args = sys.argv[2:]
    while args:
        if args[0] == "--matrix" and len(args) > 1:
            matrices.append(args[1])
            args = args[2:]
        else:
            sys.exit("natlab_report: bad arguments %r" % args)
    data_n = int(os.environ.get("NATLAB_DATA", "20"))
    pairs = [tuple(l.split()) for l in open(os.path.join(tmp, "pairs")) if l.strip()]
    types = []
    for a, b in pairs:
        for t in (a, b):
            if t not in types:
                types.append(t)

    fmt = "%-32s %-4s %-15s %-7s %-5s %8s %9s"
    print(fmt % ("pair (offer - answer)", "ok", "selected a/b", "path", "relay", "connect", "data"))
    relayed = {}
    peers_on_relay = 0
    marks = []  # (call directory, failures before its checks)
    for a, b in pairs:
        d = os.path.join(tmp, "%s--%s" % (a, b))
        marks.append((d, len(failures)))
        ja, jb = load(os.path.join(d, "a.json")), load(os.path.join(d, "b.json"))
        ok = ja.get("ok") is True and jb.get("ok") is True
        sa, sb = ja.get("selected") or {}, jb.get("selected") or {}
        la, lb = sa.get("local", "-"), sb.get("local", "-")
        on_relay = [s for s in (sa, sb) if s.get("local") == "relay"]
        peers_on_relay += len(on_relay)
        is_relayed = bool(on_relay) or "relay" in (sa.get("remote"), sb.get("remote"))
        relayed[(a, b)] = relayed[(b, a)] = is_relayed
        protos = sorted({s.get("relay_protocol") for s in on_relay if s.get("relay_protocol")})
        cms = max(ja.get("connect_ms") or -1, jb.get("connect_ms") or -1)
        da, db = ja.get("data") or {}, jb.get("data") or {}
        got = "%s/%s" % (da.get("received", 0), db.get("received", 0))
        print(fmt % ("%s - %s" % (a, b), "yes" if ok else "NO", "%s/%s" % (la, lb),
                     "relay" if is_relayed else "direct", ",".join(protos) or "-",
                     "%d ms" % cms if ok else "-", got))
        name = "%s - %s" % (a, b)
        if not check(ok, "%s: connected (a: %s, b: %s)" % (name, ja.get("error", "ok"),
                                                          jb.get("error", "ok"))):
            continue
        check(da.get("received") == data_n and db.get("received") == data_n,
              "%s: all %d datagrams back on both sides (got %s)" % (name, data_n, got))
        want = needs_relay(a, b)
        check(is_relayed == want, "%s: %s expected, got %s" % (
            name, "relay" if want else "a direct path", "relay" if is_relayed else "direct"))
        if {a, b} <= {"restricted", "portrestricted"}:
            check(retriggered(d), "%s: a peer's check for a pair already checked queued a "
                  "triggered check (see the logs)" % name)
        for t, s in ((a, sa), (b, sb)):
            if t == "udpblocked":
                check(s.get("local") == "relay" and s.get("relay_protocol") == "tcp",
                      "%s: the UDP-blocked side relays over TURN/TCP (got %s, %s)" % (
                          name, s.get("local"), s.get("relay_protocol")))

    calls = len(pairs)
    n_relayed = sum(1 for a, b in pairs if relayed[(a, b)])
    print()
    print("calls that needed the relay: %d of %d (%.1f%%)" % (n_relayed, calls,
                                                            100.0 * n_relayed / calls))
    # The server's figure (README "Relay fallback"): allocations that
    # relayed / credentials issued. Each peer asks the hook once and is
    # one "session"; a peer whose selected local candidate is relayed is
    # one allocation that relayed. So the server's rate is the share of
    # peers (not calls) that fell back: peers_on_relay / (2 * calls).
    text = ""
    try:
        text = open(os.path.join(tmp, "metrics.txt")).read()
    except OSError:
        pass
    s_relayed = metric(text, "turnpike_allocations_relayed_total")
    s_issued = metric(text, "turnpike_rest_credentials_issued_total")
    s_created = metric(text, "turnpike_allocations_created_total")
    peers = 2 * calls
    print("peers on a relayed candidate:  %d of %d (%.1f%%)" % (peers_on_relay, peers,
                                                                100.0 * peers_on_relay / peers))
    if check(s_issued > 0, "/metrics: credentials issued > 0"):
        print("server: allocations relayed %d / credentials issued %d = %.1f%% "
              "(allocations created %d)" % (s_relayed, s_issued, 100.0 * s_relayed / s_issued,
                                            s_created))
    check(s_issued == peers, "/metrics: one credential per peer (%d issued, %d peers)" % (
        s_issued, peers))
    check(s_relayed == peers_on_relay,
          "/metrics: allocations that relayed (%d) = peers on a relayed candidate (%d)" % (
              s_relayed, peers_on_relay))

    # turnpikectl report prints the same ratio from the same /metrics.
    try:
        report = open(os.path.join(tmp, "report.txt")).read()
    except OSError:
        report = ""
    m = re.search(r"^relay-fallback-rate: ([0-9.]+)%", report, re.M)
    want = "%.1f" % (100.0 * peers_on_relay / peers)
    check(m is not None and m.group(1) == want,
          "turnpikectl report: relay-fallback-rate %s%% = peers' %s%%" % (
              m.group(1) if m else "?", want))

    for spec in matrices:
        w = parse_matrix(spec, types)
        # Two users drawn independently from the mix: a call between
        # types x and y happens with probability w[x] * w[y].
        rate = sum(w.get(x, 0) * w.get(y, 0) for x in types for y in types if relayed.get((x, y)))
        print("matrix %s: expected fallback rate %.1f%% of calls" % (spec, 100.0 * rate))

    print()
    # The agents' logs (--verbose twice) of every call that failed an
    # assertion: which checks went out and came back, and when.
    marks.append((None, len(failures)))
    for (d, before), (_, after) in zip(marks, marks[1:]):
        if after == before:
            continue
        for side in ("a", "b"):
            path = os.path.join(d, side + ".err")
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    lines = f.readlines()
            except OSError:
                continue
            print("--- %s (last %d of %d lines)" % (os.path.relpath(path, tmp),
                                                  min(len(lines), 150), len(lines)))
            sys.stdout.write("".join(lines[-150:]))
    for f in failures:
        print("natlab: FAIL: %s" % f)
    print("natlab: %s (%d calls, %d failed assertions)" % (
        "PASS" if not failures else "FAIL", calls, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
