//! Cross-border settlement between the consortium's banks.
//!
//! - **Tokenised deposits per currency.** The operator (the deployer: the consortium's settlement operator)
//!   registers a currency with its issuing bank (`addCurrency`). Only that bank mints (`mint`) and burns (`burn`,
//!   from its own balance, after holders redeem by transferring back to it). The issuer admits participants and
//!   sets each one's holding limit (`admit`; a limit of zero removes eligibility); a participant holds at most its
//!   limit, and an ineligible or frozen account receives nothing. The operator freezes and unfreezes accounts
//!   (`setFrozen`): a frozen account neither sends nor receives.
//! - **Payment-versus-payment** (`proposeTrade` → `acceptTrade` → `settleTrade`, or `cancelTrade` before
//!   settlement; a trade not settled by its expiry is expired): both legs move in one transaction or neither does.
//! - **Hashed-timelock escrow** for cross-ledger legs: `lock` with `keccak256(preimage)` and a timeout; the receiver
//!   `claim`s with the preimage before the timeout; the sender `refund`s only from the timeout on. `respond` locks
//!   the counterparty's leg against an initiator's lock with the same hash and a strictly earlier timeout.
//! - **m-of-n payment instructions**: an account names its signers and threshold (`configureSigners`); a signer
//!   submits an instruction with a deadline; distinct signers `approve` (and may `revokeApproval`); once enough
//!   approvals of currently authorised signers stand, a signer `execute`s it before the deadline.
//! - **Netting**: debtors record obligations (`addObligation`); the operator settles a set of them as net positions
//!   in one all-or-nothing cycle (`settleCycle`).
//!
//! Every movement emits an event; amounts are in the currency's smallest unit. Invariant, per currency:
//! `minted − burned = supply = Σ balances + locked`.
#![cfg_attr(not(test), no_std)]

use accord_contract::prelude::*;

/// Most signers an account may name, and most obligations in one netting cycle: bounds the loops' gas.
pub const MAX_SIGNERS: usize = 16;
/// Most obligations in one netting cycle.
pub const MAX_CYCLE_OBLIGATIONS: usize = 256;

/// Trade and instruction states, as returned by the views.
pub mod state {
    /// A trade proposed by its first party, awaiting the counterparty.
    pub const PROPOSED: u8 = 1;
    /// A trade both parties agreed to, awaiting settlement.
    pub const ACCEPTED: u8 = 2;
    /// Both legs moved.
    pub const SETTLED: u8 = 3;
    /// Cancelled by a party before settlement.
    pub const CANCELLED: u8 = 4;
    /// Not settled by its expiry (a view-only state: nothing moves at expiry).
    pub const EXPIRED: u8 = 5;
    /// An escrow holding its amount.
    pub const LOCKED: u8 = 1;
    /// An escrow paid to its receiver.
    pub const CLAIMED: u8 = 2;
    /// An escrow returned to its sender.
    pub const REFUNDED: u8 = 3;
    /// An instruction or obligation waiting.
    pub const PENDING: u8 = 1;
    /// An instruction paid, or an obligation settled in a cycle.
    pub const EXECUTED: u8 = 2;
}
use state::*;

/// `CurrencyAdded(bytes3 indexed currency, address indexed issuer)`.
#[event]
pub struct CurrencyAdded {
    /// ISO 4217 code.
    #[indexed]
    pub currency: FixedBytes<3>,
    /// The only bank that mints and burns it.
    #[indexed]
    pub issuer: Address,
}

/// `Admitted(bytes3 indexed currency, address indexed participant, uint256 limit)`: a limit of 0 removes.
#[event]
pub struct Admitted {
    /// The currency.
    #[indexed]
    pub currency: FixedBytes<3>,
    /// The participant.
    #[indexed]
    pub participant: Address,
    /// Its holding limit.
    pub limit: U256,
}

/// `Frozen(address indexed account, bool frozen)`.
#[event]
pub struct Frozen {
    /// The account.
    #[indexed]
    pub account: Address,
    /// Whether it is now frozen.
    pub frozen: bool,
}

/// `Transfer(bytes3 indexed currency, address indexed from, address indexed to, uint256 amount)`: every balance
/// movement (mint from the zero address, burn to it, escrow in and out through this contract's address).
#[event]
pub struct Transfer {
    /// The currency.
    #[indexed]
    pub currency: FixedBytes<3>,
    /// Debited account.
    #[indexed]
    pub from: Address,
    /// Credited account.
    #[indexed]
    pub to: Address,
    /// Amount.
    pub amount: U256,
}

/// `TradeProposed(uint64 indexed id, address indexed party, address indexed counterparty)`.
#[event]
pub struct TradeProposed {
    /// Trade id.
    #[indexed]
    pub id: u64,
    /// Proposer (pays the first leg).
    #[indexed]
    pub party: Address,
    /// Counterparty (pays the second leg).
    #[indexed]
    pub counterparty: Address,
}

