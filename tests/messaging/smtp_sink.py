#!/usr/bin/env python3
"""A real SMTP server for the email channel's tests: Debian's python3-aiosmtpd on loopback.

Each accepted message is parsed with Python's own email package (an implementation independent
of Station's) and written as one JSON line: envelope, decoded subject and body, raw headers.
Recipients starting with "busy" get 451 (try later), "gone" get 550 (refused for good).
With --tls-dir it makes a self-signed certificate for 127.0.0.1 there (cert.pem, the CA the
client trusts) and requires STARTTLS; with --user/--password it requires AUTH (after TLS).

Usage: smtp_sink.py --ready FILE --log FILE [--tls-dir DIR] [--user U --password P]
The port it listens on (chosen by the system) is written to FILE once it accepts connections.
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl
import subprocess

from aiosmtpd.smtp import SMTP, AuthResult


class Sink:
    def __init__(self, log):
        self.log = log

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("busy"):
            return "451 4.3.2 busy, try again later"
        if address.startswith("gone"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
            "subject": str(message["subject"]),
            "body": message.get_content(),
            "headers": {k: str(v) for k, v in message.items()},
            "raw_headers": raw.split(b"\r\n\r\n", 1)[0].decode("ascii"),
            "seven_bit": all(b < 0x80 for b in raw),
        }
        with open(self.log, "a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return "250 2.0.0 accepted"


def make_certificate(directory):
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def main(args):
    tls = make_certificate(args.tls_dir) if args.tls_dir else None

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode() == args.user and
              auth_data.password.decode() == args.password)
        return AuthResult(success=ok)

    def factory():
        return SMTP(Sink(args.log), hostname="sink.test", tls_context=tls,
                    require_starttls=tls is not None,
                    authenticator=authenticator if args.user else None,
                    auth_required=bool(args.user), auth_require_tls=tls is not None)

    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with open(args.ready + ".tmp", "w") as out:
        out.write(str(port))
    os.rename(args.ready + ".tmp", args.ready)
    await asyncio.sleep(args.seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ready", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--tls-dir")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--seconds", type=float, default=120)
    asyncio.run(main(parser.parse_args()))
