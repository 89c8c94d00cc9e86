//! Every allowed transition and every refused one (with its revert reason), with the example ERC-20 token as the
//! cash; `invariants` checks the per-payable conservation and the cash over random operation sequences.

use super::*;
use accord_contract::abi::{self, AbiParams};
use accord_contract::testing::{self, Outcome};

mod invariants;

/// The example ERC-20 token, compiled into these tests as the cash: its own crate builds only the wasm module
/// (an `rlib` crate type would change that module), so its source is included here, tests and all.
#[path = "../../token/src/lib.rs"]
mod token;

const DAY: u64 = 24 * 3600;
const START: u64 = 1_000_000;
const DUE: u64 = START + 90 * DAY;

fn u(n: u64) -> U256 {
    U256::from(n)
}

/// The cash token (operator holds the supply, core and the banks 1,000,000 each, all approving the contract) and
/// the receivables contract with `core` as obligor and `bank`, `bank2` as financiers.
struct Chain {
    cash: Address,
    contract: Address,
    operator: Address,
    core: Address,
    bank: Address,
    bank2: Address,
    tier1: Address,
    tier2: Address,
    tier3: Address,
}

impl Chain {
    fn new() -> Chain {
        testing::reset();
        testing::set_block(1, START);
        let operator = testing::account(1);
        let args = abi::encode(&("Cash".to_string(), "CASH".to_string(), u(100_000_000)));
        let (cash, out) = testing::deploy::<token::Token>(operator, &args);
        out.expect_success();
        let (contract, out) = testing::deploy::<Receivables>(operator, &abi::encode(&(cash,)));
        out.expect_success();
        let c = Chain {
            cash,
            contract,
            operator,
            core: testing::account(2),
            bank: testing::account(3),
            bank2: testing::account(4),
            tier1: testing::account(5),
            tier2: testing::account(6),
            tier3: testing::account(7),
        };
        for who in [c.core, c.bank, c.bank2] {
            testing::send(operator, cash, selector!("transfer(address,uint256)"), &(who, u(1_000_000)))
                .expect_success();
            testing::send(who, cash, selector!("approve(address,uint256)"), &(contract, U256::MAX)).expect_success();
        }
        c.send(operator, selector!("setObligor(address,bool)"), &(c.core, true)).expect_success();
        c.send(operator, selector!("setFinancier(address,bool)"), &(c.bank, true)).expect_success();
        c.send(operator, selector!("setFinancier(address,bool)"), &(c.bank2, true)).expect_success();
        c
    }

    fn send(&self, from: Address, sel: [u8; 4], args: &impl AbiParams) -> Outcome {
        testing::send(from, self.contract, sel, args)
    }

    fn cash_of(&self, who: Address) -> U256 {
        testing::send(who, self.cash, selector!("balanceOf(address)"), &(who,)).value()
    }

    fn confirm(&self, supplier: Address, amount: u64) -> u64 {
        self.send(self.core, CONFIRM, &(supplier, u(amount), DUE)).value()
    }

    fn voucher(&self, id: u64) -> (u64, u64, Address, Address, U256, u64, u8) {
        self.send(self.operator, selector!("voucher(uint64)"), &(id,)).expect_success().decode().expect("voucher")
    }

    fn payable(&self, root: u64) -> (U256, U256, bool, Vec<u64>) {
        self.send(self.operator, selector!("payable(uint64)"), &(root,)).expect_success().decode().expect("payable")
    }
}

const CONFIRM: [u8; 4] = selector!("confirm(address,uint256,uint64)");
const TRANSFER: [u8; 4] = selector!("transfer(uint64,address,uint256)");
const REQUEST: [u8; 4] = selector!("requestFinancing(uint64,address,uint64)");
const CANCEL: [u8; 4] = selector!("cancelFinancing(uint64)");
const FINANCE: [u8; 4] = selector!("finance(uint64)");
const REPAY: [u8; 4] = selector!("repay(uint64)");
const OVERDUE_: [u8; 4] = selector!("markOverdue(uint64)");

