"""The explorer page the node serves at /explorer, rendered in headless Chromium (Debian's chromium-headless-shell)
against a real node: after a web3.py client deploys the example token and transfers some, the page shows the
committed transaction with its receipt and logs, the block, the accounts, the latest blocks and the validator set.

A screenshot of each view is kept in $ACCORD_TEST_ARTIFACTS (default $CARGO_TARGET_DIR/test-artifacts).
"""

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from web3 import Web3

from conftest import Network

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import scenarios  # noqa: E402

CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium")
ARTIFACTS = Path(os.environ.get("ACCORD_TEST_ARTIFACTS",
                                Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "test-artifacts"))


def chromium(*args, timeout=90):
    assert CHROMIUM, "chromium-headless-shell is not installed (scripts/setup.sh installs it)"
    out = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-dev-shm-usage", "--virtual-time-budget=8000", *args],
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"chromium failed: {out.stderr[-2000:]}"
    return out.stdout


def render(url):
    """The page's DOM once its script has fetched and drawn everything."""
    return chromium("--dump-dom", url)


def screenshot(url, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    path.unlink(missing_ok=True)
    chromium(f"--screenshot={path}", "--window-size=1400,1000", url)
    assert path.exists() and path.stat().st_size > 10_000, f"no screenshot at {path}"
    return path


def text_of(dom):
    return html.unescape(re.sub(r"<[^>]+>", " ", dom))


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    network = Network(tmp_path_factory.mktemp("net"), validators=1)
    try:
        chain = scenarios.Chain(network.w3[0], network.accounts, say=lambda _: None)
        artifact = scenarios.artifact("token")
        constructor = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"]).constructor(
            "Accord Dollar", "ACD", 10**24)
        token = chain.contract("token", chain.send("operator", constructor, "deploy token").contractAddress)
        receipt = chain.send("operator", token.functions.transfer(chain.addr("supplier"), 4_242), "transfer")
        yield chain, token, receipt, f"http://127.0.0.1:{network.rpc_port}/explorer"
    finally:
        network.stop()


def test_the_page_is_served_on_the_rpc_port(chain):
    import urllib.request

    _, _, _, url = chain
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.status == 200
        assert r.headers["content-type"].startswith("text/html")
        assert "connect-src 'self'" in r.headers["content-security-policy"]
        assert b"Accord explorer" in r.read()


def test_a_committed_transaction_with_its_receipt_and_logs(chain):
    chain_, token, receipt, url = chain
    tx_hash = receipt.transactionHash.to_0x_hex()
    page = f"{url}#/tx/{tx_hash}"
    dom = render(page)
    assert 'id="transaction"' in dom, dom[-3000:]
    text = text_of(dom)
    assert tx_hash in text
    assert re.search(r'id="tx-status">success<', dom), "the receipt's status"
    assert str(receipt.blockNumber) in text
    assert token.address.lower() in text.lower(), "the transaction's recipient, the token"
    # The Transfer event: its topic, the receiver in the topics, the amount in the data.
    transfer_topic = Web3.keccak(text="Transfer(address,address,uint256)").to_0x_hex()
    assert transfer_topic in text, "the log's topic"
    assert chain_.addr("supplier")[2:].lower() in text.lower()
    assert f"{4_242:064x}" in text, "the log's data"
    assert "Logs (1)" in text
    screenshot(page, "explorer-transaction")


def test_the_block_the_accounts_and_the_home_page(chain):
    chain_, token, receipt, url = chain
    tx_hash = receipt.transactionHash.to_0x_hex()
    block = text_of(render(f"{url}#/block/{receipt.blockNumber}"))
    assert f"Block {receipt.blockNumber}" in block and tx_hash in block and "Transactions (1)" in block

    contract = text_of(render(f"{url}#/address/{token.address}"))
    assert "(contract)" in contract
    sender = text_of(render(f"{url}#/address/{chain_.addr('operator')}"))
    assert "externally owned" in sender and "nonce 2" in re.sub(r"\s+", " ", sender)

    home = render(f"{url}#/")
    text = text_of(home)
    assert 'id="latest-blocks"' in home and 'id="validators"' in home
    assert f"#/block/{receipt.blockNumber}" in home, "the latest blocks list the transaction's block"
    validators = chain_.w3.provider.make_request("accord_validators", [])["result"]["validators"]
    assert validators[0]["address"].lower() in text.lower()
    assert "node0" in text, "the status line names the node"
    screenshot(f"{url}#/", "explorer-home")
