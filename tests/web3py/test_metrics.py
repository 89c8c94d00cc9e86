"""/metrics, /healthz and /readyz of a real node, read as Prometheus and a probe would: the exposition parses with
prometheus_client's text-format parser, every family follows Prometheus naming (the `accord_` prefix, counters
ending in `_total`, histograms in base units), and the figures move with the chain."""

import tomllib
import urllib.error
import urllib.request

import pytest
from eth_account import Account
from prometheus_client.parser import text_string_to_metric_families

from conftest import start_node


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    out = tmp_path_factory.mktemp("metrics")
    for w3, accounts, _ in start_node(out):
        config = tomllib.loads((out / "net" / "node0" / "config.toml").read_text())
        yield w3, accounts, "http://" + config["metrics"]["listen"]


def scrape(base):
    text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}, text


def value(families, name, labels=None):
    family = families[name]
    for s in family.samples:
        if s.name in (name, name + "_total") and (labels is None or s.labels == labels):
            return s.value
    raise KeyError(name)


def test_metrics_parse_and_follow_prometheus_naming(node):
    w3, accounts, base = node
    families, text = scrape(base)
    assert text.endswith("\n")
    assert len(families) >= 20, sorted(families)
    for name, family in families.items():
        assert name.startswith("accord_"), name
        assert family.documentation, f"{name} has no HELP"
        if family.type == "counter":
            # The parser strips `_total` from a counter family's name; its samples carry it.
            assert all(s.name.endswith("_total") for s in family.samples), name
        if family.type == "histogram":
            assert name.endswith("_seconds"), f"histogram {name} is not in seconds"
            assert any(s.name.endswith("_bucket") and s.labels.get("le") == "+Inf" for s in family.samples), name


def test_metrics_move_with_the_chain_and_probes_answer(node):
    w3, accounts, base = node
    before, _ = scrape(base)
    acct = Account.from_key(accounts[0]["private_key"])
    tx = {"to": Account.create().address, "value": 1, "gas": 21_000, "gasPrice": w3.eth.gas_price,
          "nonce": w3.eth.get_transaction_count(acct.address, "pending"), "chainId": w3.eth.chain_id}
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction), timeout=60)
    assert receipt.status == 1
    after, _ = scrape(base)
    assert value(after, "accord_txs_committed") >= value(before, "accord_txs_committed") + 1
    assert value(after, "accord_height") >= receipt.blockNumber
    commits = [s.value for s in after["accord_block_commit_seconds"].samples if s.name.endswith("_count")]
    assert commits and commits[0] >= 1, "the block commit histogram counted the block"
    for probe in ("/healthz", "/readyz"):
        assert urllib.request.urlopen(base + probe, timeout=10).status == 200, probe
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(base + "/nothing", timeout=10)
    assert missing.value.code == 404
