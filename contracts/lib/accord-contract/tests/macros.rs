//! The macros' expansions, run on the native test host.
#![allow(missing_docs)]

use accord_contract::abi::{self, AbiParams};
use accord_contract::prelude::*;
use accord_contract::testing::{self, Outcome};
use accord_contract::{StorageLayout, keccak256};

/// An event with an indexed dynamic field.
#[event(name = "Named")]
pub struct NamedEvent {
    #[indexed]
    pub label: String,
    #[indexed]
    pub id: B256,
    pub note_text: String,
    pub amount: U256,
}

/// A struct that is a mapping's value, like a Solidity struct.
#[storage]
pub struct Position {
    amount: StorageValue<U256>,
    owner: StorageValue<Address>,
}

/// The contract's storage.
#[storage]
pub struct Demo {
    small: StorageValue<u8>,
    #[slot(10)]
    positions: Mapping<Address, Position>,
    flag: StorageValue<bool>,
    log: StorageValue<Bytes>,
}

#[contract(events = [NamedEvent])]
impl Demo {
    #[constructor(payable)]
    pub fn init(&mut self, small: u8) {
        self.small.set(&small);
    }

    #[message]
    pub fn small(&self) -> u8 {
        self.small.get()
    }

    /// Stores a position and emits `Named`.
    #[message]
    pub fn open(&mut self, label: String, amount: U256) -> Result<(U256, Address)> {
        ensure!(!amount.is_zero(), "zero amount");
        let caller = env::caller();
        let mut p = self.positions.at_mut(&caller);
        p.amount.set(&amount);
        p.owner.set(&caller);
        self.flag.set(&true);
        NamedEvent { label: label.clone(), id: B256::new([7; 32]), note_text: label, amount }.emit();
        Ok((amount, caller))
    }

    #[message]
    pub fn position(&self, who: Address) -> (U256, Address) {
        let p = self.positions.at(&who);
        (p.amount.get(), p.owner.get())
    }

    #[message(payable, name = "deposit")]
    pub fn receive_value(&mut self) -> U256 {
        env::value()
    }

    #[message]
    pub fn sum(&self, values: Vec<u64>, pairs: Vec<(u8, bool)>) -> (u64, u64) {
        (values.iter().sum(), pairs.iter().filter(|(_, b)| *b).map(|(n, _)| u64::from(*n)).sum())
    }

    #[fallback]
    pub fn fallback(&mut self) {
        let input = env::input();
        self.log.set(&Bytes(input));
    }
}

fn call(to: Address, sel: [u8; 4], args: &impl AbiParams) -> Outcome {
    testing::call(testing::account(1), to, &abi::encode_with_selector(sel, args))
}

fn deploy() -> Address {
    testing::reset();
    let (demo, out) = testing::deploy_with_value::<Demo>(testing::account(1), U256::from(5u64), &abi::encode(&(42u8,)));
    assert!(out.is_success(), "{out:?}");
    demo
}

#[test]
fn abi_json() {
    let expected = concat!(
        r#"[{"type":"constructor","inputs":[{"name":"small","type":"uint8"}],"stateMutability":"payable"},"#,
        r#"{"type":"function","name":"small","inputs":[],"outputs":[{"name":"","type":"uint8"}],"stateMutability":"view"},"#,
        r#"{"type":"function","name":"open","inputs":[{"name":"label","type":"string"},{"name":"amount","type":"uint256"}],"outputs":[{"name":"","type":"uint256"},{"name":"","type":"address"}],"stateMutability":"nonpayable"},"#,
        r#"{"type":"function","name":"position","inputs":[{"name":"who","type":"address"}],"outputs":[{"name":"","type":"uint256"},{"name":"","type":"address"}],"stateMutability":"view"},"#,
        r#"{"type":"function","name":"deposit","inputs":[],"outputs":[{"name":"","type":"uint256"}],"stateMutability":"payable"},"#,
        r#"{"type":"function","name":"sum","inputs":[{"name":"values","type":"uint64[]"},{"name":"pairs","type":"tuple[]","components":[{"name":"","type":"uint8"},{"name":"","type":"bool"}]}],"outputs":[{"name":"","type":"uint64"},{"name":"","type":"uint64"}],"stateMutability":"view"},"#,
        r#"{"type":"fallback","stateMutability":"nonpayable"},"#,
        r#"{"type":"event","name":"Named","inputs":[{"name":"label","type":"string","indexed":true},{"name":"id","type":"bytes32","indexed":true},{"name":"noteText","type":"string","indexed":false},{"name":"amount","type":"uint256","indexed":false}],"anonymous":false}]"#,
    );
    assert_eq!(<Demo as Contract>::ABI_JSON, expected);
    assert_eq!(<NamedEvent as Event>::SIGNATURE, "Named(string,bytes32,string,uint256)");
    assert_eq!(<NamedEvent as Event>::TOPIC0, keccak256!("Named(string,bytes32,string,uint256)"));
}

