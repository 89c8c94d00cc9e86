"""Governance driven by an unmodified web3.py client: the committee and system contracts are called through the ABI
the node hands out (accord_getAbi), like any contract; refusals arrive as ordinary JSON-RPC errors and reverts.

Run by scripts/test.sh after the Rust tests; ACCORD_BIN points at the built `accord` binary.
"""

import json
from pathlib import Path

import pytest
from eth_account import Account
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.logs import DISCARD

COMMITTEE = "0x0000000000000000000000000000000000001000"
SYSTEM_CONFIG = "0x0000000000000000000000000000000000001001"
NODES = "0x0000000000000000000000000000000000001002"
ACCOUNTS = "0x0000000000000000000000000000000000001003"


@pytest.fixture(scope="module")
def chain(node):
    w3, accounts = node
    return w3, [Account.from_key(a["private_key"]) for a in accounts]


def contract(w3, address):
    abi = w3.provider.make_request("accord_getAbi", [address])["result"]
    return w3.eth.contract(address=address, abi=abi)


def send(w3, acct, fn, gas=None):
    """Signs and sends a contract call; with `gas`, no estimate runs first, so the transaction itself reaches the
    node (an estimate would stop a refused call before it is ever sent)."""
    params = {"from": acct.address, "nonce": w3.eth.get_transaction_count(acct.address, "pending"),
              "chainId": w3.eth.chain_id, "gasPrice": 0}
    if gas is not None:
        params["gas"] = gas
    tx = fn.build_transaction(params)
    signed = acct.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction), timeout=30)
    assert receipt.status == 1
    return receipt


def transfer(w3, acct, to, value=1):
    tx = {"to": to, "value": value, "gas": 21000, "gasPrice": 0, "chainId": w3.eth.chain_id,
          "nonce": w3.eth.get_transaction_count(acct.address, "pending")}
    return w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)


def pass_proposal(w3, committee, governors, kind, args):
    """Governor 0 proposes, governor 1 agrees: with the testnet's 3 equal governors at 50 %/50 % that passes."""
    created = send(w3, governors[0], committee.functions.propose(kind, args))
    pid = committee.events.ProposalCreated().process_receipt(created, errors=DISCARD)[0].args.id
    voted = send(w3, governors[1], committee.functions.vote(pid, True))
    decided = committee.events.ProposalDecided().process_receipt(voted, errors=DISCARD)[0].args
    assert (decided.id, decided.status) == (pid, "passed")
    assert decided.effectiveHeight == voted.blockNumber + 1
    return pid, decided.effectiveHeight


def test_proposals_votes_and_refusals(chain):
    w3, accounts = chain
    governors, outsider = accounts[:3], accounts[5]
    committee = contract(w3, COMMITTEE)

    with pytest.raises(ContractLogicError, match="is not a governor"):
        committee.functions.propose("freeze", [accounts[6].address]).call({"from": outsider.address})
    with pytest.raises(ContractLogicError, match="unknown proposal kind"):
        committee.functions.propose("promote", []).call({"from": governors[0].address})

    created = send(w3, governors[0], committee.functions.propose("set-param", ["maxBlockTransactions", "500"]))
    pid = committee.events.ProposalCreated().process_receipt(created, errors=DISCARD)[0].args.id
    proposal = committee.functions.getProposal(pid).call()
    assert proposal[1:5] == ["set-param", ["maxBlockTransactions", "500"], "open", created.blockNumber]
    rpc = w3.provider.make_request("accord_proposal", [pid])["result"]
    assert (rpc["status"], rpc["tally"]) == ("open", {"voted": 1, "agreed": 1, "total": 3})
    assert pid in [p["id"] for p in w3.provider.make_request("accord_proposals", [])["result"]]

    with pytest.raises(ContractLogicError, match=f"proposal {pid} on param maxBlockTransactions is still open"):
        committee.functions.propose("set-param", ["maxBlockTransactions", "600"]).call({"from": governors[1].address})
    with pytest.raises(ContractLogicError, match="already voted"):
        committee.functions.vote(pid, True).call({"from": governors[0].address})

    voted = send(w3, governors[2], committee.functions.vote(pid, True))
    decided = committee.events.ProposalDecided().process_receipt(voted, errors=DISCARD)[0].args
    assert decided.status == "passed"
    config = contract(w3, SYSTEM_CONFIG)
    value, since = config.functions.getParam("maxBlockTransactions").call()
    assert (value, since) == (500, voted.blockNumber + 1)
    rpc = w3.provider.make_request("accord_systemConfig", [])["result"]
    assert rpc["params"]["maxBlockTransactions"] == 500 and rpc["version"] == 1
    with pytest.raises(ContractLogicError, match="only by a passed proposal"):
        config.functions.setParam("maxBlockTransactions", 1).call({"from": governors[0].address})


