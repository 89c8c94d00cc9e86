"""What the client-compatibility tests share: a real accord node started from `accord testnet`, one per test module.

ACCORD_BIN points at the built `accord` binary (scripts/test.sh sets it).
"""

import json
import os
import random
import re
import socket
import subprocess
import time
from pathlib import Path

import jsonschema
import pytest
import yaml
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


def start_node(out, rpc_limits=None):
    """Starts a single-validator network from `accord testnet` in `out`, with the `[rpc]` settings in `rpc_limits`
    replaced; yields (w3, accounts.json, rpc port) and stops the node, asserting a clean shutdown."""

    def set_limits(net_dir):
        config = net_dir / "node0" / "config.toml"
        text = config.read_text()
        for key, value in (rpc_limits or {}).items():
            text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
            assert n == 1, f"{key} is not in the [rpc] section accord testnet writes"
        config.write_text(text)

    network = Network(out, validators=1, configure=set_limits)
    try:
        yield network.w3[0], network.accounts, network.rpc_port
    finally:
        network.stop()


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """A single-validator network with the default committee (the first 3 dev accounts): (w3, accounts.json)."""
    for w3, accounts, _ in start_node(tmp_path_factory.mktemp("net")):
        yield w3, accounts


SPEC_DIR = Path(__file__).parent / "execution-apis"


class Spec:
    """The execution-apis specification's methods and schemas (vendored in execution-apis/)."""

    def __init__(self):
        self.schemas = {}
        for f in sorted((SPEC_DIR / "schemas").glob("*.yaml")):
            self.schemas.update(yaml.safe_load(f.read_text()))
        self.methods = {}
        for f in sorted((SPEC_DIR / "eth").glob("*.yaml")):
            for m in yaml.safe_load(f.read_text()):
                self.methods[m["name"]] = m

    def check(self, method, result):
        """Raises unless `result` validates against the method's result schema. An empty array is exempt for
        FilterResults: its oneOf lists "array of hashes" and "array of logs", and [] is both."""
        schema = dict(self.methods[method]["result"]["schema"])
        if result == [] and schema.get("$ref", "").endswith("/FilterResults"):
            return
        schema["components"] = {"schemas": self.schemas}
        jsonschema.Draft7Validator(schema).validate(result)


@pytest.fixture(scope="session")
def spec():
    return Spec()


def rpc_call(w3, spec, method, *params):
    """One raw JSON-RPC call; its result, checked against the specification when the method is in it, or the
    error object."""
    reply = w3.provider.make_request(method, list(params))
    if "error" in reply:
        return reply
    if method in spec.methods:
        spec.check(method, reply["result"])
    return reply["result"]


def free_port_block(n):
    """A base port such that base .. base+n-1 are all free (accord testnet gives node I port base + I)."""
    while True:
        base = free_port()
        ok = True
        for port in range(base, base + n):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base


class Network:
    """A network of real `accord start` processes from `accord testnet --validators N` in `out`; node I is
    `self.w3[I]`. `kill(I)` SIGKILLs a node, `start(I)` starts it again on the same home."""

    def __init__(self, out, validators, configure=None):
        self.binary = os.environ.get("ACCORD_BIN", "accord")
        self.out = out
        rpc, metrics, p2p = (free_port_block(validators) for _ in range(3))
        subprocess.run(
            [self.binary, "testnet", "--validators", str(validators), "--out", str(out / "net"),
             "--rpc-port", str(rpc), "--metrics-port", str(metrics), "--p2p-port", str(p2p)],
            check=True, capture_output=True,
        )
        if configure is not None:
            configure(out / "net")
        self.rpc_port = rpc
        self.accounts = json.loads((out / "net" / "accounts.json").read_text())
        self.w3 = [Web3(Web3.HTTPProvider(f"http://127.0.0.1:{rpc + i}")) for i in range(validators)]
        self.procs = [None] * validators
        for i in range(validators):
            self.start(i)
        for i in range(validators):
            self.wait_ready(i)

    def start(self, i):
        log = open(self.out / f"node{i}.log", "a")
        self.procs[i] = subprocess.Popen(
            [self.binary, "start", "--home", str(self.out / "net" / f"node{i}")], stdout=log, stderr=log)

    def wait_ready(self, i, timeout=60):
        deadline = time.time() + timeout
        while not self.w3[i].is_connected():
            assert self.procs[i].poll() is None, f"node {i} exited: " + (self.out / f"node{i}.log").read_text()[-3000:]
            assert time.time() < deadline, f"node {i} did not start"
            time.sleep(0.1)

    def kill(self, i):
        self.procs[i].kill()
        self.procs[i].wait(timeout=30)

    def wait_height(self, i, height, timeout=120):
        deadline = time.time() + timeout
        while self.w3[i].eth.block_number < height:
            assert time.time() < deadline, f"node {i} stuck at {self.w3[i].eth.block_number}, wanted {height}"
            time.sleep(0.2)

    def stop(self):
        """Stops every running node and asserts each shut down cleanly (exit code 0)."""
        running = [(i, p) for i, p in enumerate(self.procs) if p is not None and p.poll() is None]
        for _, p in running:
            p.terminate()
        for i, p in running:
            assert p.wait(timeout=30) == 0, f"node {i} did not shut down cleanly: see {self.out}/node{i}.log"