/// `TradeStateChanged(uint64 indexed id, uint8 state, address by)`: accepted, settled or cancelled.
#[event]
pub struct TradeStateChanged {
    /// Trade id.
    #[indexed]
    pub id: u64,
    /// The new state.
    pub state: u8,
    /// Who moved it.
    pub by: Address,
}

/// `EscrowLocked(uint64 indexed id, address indexed sender, address indexed receiver, bytes32 hashlock, uint64 timeout)`.
#[event]
pub struct EscrowLocked {
    /// Escrow id.
    #[indexed]
    pub id: u64,
    /// Who locked.
    #[indexed]
    pub sender: Address,
    /// Who may claim.
    #[indexed]
    pub receiver: Address,
    /// `keccak256(preimage)`.
    pub hashlock: B256,
    /// Claims before, refunds from this time (seconds).
    pub timeout: u64,
}

/// `EscrowClaimed(uint64 indexed id, bytes32 preimage)`: the preimage is public from here on.
#[event]
pub struct EscrowClaimed {
    /// Escrow id.
    #[indexed]
    pub id: u64,
    /// The secret.
    pub preimage: B256,
}

/// `EscrowRefunded(uint64 indexed id)`.
#[event]
pub struct EscrowRefunded {
    /// Escrow id.
    #[indexed]
    pub id: u64,
}

/// `SignersConfigured(address indexed account, uint64 threshold, address[] signers)`.
#[event]
pub struct SignersConfigured {
    /// The account.
    #[indexed]
    pub account: Address,
    /// Approvals needed.
    pub threshold: u64,
    /// Its signers.
    pub signers: Vec<Address>,
}

/// `InstructionSubmitted(uint64 indexed id, address indexed account, address indexed to, bytes3 currency, uint256 amount, uint64 deadline)`.
#[event]
pub struct InstructionSubmitted {
    /// Instruction id.
    #[indexed]
    pub id: u64,
    /// The paying account.
    #[indexed]
    pub account: Address,
    /// The payee.
    #[indexed]
    pub to: Address,
    /// Currency.
    pub currency: FixedBytes<3>,
    /// Amount.
    pub amount: U256,
    /// Last second it may execute.
    pub deadline: u64,
}

/// `InstructionApproval(uint64 indexed id, address indexed signer, bool approved)`: an approval or its revocation.
#[event]
pub struct InstructionApproval {
    /// Instruction id.
    #[indexed]
    pub id: u64,
    /// The signer.
    #[indexed]
    pub signer: Address,
    /// `true` approved, `false` revoked.
    pub approved: bool,
}

/// `InstructionExecuted(uint64 indexed id, address executor)`.
#[event]
pub struct InstructionExecuted {
    /// Instruction id.
    #[indexed]
    pub id: u64,
    /// The signer who executed it.
    pub executor: Address,
}

/// `ObligationAdded(uint64 indexed id, address indexed debtor, address indexed creditor, bytes3 currency, uint256 amount)`.
#[event]
pub struct ObligationAdded {
    /// Obligation id.
    #[indexed]
    pub id: u64,
    /// Who owes.
    #[indexed]
    pub debtor: Address,
    /// Who is owed.
    #[indexed]
    pub creditor: Address,
    /// Currency.
    pub currency: FixedBytes<3>,
    /// Amount.
    pub amount: U256,
}

/// `NetPosition(uint64 indexed cycle, address indexed participant, uint256 credit, uint256 debit)`: one
/// participant's net result of a cycle (exactly one of the two is non-zero, or both are zero).
#[event]
pub struct NetPosition {
    /// Cycle number.
    #[indexed]
    pub cycle: u64,
    /// The participant.
    #[indexed]
    pub participant: Address,
    /// Net amount received.
    pub credit: U256,
    /// Net amount paid.
    pub debit: U256,
}

/// `CycleSettled(uint64 indexed cycle, bytes3 currency, uint64 obligations, uint256 gross, uint256 net)`.
#[event]
pub struct CycleSettled {
    /// Cycle number.
    #[indexed]
    pub cycle: u64,
    /// Currency.
    pub currency: FixedBytes<3>,
    /// Obligations settled.
    pub obligations: u64,
    /// Sum of the obligations.
    pub gross: U256,
    /// Sum of the net debits actually moved.
    pub net: U256,
}

/// One currency's ledger.
#[storage]
pub struct Currency {
    issuer: StorageValue<Address>,
    minted: StorageValue<U256>,
    burned: StorageValue<U256>,
    locked: StorageValue<U256>,
    balances: Mapping<Address, U256>,
    limits: Mapping<Address, U256>,
}

/// A payment-versus-payment trade: `party` pays `pay_amount` of `pay_currency`, `counterparty` pays
/// `receive_amount` of `receive_currency`.
#[storage]
pub struct Trade {
    party: StorageValue<Address>,
    counterparty: StorageValue<Address>,
    pay_currency: StorageValue<FixedBytes<3>>,
    pay_amount: StorageValue<U256>,
    receive_currency: StorageValue<FixedBytes<3>>,
    receive_amount: StorageValue<U256>,
    expiry: StorageValue<u64>,
    state: StorageValue<u8>,
}

