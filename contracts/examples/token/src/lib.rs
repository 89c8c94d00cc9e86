//! An ERC-20 token.
//!
//! `constructor(string name, string symbol, uint256 initialSupply)` mints the whole supply to the deployer;
//! `decimals()` is 18. The storage layout is OpenZeppelin's `ERC20` (`_balances` at slot 0, `_allowances` at 1,
//! `_totalSupply` at 2, `_name` at 3, `_symbol` at 4), so a balance is at `keccak256(pad32(owner) ‖ 0)` and
//! Solidity tooling reads it with `eth_getStorageAt` as it would an OpenZeppelin token's. An allowance of
//! `type(uint256).max` is infinite (never decreased by `transferFrom`), as in OpenZeppelin.
#![cfg_attr(not(test), no_std)]

use accord_contract::prelude::*;

/// `Transfer(address indexed from, address indexed to, uint256 value)`.
#[event]
pub struct Transfer {
    /// The sender (zero when minting).
    #[indexed]
    pub from: Address,
    /// The recipient.
    #[indexed]
    pub to: Address,
    /// The amount.
    pub value: U256,
}

/// `Approval(address indexed owner, address indexed spender, uint256 value)`.
#[event]
pub struct Approval {
    /// The owner of the tokens.
    #[indexed]
    pub owner: Address,
    /// Who may spend them.
    #[indexed]
    pub spender: Address,
    /// The new allowance.
    pub value: U256,
}

/// The token's storage.
#[storage]
pub struct Token {
    balances: Mapping<Address, U256>,
    allowances: Mapping<Address, Mapping<Address, U256>>,
    total_supply: StorageValue<U256>,
    name: StorageValue<String>,
    symbol: StorageValue<String>,
}

#[contract(events = [Transfer, Approval])]
impl Token {
    /// Sets the name and symbol and mints `initial_supply` to the deployer.
    #[constructor]
    pub fn init(&mut self, name: String, symbol: String, initial_supply: U256) {
        self.name.set(&name);
        self.symbol.set(&symbol);
        let owner = env::caller();
        self.total_supply.set(&initial_supply);
        self.balances.set(&owner, &initial_supply);
        Transfer { from: Address::ZERO, to: owner, value: initial_supply }.emit();
    }

    /// The token's name.
    #[message]
    pub fn name(&self) -> String {
        self.name.get()
    }

    /// The token's symbol.
    #[message]
    pub fn symbol(&self) -> String {
        self.symbol.get()
    }

    /// Always 18.
    #[message]
    pub fn decimals(&self) -> u8 {
        18
    }

    /// The number of tokens in existence.
    #[message]
    pub fn total_supply(&self) -> U256 {
        self.total_supply.get()
    }

    /// The balance of `owner`.
    #[message]
    pub fn balance_of(&self, owner: Address) -> U256 {
        self.balances.get(&owner)
    }

    /// Moves `value` tokens from the caller to `to`.
    #[message]
    pub fn transfer(&mut self, to: Address, value: U256) -> Result<bool> {
        let from = env::caller();
        self.move_tokens(from, to, value)?;
        Ok(true)
    }

    /// How many tokens `spender` may still move from `owner`'s balance.
    #[message]
    pub fn allowance(&self, owner: Address, spender: Address) -> U256 {
        self.allowances.at(&owner).get(&spender)
    }

    /// Lets `spender` move up to `value` of the caller's tokens (replacing any previous allowance).
    #[message]
    pub fn approve(&mut self, spender: Address, value: U256) -> Result<bool> {
        let owner = env::caller();
        ensure!(!spender.is_zero(), "ERC20: approve to the zero address");
        self.allowances.at_mut(&owner).set(&spender, &value);
        Approval { owner, spender, value }.emit();
        Ok(true)
    }

