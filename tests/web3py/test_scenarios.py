"""The business contracts end to end on a 4-validator network of real node processes, driven by web3.py from the
contracts' artifacts (contracts/out/*.json) with the flows of scripts/scenarios.py: one full flow of each
scenario with a validator killed and restarted in the middle, ending with identical state on every node; and PvP
atomicity when the second leg cannot be paid."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Network

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import scenarios  # noqa: E402


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    network = Network(tmp_path_factory.mktemp("four"), validators=4)
    try:
        yield network
    finally:
        network.stop()


@pytest.fixture(scope="module")
def deployed(net):
    """Cash token and the three business contracts, deployed through node 0, with the parties funded."""
    chain = scenarios.Chain(net.w3[0], net.accounts)
    cash = chain.deploy("token", "Accord Dollar", "ACD", 10**24)
    business = scenarios.deploy_business(chain, cash.address)
    scenarios.fund_cash(chain, cash, business)
    return chain, cash, business


def views_on(w3, chain, cash, business):
    """What every node must agree on: cash and deposit balances, voucher and bill states."""
    def on(name, address):
        return w3.eth.contract(address=address, abi=scenarios.artifact(name)["abi"]).functions
    s, r, b = (on(name, business[name].address) for name in ("settlement", "receivables", "bills"))
    t = on("token", cash.address)
    roles = ["core", "supplier", "sub_supplier", "bank_a", "bank_b"]
    return {
        "cash": [t.balanceOf(chain.addr(x)).call() for x in roles],
        "deposits": [s.balanceOf(ccy, chain.addr(x)).call() for ccy in (b"USD", b"EUR") for x in ("bank_a", "bank_b")],
        "vouchers": [r.voucher(i).call() for i in (1, 2)],
        "bills": [b.bill(i).call() for i in (1, 2, 3)],
    }


def test_every_flow_with_a_validator_killed_midway_ends_identical_on_every_node(net, deployed):
    chain, cash, business = deployed
    before = {role: cash.functions.balanceOf(chain.addr(role)).call() for role in ["core", "supplier", "sub_supplier", "bank_a", "bank_b"]}

    settlement = scenarios.SettlementFlow(chain, business["settlement"])
    settlement.run()
    # bank_a: 1,000,000 − 110,000 (PvP) − 5,000 (HTLC) − 1,000 (instruction) − 10,000 (net) USD, + 100,000 EUR.
    assert settlement.balances() == {"bank_a": (874_000, 100_000), "bank_b": (126_000, 900_000)}

    receivables = scenarios.ReceivablesFlow(chain, business["receivables"], cash)
    bills = scenarios.BillsFlow(chain, business["bills"], cash)
    receivables.confirm_and_finance()
    bills.issue_to_discount()

    # A validator dies mid-flow; three of four keep committing.
    net.kill(3)
    receivables.repay()
    net.start(3)
    bills.present_and_pay()

    after = {role: cash.functions.balanceOf(chain.addr(role)).call() for role in before}
    delta = {role: after[role] - before[role] for role in before}
    # Receivables: core repaid 1,000,000 (600,000 to supplier, 400,000 to bank_a, which had paid sub_supplier
    # the discounted price). Bills: bank_a paid 500,000 (200,000 to sub_supplier, 300,000 to bank_b, which had
    # paid sub_supplier its discounted price).
    discounted_bill = 300_000 - delta["bank_b"]
    financed_voucher = delta["sub_supplier"] - 200_000 - discounted_bill
    assert 0 < discounted_bill <= 300_000 and 0 < financed_voucher <= 400_000, "prices less (seconds of) interest"
    assert delta["core"] == -1_000_000
    assert delta["supplier"] == 600_000
    assert delta["bank_a"] == -financed_voucher + 400_000 - 500_000
    assert sum(delta.values()) == 0, "cash only moved between the parties"
    r, b = business["receivables"].functions, business["bills"].functions
    assert [r.voucher(i).call()[6] for i in (1, 2)] == [4, 4], "both pieces repaid"
    assert [b.bill(i).call()[8] for i in (1, 2, 3)] == [10, 7, 7], "split, then both parts paid"

    # Identical state everywhere: same block hash and state root at the head, same answers from the contracts.
    head = chain.w3.eth.block_number
    for i in range(4):
        net.wait_height(i, head)
    blocks = [w3.eth.get_block(head) for w3 in net.w3]
    assert len({(blk.hash, blk.stateRoot) for blk in blocks}) == 1, "the nodes diverge"
    views = [views_on(w3, chain, cash, business) for w3 in net.w3]
    assert all(v == views[0] for v in views)


def test_pvp_with_a_failing_second_leg_leaves_both_balances_unchanged(net, deployed):
    chain, _, _ = deployed
    settlement = scenarios.SettlementFlow(chain, chain.deploy("settlement"))
    settlement.setup()
    trade = settlement.propose_pvp(usd=50_000, eur=45_000)
    f, a = settlement.s.functions, chain.addr
    # bank_b sends almost all its EUR back to the issuer: it can no longer pay the second leg.
    chain.send("bank_b", f.transfer(b"EUR", a("eur_issuer"), 990_000), "bank_b returns 990,000 EUR")
    before = settlement.balances()
    receipt = chain.send("bank_a", f.settleTrade(trade), "settle with the second leg unpayable",
                         expect_success=False, gas=1_000_000)
    assert receipt.logs == []
    head = receipt.blockNumber
    for i, w3 in enumerate(net.w3):
        net.wait_height(i, head)
        s = w3.eth.contract(address=settlement.s.address, abi=scenarios.artifact("settlement")["abi"]).functions
        assert {x: (s.balanceOf(b"USD", a(x)).call(), s.balanceOf(b"EUR", a(x)).call()) for x in ("bank_a", "bank_b")} == before
        assert s.trade(trade).call()[7] == 2, "still accepted, not settled"
    assert before == {"bank_a": (1_000_000, 0), "bank_b": (0, 10_000)}


def test_the_walkthrough_of_docs_scenarios_runs_as_written(net, deployed, tmp_path, monkeypatch):
    """docs/scenarios.md's Python blocks, in order, in one session, and its shell command, against this network:
    the page's commands work as written (with the node's URL and a testnet/ directory like the main command's)."""
    chain, cash, business = deployed
    scenarios.SettlementFlow(chain, business["settlement"]).setup()
    repo = Path(__file__).resolve().parents[2]
    testnet = tmp_path / "testnet"
    testnet.mkdir()
    (testnet / "accounts.json").write_text(json.dumps(net.accounts))
    record = {"token": {"address": cash.address}, **{n: {"address": c.address} for n, c in business.items()}}
    (testnet / "contracts.json").write_text(json.dumps(record))
    (tmp_path / "scripts").symlink_to(repo / "scripts")
    url = net.w3[0].provider.endpoint_uri
    doc = (repo / "docs" / "scenarios.md").read_text()
    code = "\n".join(re.findall(r"```python\n(.*?)```", doc, re.S)).replace("http://127.0.0.1:8545", url)
    assert "chain.send" in code
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(repo / "docs" / "scenarios.md"), "exec"), {})

    shell = re.search(r"```sh\n(/tmp/accord-venv/bin/python scripts/scenarios.py settlement)", doc)
    assert shell, "the page's command to rerun a flow"
    run = subprocess.run([sys.executable, "scripts/scenarios.py", "settlement", "--rpc", url, "--net", str(testnet)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "settled, both legs in one transaction" in run.stdout