/// A hashed-timelock escrow.
#[storage]
pub struct Escrow {
    sender: StorageValue<Address>,
    receiver: StorageValue<Address>,
    currency: StorageValue<FixedBytes<3>>,
    amount: StorageValue<U256>,
    hashlock: StorageValue<B256>,
    timeout: StorageValue<u64>,
    state: StorageValue<u8>,
}

/// An account's signers.
#[storage]
pub struct Signers {
    threshold: StorageValue<u64>,
    epoch: StorageValue<u64>,
    /// `is_signer[epoch][address]`: bumping the epoch drops every earlier signer at once.
    is_signer: Mapping<u64, Mapping<Address, bool>>,
}

/// A payment instruction awaiting m-of-n approval.
#[storage]
pub struct Instruction {
    account: StorageValue<Address>,
    currency: StorageValue<FixedBytes<3>>,
    to: StorageValue<Address>,
    amount: StorageValue<U256>,
    deadline: StorageValue<u64>,
    state: StorageValue<u8>,
    approved: Mapping<Address, bool>,
    /// Whether an address is already in `approvers` (an approval revoked and given again is listed once).
    listed: Mapping<Address, bool>,
    approvers: Mapping<u64, Address>,
    approver_count: StorageValue<u64>,
}

/// A debtor's obligation to a creditor, settled in a netting cycle.
#[storage]
pub struct Obligation {
    debtor: StorageValue<Address>,
    creditor: StorageValue<Address>,
    currency: StorageValue<FixedBytes<3>>,
    amount: StorageValue<U256>,
    state: StorageValue<u8>,
}

/// The contract's storage.
#[storage]
pub struct Settlement {
    operator: StorageValue<Address>,
    currencies: Mapping<FixedBytes<3>, Currency>,
    frozen: Mapping<Address, bool>,
    trades: Mapping<u64, Trade>,
    trade_count: StorageValue<u64>,
    escrows: Mapping<u64, Escrow>,
    escrow_count: StorageValue<u64>,
    signers: Mapping<Address, Signers>,
    instructions: Mapping<u64, Instruction>,
    instruction_count: StorageValue<u64>,
    obligations: Mapping<u64, Obligation>,
    obligation_count: StorageValue<u64>,
    cycle_count: StorageValue<u64>,
}

/// Takes the next id from a counter (ids start at 1, so 0 never names anything).
fn next_id(counter: &mut StorageValue<u64>) -> u64 {
    let id = counter.get() + 1;
    counter.set(&id);
    id
}

#[contract(events = [
    CurrencyAdded, Admitted, Frozen, Transfer, TradeProposed, TradeStateChanged, EscrowLocked, EscrowClaimed,
    EscrowRefunded, SignersConfigured, InstructionSubmitted, InstructionApproval, InstructionExecuted,
    ObligationAdded, NetPosition, CycleSettled
])]
impl Settlement {
    /// Makes the deployer the operator.
    #[constructor]
    pub fn init(&mut self) {
        self.operator.set(&env::caller());
    }

    /// The settlement operator (registers currencies, freezes accounts, runs netting cycles).
    #[message]
    pub fn operator(&self) -> Address {
        self.operator.get()
    }

    // ---- currencies, eligibility, freezing ----

    /// Registers `currency` with its issuing bank (operator only, once per code).
    #[message]
    pub fn add_currency(&mut self, currency: FixedBytes<3>, issuer: Address) -> Result<()> {
        self.only_operator()?;
        ensure!(!issuer.is_zero(), "settlement: zero issuer");
        let mut c = self.currencies.at_mut(&currency);
        ensure!(c.issuer.get().is_zero(), "settlement: currency already registered");
        c.issuer.set(&issuer);
        CurrencyAdded { currency, issuer }.emit();
        Ok(())
    }

    /// Admits `participant` to hold `currency` up to `limit` (issuer only); `limit` 0 removes its eligibility.
    #[message]
    pub fn admit(&mut self, currency: FixedBytes<3>, participant: Address, limit: U256) -> Result<()> {
        let mut c = self.currencies.at_mut(&currency);
        let issuer = c.issuer.get();
        ensure!(!issuer.is_zero(), "settlement: unknown currency");
        ensure!(env::caller() == issuer, "settlement: only the issuer admits participants");
        ensure!(!participant.is_zero(), "settlement: zero participant");
        c.limits.set(&participant, &limit);
        Admitted { currency, participant, limit }.emit();
        Ok(())
    }

    /// Freezes or unfreezes `account` (operator only).
    #[message]
    pub fn set_frozen(&mut self, account: Address, frozen: bool) -> Result<()> {
        self.only_operator()?;
        self.frozen.set(&account, &frozen);
        Frozen { account, frozen }.emit();
        Ok(())
    }

