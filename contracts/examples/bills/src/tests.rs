//! Every allowed transition and every refused one (with its revert reason), with the example ERC-20 token as the
//! cash; `invariants` checks sub-ranges, holders and single payment over random operation sequences.

use super::*;
use accord_contract::abi::{self, AbiParams};
use accord_contract::testing::{self, Outcome};

mod invariants;

/// The example ERC-20 token, compiled into these tests as the cash: its own crate builds only the wasm module
/// (an `rlib` crate type would change that module), so its source is included here, tests and all.
#[path = "../../token/src/lib.rs"]
mod token;

const START: u64 = 10_000_000;
const MATURITY: u64 = START + 100 * DAY;
const FACE: u64 = 100_000;

fn u(n: u64) -> U256 {
    U256::from(n)
}

type BillView = (Address, Address, Address, Address, U256, U256, u64, bool, u8, U256);

/// Cash token and bills contract; the acceptor and both banks hold 1,000,000 cash each and approve the contract.
struct Desk {
    cash: Address,
    contract: Address,
    drawer: Address,
    acceptor: Address,
    payee: Address,
    e1: Address,
    e2: Address,
    bank: Address,
    pledgee: Address,
}

impl Desk {
    fn new() -> Desk {
        testing::reset();
        testing::set_block(1, START);
        let owner = testing::account(1);
        let args = abi::encode(&("Cash".to_string(), "CASH".to_string(), u(100_000_000)));
        let (cash, out) = testing::deploy::<token::Token>(owner, &args);
        out.expect_success();
        let (contract, out) = testing::deploy::<Bills>(owner, &abi::encode(&(cash,)));
        out.expect_success();
        let d = Desk {
            cash,
            contract,
            drawer: testing::account(2),
            acceptor: testing::account(3),
            payee: testing::account(4),
            e1: testing::account(5),
            e2: testing::account(6),
            bank: testing::account(7),
            pledgee: testing::account(8),
        };
        for who in [d.acceptor, d.bank, d.drawer, d.payee, d.e1, d.e2] {
            testing::send(owner, cash, selector!("transfer(address,uint256)"), &(who, u(1_000_000))).expect_success();
            testing::send(who, cash, selector!("approve(address,uint256)"), &(contract, U256::MAX)).expect_success();
        }
        d
    }

    fn send(&self, from: Address, sel: [u8; 4], args: &impl AbiParams) -> Outcome {
        testing::send(from, self.contract, sel, args)
    }

    fn cash_of(&self, who: Address) -> U256 {
        testing::send(who, self.cash, selector!("balanceOf(address)"), &(who,)).value()
    }

    fn issue(&self, transferable: bool) -> U256 {
        self.send(self.drawer, ISSUE, &(self.acceptor, self.payee, u(FACE), MATURITY, transferable)).value()
    }

    /// A bill issued, accepted and received: held by the payee.
    fn held(&self) -> U256 {
        let id = self.issue(true);
        self.send(self.acceptor, ACCEPT, &(id,)).expect_success();
        self.send(self.payee, RECEIVE, &(id,)).expect_success();
        id
    }

    fn endorse(&self, id: U256, from: Address, to: Address) {
        self.send(from, ENDORSE, &(id, to)).expect_success();
        self.send(to, ACCEPT_ENDORSEMENT, &(id,)).expect_success();
    }

    fn bill(&self, id: U256) -> BillView {
        self.send(self.drawer, selector!("bill(uint256)"), &(id,)).expect_success().decode().expect("bill")
    }

    fn state(&self, id: U256) -> u8 {
        self.bill(id).8
    }

    fn holder(&self, id: U256) -> Address {
        self.bill(id).3
    }

    fn chain(&self, id: U256) -> Vec<Address> {
        self.send(self.drawer, selector!("chain(uint256)"), &(id,)).value()
    }

    fn actions(&self, id: U256) -> Vec<u8> {
        let h: Vec<(u8, Address, Address, U256, u64)> =
            self.send(self.drawer, selector!("history(uint256)"), &(id,)).value();
        h.into_iter().map(|e| e.0).collect()
    }
}

