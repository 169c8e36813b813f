"""MQTT v5 ([mqtt] protocol = 5) against a real mosquitto 2.

* Session expiry: stopped with SIGTERM while a publisher keeps sending at
  QoS 1 and started again within the expiry, iocd gets every message exactly
  once; stopped for longer than a short expiry, the broker has dropped the
  session (its log says so), what was published meanwhile is gone, iocd
  starts a new session and subscribes again.
* A broker restart (persistence on), with iocd connected and with iocd
  stopped: nothing lost or doubled.
* User properties become labels of observations (live stream JSON and the
  protobuf republish) and attributes of events (stored), an adapter's own
  attribute winning.
* Reason codes in the log, exact: a subscription the ACL refuses, a wrong
  password; a DISCONNECT with a reason code from a scripted MQTT 5 server
  (mosquitto 2.0 sends none to a client it disconnects), which also checks
  the CONNECT iocd sends: Clean Start, Session Expiry Interval, Receive
  Maximum, on every reconnect.
"""
import glob
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

from iocdtest import (AIR_ADAPTER, Broker, Iocd, IocdTestCase, Subscriber, air, free_port, pb_decode,
                      wait_until)

BASE_MS = 1795305600000  # 2026-11-22T00:00:00Z


def iso(ms):
    s, frac = divmod(ms, 1000)
    return "%s.%03dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)), frac)


def mqtt_keys(d, keys):
    """Add `keys` to the [mqtt] section the harness wrote for d."""
    with open(d.conf) as f:
        text = f.read()
    with open(d.conf, "w") as f:
        f.write(text.replace("[mqtt]\n", "[mqtt]\n" + keys, 1))
    return d


def readings(first, n, station="GL-AQ01"):
    """n messages, value i/4 at BASE_MS + i s for i in first..first+n-1."""
    return [air(station, iso(BASE_MS + i * 1000), i / 4) for i in range(first, first + n)]


class V5Case(IocdTestCase):
    def setUp(self):
        super().setUp()
        # mosquitto started as root runs as user mosquitto: let it write
        # its log and persistence file and read the ACL and password files
        # in the test's private directory; the restart applies it.
        os.chmod(self.dir, 0o777)
        self.broker.stop()
        self.broker.start()

    def broker_log(self):
        if not os.path.exists(self.broker.log):
            return ""
        with open(self.broker.log, encoding="utf-8", errors="replace") as f:
            return f.read()

    def v5(self, keys="", adapters=AIR_ADAPTER, **kw):
        return mqtt_keys(self.iocd(adapters, **kw), "protocol = 5\n" + keys)

    def publish(self, first, n):
        self.broker.publish("pleiku/air/GL-AQ01/data", readings(first, n))

    def assert_exactly(self, d, n):
        """d has messages 0..n-1, each once: counters and the stored day."""
        self.assertEqual(d.counter("air", "messages"), n)
        self.assertEqual(d.counter("air", "observations"), n)
        day = d.query("air/GL-AQ01/pm25", "--resolution", "1d")
        self.assertEqual([(w["count"], w["sum"], w["max"]) for w in day],
                         [(n, sum(i / 4 for i in range(n)), (n - 1) / 4)])

    def wait_stored(self, d, n):
        d.wait_messages("air", n, timeout=60)
        time.sleep(1.0)  # a duplicate or a late redelivery would arrive by now


