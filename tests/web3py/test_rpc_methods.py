"""The standard methods clients call beyond the basics (polling filters, block transaction counts and indices,
access lists, fee-history rewards), each answer checked against the execution-apis specification's schemas.

Run by scripts/test.sh after the Rust tests; ACCORD_BIN points at the built `accord` binary.
"""

import json
import time
from pathlib import Path

import pytest
from eth_account import Account

from conftest import rpc_call

TOKEN = json.loads((Path(__file__).resolve().parents[2] / "contracts" / "out" / "token.json").read_text())


@pytest.fixture(scope="module")
def chain(node, spec):
    """A chain with a priced transfer and a token deployed and moved (so there are logs): the state the checks
    read. Returns a dict of what was made."""
    w3, accounts = node
    payer = Account.from_key(accounts[5]["private_key"])
    owner = Account.from_key(accounts[6]["private_key"])

    def send(acct, tx):
        tx = {**tx, "nonce": w3.eth.get_transaction_count(acct.address), "chainId": 1337}
        signed = acct.sign_transaction(tx)
        return w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction), timeout=30)

    def built(fn):
        return fn.build_transaction({"from": owner.address, "nonce": 0, "gasPrice": 0, "chainId": 1337})

    paid = send(payer, {"to": Account.create().address, "value": 1, "gas": 21000, "gasPrice": 7 * 10**9})
    Token = w3.eth.contract(abi=TOKEN["abi"], bytecode=TOKEN["bytecode"])
    deployed = send(owner, built(Token.constructor("Spec Dollar", "SPD", 10**24)))
    token = w3.eth.contract(address=deployed.contractAddress, abi=TOKEN["abi"])
    bob = Account.create().address
    moved = send(owner, built(token.functions.transfer(bob, 5)))
    assert paid.status == deployed.status == moved.status == 1
    return {"w3": w3, "spec": spec, "paid": paid, "moved": moved, "token": token, "owner": owner, "bob": bob}


def call(chain, method, *params):
    return rpc_call(chain["w3"], chain["spec"], method, *params)


def test_block_transaction_counts_and_indices(chain):
    block = chain["w3"].eth.get_block(chain["paid"].blockNumber)
    n, h = hex(block.number), block.hash.to_0x_hex()
    assert call(chain, "eth_getBlockTransactionCountByNumber", n) == hex(len(block.transactions))
    assert call(chain, "eth_getBlockTransactionCountByHash", h) == hex(len(block.transactions))
    i = block.transactions.index(chain["paid"].transactionHash)
    by_number = call(chain, "eth_getTransactionByBlockNumberAndIndex", n, hex(i))
    by_hash = call(chain, "eth_getTransactionByBlockHashAndIndex", h, hex(i))
    assert by_number == by_hash == call(chain, "eth_getTransactionByHash", chain["paid"].transactionHash.to_0x_hex())
    assert by_number["hash"] == chain["paid"].transactionHash.to_0x_hex()
    # Out of range and unknown blocks are null, as the specification says.
    assert call(chain, "eth_getTransactionByBlockNumberAndIndex", n, hex(len(block.transactions))) is None
    assert call(chain, "eth_getBlockTransactionCountByHash", "0x" + "ab" * 32) is None
    assert call(chain, "eth_getBlockTransactionCountByNumber", hex(10**9)) is None
    assert call(chain, "eth_getUncleCountByBlockNumber", n) == "0x0"
    # web3.py's own helpers use these methods.
    w3 = chain["w3"]
    assert w3.eth.get_block_transaction_count(block.number) == len(block.transactions)
    assert w3.eth.get_transaction_by_block(block.number, i).hash == chain["paid"].transactionHash


def test_fee_history_rewards_are_the_paid_tips(chain):
    """Base fee 0: the priced transfer's whole gas price is its tip; its block's rewards show it at every
    percentile (it is the block's only transaction), other blocks' rewards are what their transactions paid."""
    w3 = chain["w3"]
    n = chain["paid"].blockNumber
    history = call(chain, "eth_feeHistory", "0x1", hex(n), [10, 50, 90])
    txs = w3.eth.get_block(n).transactions
    if len(txs) == 1:
        assert history["reward"] == [[hex(7 * 10**9)] * 3]
    else:
        assert hex(7 * 10**9) in history["reward"][0]
    empty = call(chain, "eth_feeHistory", "0x1", hex(chain["moved"].blockNumber), [50])
    assert empty["reward"] == [["0x0"]], "a gas price of 0 tips nothing"
    assert call(chain, "eth_feeHistory", "0x2", "latest", [])["reward"] == [[], []]


def test_storage_keys_longer_than_32_bytes_are_invalid(chain):
    token = chain["token"].address
    assert call(chain, "eth_getStorageAt", token, "0x0", "latest") == "0x" + "00" * 32
    assert call(chain, "eth_getStorageAt", token, "0x" + "00" * 32, "latest") == "0x" + "00" * 32
    too_long = call(chain, "eth_getStorageAt", token, "0x" + "00" * 33, "latest")
    assert too_long["error"]["code"] == -32602, too_long
    assert "longer than 32 bytes" in too_long["error"]["message"]


