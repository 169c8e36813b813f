"""systemd integration without systemd: iocd talks to $NOTIFY_SOCKET, here a
datagram socket the test owns. READY=1 comes only once every feed is
subscribed, WATCHDOG=1 keeps coming while the loop turns, STOPPING=1 at
SIGTERM."""
import os
import socket
import time
import unittest

from iocdtest import AIR_ADAPTER, IocdTestCase


class NotifyTest(IocdTestCase):
    def test_ready_watchdog_stopping(self):
        path = os.path.join(self.dir, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(10)
        self.addCleanup(sock.close)

        d = self.iocd(AIR_ADAPTER)
        d.env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"}
        d.start(wait_ready=False)

        def recv_until(word, limit=50):
            seen = []
            for _ in range(limit):
                msg = sock.recv(4096).decode()
                seen.append(msg)
                if word in msg.split("\n"):
                    return msg, seen
            raise AssertionError("no %s in %r" % (word, seen))

        ready, before = recv_until("READY=1")
        self.assertIn("STATUS=subscribed, ingesting", ready.split("\n"))
        # Ready means subscribed: the log says so before READY was sent.
        self.assertIn("subscribed to 1 topic filter(s)", d.log_text())
        self.assertEqual([m for m in before if "READY=1" in m], [ready])

        # Pinged at half the watchdog interval: about 5 in 1 s.
        t0 = time.monotonic()
        pings = 0
        while time.monotonic() - t0 < 1.0:
            if sock.recv(4096).decode() == "WATCHDOG=1":
                pings += 1
        self.assertGreaterEqual(pings, 3)
        self.assertLessEqual(pings, 7)

        d.proc.send_signal(15)
        stopping, _ = recv_until("STOPPING=1")
        self.assertIn("STATUS=stopping: writing aggregates", stopping.split("\n"))
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
