"""spb_edge — a Sparkplug B edge node for the integration tests.

A tiny protobuf encoder for proto/sparkplug_b/sparkplug_b.proto payloads
(what a real edge node sends), a decoder of what iocd sends back (its NCMD
Rebirth requests), a mosquitto_sub that also reports the QoS of each
message, and EdgeNode: one edge node with devices that publishes NBIRTH,
DBIRTH, DATA and DEATH through mosquitto_pub (QoS 1, in order), keeps its
seq and bdSeq as the specification says, listens on its NCMD topic and
answers a Rebirth request with its BIRTH sequence.
"""
import os
import struct
import subprocess
import threading

from iocdtest import DEFAULT_TIMEOUT, pb_decode, wait_until

# --- the encoder ---------------------------------------------------------------

DT_UINT16, DT_UINT64, DT_FLOAT, DT_DOUBLE, DT_BOOLEAN, DT_STRING = 6, 8, 9, 10, 11, 12


def pb_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_key(field, wire):
    return pb_varint(field << 3 | wire)


def pb_uint(field, n):
    return pb_key(field, 0) + pb_varint(n)


def pb_bytes(field, data):
    data = data.encode() if isinstance(data, str) else data
    return pb_key(field, 2) + pb_varint(len(data)) + data


def pb_float(field, x):
    return pb_key(field, 5) + struct.pack("<f", x)


def pb_double(field, x):
    return pb_key(field, 1) + struct.pack("<d", x)


def sp_metric(name=None, alias=None, ts=None, datatype=None, eng_unit=None, int_value=None,
              long_value=None, float_value=None, double_value=None, bool_value=None,
              string_value=None):
    """Metric{name=1, alias=2, timestamp=3, datatype=4, properties=9, int_value=10,
    long_value=11, float_value=12, double_value=13, boolean_value=14, string_value=15}."""
    m = b""
    if name is not None:
        m += pb_bytes(1, name)
    if alias is not None:
        m += pb_uint(2, alias)
    if ts is not None:
        m += pb_uint(3, ts)
    if datatype is not None:
        m += pb_uint(4, datatype)
    if eng_unit is not None:
        # PropertySet{keys=1, values=2}; PropertyValue{type=1, string_value=8}
        pv = pb_uint(1, DT_STRING) + pb_bytes(8, eng_unit)
        m += pb_bytes(9, pb_bytes(1, "engUnit") + pb_bytes(2, pv))
    if int_value is not None:
        m += pb_uint(10, int_value)
    if long_value is not None:
        m += pb_uint(11, long_value)
    if float_value is not None:
        m += pb_float(12, float_value)
    if double_value is not None:
        m += pb_double(13, double_value)
    if bool_value is not None:
        m += pb_uint(14, 1 if bool_value else 0)
    if string_value is not None:
        m += pb_bytes(15, string_value)
    return m


def sp_payload(ts, seq, metrics):
    """Payload{timestamp=1, metrics=2, seq=3}; seq None: no seq (NDEATH)."""
    out = (pb_uint(1, ts) if ts is not None else b"") + b"".join(pb_bytes(2, m) for m in metrics)
    return out + (pb_uint(3, seq) if seq is not None else b"")


def decode_ncmd(buf):
    """An NCMD payload as {field: [values]}, its metrics decoded the same way."""
    p = pb_decode(buf)
    p[2] = [pb_decode(m) for m in p.get(2, [])]
    return p


def is_rebirth(ncmd):
    return any(m.get(1) == [b"Node Control/Rebirth"] and m.get(14) == [1] for m in ncmd.get(2, []))


# --- a subscriber that reports the QoS too --------------------------------------

class QosSubscriber:
    """mosquitto_sub (QoS 1) on `topics`, collecting (topic, payload, retained, qos):
    a message delivered at QoS 0 was published at QoS 0. Returns once it is
    subscribed (a probe on a topic of its own, which no iocd filter matches,
    has come back), so nothing published afterwards is missed. Stopped by its
    PID."""

    def __init__(self, broker, *topics):
        self.broker = broker
        self.probe = "spb-edge-probe/%d/%d" % (os.getpid(), id(self))
        cmd = ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1",
               "-F", "%t\t%r\t%q\t%x", "-t", self.probe]
        for t in topics:
            cmd += ["-t", t]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.messages = []
        self._probed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        wait_until(self._probe_back, timeout=10, interval=0.1, what="mosquitto_sub to subscribe")

    def _probe_back(self):
        with self._lock:
            if self._probed:
                return True
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                        "-t", self.probe, "-m", "probe"], check=True, timeout=30)
        return False

    def _read(self):
        for line in self.proc.stdout:
            topic, retained, qos, hexp = line.decode().rstrip("\n").split("\t")
            with self._lock:
                if topic == self.probe:
                    self._probed = True
                    continue
                self.messages.append((topic, bytes.fromhex(hexp), retained == "1", int(qos)))

    def snapshot(self):
        with self._lock:
            return list(self.messages)

    def wait(self, n, timeout=DEFAULT_TIMEOUT, what="messages"):
        return wait_until(lambda: len(self.snapshot()) >= n and self.snapshot(), timeout=timeout,
                          what="%d %s (have %d)" % (n, what, len(self.snapshot())))

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