#[test]
fn only_a_core_enterprise_confirms() {
    let c = Chain::new();
    c.send(c.tier1, CONFIRM, &(c.tier2, u(1_000), DUE)).expect_revert("receivables: only a core enterprise confirms");
    c.send(c.bank, CONFIRM, &(c.tier1, u(1_000), DUE)).expect_revert("receivables: only a core enterprise confirms");
    c.send(c.core, CONFIRM, &(c.tier1, u(0), DUE)).expect_revert("receivables: zero amount");
    c.send(c.core, CONFIRM, &(c.core, u(1), DUE)).expect_revert("receivables: invalid supplier");
    c.send(c.core, CONFIRM, &(c.tier1, u(1), START)).expect_revert("receivables: due date in the past");
    c.send(c.tier1, selector!("setObligor(address,bool)"), &(c.tier1, true))
        .expect_revert("receivables: only the operator");
    let id = c.confirm(c.tier1, 1_000);
    assert_eq!(c.voucher(id), (id, 0, c.core, c.tier1, u(1_000), DUE, state::ACTIVE));
    assert_eq!(c.payable(id), (u(1_000), u(0), false, vec![id]));
    // A withdrawn role confirms nothing more.
    c.send(c.operator, selector!("setObligor(address,bool)"), &(c.core, false)).expect_success();
    c.send(c.core, CONFIRM, &(c.tier1, u(1), DUE)).expect_revert("receivables: only a core enterprise confirms");
}

#[test]
fn holders_split_and_transfer_down_the_chain() {
    let c = Chain::new();
    let root = c.confirm(c.tier1, 1_000);
    c.send(c.tier2, TRANSFER, &(root, c.tier3, u(1))).expect_revert("receivables: only the holder transfers");
    c.send(c.tier1, TRANSFER, &(root, c.tier1, u(1))).expect_revert("receivables: invalid receiver");
    c.send(c.tier1, TRANSFER, &(root, c.tier2, u(0))).expect_revert("receivables: zero amount");
    c.send(c.tier1, TRANSFER, &(root, c.tier2, u(1_001))).expect_revert("receivables: amount exceeds the voucher");
    let child = c.send(c.tier1, TRANSFER, &(root, c.tier2, u(300))).value::<u64>();
    assert_eq!(c.voucher(child), (root, root, c.core, c.tier2, u(300), DUE, state::ACTIVE));
    assert_eq!(c.voucher(root).4, u(700));
    let grandchild = c.send(c.tier2, TRANSFER, &(child, c.tier3, u(300))).value::<u64>();
    assert_eq!(c.voucher(grandchild), (root, child, c.core, c.tier3, u(300), DUE, state::ACTIVE));
    assert_eq!(c.voucher(child).6, state::SPENT);
    c.send(c.tier2, TRANSFER, &(child, c.tier3, u(1))).expect_revert("receivables: voucher fully transferred");
    assert_eq!(c.payable(root).3, vec![root, child, grandchild]);
    testing::set_block(2, DUE);
    c.send(c.tier1, TRANSFER, &(root, c.tier2, u(1))).expect_revert("receivables: voucher matured");
    c.send(c.tier1, TRANSFER, &(99u64, c.tier2, u(1))).expect_revert("receivables: unknown voucher");
}

#[test]
fn a_bank_finances_a_voucher_once_and_atomically() {
    let c = Chain::new();
    let root = c.confirm(c.tier1, 100_000);
    let piece = c.send(c.tier1, TRANSFER, &(root, c.tier2, u(36_500))).value::<u64>();
    c.send(c.tier2, FINANCE, &(piece,)).expect_revert("receivables: voucher not offered for financing");
    c.send(c.bank, REQUEST, &(piece, c.bank, 500u64)).expect_revert("receivables: only the holder requests financing");
    c.send(c.tier2, REQUEST, &(piece, c.tier3, 500u64)).expect_revert("receivables: not a registered bank");
    c.send(c.tier2, REQUEST, &(piece, c.bank, 10_000u64)).expect_revert("receivables: rate out of range");
    c.send(c.tier2, REQUEST, &(piece, c.bank, 730u64)).expect_success();
    c.send(c.tier2, TRANSFER, &(piece, c.tier3, u(1))).expect_revert("receivables: voucher locked for financing");
    c.send(c.tier2, REQUEST, &(piece, c.bank2, 730u64)).expect_revert("receivables: voucher locked for financing");
    c.send(c.bank2, FINANCE, &(piece,)).expect_revert("receivables: offered to another bank");

    // 36,500 at 7.30 % a year for 90 days: interest 36,500 × 0.073 × 90/365 = 657.
    let price = c.send(c.bank, FINANCE, &(piece,)).value::<U256>();
    assert_eq!(price, u(36_500 - 657));
    assert_eq!(c.cash_of(c.tier2), price);
    assert_eq!(c.cash_of(c.bank), u(1_000_000) - price);
    assert_eq!(c.voucher(piece).3, c.bank);
    assert_eq!(c.voucher(piece).6, state::FINANCED);

    // Financed: not again, not moved on, not re-offered.
    c.send(c.bank, FINANCE, &(piece,)).expect_revert("receivables: voucher already financed");
    c.send(c.bank2, FINANCE, &(piece,)).expect_revert("receivables: voucher already financed");
    c.send(c.bank, REQUEST, &(piece, c.bank2, 100u64)).expect_revert("receivables: voucher financed");
    c.send(c.bank, TRANSFER, &(piece, c.bank2, u(1))).expect_revert("receivables: voucher financed");

    // An offer can be withdrawn; a bank that cannot pay leaves everything as it was.
    c.send(c.tier1, REQUEST, &(root, c.bank2, 100u64)).expect_success();
    c.send(c.tier2, CANCEL, &(root,)).expect_revert("receivables: only the holder withdraws the offer");
    c.send(c.tier1, CANCEL, &(root,)).expect_success();
    c.send(c.tier1, CANCEL, &(root,)).expect_revert("receivables: no financing offer");
    c.send(c.bank2, FINANCE, &(root,)).expect_revert("receivables: voucher not offered for financing");
    c.send(c.tier1, REQUEST, &(root, c.bank2, 100u64)).expect_success();
    testing::send(c.bank2, c.cash, selector!("approve(address,uint256)"), &(c.contract, u(5))).expect_success();
    c.send(c.bank2, FINANCE, &(root,)).expect_revert("receivables: cash payment failed (balance or allowance)");
    assert_eq!((c.voucher(root).3, c.voucher(root).6), (c.tier1, state::LOCKED));
    assert_eq!(c.cash_of(c.tier1), u(0));
    testing::set_block(3, DUE);
    c.send(c.bank2, FINANCE, &(root,)).expect_revert("receivables: voucher matured");
}

