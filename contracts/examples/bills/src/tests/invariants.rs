//! Property tests over random operation sequences on one bill and its splits: the live bills' sub-ranges are
//! disjoint and cover the original amount; each live bill has exactly one holder; the bill is paid at most once
//! per unit of its range (the acceptor never pays more than the face value).

use super::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Split { bill: usize, amount: u64 },
    Endorse { bill: usize, to: usize, accept: bool },
    Pledge { bill: usize, release: bool },
    Discount { bill: usize, rate_bps: u64 },
    Present { bill: usize },
    Pay { bill: usize },
    Dishonour { bill: usize },
    Recourse { bill: usize, party: usize },
    Tick { days: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..16usize, 0..FACE).prop_map(|(bill, amount)| Op::Split { bill, amount }),
        (0..16usize, 0..4usize, any::<bool>()).prop_map(|(bill, to, accept)| Op::Endorse { bill, to, accept }),
        (0..16usize, any::<bool>()).prop_map(|(bill, release)| Op::Pledge { bill, release }),
        (0..16usize, 0..3_000u64).prop_map(|(bill, rate_bps)| Op::Discount { bill, rate_bps }),
        (0..16usize).prop_map(|bill| Op::Present { bill }),
        (0..16usize).prop_map(|bill| Op::Pay { bill }),
        (0..16usize).prop_map(|bill| Op::Dishonour { bill }),
        (0..16usize, 0..6usize).prop_map(|(bill, party)| Op::Recourse { bill, party }),
        (0..40u64).prop_map(|days| Op::Tick { days }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn sub_ranges_stay_disjoint_and_each_unit_is_paid_once(ops in prop::collection::vec(op(), 1..40)) {
        let d = Desk::new();
        d.held();
        let people = [d.payee, d.e1, d.e2, d.bank];
        let parties = [d.drawer, d.acceptor, d.payee, d.e1, d.e2, d.bank];
        let acceptor_cash = d.cash_of(d.acceptor);
        let mut now = START;
        // Bills by id (ids are 1..=count: the root and every split's children).
        let mut count = 1u64;
        for op in ops {
            let pick = |i: usize| u((i as u64 % count) + 1);
            match op {
                Op::Split { bill, amount } => {
                    let id = pick(bill);
                    if d.send(d.holder(id), SPLIT_, &(id, u(amount))).is_success() {
                        count += 2;
                    }
                }
                Op::Endorse { bill, to, accept } => {
                    let id = pick(bill);
                    d.send(d.holder(id), ENDORSE, &(id, people[to]));
                    d.send(people[to], if accept { ACCEPT_ENDORSEMENT } else { REJECT }, &(id,));
                }
                Op::Pledge { bill, release } => {
                    let id = pick(bill);
                    if release {
                        d.send(d.pledgee, RELEASE, &(id,));
                    } else {
                        d.send(d.holder(id), PLEDGE, &(id, d.pledgee));
                        d.send(d.pledgee, ACCEPT_PLEDGE, &(id,));
                    }
                }
                Op::Discount { bill, rate_bps } => {
                    let id = pick(bill);
                    d.send(d.holder(id), REQUEST_DISCOUNT, &(id, d.bank, rate_bps));
                    d.send(d.bank, DISCOUNT, &(id,));
                }
                Op::Present { bill } => {
                    let id = pick(bill);
                    d.send(d.holder(id), PRESENT, &(id,));
                }
                Op::Pay { bill } => {
                    d.send(d.acceptor, PAY, &(pick(bill),));
                }
                Op::Dishonour { bill } => {
                    d.send(d.acceptor, DISHONOUR, &(pick(bill),));
                }
                Op::Recourse { bill, party } => {
                    let id = pick(bill);
                    if d.send(d.holder(id), CLAIM, &(id, parties[party])).is_success() {
                        d.send(parties[party], PAY_RECOURSE, &(id,));
                    }
                }
                Op::Tick { days } => {
                    now += days * DAY;
                    testing::set_block(now, now);
                }
            }
            // The live (unsplit) bills' ranges, sorted, tile [0, FACE) exactly.
            let mut ranges: Vec<(U256, U256)> = Vec::new();
            let mut paid = U256::ZERO;
            for n in 1..=count {
                let b = d.bill(u(n));
                if b.8 == state::SPLIT {
                    continue;
                }
                prop_assert!(b.4 < b.5, "bill {} has an empty range", n);
                prop_assert!(!b.3.is_zero(), "bill {} has no holder", n);
                ranges.push((b.4, b.5));
                let history: Vec<(u8, Address, Address, U256, u64)> =
                    d.send(d.drawer, selector!("history(uint256)"), &(u(n),)).value();
                let pays = history
                    .iter()
                    .filter(|e| e.0 == action::PAY || (e.0 == action::PAY_RECOURSE && e.1 == d.acceptor))
                    .count();
                prop_assert!(pays <= 1, "bill {} paid by the acceptor {} times", n, pays);
                if b.8 == state::PAID || b.8 == state::SETTLED {
                    paid += b.5 - b.4;
                }
            }
            ranges.sort();
            let mut next = U256::ZERO;
            for (start, end) in &ranges {
                prop_assert_eq!(*start, next, "ranges overlap or leave a gap");
                next = *end;
            }
            prop_assert_eq!(next, u(FACE));
            prop_assert_eq!(acceptor_cash - d.cash_of(d.acceptor), paid, "the acceptor paid for exactly the paid ranges");
        }
    }
}
