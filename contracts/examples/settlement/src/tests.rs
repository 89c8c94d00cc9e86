//! Every allowed transition and every refused one (with its revert reason), on the library's native test host;
//! `invariants` checks supply and PvP atomicity over random operation sequences.

use super::*;
use accord_contract::abi::{self, AbiDecode, AbiParams};
use accord_contract::testing::{self, Outcome};

mod invariants;

const USD: FixedBytes<3> = FixedBytes::new(*b"USD");
const EUR: FixedBytes<3> = FixedBytes::new(*b"EUR");
const GBP: FixedBytes<3> = FixedBytes::new(*b"GBP");
const LIMIT: u64 = 1_000_000;

fn u(n: u64) -> U256 {
    U256::from(n)
}

/// A deployed settlement contract with USD (issued by `usd_bank`) and EUR (by `eur_bank`); `alice`, `bob` and
/// `carol` are admitted to both with a limit of 1,000,000; alice holds 10,000 USD and bob 10,000 EUR.
struct Net {
    contract: Address,
    operator: Address,
    usd_bank: Address,
    eur_bank: Address,
    alice: Address,
    bob: Address,
    carol: Address,
}

impl Net {
    fn new() -> Net {
        testing::reset();
        testing::set_block(1, 1_000);
        let operator = testing::account(1);
        let (contract, out) = testing::deploy::<Settlement>(operator, &[]);
        assert!(out.is_success(), "{out:?}");
        let net = Net {
            contract,
            operator,
            usd_bank: testing::account(10),
            eur_bank: testing::account(11),
            alice: testing::account(20),
            bob: testing::account(21),
            carol: testing::account(22),
        };
        net.ok(operator, selector!("addCurrency(bytes3,address)"), &(USD, net.usd_bank));
        net.ok(operator, selector!("addCurrency(bytes3,address)"), &(EUR, net.eur_bank));
        for (ccy, bank) in [(USD, net.usd_bank), (EUR, net.eur_bank)] {
            for who in [net.alice, net.bob, net.carol] {
                net.ok(bank, selector!("admit(bytes3,address,uint256)"), &(ccy, who, u(LIMIT)));
            }
        }
        net.ok(net.usd_bank, selector!("mint(bytes3,address,uint256)"), &(USD, net.alice, u(10_000)));
        net.ok(net.eur_bank, selector!("mint(bytes3,address,uint256)"), &(EUR, net.bob, u(10_000)));
        net
    }

    fn send(&self, from: Address, sel: [u8; 4], args: &impl AbiParams) -> Outcome {
        testing::send(from, self.contract, sel, args)
    }

    #[track_caller]
    fn ok(&self, from: Address, sel: [u8; 4], args: &impl AbiParams) -> Outcome {
        self.send(from, sel, args).expect_success()
    }

    #[track_caller]
    fn id(&self, from: Address, sel: [u8; 4], args: &impl AbiParams) -> u64 {
        self.send(from, sel, args).value()
    }

    #[track_caller]
    fn refused(&self, from: Address, sel: [u8; 4], args: &impl AbiParams, reason: &str) {
        self.send(from, sel, args).expect_revert(reason);
    }

    #[track_caller]
    fn view<R: AbiParams + AbiDecode>(&self, sel: [u8; 4], args: &impl AbiParams) -> R {
        self.ok(self.operator, sel, args).decode::<R>().expect("a view's output")
    }

    fn balance(&self, ccy: FixedBytes<3>, who: Address) -> U256 {
        self.view::<(U256,)>(selector!("balanceOf(bytes3,address)"), &(ccy, who)).0
    }

    fn transfer(&self, from: Address, ccy: FixedBytes<3>, to: Address, amount: u64) -> Outcome {
        self.send(from, selector!("transfer(bytes3,address,uint256)"), &(ccy, to, u(amount)))
    }

    /// Alice proposes to pay `usd` USD for `eur` EUR from bob, expiring at `expiry`.
    fn propose(&self, usd: u64, eur: u64, expiry: u64) -> u64 {
        self.id(
            self.alice,
            selector!("proposeTrade(address,bytes3,uint256,bytes3,uint256,uint64)"),
            &(self.bob, USD, u(usd), EUR, u(eur), expiry),
        )
    }

