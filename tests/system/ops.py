#!/usr/bin/env python3
"""ops.py - turnpiked under a service manager: the sd_notify protocol
(READY=1 only once the listeners answer, RELOADING=1/READY=1 around a
SIGHUP, STOPPING=1 on SIGTERM), the log file reopened on SIGUSR2, journal
output when stderr is the journal, and the pid file."""
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import turnlib  # noqa: E402

args = turnlib.arguments(("--tmp", {"required": True}))
tmp = args.tmp


def check(desc, cond):
    turnlib.ok(cond, desc)
    return cond


def free_port():
    """A port free on 127.0.0.1 for both UDP and TCP."""
    while True:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()


def binding_ok(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.3)
    try:
        s.sendto(turnlib.message(0x0001, os.urandom(12), []), ("127.0.0.1", port))
        return len(s.recv(2048)) >= 20
    except OSError:
        return False
    finally:
        s.close()


def notifications(sock, want, timeout):
    """Datagrams until one holds want (or the time is up)."""
    got = []
    end = time.time() + timeout
    while time.time() < end:
        sock.settimeout(max(0.01, end - time.time()))
        try:
            msg = sock.recv(4096).decode()
        except socket.timeout:
            break
        got.append(msg)
        if want in msg.split("\n"):
            break
    return got


def run(notify_addr, name):
    port = free_port()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(notify_addr if notify_addr[0] != "@" else "\0" + notify_addr[1:])
    env = dict(os.environ, NOTIFY_SOCKET=notify_addr)
    log = os.path.join(tmp, "ops-%s.log" % name)
    pidfile = os.path.join(tmp, "ops-%s.pid" % name)
    proc = subprocess.Popen(
        [args.turnpiked, "-c", "/dev/null", "--listening-ip", "127.0.0.1",
         "--listening-port", str(port), "--log-file", log, "--pidfile", pidfile],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        got = notifications(sock, "READY=1", 10)
        ready = bool(got) and "READY=1" in got[-1].split("\n")
        check("%s: READY=1 arrives (%s)" % (name, got), ready)
        check("%s: at READY=1 the listener already answers" % name, ready and binding_ok(port))
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            pid = None
        check("%s: pidfile holds the pid (%s)" % (name, pid), pid == proc.pid)
        os.rename(log, log + ".1")  # logrotate's move
        proc.send_signal(signal.SIGUSR2)
        end = time.time() + 5
        while time.time() < end and not os.path.exists(log):
            time.sleep(0.05)
        time.sleep(0.1)
        check("%s: SIGUSR2 reopens the log file" % name,
              os.path.exists(log) and "log file reopened" in open(log).read())
        proc.send_signal(signal.SIGHUP)
        got = notifications(sock, "READY=1", 5)
        check("%s: SIGHUP: RELOADING=1 then READY=1 (%s)" % (name, got),
              len(got) >= 2 and "RELOADING=1" in got[0].split("\n") and
              "READY=1" in got[-1].split("\n"))
        proc.send_signal(signal.SIGTERM)
        got = notifications(sock, "STOPPING=1", 5)
        check("%s: SIGTERM: STOPPING=1 (%s)" % (name, got),
              any("STOPPING=1" in m.split("\n") for m in got))
        try:
            rc = proc.wait(10)
        except subprocess.TimeoutExpired:
            rc = None
        check("%s: exits 0 (%s)" % (name, rc), rc == 0)
        check("%s: pidfile removed at exit" % name, not os.path.exists(pidfile))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()


run(os.path.join(tmp, "notify.sock"), "path")
run("@turnpike-test-%d" % os.getpid(), "abstract")

# stderr as the journal: JOURNAL_STREAM names its device and inode.
port = free_port()
errpath = os.path.join(tmp, "journal.out")
with open(errpath, "w") as err:
    st = os.fstat(err.fileno())
    env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    env.pop("NOTIFY_SOCKET", None)
    proc = subprocess.Popen(
        [args.turnpiked, "-c", "/dev/null", "--listening-ip", "127.0.0.1",
         "--listening-port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=err)
    end = time.time() + 10
    while time.time() < end and not binding_ok(port):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)
lines = open(errpath).read().splitlines()
check("journal: every line is '<priority>level: ...', without a timestamp (%s)" % lines[:2],
      bool(lines) and all(l[:3] in ("<3>", "<4>", "<6>", "<7>") for l in lines))
check("journal: info lines are priority 6",
      any(l.startswith("<6>info: ") for l in lines))

sys.exit(turnlib.ok.finish())