const ISSUE: [u8; 4] = selector!("issue(address,address,uint256,uint64,bool)");
const ACCEPT: [u8; 4] = selector!("accept(uint256)");
const REFUSE: [u8; 4] = selector!("refuseAcceptance(uint256)");
const RECEIVE: [u8; 4] = selector!("receiveBill(uint256)");
const ENDORSE: [u8; 4] = selector!("requestEndorsement(uint256,address)");
const ACCEPT_ENDORSEMENT: [u8; 4] = selector!("acceptEndorsement(uint256)");
const REJECT: [u8; 4] = selector!("rejectOffer(uint256)");
const CANCEL: [u8; 4] = selector!("cancelOffer(uint256)");
const PLEDGE: [u8; 4] = selector!("requestPledge(uint256,address)");
const ACCEPT_PLEDGE: [u8; 4] = selector!("acceptPledge(uint256)");
const RELEASE: [u8; 4] = selector!("releasePledge(uint256)");
const REQUEST_DISCOUNT: [u8; 4] = selector!("requestDiscount(uint256,address,uint64)");
const DISCOUNT: [u8; 4] = selector!("discount(uint256)");
const SPLIT_: [u8; 4] = selector!("split(uint256,uint256)");
const PRESENT: [u8; 4] = selector!("present(uint256)");
const PAY: [u8; 4] = selector!("pay(uint256)");
const DISHONOUR: [u8; 4] = selector!("dishonour(uint256)");
const CLAIM: [u8; 4] = selector!("claimRecourse(uint256,address)");
const PAY_RECOURSE: [u8; 4] = selector!("payRecourse(uint256)");

#[test]
fn issue_acceptance_and_receipt() {
    let d = Desk::new();
    d.send(d.drawer, ISSUE, &(d.acceptor, d.payee, u(0), MATURITY, true)).expect_revert("bills: zero amount");
    d.send(d.drawer, ISSUE, &(d.acceptor, d.payee, u(1), START, true)).expect_revert("bills: maturity in the past");
    d.send(d.drawer, ISSUE, &(d.acceptor, d.payee, u(1), START + 366 * DAY, true))
        .expect_revert("bills: term longer than one year");
    d.send(d.drawer, ISSUE, &(Address::ZERO, d.payee, u(1), MATURITY, true)).expect_revert("bills: zero party");

    let id = d.issue(true);
    assert_eq!(
        d.bill(id),
        (d.drawer, d.acceptor, d.payee, Address::ZERO, u(0), u(FACE), MATURITY, true, state::ISSUED, u(0))
    );
    d.send(d.payee, ENDORSE, &(id, d.e1)).expect_revert("bills: bill not accepted");
    d.send(d.payee, RECEIVE, &(id,)).expect_revert("bills: bill not awaiting receipt");
    d.send(d.drawer, ACCEPT, &(id,)).expect_revert("bills: only the drawee answers");
    d.send(d.acceptor, ACCEPT, &(id,)).expect_success();
    d.send(d.acceptor, ACCEPT, &(id,)).expect_revert("bills: bill not awaiting acceptance");
    d.send(d.acceptor, REFUSE, &(id,)).expect_revert("bills: bill not awaiting acceptance");
    d.send(d.payee, ENDORSE, &(id, d.e1)).expect_revert("bills: bill not yet received by the payee");
    d.send(d.e1, RECEIVE, &(id,)).expect_revert("bills: only the payee receives");
    d.send(d.payee, RECEIVE, &(id,)).expect_success();
    assert_eq!((d.state(id), d.holder(id), d.chain(id)), (state::HELD, d.payee, vec![d.payee]));
    d.send(d.payee, RECEIVE, &(id,)).expect_revert("bills: bill not awaiting receipt");

    let refused = d.issue(true);
    d.send(d.acceptor, REFUSE, &(refused,)).expect_success();
    assert_eq!(d.state(refused), state::REFUSED);
    d.send(d.payee, RECEIVE, &(refused,)).expect_revert("bills: bill not awaiting receipt");
    d.send(d.payee, ENDORSE, &(refused, d.e1)).expect_revert("bills: bill not accepted");
    assert_eq!(d.actions(refused), vec![action::ISSUE, action::REFUSE]);
    d.send(d.payee, RECEIVE, &(u(99),)).expect_revert("bills: unknown bill");
}

