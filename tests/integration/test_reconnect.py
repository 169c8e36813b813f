"""The broker being away never stops iocd: it waits for a broker that is not
up yet, and after a broker restart that lost every session it reconnects
and subscribes again (a client that only reconnects silently receives
nothing)."""
import time
import unittest

from iocdtest import AIR_ADAPTER, Broker, IocdTestCase, air, wait_until

T = "pleiku/air/GL-AQ01/data"


class ReconnectTest(IocdTestCase):
    def test_waits_for_broker_and_resubscribes_after_restart(self):
        port = self.broker.port
        self.broker.stop()
        d = self.iocd(AIR_ADAPTER)
        d.start(wait_ready=False)
        time.sleep(1.5)                       # several refused attempts
        self.assertTrue(d.alive(), d.log_text())
        self.assertNotIn("subscribed to", d.log_text())

        self.broker = Broker(self.dir, port=port).start()
        wait_until(lambda: d.log_text().count("subscribed to") == 1, what="first subscribe")
        self.broker.publish(T, [air("GL-AQ01", "2026-11-20T10:00:00Z", 1.5)])
        d.wait_messages("air", 1)

        # Restart the broker; it has no persistence, so iocd's session and
        # subscriptions are gone with it.
        self.broker.stop()
        time.sleep(0.5)
        self.assertTrue(d.alive(), d.log_text())
        self.broker = Broker(self.dir, port=port).start()
        wait_until(lambda: d.log_text().count("subscribed to") == 2, what="resubscribe")
        self.assertIn("connection to 127.0.0.1:%d lost" % port, d.log_text())
        self.broker.publish(T, [air("GL-AQ01", "2026-11-20T10:00:30Z", 2.5)])
        d.wait_messages("air", 2)
        w = d.query("air/GL-AQ01/pm25", "--resolution", "1m")
        self.assertEqual([(x["count"], x["sum"]) for x in w], [(2, 4.0)])
        self.assertEqual(d.stop(), 0)

    def test_stop_while_broker_is_away(self):
        port = self.broker.port
        d = self.iocd(AIR_ADAPTER).start()
        self.broker.publish(T, [air("GL-AQ01", "2026-11-20T10:00:00Z", 1.5)])
        d.wait_messages("air", 1)
        self.broker.stop()
        time.sleep(0.3)
        # SIGTERM with no broker: still exits 0 promptly, data written.
        t0 = time.monotonic()
        self.assertEqual(d.stop(), 0)
        self.assertLess(time.monotonic() - t0, 10)
        self.broker = Broker(self.dir, port=port)  # for tearDown


if __name__ == "__main__":
    unittest.main(verbosity=2)
