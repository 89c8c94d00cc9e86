"""Bounded RPC: a node whose `[rpc]` limits are set low refuses what exceeds each with a clear error naming the
setting, and keeps serving what stays within it.

Run by scripts/test.sh after the Rust tests; ACCORD_BIN points at the built `accord` binary.
"""

import asyncio
import json
import time

import pytest
import requests
import websockets
from eth_account import Account

from conftest import start_node

LIMITS = {
    "max_batch_size": 5,
    "max_block_range": 3,
    "max_subscriptions_per_connection": 2,
    "max_subscriptions": 3,
    "max_filters_per_connection": 2,
    "max_filters": 3,
    "filter_timeout_secs": 2,
}


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    for w3, accounts, port in start_node(tmp_path_factory.mktemp("limited"), LIMITS):
        # Four committed blocks after genesis, so ranges wider than rpc.max_block_range exist.
        acct = Account.from_key(accounts[0]["private_key"])
        for nonce in range(4):
            tx = {"to": Account.create().address, "value": 1, "gas": 21000, "gasPrice": 0, "nonce": nonce,
                  "chainId": 1337}
            h = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
            w3.eth.wait_for_transaction_receipt(h, timeout=30)
        yield w3, port


def post(port, body):
    """One HTTP request on a fresh connection."""
    return requests.post(f"http://127.0.0.1:{port}", json=body, timeout=30).json()


def limit_error(reply, setting):
    assert "error" in reply, reply
    assert reply["error"]["code"] == -32005, reply
    assert f"rpc.{setting}" in reply["error"]["message"], reply


def test_batches_above_the_limit_are_refused_whole(limited):
    _, port = limited
    calls = [{"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber", "params": []} for i in range(6)]
    limit_error(post(port, calls), "max_batch_size")
    within = post(port, calls[:5])
    assert [r["id"] for r in within] == [0, 1, 2, 3, 4] and all("result" in r for r in within)


def test_log_queries_above_the_block_range_are_refused(limited):
    w3, port = limited
    head = w3.eth.block_number
    assert head >= 4
    wide = post(port, {"jsonrpc": "2.0", "id": 1, "method": "eth_getLogs",
                       "params": [{"fromBlock": hex(head - 3), "toBlock": hex(head)}]})
    limit_error(wide, "max_block_range")
    assert w3.eth.get_logs({"fromBlock": head - 2, "toBlock": head}) == []


def test_subscriptions_are_bounded_per_connection_and_in_total(limited):
    _, port = limited

    async def subscribe(ws, i):
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": i, "method": "eth_subscribe", "params": ["newHeads"]}))
        while True:
            reply = json.loads(await ws.recv())
            if reply.get("id") == i:
                return reply

    async def run():
        url = f"ws://127.0.0.1:{port}"
        async with websockets.connect(url) as a, websockets.connect(url) as b:
            assert "result" in await subscribe(a, 1)
            assert "result" in await subscribe(a, 2)
            limit_error(await subscribe(a, 3), "max_subscriptions_per_connection")
            assert "result" in await subscribe(b, 4)
            limit_error(await subscribe(b, 5), "max_subscriptions")
        # Closed connections give their subscriptions back.
        deadline = time.time() + 10
        while True:
            async with websockets.connect(url) as c:
                reply = await subscribe(c, 6)
                if "result" in reply or time.time() > deadline:
                    assert "result" in reply, reply
                    return

    asyncio.run(run())


def test_filters_are_bounded_and_expire(limited):
    _, port = limited

    async def run():
        async with websockets.connect(f"ws://127.0.0.1:{port}") as ws:
            async def new_filter(i):
                await ws.send(json.dumps({"jsonrpc": "2.0", "id": i, "method": "eth_newBlockFilter", "params": []}))
                return json.loads(await ws.recv())

            assert "result" in await new_filter(1)
            assert "result" in await new_filter(2)
            limit_error(await new_filter(3), "max_filters_per_connection")

    asyncio.run(run())
    # Over HTTP each request here is a connection of its own: the node-wide bound applies.
    first = post(port, {"jsonrpc": "2.0", "id": 1, "method": "eth_newBlockFilter", "params": []})
    assert "result" in first, first
    limit_error(post(port, {"jsonrpc": "2.0", "id": 2, "method": "eth_newBlockFilter", "params": []}), "max_filters")
    # Not polled for rpc.filter_timeout_secs: removed, and its place is free again.
    time.sleep(2.5)
    gone = post(port, {"jsonrpc": "2.0", "id": 3, "method": "eth_getFilterChanges", "params": [first["result"]]})
    assert "filter not found" in gone["error"]["message"], gone
    assert "result" in post(port, {"jsonrpc": "2.0", "id": 4, "method": "eth_newBlockFilter", "params": []})