    /// Creates `amount` of `currency` in `to`'s balance (issuer only; `to` must be eligible and within its limit).
    #[message]
    pub fn mint(&mut self, currency: FixedBytes<3>, to: Address, amount: U256) -> Result<()> {
        let issuer = self.issuer(currency)?;
        ensure!(env::caller() == issuer, "settlement: only the issuer mints");
        ensure!(!amount.is_zero(), "settlement: zero amount");
        self.credit(currency, to, amount)?;
        let mut c = self.currencies.at_mut(&currency);
        let minted = c.minted.get().checked_add(amount).ok_or("settlement: supply overflow")?;
        c.minted.set(&minted);
        Transfer { currency, from: Address::ZERO, to, amount }.emit();
        Ok(())
    }

    /// Destroys `amount` of `currency` from the issuer's own balance (issuer only).
    #[message]
    pub fn burn(&mut self, currency: FixedBytes<3>, amount: U256) -> Result<()> {
        let issuer = self.issuer(currency)?;
        ensure!(env::caller() == issuer, "settlement: only the issuer burns");
        ensure!(!amount.is_zero(), "settlement: zero amount");
        self.debit(currency, issuer, amount)?;
        let mut c = self.currencies.at_mut(&currency);
        let burned = c.burned.get() + amount;
        c.burned.set(&burned);
        Transfer { currency, from: issuer, to: Address::ZERO, amount }.emit();
        Ok(())
    }

    /// Pays `amount` of `currency` from the caller to `to`.
    #[message]
    pub fn transfer(&mut self, currency: FixedBytes<3>, to: Address, amount: U256) -> Result<()> {
        self.issuer(currency)?;
        self.pay(currency, env::caller(), to, amount)
    }

    /// `owner`'s balance of `currency`.
    #[message]
    pub fn balance_of(&self, currency: FixedBytes<3>, owner: Address) -> U256 {
        self.currencies.at(&currency).balances.get(&owner)
    }

    /// `participant`'s holding limit in `currency` (0: not eligible).
    #[message]
    pub fn limit_of(&self, currency: FixedBytes<3>, participant: Address) -> U256 {
        self.currencies.at(&currency).limits.get(&participant)
    }

    /// Whether `account` is frozen.
    #[message]
    pub fn is_frozen(&self, account: Address) -> bool {
        self.frozen.get(&account)
    }

    /// `(issuer, supply, minted, burned, locked)` of `currency`; supply = minted − burned = Σ balances + locked.
    #[message]
    pub fn currency_info(&self, currency: FixedBytes<3>) -> (Address, U256, U256, U256, U256) {
        let c = self.currencies.at(&currency);
        let (minted, burned) = (c.minted.get(), c.burned.get());
        (c.issuer.get(), minted.wrapping_sub(burned), minted, burned, c.locked.get())
    }

    // ---- payment versus payment ----

    /// Proposes a trade: the caller pays `pay_amount` of `pay_currency` to `counterparty`, who pays
    /// `receive_amount` of `receive_currency` back; it must settle by `expiry` (seconds). Returns the trade id.
    #[message]
    pub fn propose_trade(
        &mut self,
        counterparty: Address,
        pay_currency: FixedBytes<3>,
        pay_amount: U256,
        receive_currency: FixedBytes<3>,
        receive_amount: U256,
        expiry: u64,
    ) -> Result<u64> {
        let party = env::caller();
        ensure!(counterparty != party && !counterparty.is_zero(), "settlement: invalid counterparty");
        ensure!(pay_currency != receive_currency, "settlement: both legs in one currency");
        self.issuer(pay_currency)?;
        self.issuer(receive_currency)?;
        ensure!(!pay_amount.is_zero() && !receive_amount.is_zero(), "settlement: zero amount");
        ensure!(expiry > env::block_timestamp(), "settlement: expiry in the past");
        let id = next_id(&mut self.trade_count);
        let mut t = self.trades.at_mut(&id);
        t.party.set(&party);
        t.counterparty.set(&counterparty);
        t.pay_currency.set(&pay_currency);
        t.pay_amount.set(&pay_amount);
        t.receive_currency.set(&receive_currency);
        t.receive_amount.set(&receive_amount);
        t.expiry.set(&expiry);
        t.state.set(&PROPOSED);
        TradeProposed { id, party, counterparty }.emit();
        Ok(id)
    }

    /// The counterparty accepts a proposed trade.
    #[message]
    pub fn accept_trade(&mut self, id: u64) -> Result<()> {
        let caller = env::caller();
        let mut t = self.trades.at_mut(&id);
        ensure!(t.state.get() != 0, "settlement: unknown trade");
        ensure!(caller == t.counterparty.get(), "settlement: only the counterparty accepts");
        ensure!(t.state.get() == PROPOSED, "settlement: trade not proposed");
        ensure!(env::block_timestamp() <= t.expiry.get(), "settlement: trade expired");
        t.state.set(&ACCEPTED);
        TradeStateChanged { id, state: ACCEPTED, by: caller }.emit();
        Ok(())
    }