#[test]
fn endorsement_is_two_step_full_and_continuous() {
    let d = Desk::new();
    let id = d.held();
    d.send(d.e1, ENDORSE, &(id, d.e2)).expect_revert("bills: only the holder endorses");
    d.send(d.payee, ENDORSE, &(id, d.payee)).expect_revert("bills: cannot endorse to oneself");
    d.send(d.payee, ENDORSE, &(id, d.e1)).expect_success();
    assert_eq!(d.holder(id), d.payee, "the holder keeps the bill until the endorsee accepts");
    d.send(d.payee, ENDORSE, &(id, d.e2)).expect_revert("bills: an offer is pending");
    d.send(d.payee, REQUEST_DISCOUNT, &(id, d.bank, 100u64)).expect_revert("bills: an offer is pending");
    d.send(d.payee, PLEDGE, &(id, d.pledgee)).expect_revert("bills: an offer is pending");
    d.send(d.e2, ACCEPT_ENDORSEMENT, &(id,)).expect_revert("bills: no endorsement offered to the caller");
    d.send(d.e2, REJECT, &(id,)).expect_revert("bills: no offer to the caller");
    d.send(d.e1, REJECT, &(id,)).expect_success();
    d.send(d.e1, ACCEPT_ENDORSEMENT, &(id,)).expect_revert("bills: no endorsement offered to the caller");

    d.send(d.payee, ENDORSE, &(id, d.e2)).expect_success();
    d.send(d.e1, CANCEL, &(id,)).expect_revert("bills: only the holder withdraws an offer");
    d.send(d.payee, CANCEL, &(id,)).expect_success();
    d.send(d.payee, CANCEL, &(id,)).expect_revert("bills: no offer open");

    d.endorse(id, d.payee, d.e1);
    d.endorse(id, d.e1, d.e2);
    assert_eq!((d.holder(id), d.chain(id)), (d.e2, vec![d.payee, d.e1, d.e2]));
    d.send(d.payee, ENDORSE, &(id, d.e1)).expect_revert("bills: only the holder endorses");
    assert_eq!(
        d.actions(id),
        vec![
            action::ISSUE,
            action::ACCEPT,
            action::RECEIVE,
            action::REQUEST_ENDORSEMENT,
            action::REJECT_OFFER,
            action::REQUEST_ENDORSEMENT,
            action::CANCEL_OFFER,
            action::REQUEST_ENDORSEMENT,
            action::ENDORSE,
            action::REQUEST_ENDORSEMENT,
            action::ENDORSE,
        ]
    );

    let fixed = d.issue(false);
    d.send(d.acceptor, ACCEPT, &(fixed,)).expect_success();
    d.send(d.payee, RECEIVE, &(fixed,)).expect_success();
    d.send(d.payee, ENDORSE, &(fixed, d.e1)).expect_revert("bills: bill not transferable");
    d.send(d.payee, REQUEST_DISCOUNT, &(fixed, d.bank, 1u64)).expect_revert("bills: bill not transferable");
}

