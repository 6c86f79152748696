#!/usr/bin/python3
"""Drives headless Chromium over the DevTools protocol to check the console
page; run through console_check.sh (which owns the temporary profile and
makes sure no Chromium outlives it). Python 3 standard library only.

Why the DevTools protocol over --remote-debugging-pipe, not --dump-dom or
--enable-logging=stderr: the pipe (fds 3 and 4, JSON messages ended by a NUL
byte) needs no websocket and no port; it reports every uncaught exception
(Runtime.exceptionThrown), every console.error/assert (Runtime.
consoleAPICalled) and every browser-side error such as a failed load
(Log.entryAdded), each with its URL, so failures can be told apart and
named; and the checks wait on the live page's own state (body[data-
refreshes]) instead of guessing a --virtual-time-budget, and can type into
the filter and click the toggles. The stderr log of --enable-logging mixes
console messages with Chromium's own noise (dbus, GPU) in a format that
changes between versions, and --dump-dom sees a single moment.
"""

import argparse
import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import quote

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def fail_usage(msg):
    print("console_check: %s" % msg, file=sys.stderr)
    sys.exit(2)


class Browser:
    """Headless Chromium with a DevTools pipe; one page session."""

    def __init__(self, exe, profile, pid_file, width, height):
        r_in, self.w_in = os.pipe()   # we write, Chromium reads fd 3
        self.r_out, w_out = os.pipe()  # Chromium writes fd 4, we read
        flags = [
            "--headless=new", "--remote-debugging-pipe", "--user-data-dir=" + profile,
            "--no-first-run", "--no-default-browser-check", "--disable-gpu",
            "--disable-dev-shm-usage", "--disable-extensions", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-default-apps",
            "--mute-audio", "--hide-scrollbars", "--window-size=%d,%d" % (width, height),
        ]
        if os.geteuid() == 0:
            flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        flags += os.environ.get("CHROMIUM_EXTRA_FLAGS", "").split()

        def child():
            os.dup2(r_in, 3)
            os.dup2(w_out, 4)

        self.log_path = os.path.join(profile, "..", "chromium.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([exe] + flags + ["about:blank"], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log, preexec_fn=child,
                                     pass_fds=(3, 4), start_new_session=True)
        if pid_file:
            with open(pid_file, "w") as f:
                f.write("%d\n" % self.proc.pid)
        os.close(r_in)
        os.close(w_out)
        self.lock = threading.Condition()
        self.replies, self.events, self.next_id, self.closed = {}, [], 0, False
        threading.Thread(target=self._read, daemon=True).start()
        self.session = None

    def _read(self):
        buf = b""
        while True:
            try:
                data = os.read(self.r_out, 1 << 16)
            except OSError:
                data = b""
            if not data:
                with self.lock:
                    self.closed = True
                    self.lock.notify_all()
                return
            buf += data
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                with self.lock:
                    if "id" in msg:
                        self.replies[msg["id"]] = msg
                    else:
                        self.events.append(msg)
                    self.lock.notify_all()

    def call(self, method, params=None, session=True, timeout=15):
        with self.lock:
            self.next_id += 1
            mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        try:
            os.write(self.w_in, json.dumps(msg).encode() + b"\0")
        except OSError:
            raise RuntimeError("Chromium is gone (see %s)" % self.log_path)
        deadline = time.time() + timeout
        with self.lock:
            while mid not in self.replies:
                if self.closed:
                    raise RuntimeError("Chromium closed the pipe (see %s)" % self.log_path)
                left = deadline - time.time()
                if left <= 0:
                    raise RuntimeError("no answer to %s in %d s" % (method, timeout))
                self.lock.wait(left)
            reply = self.replies.pop(mid)
        if "error" in reply:
            raise RuntimeError("%s: %s" % (method, reply["error"].get("message")))
        return reply.get("result", {})

    def open_page(self, width, height):
        tid = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": tid, "flatten": True},
                                 session=False)["sessionId"]
        for m in ("Runtime.enable", "Log.enable", "Page.enable"):
            self.call(m)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def eval(self, expr, timeout=15):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                           "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in r:
            raise RuntimeError("check script error: %s" % r["exceptionDetails"].get("text"))
        return r.get("result", {}).get("value")

    def drain(self):
        with self.lock:
            ev, self.events = self.events, []
        return ev

    def close(self):
        try:
            if self.proc.poll() is None:
                self.call("Browser.close", session=False, timeout=3)
        except Exception:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        # The browser's helpers (zygote, renderer, GPU) are in its process
        # group, whose id is the browser's PID: stop any still there.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(0.5 if sig == signal.SIGTERM else 0)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for fd in (self.w_in, self.r_out):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()


