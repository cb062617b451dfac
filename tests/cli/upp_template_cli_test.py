#!/usr/bin/env python3
"""The operator's profile template (`--smdp-upp-template`, docs/rsp.md) end to end: a vendor-style
DER profile package (a header without a profile type, a nonStandard element, PINs by file path in
the USIM, PUK/PIN codes, AKA parameters with a sample key and sqnOptions, an element of a later
version of the format) is checked when `station smdp` starts; a download with `station lpa`
installs a profile built from it, with the inventory's ICCID, IMSI and codes. A template of the
wrong structure stops start-up with the fault named.

Usage: upp_template_cli_test.py STATION_BINARY
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import cli_test
from cli_test import free_port, luhn_complete, run
from smdp_cli_test import Smdp, executed


def tlv(tag, content):
    """One DER element; `tag` is its identifier octets."""
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(octets)]) + octets
    return bytes(tag) + length + content


def ctx(n, content=b"", constructed=False):
    """A context-specific element [n] (one or two identifier octets)."""
    flags = 0xA0 if constructed else 0x80
    tag = [flags | n] if n < 31 else [flags | 0x1F, n]
    return tlv(tag, content)


def cons(n, *children):
    return ctx(n, b"".join(children), constructed=True)


def integer(n, value):
    return ctx(n, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def pe_header(identification):
    return cons(0, integer(1, identification))


ID_MF = bytes.fromhex("67810F010201")
ID_USIM = bytes.fromhex("67810F010204")


def vendor_template():
    """Placeholders where Station writes per profile; everything else is the vendor's."""
    code = lambda reference, value, *rest: tlv([0x30], integer(0, reference) + ctx(1, value)
                                                   + b"".join(rest))
    return b"".join([
        cons(0, integer(0, 2), integer(1, 3), ctx(3, b"\xff" * 10),
             cons(5, ctx(1), ctx(4)), cons(6)),
        cons(16, pe_header(1), ctx(1, ID_MF), cons(2),
             cons(4, cons(1, ctx(2, b"\x2f\xe2")), ctx(3, b"\xff" * 10))),
        cons(9, pe_header(2), ctx(1, b"\x2a\x03"), ctx(2, b"\xca\xfe")),  # nonStandard
        cons(3, pe_header(3), cons(1, code(1, b"0" * 8), code(129, b"0" * 8))),
        cons(2, pe_header(4), cons(1, cons(0, code(1, b"1111\xff\xff\xff\xff", integer(2, 1)),
                                          code(10, b"0" * 8)))),
        cons(19, pe_header(5), ctx(1, ID_USIM), cons(3, ctx(3, b"\xff" * 9))),
        cons(2, pe_header(6), cons(1, ctx(1, b"\x7f\xf1"))),  # the USIM's PINs: the MF's
        cons(4, pe_header(7),
             cons(1, cons(1, integer(0, 1), ctx(1, b"\x00"), ctx(2, bytes(range(16))),
                          ctx(3, bytes(range(16))))),
             ctx(2, b"\x0a")),  # sqnOptions
        cons(40, ctx(0, b"\x01")),  # an element of a later version
        cons(10, pe_header(8)),
    ])


class UppTemplateTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.data = os.path.join(self.tmp.name, "data")
        self.pki = os.path.join(self.tmp.name, "pki")
        self.card = os.path.join(self.tmp.name, "card.json")
        self.assertEqual(run("pki", "init", self.pki).returncode, 0)

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, content):
        path = os.path.join(self.tmp.name, name)
        with open(path, "wb") as f:
            f.write(content)
        return path

    def test_a_wrong_template_stops_start_up(self):
        broken = vendor_template()
        broken = broken[:broken.rindex(cons(10, pe_header(8)))]  # no PE-End
        for content, fault in [(broken, "PE-End"), (b"not DER", "profile template")]:
            path = self.write("bad.der", content)
            started = subprocess.run(
                [cli_test.STATION, "smdp", "--data-dir", self.data, "--pki", self.pki,
                 "--smdp-listen", f"127.0.0.1:{free_port()}", "--smdp-upp-template", path],
                capture_output=True, text=True, timeout=60)
            said = started.stdout + started.stderr
            self.assertNotEqual(started.returncode, 0, said)
            self.assertIn("smdp_upp_template", said)
            self.assertIn(fault, said)

    def test_download_installs_a_profile_built_from_the_template(self):
        template = self.write("vendor.der", vendor_template())
        csv = self.write("profiles.csv", b"")
        iccid, imsi = luhn_complete("898603000000000001"), "460030000000001"
        with open(csv, "w") as f:
            f.write("iccid,imsi,ki,opc,pin1,puk1,adm1\n")
            f.write(f"{iccid},{imsi},{'A' * 32},{'B' * 32},4321,87654321,12345678\n")
        imported = run("admin", "profiles", "import", csv, "--data-dir", self.data)
        self.assertEqual(imported.returncode, 0, imported.stderr)
        created = run("admin", "api-key", "create", "--scope", "admin", "--data-dir", self.data)
        self.assertEqual(created.returncode, 0, created.stderr)
        key = created.stdout.strip().splitlines()[-1]

        smdp = Smdp(self.data, self.pki, ["--smdp-upp-template", template]).wait_ready()
        try:
            status, ordered = smdp.call("/gsma/rsp2/es2plus/downloadOrder", {}, key)
            self.assertTrue(status == 200 and executed(ordered), ordered)
            status, confirmed = smdp.call("/gsma/rsp2/es2plus/confirmOrder",
                                          {"iccid": iccid, "releaseFlag": "true"}, key)
            self.assertTrue(status == 200 and executed(confirmed), confirmed)
            code = f"LPA:1${smdp.address}${confirmed['matchingId']}"
            download = run("lpa", "download", "--ac", code, "--euicc", self.card,
                           "--pki", self.pki)
            self.assertEqual(download.returncode, 0, download.stdout + download.stderr)
            self.assertEqual(download.stdout.strip(), iccid)
        finally:
            exit_code, _, err = smdp.terminate()
        self.assertEqual(exit_code, 0, err)
        for secret in ["4321", "87654321", "12345678", "A" * 32]:
            self.assertNotIn(secret, err)
        listed = json.loads(run("lpa", "profiles", "--euicc", self.card, "--json").stdout)
        self.assertEqual([p["iccid"] for p in listed], [iccid])
        with open(self.card) as f:
            card = json.load(f)
        self.assertEqual([p["imsi"] for p in card["profiles"]], [imsi])


if __name__ == "__main__":
    cli_test.STATION = sys.argv.pop(1)
    unittest.main()
