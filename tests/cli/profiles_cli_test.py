#!/usr/bin/env python3
"""`station admin profiles import|stats` and the profile stats route, on the real binary; and that
a profile's Ki and OPc never show up in anything the binary prints or stores in the clear.

Usage: profiles_cli_test.py STATION_BINARY
"""
import os
import stat
import sys
import tempfile
import unittest

import cli_test
from cli_test import Server, http, luhn_complete, run

KI = "465B5CE8B199B49FAA5F0A2EE238A6BC"
OPC = "CD63CB71954A9F4E48A5994E37A02BAF"
SECRETS = [KI, KI.lower(), OPC, OPC.lower()]


def iccid(n):
    return luhn_complete(f"8988247{n:011d}")


def row(n, ki=KI, opc=OPC, imsi=None):
    return f"{iccid(n)},{imsi or f'460001{n:09d}'},{ki},{opc}\n"


class ProfilesCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.data = os.path.join(self.tmp.name, "data")
        self.outputs = []  # every stdout/stderr the binary produced, checked for secrets

    def tearDown(self):
        self.tmp.cleanup()

    def write_csv(self, name, text):
        path = os.path.join(self.tmp.name, name)  # outside the data directory
        with open(path, "w", newline="") as f:
            f.write(text)
        return path

    def station(self, *args, env=None):
        result = run(*args, env=env)
        self.outputs += [result.stdout, result.stderr]
        return result

    def stats(self):
        result = self.station("admin", "profiles", "stats", "--data-dir", self.data)
        self.assertEqual(result.returncode, 0, result.stderr)
        return {k: int(v) for k, v in (line.split() for line in result.stdout.splitlines())}

    def assert_no_secret_anywhere(self):
        for text in self.outputs:
            for secret in SECRETS:
                self.assertNotIn(secret, text)
        for root, _, files in os.walk(self.data):
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    content = f.read()
                for secret in SECRETS:
                    self.assertNotIn(secret.encode(), content, name)

    def test_import_prints_the_count_and_creates_a_private_key_file(self):
        path = self.write_csv("batch.csv", "iccid,imsi,ki,opc\r\n" + row(1) + row(2) + row(3))
        result = self.station("admin", "profiles", "import", path, "--data-dir", self.data)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "3\n")
        self.assertIn("Created the secrets key", result.stderr)
        key_file = os.path.join(self.data, "secrets.key")
        self.assertEqual(stat.S_IMODE(os.stat(key_file).st_mode), 0o600)
        self.assertEqual(self.stats()["available"], 3)
        self.assertEqual(len(self.stats()), 9)

        again = self.station("admin", "profiles", "import",
                             self.write_csv("more.csv", "iccid,imsi,ki,opc\n" + row(4)),
                             "--data-dir", self.data)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertNotIn("Created the secrets key", again.stderr)  # the same key, reused
        self.assertEqual(self.stats()["available"], 4)
        self.assert_no_secret_anywhere()

    def test_a_bad_batch_is_refused_whole_with_its_line_numbers(self):
        bad_luhn = iccid(3)[:-1] + str((int(iccid(3)[-1]) + 1) % 10)
        text = ("iccid,imsi,ki,opc\n" + row(1) + f"{bad_luhn},460001000000003,{KI},{OPC}\n" +
                row(4, imsi="46000") + row(5, ki="XYZ") + row(1))
        result = self.station("admin", "profiles", "import", self.write_csv("bad.csv", text),
                              "--data-dir", self.data)
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(result.stdout, "")
        for line in (3, 4, 5, 6):
            self.assertIn(f"line {line}:", result.stderr)
        self.assertNotIn("line 2:", result.stderr)
        self.assertIn("nothing was imported", result.stderr)
        self.assertEqual(sum(self.stats().values()), 0)

        good = self.write_csv("good.csv", "iccid,imsi,ki,opc\n" + row(1) + row(2))
        self.assertEqual(self.station("admin", "profiles", "import", good,
                                      "--data-dir", self.data).returncode, 0)
        duplicate = self.station("admin", "profiles", "import",
                                 self.write_csv("dup.csv", "iccid,imsi,ki,opc\n" + row(7) + row(2)),
                                 "--data-dir", self.data)
        self.assertNotEqual(duplicate.returncode, 0)
        self.assertIn("line 3:", duplicate.stderr)
        self.assertIn("already", duplicate.stderr)
        self.assertEqual(self.stats()["available"], 2)
        self.assert_no_secret_anywhere()

    def test_unknown_columns_and_missing_files_fail(self):
        unknown = self.station("admin", "profiles", "import",
                               self.write_csv("c.csv", "iccid,imsi,ki,opc,colour\n"),
                               "--data-dir", self.data)
        self.assertNotEqual(unknown.returncode, 0)
        self.assertIn("colour", unknown.stderr)
        missing = self.station("admin", "profiles", "import", "/nonexistent.csv",
                               "--data-dir", self.data)
        self.assertNotEqual(missing.returncode, 0)

    def test_a_key_from_the_environment_is_used_and_no_key_file_made(self):
        env = dict(os.environ, STATION_SECRETS_KEY="00" * 32)
        path = self.write_csv("batch.csv", "iccid,imsi,ki,opc\n" + row(1))
        result = self.station("admin", "profiles", "import", path, "--data-dir", self.data,
                              env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.data, "secrets.key")))
        self.assert_no_secret_anywhere()

    def test_the_server_counts_profiles_and_never_logs_secrets(self):
        path = self.write_csv("batch.csv", "iccid,imsi,ki,opc\n" + row(1) + row(2))
        self.assertEqual(self.station("admin", "profiles", "import", path,
                                      "--data-dir", self.data).returncode, 0)
        server = Server(self.data).wait_ready()  # the access log is on by default
        try:
            created = self.station("admin", "api-key", "create", "--scope", "support",
                                   "--data-dir", self.data)
            self.assertEqual(created.returncode, 0, created.stderr)
            key = created.stdout.strip().splitlines()[-1]
            status, body = http(server.port, "GET", "/v1/admin/profiles/stats", key=key)
            self.assertEqual(status, 200)
            self.assertEqual(body["available"], 2)
            self.assertEqual(body["installed"], 0)
        finally:
            code, out, err = server.terminate()
        self.outputs += [out, err]
        self.assertEqual(code, 0, err)
        self.assertNotIn("Created the secrets key", err)  # the import made it already
        self.assert_no_secret_anywhere()


if __name__ == "__main__":
    cli_test.STATION = sys.argv.pop(1)
    unittest.main(verbosity=2)