#[test]
fn a_pledged_bill_does_nothing_until_released() {
    let d = Desk::new();
    let id = d.held();
    d.send(d.payee, PLEDGE, &(id, d.pledgee)).expect_success();
    d.send(d.e1, ACCEPT_PLEDGE, &(id,)).expect_revert("bills: no pledge offered to the caller");
    d.send(d.pledgee, ACCEPT_PLEDGE, &(id,)).expect_success();
    assert_eq!(d.state(id), state::PLEDGED);
    d.send(d.payee, ENDORSE, &(id, d.e1)).expect_revert("bills: bill pledged");
    d.send(d.payee, REQUEST_DISCOUNT, &(id, d.bank, 1u64)).expect_revert("bills: bill pledged");
    d.send(d.payee, SPLIT_, &(id, u(1))).expect_revert("bills: bill pledged");
    testing::set_block(2, MATURITY);
    d.send(d.payee, PRESENT, &(id,)).expect_revert("bills: bill pledged");
    d.send(d.payee, RELEASE, &(id,)).expect_revert("bills: only the pledgee releases");
    d.send(d.pledgee, RELEASE, &(id,)).expect_success();
    d.send(d.pledgee, RELEASE, &(id,)).expect_revert("bills: bill not pledged");
    d.send(d.payee, PRESENT, &(id,)).expect_success();
}

#[test]
fn a_bank_discounts_only_what_the_holder_offered_and_pays_atomically() {
    let d = Desk::new();
    let id = d.held();
    d.send(d.bank, DISCOUNT, &(id,)).expect_revert("bills: no discount requested by the holder");
    d.send(d.e1, REQUEST_DISCOUNT, &(id, d.bank, 365u64)).expect_revert("bills: only the holder requests a discount");
    d.send(d.payee, REQUEST_DISCOUNT, &(id, d.bank, 10_000u64)).expect_revert("bills: rate out of range");
    d.send(d.payee, REQUEST_DISCOUNT, &(id, d.bank, 365u64)).expect_success();
    d.send(d.payee, ENDORSE, &(id, d.e1)).expect_revert("bills: an offer is pending");
    d.send(d.pledgee, DISCOUNT, &(id,)).expect_revert("bills: no discount requested by the holder");
    // A bank that cannot pay takes nothing.
    testing::send(d.bank, d.cash, selector!("approve(address,uint256)"), &(d.contract, u(10))).expect_success();
    d.send(d.bank, DISCOUNT, &(id,)).expect_revert("bills: cash payment failed (balance or allowance)");
    assert_eq!((d.holder(id), d.cash_of(d.payee)), (d.payee, u(1_000_000)));
    testing::send(d.bank, d.cash, selector!("approve(address,uint256)"), &(d.contract, U256::MAX)).expect_success();
    // 100,000 at 3.65 % a year for 100 days: 1,000 interest.
    assert_eq!(d.send(d.bank, DISCOUNT, &(id,)).value::<U256>(), u(99_000));
    assert_eq!((d.cash_of(d.payee), d.cash_of(d.bank)), (u(1_099_000), u(901_000)));
    assert_eq!((d.holder(id), d.chain(id)), (d.bank, vec![d.payee, d.bank]));
    d.send(d.bank, DISCOUNT, &(id,)).expect_revert("bills: no discount requested by the holder");
    d.send(d.payee, ENDORSE, &(id, d.e1)).expect_revert("bills: only the holder endorses");
}