    /// Settles an accepted trade (either party): both legs move, or the call reverts and neither does.
    #[message]
    pub fn settle_trade(&mut self, id: u64) -> Result<()> {
        let caller = env::caller();
        let t = self.trades.at(&id);
        let state = t.state.get();
        ensure!(state != 0, "settlement: unknown trade");
        let (party, counterparty) = (t.party.get(), t.counterparty.get());
        ensure!(caller == party || caller == counterparty, "settlement: only a party settles");
        ensure!(state != SETTLED, "settlement: trade already settled");
        ensure!(state == ACCEPTED, "settlement: trade not accepted");
        ensure!(env::block_timestamp() <= t.expiry.get(), "settlement: trade expired");
        let legs = ((t.pay_currency.get(), t.pay_amount.get()), (t.receive_currency.get(), t.receive_amount.get()));
        // First leg written before the second is checked: a failing second leg reverts the whole call, first leg
        // included (the atomicity the tests force).
        self.pay(legs.0.0, party, counterparty, legs.0.1)?;
        self.pay(legs.1.0, counterparty, party, legs.1.1)?;
        self.trades.at_mut(&id).state.set(&SETTLED);
        TradeStateChanged { id, state: SETTLED, by: caller }.emit();
        Ok(())
    }

    /// Cancels a proposed or accepted trade (either party), never a settled one.
    #[message]
    pub fn cancel_trade(&mut self, id: u64) -> Result<()> {
        let caller = env::caller();
        let mut t = self.trades.at_mut(&id);
        let state = t.state.get();
        ensure!(state != 0, "settlement: unknown trade");
        ensure!(caller == t.party.get() || caller == t.counterparty.get(), "settlement: only a party cancels");
        ensure!(state != SETTLED, "settlement: trade already settled");
        ensure!(state == PROPOSED || state == ACCEPTED, "settlement: trade already cancelled");
        t.state.set(&CANCELLED);
        TradeStateChanged { id, state: CANCELLED, by: caller }.emit();
        Ok(())
    }

    /// `(party, counterparty, payCurrency, payAmount, receiveCurrency, receiveAmount, expiry, state)`; state 5
    /// (expired) when a proposed or accepted trade passed its expiry.
    #[message]
    pub fn trade(&self, id: u64) -> (Address, Address, FixedBytes<3>, U256, FixedBytes<3>, U256, u64, u8) {
        let t = self.trades.at(&id);
        let mut state = t.state.get();
        if (state == PROPOSED || state == ACCEPTED) && env::block_timestamp() > t.expiry.get() {
            state = EXPIRED;
        }
        (
            t.party.get(),
            t.counterparty.get(),
            t.pay_currency.get(),
            t.pay_amount.get(),
            t.receive_currency.get(),
            t.receive_amount.get(),
            t.expiry.get(),
            state,
        )
    }

    // ---- hashed-timelock escrow ----

    /// Locks `amount` of the caller's `currency` for `receiver`, claimable with the preimage of `hashlock`
    /// (`keccak256`) before `timeout`, refundable to the caller from `timeout` on. Returns the escrow id.
    #[message]
    pub fn lock(
        &mut self,
        currency: FixedBytes<3>,
        receiver: Address,
        amount: U256,
        hashlock: B256,
        timeout: u64,
    ) -> Result<u64> {
        self.lock_funds(currency, receiver, amount, hashlock, timeout)
    }

    /// Locks the counterparty's leg against the initiator's escrow `initiator_id` (of which the caller is the
    /// receiver): same hash, paid to the initiator, with a timeout strictly before the initiator's, so the
    /// initiator must reveal the preimage here while the caller still has time to claim the initiator's leg.
    #[message]
    pub fn respond(&mut self, initiator_id: u64, currency: FixedBytes<3>, amount: U256, timeout: u64) -> Result<u64> {
        let e = self.escrows.at(&initiator_id);
        ensure!(e.state.get() != 0, "settlement: unknown escrow");
        ensure!(e.receiver.get() == env::caller(), "settlement: only the initiator's receiver responds");
        ensure!(e.state.get() == LOCKED, "settlement: initiator's escrow not locked");
        ensure!(timeout < e.timeout.get(), "settlement: response timeout must be before the initiator's");
        let (initiator, hashlock) = (e.sender.get(), e.hashlock.get());
        self.lock_funds(currency, initiator, amount, hashlock, timeout)
    }

    /// The receiver claims an escrow with `preimage` (`keccak256(preimage) == hashlock`) before its timeout.
    #[message]
    pub fn claim(&mut self, id: u64, preimage: B256) -> Result<()> {
        let e = self.escrows.at(&id);
        let state = e.state.get();
        ensure!(state != 0, "settlement: unknown escrow");
        ensure!(env::caller() == e.receiver.get(), "settlement: only the receiver claims");
        ensure!(state == LOCKED, "settlement: escrow already closed");
        ensure!(env::block_timestamp() < e.timeout.get(), "settlement: escrow timed out");
        ensure!(env::keccak256(preimage.as_bytes()) == *e.hashlock.get().as_bytes(), "settlement: wrong preimage");
        let (currency, receiver, amount) = (e.currency.get(), e.receiver.get(), e.amount.get());
        self.release(id, currency, receiver, amount, CLAIMED)?;
        EscrowClaimed { id, preimage }.emit();
        Ok(())
    }

