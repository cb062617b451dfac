#!/usr/bin/env python3
"""`station admin devices import FILE` and the device check route, on the real binary: the
catalogue shipped in the binary answers without the repository, and an import updates it.

Usage: devices_cli_test.py STATION_BINARY
"""
import json
import os
import sys
import tempfile
import unittest
import urllib.error

import cli_test
from cli_test import Server, http, luhn_complete, run

EID = "89049032123451234512345678901235"  # GSMA SGP.29's example


HEADER = "brand,model,kind,esim_capable,tacs\n"


class DevicesCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.data = os.path.join(self.tmp.name, "data")
        # Run from an empty directory: the server must not need the repository's data/.
        self.cwd = os.getcwd()
        os.chdir(self.tmp.name)

    def tearDown(self):
        os.chdir(self.cwd)
        self.tmp.cleanup()

    def write_csv(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", newline="") as f:
            f.write(text)
        return path

    def import_file(self, path):
        return run("admin", "devices", "import", path, "--data-dir", self.data)

    def test_import_prints_the_count_and_upserts(self):
        path = self.write_csv("a.csv", HEADER + "Acme,Phone 1,phone,true,99000001\r\n"
                                       "Acme,Watch 1,watch,false,\r\n")
        result = self.import_file(path)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "2\n")
        again = self.import_file(self.write_csv("b.csv", HEADER + "ACME,phone 1,phone,false,\n"))
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(again.stdout, "1\n")
        self.assertIn("updated", again.stderr)

    def test_a_bad_file_is_refused_whole_with_its_line_numbers(self):
        text = (HEADER + "Acme,Good,phone,true,99000002\n"
                "Acme,Bad kind,fridge,true,\n"
                "Acme,Bad tac,phone,true,123\n"
                "Acme,Good,phone,false,\n")
        result = self.import_file(self.write_csv("bad.csv", text))
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(result.stdout, "")
        for line in (3, 4, 5):
            self.assertIn(f"line {line}:", result.stderr)
        self.assertNotIn("line 2:", result.stderr)
        self.assertIn("nothing was imported", result.stderr)
        unknown = self.import_file(self.write_csv("c.csv", "brand,model,colour\n"))
        self.assertNotEqual(unknown.returncode, 0)
        self.assertIn("colour", unknown.stderr)
        missing = self.import_file("/nonexistent.csv")
        self.assertNotEqual(missing.returncode, 0)

    def test_the_server_answers_from_the_shipped_catalogue_and_sees_imports(self):
        imei = luhn_complete("99000001000001")
        server = Server(self.data).wait_ready()
        try:
            created = run("admin", "api-key", "create", "--scope", "app", "--data-dir", self.data)
            self.assertEqual(created.returncode, 0, created.stderr)
            key = created.stdout.strip().splitlines()[-1]
            status, body = http(server.port, "GET", "/v1/devices/check?model=iPhone%2015", key=key)
            self.assertEqual(status, 200, body)
            self.assertIs(body["esim_capable"], True)
            self.assertEqual(body["device"]["brand"], "Apple")
            status, body = http(server.port, "GET", "/v1/devices/check?eid=" + EID, key=key)
            self.assertEqual(status, 200, body)
            self.assertIs(body["esim_capable"], True)
            status, body = http(server.port, "GET", "/v1/devices/check?imei=" + imei, key=key)
            self.assertEqual(status, 200, body)
            self.assertIsNone(body["esim_capable"])  # not in the catalogue yet
            with self.assertRaises(urllib.error.HTTPError) as refused:
                http(server.port, "GET", "/v1/devices/check?imei=123", key=key)
            self.assertEqual(refused.exception.code, 400)
            self.assertEqual(json.loads(refused.exception.read())["code"], "invalid_imei")

            path = self.write_csv("a.csv", HEADER + "Acme,Phone 1,phone,true,99000001\n")
            imported = self.import_file(path)
            self.assertEqual(imported.returncode, 0, imported.stderr)
            status, body = http(server.port, "GET", "/v1/devices/check?imei=" + imei, key=key)
            self.assertEqual(status, 200, body)
            self.assertIs(body["esim_capable"], True)
            self.assertEqual(body["device"]["model"], "Phone 1")
        finally:
            code, _, err = server.terminate()
        self.assertEqual(code, 0, err)

if __name__ == "__main__":
    cli_test.STATION = os.path.abspath(sys.argv.pop(1))  # the tests run in a temporary cwd
    unittest.main(verbosity=2)
