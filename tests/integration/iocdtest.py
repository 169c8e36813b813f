"""iocdtest — the integration-test harness: real processes, real sockets.

Each test gets a temporary directory, a real mosquitto broker bound to
127.0.0.1 on a free port, a real iocd writing a real SQLite file, real MQTT
clients (mosquitto_pub, mosquitto_sub) and queries through iocctl --json,
exactly as an operator would run them. Processes are stopped by the PID
this harness started, never by name.

Binaries come from the environment meson sets (IOCD, IOCCTL, IOCD_SIM);
IOCD_TEST_KEEP=1 keeps the temporary directory for a look afterwards.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

IOCD = os.environ.get("IOCD", "iocd")
IOCCTL = os.environ.get("IOCCTL", "iocctl")
IOCD_SIM = os.environ.get("IOCD_SIM", "iocd-sim")
SOURCE_ROOT = os.environ.get("IOCD_SOURCE_ROOT",
                             os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# Every wait in the harness is bounded: nothing here can hang a CI run.
DEFAULT_TIMEOUT = 20.0


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, timeout=DEFAULT_TIMEOUT, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.1f s waiting for %s (last: %r)" % (timeout, what, last))


class Broker:
    """A mosquitto on 127.0.0.1:port; persistence off unless asked."""

    def __init__(self, workdir, port=None, persistence=False, extra=""):
        self.workdir = workdir
        self.port = port or free_port()
        self.persistence = persistence
        self.extra = extra  # more mosquitto.conf lines (they win: written last)
        self.proc = None
        self.conf = os.path.join(workdir, "mosquitto.conf")
        self.log = os.path.join(workdir, "mosquitto.log")

    def start(self):
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\n" % self.port)
            if "allow_anonymous" not in self.extra:
                f.write("allow_anonymous true\n")
            f.write("max_queued_messages 1000000\n")
            f.write("max_inflight_messages 100\n")
            f.write("persistence %s\n" % ("true" if self.persistence else "false"))
            if self.persistence:
                f.write("persistence_location %s/\n" % self.workdir)
            f.write("log_dest file %s\n" % self.log)
            f.write("log_type error\nlog_type warning\nlog_type notice\n")
            f.write(self.extra)
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._accepting, timeout=10, what="mosquitto to listen")
        return self

    def _accepting(self):
        if self.proc.poll() is not None:
            raise AssertionError("mosquitto exited with %s; see %s" % (self.proc.returncode, self.log))
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def publish(self, topic, payloads, qos=1, client_id=None):
        """Publish each payload (str or bytes) as one message, in order."""
        lines = [p.encode() if isinstance(p, str) else p for p in payloads]
        if all(b"\n" not in p and p for p in lines):
            # One connection for the lot: mosquitto_pub -l sends a message per line.
            cmd = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q", str(qos),
                   "-t", topic, "-l"]
            if client_id:
                cmd += ["-i", client_id]
            subprocess.run(cmd, input=b"\n".join(lines) + b"\n", check=True, timeout=60)
            return
        for p in lines:
            if not p:
                subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q",
                                str(qos), "-t", topic, "-n"], check=True, timeout=60)
                continue
            path = os.path.join(self.workdir, "payload.bin")
            with open(path, "wb") as f:
                f.write(p)
            cmd = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port), "-q", str(qos),
                   "-t", topic, "-f", path]
            subprocess.run(cmd, check=True, timeout=60)


class Iocd:
    """One iocd process with a generated config."""

    # Tests use fixed dates: keep their windows whatever today's date is
    # (test_retention sets its own).
    KEEP_ALL = "retention = 1m:forever 10m:forever 1h:forever\n"

    def __init__(self, workdir, broker, adapters, extra="", flush="100ms", name="iocd",
                 client_id=None, store=None, db=None, write_delay="0"):
        self.workdir = workdir
        # Every test iocd serves HTTP on its own free loopback port, unless
        # the test configures [http] itself.
        self.http_port = None if "[http]" in extra else free_port()
        self.broker = broker
        self.db = db or os.path.join(workdir, "iocd.db")
        self.conf = os.path.join(workdir, name + ".conf")
        self.log = os.path.join(workdir, name + ".log")
        self.proc = None
        self.logf = None
        with open(self.conf, "w") as f:
            f.write("[mqtt]\nhost = 127.0.0.1\nport = %d\nclient_id = %s\n"
                    "reconnect_min = 100ms\nreconnect_max = 1s\n\n"
                    % (broker.port, client_id or ("iocd-test-%d" % broker.port)))
            # Windows are written at the next flush (the default waits 10 s,
            # docs/aggregation.md), unless the test asks otherwise.
            f.write("[store]\npath = %s\nflush_interval = %s\n%s%s\n"
                    % (self.db, flush,
                       "" if write_delay is None else "window_write_delay = %s\n" % write_delay,
                       self.KEEP_ALL if store is None else store))
            f.write("[log]\nlevel = info\nrate_limit_burst = 1000\n\n")
            if self.http_port:
                f.write("[http]\nlisten = 127.0.0.1:%d\n\n" % self.http_port)
            f.write(extra)
            f.write("\n")
            f.write(adapters)

    env = None  # extra environment variables for the process

    def start(self, wait_ready=True):
        self.logf = open(self.log, "ab")
        env = dict(os.environ, **self.env) if self.env else None
        self.proc = subprocess.Popen([IOCD, "--config", self.conf], stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=env)
        if wait_ready:
            wait_until(self._ready, timeout=15, what="iocd to subscribe")
        return self

    def log_text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("iocd exited with %s:\n%s" % (self.proc.returncode, self.log_text()))
        return self.log_text().count("subscribed to") > self.ready_count_before

    ready_count_before = 0

    def restart(self):
        self.stop()
        return self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stop by PID; returns the exit status. The next start() waits for
        the new process to subscribe."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError("iocd did not stop within %d s" % timeout)
        rc = self.proc.returncode
        self.proc = None
        self.logf.close()
        # The next start waits for a subscription of its own.
        self.ready_count_before = self.log_text().count("subscribed to")
        return rc

    # --- the operator's view, through iocctl ---

    def http(self, path, token=None, timeout=10):
        """GET path from iocd's HTTP server: (status, headers, body bytes)."""
        import urllib.error
        import urllib.request
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.http_port, path))
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def api(self, path, token=None):
        """GET a JSON endpoint; (status, parsed body)."""
        st, _, body = self.http(path, token=token)
        return st, json.loads(body.decode("utf-8"))

    def ctl(self, *args, check=True):
        r = subprocess.run([IOCCTL, "--db", self.db] + list(args), capture_output=True,
                           text=True, timeout=30)
        if check and r.returncode != 0:
            raise AssertionError("iocctl %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
        return r

    def query(self, series, *args):
        out = self.ctl("query", series, "--json", *args).stdout
        return [json.loads(l) for l in out.splitlines() if l.strip()]

    def series(self):
        out = self.ctl("series", "--json").stdout
        return [json.loads(l)["series"] for l in out.splitlines() if l.strip()]

    def metric(self, name):
        """One sample of this process's /metrics by its exact name, labels
        included (e.g. 'iocd_messages_total{adapter="air"}'); None if absent."""
        st, _, body = self.http("/metrics")
        for line in body.decode().splitlines() if st == 200 else []:
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
        return None

    def status(self):
        if not os.path.exists(self.db):
            return None
        r = self.ctl("status", "--json", check=False)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)

    def counter(self, adapter, name):
        st = self.status()
        if not st:
            return 0
        a = st.get("adapters", {}).get(adapter, {})
        if name.startswith("reject."):
            return a.get("rejects", {}).get(name[7:], 0)
        return a.get(name, 0)

    def wait_messages(self, adapter, n, timeout=DEFAULT_TIMEOUT):
        """Wait until `n` messages routed to `adapter` are stored (flushed)."""
        wait_until(lambda: self.counter(adapter, "messages") >= n, timeout=timeout,
                   what="%d messages on [adapter %s] (log:\n%s)" % (n, adapter, self.log_text()[-2000:]))
        return self.counter(adapter, "messages")


