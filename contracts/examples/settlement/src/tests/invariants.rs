//! Property tests over random operation sequences: per currency, supply = minted − burned = Σ balances + locked
//! after every operation (whether it succeeded or reverted), and a PvP settlement moves both legs exactly or
//! nothing.

use super::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Mint { ccy: usize, to: usize, amount: u64 },
    Burn { ccy: usize, amount: u64 },
    Transfer { ccy: usize, from: usize, to: usize, amount: u64 },
    Lock { ccy: usize, from: usize, to: usize, amount: u64, after: u64 },
    Claim { escrow: u64, right_secret: bool },
    Refund { escrow: u64 },
    Pvp { pay: u64, receive: u64, counterparty: usize },
    Freeze { who: usize, frozen: bool },
    Tick { seconds: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..5usize;
    prop_oneof![
        (0..2usize, 0..5usize, 0..300_000u64).prop_map(|(ccy, to, amount)| Op::Mint { ccy, to, amount }),
        (0..2usize, 0..5_000u64).prop_map(|(ccy, amount)| Op::Burn { ccy, amount }),
        (0..2usize, who.clone(), who.clone(), 0..50_000u64).prop_map(|(ccy, from, to, amount)| Op::Transfer {
            ccy,
            from,
            to,
            amount
        }),
        (0..2usize, who.clone(), who.clone(), 0..50_000u64, 0..100u64)
            .prop_map(|(ccy, from, to, amount, after)| Op::Lock { ccy, from, to, amount, after }),
        (1..6u64, any::<bool>()).prop_map(|(escrow, right_secret)| Op::Claim { escrow, right_secret }),
        (1..6u64).prop_map(|escrow| Op::Refund { escrow }),
        (0..60_000u64, 0..60_000u64, 1..3usize).prop_map(|(pay, receive, counterparty)| Op::Pvp {
            pay,
            receive,
            counterparty
        }),
        (who, any::<bool>()).prop_map(|(who, frozen)| Op::Freeze { who, frozen }),
        (0..60u64).prop_map(|seconds| Op::Tick { seconds }),
    ]
}

const SECRET: B256 = B256::new([0x5e; 32]);

fn check_supply(n: &Net, people: &[Address]) {
    for ccy in [USD, EUR] {
        let (_, supply, minted, burned, locked) =
            n.view::<(Address, U256, U256, U256, U256)>(selector!("currencyInfo(bytes3)"), &(ccy,));
        let held = people.iter().fold(U256::ZERO, |sum, who| sum + n.balance(ccy, *who));
        assert_eq!(supply, minted - burned);
        assert_eq!(supply, held + locked, "supply of {:?} is not balances + locked", ccy.as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn supply_is_conserved_and_pvp_is_atomic(ops in prop::collection::vec(op(), 1..40)) {
        let n = Net::new();
        let people = [n.alice, n.bob, n.carol, n.usd_bank, n.eur_bank];
        let banks = [n.usd_bank, n.eur_bank];
        let ccys = [USD, EUR];
        let mut now = 1_000u64;
        for op in ops {
            match op {
                Op::Mint { ccy, to, amount } => {
                    n.send(banks[ccy], selector!("mint(bytes3,address,uint256)"), &(ccys[ccy], people[to], u(amount)));
                }
                Op::Burn { ccy, amount } => {
                    n.send(banks[ccy], selector!("burn(bytes3,uint256)"), &(ccys[ccy], u(amount)));
                }
                Op::Transfer { ccy, from, to, amount } => {
                    n.transfer(people[from], ccys[ccy], people[to], amount);
                }
                Op::Lock { ccy, from, to, amount, after } => {
                    n.send(people[from], LOCK, &(ccys[ccy], people[to], u(amount), hash(&SECRET), now + after));
                }
                Op::Claim { escrow, right_secret } => {
                    type E = (Address, Address, FixedBytes<3>, U256, B256, u64, u8);
                    let receiver = n.view::<E>(selector!("escrow(uint64)"), &(escrow,)).1;
                    let secret = if right_secret { SECRET } else { B256::new([1; 32]) };
                    n.send(receiver, CLAIM, &(escrow, secret));
                }
                Op::Refund { escrow } => {
                    type E = (Address, Address, FixedBytes<3>, U256, B256, u64, u8);
                    let sender = n.view::<E>(selector!("escrow(uint64)"), &(escrow,)).0;
                    n.send(sender, REFUND, &(escrow,));
                }
                Op::Pvp { pay, receive, counterparty } => {
                    let (a, b) = (n.alice, people[counterparty]);
                    let propose = selector!("proposeTrade(address,bytes3,uint256,bytes3,uint256,uint64)");
                    let out = n.send(a, propose, &(b, USD, u(pay), EUR, u(receive), now + 10));
                    if let Ok((id,)) = out.decode::<(u64,)>() {
                        n.send(b, ACCEPT, &(id,));
                        let before = [n.balance(USD, a), n.balance(EUR, a), n.balance(USD, b), n.balance(EUR, b)];
                        let settled = n.send(a, SETTLE, &(id,)).is_success();
                        let after = [n.balance(USD, a), n.balance(EUR, a), n.balance(USD, b), n.balance(EUR, b)];
                        if settled {
                            prop_assert_eq!(after, [before[0].wrapping_sub(u(pay)), before[1] + u(receive), before[2] + u(pay), before[3].wrapping_sub(u(receive))]);
                            prop_assert_eq!(n.trade_state(id), state::SETTLED);
                        } else {
                            prop_assert_eq!(after, before, "a failed settlement moved a leg");
                            prop_assert_ne!(n.trade_state(id), state::SETTLED);
                        }
                    }
                }
                Op::Freeze { who, frozen } => {
                    n.send(n.operator, selector!("setFrozen(address,bool)"), &(people[who], frozen));
                }
                Op::Tick { seconds } => {
                    now += seconds;
                    testing::set_block(now, now);
                }
            }
            check_supply(&n, &people);
        }
    }
}
