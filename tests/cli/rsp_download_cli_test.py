#!/usr/bin/env python3
"""Issue 4 end to end on the real binary: an eSIM ordered through the API is downloaded with
`station lpa download` from Station's SM-DP+ over HTTPS (its TLS certificate verified against the
test PKI), into a virtual eUICC whose ICCID and IMSI then equal the inventory's; the order reaches
`installed`, and `active` once the enable notification is delivered. A used Matching ID is
refused with its SGP.22 codes and changes nothing on the card.

Usage: rsp_download_cli_test.py STATION_BINARY
"""
import json
import os
import sys
import tempfile
import time
import unittest

import cli_test
from cli_test import Server, api_key, free_port, http, run, write_profiles

EID = "89049032123451234512345678901235"  # the test PKI's default eUICC


def order_esim(port, key):
    """A verified customer with a funded wallet orders an eSIM (plan CN-1GB-7D, paid from the
    wallet) for the test PKI's eUICC: the API's (status, order)."""
    status, _ = http(port, "POST", "/v1/admin/plans", {
        "code": "CN-1GB-7D", "name": {"zh-CN": "中国 1GB 7天", "en": "China 1 GB, 7 days"},
        "data_mb": 1024, "validity_days": 7, "price_minor": 1000, "currency": "CNY"}, key)
    assert status == 201, status
    _, customer = http(port, "POST", "/v1/customers", {
        "name": "Li Lei", "phone": "+8613800138000", "currency": "CNY"}, key)
    cid = customer["id"]
    http(port, "POST", f"/v1/customers/{cid}/identity", {
        "document_type": "national_id", "document_number": "110101199003074514",
        "full_name": "Li Lei", "date_of_birth": "1990-03-07", "nationality": "CN"}, key)
    http(port, "POST", f"/v1/admin/kyc/{cid}/approve", {}, key)
    http(port, "POST", "/v1/topups", {"customer_id": cid, "amount_minor": 5000,
                                      "currency": "CNY", "channel": "app",
                                      "reference": "rsp"}, key, "topup-rsp")
    return http(port, "POST", "/v1/orders", {
        "customer_id": cid, "plan_code": "CN-1GB-7D", "device": {"eid": EID},
        "delivery": "app", "payment": "wallet"}, key, "order-rsp")


def wait_for_state(port, key, order_id, wanted):
    """The order once it is in state `wanted`; AssertionError after 30 s."""
    deadline = time.time() + 30
    while True:
        _, order = http(port, "GET", f"/v1/orders/{order_id}", None, key)
        if order["state"] == wanted:
            return order
        if time.time() > deadline:
            raise AssertionError(f"order stuck: {order}")
        time.sleep(0.1)


class RspDownloadTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.data = os.path.join(self.tmp.name, "data")
        self.pki = os.path.join(self.tmp.name, "pki")
        self.card = os.path.join(self.tmp.name, "card.json")

    def tearDown(self):
        self.tmp.cleanup()

    def test_order_download_install_and_enable(self):
        self.assertEqual(run("pki", "init", self.pki).returncode, 0)
        csv = os.path.join(self.tmp.name, "profiles.csv")
        inventory = write_profiles(csv, series=1, count=2, ki="A" * 32, opc="B" * 32)
        imported = run("admin", "profiles", "import", csv, "--data-dir", self.data)
        self.assertEqual(imported.returncode, 0, imported.stderr)
        key = api_key("admin", "--data-dir", self.data)

        smdp_port = free_port()
        address = f"localhost:{smdp_port}"
        server = Server(self.data, extra=[
            "--pki", self.pki, "--smdp-listen", f"127.0.0.1:{smdp_port}",
            "--smdp-address", address]).wait_ready()
        try:
            port = server.port
            status, order = order_esim(port, key)
            self.assertEqual((status, order["state"]), (201, "code_issued"), order)
            code = order["activation_code"]
            self.assertTrue(code.startswith(f"LPA:1${address}$"), code)

            download = run("lpa", "download", "--ac", code, "--euicc", self.card,
                           "--pki", self.pki)
            self.assertEqual(download.returncode, 0, download.stdout + download.stderr)
            iccid = download.stdout.strip()
            self.assertIn(iccid, inventory)
            for step in ("initiateAuthentication", "AuthenticateServer", "PrepareDownload",
                         "LoadBoundProfilePackage", "handleNotification"):
                self.assertIn(step, download.stderr)
            installed = wait_for_state(port, key, order["id"], "installed")
            self.assertEqual(installed["iccid"], iccid)

            listed = run("lpa", "profiles", "--euicc", self.card, "--json")
            self.assertEqual(listed.returncode, 0, listed.stderr)
            profiles = json.loads(listed.stdout)
            self.assertEqual([(p["iccid"], p["state"]) for p in profiles], [(iccid, "disabled")])
            with open(self.card) as f:
                state = json.load(f)
            self.assertEqual(state["profiles"][0]["imsi"], inventory[iccid])
            self.assertNotIn("A" * 32, json.dumps(state))  # Ki sealed

            # The same activation code again: the SM-DP+ refuses the used Matching ID.
            again = run("lpa", "download", "--ac", code, "--euicc", self.card, "--pki", self.pki)
            self.assertEqual(again.returncode, 1)
            self.assertIn("refused authenticateClient", again.stderr)  # where the Matching ID is
            self.assertIn("subject 8.2.6, reason 3.8", again.stderr)
            self.assertEqual(len(json.loads(run("lpa", "profiles", "--euicc", self.card,
                                                "--json").stdout)), 1)

            enabled = run("lpa", "enable", iccid, "--euicc", self.card)
            self.assertEqual(enabled.returncode, 0, enabled.stderr)
            processed = run("lpa", "notifications", "process", "--euicc", self.card,
                            "--pki", self.pki)
            self.assertEqual(processed.returncode, 0, processed.stdout + processed.stderr)
            self.assertIn("1 delivered, 0 failed", processed.stdout)
            wait_for_state(port, key, order["id"], "active")
        finally:
            code_, _, err = server.terminate()
        self.assertEqual(code_, 0, err)


if __name__ == "__main__":
    cli_test.STATION = sys.argv.pop(1)
    unittest.main()