SNAPSHOT = r"""(() => {
  const q = (s) => Array.from(document.querySelectorAll(s));
  const txt = (s) => { const e = document.querySelector(s); return e ? e.textContent.trim() : null; };
  const err = document.querySelector('#error');
  const rows = q('#topics tr[data-topic][data-partition]');
  return {
    refreshes: Number(document.body && document.body.dataset.refreshes || 0),
    clusterId: txt('#cluster-id'),
    controllerId: txt('#controller-id'),
    quorumShown: !(document.querySelector('#controllers-card') || {hidden: true}).hidden,
    controllers: q('#controllers tr[data-controller-id]').map(tr => ({id: tr.dataset.controllerId,
      role: tr.dataset.role || ''})),
    brokers: q('#brokers tr[data-broker-id]').map(tr => ({id: tr.dataset.brokerId,
      state: tr.dataset.state || '', admin: tr.dataset.admin || ''})),
    rows: rows.map(tr => ({topic: tr.dataset.topic, partition: tr.dataset.partition,
      cls: tr.className.split(/\s+/)})),
    shown: (document.querySelector('#topics') || {dataset: {}}).dataset.shown || '',
    firstRow: rows.length ? rows[0].dataset.topic + '/' + rows[0].dataset.partition : '',
    groups: q('#groups [data-group]').map(e => e.dataset.group),
    rates: q('#rates .value').map(e => e.textContent.trim()).join(' · '),
    pageInfo: txt('#page-info'),
    nextDisabled: !!(document.querySelector('#page-next') || {}).disabled,
    urpCount: txt('#count-under-replicated'),
    offlineCount: txt('#count-offline'),
    error: err && !err.hidden ? err.textContent.trim() : '',
  };
})()"""

SET_FILTER = r"""((v) => { const i = document.querySelector('#topic-filter');
  if (!i) return false; i.value = v; i.dispatchEvent(new Event('input', {bubbles: true})); return true; })(%s)"""
SET_URP = r"""((on) => { const c = document.querySelector('#urp-only');
  if (!c) return false; if (c.checked !== on) c.click(); return true; })(%s)"""
CLICK = r"""((s) => { const b = document.querySelector(s); if (!b || b.disabled) return false; b.click(); return true; })(%s)"""


def shown_key(filter, urp, page):
    """The page's #topics[data-shown] for rows answering these settings."""
    return "filter=%s&urp=%d&page=%d" % (quote(filter, safe="-_.!~*'()"), 1 if urp else 0, page)


