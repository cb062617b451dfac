#!/usr/bin/env python3
"""`station pki init DIR` on the real binary: a private SGP.22 test PKI whose chains an
independent verifier (the openssl command) accepts — CI -> EUM -> eUICC and CI -> DPauth, DPpb,
DPtls — on both curves, with private keys readable by the owner only, and no silent overwrite.

Usage: pki_cli_test.py STATION_BINARY
"""
import os
import stat
import subprocess
import sys
import tempfile
import unittest

import cli_test
from cli_test import run


def openssl_verify(directory, leaf, untrusted=None):
    args = ["openssl", "verify", "-x509_strict", "-CAfile", os.path.join(directory, "ci.pem")]
    if untrusted:
        args += ["-untrusted", os.path.join(directory, untrusted)]
    args.append(os.path.join(directory, leaf))
    return subprocess.run(args, capture_output=True, text=True)


class PkiCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def check_pki(self, directory):
        for name in ("ci", "eum", "euicc", "dp_auth", "dp_pb", "dp_tls"):
            self.assertTrue(os.path.exists(os.path.join(directory, name + ".pem")), name)
            key = os.path.join(directory, name + ".key.pem")
            if os.path.exists(key):
                self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600, key)
        self.assertTrue(os.path.exists(os.path.join(directory, "euicc.key.pem")))
        result = openssl_verify(directory, "eum.pem")
        self.assertEqual(result.returncode, 0, "eum.pem: " + result.stdout + result.stderr)
        # The EUM's nameConstraints permit the EIDs that start with its prefix (SGP.22), which
        # X.509's whole-attribute matching cannot express: a standard verifier's only objection
        # to the eUICC certificate is that subtree, and Station's own chain check
        # (rsp_crypto/pki.cc, tested with the eUICC) matches the prefix instead.
        result = openssl_verify(directory, "euicc.pem", untrusted="eum.pem")
        errors = [line for line in (result.stdout + result.stderr).splitlines()
                  if line.startswith("error ") and "verification failed" not in line]
        self.assertEqual(len(errors), 1, result.stdout + result.stderr)
        self.assertIn("permitted subtree violation", errors[0])
        for leaf in ("dp_auth.pem", "dp_pb.pem", "dp_tls.pem"):
            result = openssl_verify(directory, leaf)
            self.assertEqual(result.returncode, 0, leaf + ": " + result.stdout + result.stderr)

    def test_init_on_both_curves_chains_for_openssl(self):
        for curve in ("nist", "brainpool"):
            directory = os.path.join(self.tmp.name, curve)
            result = run("pki", "init", directory, "--curve", curve)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.check_pki(directory)
            with open(os.path.join(directory, "eid.txt")) as f:
                eid = f.read().strip()
            self.assertRegex(eid, r"^[0-9]{32}$")
            self.assertEqual(int(eid) % 97, 1)  # MOD 97-10 check digits

    def test_an_existing_pki_is_not_overwritten_without_force(self):
        directory = os.path.join(self.tmp.name, "pki")
        self.assertEqual(run("pki", "init", directory).returncode, 0)
        with open(os.path.join(directory, "ci.pem")) as f:
            first = f.read()
        again = run("pki", "init", directory)
        self.assertNotEqual(again.returncode, 0)
        with open(os.path.join(directory, "ci.pem")) as f:
            self.assertEqual(f.read(), first)
        forced = run("pki", "init", directory, "--force")
        self.assertEqual(forced.returncode, 0, forced.stderr)
        self.check_pki(directory)

    def test_bad_options_are_refused(self):
        directory = os.path.join(self.tmp.name, "bad")
        self.assertNotEqual(run("pki", "init", directory, "--curve", "secp384r1").returncode, 0)
        self.assertNotEqual(run("pki", "init", directory, "--eid", "1234").returncode, 0)


if __name__ == "__main__":
    cli_test.STATION = sys.argv.pop(1)
    unittest.main()