class SessionExpiryTest(V5Case):
    def test_restart_within_expiry_every_message_once(self):
        n = 2000
        d = self.v5().start()
        self.assertIn("connected to 127.0.0.1:%d as 'iocd-test-%d' (MQTT 5, session new, "
                      "expiry 86400 s)" % (self.broker.port, self.broker.port), d.log_text())
        pub = subprocess.Popen(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                                "-q", "1", "-t", "pleiku/air/GL-AQ01/data", "-l"],
                               stdin=subprocess.PIPE)

        def feed():
            for line in readings(0, n):
                pub.stdin.write((line + "\n").encode())
                pub.stdin.flush()
                time.sleep(0.001)
            pub.stdin.close()

        t = threading.Thread(target=feed)
        t.start()
        wait_until(lambda: d.counter("air", "messages") >= 200, what="first messages stored")
        self.assertEqual(d.stop(signal.SIGTERM), 0)
        time.sleep(0.5)  # the broker queues for the session meanwhile
        d.ready_count_before = d.log_text().count("subscribed to")
        d.start()
        t.join(60)
        self.assertEqual(pub.wait(60), 0)
        self.wait_stored(d, n)
        self.assert_exactly(d, n)
        self.assertEqual(d.log_text().count("(MQTT 5, session resumed, expiry 86400 s)"), 1)

    def test_short_expiry_exceeded_drops_the_session(self):
        d = self.v5("session_expiry = 3s\n").start()
        self.publish(0, 10)
        self.wait_stored(d, 10)
        # Within the expiry: the session and what was queued are kept.
        self.assertEqual(d.stop(), 0)
        self.publish(10, 5)
        d.ready_count_before = d.log_text().count("subscribed to")
        d.start()
        self.wait_stored(d, 15)
        self.assertEqual(d.log_text().count("(MQTT 5, session resumed, expiry 3 s)"), 1)
        # Away longer than the expiry: the broker drops the session, with
        # the 7 messages queued for it.
        self.assertEqual(d.stop(), 0)
        self.publish(15, 7)
        expired = "Expiring client iocd-test-%d due to timeout." % self.broker.port
        wait_until(lambda: expired in self.broker_log(), timeout=15,
                   what="mosquitto to expire the session")
        d.ready_count_before = d.log_text().count("subscribed to")
        d.start()
        self.assertEqual(d.log_text().count("(MQTT 5, session new, expiry 3 s)"), 2)
        time.sleep(1.5)  # nothing of the dropped session may come
        self.assert_exactly(d, 15)
        # The new session is subscribed: the next messages arrive.
        self.broker.publish("pleiku/air/GL-AQ01/data", readings(22, 3))
        d.wait_messages("air", 18)
        time.sleep(0.5)
        self.assertEqual(d.counter("air", "messages"), 18)
        day = d.query("air/GL-AQ01/pm25", "--resolution", "1d")
        self.assertEqual((day[0]["count"], day[0]["sum"]),
                         (18, sum(i / 4 for i in list(range(15)) + [22, 23, 24])))

    def test_clean_session_sends_expiry_zero(self):
        d = self.v5("clean_session = true\n").start()
        self.publish(0, 3)
        self.wait_stored(d, 3)
        self.assertEqual(d.stop(), 0)
        self.publish(3, 4)  # nobody's session queues these
        d.ready_count_before = d.log_text().count("subscribed to")
        d.start()
        time.sleep(1.5)
        self.assertEqual(d.log_text().count("(MQTT 5, session new, expiry 0 s)"), 2)
        self.assert_exactly(d, 3)


class BrokerRestartTest(V5Case):
    def setUp(self):
        super().setUp()
        self.broker.stop()
        self.broker = Broker(self.dir, persistence=True).start()

    def test_broker_restart_loses_and_doubles_nothing(self):
        d = self.v5().start()
        self.publish(0, 50)
        self.wait_stored(d, 50)
        # The broker restarts under a connected iocd: it reconnects and
        # resumes the session the broker saved.
        self.broker.stop()
        before = d.log_text().count("subscribed to")
        self.broker.start()
        wait_until(lambda: d.log_text().count("subscribed to") > before, timeout=20,
                   what="iocd to subscribe again")
        self.assertEqual(d.log_text().count("(MQTT 5, session resumed, expiry 86400 s)"), 1)
        self.publish(50, 50)
        self.wait_stored(d, 100)
        # iocd stopped, 50 queued for its session, the broker restarts
        # (saving and loading them), iocd starts again.
        self.assertEqual(d.stop(), 0)
        self.publish(100, 50)
        self.broker.stop()
        self.broker.start()
        d.ready_count_before = d.log_text().count("subscribed to")
        d.start()
        self.wait_stored(d, 150)
        self.assertEqual(d.log_text().count("(MQTT 5, session resumed, expiry 86400 s)"), 2)
        self.assert_exactly(d, 150)


class SseReader:
    """A client of /api/v1/live: (event, data dict) pairs, read in the background."""

    def __init__(self, d, query):
        self.conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=30)
        self.conn.request("GET", "/api/v1/live?" + query)
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200, self.resp.status
        self.items, self._lock = [], threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        event = None
        try:
            for raw in self.resp:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event:
                    with self._lock:
                        self.items.append((event, json.loads(line[6:])))
                elif not line:
                    event = None
        except (OSError, ValueError):
            pass  # closed by stop()

    def of(self, event):
        with self._lock:
            return [data for ev, data in self.items if ev == event]

    def stop(self):
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._thread.join(5)
        self.conn.close()


