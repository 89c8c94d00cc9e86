"""Deploys the example contracts to a running network once (the main job's last step) and prints where they are.

Usage: deploy_examples.py RPC_URL NET_DIR. Uses the first dev account of NET_DIR/accounts.json and records the
deployments in NET_DIR/contracts.json, so a restarted network reuses them instead of deploying again.
"""

import json
import sys
from pathlib import Path

from eth_account import Account
from web3 import Web3

EXAMPLES = {"token": ("Accord Dollar", "ACD", 10**24)}


def main(rpc: str, net_dir: Path) -> None:
    repo = Path(__file__).resolve().parents[1]
    w3 = Web3(Web3.HTTPProvider(rpc))
    deployer = Account.from_key(json.loads((net_dir / "accounts.json").read_text())[0]["private_key"])
    record_path = net_dir / "contracts.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    for name, args in EXAMPLES.items():
        known = record.get(name, {}).get("address")
        if known and len(w3.eth.get_code(known)) > 0:
            print(f"  {name}: {known} (deployed earlier)")
            continue
        artifact_path = repo / "contracts" / "out" / f"{name}.json"
        artifact = json.loads(artifact_path.read_text())
        contract = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        tx = contract.constructor(*args).build_transaction({
            "from": deployer.address, "nonce": w3.eth.get_transaction_count(deployer.address, "pending"),
            "chainId": w3.eth.chain_id, "gasPrice": 0,
        })
        tx_hash = w3.eth.send_raw_transaction(deployer.sign_transaction(tx).raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        if receipt.status != 1:
            sys.exit(f"deploying {name} failed: {receipt}")
        record[name] = {"address": receipt.contractAddress, "artifact": str(artifact_path), "owner": deployer.address}
        record_path.write_text(json.dumps(record, indent=2))
        print(f"  {name}: {receipt.contractAddress} (ABI and bytecode: {artifact_path}; owner {deployer.address})")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], Path(sys.argv[2]))
