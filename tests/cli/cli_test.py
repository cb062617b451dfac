#!/usr/bin/env python3
"""The command-line contract that operators and scripts rely on, checked on the real binary.

Usage: cli_test.py STATION_BINARY
"""
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

STATION = None
KEY_PATTERN = re.compile(r"^stk_[A-Za-z0-9_-]{8}_[A-Za-z0-9_-]{43}$")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args, env=None, check=False):
    return subprocess.run([STATION, *args], capture_output=True, text=True, env=env, check=check,
                          timeout=60)


def luhn_complete(body):
    """body + its Luhn check digit (ICCIDs, IMEIs)."""
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:  # doubled: these are the odd positions once the check digit is appended
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def write_profiles(path, series, count, ki, opc):
    """A vendor profile CSV of `count` profiles of one test series (ICCIDs 89860<series>...,
    IMSIs 4600<series>...), every one with the Ki and OPc given; returns {iccid: imsi}."""
    profiles = {luhn_complete(f"89860{series}{n:012d}"): f"4600{series}{n:010d}"
                for n in range(1, count + 1)}
    with open(path, "w") as f:
        f.write("iccid,imsi,ki,opc\n")
        for iccid, imsi in profiles.items():
            f.write(f"{iccid},{imsi},{ki},{opc}\n")
    return profiles


def api_key(scope, *store):
    """A new API key of `scope` in the store that `store` (e.g. --data-dir DIR) names."""
    created = run("admin", "api-key", "create", "--scope", scope, *store)
    assert created.returncode == 0, created.stderr
    return created.stdout.strip().splitlines()[-1]


def http(port, method, path, body=None, key=None, idempotency_key=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    if idempotency_key:
        request.add_header("Idempotency-Key", idempotency_key)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read() or b"null")


class Server:
    def __init__(self, data_dir, port=None, extra=()):
        self.port = port or free_port()
        self.process = subprocess.Popen(
            [STATION, "serve", "--data-dir", data_dir, "--listen", f"127.0.0.1:{self.port}",
             *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_ready(self):
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("server exited: " + self.process.stderr.read())
            try:
                if http(self.port, "GET", "/readyz")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("server not ready")

    def terminate(self):
        self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=30)
        return self.process.returncode, out, err


class CliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.data = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_help_documents_every_serve_option(self):
        out = run("serve", "--help").stdout
        for flag in ["--data-dir", "--listen", "--database", "--config", "--threads",
                     "--header-bytes-max", "--body-bytes-max", "--request-timeout-ms",
                     "--keep-alive-idle-ms", "--shutdown-grace-ms", "--log-level",
                     "--access-log", "--default-currency", "--idempotency-retention-hours"]:
            self.assertIn(flag, out)
        self.assertIn("STATION_LISTEN", out)
        self.assertEqual(run("--help").returncode, 0)

    def test_api_key_create_prints_the_key_alone_on_the_last_line(self):
        result = run("admin", "api-key", "create", "--scope", "admin", "--data-dir", self.data)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout.strip().splitlines()[-1], KEY_PATTERN)
        bad = run("admin", "api-key", "create", "--scope", "root", "--data-dir", self.data)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("unknown scope", bad.stderr)

    def test_first_start_prints_an_admin_key_once_and_sigterm_stops_cleanly(self):
        server = Server(self.data).wait_ready()
        code, out, err = server.terminate()
        self.assertEqual(code, 0, err)
        keys = [line.strip() for line in err.splitlines() if KEY_PATTERN.match(line.strip())]
        self.assertEqual(len(keys), 1, err)
        server = Server(self.data).wait_ready()
        status, customer = http(server.port, "POST", "/v1/customers", {"name": "Li"}, key=keys[0])
        self.assertEqual(status, 201)
        code, out, err = server.terminate()
        self.assertEqual(code, 0)
        self.assertFalse(any(KEY_PATTERN.match(line.strip()) for line in err.splitlines()))

    def test_access_log_is_one_json_object_per_request_without_secrets(self):
        key = run("admin", "api-key", "create", "--scope", "admin", "--data-dir", self.data,
                  check=True).stdout.strip().splitlines()[-1]
        server = Server(self.data).wait_ready()
        status, customer = http(server.port, "POST", "/v1/customers?note=secret",
                                {"name": "Wang Fang"}, key=key)
        self.assertEqual(status, 201)
        _, out, _ = server.terminate()
        lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        posts = [line for line in lines if line["method"] == "POST"]
        self.assertEqual(len(posts), 1)
        entry = posts[0]
        for field in ["ts", "request_id", "remote", "method", "path", "route", "status",
                      "bytes_in", "bytes_out", "duration_ms", "principal"]:
            self.assertIn(field, entry)
        self.assertEqual(entry["route"], "/v1/customers")
        self.assertEqual(entry["status"], 201)
        self.assertTrue(entry["principal"].startswith("key:"))
        self.assertNotIn("secret", out)
        self.assertNotIn(key, out)

    def test_ledger_check_passes_then_detects_tampering(self):
        key = run("admin", "api-key", "create", "--scope", "admin", "--data-dir", self.data,
                  check=True).stdout.strip().splitlines()[-1]
        server = Server(self.data).wait_ready()
        _, customer = http(server.port, "POST", "/v1/customers", {"name": "Zhao Lei"}, key=key)
        status, _ = http(server.port, "POST", "/v1/topups",
                         {"customer_id": customer["id"], "amount_minor": 1234, "currency": "CNY",
                          "channel": "web"}, key=key, idempotency_key="t-1")
        self.assertEqual(status, 201)
        server.terminate()
        ok = run("admin", "ledger", "check", "--data-dir", self.data)
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        with sqlite3.connect(os.path.join(self.data, "station.db")) as db:
            db.execute("UPDATE accounts SET balance_minor = balance_minor + 1 WHERE kind = 'wallet'")
        bad = run("admin", "ledger", "check", "--data-dir", self.data)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("MISMATCH", bad.stdout)

    def test_bad_configuration_names_its_source(self):
        env = dict(os.environ, STATION_LISTEN="nowhere")
        result = run("serve", "--data-dir", self.data, env=env)
        self.assertEqual(result.returncode, 2)
        self.assertIn("environment STATION_LISTEN", result.stderr)
        config = os.path.join(self.data, "station.toml")
        with open(config, "w") as f:
            f.write('threads = "many"\n')
        result = run("serve", "--data-dir", self.data, "--config", config)
        self.assertEqual(result.returncode, 2)
        self.assertIn("threads", result.stderr)

    def test_one_server_per_store_and_per_port(self):
        first = Server(self.data).wait_ready()
        try:
            second = run("serve", "--data-dir", self.data, "--listen", f"127.0.0.1:{free_port()}")
            self.assertNotEqual(second.returncode, 0)
            self.assertIn("in use", second.stderr)
            other = tempfile.mkdtemp(dir=self.data)
            taken = run("serve", "--data-dir", other, "--listen", f"127.0.0.1:{first.port}")
            self.assertNotEqual(taken.returncode, 0)
            self.assertIn("cannot listen", taken.stderr)
        finally:
            first.terminate()


if __name__ == "__main__":
    STATION = sys.argv.pop(1)
    unittest.main(verbosity=2)