#[test]
fn presentment_within_the_period_and_payment_in_full_once() {
    let d = Desk::new();
    let id = d.held();
    d.endorse(id, d.payee, d.e1);
    d.send(d.e1, PRESENT, &(id,)).expect_revert("bills: bill not yet due");
    d.send(d.acceptor, PAY, &(id,)).expect_revert("bills: bill not presented");
    testing::set_block(2, MATURITY);
    d.send(d.payee, PRESENT, &(id,)).expect_revert("bills: only the holder presents");
    d.send(d.e1, PRESENT, &(id,)).expect_success();
    d.send(d.e1, ENDORSE, &(id, d.e2)).expect_revert("bills: bill presented");
    d.send(d.drawer, PAY, &(id,)).expect_revert("bills: only the acceptor pays");
    d.send(d.e1, PAY, &(id,)).expect_revert("bills: only the acceptor pays");
    // Without the cash moving there is no payment.
    testing::send(d.acceptor, d.cash, selector!("approve(address,uint256)"), &(d.contract, u(0))).expect_success();
    d.send(d.acceptor, PAY, &(id,)).expect_revert("bills: cash payment failed (balance or allowance)");
    assert_eq!(d.state(id), state::PRESENTED);
    testing::send(d.acceptor, d.cash, selector!("approve(address,uint256)"), &(d.contract, U256::MAX)).expect_success();
    d.send(d.acceptor, PAY, &(id,)).expect_success();
    assert_eq!((d.cash_of(d.e1), d.cash_of(d.acceptor)), (u(1_000_000 + FACE), u(1_000_000 - FACE)));
    assert_eq!(d.state(id), state::PAID);
    d.send(d.acceptor, PAY, &(id,)).expect_revert("bills: bill already paid");
    d.send(d.e1, PRESENT, &(id,)).expect_revert("bills: bill not presentable");
    d.send(d.e1, ENDORSE, &(id, d.e2)).expect_revert("bills: bill closed");

    // After the presentment period: no presentment, no endorsement.
    testing::set_block(1, START);
    let late = d.held();
    testing::set_block(3, MATURITY + PRESENTMENT_PERIOD + 1);
    d.send(d.payee, PRESENT, &(late,)).expect_revert("bills: presentment period over");
    d.send(d.payee, ENDORSE, &(late, d.e1)).expect_revert("bills: presentment period over");
}

#[test]
fn dishonour_opens_recourse_along_the_chain() {
    let d = Desk::new();
    let id = d.held();
    d.endorse(id, d.payee, d.e1);
    d.endorse(id, d.e1, d.e2);
    testing::set_block(2, MATURITY + DAY);
    d.send(d.e2, CLAIM, &(id, d.e1)).expect_revert("bills: bill not dishonoured");
    d.send(d.e2, PRESENT, &(id,)).expect_success();
    d.send(d.e2, DISHONOUR, &(id,)).expect_revert("bills: only the acceptor dishonours");
    testing::set_block(3, MATURITY + DAY + RESPONSE_PERIOD + 1);
    d.send(d.e2, DISHONOUR, &(id,)).expect_success();
    d.send(d.acceptor, PAY, &(id,)).expect_revert("bills: bill not presented");
    d.send(d.e2, ENDORSE, &(id, d.bank)).expect_revert("bills: bill dishonoured");

    d.send(d.e1, CLAIM, &(id, d.payee)).expect_revert("bills: only the holder claims recourse");
    d.send(d.e2, CLAIM, &(id, d.e2)).expect_revert("bills: cannot claim against oneself");
    d.send(d.e2, CLAIM, &(id, d.bank)).expect_revert("bills: party not liable to the holder");
    d.send(d.e2, CLAIM, &(id, d.e1)).expect_success();
    d.send(d.payee, PAY_RECOURSE, &(id,)).expect_revert("bills: no recourse claimed against the caller");
    d.send(d.e1, PAY_RECOURSE, &(id,)).expect_success();
    assert_eq!((d.holder(id), d.cash_of(d.e2), d.cash_of(d.e1)), (d.e1, u(1_000_000 + FACE), u(1_000_000 - FACE)));
    // e1 now claims on those before it only.
    d.send(d.e1, CLAIM, &(id, d.e2)).expect_revert("bills: party not liable to the holder");
    d.send(d.e1, CLAIM, &(id, d.payee)).expect_success();
    d.send(d.payee, PAY_RECOURSE, &(id,)).expect_success();
    d.send(d.payee, CLAIM, &(id, d.drawer)).expect_success();
    d.send(d.drawer, PAY_RECOURSE, &(id,)).expect_success();
    d.send(d.drawer, CLAIM, &(id, d.payee)).expect_revert("bills: party not liable to the holder");
    d.send(d.drawer, CLAIM, &(id, d.acceptor)).expect_success();
    d.send(d.acceptor, PAY_RECOURSE, &(id,)).expect_success();
    assert_eq!(d.state(id), state::SETTLED);
    // In the end the acceptor paid the face value and everyone else is whole.
    for (who, cash) in [(d.e1, 1_000_000), (d.e2, 1_000_000 + FACE), (d.payee, 1_000_000), (d.drawer, 1_000_000)] {
        assert_eq!(d.cash_of(who), u(cash));
    }
    assert_eq!(d.cash_of(d.acceptor), u(1_000_000 - FACE));
    d.send(d.acceptor, PAY_RECOURSE, &(id,)).expect_revert("bills: bill not dishonoured");
    d.send(d.acceptor, PAY, &(id,)).expect_revert("bills: bill already paid");
}

