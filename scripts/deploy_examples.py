"""Deploys the example contracts to a running network once (the main job's last step), runs one short flow of each
business scenario on the first deployment, and prints where everything is.

Usage: deploy_examples.py RPC_URL NET_DIR. Uses the dev accounts of NET_DIR/accounts.json (roles in
scripts/scenarios.py) and records the deployments in NET_DIR/contracts.json, so a restarted network reuses them
instead of deploying again.
"""

import json
import sys
from pathlib import Path

from web3 import Web3

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scenarios  # noqa: E402

TOKEN_ARGS = ("Accord Dollar", "ACD", 10**24)
BUSINESS = ["settlement", "receivables", "bills"]


def main(rpc: str, net_dir: Path) -> None:
    w3 = Web3(Web3.HTTPProvider(rpc))
    chain = scenarios.Chain(w3, json.loads((net_dir / "accounts.json").read_text()))
    record_path = net_dir / "contracts.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {}

    def known(name):
        address = record.get(name, {}).get("address")
        return address if address and len(w3.eth.get_code(address)) > 0 else None

    def remember(name, contract):
        record[name] = {"address": contract.address,
                        "artifact": str(scenarios.REPO / "contracts" / "out" / f"{name}.json"),
                        "owner": chain.addr("operator")}
        record_path.write_text(json.dumps(record, indent=2))

    fresh = not all(known(name) for name in BUSINESS)
    if fresh:
        print("  deploying (first run on this network):")
    if known("token"):
        cash = chain.contract("token", known("token"))
    else:
        cash = chain.deploy("token", *TOKEN_ARGS)
        remember("token", cash)
    if fresh:
        business = scenarios.deploy_business(chain, cash.address)
        for name, contract in business.items():
            remember(name, contract)
        scenarios.fund_cash(chain, cash, business)
        scenarios.run_all(chain, cash, business)
    for name in ["token", *BUSINESS]:
        print(f"  {name}: {record[name]['address']}" + ("" if fresh else " (deployed earlier)")
              + f"  ABI and bytecode: contracts/out/{name}.json")
    print("  The token (ACD) is the cash the receivables and bills contracts pay in. Walk-through: docs/scenarios.md")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], Path(sys.argv[2]))
