#!/usr/bin/env python3
"""The virtual eUICC and the LPA's local commands on the real binary: `station euicc init` from a
test PKI (state and key files private), `station lpa profiles --json` and refusals for unknown
profiles, and `station euicc bridge` lending the card to a third-party LPA process that speaks the
stdio JSON protocol (../shared/rsp/lpa-stdio-schema.json): its APDUs reach the ISD-R on a
logical channel, its HTTP requests go out over HTTPS verified against the PKI's CI (a server with
another certificate is not reached), and its own output passes through.

Usage: euicc_cli_test.py STATION_BINARY
"""
import http.server
import json
import os
import ssl
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import unittest

import cli_test
from cli_test import run

ISD_R_AID = "A0000005591010FFFFFFFF8900000100"

# A stand-in for a third-party LPA: asks for GetEID through APDUs, then for two HTTPS requests.
FAKE_LPA = textwrap.dedent("""
    import json, sys
    def ask(kind, payload):
        print(json.dumps({"type": kind, "payload": payload}), flush=True)
        return json.loads(sys.stdin.readline())["payload"]
    print("fake-lpa: starting", flush=True)
    assert ask("apdu", {"func": "connect", "param": ""})["ecode"] == 0
    channel = ask("apdu", {"func": "logic_channel_open", "param": sys.argv[1]})["ecode"]
    assert channel > 0, channel
    cla = "%02X" % (0x80 | channel)
    first = ask("apdu", {"func": "transmit", "param": cla + "E2910006BF3E035C015A00"})["data"]
    assert first.upper().startswith("61"), first
    answer = ask("apdu", {"func": "transmit", "param": "%02X" % channel + "C00000" + first[2:]})
    print("eid-answer " + answer["data"].upper(), flush=True)
    assert ask("apdu", {"func": "logic_channel_close", "param": "%02X" % channel})["ecode"] == 0
    for url in sys.argv[2:]:
        reply = ask("http", {"url": url, "tx": "7B7D",
                             "headers": ["Content-Type: application/json",
                                         "X-Admin-Protocol: gsma/rsp/v2.2.0"]})
        print("http %s %d %s" % (url, reply["rcode"], bytes.fromhex(reply["rx"]).decode()),
              flush=True)
    sys.exit(3)
""")


class Echo(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        reply = json.dumps({"got": body.decode(), "protocol": self.headers["X-Admin-Protocol"]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply.encode())

    def log_message(self, *args):
        pass


def https_server(cert, key):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class EuiccCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.pki = os.path.join(self.tmp.name, "pki")
        self.state = os.path.join(self.tmp.name, "euicc.json")
        result = run("pki", "init", self.pki)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(os.path.join(self.pki, "eid.txt")) as f:
            self.eid = f.read().strip()

    def tearDown(self):
        self.tmp.cleanup()

    def test_init_profiles_and_refusals(self):
        result = run("euicc", "init", "--euicc", self.state, "--pki", self.pki)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), self.eid)
        for path in (self.state, self.state + ".key"):
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, path)
        with open(self.state) as f:
            text = f.read()
        self.assertNotIn("PRIVATE KEY", text)  # the eUICC's key is sealed
        again = run("euicc", "init", "--euicc", self.state, "--pki", self.pki)
        self.assertNotEqual(again.returncode, 0)

        listed = run("lpa", "profiles", "--euicc", self.state, "--json")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertEqual(json.loads(listed.stdout), [])
        unknown = run("lpa", "enable", "8988247000001234567", "--euicc", self.state)
        self.assertEqual(unknown.returncode, 1)
        self.assertIn("no profile 8988247000001234567", unknown.stderr)
        missing = run("lpa", "profiles", "--euicc", os.path.join(self.tmp.name, "none.json"))
        self.assertEqual(missing.returncode, 1)
        self.assertIn("not_found", missing.stderr)

    def test_bridge_lends_the_card_and_verified_https_to_another_lpa(self):
        trusted = https_server(os.path.join(self.pki, "dp_tls.pem"),
                               os.path.join(self.pki, "dp_tls.key.pem"))
        other_pki = os.path.join(self.tmp.name, "other")
        self.assertEqual(run("pki", "init", other_pki).returncode, 0)
        untrusted = https_server(os.path.join(other_pki, "dp_tls.pem"),
                                 os.path.join(other_pki, "dp_tls.key.pem"))
        for server in (trusted, untrusted):
            self.addCleanup(server.server_close)
            self.addCleanup(server.shutdown)
        lpa = os.path.join(self.tmp.name, "fake_lpa.py")
        with open(lpa, "w") as f:
            f.write(FAKE_LPA)
        good = f"https://localhost:{trusted.server_address[1]}/gsma/rsp2/es9plus/x"
        bad = f"https://localhost:{untrusted.server_address[1]}/gsma/rsp2/es9plus/x"
        result = subprocess.run(
            [cli_test.STATION, "euicc", "bridge", "--euicc", self.state, "--pki", self.pki, "--",
             sys.executable, lpa, ISD_R_AID, good, bad],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 3, result.stdout + result.stderr)  # the LPA's code
        lines = result.stdout.splitlines()
        self.assertIn("fake-lpa: starting", lines)
        self.assertIn("eid-answer BF3E125A10" + self.eid + "9000", lines)
        self.assertIn(f'http {good} 200 {{"got": "{{}}", "protocol": "gsma/rsp/v2.2.0"}}', lines)
        self.assertIn(f"http {bad} 0 ", lines)  # its certificate is not from the trusted CI
        self.assertFalse(any(line.startswith('{"type"') for line in lines))


if __name__ == "__main__":
    cli_test.STATION = sys.argv.pop(1)
    unittest.main()