class Check:
    def __init__(self, b, args):
        self.b, self.args, self.failures, self.errors, self.notes = b, args, [], [], []
        self.allowed = set()  # host:port of brokers expected unreachable: their load errors are expected
        self.load_errors = []

    def fail(self, msg):
        self.failures.append(msg)
        print("FAIL %s" % msg)

    def ok(self, msg):
        print("ok   %s" % msg)

    def collect(self):
        for ev in self.b.drain():
            m, p = ev.get("method"), ev.get("params", {})
            if m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                ex = d.get("exception", {})
                self.errors.append("uncaught exception: %s (%s:%s)" % (
                    ex.get("description") or d.get("text"), d.get("url", "?"), d.get("lineNumber", "?")))
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                args = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                self.errors.append("console.%s: %s" % (p.get("type"), args))
            elif m == "Runtime.consoleAPICalled" and p.get("type") == "warning":
                self.notes.append("console.warn: %s" % " ".join(
                    str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif m == "Log.entryAdded":
                e = p.get("entry", {})
                where = e.get("url", "")
                if e.get("level") == "error":
                    # Judged at the end, once the unreachable brokers' addresses are known.
                    self.load_errors.append((e.get("source"), e.get("text"), where))
                elif e.get("level") == "warning":
                    self.notes.append("%s warning: %s %s" % (e.get("source"), e.get("text"), where))
            elif m == "Inspector.targetCrashed":
                self.errors.append("the page crashed")

    def snap(self):
        self.collect()
        return self.b.eval(SNAPSHOT)

    def wait(self, what, pred, timeout):
        """Polls the snapshot until pred(snapshot) is true; returns it, or None."""
        deadline = time.time() + timeout
        while True:
            s = self.snap()
            if pred(s):
                return s
            if time.time() >= deadline:
                return None
            time.sleep(0.25)

    def view(self, filter="", urp=False):
        """Sets the filter and the toggle, and waits for the rows answering them
        (#topics[data-shown]); returns that snapshot, or None after 10 s."""
        self.b.eval(SET_FILTER % json.dumps(filter))
        self.b.eval(SET_URP % ("true" if urp else "false"))
        want = shown_key(filter, urp, 1)
        return self.wait("view", lambda s: s["shown"] == want, min(self.left(), 10))

    def left(self):
        return max(1.0, self.deadline - time.time())

    def run(self):
        a, b = self.args, self.b
        self.deadline = time.time() + a.timeout
        b.open_page(a.width, a.height)
        nav = b.call("Page.navigate", {"url": a.url})
        if nav.get("errorText"):
            self.fail("cannot load %s: %s" % (a.url, nav["errorText"]))
            return
        # The page counts its finished refreshes: 1 is the load, 2 the first 2 s refresh.
        # An uncaught exception ends the wait: a page that cannot run its
        # script would otherwise only time out.
        s = self.wait("refresh", lambda s: s["refreshes"] >= 2 or self.errors, self.left())
        if not s or s["refreshes"] < 2:
            s = self.snap()
            self.fail("the page did not finish its first refresh %s (body[data-refreshes]=%s)"
                      % ("after an error" if self.errors else "in %d s" % a.timeout, s["refreshes"]))
            return
        self.ok("loaded and refreshed (%d refreshes)" % s["refreshes"])

        exp_state = {bid: "live" for bid in a.broker}
        for bid in a.unreachable:
            exp_state[bid] = "unreachable"
        for bid in a.fenced:
            exp_state[bid] = "fenced"

        def brokers_ok(s):
            got = {x["id"]: x["state"] for x in s["brokers"]}
            return all(got.get(k) == v for k, v in exp_state.items())

        s = self.wait("brokers", lambda s: s["clusterId"] not in (None, "", "…") and brokers_ok(s)
                      and all(g in s["groups"] for g in a.group), min(self.left(), 12)) or self.snap()
        if s["clusterId"] in (None, "", "…"):
            self.fail("#cluster-id is empty")
        elif a.cluster_id and s["clusterId"] != a.cluster_id:
            self.fail("#cluster-id is %r, not %r" % (s["clusterId"], a.cluster_id))
        else:
            self.ok("#cluster-id %s" % s["clusterId"])
        got = {x["id"]: x for x in s["brokers"]}
        for bid, want in sorted(exp_state.items()):
            if bid not in got:
                self.fail("#brokers has no tr[data-broker-id=%s] (it has %s)" % (bid, sorted(got)))
            elif got[bid]["state"] != want:
                self.fail("broker %s is shown %s, not %s" % (bid, got[bid]["state"] or "(no state)", want))
            else:
                self.ok("broker %s shown %s" % (bid, want))
        # A broker shown unreachable, or fenced (most often: it is down), may
        # fail the page's requests to it; those are not the page's errors.
        for bid in a.unreachable + a.fenced:
            if bid in got and got[bid]["admin"]:
                self.allowed.add(got[bid]["admin"])
        if a.controllers:
            self.check_quorum(a)
        for g in a.group:
            if g in s["groups"]:
                self.ok("group %s shown" % g)
            else:
                self.fail("#groups has no [data-group=%s] (it has %s)" % (g, s["groups"]))
        if s["rates"] and "/s" in s["rates"] and any(c.isdigit() for c in s["rates"]):
            self.ok("#rates: %s" % " ".join(s["rates"].split()))
        else:
            self.fail("#rates shows no rate: %r" % s["rates"])
        if s["error"]:
            self.fail("the error banner is up: %s" % s["error"])
        if len(s["rows"]) > 100:
            self.fail("#topics shows %d rows at once (more than a page of 100)" % len(s["rows"]))

        for t in a.topic:
            if any(r["topic"] == t for r in s["rows"]):
                self.ok("topic %s on the first page" % t)
                continue
            s2 = self.view(filter=t)
            if s2 and any(r["topic"] == t for r in s2["rows"]):
                self.ok("topic %s shown (filtered)" % t)
            else:
                self.fail("#topics has no tr[data-topic=%s], even filtered" % t)

        for spec, cls in [(x, "under-replicated") for x in a.under_replicated] + \
                         [(x, "offline") for x in a.offline]:
            t, _, p = spec.rpartition(":")
            if not t or not p.isdigit():
                self.fail("bad --%s %s: want TOPIC:PARTITION" % (cls, spec))
                continue

            def marked(s, t=t, p=p, cls=cls):
                return any(r["topic"] == t and r["partition"] == p and cls in r["cls"] for r in s["rows"])

            s2 = self.view(filter=t)
            if s2 and marked(s2):
                self.ok("%s/%s shown with class %s" % (t, p, cls))
            else:
                self.fail("%s/%s is not a tr.%s in #topics (filtered to %s)" % (t, p, cls, t))
            s2 = self.view(filter=t, urp=True)
            if s2 and marked(s2) and all("under-replicated" in r["cls"] or "offline" in r["cls"] for r in s2["rows"]):
                self.ok("%s/%s listed under 'under-replicated only' (%d rows, all marked)" % (t, p, len(s2["rows"])))
            else:
                self.fail("with 'under-replicated only' on (filtered to %s), %s/%s is missing or unmarked rows show"
                          % (t, t, p))
        s = self.view()
        if a.under_replicated:
            n = (s["urpCount"] or "").rstrip("+").replace(",", "")
            if n.isdigit() and int(n) >= len(a.under_replicated):
                self.ok("header counts %s under-replicated" % s["urpCount"])
            else:
                self.fail("header under-replicated count %r, want at least %d" % (s["urpCount"], len(a.under_replicated)))
        if a.offline:
            n = (s["offlineCount"] or "").replace(",", "")
            if n.isdigit() and int(n) >= len(a.offline):
                self.ok("header counts %s offline" % s["offlineCount"])
            else:
                self.fail("header offline count %r, want at least %d" % (s["offlineCount"], len(a.offline)))

        if a.paging:
            if not s or not s["rows"] or s["nextDisabled"]:
                self.fail("--paging: the first page has no Next (%s)" % (s or self.snap())["pageInfo"])
            else:
                first, info = s["firstRow"], s["pageInfo"]
                b.eval(CLICK % json.dumps("#page-next"))
                s2 = self.wait("next", lambda x: x["shown"] == shown_key("", False, 2), min(self.left(), 10))
                if s2 and s2["firstRow"] != first and 0 < len(s2["rows"]) <= 100:
                    self.ok("paging: %s, then %s (%d rows)" % (info, s2["pageInfo"], len(s2["rows"])))
                    b.eval(CLICK % json.dumps("#page-prev"))
                    if not self.wait("prev", lambda x: x["shown"] == shown_key("", False, 1)
                                     and x["firstRow"] == first, min(self.left(), 10)):
                        self.fail("paging: Prev did not come back to %s" % first)
                else:
                    self.fail("paging: Next did not show another page of at most 100 rows (%s)"
                              % (s2 or self.snap())["pageInfo"])

        # A last refresh with nothing touched.
        r0 = self.snap()["refreshes"]
        self.wait("settle", lambda s: s["refreshes"] > r0, min(self.left(), 5))

        if a.screenshot:
            self.b.eval("(document.querySelector(%s) || document.body).scrollIntoView()" % json.dumps(a.scroll_to)
                        if a.scroll_to else "window.scrollTo(0, 0)")
            time.sleep(0.3)
            shot = self.b.call("Page.captureScreenshot", {"format": "png"})
            with open(a.screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            self.ok("screenshot %s" % a.screenshot)

    def check_quorum(self, a):
        """--controllers N: the quorum card lists N controllers, exactly one
        of them active (not --active-not), and the header names the same one
        as "ID (active) of N"."""
        def good(s):
            act = [c["id"] for c in s["controllers"] if c["role"] == "active"]
            return (s["quorumShown"] and len(s["controllers"]) == a.controllers and len(act) == 1
                    and act[0] != a.active_not
                    and (s["controllerId"] or "").startswith("%s (active) of %d" % (act[0], a.controllers)))
        s = self.wait("quorum", good, min(self.left(), 20)) or self.snap()
        act = [c["id"] for c in s["controllers"] if c["role"] == "active"]
        if good(s):
            self.ok("quorum card: %d controllers (%s), controller %s active; header %r"
                    % (len(s["controllers"]), ", ".join(c["id"] + " " + c["role"] for c in s["controllers"]),
                       act[0], s["controllerId"]))
        else:
            self.fail("quorum card %s with %s, active %s (not wanted: %s); header %r"
                      % ("shown" if s["quorumShown"] else "hidden", s["controllers"], act,
                         a.active_not or "-", s["controllerId"]))

    def report_errors(self):
        """The errors seen all along, also when the checks stopped early."""
        try:
            self.collect()
        except Exception:
            pass
        for src, text, where in self.load_errors:
            if src == "network" and any("//%s/" % h in where for h in self.allowed):
                continue
            self.errors.append("%s error: %s %s" % (src, text, where))
        for n in self.notes:
            print("note %s" % n)
        if self.errors:
            seen = {}
            for e in self.errors:
                seen[e] = seen.get(e, 0) + 1
            for e, k in seen.items():
                self.fail(e + (" (%d times)" % k if k > 1 else ""))
        else:
            self.ok("no console errors or uncaught exceptions")


def main():
    ap = argparse.ArgumentParser(description="Check the Strata console page in headless Chromium.")
    ap.add_argument("url")
    ap.add_argument("--broker", action="append", default=[], metavar="ID", help="a broker shown live")
    ap.add_argument("--unreachable", action="append", default=[], metavar="ID",
                    help="a broker shown unreachable (its failed loads are not errors)")
    ap.add_argument("--fenced", action="append", default=[], metavar="ID",
                    help="a broker shown fenced (its failed loads are not errors either)")
    ap.add_argument("--topic", action="append", default=[], help="a topic with rows shown")
    ap.add_argument("--group", action="append", default=[], help="a consumer group shown")
    ap.add_argument("--under-replicated", action="append", default=[], metavar="TOPIC:PARTITION")
    ap.add_argument("--offline", action="append", default=[], metavar="TOPIC:PARTITION")
    ap.add_argument("--cluster-id", default="")
    ap.add_argument("--controllers", type=int, default=0, metavar="N",
                    help="a quorum of N controllers shown, one active")
    ap.add_argument("--active-not", default="", metavar="ID", help="with --controllers: not this one active")
    ap.add_argument("--paging", action="store_true", help="there are over 100 partitions: try Next/Prev")
    ap.add_argument("--timeout", type=float, default=45, help="seconds for all of it (default 45)")
    ap.add_argument("--screenshot", metavar="PNG", help="also save a screenshot at the end")
    ap.add_argument("--scroll-to", metavar="SELECTOR", help="scroll this into view for the screenshot")
    ap.add_argument("--width", type=int, default=1440)
    ap.add_argument("--height", type=int, default=1000)
    ap.add_argument("--user-data-dir", required=True, help="an empty directory for the profile")
    ap.add_argument("--pid-file", help="write Chromium's PID here")
    args = ap.parse_args()

    exe = os.environ.get("CHROMIUM")
    if not exe:
        for name in BROWSERS:
            for d in os.environ.get("PATH", "").split(":"):
                if d and os.access(os.path.join(d, name), os.X_OK):
                    exe = os.path.join(d, name)
                    break
            if exe:
                break
    if not exe:
        fail_usage("no chromium on PATH (set CHROMIUM=/path/to/chromium)")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    b = Browser(exe, args.user_data_dir, args.pid_file, args.width, args.height)
    c = Check(b, args)
    try:
        c.run()
        c.report_errors()
    except RuntimeError as e:
        c.report_errors()
        c.fail(str(e))
    except KeyboardInterrupt:
        c.fail("interrupted")
    finally:
        b.close()
    if c.failures:
        print("console_check: %d check(s) failed for %s" % (len(c.failures), args.url))
        if any("Chromium" in f for f in c.failures):
            try:
                with open(b.log_path, "rb") as f:
                    print(f.read()[-3000:].decode(errors="replace"))
            except OSError:
                pass
        sys.exit(1)
    print("console_check: all passed for %s" % args.url)


if __name__ == "__main__":
    main()
