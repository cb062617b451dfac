#!/usr/bin/env python3
"""Crash test: every acknowledged top-up survives kill -9, exactly once.

Starts a real `station serve`, drives concurrent top-ups over HTTP, kills the server with
SIGKILL mid-load, restarts it, and checks that
  - every acknowledged top-up is still there: retrying its Idempotency-Key replays it (same id);
  - retrying the top-ups whose answer was lost applies each at most once;
  - every wallet balance equals the sum of its distinct top-ups;
  - `station admin ledger check` passes.
Runs against SQLite, and against PostgreSQL when STATION_TEST_POSTGRES_URL is set (required when
STATION_REQUIRE_POSTGRES=1).

Usage: crash_test.py STATION_BINARY [sqlite|postgres]
"""
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

CUSTOMERS = 8
WRITERS = 16
LOAD_SECONDS = 2.0
SEED = int(os.environ.get("STATION_TEST_SEED", random.randrange(1 << 30)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, data_dir, database, port):
        self.args = [binary, "serve", "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}",
                     "--threads", "2"]
        if database:
            self.args += ["--database", database]
        self.port = port
        self.process = None
        self.log = open(os.path.join(data_dir, "server.log"), "ab")

    def start(self):
        self.process = subprocess.Popen(self.args, stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                status, _, _ = request(self.port, "GET", "/readyz", None, {})
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become ready")

    def kill9(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        if self.process.wait(timeout=30) != 0:
            raise RuntimeError(f"graceful stop exited {self.process.returncode}")


def request(port, method, path, body, headers, timeout=10):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = json.dumps(body) if body is not None else None
        if payload is not None:
            headers = dict(headers, **{"Content-Type": "application/json"})
        connection.request(method, path, payload, headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, dict(response.getheaders()), json.loads(data) if data else None
    finally:
        connection.close()


def run(binary, engine):
    rng = random.Random(SEED)
    print(f"crash_test engine={engine} seed={SEED}", flush=True)
    with tempfile.TemporaryDirectory() as data_dir:
        database = None
        if engine == "postgres":
            database = os.environ.get("STATION_TEST_POSTGRES_URL")
            if not database:
                if os.environ.get("STATION_REQUIRE_POSTGRES") == "1":
                    raise RuntimeError("STATION_TEST_POSTGRES_URL is not set")
                print("SKIP: no PostgreSQL")
                return
            subprocess.run(["psql", database, "-q", "-c",
                            "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"], check=True)
        store = ["--data-dir", data_dir] + (["--database", database] if database else [])
        key = subprocess.run([binary, "admin", "api-key", "create", "--scope", "admin"] + store,
                             check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        auth = {"Authorization": f"Bearer {key}"}
        server = Server(binary, data_dir, database, free_port())
        server.start()

        customers = []
        for i in range(CUSTOMERS):
            status, _, body = request(server.port, "POST", "/v1/customers",
                                      {"name": f"Crash {i}", "currency": "CNY"}, auth)
            assert status == 201, (status, body)
            customers.append(body["id"])

        acknowledged = {}  # key -> (customer, amount, topup id)
        in_doubt = {}      # key -> (customer, amount): sent, answer lost
        lock = threading.Lock()
        stop = threading.Event()

        def writer(index):
            local = random.Random(SEED + index)
            n = 0
            while not stop.is_set():
                n += 1
                k = f"crash-{index}-{n}"
                customer = local.choice(customers)
                amount = local.randint(1, 10_000)
                with lock:
                    in_doubt[k] = (customer, amount)
                try:
                    status, _, body = request(server.port, "POST", "/v1/topups",
                                              {"customer_id": customer, "amount_minor": amount,
                                               "currency": "CNY", "channel": "app"},
                                              dict(auth, **{"Idempotency-Key": k}), timeout=5)
                except (OSError, http.client.HTTPException):
                    continue  # stays in doubt
                if status == 201:
                    with lock:
                        del in_doubt[k]
                        acknowledged[k] = (customer, amount, body["id"])

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
        for t in threads:
            t.start()
        time.sleep(LOAD_SECONDS * (0.5 + rng.random()))
        server.kill9()
        stop.set()
        for t in threads:
            t.join()
        print(f"killed with {len(acknowledged)} acknowledged, {len(in_doubt)} in doubt", flush=True)
        assert acknowledged, "no top-up was acknowledged before the kill"

        server.start()
        expected = {c: 0 for c in customers}
        for k, (customer, amount, topup_id) in acknowledged.items():
            status, headers, body = request(server.port, "POST", "/v1/topups",
                                            {"customer_id": customer, "amount_minor": amount,
                                             "currency": "CNY", "channel": "app"},
                                            dict(auth, **{"Idempotency-Key": k}))
            assert status == 201 and body["id"] == topup_id, (k, status, body)
            assert headers.get("Idempotent-Replayed") == "true", (k, headers)
            expected[customer] += amount
        for k, (customer, amount) in in_doubt.items():
            status, _, body = request(server.port, "POST", "/v1/topups",
                                      {"customer_id": customer, "amount_minor": amount,
                                       "currency": "CNY", "channel": "app"},
                                      dict(auth, **{"Idempotency-Key": k}))
            assert status == 201, (k, status, body)
            expected[customer] += amount
        for customer in customers:
            status, _, body = request(server.port, "GET", f"/v1/customers/{customer}/wallet",
                                      None, auth)
            assert status == 200 and body["balance_minor"] == expected[customer], \
                (customer, body, expected[customer])
        server.stop()

        check = subprocess.run([binary, "admin", "ledger", "check"] + store,
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        print(f"ok: {len(acknowledged)} acknowledged top-ups survived kill -9 exactly once; "
              f"{len(in_doubt)} in-doubt retried; ledger check passed", flush=True)


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "sqlite")