    fn trade_state(&self, id: u64) -> u8 {
        type T = (Address, Address, FixedBytes<3>, U256, FixedBytes<3>, U256, u64, u8);
        self.view::<T>(selector!("trade(uint64)"), &(id,)).7
    }
}

const ACCEPT: [u8; 4] = selector!("acceptTrade(uint64)");
const SETTLE: [u8; 4] = selector!("settleTrade(uint64)");
const CANCEL: [u8; 4] = selector!("cancelTrade(uint64)");
const LOCK: [u8; 4] = selector!("lock(bytes3,address,uint256,bytes32,uint64)");
const RESPOND: [u8; 4] = selector!("respond(uint64,bytes3,uint256,uint64)");
const CLAIM: [u8; 4] = selector!("claim(uint64,bytes32)");
const REFUND: [u8; 4] = selector!("refund(uint64)");
const SIGNERS: [u8; 4] = selector!("configureSigners(address[],uint64)");
const SUBMIT: [u8; 4] = selector!("submitInstruction(address,bytes3,address,uint256,uint64)");
const APPROVE: [u8; 4] = selector!("approve(uint64)");
const REVOKE: [u8; 4] = selector!("revokeApproval(uint64)");
const EXECUTE: [u8; 4] = selector!("execute(uint64)");
const OBLIGE: [u8; 4] = selector!("addObligation(bytes3,address,uint256)");
const CYCLE: [u8; 4] = selector!("settleCycle(bytes3,uint64[])");

#[test]
fn currencies_are_minted_and_burned_only_by_their_issuer() {
    let n = Net::new();
    let add = selector!("addCurrency(bytes3,address)");
    n.refused(n.alice, add, &(GBP, n.alice), "settlement: only the operator");
    n.refused(n.operator, add, &(USD, n.alice), "settlement: currency already registered");
    let mint = selector!("mint(bytes3,address,uint256)");
    n.refused(n.eur_bank, mint, &(USD, n.alice, u(1)), "settlement: only the issuer mints");
    n.refused(n.alice, mint, &(USD, n.alice, u(1)), "settlement: only the issuer mints");
    n.refused(n.usd_bank, mint, &(GBP, n.alice, u(1)), "settlement: unknown currency");
    n.refused(
        n.usd_bank,
        mint,
        &(USD, testing::account(99), u(1)),
        "settlement: recipient not eligible for this currency",
    );
    n.refused(n.usd_bank, mint, &(USD, n.alice, u(LIMIT)), "settlement: recipient limit exceeded");
    n.refused(n.usd_bank, mint, &(USD, n.alice, u(0)), "settlement: zero amount");
    let admit = selector!("admit(bytes3,address,uint256)");
    n.refused(n.eur_bank, admit, &(USD, n.alice, u(5)), "settlement: only the issuer admits participants");

    // Redemption: alice returns 400 to the issuer, which burns it.
    n.transfer(n.alice, USD, n.usd_bank, 400).expect_success();
    let burn = selector!("burn(bytes3,uint256)");
    n.refused(n.alice, burn, &(USD, u(1)), "settlement: only the issuer burns");
    n.refused(n.usd_bank, burn, &(USD, u(401)), "settlement: insufficient balance");
    n.ok(n.usd_bank, burn, &(USD, u(400)));
    let info = n.view::<(Address, U256, U256, U256, U256)>(selector!("currencyInfo(bytes3)"), &(USD,));
    assert_eq!(info, (n.usd_bank, u(9_600), u(10_000), u(400), u(0)));
    assert_eq!(n.balance(USD, n.alice), u(9_600));

    // A limit of zero removes eligibility: nothing more can be received.
    n.ok(n.usd_bank, admit, &(USD, n.bob, u(0)));
    assert_eq!(
        n.transfer(n.alice, USD, n.bob, 1).revert_message().as_deref(),
        Some("settlement: recipient not eligible for this currency")
    );
    assert_eq!(
        n.transfer(n.alice, USD, n.alice, 1).revert_message().as_deref(),
        Some("settlement: payment to oneself")
    );
    assert_eq!(
        n.transfer(n.alice, USD, n.carol, 9_601).revert_message().as_deref(),
        Some("settlement: insufficient balance")
    );
}