REPORTS = """[adapter reports]
topic = pleiku/reports/+/event
format = event
kind = $.kind
text = $.text
device = $.camera
time = $.time
"""


class UserPropertyTest(V5Case):
    def pub_v5(self, topic, payload, *props):
        cmd = ["mosquitto_pub", "-V", "mqttv5", "-h", "127.0.0.1", "-p", str(self.broker.port),
               "-q", "1", "-t", topic, "-m", payload]
        for k, v in props:
            cmd += ["-D", "publish", "user-property", k, v]
        subprocess.run(cmd, check=True, timeout=30)

    def test_user_properties_are_labels_and_attributes(self):
        d = self.v5(adapters=AIR_ADAPTER + "\n" + REPORTS).start()
        sse = SseReader(d, "types=obs,event")
        republished = Subscriber(self.broker, "ioc/v1/obs/air/#")
        self.addCleanup(sse.stop)
        self.addCleanup(republished.stop)
        wait_until(lambda: d.http("/healthz")[0] == 200, what="HTTP up")
        time.sleep(0.5)  # the stream and the subscriber are connected
        self.pub_v5("pleiku/air/GL-AQ01/data", air("GL-AQ01", iso(BASE_MS), 12.5, 27.0),
                    ("district", "Hội Thương"), ("lane", "2"))
        self.pub_v5("pleiku/reports/cam-1/event",
                    json.dumps({"kind": "pothole", "text": "hole", "camera": "cam-1",
                                "time": iso(BASE_MS), "lane": "9"}),
                    ("district", "Hội Thương"), ("lane", "2"))
        # A message without properties: no labels.
        self.pub_v5("pleiku/air/GL-AQ02/data", air("GL-AQ02", iso(BASE_MS), 3.0))
        # 17 properties: the first 16 are labels, the 17th is dropped.
        self.pub_v5("pleiku/air/GL-AQ03/data", air("GL-AQ03", iso(BASE_MS), 4.0),
                    *[("k%02d" % i, "v%d" % i) for i in range(17)])
        wait_until(lambda: len(sse.of("obs")) == 4 and len(sse.of("event")) == 1,
                   what="4 obs and 1 event on the live stream")
        labels = {(o["device"], o["metric"]): o.get("labels") for o in sse.of("obs")}
        self.assertEqual(labels, {
            ("GL-AQ01", "pm25"): {"district": "Hội Thương", "lane": "2"},
            ("GL-AQ01", "temperature"): {"district": "Hội Thương", "lane": "2"},
            ("GL-AQ02", "pm25"): None,
            ("GL-AQ03", "pm25"): {"k%02d" % i: "v%d" % i for i in range(16)}})
        # The event's own "lane" member (an attribute the adapter set) wins.
        self.assertEqual(sse.of("event")[0]["attributes"],
                         {"lane": "9", "district": "Hội Thương"})
        # The protobuf republish: one Batch per message, labels in field 8.
        batches = republished.wait(
            lambda m: [p for t, p, _ in m if t == "ioc/v1/obs/air/GL-AQ01"], what="the batch")
        obs = [pb_decode(o) for o in pb_decode(batches[0])[1]]
        self.assertEqual(len(obs), 2)
        for o in obs:
            entries = sorted((e[1][0].decode(), e[2][0].decode())
                             for e in map(pb_decode, o[8]))
            self.assertEqual(entries, [("district", "Hội Thương"), ("lane", "2")])
        # Stored with the event.
        wait_until(lambda: d.counter("reports", "events") == 1, what="the event stored")
        rows = [json.loads(l) for l in d.ctl("events", "--json").stdout.splitlines()]
        self.assertEqual([r["attributes"] for r in rows], [{"lane": "9", "district": "Hội Thương"}])
        self.assertEqual(d.status()["adapters"]["air"]["notes"], {"property_dropped": 1})
        self.assertIn("property_dropped on 'pleiku/air/GL-AQ03/data': user property 'k16' "
                      "dropped: more than 16 user properties\n", d.log_text())