class IocdTestCase(unittest.TestCase):
    """Gives each test self.dir, self.broker (started) and cleanup by PID."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="iocd-test-")
        self.broker = Broker(self.dir).start()
        self._iocds = []

    def iocd(self, adapters, **kw):
        d = Iocd(self.dir, self.broker, adapters, **kw)
        self._iocds.append(d)
        return d

    def tearDown(self):
        for d in self._iocds:
            try:
                d.stop(signal.SIGKILL, timeout=5)
            except Exception:
                pass
        self.broker.stop()
        if os.environ.get("IOCD_TEST_KEEP"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


# The simulator's air-quality mapping, shared by several tests.
AIR_ADAPTER = """[adapter air]
topic = pleiku/air/+/data
format = json
device = $.station
time = $.ts
metric.pm25 = $.pm25 ug/m3
metric.temperature = $.temp Cel
"""


def air(station, ts, pm25, temp=None):
    d = {"station": station, "ts": ts, "pm25": pm25}
    if temp is not None:
        d["temp"] = temp
    return json.dumps(d)


class Subscriber:
    """A mosquitto_sub on `topics` collecting (topic, payload bytes, retained) in the
    background; stopped by its PID at cleanup."""

    def __init__(self, broker, *topics, qos=1):
        import threading
        cmd = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", str(qos),
               "-F", "%t\t%r\t%x"]
        for t in topics:
            cmd += ["-t", t]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.messages = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for line in self.proc.stdout:
            topic, retained, hexp = line.decode().rstrip("\n").split("\t")
            with self._lock:
                self.messages.append((topic, bytes.fromhex(hexp), retained == "1"))

    def snapshot(self):
        with self._lock:
            return list(self.messages)

    def json(self, prefix=""):
        """The JSON payloads of topics starting with prefix, in arrival order."""
        return [(t, json.loads(p)) for t, p, _ in self.snapshot() if t.startswith(prefix)]

    def wait(self, pred, timeout=DEFAULT_TIMEOUT, what="messages"):
        return wait_until(lambda: pred(self.snapshot()), timeout=timeout, what=what)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._thread.join(5)
        self.proc.stdout.close()


def pb_decode(buf):
    """Decode protobuf wire format into {field number: [values]}: varints as int,
    64-bit as float (double), length-delimited as bytes. Enough to check iocd's
    ioc.v1 messages without a protobuf library."""
    import struct
    out, i = {}, 0

    def varint():
        nonlocal i
        shift = v = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v
    while i < len(buf):
        key = varint()
        field, wt = key >> 3, key & 7
        if wt == 0:
            v = varint()
        elif wt == 1:
            v = struct.unpack("<d", buf[i:i + 8])[0]
            i += 8
        elif wt == 2:
            n = varint()
            v = bytes(buf[i:i + n])
            i += n
        elif wt == 5:
            v = struct.unpack("<f", buf[i:i + 4])[0]
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(field, []).append(v)
    return out
