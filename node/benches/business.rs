//! Gas and time of each business operation of the scenario contracts (`contracts/examples/{settlement,
//! receivables,bills}`), through the node's real path: a signed transaction built into a block (execution over the
//! RocksDB-backed state overlay and the state root) on an in-process chain, the cash being the example ERC-20 token.
//!
//! Each operation is built into a block `RUNS` times on the same parent (the median time is reported), then
//! committed, so the next operation sees its effects. Prints one row per operation: gas used, the median time to
//! build the block holding it, and ns per gas (the schedule targets about 1: `docs/contract-abi.md`).
//!
//! Run: `cargo bench -p accord-node --bench business`. Results are recorded in docs/benchmarks.md.

use std::time::{Duration, Instant};

use accord_node::bench::workload::{settlement, token};
use accord_node::chain::Chain;
use accord_sdk::block::CommitCertificate;
use accord_sdk::keys::KeyPair;
use accord_sdk::{Address, U256};
use alloy_primitives::FixedBytes;
use alloy_sol_types::{SolCall, SolValue};

#[path = "../tests/fixture/mod.rs"]
mod fixture;

/// Builds per measured operation.
const RUNS: usize = 15;
const DAY: u64 = 24 * 3600;

mod receivables {
    alloy_sol_types::sol! {
        function setObligor(address account, bool enabled);
        function setFinancier(address account, bool enabled);
        function confirm(address supplier, uint256 amount, uint64 due) returns (uint64);
        function transfer(uint64 id, address to, uint256 amount) returns (uint64);
        function requestFinancing(uint64 id, address bank, uint64 rateBps);
        function finance(uint64 id) returns (uint256);
        function repay(uint64 root) returns (uint256);
    }
}

mod bills {
    alloy_sol_types::sol! {
        function issue(address drawee, address payee, uint256 amount, uint64 maturity, bool transferable) returns (uint256);
        function accept(uint256 id);
        function receiveBill(uint256 id);
        function requestEndorsement(uint256 id, address to);
        function acceptEndorsement(uint256 id);
        function split(uint256 id, uint256 amount) returns (uint256, uint256);
        function requestDiscount(uint256 id, address bank, uint64 rateBps);
        function discount(uint256 id) returns (uint256);
        function present(uint256 id);
        function pay(uint256 id);
    }
}

/// The parties, by index into `Desk::keys`.
const OPERATOR: usize = 0;
const USD_BANK: usize = 1;
const EUR_BANK: usize = 2;
const CORE: usize = 3;
const SUPPLIER: usize = 4;
const SUB: usize = 5;
const BANK_A: usize = 6;
const BANK_B: usize = 7;
const SIGNER1: usize = 8;
const SIGNER2: usize = 9;

struct Desk {
    chain: Chain,
    validator: KeyPair,
    keys: Vec<KeyPair>,
    nonces: Vec<u64>,
    now: u64,
    rows: Vec<(String, u64, Duration)>,
}

impl Desk {
    fn addr(&self, who: usize) -> Address {
        self.keys[who].address()
    }

    /// Commits a block holding one transaction from `who`; with `label`, first times `RUNS` builds of it and
    /// records the row. Returns the contract address of a creation. Panics if the transaction fails.
    fn send(&mut self, who: usize, to: Option<Address>, input: Vec<u8>, label: Option<&str>) -> Option<Address> {
        let raw = fixture::signed(&self.keys[who], self.nonces[who], to, U256::ZERO, input, 290_000_000);
        let tx = fixture::decoded(&raw);
        self.now += 1;
        if let Some(label) = label {
            let mut times = Vec::with_capacity(RUNS);
            for _ in 0..RUNS {
                let t = Instant::now();
                let built =
                    self.chain.build_block(vec![tx.clone()], self.now, self.validator.address()).expect("build");
                times.push(t.elapsed());
                std::hint::black_box(built);
            }
            times.sort();
            let built = self.chain.build_block(vec![tx.clone()], self.now, self.validator.address()).expect("build");
            self.rows.push((label.to_string(), built.block.receipts[0].gas_used, times[RUNS / 2]));
        }
        let built = self.chain.build_block(vec![tx], self.now, self.validator.address()).expect("build");
        let receipt = built.block.receipts.first().cloned().expect("included");
        assert!(receipt.success, "{}: transaction failed: {receipt:?}", label.unwrap_or("setup"));
        let cert = CommitCertificate::sign(&self.validator, &built.block.header, 0).expect("sign");
        self.chain.commit(built, cert).expect("commit");
        self.nonces[who] += 1;
        receipt.contract_address
    }

    fn call(&mut self, who: usize, to: Address, input: Vec<u8>, label: &str) {
        self.send(who, Some(to), input, Some(label));
    }

    fn setup(&mut self, who: usize, to: Address, input: Vec<u8>) {
        self.send(who, Some(to), input, None);
    }

