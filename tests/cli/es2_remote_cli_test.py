#!/usr/bin/env python3
"""Station's orders through a remote SM-DP+ (issue 4's ES2+ wiring), on the real binary: a
`station serve` whose ES2+ port is a second process, `station smdp`, over verified HTTPS (options
from a TOML file), and that SM-DP+ reporting each download back to Station's ES2+
HandleDownloadProgressInfo listener (options from flags and its token from the environment),
with an API key of the smdp scope. An order placed through Station's API is downloaded with
`station lpa download` from the remote SM-DP+ and reaches `installed` from the reports alone, then
`active` from the eUICC's enable notification, which the SM-DP+'s profile metadata sends to
Station's listener; a repeated report changes nothing; a bad body is refused with problem+json; other credentials are
refused. A second `station serve` on Station's store does not start (the store's ownership lock,
which is also the lease of the SM-DP+'s report sender). Station's store is SQLite, and PostgreSQL
too when STATION_TEST_POSTGRES_URL is set (required when STATION_REQUIRE_POSTGRES=1).

Usage: es2_remote_cli_test.py STATION_BINARY
"""
import base64
import json
import os
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

import cli_test
from cli_test import Server, api_key, free_port, http, luhn_complete, run, write_profiles
from rsp_download_cli_test import EID, order_esim, wait_for_state
from smdp_cli_test import Smdp

REPORT_PATH = "/gsma/rsp2/es2plus/handleDownloadProgressInfo"
NOTIFICATION_PATH = "/gsma/rsp2/es9plus/handleNotification"


