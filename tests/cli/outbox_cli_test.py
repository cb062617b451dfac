#!/usr/bin/env python3
"""`station admin outbox list` and the smpp_* and smtp_* serve options, on the real binary: the
server binds to an SMSC (tests/messaging/smsc_peer.pl on Debian's Net::SMPP), unbinds on SIGTERM,
and never prints the SMPP or SMTP password; --help documents the mail server's options.

Usage: outbox_cli_test.py STATION_BINARY
"""
import os
import subprocess
import sys
import tempfile
import time
import unittest

import cli_test
from cli_test import Server, run

PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "messaging", "smsc_peer.pl")
PASSWORD = "pw7x9q2k"


class OutboxCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.data = os.path.join(self.tmp.name, "data")

    def tearDown(self):
        self.tmp.cleanup()

    def start_peer(self):
        ready = os.path.join(self.tmp.name, "peer.port")
        peer = subprocess.Popen(["perl", PEER, "--port", "0", "--ready", ready, "--log",
                                 os.path.join(self.tmp.name, "peer.jsonl"), "--seconds", "60"])
        self.addCleanup(lambda: (peer.kill(), peer.wait()))
        deadline = time.time() + 20
        while not os.path.exists(ready):
            self.assertLess(time.time(), deadline, "SMSC peer did not start")
            time.sleep(0.05)
        with open(ready) as f:
            return int(f.read())

    def test_list_on_an_empty_store_prints_nothing(self):
        result = run("admin", "outbox", "list", "--limit", "5", "--data-dir", self.data)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "")
        refused = run("admin", "outbox", "list", "--limit", "0", "--data-dir", self.data)
        self.assertNotEqual(refused.returncode, 0)

    def test_serve_binds_to_the_smsc_and_never_prints_the_password(self):
        port = self.start_peer()
        server = Server(self.data, extra=["--smpp-host", "127.0.0.1", "--smpp-port", str(port),
                                          "--smpp-system-id", "station",
                                          "--smpp-password", PASSWORD]).wait_ready()
        code, out, err = server.terminate()
        self.assertEqual(code, 0, err)
        self.assertIn("bound as station", err)
        self.assertNotIn(PASSWORD, out + err)

    def test_an_over_long_smpp_password_is_refused_at_start(self):
        result = run("serve", "--data-dir", self.data, "--listen", "127.0.0.1:0",
                     "--smpp-host", "127.0.0.1", "--smpp-password", "123456789")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("smpp_password", result.stderr)
        self.assertNotIn("123456789", result.stderr)

    def test_serve_documents_the_mail_server_and_never_prints_its_password(self):
        usage = run("serve", "--help")
        for option in ("--smtp-url", "--smtp-from", "--smtp-username", "--smtp-password",
                       "--smtp-ca-file", "--smtp-require-tls", "STATION_SMTP_PASSWORD"):
            self.assertIn(option, usage.stdout)
        server = Server(self.data, extra=["--smtp-url", "smtp://127.0.0.1:2525",
                                          "--smtp-from", "noreply@station.example",
                                          "--smtp-username", "station",
                                          "--smtp-password", PASSWORD]).wait_ready()
        code, out, err = server.terminate()
        self.assertEqual(code, 0, err)
        self.assertIn("email: sending through smtp://127.0.0.1:2525 as noreply@station.example",
                      err)
        self.assertNotIn(PASSWORD, out + err)

    def test_credentials_in_the_smtp_url_are_refused_at_start(self):
        result = run("serve", "--data-dir", self.data, "--listen", "127.0.0.1:0",
                     "--smtp-url", "smtp://station:" + PASSWORD + "@127.0.0.1",
                     "--smtp-from", "noreply@station.example")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("smtp_url may not carry credentials", result.stderr)


if __name__ == "__main__":
    cli_test.STATION = sys.argv.pop(1)
    unittest.main()