def dynsec_broker(workdir):
    """A mosquitto whose dynamic-security plugin lets user iocd (password
    "right") subscribe to pleiku/# and publish anywhere, but subscribe to
    nothing else: mosquitto's default ACL never refuses a subscription."""
    plugin = (glob.glob("/usr/lib/*/mosquitto_dynamic_security.so") +
              glob.glob("/usr/lib/mosquitto_dynamic_security.so"))
    if not plugin:
        raise unittest.SkipTest("mosquitto_dynamic_security.so not installed")
    path = os.path.join(workdir, "dynsec.json")
    subprocess.run(["mosquitto_ctrl", "dynsec", "init", path, "iocd", "right"], check=True,
                   timeout=30, capture_output=True)
    with open(path) as f:
        conf = json.load(f)
    conf["roles"][0]["acls"] = [
        {"acltype": "subscribePattern", "topic": "pleiku/#", "allow": True},
        {"acltype": "publishClientSend", "topic": "#", "allow": True},
        {"acltype": "publishClientReceive", "topic": "#", "allow": True}]
    with open(path, "w") as f:
        json.dump(conf, f)
    os.chmod(path, 0o666)
    return Broker(workdir, extra="allow_anonymous false\nplugin %s\nplugin_opt_config_file %s\n"
                  % (plugin[0], path)).start()


class ReasonCodeTest(V5Case):
    def test_refused_subscription_logs_the_reason(self):
        self.broker.stop()
        self.broker = dynsec_broker(self.dir)
        secret = "[adapter secret]\ntopic = secret/+/data\nformat = json\ndevice = $.d\n" \
                 "metric.x = $.x\n"
        login = "username = iocd\npassword = right\n"
        d5 = self.v5(login, adapters=AIR_ADAPTER + "\n" + secret, name="v5").start()
        d3 = mqtt_keys(self.iocd(AIR_ADAPTER + "\n" + secret, name="v3", client_id="iocd-v3",
                                 db=self.dir + "/v3.db"), login).start()
        self.assertIn("broker refused subscription 'secret/+/data' of [adapter secret]: "
                      "Not authorized (reason 135)\n", d5.log_text())
        self.assertIn("broker refused subscription 'secret/+/data' of [adapter secret]: "
                      "failure (return code 128)\n", d3.log_text())
        self.assertNotIn("refused subscription 'pleiku", d5.log_text() + d3.log_text())
        # The other subscription stands.
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port), "-u",
                        "iocd", "-P", "right", "-q", "1", "-t", "pleiku/air/GL-AQ01/data", "-l"],
                       input="\n".join(readings(0, 2)) + "\n", text=True, check=True, timeout=30)
        self.wait_stored(d5, 2)
        self.assert_exactly(d5, 2)

    def test_wrong_password_logs_the_reason_and_keeps_trying(self):
        self.broker.stop()
        pw = self.dir + "/passwd"
        subprocess.run(["mosquitto_passwd", "-b", "-c", pw, "iocd", "right"], check=True,
                       timeout=30, capture_output=True)
        os.chmod(pw, 0o644)
        self.broker = Broker(self.dir, extra="allow_anonymous false\npassword_file %s\n" % pw)
        self.broker.start()
        d5 = self.v5("username = iocd\npassword = wrong\n", name="v5").start(wait_ready=False)
        d3 = mqtt_keys(self.iocd(AIR_ADAPTER, name="v3", client_id="iocd-v3",
                                 db=self.dir + "/v3.db"),
                       "username = iocd\npassword = wrong\n").start(wait_ready=False)
        # mosquitto 2.0 answers a wrong password with 0x87, not 0x86.
        line5 = "broker 127.0.0.1:%d refused the connection as user 'iocd': Not authorized " \
                "(reason 135) (check username and password)\n" % self.broker.port
        line3 = "broker 127.0.0.1:%d refused the connection as user 'iocd': Connection " \
                "Refused: not authorised. (check username and password)\n" % self.broker.port
        wait_until(lambda: d5.log_text().count(line5) >= 2, timeout=20, what="two refusals")
        wait_until(lambda: d3.log_text().count(line3) >= 2, timeout=20, what="two refusals")
        self.assertTrue(d5.alive() and d3.alive())


