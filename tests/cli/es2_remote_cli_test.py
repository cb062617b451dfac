#!/usr/bin/env python3
"""Station's orders through a remote SM-DP+ (issue 4's ES2+ wiring), on the real binary: a
`station serve` whose ES2+ port is a second process, `station smdp`, over verified HTTPS (options
from a TOML file), and that SM-DP+ reporting each download back to Station's ES2+
HandleDownloadProgressInfo listener (options from flags and its token from the environment),
with an API key of the smdp scope. An order placed through Station's API is downloaded with
`station lpa download` from the remote SM-DP+ and reaches `installed` from the reports alone; a
repeated report changes nothing; a bad body is refused with problem+json; other credentials are
refused. A second `station serve` on Station's store does not start (the store's ownership lock,
which is also the lease of the SM-DP+'s report sender). Station's store is SQLite, and PostgreSQL
too when STATION_TEST_POSTGRES_URL is set (required when STATION_REQUIRE_POSTGRES=1).

Usage: es2_remote_cli_test.py STATION_BINARY
"""
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


class RemoteEs2Test(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.station_data = os.path.join(self.tmp.name, "station")
        self.smdp_data = os.path.join(self.tmp.name, "smdp")
        self.pki = os.path.join(self.tmp.name, "pki")
        self.card = os.path.join(self.tmp.name, "card.json")

    def tearDown(self):
        self.tmp.cleanup()

    def report(self, port, body, key, content_type="application/json;charset=UTF-8"):
        request = urllib.request.Request(f"https://localhost:{port}{REPORT_PATH}", method="POST",
                                         data=body.encode())
        request.add_header("Content-Type", content_type)
        request.add_header("X-Admin-Protocol", "gsma/rsp/v2.2.0")
        if key:
            request.add_header("Authorization", f"Bearer {key}")
        context = ssl.create_default_context(cafile=os.path.join(self.pki, "ci.pem"))
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as response:
                return response.status, response.headers["Content-Type"], json.loads(
                    response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.headers["Content-Type"], json.loads(error.read())

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
        """Orders through a remote SM-DP+ reach installed from its reports; `store` is Station's."""
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
            "--smdp-callback-ca-file", ca],
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


if __name__ == "__main__":
    cli_test.STATION = sys.argv.pop(1)
    unittest.main()
