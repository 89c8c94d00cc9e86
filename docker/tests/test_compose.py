"""The docker-compose network as an operator runs it: the image built by docker/build-image.sh, `docker-compose up`
in docker/, 4 validators and 1 observer in their own containers, and a web3.py client outside the containers that
deploys the example token through one node and reads it from others.

ACCORD_BIN is the accord binary the image is built from (scripts/test.sh passes its debug build). Docker is on the
project's machines: a missing engine fails this test, it is never skipped.
"""

import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from web3 import Web3

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
sys.path.insert(0, str(ROOT / "scripts"))
import scenarios  # noqa: E402

IMAGE = "accord:compose-test"
NODES = ["node0", "node1", "node2", "node3", "node4"]


def free_port(taken):
    while True:
        port = random.randrange(10_000, 32_000)
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port


class Compose:
    """`docker-compose` in docker/, under a project name of its own and with host ports chosen free."""

    def __init__(self, net_dir):
        self.project = f"accordtest{os.getpid()}"
        taken = set()
        self.rpc = {n: free_port(taken) for n in NODES}
        self.metrics = {n: free_port(taken) for n in NODES}
        self.env = dict(os.environ, ACCORD_IMAGE=IMAGE, ACCORD_NET_DIR=str(net_dir))
        for n in NODES:
            self.env[f"ACCORD_{n.upper()}_RPC"] = str(self.rpc[n])
            self.env[f"ACCORD_{n.upper()}_METRICS"] = str(self.metrics[n])
        self.net_dir = net_dir

    def run(self, *args, check=True):
        return subprocess.run(["docker-compose", "-p", self.project, *args], cwd=DOCKER, env=self.env, check=check,
                              capture_output=True, text=True, timeout=300)

    def container(self, service):
        return self.run("ps", "-q", service).stdout.strip()

    def inspect(self, service):
        return json.loads(subprocess.run(["docker", "inspect", self.container(service)], check=True,
                                         capture_output=True, text=True).stdout)[0]

    def w3(self, node):
        return Web3(Web3.HTTPProvider(f"http://127.0.0.1:{self.rpc[node]}", request_kwargs={"timeout": 30}))


@pytest.fixture(scope="module")
def compose(tmp_path_factory):
    binary = os.environ.get("ACCORD_BIN", str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "accord"))
    subprocess.run([str(DOCKER / "build-image.sh"), "--binary", binary, "--tag", IMAGE], check=True, timeout=600)
    c = Compose(tmp_path_factory.mktemp("docker-net"))
    try:
        c.run("up", "-d")
        deadline = time.time() + 180
        while True:
            health = {n: c.inspect(n)["State"].get("Health", {}).get("Status") for n in NODES}
            if all(h == "healthy" for h in health.values()):
                break
            assert time.time() < deadline, f"containers not healthy after 180 s: {health}"
            time.sleep(2)
        yield c
    finally:
        logs = c.run("logs", "--no-color", check=False).stdout
        (Path(os.environ.get("ACCORD_TEST_LOGS", c.net_dir)) / "compose.log").write_text(logs)
        c.run("down", "-v", "--remove-orphans", check=False)
        left = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={c.project}"],
                              capture_output=True, text=True).stdout.split()
        assert not left, f"containers left behind: {left}"


def test_each_node_is_its_own_container_and_host(compose):
    init = compose.inspect("init")
    assert init["State"]["Status"] == "exited" and init["State"]["ExitCode"] == 0, init["State"]
    seen_ips, seen_ids = set(), set()
    for n in NODES:
        info = compose.inspect(n)
        assert info["State"]["Running"], f"{n}: {info['State']}"
        assert info["Config"]["Hostname"] == n
        networks = info["NetworkSettings"]["Networks"]
        (ip,) = [v["IPAddress"] for k, v in networks.items() if k.endswith("_accord")]
        seen_ips.add(ip)
        seen_ids.add(info["Id"])
        mounts = [m for m in info["Mounts"] if m["Destination"] == "/node"]
        assert len(mounts) == 1 and mounts[0]["Type"] == "volume", f"{n}: {info['Mounts']}"
        assert mounts[0]["Name"].endswith(f"_{n}")
    assert len(seen_ips) == 5 and len(seen_ids) == 5
    # The genesis names every validator by its host name, as the nodes report it.
    validators = compose.w3("node4").provider.make_request("accord_validators", [])["result"]
    assert [v["p2pAddress"] for v in validators["validators"]] == [f"node{i}:30300" for i in range(4)], validators
    assert len(validators["observers"]) == 1, validators


def test_a_client_outside_deploys_through_one_node_and_reads_from_others(compose):
    accounts = json.loads((compose.net_dir / "accounts.json").read_text())
    chain = scenarios.Chain(compose.w3("node1"), accounts)
    artifact = scenarios.artifact("token")
    constructor = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"]).constructor(
        "Accord Dollar", "ACD", 10**24)
    token = chain.contract("token", chain.send("operator", constructor, "deploy token").contractAddress)
    operator = chain.addr("operator")
    receiver = chain.addr("supplier")
    target = chain.send("operator", token.functions.transfer(receiver, 12_345), "transfer 12,345 ACD").blockNumber
    for n in NODES:
        w3 = compose.w3(n)
        deadline = time.time() + 60
        while w3.eth.block_number < target:
            assert time.time() < deadline, f"{n} did not reach block {target}"
            time.sleep(0.5)
        there = w3.eth.contract(address=token.address, abi=scenarios.artifact("token")["abi"])
        assert there.functions.symbol().call() == "ACD"
        assert there.functions.balanceOf(receiver).call() == 12_345
        assert there.functions.balanceOf(operator).call() == 10**24 - 12_345
    heads = {n: compose.w3(n).eth.get_block(target).hash for n in NODES}
    assert len(set(heads.values())) == 1, heads


def test_readyz_and_metrics_are_served_to_the_host(compose):
    import urllib.request

    for n in NODES:
        port = compose.metrics[n]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as r:
            assert r.status == 200 and r.read() == b"ready\n"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            text = r.read().decode()
        peers = [line for line in text.splitlines() if line.startswith("accord_peers ")]
        assert peers and int(float(peers[0].split()[1])) == 4, f"{n}: {peers}"


def test_the_readme_commands_run_as_written(compose):
    """docker/README.md's block (deploy the example contracts from the host, read a block through the image's own
    accord): as written, with this test's host port, accounts directory and compose project."""
    import re

    (block,) = re.findall(r"```sh\n(.*?)```", (DOCKER / "README.md").read_text(), re.S)
    script = block.replace("http://127.0.0.1:8545 docker/net", f"http://127.0.0.1:{compose.rpc['node0']} {compose.net_dir}")
    assert script != block, "the block deploys through node0's published port"
    env = dict(compose.env, COMPOSE_PROJECT_NAME=compose.project)
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, f"{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    assert "settlement: 0x" in out.stdout and "bills: 0x" in out.stdout, out.stdout[-2000:]
    latest = json.loads(out.stdout[out.stdout.rindex("\n{"):])
    assert int(latest["number"], 16) > 10, "the observer's latest block holds the flows' transactions"
    assert json.loads((compose.net_dir / "contracts.json").read_text())["token"]["address"].startswith("0x")
