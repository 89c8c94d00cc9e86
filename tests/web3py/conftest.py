"""What the client-compatibility tests share: a real accord node started from `accord testnet`, one per test module.

ACCORD_BIN points at the built `accord` binary (scripts/test.sh sets it).
"""

import json
import os
import random
import socket
import subprocess
import time

import pytest
from web3 import Web3


def free_port():
    """A free port below the kernel's ephemeral range (32768+), so no outgoing connection takes it before the node
    binds it (as node/tests/common picks ports)."""
    while True:
        port = random.randrange(10_000, 32_000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """A single-validator network with the default committee (the first 3 dev accounts): (w3, accounts.json)."""
    binary = os.environ.get("ACCORD_BIN", "accord")
    out = tmp_path_factory.mktemp("net")
    rpc, metrics, p2p = free_port(), free_port(), free_port()
    subprocess.run(
        [binary, "testnet", "--validators", "1", "--out", str(out / "net"), "--rpc-port", str(rpc),
         "--metrics-port", str(metrics), "--p2p-port", str(p2p)],
        check=True, capture_output=True,
    )
    log = open(out / "node.log", "w")
    proc = subprocess.Popen([binary, "start", "--home", str(out / "net" / "node0")], stdout=log, stderr=log)
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{rpc}"))
    deadline = time.time() + 60
    while not w3.is_connected():
        assert proc.poll() is None, "node exited: " + (out / "node.log").read_text()
        assert time.time() < deadline, "node did not start"
        time.sleep(0.1)
    accounts = json.loads((out / "net" / "accounts.json").read_text())
    yield w3, accounts
    proc.terminate()
    assert proc.wait(timeout=30) == 0, "clean shutdown"