#[test]
fn the_obligor_repays_every_holder_at_maturity() {
    let c = Chain::new();
    let root = c.confirm(c.tier1, 1_000);
    let a = c.send(c.tier1, TRANSFER, &(root, c.tier2, u(400))).value::<u64>();
    let b = c.send(c.tier2, TRANSFER, &(a, c.tier3, u(150))).value::<u64>();
    c.send(c.tier3, REQUEST, &(b, c.bank, 0u64)).expect_success();
    c.send(c.bank, FINANCE, &(b,)).expect_success();
    c.send(c.core, REPAY, &(root,)).expect_revert("receivables: not yet due");
    testing::set_block(2, DUE);
    c.send(c.tier1, REPAY, &(root,)).expect_revert("receivables: only the obligor repays");
    c.send(c.core, REPAY, &(a,)).expect_revert("receivables: unknown payable");
    let core_before = c.cash_of(c.core);
    let bank_before = c.cash_of(c.bank);
    assert_eq!(c.send(c.core, REPAY, &(root,)).value::<U256>(), u(1_000));
    assert_eq!((c.cash_of(c.tier1), c.cash_of(c.tier2), c.cash_of(c.bank) - bank_before), (u(600), u(250), u(150)));
    assert_eq!(core_before - c.cash_of(c.core), u(1_000));
    for id in [root, a, b] {
        assert_eq!(c.voucher(id).6, state::REPAID);
    }
    assert_eq!(c.payable(root).1, u(1_000));
    c.send(c.core, REPAY, &(root,)).expect_revert("receivables: already repaid");
    c.send(c.tier1, TRANSFER, &(root, c.tier2, u(1))).expect_revert("receivables: voucher repaid");
}

#[test]
fn unpaid_vouchers_become_overdue_and_repayment_moves_all_or_nothing() {
    let c = Chain::new();
    let root = c.confirm(c.tier1, 5_000_000);
    c.send(c.tier1, TRANSFER, &(root, c.tier2, u(1_000))).expect_success();
    c.send(c.tier1, OVERDUE_, &(root,)).expect_revert("receivables: not yet overdue");
    testing::set_block(2, DUE + 1);
    assert_eq!(c.voucher(root).6, state::OVERDUE);
    // The core enterprise holds only 1,000,000 of the 5,000,000 due: nobody is paid.
    c.send(c.core, REPAY, &(root,)).expect_revert("receivables: cash payment failed (balance or allowance)");
    assert_eq!((c.cash_of(c.tier1), c.cash_of(c.tier2)), (u(0), u(0)));
    assert_eq!(c.send(c.tier2, OVERDUE_, &(root,)).value::<U256>(), u(5_000_000));
    assert!(c.payable(root).2);
    c.send(c.tier2, OVERDUE_, &(root,)).expect_revert("receivables: already marked overdue");
    // Funded late, it repays late.
    testing::send(c.operator, c.cash, selector!("transfer(address,uint256)"), &(c.core, u(4_000_000))).expect_success();
    c.send(c.core, REPAY, &(root,)).expect_success();
    assert_eq!((c.cash_of(c.tier1), c.cash_of(c.tier2)), (u(4_999_000), u(1_000)));
    assert_eq!(c.voucher(root).6, state::REPAID);
}