#[test]
fn frozen_accounts_neither_send_nor_receive() {
    let n = Net::new();
    let freeze = selector!("setFrozen(address,bool)");
    n.refused(n.usd_bank, freeze, &(n.alice, true), "settlement: only the operator");
    n.ok(n.operator, freeze, &(n.alice, true));
    assert!(n.view::<(bool,)>(selector!("isFrozen(address)"), &(n.alice,)).0);
    n.transfer(n.alice, USD, n.bob, 1).expect_revert("settlement: account frozen");
    n.transfer(n.bob, EUR, n.alice, 1).expect_revert("settlement: recipient frozen");
    n.ok(n.operator, freeze, &(n.alice, false));
    n.transfer(n.alice, USD, n.bob, 1).expect_success();
}

#[test]
fn pvp_settles_both_legs_together() {
    let n = Net::new();
    let id = n.propose(1_000, 900, 2_000);
    assert_eq!(n.trade_state(id), state::PROPOSED);
    n.refused(n.alice, ACCEPT, &(id,), "settlement: only the counterparty accepts");
    n.refused(n.bob, SETTLE, &(id,), "settlement: trade not accepted");
    n.ok(n.bob, ACCEPT, &(id,));
    n.refused(n.bob, ACCEPT, &(id,), "settlement: trade not proposed");
    n.refused(n.carol, SETTLE, &(id,), "settlement: only a party settles");
    n.ok(n.alice, SETTLE, &(id,));
    assert_eq!(n.trade_state(id), state::SETTLED);
    assert_eq!((n.balance(USD, n.alice), n.balance(EUR, n.alice)), (u(9_000), u(900)));
    assert_eq!((n.balance(USD, n.bob), n.balance(EUR, n.bob)), (u(1_000), u(9_100)));
    n.refused(n.bob, SETTLE, &(id,), "settlement: trade already settled");
    n.refused(n.bob, CANCEL, &(id,), "settlement: trade already settled");
    n.refused(n.alice, ACCEPT, &(99,), "settlement: unknown trade");
}

#[test]
fn pvp_with_a_failing_second_leg_moves_neither() {
    let n = Net::new();
    let id = n.propose(1_000, 900, 2_000);
    n.ok(n.bob, ACCEPT, &(id,));
    // Bob gives away most of his EUR after accepting: the second leg cannot be paid.
    n.transfer(n.bob, EUR, n.carol, 9_500).expect_success();
    let logs = testing::logs().len();
    n.refused(n.alice, SETTLE, &(id,), "settlement: insufficient balance");
    assert_eq!(n.balance(USD, n.alice), u(10_000), "the first leg was rolled back");
    assert_eq!(n.balance(USD, n.bob), u(0));
    assert_eq!(n.balance(EUR, n.bob), u(500));
    assert_eq!(testing::logs().len(), logs, "no Transfer event survives");
    assert_eq!(n.trade_state(id), state::ACCEPTED);
    // The counterparty's limit can fail the first leg too; still nothing moves.
    n.ok(n.usd_bank, selector!("admit(bytes3,address,uint256)"), &(USD, n.bob, u(999)));
    n.transfer(n.carol, EUR, n.bob, 9_000).expect_success();
    n.refused(n.bob, SETTLE, &(id,), "settlement: recipient limit exceeded");
    assert_eq!((n.balance(USD, n.alice), n.balance(EUR, n.alice)), (u(10_000), u(0)));
    // With the limit raised it settles.
    n.ok(n.usd_bank, selector!("admit(bytes3,address,uint256)"), &(USD, n.bob, u(LIMIT)));
    n.ok(n.bob, SETTLE, &(id,));
    assert_eq!((n.balance(USD, n.alice), n.balance(EUR, n.alice)), (u(9_000), u(900)));
}