    /// Moves `value` tokens from `from` to `to` using the caller's allowance.
    #[message]
    pub fn transfer_from(&mut self, from: Address, to: Address, value: U256) -> Result<bool> {
        let spender = env::caller();
        let mut allowances = self.allowances.at_mut(&from);
        let allowed = allowances.get(&spender);
        if allowed != U256::MAX {
            let Some(left) = allowed.checked_sub(value) else {
                return Err("ERC20: insufficient allowance".into());
            };
            allowances.set(&spender, &left);
        }
        self.move_tokens(from, to, value)?;
        Ok(true)
    }

    /// Moves `value` from `from` to `to` and emits `Transfer`; reverts on insufficient balance.
    fn move_tokens(&mut self, from: Address, to: Address, value: U256) -> Result<()> {
        ensure!(!to.is_zero(), "ERC20: transfer to the zero address");
        let mut sender = self.balances.entry(&from);
        let Some(left) = sender.get().checked_sub(value) else {
            return Err("ERC20: transfer amount exceeds balance".into());
        };
        sender.set(&left);
        // Read `to` after writing `from`, so a transfer to oneself leaves the balance unchanged.
        let mut recipient = self.balances.entry(&to);
        // Cannot overflow: the total supply bounds every balance.
        let received = recipient.get().wrapping_add(value);
        recipient.set(&received);
        Transfer { from, to, value }.emit();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_contract::abi;
    use accord_contract::testing::{self, Outcome};

    fn call(from: Address, to: Address, sel: [u8; 4], args: &impl abi::AbiParams) -> Outcome {
        testing::call(from, to, &abi::encode_with_selector(sel, args))
    }

    fn balance(token: Address, who: Address) -> U256 {
        call(who, token, selector!("balanceOf(address)"), &(who,)).decode::<(U256,)>().expect("test value").0
    }

    fn deploy(owner: Address, supply: u64) -> Address {
        let args = abi::encode(&("Accord Token".to_string(), "ACC".to_string(), U256::from(supply)));
        let (token, out) = testing::deploy::<Token>(owner, &args);
        assert!(out.is_success(), "{out:?}");
        token
    }

    #[test]
    fn metadata_and_mint() {
        testing::reset();
        let alice = testing::account(1);
        let token = deploy(alice, 1000);
        let name = call(alice, token, selector!("name()"), &()).decode::<(String,)>().expect("test value").0;
        assert_eq!(name, "Accord Token");
        let sym = call(alice, token, selector!("symbol()"), &()).decode::<(String,)>().expect("test value").0;
        assert_eq!(sym, "ACC");
        assert_eq!(call(alice, token, selector!("decimals()"), &()).decode::<(u8,)>().expect("test value").0, 18);
        let supply = call(alice, token, selector!("totalSupply()"), &()).decode::<(U256,)>().expect("test value").0;
        assert_eq!(supply, U256::from(1000u64));
        assert_eq!(balance(token, alice), U256::from(1000u64));
        // Mint event: Transfer(0, alice, 1000).
        let logs = testing::logs();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].topics[0], accord_contract::keccak256!("Transfer(address,address,uint256)"));
        assert_eq!(logs[0].topics[1], [0; 32]);
        assert_eq!(logs[0].topics[2], alice.to_word());
        assert_eq!(logs[0].data, U256::from(1000u64).to_be_bytes());
    }

    #[test]
    fn solidity_storage_layout() {
        testing::reset();
        let alice = testing::account(1);
        let token = deploy(alice, 1000);
        // _balances[alice] at keccak256(pad32(alice) ‖ 0).
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(&alice.to_word());
        let slot = Slot(env::keccak256(&buf));
        assert_eq!(testing::storage_at(token, &slot), U256::from(1000u64).to_be_bytes());
        // _totalSupply at 2, _name at 3 (short string: data ‖ 2*len).
        assert_eq!(testing::storage_at(token, &Slot::new(2)), U256::from(1000u64).to_be_bytes());
        let name = testing::storage_at(token, &Slot::new(3));
        assert_eq!(&name[..12], b"Accord Token");
        assert_eq!(name[31], 24);
    }

    #[test]
    fn transfer_and_errors() {
        testing::reset();
        let (alice, bob) = (testing::account(1), testing::account(2));
        let token = deploy(alice, 1000);
        testing::take_logs();
        let out = call(alice, token, selector!("transfer(address,uint256)"), &(bob, U256::from(300u64)));
        assert_eq!(out.decode::<(bool,)>().expect("test value"), (true,));
        assert_eq!(balance(token, alice), U256::from(700u64));
        assert_eq!(balance(token, bob), U256::from(300u64));
        assert_eq!(testing::take_logs().len(), 1);

        let out = call(bob, token, selector!("transfer(address,uint256)"), &(alice, U256::from(301u64)));
        assert_eq!(out.revert_message().as_deref(), Some("ERC20: transfer amount exceeds balance"));
        assert!(testing::logs().is_empty());
        let out = call(bob, token, selector!("transfer(address,uint256)"), &(Address::ZERO, U256::ONE));
        assert_eq!(out.revert_message().as_deref(), Some("ERC20: transfer to the zero address"));

        // To oneself: unchanged.
        call(bob, token, selector!("transfer(address,uint256)"), &(bob, U256::from(300u64)));
        assert_eq!(balance(token, bob), U256::from(300u64));

        // Value sent to a non-payable method, unknown selectors and bad arguments revert.
        let input = abi::encode_with_selector(selector!("transfer(address,uint256)"), &(bob, U256::ONE));
        let out = testing::call_with_value(alice, token, U256::ONE, &input);
        assert_eq!(out.revert_message().as_deref(), Some("accord: value sent to a non-payable method"));
        let out = testing::call(alice, token, &[1, 2, 3, 4]);
        assert_eq!(out.revert_message().as_deref(), Some("accord: unknown selector"));
        let out = testing::call(alice, token, &input[..40]);
        assert_eq!(out.revert_message().as_deref(), Some("accord: invalid call arguments"));
    }

    #[test]
    fn allowances() {
        testing::reset();
        let (alice, bob, carol) = (testing::account(1), testing::account(2), testing::account(3));
        let token = deploy(alice, 1000);
        let out = call(alice, token, selector!("approve(address,uint256)"), &(bob, U256::from(100u64)));
        assert!(out.is_success());
        let allowance = |o: Address, s: Address| {
            call(o, token, selector!("allowance(address,address)"), &(o, s)).decode::<(U256,)>().expect("test value").0
        };
        assert_eq!(allowance(alice, bob), U256::from(100u64));
        let tf = selector!("transferFrom(address,address,uint256)");
        let out = call(bob, token, tf, &(alice, carol, U256::from(101u64)));
        assert_eq!(out.revert_message().as_deref(), Some("ERC20: insufficient allowance"));
        let out = call(bob, token, tf, &(alice, carol, U256::from(60u64)));
        assert_eq!(out.decode::<(bool,)>().expect("test value"), (true,));
        assert_eq!(allowance(alice, bob), U256::from(40u64));
        assert_eq!(balance(token, carol), U256::from(60u64));
        // Infinite allowance is not decreased.
        call(alice, token, selector!("approve(address,uint256)"), &(bob, U256::MAX));
        call(bob, token, tf, &(alice, carol, U256::from(10u64)));
        assert_eq!(allowance(alice, bob), U256::MAX);
        // The allowance write is undone when the balance check fails.
        call(alice, token, selector!("approve(address,uint256)"), &(bob, U256::from(5000u64)));
        let out = call(bob, token, tf, &(alice, carol, U256::from(2000u64)));
        assert_eq!(out.revert_message().as_deref(), Some("ERC20: transfer amount exceeds balance"));
        assert_eq!(allowance(alice, bob), U256::from(5000u64));
    }

    #[test]
    fn abi_json_is_valid() {
        let abi = <Token as Contract>::ABI_JSON;
        assert!(abi.starts_with("[{\"type\":\"constructor\""));
        assert!(abi.contains("\"name\":\"transferFrom\""));
        assert!(abi.contains("{\"type\":\"event\",\"name\":\"Transfer\""));
        assert!(abi.ends_with("]"));
    }
}