    /// The sender takes an escrow back, from its timeout on.
    #[message]
    pub fn refund(&mut self, id: u64) -> Result<()> {
        let e = self.escrows.at(&id);
        let state = e.state.get();
        ensure!(state != 0, "settlement: unknown escrow");
        ensure!(env::caller() == e.sender.get(), "settlement: only the sender refunds");
        ensure!(state == LOCKED, "settlement: escrow already closed");
        ensure!(env::block_timestamp() >= e.timeout.get(), "settlement: escrow not yet timed out");
        let (currency, sender, amount) = (e.currency.get(), e.sender.get(), e.amount.get());
        self.release(id, currency, sender, amount, REFUNDED)?;
        EscrowRefunded { id }.emit();
        Ok(())
    }

    /// `(sender, receiver, currency, amount, hashlock, timeout, state)`.
    #[message]
    pub fn escrow(&self, id: u64) -> (Address, Address, FixedBytes<3>, U256, B256, u64, u8) {
        let e = self.escrows.at(&id);
        (
            e.sender.get(),
            e.receiver.get(),
            e.currency.get(),
            e.amount.get(),
            e.hashlock.get(),
            e.timeout.get(),
            e.state.get(),
        )
    }

    // ---- m-of-n payment instructions ----

    /// Names the caller's signers and how many must approve a payment from its balance. Replaces earlier
    /// signers: approvals they gave stop counting.
    #[message]
    pub fn configure_signers(&mut self, signers: Vec<Address>, threshold: u64) -> Result<()> {
        ensure!(!signers.is_empty() && signers.len() <= MAX_SIGNERS, "settlement: 1 to 16 signers");
        ensure!(threshold >= 1 && threshold as usize <= signers.len(), "settlement: threshold out of range");
        let account = env::caller();
        let mut s = self.signers.at_mut(&account);
        let epoch = s.epoch.get() + 1;
        s.epoch.set(&epoch);
        s.threshold.set(&threshold);
        let mut current = s.is_signer.at_mut(&epoch);
        for signer in &signers {
            ensure!(!signer.is_zero(), "settlement: zero signer");
            ensure!(!current.get(signer), "settlement: duplicate signer");
            current.set(signer, &true);
        }
        SignersConfigured { account, threshold, signers }.emit();
        Ok(())
    }

    /// A signer of `account` submits a payment of `amount` `currency` to `to`, executable until `deadline`.
    #[message]
    pub fn submit_instruction(
        &mut self,
        account: Address,
        currency: FixedBytes<3>,
        to: Address,
        amount: U256,
        deadline: u64,
    ) -> Result<u64> {
        ensure!(self.is_signer(account, env::caller()), "settlement: not an authorised signer");
        self.issuer(currency)?;
        ensure!(!amount.is_zero(), "settlement: zero amount");
        ensure!(deadline > env::block_timestamp(), "settlement: deadline in the past");
        let id = next_id(&mut self.instruction_count);
        let mut i = self.instructions.at_mut(&id);
        i.account.set(&account);
        i.currency.set(&currency);
        i.to.set(&to);
        i.amount.set(&amount);
        i.deadline.set(&deadline);
        i.state.set(&PENDING);
        InstructionSubmitted { id, account, to, currency, amount, deadline }.emit();
        Ok(id)
    }

    /// The caller, an authorised signer, approves instruction `id` (once).
    #[message]
    pub fn approve(&mut self, id: u64) -> Result<()> {
        let signer = env::caller();
        let account = self.pending_instruction(id)?;
        ensure!(self.is_signer(account, signer), "settlement: not an authorised signer");
        let mut i = self.instructions.at_mut(&id);
        ensure!(!i.approved.get(&signer), "settlement: already approved");
        i.approved.set(&signer, &true);
        if !i.listed.get(&signer) {
            // Only signers approve, and each is listed once per instruction; re-configured signer sets can add
            // more, up to this bound on the view's loop.
            let n = i.approver_count.get();
            ensure!((n as usize) < MAX_SIGNERS * 4, "settlement: too many approvers");
            i.listed.set(&signer, &true);
            i.approvers.set(&n, &signer);
            i.approver_count.set(&(n + 1));
        }
        InstructionApproval { id, signer, approved: true }.emit();
        Ok(())
    }

    /// The caller withdraws its approval of instruction `id`.
    #[message]
    pub fn revoke_approval(&mut self, id: u64) -> Result<()> {
        let signer = env::caller();
        self.pending_instruction(id)?;
        let mut i = self.instructions.at_mut(&id);
        ensure!(i.approved.get(&signer), "settlement: no approval to revoke");
        i.approved.set(&signer, &false);
        InstructionApproval { id, signer, approved: false }.emit();
        Ok(())
    }

