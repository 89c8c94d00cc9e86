"""The console commands of the README ("Try it") and of docs/governance.md, run as written in bash against real
networks. Only what a reader adapts anyway is adapted: the path of the built `accord`, and the ports of the test
network where a command names them (commands that use the default RPC get it from ACCORD_RPC, which every console
command reads). The contract guide, the operator guide's walkthrough, the scenarios and docker/README.md are run by
node/tests/contract_cli.rs, node/tests/genesis_cli.rs, test_scenarios.py and docker/tests.
"""

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import Network

ROOT = Path(__file__).resolve().parents[2]


def sh_blocks(doc):
    return re.findall(r"```sh\n(.*?)```", (ROOT / doc).read_text(), re.S)


def run(script, cwd, env, timeout=240):
    """Runs `script` in bash in its own process group (nodes it starts in the background included) and kills the
    group afterwards; returns stdout, failing with stdout and stderr when bash fails."""
    proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    assert proc.returncode == 0, f"the commands failed ({proc.returncode}):\n{out}\n{err}"
    return out


def console_env(network):
    binary = Path(os.environ.get("ACCORD_BIN", "accord")).resolve()
    env = dict(os.environ, ACCORD_RPC=f"http://127.0.0.1:{network.rpc_port}")
    env["PATH"] = f"{binary.parent}:{env['PATH']}"
    return env, str(binary)


@pytest.fixture
def four(tmp_path):
    """Four validators from `accord testnet` in `tmp_path/net`, each test its own (both docs change the chain)."""
    network = Network(tmp_path, validators=4)
    try:
        yield network, tmp_path
    finally:
        network.stop()


def test_the_readme_try_it_block(four):
    network, out = four
    (out / "testnet").symlink_to(out / "net")
    env, binary = console_env(network)
    blocks = [b for b in sh_blocks("README.md") if "$accord" in b]
    assert len(blocks) == 1, blocks
    script = blocks[0]
    assert script.startswith("accord=/tmp/accord-target/release/accord\n")
    script = script.replace("accord=/tmp/accord-target/release/accord\n", f"accord={binary}\n", 1)
    for i in range(4):
        script = script.replace(f"http://127.0.0.1:{8545 + i}", f"http://127.0.0.1:{network.rpc_port + i}")
    stdout = run(script, out, env)
    assert '"height"' in stdout, "accord status"
    assert re.search(r"^\d+$", stdout, re.M), "the proposal's id"
    assert "maxBlockTransactions" in stdout, "gov list shows the open proposal"
    assert "committed" in stdout.lower(), "the bench report"
    assert '"result":"0x' in stdout.replace(" ", ""), "eth_blockNumber through curl"


def test_the_governance_walkthrough(four):
    network, out = four
    env, _ = console_env(network)
    blocks = sh_blocks("docs/governance.md")
    assert len(blocks) == 3, blocks
    stdout = run("".join(blocks), out, env)
    assert "passed" in stdout, "the set-param proposal passed"
    config = network.w3[0].provider.make_request("accord_systemConfig", [])["result"]
    assert int(str(config["params"]["maxBlockTransactions"]), 0) == 500, config
    # The new observer joined: it is on the node list and connected to the validators.
    validators = network.w3[0].provider.make_request("accord_validators", [])["result"]
    assert len(validators["observers"]) == 1, validators
    assert stdout.count("validator") >= 4, f"node9's peers are the four validators:\n{stdout}"
