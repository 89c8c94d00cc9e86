"""An unmodified web3.py client against a real accord node: the flows wallets and scripts use every day.

Run by scripts/test.sh after the Rust tests; ACCORD_BIN points at the built `accord` binary.
"""

import json

import pytest
from eth_account import Account
from web3.exceptions import Web3RPCError
from web3.middleware import SignAndSendRawMiddlewareBuilder


def test_chain_basics(node):
    w3, _ = node
    assert w3.eth.chain_id == 1337
    assert w3.net.version == "1337"
    assert w3.client_version.startswith("accord/")
    assert w3.eth.get_block("latest")["number"] >= 0
    assert w3.eth.gas_price == 0
    assert w3.eth.syncing is False


def test_legacy_signed_locally(node):
    w3, accounts = node
    acct = Account.from_key(accounts[0]["private_key"])
    to = Account.create().address
    tx = {
        "to": to, "value": w3.to_wei(1, "ether"), "gas": 21000, "gasPrice": w3.to_wei(1, "gwei"),
        "nonce": w3.eth.get_transaction_count(acct.address), "chainId": w3.eth.chain_id,
    }
    before = w3.eth.get_balance(acct.address)
    signed = acct.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    assert receipt.status == 1
    assert receipt.gasUsed == 21000
    assert receipt["from"] == acct.address and receipt.to == to
    assert w3.eth.get_balance(to) == w3.to_wei(1, "ether")
    assert w3.eth.get_balance(acct.address) == before - w3.to_wei(1, "ether") - 21000 * w3.to_wei(1, "gwei")
    fetched = w3.eth.get_transaction(tx_hash)
    assert fetched.blockNumber == receipt.blockNumber and fetched.nonce == tx["nonce"]
    block = w3.eth.get_block(receipt.blockNumber, full_transactions=True)
    assert any(t.hash == tx_hash for t in block.transactions)
    assert w3.eth.get_block(block.hash).number == block.number
    # The same bytes again: refused with geth's wording, nothing changes.
    with pytest.raises(Web3RPCError, match="nonce too low"):
        w3.eth.send_raw_transaction(signed.raw_transaction)


def test_eip1559_with_autofill(node):
    """web3 fills nonce, gas (eth_estimateGas), fees (eth_feeHistory / baseFeePerGas) and chain id itself."""
    w3, accounts = node
    acct = Account.from_key(accounts[1]["private_key"])
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(acct), layer=0)
    to = Account.create().address
    nonce = w3.eth.get_transaction_count(acct.address)
    tx_hash = w3.eth.send_transaction({"from": acct.address, "to": to, "value": 12345})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    assert receipt.status == 1
    assert receipt.type == 2
    assert w3.eth.get_balance(to) == 12345
    assert w3.eth.get_transaction_count(acct.address) == nonce + 1
    history = w3.eth.fee_history(4, "latest", [50])
    assert len(history.baseFeePerGas) >= 2


def test_wrong_chain_is_refused(node):
    w3, accounts = node
    acct = Account.from_key(accounts[2]["private_key"])
    tx = {"to": acct.address, "value": 1, "gas": 21000, "gasPrice": 0, "nonce": 0, "chainId": 1}
    with pytest.raises(Web3RPCError, match="invalid chain id"):
        w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)