#[test]
fn storage_layout() {
    assert_eq!(<Position as StorageLayout>::SLOTS, 2);
    assert_eq!(<Demo as StorageLayout>::SLOTS, 13);
    let demo = deploy();
    assert_eq!(testing::storage_at(demo, &Slot::new(0))[31], 42);
    let out = call(demo, selector!("open(string,uint256)"), &("hello".to_string(), U256::from(9u64)));
    let caller = testing::account(1);
    assert_eq!(out.decode::<(U256, Address)>().expect("outputs"), (U256::from(9u64), caller));
    // positions[caller] is a struct at keccak256(pad32(caller) ‖ 10): amount there, owner in the next slot.
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(&caller.to_word());
    buf[32..].copy_from_slice(&Slot::new(10).0);
    let base = testing::in_contract(demo, || Slot(env::keccak256(&buf)));
    assert_eq!(testing::storage_at(demo, &base), U256::from(9u64).to_be_bytes());
    assert_eq!(testing::storage_at(demo, &base.offset(1)), caller.to_word());
    assert_eq!(testing::storage_at(demo, &Slot::new(11))[31], 1, "flag follows the mapping's one slot");
    let out = call(demo, selector!("position(address)"), &(caller,));
    assert_eq!(out.decode::<(U256, Address)>().expect("outputs"), (U256::from(9u64), caller));
}

#[test]
fn event_topics_and_data() {
    let demo = deploy();
    testing::take_logs();
    call(demo, selector!("open(string,uint256)"), &("hello".to_string(), U256::from(9u64)));
    let logs = testing::take_logs();
    assert_eq!(logs.len(), 1);
    let log = &logs[0];
    assert_eq!(log.address, demo);
    let hello = testing::in_contract(demo, || env::keccak256(b"hello"));
    assert_eq!(log.topics, vec![keccak256!("Named(string,bytes32,string,uint256)"), hello, [7; 32]]);
    assert_eq!(log.data, abi::encode(&("hello".to_string(), U256::from(9u64))));
}

#[test]
fn dispatch_features() {
    let demo = deploy();
    assert_eq!(call(demo, selector!("small()"), &()).decode::<(u8,)>().expect("small"), (42,));
    let out = call(demo, selector!("open(string,uint256)"), &("x".to_string(), U256::ZERO));
    assert_eq!(out.revert_message().as_deref(), Some("zero amount"));
    let input = abi::encode_with_selector(selector!("deposit()"), &());
    let out = testing::call_with_value(testing::account(1), demo, U256::from(77u64), &input);
    assert_eq!(out.decode::<(U256,)>().expect("deposit"), (U256::from(77u64),));
    let out = call(demo, selector!("sum(uint64[],(uint8,bool)[])"), &(vec![1u64, 2, 3], vec![(4u8, true), (5, false)]));
    assert_eq!(out.decode::<(u64, u64)>().expect("sum"), (6, 4));
    // Unknown selectors and short input go to the fallback.
    assert!(testing::call(testing::account(1), demo, &[9, 9]).is_success());
    assert_eq!(testing::in_contract(demo, || StorageValue::<Bytes>::new(Slot::new(12)).get()), Bytes(vec![9, 9]));
    // The constructor accepted value; a non-payable message does not.
    let out = testing::call_with_value(testing::account(1), demo, U256::ONE, &selector!("small()"));
    assert_eq!(out.revert_message().as_deref(), Some("accord: value sent to a non-payable method"));
}
