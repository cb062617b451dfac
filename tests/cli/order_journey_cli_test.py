#!/usr/bin/env python3
"""The ordering journey end to end on the real binary: profiles imported with `station admin
profiles import`, a plan, a customer whose identity an operator approves, a top-up, then an eSIM
ordered with delivery by SMS — and the activation code arrives at an independent SMSC
(tests/messaging/smsc_peer.pl on Debian's Net::SMPP) in the customer's language. A card order
is confirmed by the built-in provider's signed webhook over real HTTP. The ledger check passes
afterwards.

Usage: order_journey_cli_test.py STATION_BINARY
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error

import cli_test
from cli_test import Server, api_key, http, run, write_profiles

PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "messaging", "smsc_peer.pl")
PHONE = "+8613900139000"


def eid(n):
    body = "89049032" + f"{n:022d}"
    return body + f"{98 - int(body + '00') % 97:02d}"


class OrderJourneyTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.data = os.path.join(self.tmp.name, "data")
        self.log = os.path.join(self.tmp.name, "peer.jsonl")

    def tearDown(self):
        self.tmp.cleanup()

    def start_peer(self):
        ready = os.path.join(self.tmp.name, "peer.port")
        peer = subprocess.Popen(["perl", PEER, "--port", "0", "--ready", ready, "--log", self.log,
                                 "--seconds", "120"])
        self.addCleanup(lambda: (peer.kill(), peer.wait()))
        deadline = time.time() + 20
        while not os.path.exists(ready):
            self.assertLess(time.time(), deadline, "SMSC peer did not start")
            time.sleep(0.05)
        with open(ready) as f:
            return int(f.read())

    def received(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def test_sms_and_card_orders_end_to_end(self):
        csv = os.path.join(self.tmp.name, "profiles.csv")
        write_profiles(csv, series=1, count=3, ki="A" * 32, opc="B" * 32)
        imported = run("admin", "profiles", "import", csv, "--data-dir", self.data)
        self.assertEqual(imported.returncode, 0, imported.stderr)
        key = api_key("admin", "--data-dir", self.data)

        port = self.start_peer()
        server = Server(self.data, extra=[
            "--smpp-host", "127.0.0.1", "--smpp-port", str(port), "--smpp-system-id", "station",
            "--smpp-password", "pw", "--smdp-address", "smdp.example.test",
            "--payment-webhook-delay-ms", "100"]).wait_ready()
        try:
            status, plan = http(server.port, "POST", "/v1/admin/plans", {
                "code": "CN-5GB-7D", "name": {"zh-CN": "中国 5GB 7天", "en": "China 5 GB, 7 days"},
                "data_mb": 5120, "validity_days": 7, "price_minor": 1500, "currency": "CNY"}, key)
            self.assertEqual(status, 201)
            status, customer = http(server.port, "POST", "/v1/customers", {
                "name": "韩梅梅", "phone": PHONE, "currency": "CNY", "language": "zh-CN"}, key)
            self.assertEqual(status, 201)
            cid = customer["id"]
            order = {"customer_id": cid, "plan_code": "CN-5GB-7D", "device": {"eid": eid(7)},
                     "delivery": "sms", "payment": "wallet"}
            with self.assertRaises(urllib.error.HTTPError) as refused:
                http(server.port, "POST", "/v1/orders", order, key, "journey-1")
            self.assertEqual(refused.exception.code, 409)  # identity not verified yet
            self.assertEqual(json.loads(refused.exception.read())["code"], "identity_not_verified")

            status, _ = http(server.port, "POST", f"/v1/customers/{cid}/identity", {
                "document_type": "national_id", "document_number": "110101199003074514",
                "full_name": "韩梅梅", "date_of_birth": "1990-03-07", "nationality": "CN"}, key)
            self.assertEqual(status, 201)
            status, _ = http(server.port, "POST", f"/v1/admin/kyc/{cid}/approve", {}, key)
            self.assertEqual(status, 200)
            status, _ = http(server.port, "POST", "/v1/topups", {
                "customer_id": cid, "amount_minor": 5000, "currency": "CNY", "channel": "app",
                "reference": "journey"}, key, "topup-1")
            self.assertEqual(status, 201)

            status, placed = http(server.port, "POST", "/v1/orders", order, key, "journey-1")
            self.assertEqual(status, 201)
            self.assertEqual(placed["state"], "code_issued")
            code = placed["activation_code"]
            self.assertTrue(code.startswith("LPA:1$smdp.example.test$"), code)

            deadline = time.time() + 30
            while not any(code in m.get("text", "") for m in self.received()):
                self.assertLess(time.time(), deadline, f"SMSC never got the code: {self.received()}")
                time.sleep(0.1)
            message = next(m for m in self.received() if code in m.get("text", ""))
            self.assertEqual(message["destination"], PHONE.lstrip("+"))
            self.assertIn("激活码", message["text"])  # the customer's language
            self.assertEqual(message["data_coding"], 8)  # UCS-2 for Chinese

            status, wallet = http(server.port, "GET", f"/v1/customers/{cid}/wallet", None, key)
            self.assertEqual(wallet["balance_minor"], 3500)

            card = dict(order, delivery="app", payment="card", device={"eid": eid(8)},
                        card={"token": "tok_visa"})
            status, pending = http(server.port, "POST", "/v1/orders", card, key, "journey-2")
            self.assertEqual((status, pending["state"]), (201, "awaiting_payment"))
            deadline = time.time() + 30
            while True:
                status, current = http(server.port, "GET", f"/v1/orders/{pending['id']}", None, key)
                if current["state"] == "code_issued":
                    break
                self.assertLess(time.time(), deadline, f"card order stuck: {current}")
                time.sleep(0.1)
        finally:
            code_, out, err = server.terminate()
        self.assertEqual(code_, 0, err)
        check = run("admin", "ledger", "check", "--data-dir", self.data)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)


if __name__ == "__main__":
    cli_test.STATION = sys.argv.pop(1)
    unittest.main()
