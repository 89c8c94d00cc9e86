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
    binary = os.environ.get("ACCORD_BIN", "accord")
    rpc, metrics, p2p = free_port(), free_port(), free_port()
    subprocess.run(
        [binary, "testnet", "--validators", "1", "--out", str(out / "net"), "--rpc-port", str(rpc),
         "--metrics-port", str(metrics), "--p2p-port", str(p2p)],
        check=True, capture_output=True,
    )
    config = out / "net" / "node0" / "config.toml"
    text = config.read_text()
    for key, value in (rpc_limits or {}).items():
        text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        assert n == 1, f"{key} is not in the [rpc] section accord testnet writes"
    config.write_text(text)
    log = open(out / "node.log", "w")
    proc = subprocess.Popen([binary, "start", "--home", str(out / "net" / "node0")], stdout=log, stderr=log)
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{rpc}"))
    deadline = time.time() + 60
    while not w3.is_connected():
        assert proc.poll() is None, "node exited: " + (out / "node.log").read_text()
        assert time.time() < deadline, "node did not start"
        time.sleep(0.1)
    accounts = json.loads((out / "net" / "accounts.json").read_text())
    yield w3, accounts, rpc
    proc.terminate()
    assert proc.wait(timeout=30) == 0, "clean shutdown"


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