class RemoteEs2Test(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.station_data = os.path.join(self.tmp.name, "station")
        self.smdp_data = os.path.join(self.tmp.name, "smdp")
        self.pki = os.path.join(self.tmp.name, "pki")
        self.card = os.path.join(self.tmp.name, "card.json")

    def tearDown(self):
        self.tmp.cleanup()

    def post(self, port, path, body, key=None):
        """A POST of the binding (JSON, X-Admin-Protocol) to Station's ES2+ listener, verified
        against the test PKI: the status, the content type and the JSON answer (None if empty)."""
        request = urllib.request.Request(f"https://localhost:{port}{path}", method="POST",
                                         data=body.encode())
        request.add_header("Content-Type", "application/json;charset=UTF-8")
        request.add_header("X-Admin-Protocol", "gsma/rsp/v2.2.0")
        if key:
            request.add_header("Authorization", f"Bearer {key}")
        context = ssl.create_default_context(cafile=os.path.join(self.pki, "ci.pem"))
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as response:
                answer = response.read()
                return (response.status, response.headers["Content-Type"],
                        json.loads(answer) if answer else None)
        except urllib.error.HTTPError as error:
            return error.code, error.headers["Content-Type"], json.loads(error.read())

    def report(self, port, body, key):
        """ES2+ HandleDownloadProgressInfo, as the SM-DP+ sends it."""
        return self.post(port, REPORT_PATH, body, key)

    def notify(self, port, pending_notification_base64):
        """ES9+ handleNotification, as an LPA sends it (no API key)."""
        return self.post(port, NOTIFICATION_PATH,
                         json.dumps({"pendingNotification": pending_notification_base64}))

    def test_on_sqlite(self):
        self.journey(["--data-dir", self.station_data])

    def test_on_postgres(self):
        database = os.environ.get("STATION_TEST_POSTGRES_URL")
        if not database:
            if os.environ.get("STATION_REQUIRE_POSTGRES") == "1":
                self.fail("STATION_TEST_POSTGRES_URL is not set")
            self.skipTest("no PostgreSQL")
        subprocess.run(["psql", database, "-q", "-c",
                        "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"], check=True)
        self.journey(["--data-dir", self.station_data, "--database", database])

    def journey(self, store):
        """Orders through a remote SM-DP+ reach installed from its reports and active from the
        eUICC's notification; `store` is Station's."""
        self.assertEqual(run("pki", "init", self.pki).returncode, 0)
        csv = os.path.join(self.tmp.name, "profiles.csv")
        write_profiles(csv, series=3, count=2, ki="E" * 32, opc="F" * 32)
        # The operator's profiles are known to both: Station allocates, the SM-DP+ prepares.
        smdp_store = ["--data-dir", self.smdp_data]
        for each in (store, smdp_store):
            imported = run("admin", "profiles", "import", csv, *each)
            self.assertEqual(imported.returncode, 0, imported.stderr)
        admin = api_key("admin", *store)
        reporter = api_key("smdp", *store)  # what the SM-DP+ presents to Station
        app = api_key("app", *store)
        station_at_smdp = api_key("admin", *smdp_store)  # what Station presents to it

        es2_port = free_port()
        ca = os.path.join(self.pki, "ci.pem")
        smdp = Smdp(self.smdp_data, self.pki, extra_args=[
            "--smdp-callback-url", f"https://localhost:{es2_port}{REPORT_PATH}",
            "--smdp-callback-ca-file", ca,
            # The profiles' enable/disable/delete notifications go to Station, not the SM-DP+.
            "--smdp-notification-address", f"localhost:{es2_port}"],
            env={"STATION_SMDP_CALLBACK_TOKEN": reporter}).wait_ready()
        config = os.path.join(self.tmp.name, "station.toml")
        with open(config, "w") as f:
            f.write(f'es2_smdp_url = "https://{smdp.address}"\n'
                    f'es2_smdp_ca_file = "{ca}"\n'
                    f'es2_smdp_token = "{station_at_smdp}"\n'
                    f'es2_listen = "127.0.0.1:{es2_port}"\n'
                    f'pki = "{self.pki}"\n'
                    f'smdp_address = "{smdp.address}"\n')
        server = Server(self.station_data, extra=["--config", config, *store[2:]]).wait_ready()
        try:
            port = server.port
            status, order = order_esim(port, admin)
            self.assertEqual((status, order["state"]), (201, "code_issued"), order)
            code = order["activation_code"]
            self.assertTrue(code.startswith(f"LPA:1${smdp.address}$"), code)

            download = run("lpa", "download", "--ac", code, "--euicc", self.card,
                           "--pki", self.pki)
            self.assertEqual(download.returncode, 0, download.stdout + download.stderr)
            iccid = download.stdout.strip()
            seen = wait_for_state(port, admin, order["id"], "installed")
            self.assertEqual(seen["iccid"], iccid)
            causes = [event["cause"] for event in seen["history"]]
            self.assertTrue(any("HandleDownloadProgressInfo" in c for c in causes), causes)

            # A repeated report (the SM-DP+ retries with the same call id) changes nothing.
            installed = json.dumps({
                "header": {"functionRequesterIdentifier": smdp.address,
                           "functionCallIdentifier": "1"},
                "eid": EID, "iccid": iccid, "profileType": "", "timestamp": "2026-11-30T05:00:00Z",
                "notificationPointId": 4,
                "notificationPointStatus": {"status": "Executed-Success"}})
            downloaded = installed.replace('"notificationPointId": 4', '"notificationPointId": 3')
            for body in (installed, downloaded):
                status, _, answer = self.report(es2_port, body, reporter)
                self.assertEqual(status, 200, answer)
                self.assertEqual(answer["header"]["functionExecutionStatus"]["status"],
                                 "Executed-Success")
            _, again = http(port, "GET", f"/v1/orders/{order['id']}", None, admin)
            self.assertEqual((again["state"], len(again["history"])),
                             ("installed", len(seen["history"])))

            # Bad input and other credentials: problem+json, nothing changes.
            status, kind, problem = self.report(es2_port, '{"iccid": 1}', reporter)
            self.assertEqual((status, kind, problem["code"]),
                             (400, "application/problem+json", "validation_failed"), problem)
            status, _, problem = self.report(es2_port, installed.replace(iccid, "123"), reporter)
            self.assertEqual(status, 400, problem)
            status, _, problem = self.report(es2_port, installed, app)
            self.assertEqual((status, problem["code"]), (403, "forbidden"))
            status, _, problem = self.report(es2_port, installed, None)
            self.assertEqual((status, problem["code"]), (401, "unauthenticated"))
            other = luhn_complete("898603000000000099")
            status, _, problem = self.report(es2_port, installed.replace(iccid, other), reporter)
            self.assertEqual((status, problem["code"]), (404, "not_found"), problem)

            # Enabled on the device: the eUICC's signed notification goes to Station's ES2+
            # listener (the profile metadata says so), and the order becomes active.
            enabled = run("lpa", "enable", iccid, "--euicc", self.card)
            self.assertEqual(enabled.returncode, 0, enabled.stderr)
            with open(self.card) as f:
                pending = json.load(f)["notifications"]
            self.assertEqual([(n["event"], n["address"]) for n in pending],
                             [("enable", f"localhost:{es2_port}")])
            # Not believed, so nothing changes: the notification with its signed sequence number
            # altered (tbsOtherNotification BF2F, then seqNumber 80 01 NN).
            tampered = bytearray(base64.b64decode(pending[0]["pending_notification"]))
            at = tampered.index(b"\xbf\x2f")
            self.assertEqual(tampered[at + 3], 0x80)
            tampered[at + 5] ^= 0x01
            status, _, _ = self.notify(es2_port, base64.b64encode(tampered).decode())
            self.assertEqual(status, 204)
            status, kind, problem = self.notify(es2_port, "not base64!")
            self.assertEqual((status, kind), (400, "application/problem+json"), problem)
            _, still = http(port, "GET", f"/v1/orders/{order['id']}", None, admin)
            self.assertEqual(still["state"], "installed")
            processed = run("lpa", "notifications", "process", "--euicc", self.card,
                            "--pki", self.pki)
            self.assertEqual(processed.returncode, 0, processed.stdout + processed.stderr)
            self.assertIn("1 delivered, 0 failed", processed.stdout)
            active = wait_for_state(port, admin, order["id"], "active")
            self.assertTrue(any("signed notification" in event["cause"]
                                for event in active["history"]), active["history"])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                metrics = r.read().decode()
            for outcome in ("enable", "invalid_signature"):
                self.assertIn(f'station_es2_notifications_total{{outcome="{outcome}"}} 1', metrics)

            # One process owns the store, and sends: a second serve on it does not start.
            second = subprocess.run(
                [cli_test.STATION, "serve", "--listen", f"127.0.0.1:{free_port()}",
                 "--es2-listen", f"127.0.0.1:{free_port()}", "--pki", self.pki, *store],
                capture_output=True, text=True, timeout=60)
            self.assertEqual(second.returncode, 1, second.stderr)
            self.assertIn("in use by another station process", second.stderr)
        finally:
            code_, _, err = server.terminate()
            smdp_code, smdp_out, smdp_err = smdp.terminate()
        self.assertEqual(code_, 0, err)
        self.assertEqual(smdp_code, 0, smdp_err)
        self.assertNotIn(reporter, smdp_out + smdp_err)  # the token is never logged
        self.assertNotIn(station_at_smdp, err)
        # Every report that names a step is audited, by the reporting key, refused ones too.
        audit = run("admin", "audit", "list", "--limit", "200", *store)
        self.assertEqual(audit.returncode, 0, audit.stderr)
        reports = [line for line in audit.stdout.splitlines() if " order.download_progress " in line]
        self.assertTrue(any(f" {order['id']} succeeded " in line for line in reports), audit.stdout)
        self.assertTrue(any(" - not_found " in line for line in reports), audit.stdout)
        self.assertTrue(any(" order.profile_notification " in line and f" {order['id']} succeeded "
                            in line and f"euicc:{EID}" in line
                            for line in audit.stdout.splitlines()), audit.stdout)


if __name__ == "__main__":
    cli_test.STATION = sys.argv.pop(1)
    unittest.main()