class FakeV5Broker:
    """A scripted MQTT 5 server on 127.0.0.1 for what mosquitto 2.0 never
    sends (it disconnects a taken-over session without DISCONNECT): it
    records each CONNECT (protocol level, Clean Start, properties), answers
    CONNACK and a SUBACK granting QoS 1 to every filter, then sends
    DISCONNECT with `reason` and closes. Stopped at cleanup."""

    def __init__(self, reason, refuse=None):
        self.reason = reason
        self.refuse = refuse  # (CONNACK reason code, Reason String): refuse every CONNECT
        self.connects = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @staticmethod
    def _exact(conn, n):
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                raise OSError("closed")
            buf += chunk
        return buf

    @staticmethod
    def _varint(data, i):
        v = shift = 0
        while True:
            b = data[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v, i

    def _packet(self, conn):
        kind = self._exact(conn, 1)[0]
        n = shift = 0
        while True:
            b = self._exact(conn, 1)[0]
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        return kind, self._exact(conn, n)

    def _properties(self, body, i):
        """{id: value} of the integer properties CONNECT may carry here."""
        n, i = self._varint(body, i)
        end, props = i + n, {}
        while i < end:
            pid = body[i]
            size = {0x11: 4, 0x21: 2, 0x27: 4, 0x22: 2, 0x19: 1, 0x17: 1}[pid]
            props[pid] = int.from_bytes(body[i + 1:i + 1 + size], "big")
            i += 1 + size
        return props

    def _serve(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    kind, body = self._packet(conn)
                    if kind != 0x10:
                        continue
                    self.connects.append({"level": body[6], "clean_start": bool(body[7] & 2),
                                          "properties": self._properties(body, 10)})
                    if self.refuse:
                        code, text = self.refuse[0], self.refuse[1].encode()
                        props = bytes([0x1F]) + len(text).to_bytes(2, "big") + text
                        conn.sendall(bytes([0x20, 3 + len(props), 0, code, len(props)]) + props)
                        time.sleep(0.2)
                        continue
                    conn.sendall(bytes([0x20, 3, 0, 0, 0]))           # CONNACK: success
                    kind, body = self._packet(conn)
                    if kind != 0x82:
                        continue
                    n, i = self._varint(body, 2)
                    i += n
                    filters = 0
                    while i < len(body):
                        i += 2 + int.from_bytes(body[i:i + 2], "big") + 1
                        filters += 1
                    conn.sendall(bytes([0x90, 3 + filters]) + body[:2] + b"\0" +
                                 bytes([1] * filters))                 # SUBACK
                    time.sleep(0.3)
                    conn.sendall(bytes([0xE0, 2, self.reason, 0]))    # DISCONNECT
                    time.sleep(0.2)
                except OSError:
                    pass

    def stop(self):
        self.stopped = True
        self.thread.join(5)
        self.sock.close()


class ConnectAndDisconnectTest(IocdTestCase):
    def fake(self, keys, refuse=None):
        fake = FakeV5Broker(reason=0x8E, refuse=refuse)
        self.addCleanup(fake.stop)
        d = mqtt_keys(Iocd(self.dir, fake, AIR_ADAPTER), "protocol = 5\n" + keys)
        self._iocds.append(d)
        return fake, d.start(wait_ready=not refuse)

    def test_connect_properties_and_disconnect_reason(self):
        fake, d = self.fake("session_expiry = 2h\nreceive_maximum = 42\n")
        line = "connection to 127.0.0.1:%d lost: the broker sent DISCONNECT: Session taken over " \
               "(reason 142)\n" % fake.port
        wait_until(lambda: d.log_text().count(line) >= 2, what="two DISCONNECTs logged")
        self.assertTrue(d.alive())
        # Every CONNECT, reconnects included, asks for the session expiry.
        self.assertEqual(fake.connects[:2], [
            {"level": 5, "clean_start": False, "properties": {0x11: 7200, 0x21: 42}}] * 2)

    def test_clean_session_is_clean_start_without_expiry(self):
        fake, d = self.fake("clean_session = true\n")
        wait_until(lambda: fake.connects, what="a CONNECT")
        self.assertEqual(fake.connects[0],
                         {"level": 5, "clean_start": True, "properties": {0x21: 100}})

    def test_refusal_with_a_reason_string(self):
        # The broker's Reason String follows the reason code's name.
        fake, d = self.fake("", refuse=(0x97, "daily quota used up"))
        line = 'broker 127.0.0.1:%d refused the connection: Quota exceeded (reason 151): ' \
               '"daily quota used up"\n' % fake.port
        wait_until(lambda: d.log_text().count(line) >= 2, what="two refusals logged")
        self.assertTrue(d.alive())


if __name__ == "__main__":
    unittest.main(verbosity=2)
