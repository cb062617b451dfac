#!/usr/bin/env python3
"""`station smdp`: the SM-DP+ alone on a data directory and a test PKI, without the subscriber API.
An operator orders a download through ES2+ (DownloadOrder, then ConfirmOrder with release) with an
admin API key over HTTPS, and `station lpa download` installs the profile into a virtual eUICC;
the Matching ID then downloads no more. ES2+ without an admin key is refused, and the subscriber
API is not served.

Usage: smdp_cli_test.py STATION_BINARY
"""
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import cli_test
from cli_test import api_key, free_port, run, write_profiles


class Smdp:
    """A `station smdp` process on a free port, called over HTTPS verified against the PKI."""

    def __init__(self, data_dir, pki, extra_args=(), env=None):
        self.port = free_port()
        self.address = f"localhost:{self.port}"
        self.context = ssl.create_default_context(cafile=os.path.join(pki, "ci.pem"))
        self.process = subprocess.Popen(
            [cli_test.STATION, "smdp", "--data-dir", data_dir, "--pki", pki,
             "--smdp-listen", f"127.0.0.1:{self.port}", "--smdp-address", self.address,
             *extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=None if env is None else {**os.environ, **env})

    def call(self, path, body=None, key=None, method="POST"):
        request = urllib.request.Request(
            f"https://{self.address}{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None)
        request.add_header("Content-Type", "application/json;charset=UTF-8")
        request.add_header("X-Admin-Protocol", "gsma/rsp/v2.2.0")
        if key:
            request.add_header("Authorization", f"Bearer {key}")
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.context) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def wait_ready(self):
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("smdp exited: " + self.process.stderr.read())
            try:
                if self.call("/readyz", method="GET")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("smdp not ready")

    def terminate(self):
        self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=30)
        return self.process.returncode, out, err


def executed(answer):
    return answer["header"]["functionExecutionStatus"]["status"] == "Executed-Success"


class SmdpCommandTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.data = os.path.join(self.tmp.name, "data")
        self.pki = os.path.join(self.tmp.name, "pki")
        self.card = os.path.join(self.tmp.name, "card.json")

    def tearDown(self):
        self.tmp.cleanup()

    def test_help_documents_the_smdp_options_only(self):
        out = run("smdp", "--help").stdout
        for flag in ["--data-dir", "--database", "--pki", "--smdp-listen", "--smdp-address",
                     "--smdp-workers", "--smdp-session-ttl-seconds", "ES2+", "STATION_PKI"]:
            self.assertIn(flag, out)
        for flag in ["--smpp-host", "--default-currency", "--listen "]:
            self.assertNotIn(flag, out)
        self.assertIn("smdp", run("--help").stdout)
        missing = run("smdp", "--data-dir", self.data, "--pki", self.pki)
        self.assertEqual(missing.returncode, 2)
        self.assertIn("--smdp-listen", missing.stderr)

    def test_es2_order_then_lpa_download(self):
        self.assertEqual(run("pki", "init", self.pki).returncode, 0)
        csv = os.path.join(self.tmp.name, "profiles.csv")
        write_profiles(csv, series=2, count=2, ki="C" * 32, opc="D" * 32)
        imported = run("admin", "profiles", "import", csv, "--data-dir", self.data)
        self.assertEqual(imported.returncode, 0, imported.stderr)
        key = api_key("admin", "--data-dir", self.data)

        smdp = Smdp(self.data, self.pki).wait_ready()
        try:
            status, refused = smdp.call("/gsma/rsp2/es2plus/downloadOrder", {})
            self.assertEqual((status, refused["code"]), (401, "unauthenticated"), refused)
            status, _ = smdp.call("/v1/customers", {"name": "Li"}, key)
            self.assertEqual(status, 404)  # no subscriber API here

            status, ordered = smdp.call("/gsma/rsp2/es2plus/downloadOrder", {}, key)
            self.assertEqual(status, 200)
            self.assertTrue(executed(ordered), ordered)
            iccid = ordered["iccid"]
            status, confirmed = smdp.call("/gsma/rsp2/es2plus/confirmOrder",
                                          {"iccid": iccid, "releaseFlag": "true"}, key)
            self.assertEqual(status, 200)
            self.assertTrue(executed(confirmed), confirmed)
            self.assertEqual(confirmed["smdpAddress"], smdp.address)
            code = f"LPA:1${smdp.address}${confirmed['matchingId']}"

            download = run("lpa", "download", "--ac", code, "--euicc", self.card,
                           "--pki", self.pki)
            self.assertEqual(download.returncode, 0, download.stdout + download.stderr)
            self.assertEqual(download.stdout.strip(), iccid)
            listed = json.loads(run("lpa", "profiles", "--euicc", self.card, "--json").stdout)
            self.assertEqual([p["iccid"] for p in listed], [iccid])

            again = run("lpa", "download", "--ac", code, "--euicc", self.card, "--pki", self.pki)
            self.assertEqual(again.returncode, 1)
            self.assertIn("subject 8.2.6, reason 3.8", again.stderr)

        finally:
            code_, out, err = smdp.terminate()
        self.assertEqual(code_, 0, err)
        routes = [json.loads(line)["route"] for line in out.splitlines() if line.startswith("{")]
        self.assertIn("/gsma/rsp2/es9plus/handleNotification", routes)


if __name__ == "__main__":
    cli_test.STATION = sys.argv.pop(1)
    unittest.main()