    /// An authorised signer executes instruction `id` once enough current signers' approvals stand and before
    /// its deadline.
    #[message]
    pub fn execute(&mut self, id: u64) -> Result<()> {
        let executor = env::caller();
        let account = self.pending_instruction(id)?;
        ensure!(self.is_signer(account, executor), "settlement: not an authorised signer");
        let i = self.instructions.at(&id);
        ensure!(env::block_timestamp() <= i.deadline.get(), "settlement: instruction expired");
        let approvals = self.valid_approvals(id);
        ensure!(approvals >= self.signers.at(&account).threshold.get(), "settlement: insufficient approvals");
        let i = self.instructions.at(&id);
        let (currency, to, amount) = (i.currency.get(), i.to.get(), i.amount.get());
        self.pay(currency, account, to, amount)?;
        self.instructions.at_mut(&id).state.set(&EXECUTED);
        InstructionExecuted { id, executor }.emit();
        Ok(())
    }

    /// `(account, currency, to, amount, deadline, approvals that count now, state)`.
    #[message]
    pub fn instruction(&self, id: u64) -> (Address, FixedBytes<3>, Address, U256, u64, u64, u8) {
        let i = self.instructions.at(&id);
        (
            i.account.get(),
            i.currency.get(),
            i.to.get(),
            i.amount.get(),
            i.deadline.get(),
            self.valid_approvals(id),
            i.state.get(),
        )
    }

    // ---- netting ----

    /// The caller (the debtor) records that it owes `amount` of `currency` to `creditor`, for a netting cycle.
    #[message]
    pub fn add_obligation(&mut self, currency: FixedBytes<3>, creditor: Address, amount: U256) -> Result<u64> {
        let debtor = env::caller();
        self.issuer(currency)?;
        ensure!(creditor != debtor && !creditor.is_zero(), "settlement: invalid creditor");
        ensure!(!amount.is_zero(), "settlement: zero amount");
        let id = next_id(&mut self.obligation_count);
        let mut o = self.obligations.at_mut(&id);
        o.debtor.set(&debtor);
        o.creditor.set(&creditor);
        o.currency.set(&currency);
        o.amount.set(&amount);
        o.state.set(&PENDING);
        ObligationAdded { id, debtor, creditor, currency, amount }.emit();
        Ok(id)
    }

    /// Settles obligations `ids` (all pending, all in `currency`) as net positions, operator only: every net
    /// debtor pays its net debit and every net creditor receives its net credit, or nothing moves.
    #[message]
    pub fn settle_cycle(&mut self, currency: FixedBytes<3>, ids: Vec<u64>) -> Result<u64> {
        self.only_operator()?;
        self.issuer(currency)?;
        ensure!(!ids.is_empty() && ids.len() <= MAX_CYCLE_OBLIGATIONS, "settlement: 1 to 256 obligations per cycle");
        // (participant, credit, debit), in first-appearance order so events come out deterministically.
        let mut positions: Vec<(Address, U256, U256)> = Vec::new();
        let mut gross = U256::ZERO;
        for id in &ids {
            let mut o = self.obligations.at_mut(id);
            ensure!(o.state.get() == PENDING, "settlement: obligation not pending");
            ensure!(o.currency.get() == currency, "settlement: obligation in another currency");
            o.state.set(&EXECUTED);
            let amount = o.amount.get();
            gross = gross.checked_add(amount).ok_or("settlement: overflow")?;
            position(&mut positions, o.debtor.get()).2 += amount;
            position(&mut positions, o.creditor.get()).1 += amount;
        }
        let cycle = next_id(&mut self.cycle_count);
        let mut net = U256::ZERO;
        // Debits first: a net debtor that cannot pay fails the cycle before anyone is credited.
        for (who, credit, debit) in &positions {
            if debit > credit {
                let amount = *debit - *credit;
                self.debit(currency, *who, amount)
                    .map_err(|_| Error::message("settlement: a participant cannot cover its net debit"))?;
                net += amount;
            }
        }
        for (who, credit, debit) in &positions {
            let (c, d) = if credit > debit { (*credit - *debit, U256::ZERO) } else { (U256::ZERO, *debit - *credit) };
            if !c.is_zero() {
                self.credit(currency, *who, c)?;
            }
            NetPosition { cycle, participant: *who, credit: c, debit: d }.emit();
        }
        CycleSettled { cycle, currency, obligations: ids.len() as u64, gross, net }.emit();
        Ok(cycle)
    }

    /// `(debtor, creditor, currency, amount, state)` (state 1 pending, 2 settled).
    #[message]
    pub fn obligation(&self, id: u64) -> (Address, Address, FixedBytes<3>, U256, u8) {
        let o = self.obligations.at(&id);
        (o.debtor.get(), o.creditor.get(), o.currency.get(), o.amount.get(), o.state.get())
    }

    // ---- internals ----

    fn only_operator(&self) -> Result<()> {
        ensure!(env::caller() == self.operator.get(), "settlement: only the operator");
        Ok(())
    }

    /// The issuer of a registered currency.
    fn issuer(&self, currency: FixedBytes<3>) -> Result<Address> {
        let issuer = self.currencies.at(&currency).issuer.get();
        ensure!(!issuer.is_zero(), "settlement: unknown currency");
        Ok(issuer)
    }