#[test]
fn pvp_cancel_and_expiry() {
    let n = Net::new();
    let propose = selector!("proposeTrade(address,bytes3,uint256,bytes3,uint256,uint64)");
    n.refused(n.alice, propose, &(n.alice, USD, u(1), EUR, u(1), 2_000u64), "settlement: invalid counterparty");
    n.refused(n.alice, propose, &(n.bob, USD, u(1), USD, u(1), 2_000u64), "settlement: both legs in one currency");
    n.refused(n.alice, propose, &(n.bob, USD, u(0), EUR, u(1), 2_000u64), "settlement: zero amount");
    n.refused(n.alice, propose, &(n.bob, USD, u(1), EUR, u(1), 1_000u64), "settlement: expiry in the past");

    let id = n.propose(10, 9, 2_000);
    n.refused(n.carol, CANCEL, &(id,), "settlement: only a party cancels");
    n.ok(n.bob, CANCEL, &(id,));
    assert_eq!(n.trade_state(id), state::CANCELLED);
    n.refused(n.bob, ACCEPT, &(id,), "settlement: trade not proposed");
    n.refused(n.alice, CANCEL, &(id,), "settlement: trade already cancelled");

    let accepted = n.propose(10, 9, 2_000);
    n.ok(n.bob, ACCEPT, &(accepted,));
    n.ok(n.alice, CANCEL, &(accepted,));
    n.refused(n.alice, SETTLE, &(accepted,), "settlement: trade not accepted");

    let late = n.propose(10, 9, 2_000);
    let unsettled = n.propose(10, 9, 2_000);
    n.ok(n.bob, ACCEPT, &(unsettled,));
    testing::set_block(2, 2_001);
    assert_eq!(n.trade_state(late), state::EXPIRED);
    assert_eq!(n.trade_state(unsettled), state::EXPIRED);
    n.refused(n.bob, ACCEPT, &(late,), "settlement: trade expired");
    n.refused(n.bob, SETTLE, &(unsettled,), "settlement: trade expired");
    assert_eq!(n.balance(USD, n.alice), u(10_000));
}

fn hash(preimage: &B256) -> B256 {
    B256::new(env::keccak256(preimage.as_bytes()))
}

#[test]
fn htlc_claim_with_the_preimage_before_the_timeout() {
    let n = Net::new();
    let secret = B256::new([7; 32]);
    n.refused(n.alice, LOCK, &(USD, n.bob, u(100), hash(&secret), 1_000u64), "settlement: timeout in the past");
    n.refused(n.alice, LOCK, &(USD, n.alice, u(100), hash(&secret), 1_500u64), "settlement: invalid receiver");
    n.refused(n.alice, LOCK, &(USD, n.bob, u(10_001), hash(&secret), 1_500u64), "settlement: insufficient balance");
    let id = n.id(n.alice, LOCK, &(USD, n.bob, u(100), hash(&secret), 1_500u64));
    assert_eq!(n.balance(USD, n.alice), u(9_900));
    let info = n.view::<(Address, U256, U256, U256, U256)>(selector!("currencyInfo(bytes3)"), &(USD,));
    assert_eq!(info.4, u(100), "locked");

    n.refused(n.bob, CLAIM, &(id, B256::new([8; 32])), "settlement: wrong preimage");
    n.refused(n.carol, CLAIM, &(id, secret), "settlement: only the receiver claims");
    n.refused(n.alice, REFUND, &(id,), "settlement: escrow not yet timed out");
    n.ok(n.bob, CLAIM, &(id, secret));
    assert_eq!(n.balance(USD, n.bob), u(100));
    n.refused(n.bob, CLAIM, &(id, secret), "settlement: escrow already closed");
    testing::set_block(9, 1_500);
    n.refused(n.alice, REFUND, &(id,), "settlement: escrow already closed");
    let info = n.view::<(Address, U256, U256, U256, U256)>(selector!("currencyInfo(bytes3)"), &(USD,));
    assert_eq!(info.4, u(0));
}

#[test]
fn htlc_refund_only_from_the_timeout_on() {
    let n = Net::new();
    let secret = B256::new([9; 32]);
    let id = n.id(n.alice, LOCK, &(USD, n.bob, u(100), hash(&secret), 1_500u64));
    testing::set_block(2, 1_499);
    n.refused(n.alice, REFUND, &(id,), "settlement: escrow not yet timed out");
    testing::set_block(3, 1_500);
    n.refused(n.bob, CLAIM, &(id, secret), "settlement: escrow timed out");
    n.refused(n.bob, REFUND, &(id,), "settlement: only the sender refunds");
    n.ok(n.alice, REFUND, &(id,));
    assert_eq!(n.balance(USD, n.alice), u(10_000));
    n.refused(n.alice, REFUND, &(id,), "settlement: escrow already closed");
    n.refused(n.bob, CLAIM, &(id, secret), "settlement: escrow already closed");
}