#[test]
fn the_acceptor_dishonours_and_recourse_goes_straight_to_it() {
    let d = Desk::new();
    let id = d.held();
    testing::set_block(2, MATURITY);
    d.send(d.payee, PRESENT, &(id,)).expect_success();
    d.send(d.acceptor, DISHONOUR, &(id,)).expect_success();
    assert!(d.send(d.payee, selector!("liable(uint256,address)"), &(id, d.drawer)).value::<bool>());
    assert!(!d.send(d.payee, selector!("liable(uint256,address)"), &(id, d.e1)).value::<bool>());
    d.send(d.payee, CLAIM, &(id, d.acceptor)).expect_success();
    d.send(d.acceptor, PAY_RECOURSE, &(id,)).expect_success();
    assert_eq!((d.state(id), d.cash_of(d.payee)), (state::SETTLED, u(1_000_000 + FACE)));
}

#[test]
fn splits_make_disjoint_sub_ranges_that_live_separately() {
    let d = Desk::new();
    let id = d.held();
    d.endorse(id, d.payee, d.e1);
    d.send(d.payee, SPLIT_, &(id, u(1))).expect_revert("bills: only the holder splits");
    d.send(d.e1, SPLIT_, &(id, u(0))).expect_revert("bills: split amount out of range");
    d.send(d.e1, SPLIT_, &(id, u(FACE))).expect_revert("bills: split amount out of range");
    let (a, b): (U256, U256) = d.send(d.e1, SPLIT_, &(id, u(30_000))).expect_success().decode().expect("two bills");
    assert_eq!(d.state(id), state::SPLIT);
    d.send(d.e1, ENDORSE, &(id, d.e2)).expect_revert("bills: bill split");
    let (va, vb) = (d.bill(a), d.bill(b));
    assert_eq!((va.4, va.5, va.3, va.9), (u(0), u(30_000), d.e1, id));
    assert_eq!((vb.4, vb.5, vb.3, vb.9), (u(30_000), u(FACE), d.e1, id));
    assert_eq!(d.chain(a), vec![d.payee, d.e1]);
    assert_eq!(d.actions(a), vec![action::SPLIT_FROM]);
    // The parts live separately: one endorsed on, the other split again and discounted.
    d.endorse(a, d.e1, d.e2);
    let (b1, b2): (U256, U256) = d.send(d.e1, SPLIT_, &(b, u(50_000))).expect_success().decode().expect("two bills");
    assert_eq!((d.bill(b1).4, d.bill(b1).5, d.bill(b2).4, d.bill(b2).5), (u(30_000), u(80_000), u(80_000), u(FACE)));
    d.send(d.e1, REQUEST_DISCOUNT, &(b2, d.bank, 0u64)).expect_success();
    assert_eq!(d.send(d.bank, DISCOUNT, &(b2,)).value::<U256>(), u(20_000));
    testing::set_block(2, MATURITY);
    d.send(d.e1, SPLIT_, &(b1, u(1))).expect_revert("bills: bill matured");
    for (bill, holder) in [(a, d.e2), (b1, d.e1), (b2, d.bank)] {
        d.send(holder, PRESENT, &(bill,)).expect_success();
        d.send(d.acceptor, PAY, &(bill,)).expect_success();
    }
    assert_eq!(d.cash_of(d.acceptor), u(1_000_000 - FACE), "the three parts together pay the face value once");
}
