"""/metrics, /healthz and /readyz of a real node, read as Prometheus and a probe would: the exposition parses with
prometheus_client's text-format parser, every family follows Prometheus naming (the `accord_` prefix, counters
ending in `_total`, histograms in base units), and the figures move with the chain."""

import json
import re
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

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
    assert value(after, "accord_gas_used") >= value(before, "accord_gas_used") + 21_000
    commits = [s.value for s in after["accord_block_commit_seconds"].samples if s.name.endswith("_count")]
    assert commits and commits[0] >= 1, "the block commit histogram counted the block"
    for probe in ("/healthz", "/readyz"):
        assert urllib.request.urlopen(base + probe, timeout=10).status == 200, probe
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(base + "/nothing", timeout=10)
    assert missing.value.code == 404


def exported_series(families):
    """Every series name a query may use: gauges by name, counters with `_total`, histograms with `_bucket`,
    `_count` and `_sum`, for every family the node declares (with or without samples yet)."""
    names = set()
    for name, family in families.items():
        names |= {"counter": {name + "_total"}, "histogram": {name + s for s in ("_bucket", "_count", "_sum")}}.get(
            family.type, {name})
    return names


def test_rpc_latency_and_errors_are_counted_per_method(node):
    w3, accounts, base = node
    w3.eth.block_number
    w3.eth.block_number
    bad = w3.provider.make_request("eth_getBlockByNumber", ["not-a-block", False])
    assert "error" in bad
    w3.provider.make_request("no_suchMethod", [])
    families, _ = scrape(base)
    samples = {(s.name, s.labels.get("method")): s.value for s in families["accord_rpc_request_duration_seconds"].samples
               if s.name.endswith("_count")}
    assert samples[("accord_rpc_request_duration_seconds_count", "eth_blockNumber")] >= 2
    assert samples[("accord_rpc_request_duration_seconds_count", "unknown")] >= 1, "unknown methods share one label"
    assert not any(m == "no_suchMethod" for _, m in samples), "client-chosen names never become labels"
    errors = {s.labels["method"]: s.value for s in families["accord_rpc_errors"].samples}
    assert errors.get("eth_getBlockByNumber", 0) >= 1 and "eth_blockNumber" not in errors, errors


def test_the_grafana_dashboard_queries_only_exported_metrics(node):
    w3, accounts, base = node
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "docker" / "grafana" / "accord-dashboard.json")
                           .read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    queries += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    assert len(queries) >= 20, queries
    used = set(re.findall(r"\baccord_[a-z0-9_]+", " ".join(queries)))
    families, _ = scrape(base)
    missing = used - exported_series(families)
    assert not missing, f"the dashboard queries metrics the node does not export: {sorted(missing)}"
    # And the dashboard covers each part of the node an operator watches.
    for part in ("accord_height", "accord_consensus_view", "accord_peers", "accord_sync_agreed_height",
                 "accord_mempool_size", "accord_rpc_request_duration_seconds_bucket", "accord_gas_used_total"):
        assert part in used, part