#[test]
fn htlc_counterparty_leg_times_out_first() {
    let n = Net::new();
    let secret = B256::new([3; 32]);
    // Alice locks USD for bob until 3,000; bob answers with EUR for alice, which must time out earlier.
    let initiator = n.id(n.alice, LOCK, &(USD, n.bob, u(500), hash(&secret), 3_000u64));
    n.refused(
        n.bob,
        RESPOND,
        &(initiator, EUR, u(450), 3_000u64),
        "settlement: response timeout must be before the initiator's",
    );
    n.refused(
        n.carol,
        RESPOND,
        &(initiator, EUR, u(450), 2_000u64),
        "settlement: only the initiator's receiver responds",
    );
    let response = n.id(n.bob, RESPOND, &(initiator, EUR, u(450), 2_000u64));
    type E = (Address, Address, FixedBytes<3>, U256, B256, u64, u8);
    let e = n.view::<E>(selector!("escrow(uint64)"), &(response,));
    assert_eq!((e.0, e.1, e.4, e.5, e.6), (n.bob, n.alice, hash(&secret), 2_000, state::LOCKED));
    // Alice claims bob's leg, publishing the secret; bob uses it on alice's.
    n.ok(n.alice, CLAIM, &(response, secret));
    let published =
        testing::logs().iter().rev().find(|l| l.topics[0] == <EscrowClaimed as Event>::TOPIC0).map(|l| l.data.clone());
    assert_eq!(published.as_deref(), Some(&secret.as_bytes()[..]));
    n.ok(n.bob, CLAIM, &(initiator, secret));
    assert_eq!((n.balance(USD, n.bob), n.balance(EUR, n.alice)), (u(500), u(450)));
}

#[test]
fn payment_instructions_need_m_distinct_current_signers_before_the_deadline() {
    let n = Net::new();
    let (s1, s2, s3, outsider) =
        (testing::account(31), testing::account(32), testing::account(33), testing::account(34));
    n.refused(n.alice, SIGNERS, &(vec![s1, s2], 3u64), "settlement: threshold out of range");
    n.refused(n.alice, SIGNERS, &(vec![s1, s1], 1u64), "settlement: duplicate signer");
    n.refused(n.alice, SIGNERS, &(Vec::<Address>::new(), 1u64), "settlement: 1 to 16 signers");
    n.ok(n.alice, SIGNERS, &(vec![s1, s2, s3], 2u64));

    n.refused(outsider, SUBMIT, &(n.alice, USD, n.bob, u(700), 1_500u64), "settlement: not an authorised signer");
    n.refused(s1, SUBMIT, &(n.alice, USD, n.bob, u(700), 1_000u64), "settlement: deadline in the past");
    let id = n.id(s1, SUBMIT, &(n.alice, USD, n.bob, u(700), 1_500u64));
    n.refused(outsider, APPROVE, &(id,), "settlement: not an authorised signer");
    n.ok(s1, APPROVE, &(id,));
    n.refused(s1, APPROVE, &(id,), "settlement: already approved");
    n.refused(s1, EXECUTE, &(id,), "settlement: insufficient approvals");
    // A revoked approval does not count.
    n.ok(s2, APPROVE, &(id,));
    n.ok(s2, REVOKE, &(id,));
    n.refused(s2, REVOKE, &(id,), "settlement: no approval to revoke");
    n.refused(s1, EXECUTE, &(id,), "settlement: insufficient approvals");
    n.refused(outsider, EXECUTE, &(id,), "settlement: not an authorised signer");
    // Given again, it counts once.
    n.ok(s2, APPROVE, &(id,));
    type I = (Address, FixedBytes<3>, Address, U256, u64, u64, u8);
    assert_eq!(n.view::<I>(selector!("instruction(uint64)"), &(id,)).5, 2);
    n.ok(s3, EXECUTE, &(id,));
    assert_eq!((n.balance(USD, n.alice), n.balance(USD, n.bob)), (u(9_300), u(700)));
    n.refused(s3, EXECUTE, &(id,), "settlement: instruction already executed");
    n.refused(s3, APPROVE, &(id,), "settlement: instruction already executed");

    // Past the deadline nothing executes.
    let late = n.id(s1, SUBMIT, &(n.alice, USD, n.bob, u(1), 1_500u64));
    n.ok(s1, APPROVE, &(late,));
    n.ok(s2, APPROVE, &(late,));
    testing::set_block(5, 1_501);
    n.refused(s1, EXECUTE, &(late,), "settlement: instruction expired");

    // Signers replaced: approvals of the old ones stop counting.
    let id = n.id(s1, SUBMIT, &(n.alice, USD, n.bob, u(1), 5_000u64));
    n.ok(s1, APPROVE, &(id,));
    n.ok(s2, APPROVE, &(id,));
    n.ok(n.alice, SIGNERS, &(vec![s3, outsider], 2u64));
    n.refused(s3, EXECUTE, &(id,), "settlement: insufficient approvals");
    n.refused(s1, APPROVE, &(id,), "settlement: not an authorised signer");
    n.ok(s3, APPROVE, &(id,));
    n.ok(outsider, APPROVE, &(id,));
    n.ok(s3, EXECUTE, &(id,));
    n.refused(s1, EXECUTE, &(99,), "settlement: unknown instruction");
}

