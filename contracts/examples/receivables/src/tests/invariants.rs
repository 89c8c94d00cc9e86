//! Property tests over random operation sequences: per payable, the live pieces' amounts plus the repaid amount
//! equal the face value; every piece has exactly one holder; no cash is created or lost.

use super::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Confirm { to: usize, amount: u64 },
    Transfer { piece: usize, to: usize, amount: u64 },
    Offer { piece: usize, bank: usize, rate_bps: u64 },
    Finance { piece: usize, bank: usize },
    Withdraw { piece: usize },
    Repay { root: usize },
    Tick { days: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..5usize, 0..200_000u64).prop_map(|(to, amount)| Op::Confirm { to, amount }),
        (0..32usize, 0..5usize, 0..100_000u64).prop_map(|(piece, to, amount)| Op::Transfer { piece, to, amount }),
        (0..32usize, 0..2usize, 0..2_000u64).prop_map(|(piece, bank, rate_bps)| Op::Offer { piece, bank, rate_bps }),
        (0..32usize, 0..2usize).prop_map(|(piece, bank)| Op::Finance { piece, bank }),
        (0..32usize).prop_map(|piece| Op::Withdraw { piece }),
        (0..8usize).prop_map(|root| Op::Repay { root }),
        (0..40u64).prop_map(|days| Op::Tick { days }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn pieces_plus_repaid_equal_the_face_value(ops in prop::collection::vec(op(), 1..40)) {
        let c = Chain::new();
        let people = [c.tier1, c.tier2, c.tier3, c.bank, c.bank2];
        let banks = [c.bank, c.bank2];
        let everyone = [c.operator, c.core, c.bank, c.bank2, c.tier1, c.tier2, c.tier3, c.contract];
        let cash_total: U256 = everyone.iter().fold(U256::ZERO, |s, w| s + c.cash_of(*w));
        let mut now = START;
        let mut roots: Vec<u64> = Vec::new();
        // Every voucher id handed out so far (1..=count).
        let mut count = 0u64;
        let holder = |id: u64| c.voucher(id).3;
        for op in ops {
            let pick = |i: usize| if count == 0 { 1 } else { (i as u64 % count) + 1 };
            match op {
                Op::Confirm { to, amount } => {
                    // Due within the generated time span, so repayments and overdue happen.
                    if let Ok((id,)) = c.send(c.core, CONFIRM, &(people[to], u(amount), now + 30 * DAY)).decode::<(u64,)>() {
                        roots.push(id);
                        count = id;
                    }
                }
                Op::Transfer { piece, to, amount } => {
                    let id = pick(piece);
                    if let Ok((child,)) = c.send(holder(id), TRANSFER, &(id, people[to], u(amount))).decode::<(u64,)>() {
                        count = child;
                    }
                }
                Op::Offer { piece, bank, rate_bps } => {
                    let id = pick(piece);
                    c.send(holder(id), REQUEST, &(id, banks[bank], rate_bps));
                }
                Op::Finance { piece, bank } => {
                    c.send(banks[bank], FINANCE, &(pick(piece),));
                }
                Op::Withdraw { piece } => {
                    let id = pick(piece);
                    c.send(holder(id), CANCEL, &(id,));
                }
                Op::Repay { root } => {
                    if !roots.is_empty() {
                        c.send(c.core, REPAY, &(roots[root % roots.len()],));
                    }
                }
                Op::Tick { days } => {
                    now += days * DAY;
                    testing::set_block(now, now);
                }
            }
            for root in &roots {
                let (face, repaid, _, pieces) = c.payable(*root);
                let live = pieces.iter().map(|id| c.voucher(*id)).fold(U256::ZERO, |sum, v| {
                    if v.6 == state::REPAID || v.6 == state::SPENT { sum } else { sum + v.4 }
                });
                prop_assert_eq!(live + repaid, face, "payable {}", root);
                for id in pieces {
                    let v = c.voucher(id);
                    prop_assert_eq!(v.0, *root);
                    prop_assert!(!v.3.is_zero(), "piece {} has no holder", id);
                    prop_assert!(v.6 != state::SPENT || v.4.is_zero());
                }
            }
            let cash_now = everyone.iter().fold(U256::ZERO, |s, w| s + c.cash_of(*w));
            prop_assert_eq!(cash_now, cash_total);
        }
    }
}