def retained(broker, topic, timeout=10):
    """The retained message on `topic` as a new subscriber gets it: (payload, retained)."""
    r = subprocess.run(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic,
                        "-C", "1", "-W", str(timeout), "-F", "%r\t%x"],
                       capture_output=True, text=True, timeout=timeout + 10)
    if r.returncode != 0 or not r.stdout:
        return None
    flag, hexp = r.stdout.rstrip("\n").split("\t")
    return bytes.fromhex(hexp), flag == "1"


# --- the edge node ---------------------------------------------------------------

class EdgeNode:
    """Edge node GROUP/EDGE with devices, its metrics defined with aliases in
    its BIRTHs: node alias 1 "Supply Voltage" (Float, V); every device alias
    10 "Inputs/Pressure" (Float, bar) and 11 "Level" (UInt16). DATA is
    alias-only, as a real node sends it after its BIRTH."""

    def __init__(self, broker, workdir, group="Pleiku", edge="PS-01", devices=("Pump-1",),
                 bdseq=0):
        self.broker, self.workdir = broker, workdir
        self.group, self.edge, self.devices = group, edge, list(devices)
        self.bdseq = bdseq
        self.seq = 0
        self.answered = 0
        self.ncmd = QosSubscriber(broker, self.topic("NCMD"))

    def close(self):
        self.ncmd.stop()

    def topic(self, kind, device=None):
        t = "spBv1.0/%s/%s/%s" % (self.group, kind, self.edge)
        return t + "/" + device if device else t

    def publish(self, topic, payload):
        """One mosquitto_pub -f, QoS 1 (binary-safe, in order)."""
        path = os.path.join(self.workdir, "edge.bin")
        with open(path, "wb") as f:
            f.write(payload)
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                        "-q", "1", "-t", topic, "-f", path], check=True, timeout=60)

    def next_seq(self):
        s = self.seq
        self.seq = (self.seq + 1) % 256
        return s

    def nbirth(self, ts, voltage=12.5):
        self.seq = 0
        self.publish(self.topic("NBIRTH"), sp_payload(ts, self.next_seq(), [
            sp_metric("bdSeq", None, ts, DT_UINT64, long_value=self.bdseq),
            sp_metric("Node Control/Rebirth", None, ts, DT_BOOLEAN, bool_value=False),
            sp_metric("Supply Voltage", 1, ts, DT_FLOAT, "V", float_value=voltage)]))

    def dbirth(self, device, ts, pressure=2.25, level=300):
        self.publish(self.topic("DBIRTH", device), sp_payload(ts, self.next_seq(), [
            sp_metric("Inputs/Pressure", 10, ts, DT_FLOAT, "bar", float_value=pressure),
            sp_metric("Level", 11, ts, DT_UINT16, int_value=level)]))

    def births(self, ts):
        """NBIRTH, then a DBIRTH per device (100 ms apart in payload time)."""
        self.nbirth(ts)
        for i, d in enumerate(self.devices):
            self.dbirth(d, ts + 100 * (i + 1))

    def ddata(self, device, ts, pressure, level, seq=None):
        """Alias-only DDATA; `seq` forces a sequence number (a gap)."""
        if seq is not None:
            self.seq = seq
        self.publish(self.topic("DDATA", device), sp_payload(ts, self.next_seq(), [
            sp_metric(alias=10, float_value=pressure), sp_metric(alias=11, int_value=level)]))

    def ddeath(self, device, ts):
        self.publish(self.topic("DDEATH", device), sp_payload(ts, self.next_seq(), []))

    def ndeath(self, bdseq=None):
        """The death certificate as the will carries it: bdSeq, no seq, no time."""
        self.publish(self.topic("NDEATH"), sp_payload(None, None, [
            sp_metric("bdSeq", None, None, DT_UINT64,
                      long_value=self.bdseq if bdseq is None else bdseq)]))

    def requests(self):
        """The NCMDs received so far: [(decoded payload, raw, retained, qos)]."""
        return [(decode_ncmd(p), p, r, q) for _, p, r, q in self.ncmd.snapshot()]

    def answer(self, ts):
        """Answer every Rebirth request not answered yet with the BIRTH
        sequence (same bdSeq: the MQTT session is the same); how many."""
        reqs = [r for r in self.requests() if is_rebirth(r[0])]
        n = len(reqs) - self.answered
        for _ in range(n):
            self.births(ts)
        self.answered = len(reqs)
        return n