def test_token_from_its_artifact(node):
    """The Foundry-style artifact deploys and works with web3's contract API, unchanged: constructor arguments
    ABI-encoded after the bytecode, calls by ABI, reads by eth_call, events by eth_getLogs, revert reasons."""
    from pathlib import Path

    from web3.exceptions import ContractLogicError

    w3, accounts = node
    artifact = json.loads((Path(__file__).resolve().parents[2] / "contracts" / "out" / "token.json").read_text())
    owner = Account.from_key(accounts[3]["private_key"])

    def send(tx_fn):
        tx = tx_fn.build_transaction({
            "from": owner.address, "nonce": w3.eth.get_transaction_count(owner.address),
            "chainId": 1337, "gasPrice": 0,
        })
        signed = owner.sign_transaction(tx)
        return w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction), timeout=30)

    Token = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    deployed = send(Token.constructor("Accord Dollar", "ACD", 10**24))
    assert deployed.status == 1 and deployed.contractAddress
    token = w3.eth.contract(address=deployed.contractAddress, abi=artifact["abi"])
    assert token.functions.name().call() == "Accord Dollar"
    assert token.functions.symbol().call() == "ACD"
    assert token.functions.decimals().call() == 18
    assert token.functions.balanceOf(owner.address).call() == 10**24

    bob = Account.create().address
    moved = send(token.functions.transfer(bob, 12345))
    assert moved.status == 1
    assert token.functions.balanceOf(bob).call() == 12345
    assert token.functions.balanceOf(owner.address).call() == 10**24 - 12345
    events = token.events.Transfer.get_logs(from_block=moved.blockNumber, to_block=moved.blockNumber)
    assert len(events) == 1
    assert (events[0].args["from"], events[0].args.to, events[0].args.value) == (owner.address, bob, 12345)
    assert events[0].transactionHash == moved.transactionHash
    # eth_getBlockReceipts: every receipt of the block, each equal to its own eth_getTransactionReceipt (log
    # indices run across the block); an unknown block is null, as the specification says.
    block_receipts = w3.eth.get_block_receipts(moved.blockNumber)
    assert [r.transactionHash for r in block_receipts] == list(w3.eth.get_block(moved.blockNumber).transactions)
    assert all(r == w3.eth.get_transaction_receipt(r.transactionHash) for r in block_receipts)
    assert w3.provider.make_request("eth_getBlockReceipts", [hex(10**9)])["result"] is None

    # A call that would revert reports Solidity's reason through eth_call, as geth does.
    with pytest.raises(ContractLogicError, match="transfer amount exceeds balance"):
        token.functions.transfer(owner.address, 1).call({"from": Account.create().address})
    # The node hands out the ABI the contract carries.
    abi = w3.provider.make_request("accord_getAbi", [deployed.contractAddress])["result"]
    assert abi == artifact["abi"]


COMMITTEE_ABI = [
    {"type": "function", "name": "governors", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "accounts", "type": "address[]"}, {"name": "weights", "type": "uint64[]"}]},
    {"type": "function", "name": "thresholds", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "participation", "type": "uint8"}, {"name": "win", "type": "uint8"},
                 {"name": "lifetime", "type": "uint64"}]},
    {"type": "function", "name": "nonexistent", "stateMutability": "view", "inputs": [], "outputs": []},
]


def test_committee_system_contract_through_its_abi(node):
    """The committee `accord testnet` writes (the first 3 dev accounts) is read like any contract."""
    w3, accounts = node
    committee = w3.eth.contract(address="0x0000000000000000000000000000000000001000", abi=COMMITTEE_ABI)
    governors, weights = committee.functions.governors().call()
    assert governors == [w3.to_checksum_address(a["address"]) for a in sorted(accounts[:3], key=lambda a: int(a["address"], 16))]
    assert weights == [1, 1, 1]
    assert committee.functions.thresholds().call() == [50, 50, 1000]
    with pytest.raises(Exception, match="unknown function of the committee contract"):
        committee.functions.nonexistent().call()


def test_accord_committee_rpc(node):
    w3, accounts = node
    got = w3.provider.make_request("accord_committee", [])["result"]
    assert sorted(g["address"].lower() for g in got["governors"]) == sorted(a["address"].lower() for a in accounts[:3])
    assert all(g["weight"] == 1 for g in got["governors"])
    assert (got["participationThreshold"], got["winThreshold"], got["proposalLifetime"]) == (50, 50, 1000)
    assert int(got["height"], 16) <= w3.eth.block_number