    /// Takes `amount` from `from`'s balance (which must not be frozen).
    fn debit(&mut self, currency: FixedBytes<3>, from: Address, amount: U256) -> Result<()> {
        ensure!(!self.frozen.get(&from), "settlement: account frozen");
        let mut c = self.currencies.at_mut(&currency);
        let mut balance = c.balances.entry(&from);
        let left = balance.get().checked_sub(amount).ok_or("settlement: insufficient balance")?;
        balance.set(&left);
        Ok(())
    }

    /// Adds `amount` to `to`'s balance: `to` must be unfrozen and the issuer or an eligible participant within
    /// its limit.
    fn credit(&mut self, currency: FixedBytes<3>, to: Address, amount: U256) -> Result<()> {
        ensure!(!self.frozen.get(&to), "settlement: recipient frozen");
        let mut c = self.currencies.at_mut(&currency);
        let is_issuer = to == c.issuer.get();
        let limit = c.limits.get(&to);
        ensure!(is_issuer || !limit.is_zero(), "settlement: recipient not eligible for this currency");
        let mut balance = c.balances.entry(&to);
        let new = balance.get().checked_add(amount).ok_or("settlement: overflow")?;
        ensure!(is_issuer || new <= limit, "settlement: recipient limit exceeded");
        balance.set(&new);
        Ok(())
    }

    /// Moves `amount` from `from` to `to` and emits `Transfer`.
    fn pay(&mut self, currency: FixedBytes<3>, from: Address, to: Address, amount: U256) -> Result<()> {
        ensure!(!amount.is_zero(), "settlement: zero amount");
        ensure!(from != to, "settlement: payment to oneself");
        self.debit(currency, from, amount)?;
        self.credit(currency, to, amount)?;
        Transfer { currency, from, to, amount }.emit();
        Ok(())
    }

    fn lock_funds(
        &mut self,
        currency: FixedBytes<3>,
        receiver: Address,
        amount: U256,
        hashlock: B256,
        timeout: u64,
    ) -> Result<u64> {
        let sender = env::caller();
        self.issuer(currency)?;
        ensure!(receiver != sender && !receiver.is_zero(), "settlement: invalid receiver");
        ensure!(!amount.is_zero(), "settlement: zero amount");
        ensure!(timeout > env::block_timestamp(), "settlement: timeout in the past");
        self.debit(currency, sender, amount)?;
        let mut c = self.currencies.at_mut(&currency);
        let locked = c.locked.get() + amount;
        c.locked.set(&locked);
        let id = next_id(&mut self.escrow_count);
        let mut e = self.escrows.at_mut(&id);
        e.sender.set(&sender);
        e.receiver.set(&receiver);
        e.currency.set(&currency);
        e.amount.set(&amount);
        e.hashlock.set(&hashlock);
        e.timeout.set(&timeout);
        e.state.set(&LOCKED);
        Transfer { currency, from: sender, to: env::self_address(), amount }.emit();
        EscrowLocked { id, sender, receiver, hashlock, timeout }.emit();
        Ok(id)
    }

    /// Closes escrow `id` as `state`, paying its amount to `to`.
    fn release(&mut self, id: u64, currency: FixedBytes<3>, to: Address, amount: U256, state: u8) -> Result<()> {
        self.escrows.at_mut(&id).state.set(&state);
        let mut c = self.currencies.at_mut(&currency);
        let locked = c.locked.get() - amount;
        c.locked.set(&locked);
        self.credit(currency, to, amount)?;
        Transfer { currency, from: env::self_address(), to, amount }.emit();
        Ok(())
    }

    fn is_signer(&self, account: Address, who: Address) -> bool {
        let s = self.signers.at(&account);
        s.is_signer.at(&s.epoch.get()).get(&who)
    }

    /// The account of pending instruction `id`.
    fn pending_instruction(&self, id: u64) -> Result<Address> {
        let i = self.instructions.at(&id);
        let state = i.state.get();
        ensure!(state != 0, "settlement: unknown instruction");
        ensure!(state == PENDING, "settlement: instruction already executed");
        Ok(i.account.get())
    }

    /// Approvals of instruction `id` that stand (not revoked) and come from a current signer of its account.
    fn valid_approvals(&self, id: u64) -> u64 {
        let i = self.instructions.at(&id);
        let account = i.account.get();
        (0..i.approver_count.get())
            .map(|n| i.approvers.get(&n))
            .filter(|who| i.approved.get(who) && self.is_signer(account, *who))
            .count() as u64
    }
}

/// The netting position of `who`, added at the end if new.
fn position(positions: &mut Vec<(Address, U256, U256)>, who: Address) -> &mut (Address, U256, U256) {
    let at = match positions.iter().position(|p| p.0 == who) {
        Some(at) => at,
        None => {
            positions.push((who, U256::ZERO, U256::ZERO));
            positions.len() - 1
        }
    };
    &mut positions[at]
}

#[cfg(test)]
mod tests;
