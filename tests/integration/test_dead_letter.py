"""An optional dead-letter topic receives each rejected message's topic,
payload and reason, so integrators can see what a feed gets wrong; iocd
never consumes its own output."""
import base64
import json
import os
import subprocess
import time
import unittest

from iocdtest import AIR_ADAPTER, IOCD, IocdTestCase, air

T = "pleiku/air/GL-AQ01/data"


class DeadLetterTest(IocdTestCase):
    def test_rejected_messages_are_published_with_reason(self):
        d = self.iocd(AIR_ADAPTER, extra="[ingest]\ndead_letter_topic = iocd/dead-letter\n").start()
        sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.broker.port),
                                "-q", "1", "-t", "iocd/dead-letter/#", "-v", "-C", "3"],
                               stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: sub.poll() is None and (sub.kill(), sub.wait()))
        time.sleep(0.5)
        bad_type = '{"station":"GL-AQ01","ts":"2026-11-20T10:00:01Z","pm25":"12"}'
        future = '{"station":"GL-AQ01","ts":"2099-01-01T00:00:00Z","pm25":3}'
        self.broker.publish(T, [air("GL-AQ01", "2026-11-20T10:00:00Z", 1.0), "not json",
                                bad_type, future])
        out, _ = sub.communicate(timeout=20)
        got = []
        for line in out.splitlines():
            topic, payload = line.split(" ", 1)
            j = json.loads(payload)
            got.append((topic, j["topic"], j["adapter"], j["reason"], j["payload_bytes"],
                        j["truncated"], base64.b64decode(j["payload_base64"]).decode()))
            self.assertTrue(j["received"].endswith("Z"))
        self.assertEqual(got, [
            ("iocd/dead-letter/air", T, "air", "malformed", 8, False, "not json"),
            ("iocd/dead-letter/air", T, "air", "wrong_type", len(bad_type), False, bad_type),
            ("iocd/dead-letter/air", T, "air", "future_time", len(future), False, future),
        ])
        d.wait_messages("air", 4)
        st = d.status()
        self.assertEqual(st["iocd"].get("dead_letters"), 3)
        self.assertEqual(st["adapters"]["air"]["accepted"], 1)
        self.assertEqual(d.stop(), 0)

    def test_dead_letter_topic_an_adapter_would_consume_is_refused(self):
        path = os.path.join(self.dir, "loop.conf")
        with open(path, "w") as f:
            f.write("[ingest]\ndead_letter_topic = pleiku/dead\n" +
                    AIR_ADAPTER.replace("pleiku/air/+/data", "pleiku/#"))
        r = subprocess.run([IOCD, "--check-config", "-c", path], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual((r.returncode, r.stderr),
                         (1, "iocd: %s: [ingest] dead_letter_topic 'pleiku/dead' would be "
                             "consumed by [adapter air] (topic pleiku/#): iocd never "
                             "takes its own output\n" % path))


if __name__ == "__main__":
    unittest.main(verbosity=2)
