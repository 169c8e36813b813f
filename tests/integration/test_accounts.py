"""Named operator accounts (docs/api.md "Accounts and roles"): the users
file iocctl writes (a token printed once, only its salted hash stored,
0600), a bad line refused with file and line (start, --check-config,
reload), the role check on every POST endpoint (no or wrong token 401, a
viewer 403, and then nothing changed; an operator 200 with its name as
the actor), the shared [http] token as the account admin, the console's
login session (cookie attributes exact) for the API and the live stream,
logout, and a reload that adds and removes accounts."""
import http.client
import json
import os
import re
import signal
import stat
import subprocess
import unittest

from iocdtest import AIR_ADAPTER, IOCCTL, IOCD, IocdTestCase, air, free_port, wait_until
from test_http_api import SSE

T0 = 1795330800000  # 2026-11-22T07:00:00Z
RULE = ("[alert pm25_high]\ntype = threshold\nmatch = air/+/pm25\nabove = 55\nclear = 50\n"
        "severity = major\ntext = PM2.5 above 55\n")
ID = "pm25_high/air/pk-01/pm25"
SHARED = "s3cret-shared"
COOKIE_RE = r"iocd_session=[0-9a-f]{64}; HttpOnly; SameSite=Strict; Path=/"


def request(port, method, path, body=None, token=None, cookie=None, ctype="application/json"):
    """(status, headers {lowercase: value}, parsed JSON body or raw bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {}
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = ctype
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    if cookie:
        headers["Cookie"] = cookie
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    raw = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    try:
        return r.status, hdrs, json.loads(raw)
    except ValueError:
        return r.status, hdrs, raw


class AccountsTest(IocdTestCase):
    def add_user(self, users, name, role, check=True):
        r = subprocess.run([IOCCTL, "users", "add", name, "--role", role, "--file", users],
                           capture_output=True, text=True, timeout=30)
        if check:
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"^[0-9a-f]{64}\n$")
        return r.stdout.strip() if r.returncode == 0 else r

    def start(self, users_lines=None, token=SHARED, extra=""):
        """iocd with [http] users_file = users (relative to the config) and
        the shared token; returns (iocd, users file path)."""
        port = free_port()
        users = os.path.join(self.dir, "users")
        if users_lines is not None:
            with open(users, "w") as f:
                f.write(users_lines)
            os.chmod(users, 0o600)
        d = self.iocd(AIR_ADAPTER + RULE, extra="[http]\nlisten = 127.0.0.1:%d\nusers_file = users\n"
                      "%s%s\n" % (port, "token = %s\n" % token if token else "", extra))
        d.http_port = port
        return d, users

    @staticmethod
    def key_line(d):
        with open(d.conf) as f:
            return [n for n, line in enumerate(f, 1) if line.startswith("users_file =")][0]

    def state(self, d):
        """Everything a POST could change, exactly."""
        alerts = request(d.http_port, "GET", "/api/v1/alerts?from=2026-11-22T00:00:00Z",
                         token=SHARED)[2]
        silences = request(d.http_port, "GET", "/api/v1/silences", token=SHARED)[2]
        return json.dumps(alerts, sort_keys=True), json.dumps(silences, sort_keys=True)

    def test_iocctl_users_add_list_remove(self):
        d, users = self.start()
        conf = d.conf
        r = subprocess.run([IOCCTL, "--config", conf, "users", "add", "lan", "--role", "operator"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^[0-9a-f]{64}\n$")
        token = r.stdout.strip()
        self.assertIn("added lan (operator) to %s" % users, r.stderr)
        self.assertIn("shown only this once", r.stderr)
        self.assertIn("systemctl reload iocd", r.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(users).st_mode), 0o600)
        viewer = self.add_user(users, "minh", "viewer")
        with open(users) as f:
            text = f.read()
        self.assertNotIn(token, text)
        self.assertNotIn(viewer, text)
        lines = text.splitlines()
        self.assertEqual(len(lines), 2)
        self.assertRegex(lines[0], r"^lan:operator:sha256:[0-9a-f]{32}:[0-9a-f]{64}$")
        self.assertRegex(lines[1], r"^minh:viewer:sha256:[0-9a-f]{32}:[0-9a-f]{64}$")
        # A duplicate name is refused, the file unchanged.
        r = self.add_user(users, "lan", "admin", check=False)
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (1, "", "iocctl: %s already has an account 'lan' (users remove it "
                                 "first)\n" % users))
        r = self.add_user(users, "bad:name", "admin", check=False)
        self.assertEqual(r.returncode, 2)
        r = subprocess.run([IOCCTL, "users", "add", "x", "--role", "boss", "--file", users],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stderr.split("\n")[0]),
                         (2, "iocctl: --role: 'boss' is not viewer, operator or admin"))
        with open(users) as f:
            self.assertEqual(f.read(), text)
        # list: names and roles, never hashes.
        r = subprocess.run([IOCCTL, "--config", conf, "users", "list"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout),
                         (0, "lan                      operator\nminh                     viewer\n"))
        r = subprocess.run([IOCCTL, "users", "list", "--json", "--file", users],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual([json.loads(x) for x in r.stdout.splitlines()],
                         [{"name": "lan", "role": "operator"}, {"name": "minh", "role": "viewer"}])
        # remove, then an unknown name.
        r = subprocess.run([IOCCTL, "users", "remove", "lan", "--file", users],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(users) as f:
            self.assertEqual(f.read(), lines[1] + "\n")
        self.assertEqual(stat.S_IMODE(os.stat(users).st_mode), 0o600)
        r = subprocess.run([IOCCTL, "users", "remove", "lan", "--file", users],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stderr),
                         (1, "iocctl: %s has no account 'lan'\n" % users))
        # The token the running iocd accepts is the one printed.
        d.start()
        st, _, who = request(d.http_port, "GET", "/api/v1/whoami", token=viewer)
        self.assertEqual((st, who), (200, {"name": "minh", "role": "viewer", "via": "token",
                                           "accounts": True}))

    def test_bad_users_file_refused_with_file_and_line(self):
        good = "# accounts\n\nlan:operator:sha256:%s:%s\n" % ("ab" * 16, "cd" * 32)
        cases = [
            ("minh:boss:sha256:%s:%s\n" % ("ab" * 16, "cd" * 32),
             "bad ROLE: viewer, operator or admin"),
            ("lan:viewer:sha256:%s:%s\n" % ("ab" * 16, "cd" * 32),
             "account 'lan' is already on line 3"),
            ("minh:viewer:sha256:%s:%s\n" % ("ab" * 16, "tokenNotHash"),
             "bad HASH_HEX: 64 hex digits (the file holds hashes, never tokens)"),
            ("minh:viewer\n", "expected NAME:ROLE:sha256:SALT_HEX:HASH_HEX"),
        ]
        d, users = self.start(users_lines=good)
        for bad, why in cases:
            with self.subTest(why=why):
                with open(users, "w") as f:
                    f.write(good + bad)
                want = "%s:%d: [http] users_file: %s:4: %s" % (d.conf, self.key_line(d), users,
                                                                  why)
                r = subprocess.run([IOCD, "--config", d.conf, "--check-config"],
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual((r.returncode, r.stderr), (1, "iocd: %s\n" % want))
                r = subprocess.run([IOCD, "--config", d.conf], capture_output=True, text=True,
                                   timeout=30)
                self.assertEqual((r.returncode, r.stderr.strip().splitlines()[-1]),
                                 (1, "iocd: %s" % want))
        os.remove(users)
        r = subprocess.run([IOCD, "--config", d.conf, "--check-config"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual((r.returncode, r.stderr),
                         (1, "iocd: %s:%d: [http] users_file: %s: cannot read: No such file or "
                             "directory\n" % (d.conf, self.key_line(d), users)))

    def test_role_check_on_every_post_endpoint(self):
        d, users = self.start(users_lines="")
        op = self.add_user(users, "lan", "operator")
        viewer = self.add_user(users, "minh", "viewer")
        d.start()
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", T0 // 1000, 60)])
        wait_until(lambda: request(d.http_port, "GET", "/api/v1/alerts", token=viewer)[2]
                   .get("active"), what="the raise")
        # A silence to lift, made by the operator.
        st, _, made = request(d.http_port, "POST", "/api/v1/silences",
                              {"device": "pk-09", "duration": "2h", "reason": "bảo trì"}, token=op)
        self.assertEqual((st, made["silence"]["by"]), (200, "lan"))
        sid = made["silence"]["id"]
        st, _, vcookie = self.login(d, viewer)
        posts = [("/api/v1/alerts/ack", {"id": ID, "note": "đang kiểm tra"}),
                 ("/api/v1/alerts/assign", {"id": ID, "to": "hoa", "note": "ca đêm"}),
                 ("/api/v1/silences", {"rule": "pm25_high", "duration": "1h", "reason": "thử"}),
                 ("/api/v1/silences/lift", {"id": sid}),
                 ("/api/v1/alerts/resolve", {"id": ID, "note": "đã xử lý"})]
        before = self.state(d)
        for path, body in posts:
            with self.subTest(path=path):
                for kw, want in [({}, 401), ({"token": "wrong"}, 401), ({"token": ""}, 401),
                                 ({"token": viewer}, 403), ({"cookie": vcookie}, 403),
                                 ({"cookie": "iocd_session=" + "0" * 64}, 401)]:
                    st, hdrs, ans = request(d.http_port, "POST", path, body, **kw)
                    self.assertEqual(st, want, (kw, ans))
                    if want == 403:
                        self.assertEqual(ans["error"], "forbidden: minh is a viewer; this needs "
                                                       "an operator or admin")
                    else:
                        self.assertEqual(hdrs["www-authenticate"], 'Bearer realm="iocd"')
                    self.assertEqual(self.state(d), before, "%s %s changed something" % (path, kw))
        # A form post (what a page elsewhere could send without a CORS
        # preflight) is refused even for an operator.
        st, _, _ = request(d.http_port, "POST", "/api/v1/alerts/ack", b"id=" + ID.encode(),
                           token=op, ctype="application/x-www-form-urlencoded")
        self.assertEqual(st, 415)
        self.assertEqual(self.state(d), before)
        # The operator does each; its name is the actor.
        results = []
        for path, body in posts:
            st, _, ans = request(d.http_port, "POST", path, body, token=op)
            self.assertEqual(st, 200, (path, ans))
            results.append(ans)
        self.assertEqual([results[0]["actor"], results[1]["actor"], results[2]["silence"]["by"],
                          results[3]["lifted_by"], results[4]["actor"]], ["lan"] * 5)

        def history():
            return request(d.http_port, "GET", "/api/v1/alerts?from=2026-11-22T00:00:00Z",
                           token=viewer)[2]["history"]
        wait_until(lambda: history() and history()[0]["cleared"] is not None,
                   what="the resolve stored")
        self.assertEqual([(x["action"], x.get("actor"), x.get("note"))
                          for x in history()[0]["transitions"]],
                         [("raised", None, None), ("acknowledged", "lan", "đang kiểm tra"),
                          ("assigned", "lan", "ca đêm"), ("resolved", "lan", "đã xử lý")])
        # Viewers read everything, the metrics too.
        for path in ("/api/v1/status", "/api/v1/alerts", "/api/v1/silences", "/api/v1/events",
                     "/metrics", "/api/v1/meta"):
            self.assertEqual(request(d.http_port, "GET", path, token=viewer)[0], 200, path)
            self.assertEqual(request(d.http_port, "GET", path)[0], 401, path)
        metrics = request(d.http_port, "GET", "/metrics", token=viewer)[2].decode()
        self.assertIn("iocd_http_forbidden_total 10\n", metrics)

    def test_shared_token_is_admin(self):
        d, users = self.start(users_lines="")
        d.start()
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", T0 // 1000, 60)])
        wait_until(lambda: request(d.http_port, "GET", "/api/v1/alerts", token=SHARED)[2]
                   .get("active"), what="the raise")
        st, _, who = request(d.http_port, "GET", "/api/v1/whoami", token=SHARED)
        self.assertEqual((st, who), (200, {"name": "admin", "role": "admin", "via": "token",
                                           "accounts": True}))
        st, _, ans = request(d.http_port, "POST", "/api/v1/alerts/ack", {"id": ID}, token=SHARED)
        self.assertEqual((st, ans["actor"], ans["alert"]["acknowledged_by"]), (200, "admin", "admin"))
        # iocctl with --config sends the shared token.
        r = subprocess.run([IOCCTL, "--config", d.conf, "alerts", "resolve", ID],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout), (0, "%s resolved by admin\n" % ID))

    def login(self, d, token):
        st, hdrs, ans = request(d.http_port, "POST", "/api/v1/login", {"token": token})
        cookie = hdrs.get("set-cookie", "")
        return st, ans, cookie.split(";")[0]

    def test_login_whoami_live_logout(self):
        d, users = self.start(users_lines="")
        op = self.add_user(users, "lan", "operator")
        d.start()
        # Refused: a wrong token, no token, a form body.
        st, hdrs, ans = request(d.http_port, "POST", "/api/v1/login", {"token": "nope"})
        self.assertEqual((st, ans, "set-cookie" in hdrs), (401, {"error": "unknown token"}, False))
        st, _, ans = request(d.http_port, "POST", "/api/v1/login", {})
        self.assertEqual((st, ans), (400, {"error": "token: the account's token is required"}))
        st, _, _ = request(d.http_port, "POST", "/api/v1/login", b"token=" + op.encode(),
                           ctype="application/x-www-form-urlencoded")
        self.assertEqual(st, 415)
        self.assertEqual(request(d.http_port, "GET", "/api/v1/login")[0], 405)
        self.assertIn("login refused from 127.0.0.1: no account has this token", d.log_text())
        # The right token: a session cookie, exactly these attributes.
        st, hdrs, ans = request(d.http_port, "POST", "/api/v1/login", {"token": op})
        self.assertEqual((st, ans), (200, {"name": "lan", "role": "operator"}))
        self.assertRegex(hdrs["set-cookie"], "^" + COOKIE_RE + "$")
        self.assertEqual(hdrs["cache-control"], "no-store")
        cookie = hdrs["set-cookie"].split(";")[0]
        st, _, who = request(d.http_port, "GET", "/api/v1/whoami", cookie=cookie)
        self.assertEqual((st, who), (200, {"name": "lan", "role": "operator", "via": "session",
                                           "accounts": True}))
        self.assertEqual(request(d.http_port, "GET", "/api/v1/whoami")[0], 401)
        # The live stream takes the cookie (a browser's EventSource sends it).
        s = SSE(d.http_port, "?types=alert", headers="Cookie: %s\r\n" % cookie)
        self.addCleanup(s.close)
        self.assertTrue(s.head.startswith(b"HTTP/1.0 200") or s.head.startswith(b"HTTP/1.1 200"),
                        s.head)
        self.assertIn(b"text/event-stream", s.head)
        self.broker.publish("pleiku/air/pk-01/data", [air("pk-01", T0 // 1000, 60)])
        s.read_until(lambda: len(s.events()) == 1, what="the raise over the cookie's stream")
        # ... and no stream without it.
        no = SSE(d.http_port, "?types=alert")
        self.addCleanup(no.close)
        self.assertIn(b" 401 ", no.head.split(b"\r\n")[0] + b" ")
        # An action with the session: the account is the actor.
        st, _, ans = request(d.http_port, "POST", "/api/v1/alerts/ack", {"id": ID, "note": "ok"},
                             cookie=cookie)
        self.assertEqual((st, ans["actor"]), (200, "lan"))
        # Logout: the cookie is cleared and the session ends.
        st, hdrs, ans = request(d.http_port, "POST", "/api/v1/logout", {}, cookie=cookie)
        self.assertEqual((st, ans), (200, {"ended": True}))
        self.assertEqual(hdrs["set-cookie"],
                         "iocd_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
        self.assertEqual(request(d.http_port, "GET", "/api/v1/whoami", cookie=cookie)[0], 401)
        metrics = request(d.http_port, "GET", "/metrics", token=op)[2].decode()
        self.assertIn('iocd_http_logins_total{result="ok"} 1\n', metrics)
        self.assertIn('iocd_http_logins_total{result="refused"} 1\n', metrics)
        self.assertIn("iocd_http_sessions 0\n", metrics)
        # A restart ends every session: the console logs in again.
        st, _, cookie = self.login(d, op)
        self.assertEqual(request(d.http_port, "GET", "/api/v1/whoami", cookie=cookie)[0], 200)
        d.restart()
        self.assertEqual(request(d.http_port, "GET", "/api/v1/whoami", cookie=cookie)[0], 401)

    def test_reload_adds_and_removes_accounts(self):
        d, users = self.start(users_lines="")
        lan = self.add_user(users, "lan", "operator")
        d.start()
        st, _, lan_cookie = self.login(d, lan)
        self.assertEqual(st, 200)
        hoa = self.add_user(users, "hoa", "viewer")
        self.assertEqual(request(d.http_port, "GET", "/api/v1/whoami", token=hoa)[0], 401)
        r = subprocess.run([IOCCTL, "users", "remove", "lan", "--file", users],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.reload(d, "reload: configuration applied")
        self.assertIn("1 account(s) from %s" % users, d.log_text())
        self.assertEqual(request(d.http_port, "GET", "/api/v1/whoami", token=hoa)[2],
                         {"name": "hoa", "role": "viewer", "via": "token", "accounts": True})
        self.assertEqual(request(d.http_port, "GET", "/api/v1/whoami", token=lan)[0], 401)
        self.assertEqual(request(d.http_port, "GET", "/api/v1/whoami", cookie=lan_cookie)[0], 401)
        # A bad file at reload: refused, the accounts before it stay.
        with open(users, "a") as f:
            f.write("broken line\n")
        self.reload(d, "reload: refused")
        self.assertIn("reload: refused: %s:%d: [http] users_file: %s:2: expected "
                      "NAME:ROLE:sha256:SALT_HEX:HASH_HEX; still running on the previous "
                      "configuration" % (d.conf, self.key_line(d), users), d.log_text())
        self.assertEqual(request(d.http_port, "GET", "/api/v1/whoami", token=hoa)[0], 200)
        # A file others may read: warned.
        with open(users, "w") as f:
            f.write("")
        os.chmod(users, 0o644)
        self.reload(d, "reload: configuration applied")
        self.assertIn("[http] users_file %s is readable by group or others (mode 0644): chmod 600 "
                      "it" % users, d.log_text())
        self.assertEqual(request(d.http_port, "GET", "/api/v1/whoami", token=hoa)[0], 401)
        self.assertEqual(request(d.http_port, "GET", "/api/v1/whoami", token=SHARED)[0], 200)

    def test_without_accounts_loopback_is_local(self):
        port = free_port()
        d = self.iocd(AIR_ADAPTER + RULE, extra="[http]\nlisten = 127.0.0.1:%d\n" % port)
        d.http_port = port
        d.start()
        st, _, who = request(port, "GET", "/api/v1/whoami")
        self.assertEqual((st, who), (200, {"name": "local", "role": "admin", "via": "none",
                                           "accounts": False}))
        st, _, ans = request(port, "POST", "/api/v1/login", {"token": "x"})
        self.assertEqual(st, 400)

    def reload(self, d, what):
        n = d.log_text().count(what)
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: d.log_text().count(what) > n, what=what)
        self.assertTrue(d.alive())


if __name__ == "__main__":
    unittest.main()
