"""The consortium's business flows, driven through JSON-RPC with web3.py from the contracts' artifacts.

Used by the README's main command (scripts/deploy_examples.py: one short flow of each after deploying) and by the
end-to-end tests (tests/web3py/test_scenarios.py, on a 4-validator network). docs/scenarios.md walks through the
same steps by hand.

Roles are the dev accounts of `accord testnet` (NET_DIR/accounts.json), by index:

    0 operator      deploys, runs the settlement system and the receivables platform, holds the cash token
    1 usd_issuer    the bank that issues tokenised USD
    2 eur_issuer    the bank that issues tokenised EUR
    3 core          a core enterprise: obligor of receivables, drawer of bills
    4 supplier      its tier-1 supplier
    5 sub_supplier  a tier-2 supplier
    6 bank_a        a bank: settlement participant, financier, acceptor of bills
    7 bank_b        another bank: settlement participant, discounts bills
    8 signer1       signers of bank_a's payment instructions
    9 signer2
"""

import json
import time
from pathlib import Path

from eth_account import Account
from web3 import Web3
from web3.logs import DISCARD

REPO = Path(__file__).resolve().parents[1]
ROLES = ["operator", "usd_issuer", "eur_issuer", "core", "supplier", "sub_supplier", "bank_a", "bank_b",
         "signer1", "signer2"]
USD, EUR = b"USD", b"EUR"


def artifact(name):
    """The {abi, bytecode} the build wrote for contract `name`."""
    return json.loads((REPO / "contracts" / "out" / f"{name}.json").read_text())


class Chain:
    """A web3 connection and the dev accounts by role; sends signed transactions and reports each one."""

    def __init__(self, w3, accounts_json, say=print):
        self.w3 = w3
        self.who = {role: Account.from_key(a["private_key"]) for role, a in zip(ROLES, accounts_json)}
        self.names = {acct.address: role for role, acct in self.who.items()}
        self.say = say

    def addr(self, role):
        return self.who[role].address

    def contract(self, name, address):
        return self.w3.eth.contract(address=address, abi=artifact(name)["abi"])

    def send(self, role, fn, what, expect_success=True, gas=None):
        """Signs `fn` (a contract function call or constructor) as `role`, waits for its receipt and prints the
        block and hash; raises if its status is not what was expected."""
        acct = self.who[role]
        params = {"from": acct.address, "nonce": self.w3.eth.get_transaction_count(acct.address, "pending"),
                  "chainId": self.w3.eth.chain_id, "gasPrice": 0}
        if gas is not None:
            params["gas"] = gas
        tx = fn.build_transaction(params)
        tx_hash = self.w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        ok = receipt.status == 1
        self.say(f"    block {receipt.blockNumber:>5}  {tx_hash.to_0x_hex()}  {role:<12} {what}"
                 + ("" if ok else "  (reverted)"))
        if ok != expect_success:
            raise RuntimeError(f"{what}: status {receipt.status}, expected {'success' if expect_success else 'a revert'}")
        return receipt

    def events(self, receipt, contract, event):
        """The arguments of every `event` that `contract` emitted in `receipt`: what a transaction created (an id)
        read from the chain, rather than from a simulation run before it, which another party's transaction could
        have overtaken."""
        logs = getattr(contract.events, event)().process_receipt(receipt, errors=DISCARD)
        return [log.args for log in logs if log.address == contract.address]

    def deploy(self, name, *args, role="operator"):
        c = self.w3.eth.contract(abi=artifact(name)["abi"], bytecode=artifact(name)["bytecode"])
        receipt = self.send(role, c.constructor(*args), f"deploy {name}")
        return self.contract(name, receipt.contractAddress)

    def now(self):
        """The latest block's timestamp (seconds): what contracts see as the current time, give or take a block."""
        return self.w3.eth.get_block("latest").timestamp

    def wait_until(self, timestamp):
        """Sleeps until the wall clock passes `timestamp`, so the next block's time does too."""
        while time.time() <= timestamp + 1:
            time.sleep(0.5)


def deploy_business(chain, cash_address):
    """Deploys settlement, receivables and bills (the latter two paying in the cash token at `cash_address`)."""
    return {
        "settlement": chain.deploy("settlement"),
        "receivables": chain.deploy("receivables", cash_address),
        "bills": chain.deploy("bills", cash_address),
    }


def fund_cash(chain, cash, business, amount=10**9):
    """Gives each business party `amount` of the cash token and approves the receivables and bills contracts to
    collect payments from it."""
    for role in ["core", "supplier", "sub_supplier", "bank_a", "bank_b"]:
        chain.send("operator", cash.functions.transfer(chain.addr(role), amount), f"cash {amount} to {role}")
        for name in ["receivables", "bills"]:
            spender = business[name].address
            chain.send(role, cash.functions.approve(spender, 2**256 - 1), f"{role} approves {name} for cash")


