"""[mqtt] socket_buffers (daemon/mqtt/sockio.c): iocd reads the broker's
socket ahead and gathers its PUBACKs into one write. A backlog of 2000
QoS 1 messages, queued by a real mosquitto while iocd was stopped, is
drained with far fewer system calls than libmosquitto asked for, and every
message is stored exactly once, with the same exact windows as with the
buffers off (every call to the kernel, as libmosquitto alone does)."""
import unittest

from iocdtest import AIR_ADAPTER, IocdTestCase, air
from test_metrics import samples

T0 = "2026-12-01T%02d:%02d:%02dZ"
N = 2000


def payloads():
    # One station, a sample every 2 s from 00:00:00: 2000 distinct times.
    return [air("pk-sb", T0 % (i * 2 // 3600, i * 2 // 60 % 60, i * 2 % 60), 0.25 * i)
            for i in range(N)]


class SocketBuffersTest(IocdTestCase):
    def drain_backlog(self, on):
        name = "sb-" + ("on" if on else "off")
        d = self.iocd(AIR_ADAPTER, name=name, client_id="iocd-" + name,
                      db="%s/%s.db" % (self.dir, name))
        if not on:
            with open(d.conf) as f:
                text = f.read()
            with open(d.conf, "w") as f:
                f.write(text.replace("[mqtt]\n", "[mqtt]\nsocket_buffers = false\n", 1))
        d.start()
        d.stop()  # the broker keeps the session and queues for it
        self.broker.publish("pleiku/air/pk-sb/data", payloads(), qos=1)
        d.restart()
        d.wait_messages("air", N, timeout=60)
        m = samples(d.http("/metrics")[2].decode())
        rows = d.query("air/pk-sb/pm25", "--resolution", "1h", "--from", "2026-12-01T00:00:00Z",
                       "--to", "2026-12-02T00:00:00Z")
        d.stop()
        return m, [(r["start"], r["count"], r["sum"], r["min"], r["max"]) for r in rows]

    def test_backlog_fewer_system_calls_same_windows(self):
        m_on, rows_on = self.drain_backlog(True)
        m_off, rows_off = self.drain_backlog(False)
        # 2000 samples, every 2 s from 00:00: 1800 in the first hour, 200
        # in the second; the sums of 0.25 * i are exact in binary.
        want = [("2026-12-01T00:00:00Z", 1800, 0.25 * sum(range(1800)), 0.0, 449.75),
                ("2026-12-01T01:00:00Z", 200, 0.25 * sum(range(1800, 2000)), 450.0, 499.75)]
        self.assertEqual(rows_on, want)
        self.assertEqual(rows_off, want)
        self.assertEqual(m_on['iocd_messages_total{adapter="air"}'], N)
        self.assertEqual(m_on.get('iocd_rejects_total{adapter="air",reason="duplicate"}', 0), 0)
        self.assertEqual(m_on['iocd_messages_accepted_total{adapter="air"}'], N)
        reads, reads_k = (m_on['iocd_broker_socket_reads_total{by="%s"}' % b]
                          for b in ("libmosquitto", "kernel"))
        writes, writes_k = (m_on['iocd_broker_socket_writes_total{by="%s"}' % b]
                            for b in ("libmosquitto", "kernel"))
        print("reads %d (kernel %d), writes %d (kernel %d)" % (reads, reads_k, writes, writes_k))
        # libmosquitto reads a PUBLISH in three or four calls and writes a
        # PUBACK (and a republished batch) per message; at most a tenth reach
        # the kernel (measured: about 1 in 300 reads and 1 in 200 writes).
        self.assertGreaterEqual(reads, 3 * N)
        self.assertGreaterEqual(writes, N)
        self.assertLessEqual(10 * reads_k, reads)
        self.assertLessEqual(10 * writes_k, writes)
        # libmosquitto's wake-up byte for each PUBACK and each republished
        # batch, written nowhere.
        self.assertGreaterEqual(m_on["iocd_broker_wakeups_skipped_total"], 2 * N)
        # Off: nothing is counted, every call went to the kernel.
        for op in ("reads", "writes"):
            for by in ("libmosquitto", "kernel"):
                self.assertEqual(m_off['iocd_broker_socket_%s_total{by="%s"}' % (op, by)], 0)
        self.assertEqual(m_off["iocd_broker_wakeups_skipped_total"], 0)


if __name__ == "__main__":
    unittest.main()