def test_access_list_names_the_slots_a_call_touches(chain):
    token, owner, bob = chain["token"], chain["owner"], chain["bob"]
    data = token.encode_abi("transfer", [bob, 1])
    req = {"from": owner.address, "to": token.address, "data": data}
    result = call(chain, "eth_createAccessList", req, "latest")
    assert "error" not in result, result
    entries = {e["address"].lower(): e["storageKeys"] for e in result["accessList"]}
    assert token.address.lower() in entries, result
    assert len(entries[token.address.lower()]) >= 2, "the two balances the transfer reads and writes"
    assert owner.address.lower() not in entries, "the sender is implicit"
    estimate = int(call(chain, "eth_estimateGas", req, "latest"), 16)
    # Accord charges an access list as Ethereum does and gives no discount for it: using it costs more.
    assert int(result["gasUsed"], 16) > estimate
    # A failing call reports why, with the list of what it touched.
    failing = call(chain, "eth_createAccessList", {**req, "from": Account.create().address}, "latest")
    assert "exceeds balance" in failing["error"], failing


def test_schemas_of_the_everyday_methods(chain):
    """Each answer below validates against the specification (rpc_call checks it)."""
    w3, moved = chain["w3"], chain["moved"]
    h, n = moved.blockHash.to_0x_hex(), hex(moved.blockNumber)
    addr = chain["token"].address
    for method, params in [
        ("eth_chainId", []), ("eth_blockNumber", []), ("eth_syncing", []), ("eth_gasPrice", []),
        ("eth_maxPriorityFeePerGas", []), ("eth_accounts", []), ("net_version", []),
        ("eth_getBalance", [chain["owner"].address, "latest"]), ("eth_getTransactionCount", [addr, "latest"]),
        ("eth_getCode", [addr, "latest"]), ("eth_getBlockByNumber", [n, False]), ("eth_getBlockByNumber", [n, True]),
        ("eth_getBlockByHash", [h, True]), ("eth_getBlockReceipts", [n]),
        ("eth_getTransactionByHash", [moved.transactionHash.to_0x_hex()]),
        ("eth_getTransactionReceipt", [moved.transactionHash.to_0x_hex()]),
        ("eth_getLogs", [{"fromBlock": "0x0", "toBlock": "latest", "address": addr}]),
        ("eth_call", [{"to": addr, "data": chain["token"].encode_abi("totalSupply", [])}, "latest"]),
        ("eth_feeHistory", ["0x4", "latest", [25, 75]]),
    ]:
        result = call(chain, method, *params)
        assert not (isinstance(result, dict) and "error" in result), (method, result)
    logs = call(chain, "eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest", "address": addr})
    assert len(logs) >= 2, "the mint and the transfer"
    assert w3.eth.get_block(n)["hash"] == moved.blockHash


def test_web3_filter_polling(chain):
    """web3.py's polling API (w3.eth.filter, contract event filters) sees what is committed after it was made."""
    w3, token, owner = chain["w3"], chain["token"], chain["owner"]
    blocks = w3.eth.filter("latest")
    pending = w3.eth.filter("pending")
    transfers = token.events.Transfer.create_filter(from_block="latest")
    # Filter ids are random 128-bit numbers, quantities as the specification says.
    assert int(blocks.filter_id, 16) != int(pending.filter_id, 16)
    tx = token.functions.transfer(chain["bob"], 3).build_transaction(
        {"from": owner.address, "nonce": w3.eth.get_transaction_count(owner.address), "gasPrice": 0,
         "chainId": 1337})
    tx_hash = w3.eth.send_raw_transaction(owner.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)

    def poll(f, until):
        seen = []
        deadline = time.time() + 20
        while not until(seen):
            assert time.time() < deadline, f"nothing from filter {f.filter_id}: {seen}"
            seen += f.get_new_entries()
            time.sleep(0.2)
        return seen

    assert receipt.blockHash in poll(blocks, lambda s: receipt.blockHash in s)
    assert tx_hash in poll(pending, lambda s: tx_hash in s)
    events = poll(transfers, lambda s: len(s) > 0)
    assert [(e.args.to, e.args.value, e.transactionHash) for e in events] == [(chain["bob"], 3, tx_hash)]
    # Raw answers follow the specification too (a poll with nothing new is []).
    for f in (blocks, pending, transfers):
        call(chain, "eth_getFilterChanges", f.filter_id)
    all_logs = call(chain, "eth_getFilterLogs", transfers.filter_id)
    assert [log["transactionHash"] for log in all_logs] == [tx_hash.to_0x_hex()]
    not_a_log_filter = call(chain, "eth_getFilterLogs", blocks.filter_id)
    assert not_a_log_filter["error"]["code"] == -32602
    for f in (blocks, pending, transfers):
        assert w3.eth.uninstall_filter(f.filter_id) is True
        assert call(chain, "eth_uninstallFilter", f.filter_id) is False
        gone = call(chain, "eth_getFilterChanges", f.filter_id)
        assert "filter not found" in gone["error"]["message"], gone