class SettlementFlow:
    """Tokenised USD and EUR, a PvP trade, a hashed-timelock escrow, a 2-of-2 payment instruction and a netting
    cycle between bank_a and bank_b."""

    def __init__(self, chain, settlement):
        self.chain, self.s = chain, settlement

    def balances(self):
        f, a = self.s.functions, self.chain.addr
        return {who: (f.balanceOf(USD, a(who)).call(), f.balanceOf(EUR, a(who)).call()) for who in ["bank_a", "bank_b"]}

    def setup(self):
        c, f, a = self.chain, self.s.functions, self.chain.addr
        for ccy, issuer in [(USD, "usd_issuer"), (EUR, "eur_issuer")]:
            if f.currencyInfo(ccy).call()[0] != a(issuer):
                c.send("operator", f.addCurrency(ccy, a(issuer)), f"register {ccy.decode()}, issued by {issuer}")
        for issuer, ccy in [("usd_issuer", USD), ("eur_issuer", EUR)]:
            for bank in ["bank_a", "bank_b"]:
                c.send(issuer, f.admit(ccy, a(bank), 10**12), f"admit {bank} to {ccy.decode()} (limit 10^12)")
        c.send("usd_issuer", f.mint(USD, a("bank_a"), 1_000_000), "mint 1,000,000 USD to bank_a")
        c.send("eur_issuer", f.mint(EUR, a("bank_b"), 1_000_000), "mint 1,000,000 EUR to bank_b")

    def propose_pvp(self, usd=110_000, eur=100_000):
        """bank_a proposes USD for EUR and bank_b accepts; returns the trade id."""
        c, f = self.chain, self.s.functions
        expiry = c.now() + 3600
        args = (c.addr("bank_b"), USD, usd, EUR, eur, expiry)
        r = c.send("bank_a", f.proposeTrade(*args), f"PvP: bank_a offers {usd} USD for {eur} EUR")
        trade_id = c.events(r, self.s, "TradeProposed")[0].id
        c.send("bank_b", f.acceptTrade(trade_id), f"PvP #{trade_id}: bank_b accepts")
        return trade_id

    def run(self):
        c, f, a = self.chain, self.s.functions, self.chain.addr
        self.setup()
        trade_id = self.propose_pvp()
        c.send("bank_a", f.settleTrade(trade_id), f"PvP #{trade_id}: settled, both legs in one transaction")
        c.say(f"    balances (USD, EUR): {self.balances()}")

        secret = bytes(range(32))
        hashlock = Web3.keccak(secret)
        r = c.send("bank_a", f.lock(USD, a("bank_b"), 5_000, hashlock, c.now() + 3600),
                   "HTLC: bank_a locks 5,000 USD for bank_b under keccak(secret)")
        escrow_id = c.events(r, self.s, "EscrowLocked")[0].id
        c.send("bank_b", f.claim(escrow_id, secret), f"HTLC #{escrow_id}: bank_b claims with the secret")

        c.send("bank_a", f.configureSigners([a("signer1"), a("signer2")], 2), "bank_a: payments need signer1 + signer2")
        r = c.send("signer1", f.submitInstruction(a("bank_a"), USD, a("bank_b"), 1_000, c.now() + 3600),
                   "instruction: pay bank_b 1,000 USD")
        instr = c.events(r, self.s, "InstructionSubmitted")[0].id
        c.send("signer1", f.approve(instr), f"instruction #{instr}: signer1 approves")
        c.send("signer2", f.approve(instr), f"instruction #{instr}: signer2 approves")
        c.send("signer2", f.execute(instr), f"instruction #{instr}: executed (2 of 2)")

        owed = [
            c.events(c.send(debtor, f.addObligation(USD, a(creditor), amount), f"obligation: {debtor} owes {creditor} "
                            f"{amount:,} USD"), self.s, "ObligationAdded")[0].id
            for debtor, creditor, amount in [("bank_a", "bank_b", 30_000), ("bank_b", "bank_a", 20_000)]
        ]
        c.send("operator", f.settleCycle(USD, owed), f"netting cycle of obligations {owed}: bank_a pays the net 10,000 USD")
        c.say(f"    balances (USD, EUR): {self.balances()}")


class ReceivablesFlow:
    """core confirms a payable to supplier, who passes part to sub_supplier; sub_supplier's piece is financed by
    bank_a; at maturity core repays every holder. `confirm_and_finance` and `repay` are separate so a test can
    stop a validator between them."""

    def __init__(self, chain, receivables, cash, term=20):
        self.chain, self.r, self.cash, self.term = chain, receivables, cash, term

    def cash_balances(self):
        return {who: self.cash.functions.balanceOf(self.chain.addr(who)).call()
                for who in ["core", "supplier", "sub_supplier", "bank_a"]}

    def confirm_and_finance(self):
        c, f, a = self.chain, self.r.functions, self.chain.addr
        c.send("operator", f.setObligor(a("core"), True), "core is a core enterprise")
        c.send("operator", f.setFinancier(a("bank_a"), True), "bank_a is a financing bank")
        self.due = c.now() + self.term
        r = c.send("core", f.confirm(a("supplier"), 1_000_000, self.due), "voucher: core owes supplier 1,000,000")
        self.root = c.events(r, self.r, "Confirmed")[0].id
        r = c.send("supplier", f.transfer(self.root, a("sub_supplier"), 400_000),
                   f"voucher #{self.root}: supplier passes 400,000 to sub_supplier")
        self.piece = c.events(r, self.r, "Transferred")[0].child
        c.send("sub_supplier", f.requestFinancing(self.piece, a("bank_a"), 500), f"voucher #{self.piece}: offered to bank_a at 5 %")
        c.send("bank_a", f.finance(self.piece), f"voucher #{self.piece}: bank_a pays the discounted price and takes it")
        c.say(f"    cash: {self.cash_balances()}")

    def repay(self):
        c, f = self.chain, self.r.functions
        c.wait_until(self.due)
        c.send("core", f.repay(self.root), f"voucher #{self.root}: core repays every holder at maturity")
        c.say(f"    cash: {self.cash_balances()}")


