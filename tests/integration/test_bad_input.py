"""Bad input is rejected with a counted reason and a log line naming the
topic; iocd stays up and the good messages around it are stored exactly."""
import json
import random
import unittest

from iocdtest import AIR_ADAPTER, IocdTestCase, air

T = "pleiku/air/GL-AQ01/data"


class BadInputTest(IocdTestCase):
    def test_bad_input_rejected_counted_and_survived(self):
        d = self.iocd(AIR_ADAPTER).start()
        rnd = random.Random(42)
        garbage = bytes(rnd.randrange(256) for _ in range(4096))
        huge = json.dumps({"station": "GL-AQ01", "ts": "2026-11-20T10:00:10Z", "pm25": 1.0,
                           "pad": "x" * (1 << 20)})
        cases = [
            (air("GL-AQ01", "2026-11-20T10:00:00Z", 1.0), None),
            ('{"station": "GL-AQ01", "pm25": ', "malformed"),
            ('{"station":"GL-AQ01","ts":"2026-11-20T10:00:01Z","pm25":"12"}', "wrong_type"),
            ('{"station":"GL-AQ01","ts":"2026-11-20T10:00:02Z","pm25":true}', "wrong_type"),
            ('{"station":7.5,"ts":"2026-11-20T10:00:02Z","pm25":1}', "wrong_type"),
            ('{"ts":"2026-11-20T10:00:03Z","pm25":3}', "missing_field"),
            ('{"station":"GL-AQ01","ts":"2026-11-20T10:00:04Z"}', "missing_field"),
            ('{"station":"GL-AQ01","pm25":3}', "missing_field"),
            ('{"station":"GL-AQ01","ts":"yesterday","pm25":3}', "bad_time"),
            ('{"station":"GL-AQ01","ts":"2026-02-30T10:00:00Z","pm25":3}', "bad_time"),
            (huge, "too_large"),
            (garbage, "malformed"),
            ('{"station":"GL-AQ01","ts":"2026-11-20T10:00:05Z","pm25":NaN}', "malformed"),
            ('{"station":"GL-AQ01","ts":"2026-11-20T10:00:05Z","pm25":1e999}', "not_finite"),
            ('{"station":"GL-AQ01","ts":"2099-01-01T00:00:00Z","pm25":3}', "future_time"),
            ('{"station":"GL/AQ01","ts":"2026-11-20T10:00:06Z","pm25":3}', "bad_id"),
            ('"just a string"', "malformed"),
            ("", "malformed"),
            (b"\xff\xfe{\x00}", "malformed"),
            (air("GL-AQ01", "2026-11-20T10:00:30Z", 3.0), None),
        ]
        for payload, _ in cases:
            self.broker.publish(T, [payload])
        d.wait_messages("air", len(cases))
        self.assertTrue(d.alive(), d.log_text())

        expected = {}
        for _, reason in cases:
            if reason:
                expected[reason] = expected.get(reason, 0) + 1
        st = d.status()
        self.assertEqual(st["adapters"]["air"]["messages"], len(cases))
        self.assertEqual(st["adapters"]["air"]["accepted"], 2)
        self.assertEqual(st["adapters"]["air"]["observations"], 2)
        self.assertEqual(st["adapters"]["air"]["rejects"], expected)

        # The good messages around the bad ones are stored exactly.
        self.assertEqual(d.series(), ["air/GL-AQ01/pm25"])
        w = d.query("air/GL-AQ01/pm25", "--resolution", "1m")
        self.assertEqual([(x["start"], x["count"], x["sum"], x["min"], x["max"]) for x in w],
                         [("2026-11-20T10:00:00Z", 2, 4.0, 1.0, 3.0)])

        # Each reason was logged, naming the topic.
        log = d.log_text()
        for reason in expected:
            self.assertIn("rejected message on '%s': %s" % (T, reason), log)

        # Still healthy: a later good message is stored too.
        self.broker.publish(T, [air("GL-AQ01", "2026-11-20T10:00:40Z", 5.0)])
        d.wait_messages("air", len(cases) + 1)
        w = d.query("air/GL-AQ01/pm25", "--resolution", "1m")
        self.assertEqual((w[0]["count"], w[0]["sum"]), (3, 9.0))
        self.assertEqual(d.stop(), 0)

    def test_log_is_rate_limited(self):
        d = self.iocd(AIR_ADAPTER, extra="").start()
        d.stop()
        d = self.iocd(AIR_ADAPTER, name="limited",
                      extra="[log]\nrate_limit_burst = 3\nrate_limit_interval = 1h\n")
        # The generated [log] section already sets a burst: use a fresh file.
        with open(d.conf) as f:
            text = f.read().replace("[log]\nlevel = info\nrate_limit_burst = 1000\n\n", "")
        with open(d.conf, "w") as f:
            f.write(text)
        d.start()
        self.broker.publish(T, ["not json %d" % i for i in range(50)])
        d.wait_messages("air", 50)
        self.assertEqual(d.counter("air", "reject.malformed"), 50)
        self.assertEqual(d.log_text().count("rejected message on"), 3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