def test_send_policy_freezing_and_a_frozen_contract(chain):
    w3, accounts = chain
    governors, outsider, other = accounts[:3], accounts[7], accounts[8]
    committee = contract(w3, COMMITTEE)

    pass_proposal(w3, committee, governors, "send-policy", ["allowlist"])
    with pytest.raises(Web3RPCError, match="sender not permitted"):
        transfer(w3, outsider, other.address)
    status = w3.provider.make_request("accord_accountStatus", [outsider.address])["result"]
    assert (status["status"], status["canSend"]) == ("normal", False)
    pass_proposal(w3, committee, governors, "grant-send", [outsider.address])
    w3.eth.wait_for_transaction_receipt(transfer(w3, outsider, other.address), timeout=30)

    pass_proposal(w3, committee, governors, "freeze", [outsider.address])
    with pytest.raises(Web3RPCError, match=f"account {outsider.address} is frozen"):
        transfer(w3, outsider, other.address)
    assert contract(w3, ACCOUNTS).functions.statusOf(outsider.address).call()[0] == "frozen"
    pass_proposal(w3, committee, governors, "unfreeze", [outsider.address])
    w3.eth.wait_for_transaction_receipt(transfer(w3, outsider, other.address), timeout=30)

    # A contract frozen by proposal cannot be called, by a transaction or an eth_call; unfreezing restores it.
    artifact = json.loads((Path(__file__).resolve().parents[2] / "contracts" / "out" / "token.json").read_text())
    owner = governors[2]
    deployed = send(w3, owner, w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
                    .constructor("Frozen Dollar", "FRZ", 10**6))
    token = w3.eth.contract(address=deployed.contractAddress, abi=artifact["abi"])
    pass_proposal(w3, committee, governors, "freeze", [token.address])
    with pytest.raises(ContractLogicError, match=f"account {token.address} is frozen"):
        token.functions.balanceOf(owner.address).call()
    # The signed transaction itself is refused by the node's pool.
    with pytest.raises(Web3RPCError, match=f"account {token.address} is frozen"):
        send(w3, owner, token.functions.transfer(other.address, 5), gas=200_000)
    pass_proposal(w3, committee, governors, "unfreeze", [token.address])
    send(w3, owner, token.functions.transfer(other.address, 5))
    assert token.functions.balanceOf(other.address).call() == 5

    pass_proposal(w3, committee, governors, "send-policy", ["open"])
    w3.eth.wait_for_transaction_receipt(transfer(w3, other, outsider.address), timeout=30)


def test_deploy_policy(chain):
    w3, accounts = chain
    governors, dev = accounts[:3], accounts[9]
    committee = contract(w3, COMMITTEE)
    artifact = json.loads((Path(__file__).resolve().parents[2] / "contracts" / "out" / "token.json").read_text())
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])

    pass_proposal(w3, committee, governors, "deploy-policy", ["allowlist"])
    with pytest.raises(Web3RPCError, match="deploy not permitted"):
        send(w3, dev, factory.constructor("No", "NO", 1))
    pass_proposal(w3, committee, governors, "grant-deploy", [dev.address])
    assert send(w3, dev, factory.constructor("Yes", "YES", 1)).contractAddress
    pass_proposal(w3, committee, governors, "deploy-policy", ["open"])


def test_node_lists_follow_proposals(chain):
    w3, accounts = chain
    governors = accounts[:3]
    committee, node_lists = contract(w3, COMMITTEE), contract(w3, NODES)
    nodes, since = node_lists.functions.validators().call()
    assert len(nodes) == 1 and since == [0]
    status = w3.provider.make_request("accord_nodeStatus", [])["result"]
    assert nodes[0].lower() == status["nodeAddress"].lower()

    newcomer = Account.create().address
    _, effective = pass_proposal(w3, committee, governors, "add-observer", [newcomer])
    observers, since = node_lists.functions.observers().call()
    assert (observers, since) == ([newcomer], [effective])
    listed = w3.provider.make_request("accord_validators", [])["result"]
    assert [o["address"].lower() for o in listed["observers"]] == [newcomer.lower()]
    # A single-validator chain runs without PBFT: it cannot take a second validator, and says so.
    with pytest.raises(ContractLogicError, match="runs without PBFT"):
        committee.functions.propose("add-validator", [newcomer]).call({"from": governors[0].address})
    pass_proposal(w3, committee, governors, "remove-observer", [newcomer])
    assert node_lists.functions.observers().call() == [[], []]