class BillsFlow:
    """core draws a bill on bank_a to supplier; bank_a accepts; supplier receives and endorses it to sub_supplier,
    who splits it and has bank_b discount one part; at maturity both parts are presented and paid."""

    def __init__(self, chain, bills, cash, term=20):
        self.chain, self.b, self.cash, self.term = chain, bills, cash, term

    def issue_to_discount(self):
        c, f, a = self.chain, self.b.functions, self.chain.addr
        self.maturity = c.now() + self.term
        args = (a("bank_a"), a("supplier"), 500_000, self.maturity, True)
        r = c.send("core", f.issue(*args), "bill: core draws 500,000 on bank_a to supplier")
        self.bill = c.events(r, self.b, "Issued")[0].id
        c.send("bank_a", f.accept(self.bill), f"bill #{self.bill}: bank_a accepts")
        c.send("supplier", f.receiveBill(self.bill), f"bill #{self.bill}: supplier receives it")
        c.send("supplier", f.requestEndorsement(self.bill, a("sub_supplier")), f"bill #{self.bill}: supplier endorses to sub_supplier")
        c.send("sub_supplier", f.acceptEndorsement(self.bill), f"bill #{self.bill}: sub_supplier accepts the endorsement")
        r = c.send("sub_supplier", f.split(self.bill, 200_000), f"bill #{self.bill}: split 200,000 / 300,000")
        # The two new bills each record a split-from step (action 15), in range order.
        self.parts = [e.id for e in c.events(r, self.b, "Action") if e.action == 15]
        c.say(f"    bill #{self.bill} is now #{self.parts[0]} (200,000) and #{self.parts[1]} (300,000)")
        c.send("sub_supplier", f.requestDiscount(self.parts[1], a("bank_b"), 300), f"bill #{self.parts[1]}: offered to bank_b at 3 %")
        c.send("bank_b", f.discount(self.parts[1]), f"bill #{self.parts[1]}: bank_b discounts it")

    def present_and_pay(self):
        c, f = self.chain, self.b.functions
        c.wait_until(self.maturity)
        for part, holder in zip(self.parts, ["sub_supplier", "bank_b"]):
            c.send(holder, f.present(part), f"bill #{part}: {holder} presents it")
            c.send("bank_a", f.pay(part), f"bill #{part}: bank_a pays")
        history = f.history(self.parts[0]).call()
        c.say(f"    bill #{self.parts[0]} history: {len(history)} steps since the split; "
              f"#{self.bill} has {len(f.history(self.bill).call())}")


def run_all(chain, cash, business):
    """One short flow of each scenario (the main job's demonstration)."""
    chain.say("  Cross-border settlement")
    SettlementFlow(chain, business["settlement"]).run()
    chain.say("  Supply-chain finance and digital bills (maturity in a few seconds)")
    receivables = ReceivablesFlow(chain, business["receivables"], cash)
    bills = BillsFlow(chain, business["bills"], cash)
    receivables.confirm_and_finance()
    bills.issue_to_discount()
    receivables.repay()
    bills.present_and_pay()


def main():
    import argparse

    parser = argparse.ArgumentParser(description="Runs one business flow against a network the main command started.")
    parser.add_argument("flow", choices=["settlement", "receivables", "bills", "all"])
    parser.add_argument("--rpc", default="http://127.0.0.1:8545", help="a node's JSON-RPC URL")
    parser.add_argument("--net", default=str(REPO / "testnet"),
                        help="the network directory (accounts.json, contracts.json), ./testnet by default")
    args = parser.parse_args()
    net = Path(args.net)
    chain = Chain(Web3(Web3.HTTPProvider(args.rpc)), json.loads((net / "accounts.json").read_text()))
    record = json.loads((net / "contracts.json").read_text())
    cash = chain.contract("token", record["token"]["address"])
    business = {name: chain.contract(name, record[name]["address"]) for name in ["settlement", "receivables", "bills"]}
    if args.flow == "all":
        run_all(chain, cash, business)
    elif args.flow == "settlement":
        SettlementFlow(chain, business["settlement"]).run()
    elif args.flow == "receivables":
        flow = ReceivablesFlow(chain, business["receivables"], cash)
        flow.confirm_and_finance()
        flow.repay()
    else:
        flow = BillsFlow(chain, business["bills"], cash)
        flow.issue_to_discount()
        flow.present_and_pay()


if __name__ == "__main__":
    main()