    fn deploy(&mut self, name: &str, args: Vec<u8>) -> Address {
        let mut code = fixture::bytecode(name);
        code.extend(args);
        let size = fixture::bytecode(name).len();
        self.send(OPERATOR, None, code, Some(&format!("deploy {name} ({} KiB)", size / 1024))).expect("created")
    }
}

fn main() {
    let validator = KeyPair::generate();
    let keys: Vec<KeyPair> = (0..10).map(|_| KeyPair::generate()).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let genesis = fixture::genesis(&validator, keys.iter().map(KeyPair::address));
    let chain = Chain::open(dir.path(), genesis).expect("chain");
    let mut d = Desk { chain, validator, nonces: vec![0; keys.len()], keys, now: 1_000_000, rows: Vec::new() };
    let a = |d: &Desk, who| d.addr(who);

    // Cash: the example token; every business party holds some and approves the contracts.
    let cash = d.deploy(
        "token",
        ("Cash".to_string(), "CASH".to_string(), U256::from(10u64).pow(U256::from(30))).abi_encode_params(),
    );
    let set = d.deploy("settlement", Vec::new());
    let rec = d.deploy("receivables", (cash,).abi_encode_params());
    let bil = d.deploy("bills", (cash,).abi_encode_params());
    for who in [CORE, SUPPLIER, SUB, BANK_A, BANK_B] {
        let to = a(&d, who);
        d.setup(OPERATOR, cash, token::transferCall { to, amount: U256::from(10u64).pow(U256::from(12)) }.abi_encode());
        for spender in [rec, bil] {
            d.setup(who, cash, token::approveCall { spender, amount: U256::MAX }.abi_encode());
        }
    }

    // ---- cross-border settlement ----
    let (usd, eur) = (FixedBytes::<3>::from(*b"USD"), FixedBytes::<3>::from(*b"EUR"));
    let limit = U256::from(10u64).pow(U256::from(15));
    d.call(
        OPERATOR,
        set,
        settlement::addCurrencyCall { currency: usd, issuer: a(&d, USD_BANK) }.abi_encode(),
        "settlement: addCurrency",
    );
    d.setup(OPERATOR, set, settlement::addCurrencyCall { currency: eur, issuer: a(&d, EUR_BANK) }.abi_encode());
    d.call(
        USD_BANK,
        set,
        settlement::admitCall { currency: usd, participant: a(&d, BANK_A), limit }.abi_encode(),
        "settlement: admit",
    );
    for (issuer, ccy) in [(USD_BANK, usd), (EUR_BANK, eur)] {
        for bank in [BANK_A, BANK_B] {
            if (issuer, bank) != (USD_BANK, BANK_A) {
                d.setup(
                    issuer,
                    set,
                    settlement::admitCall { currency: ccy, participant: a(&d, bank), limit }.abi_encode(),
                );
            }
        }
    }
    let million = U256::from(1_000_000u64);
    d.call(
        USD_BANK,
        set,
        settlement::mintCall { currency: usd, to: a(&d, BANK_A), amount: million }.abi_encode(),
        "settlement: mint",
    );
    d.setup(EUR_BANK, set, settlement::mintCall { currency: eur, to: a(&d, BANK_B), amount: million }.abi_encode());
    d.call(
        BANK_A,
        set,
        settlement::transferCall { currency: usd, to: a(&d, BANK_B), amount: U256::from(10u64) }.abi_encode(),
        "settlement: transfer (deposit payment)",
    );
    let expiry = d.now + DAY;
    let propose = settlement::proposeTradeCall {
        counterparty: a(&d, BANK_B),
        payCurrency: usd,
        payAmount: U256::from(110_000u64),
        receiveCurrency: eur,
        receiveAmount: U256::from(100_000u64),
        expiry,
    };
    d.call(BANK_A, set, propose.abi_encode(), "settlement: proposeTrade (PvP)");
    d.call(BANK_B, set, settlement::acceptTradeCall { id: 1 }.abi_encode(), "settlement: acceptTrade");
    d.call(BANK_A, set, settlement::settleTradeCall { id: 1 }.abi_encode(), "settlement: settleTrade (both legs)");
    let secret = alloy_primitives::B256::repeat_byte(7);
    let hashlock = alloy_primitives::keccak256(secret);
    let lock = settlement::lockCall {
        currency: usd,
        receiver: a(&d, BANK_B),
        amount: U256::from(5_000u64),
        hashlock,
        timeout: d.now + DAY,
    };
    d.call(BANK_A, set, lock.abi_encode(), "settlement: lock (HTLC)");
    d.call(BANK_B, set, settlement::claimCall { id: 1, preimage: secret }.abi_encode(), "settlement: claim (HTLC)");
    let signers = vec![a(&d, SIGNER1), a(&d, SIGNER2)];
    d.call(
        BANK_A,
        set,
        settlement::configureSignersCall { signers, threshold: 2 }.abi_encode(),
        "settlement: configureSigners (2 of 2)",
    );
    let submit = settlement::submitInstructionCall {
        account: a(&d, BANK_A),
        currency: usd,
        to: a(&d, BANK_B),
        amount: U256::from(1_000u64),
        deadline: d.now + DAY,
    };
    d.call(SIGNER1, set, submit.abi_encode(), "settlement: submitInstruction");
    d.call(SIGNER1, set, settlement::approveCall { id: 1 }.abi_encode(), "settlement: approve (instruction)");
    d.setup(SIGNER2, set, settlement::approveCall { id: 1 }.abi_encode());
    d.call(SIGNER2, set, settlement::executeCall { id: 1 }.abi_encode(), "settlement: execute (2 approvals)");
    for i in 0..10u64 {
        let (debtor, creditor) = if i % 2 == 0 { (BANK_A, BANK_B) } else { (BANK_B, BANK_A) };
        let input =
            settlement::addObligationCall { currency: usd, creditor: a(&d, creditor), amount: U256::from(1_000 + i) }
                .abi_encode();
        if i == 0 {
            d.call(debtor, set, input, "settlement: addObligation");
        } else {
            d.setup(debtor, set, input);
        }
    }
    d.call(
        OPERATOR,
        set,
        settlement::settleCycleCall { currency: usd, ids: (1..=10).collect() }.abi_encode(),
        "settlement: settleCycle (10 obligations)",
    );

    // ---- supply-chain finance ----
    d.setup(OPERATOR, rec, receivables::setObligorCall { account: a(&d, CORE), enabled: true }.abi_encode());
    d.setup(OPERATOR, rec, receivables::setFinancierCall { account: a(&d, BANK_A), enabled: true }.abi_encode());
    let due = d.now + 60 * DAY;
    d.call(
        CORE,
        rec,
        receivables::confirmCall { supplier: a(&d, SUPPLIER), amount: million, due }.abi_encode(),
        "receivables: confirm",
    );
    d.call(
        SUPPLIER,
        rec,
        receivables::transferCall { id: 1, to: a(&d, SUB), amount: U256::from(400_000u64) }.abi_encode(),
        "receivables: transfer (split)",
    );
    d.call(
        SUB,
        rec,
        receivables::requestFinancingCall { id: 2, bank: a(&d, BANK_A), rateBps: 500 }.abi_encode(),
        "receivables: requestFinancing",
    );
    d.call(BANK_A, rec, receivables::financeCall { id: 2 }.abi_encode(), "receivables: finance (pay + take)");

    // ---- digital bills ----
    let maturity = due + 3_600;
    let issue = bills::issueCall {
        drawee: a(&d, BANK_A),
        payee: a(&d, SUPPLIER),
        amount: U256::from(500_000u64),
        maturity,
        transferable: true,
    };
    d.call(CORE, bil, issue.abi_encode(), "bills: issue");
    let one = U256::from(1u8);
    d.call(BANK_A, bil, bills::acceptCall { id: one }.abi_encode(), "bills: accept");
    d.call(SUPPLIER, bil, bills::receiveBillCall { id: one }.abi_encode(), "bills: receiveBill");
    d.call(
        SUPPLIER,
        bil,
        bills::requestEndorsementCall { id: one, to: a(&d, SUB) }.abi_encode(),
        "bills: requestEndorsement",
    );
    d.call(SUB, bil, bills::acceptEndorsementCall { id: one }.abi_encode(), "bills: acceptEndorsement");
    d.call(
        SUB,
        bil,
        bills::splitCall { id: one, amount: U256::from(200_000u64) }.abi_encode(),
        "bills: split (chain of 2)",
    );
    let part = U256::from(3u8);
    d.call(
        SUB,
        bil,
        bills::requestDiscountCall { id: part, bank: a(&d, BANK_B), rateBps: 300 }.abi_encode(),
        "bills: requestDiscount",
    );
    d.call(BANK_B, bil, bills::discountCall { id: part }.abi_encode(), "bills: discount (pay + take)");

    // ---- maturity ----
    d.now = maturity;
    d.call(CORE, rec, receivables::repayCall { root: 1 }.abi_encode(), "receivables: repay (2 holders)");
    d.call(BANK_B, bil, bills::presentCall { id: part }.abi_encode(), "bills: present");
    d.call(BANK_A, bil, bills::payCall { id: part }.abi_encode(), "bills: pay");

    // The time is that of building a whole one-transaction block (execution, state root, receipts), so a cheap
    // operation's ns/gas carries the block's fixed cost.
    println!("{:<44} {:>12} {:>12} {:>9}", "operation", "gas", "block build", "ns/gas");
    for (label, gas, time) in &d.rows {
        println!(
            "{label:<44} {gas:>12} {:>9.3} ms {:>9.2}",
            time.as_secs_f64() * 1e3,
            time.as_nanos() as f64 / *gas as f64
        );
    }
}
