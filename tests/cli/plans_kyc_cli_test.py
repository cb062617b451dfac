#!/usr/bin/env python3
"""`station admin plans create|update|list` and `station admin kyc list|approve|reject` on the real
binary, against a running server for the customer's side (submitting an identity); and that a
document number never shows up in what the binary prints or stores.

Usage: plans_kyc_cli_test.py STATION_BINARY
"""
import os
import sys
import tempfile
import unittest
import urllib.error

import cli_test
from cli_test import Server, http, run

DOCUMENT_NUMBER = "E55667788"


def fields(line):
    return line.rstrip("\n").split("\t")


class PlansCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.data = os.path.join(self.tmp.name, "data")

    def tearDown(self):
        self.tmp.cleanup()

    def plans(self, *args):
        return run("admin", "plans", *args, "--data-dir", self.data)

    def create(self, code="CN-10GB-30D", *extra):
        return self.plans("create", "--code", code, "--name-zh", "中国大陆 10GB 30天",
                          "--name-en", "China 10 GB 30 days", "--data-mb", "10240",
                          "--validity-days", "30", "--price-minor", "4900", "--currency", "CNY",
                          "--country", "CN", *extra)

    def test_create_update_and_list(self):
        created = self.create()
        self.assertEqual(created.returncode, 0, created.stderr)
        line = fields(created.stdout)
        self.assertEqual(line[0], "CN-10GB-30D")
        self.assertEqual(line[1], "1")
        self.assertTrue(line[2].startswith("pln_"))
        self.assertEqual(line[3:], ["active", "4900", "CNY", "10240", "30", "CN",
                                    "China 10 GB 30 days", "中国大陆 10GB 30天"])

        unlimited = self.plans("create", "--code", "WORLD", "--name-zh", "全球", "--name-en",
                               "World", "--unlimited", "--validity-days", "7", "--price-minor",
                               "9900", "--currency", "CNY", "--inactive")
        self.assertEqual(unlimited.returncode, 0, unlimited.stderr)
        self.assertEqual(fields(unlimited.stdout)[3], "inactive")
        self.assertEqual(fields(unlimited.stdout)[6], "unlimited")
        self.assertEqual(fields(unlimited.stdout)[8], "-")

        # Only the options given change; the rest is carried over into version 2.
        updated = self.plans("update", "CN-10GB-30D", "--price-minor", "3900",
                             "--country", "CN", "--country", "HK")
        self.assertEqual(updated.returncode, 0, updated.stderr)
        line2 = fields(updated.stdout)
        self.assertEqual(line2[1], "2")
        self.assertNotEqual(line2[2], line[2])
        self.assertEqual(line2[4], "3900")
        self.assertEqual(line2[6], "10240")
        self.assertEqual(line2[8], "CN,HK")
        self.assertEqual(line2[9], "China 10 GB 30 days")

        same = self.plans("update", "CN-10GB-30D", "--price-minor", "3900")
        self.assertEqual(same.returncode, 0, same.stderr)
        self.assertEqual(fields(same.stdout)[1], "2")
        self.assertIn("nothing changed", same.stderr)

        listed = self.plans("list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertEqual([fields(l)[0] for l in listed.stdout.splitlines()], ["CN-10GB-30D"])
        everything = self.plans("list", "--all")
        self.assertEqual([fields(l)[:2] for l in everything.stdout.splitlines()],
                         [["CN-10GB-30D", "2"], ["WORLD", "1"]])

        audit = run("admin", "audit", "list", "--data-dir", self.data)
        self.assertIn("plan.create", audit.stdout)
        self.assertIn("plan.update", audit.stdout)
        self.assertIn("cli:", audit.stdout)

    def test_bad_plans_are_refused(self):
        self.assertEqual(self.create().returncode, 0)
        duplicate = self.create()
        self.assertNotEqual(duplicate.returncode, 0)
        self.assertIn("conflict", duplicate.stderr)
        self.assertEqual(duplicate.stdout, "")
        for extra, word in ((["--country", "EU"], "country"),):
            bad = self.create("OTHER", *extra)
            self.assertNotEqual(bad.returncode, 0)
            self.assertIn(word, bad.stderr)
        no_data = self.plans("create", "--code", "X", "--name-zh", "x", "--name-en", "x",
                             "--validity-days", "7", "--price-minor", "1", "--currency", "CNY")
        self.assertNotEqual(no_data.returncode, 0)
        self.assertIn("--unlimited", no_data.stderr)
        free = self.plans("create", "--code", "FREE", "--name-zh", "x", "--name-en", "x",
                          "--unlimited", "--validity-days", "7", "--price-minor", "0",
                          "--currency", "CNY")
        self.assertNotEqual(free.returncode, 0)
        self.assertIn("amount_out_of_range", free.stderr)
        missing = self.plans("update", "NOPE", "--price-minor", "5")
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("not_found", missing.stderr)
        self.assertEqual(len(self.plans("list", "--all").stdout.splitlines()), 1)

    def test_the_server_serves_what_the_cli_made(self):
        self.assertEqual(self.create().returncode, 0)
        server = Server(self.data).wait_ready()
        try:
            key = run("admin", "api-key", "create", "--scope", "partner",
                      "--data-dir", self.data).stdout.strip().splitlines()[-1]
            status, body = http(server.port, "GET", "/v1/plans", key=key)
            self.assertEqual(status, 200)
            self.assertEqual([p["code"] for p in body["plans"]], ["CN-10GB-30D"])
            self.assertEqual(body["plans"][0]["name"]["zh-CN"], "中国大陆 10GB 30天")
        finally:
            code, _, err = server.terminate()
        self.assertEqual(code, 0, err)


class KycCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.data = os.path.join(self.tmp.name, "data")
        self.outputs = []

    def tearDown(self):
        self.tmp.cleanup()

    def kyc(self, *args):
        result = run("admin", "kyc", *args, "--data-dir", self.data)
        self.outputs += [result.stdout, result.stderr]
        return result

    def submit_two_identities(self):
        """Starts a server, creates two customers and submits their identities over HTTP."""
        server = Server(self.data).wait_ready()
        try:
            key = run("admin", "api-key", "create", "--scope", "app",
                      "--data-dir", self.data).stdout.strip().splitlines()[-1]
            customers = []
            for name in ("李雷", "韩梅梅"):
                status, customer = http(server.port, "POST", "/v1/customers",
                                        {"name": name, "currency": "CNY"}, key=key)
                self.assertEqual(status, 201)
                status, identity = http(server.port, "POST",
                                        f"/v1/customers/{customer['id']}/identity",
                                        {"document_type": "passport",
                                         "document_number": DOCUMENT_NUMBER,
                                         "full_name": name, "date_of_birth": "1990-02-28",
                                         "nationality": "CN"}, key=key)
                self.assertEqual(status, 201)
                self.assertEqual(identity["state"], "pending")
                self.assertEqual(identity["document_last4"], "7788")
                customers.append(customer["id"])
            with self.assertRaises(urllib.error.HTTPError) as refused:
                http(server.port, "POST", f"/v1/admin/kyc/{customers[0]}/approve", {}, key=key)
            self.assertEqual(refused.exception.code, 403)
        finally:
            code, out, err = server.terminate()
        self.outputs += [out, err]
        self.assertEqual(code, 0, err)
        return customers

    def test_list_approve_reject(self):
        first, second = self.submit_two_identities()
        listed = self.kyc("list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        rows = [fields(l) for l in listed.stdout.splitlines()]
        self.assertEqual([r[0] for r in rows], [first, second])
        self.assertEqual([r[1] for r in rows], ["pending", "pending"])
        self.assertEqual(rows[0][3:8], ["passport", "7788", "CN", "1990-02-28", "李雷"])

        approved = self.kyc("approve", first)
        self.assertEqual(approved.returncode, 0, approved.stderr)
        self.assertEqual(fields(approved.stdout)[1], "verified")
        again = self.kyc("approve", first)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("conflict", again.stderr)

        no_reason = run("admin", "kyc", "reject", second, "--data-dir", self.data)
        self.assertNotEqual(no_reason.returncode, 0)
        rejected = self.kyc("reject", second, "--reason", "photo unreadable")
        self.assertEqual(rejected.returncode, 0, rejected.stderr)
        self.assertEqual(fields(rejected.stdout)[1], "rejected")
        self.assertEqual(fields(rejected.stdout)[8], "photo unreadable")

        self.assertEqual(self.kyc("list").stdout, "")
        self.assertEqual(len(self.kyc("list", "--state", "all").stdout.splitlines()), 2)
        self.assertEqual(fields(self.kyc("list", "--state", "verified").stdout)[0], first)
        bad_state = self.kyc("list", "--state", "approved")
        self.assertNotEqual(bad_state.returncode, 0)
        bad_id = self.kyc("approve", "not-a-customer")
        self.assertNotEqual(bad_id.returncode, 0)
        unknown = self.kyc("approve", "cus_0000000000001")
        self.assertNotEqual(unknown.returncode, 0)
        self.assertIn("not_found", unknown.stderr)

        audit = run("admin", "audit", "list", "--data-dir", self.data).stdout
        for action in ("identity.submit", "identity.approve", "identity.reject"):
            self.assertIn(action, audit)
        self.outputs.append(audit)

        # The document number is in no output and in no file of the data directory.
        for text in self.outputs:
            self.assertNotIn(DOCUMENT_NUMBER, text)
        for root, _, files in os.walk(self.data):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    self.assertNotIn(DOCUMENT_NUMBER.encode(), f.read(), name)


if __name__ == "__main__":
    cli_test.STATION = sys.argv.pop(1)
    unittest.main(verbosity=2)