#[test]
fn netting_settles_net_positions_all_or_nothing() {
    let n = Net::new();
    // bob and carol get USD to owe with.
    n.transfer(n.alice, USD, n.bob, 100).expect_success();
    n.transfer(n.alice, USD, n.carol, 20).expect_success();
    // alice → bob 1,000; bob → carol 800; carol → alice 500.
    let a = n.id(n.alice, OBLIGE, &(USD, n.bob, u(1_000)));
    let b = n.id(n.bob, OBLIGE, &(USD, n.carol, u(800)));
    let c = n.id(n.carol, OBLIGE, &(USD, n.alice, u(500)));
    n.refused(n.alice, OBLIGE, &(USD, n.alice, u(1)), "settlement: invalid creditor");
    n.refused(n.alice, OBLIGE, &(USD, n.bob, u(0)), "settlement: zero amount");
    n.refused(n.alice, CYCLE, &(USD, vec![a, b, c]), "settlement: only the operator");
    n.refused(n.operator, CYCLE, &(USD, vec![a, b, a]), "settlement: obligation not pending");
    n.refused(n.operator, CYCLE, &(EUR, vec![a, b, c]), "settlement: obligation in another currency");

    // A partial cycle is refused whole: carol's extra obligation makes her a net debtor of 580 with 20 held.
    let d = n.id(n.carol, OBLIGE, &(USD, n.bob, u(880)));
    n.refused(n.operator, CYCLE, &(USD, vec![a, b, c, d]), "settlement: a participant cannot cover its net debit");
    assert_eq!((n.balance(USD, n.alice), n.balance(USD, n.bob), n.balance(USD, n.carol)), (u(9_880), u(100), u(20)));
    type O = (Address, Address, FixedBytes<3>, U256, u8);
    assert_eq!(n.view::<O>(selector!("obligation(uint64)"), &(a,)).4, state::PENDING);

    let cycle = n.id(n.operator, CYCLE, &(USD, vec![a, b, c]));
    assert_eq!(cycle, 1);
    // Nets: alice −500, bob +200, carol +300 (gross 2,300 moved as 500).
    assert_eq!((n.balance(USD, n.alice), n.balance(USD, n.bob), n.balance(USD, n.carol)), (u(9_380), u(300), u(320)));
    assert_eq!(n.view::<O>(selector!("obligation(uint64)"), &(b,)).4, state::EXECUTED);
    let settled = testing::logs().into_iter().rev().find(|l| l.topics[0] == <CycleSettled as Event>::TOPIC0);
    let (_, count, gross, net): (FixedBytes<3>, u64, U256, U256) =
        abi::decode(&settled.expect("CycleSettled").data).expect("event data");
    assert_eq!((count, gross, net), (3, u(2_300), u(500)));
    n.refused(n.operator, CYCLE, &(USD, vec![a]), "settlement: obligation not pending");
}
