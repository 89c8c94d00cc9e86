//! Supply-chain finance with receivable vouchers.
//!
//! - The operator (the deployer: the platform run by the consortium) registers core enterprises (`setObligor`) and
//!   banks (`setFinancier`).
//! - A core enterprise **confirms** an irrevocable payable to its tier-1 supplier as a voucher: face value, due
//!   date, and itself as obligor (`confirm`). Nobody else can confirm one in its name.
//! - A holder **splits and transfers** part (or all) of a voucher down the chain (`transfer`): the part becomes a
//!   child voucher of the receiver with the same root, due date and obligor; the holder keeps the rest.
//! - A holder offers a voucher to a bank at an annual discount rate (`requestFinancing`, which locks it); the bank
//!   **finances** it (`finance`): in one transaction it pays the holder face value less interest to the due date,
//!   in the cash token, and takes the voucher. Locked or financed vouchers cannot be transferred or financed again.
//! - From the due date the obligor **repays** the root (`repay`): every live piece's holder is paid its amount in
//!   the cash token, in one transaction. Until then, pieces past their due date are **overdue** (`markOverdue`
//!   records it with an event; the views report it either way).
//!
//! Payments move an ERC-20 cash token (a tokenised deposit) with `transferFrom`, so the payer approves this
//! contract first; a payment that does not move reverts the whole action. Invariant per root: the live pieces'
//! amounts plus the repaid amount equal the face value.
#![cfg_attr(not(test), no_std)]

use accord_contract::prelude::*;

/// Most pieces (the root and its descendants) one confirmed payable may be split into: bounds `repay`'s loop.
pub const MAX_PIECES: u64 = 64;
/// Interest basis: rates are in basis points per 365-day year.
pub const YEAR_SECONDS: u64 = 365 * 24 * 3600;

/// Voucher states, as returned by `voucher`.
pub mod state {
    /// Held, transferable, financeable.
    pub const ACTIVE: u8 = 1;
    /// Offered to a bank for financing: frozen until financed or withdrawn.
    pub const LOCKED: u8 = 2;
    /// Taken by a bank that paid for it: held to maturity.
    pub const FINANCED: u8 = 3;
    /// Paid by the obligor.
    pub const REPAID: u8 = 4;
    /// Its whole amount was transferred on (its children carry it).
    pub const SPENT: u8 = 5;
    /// Past its due date and unpaid (a view of `ACTIVE`, `LOCKED` or `FINANCED`).
    pub const OVERDUE: u8 = 6;
}
use state::*;

/// `RoleChanged(address indexed account, uint8 role, bool enabled)`: role 1 obligor, 2 financier.
#[event]
pub struct RoleChanged {
    /// The account.
    #[indexed]
    pub account: Address,
    /// 1 core enterprise (obligor), 2 bank (financier).
    pub role: u8,
    /// Granted or withdrawn.
    pub enabled: bool,
}

/// `Confirmed(uint64 indexed id, address indexed obligor, address indexed supplier, uint256 amount, uint64 due)`.
#[event]
pub struct Confirmed {
    /// The root voucher.
    #[indexed]
    pub id: u64,
    /// The core enterprise that owes.
    #[indexed]
    pub obligor: Address,
    /// The tier-1 supplier it owes.
    #[indexed]
    pub supplier: Address,
    /// Face value.
    pub amount: U256,
    /// Due date (seconds).
    pub due: u64,
}

/// `Transferred(uint64 indexed parent, uint64 indexed child, address indexed to, address from, uint256 amount)`.
#[event]
pub struct Transferred {
    /// The voucher split.
    #[indexed]
    pub parent: u64,
    /// The new piece.
    #[indexed]
    pub child: u64,
    /// Its holder.
    #[indexed]
    pub to: Address,
    /// The parent's holder.
    pub from: Address,
    /// The piece's amount.
    pub amount: U256,
}

/// `FinancingRequested(uint64 indexed id, address indexed bank, uint64 rateBps, bool open)`: an offer, or its
/// withdrawal (`open` false).
#[event]
pub struct FinancingRequested {
    /// The voucher.
    #[indexed]
    pub id: u64,
    /// The bank asked.
    #[indexed]
    pub bank: Address,
    /// Annual discount rate, basis points.
    pub rate_bps: u64,
    /// Offered (true) or withdrawn (false).
    pub open: bool,
}

/// `Financed(uint64 indexed id, address indexed bank, address indexed seller, uint256 amount, uint256 price)`.
#[event]
pub struct Financed {
    /// The voucher.
    #[indexed]
    pub id: u64,
    /// The new holder.
    #[indexed]
    pub bank: Address,
    /// The old holder, paid `price`.
    #[indexed]
    pub seller: Address,
    /// Face amount.
    pub amount: U256,
    /// Amount paid.
    pub price: U256,
}

/// `Repaid(uint64 indexed id, uint64 indexed root, address indexed holder, uint256 amount)`: one piece paid.
#[event]
pub struct Repaid {
    /// The piece.
    #[indexed]
    pub id: u64,
    /// Its root.
    #[indexed]
    pub root: u64,
    /// Who was paid.
    #[indexed]
    pub holder: Address,
    /// Amount.
    pub amount: U256,
}

/// `Overdue(uint64 indexed root, uint256 outstanding)`.
#[event]
pub struct Overdue {
    /// The root voucher.
    #[indexed]
    pub root: u64,
    /// Unpaid amount.
    pub outstanding: U256,
}

/// One voucher (a root or a piece split from one).
#[storage]
pub struct Voucher {
    root: StorageValue<u64>,
    parent: StorageValue<u64>,
    obligor: StorageValue<Address>,
    holder: StorageValue<Address>,
    amount: StorageValue<U256>,
    due: StorageValue<u64>,
    state: StorageValue<u8>,
    bank: StorageValue<Address>,
    rate_bps: StorageValue<u64>,
}

/// A confirmed payable: the root voucher's book.
#[storage]
pub struct Payable {
    face: StorageValue<U256>,
    repaid: StorageValue<U256>,
    overdue: StorageValue<bool>,
    piece_count: StorageValue<u64>,
    pieces: Mapping<u64, u64>,
}

/// The contract's storage.
#[storage]
pub struct Receivables {
    operator: StorageValue<Address>,
    cash: StorageValue<Address>,
    obligors: Mapping<Address, bool>,
    financiers: Mapping<Address, bool>,
    vouchers: Mapping<u64, Voucher>,
    voucher_count: StorageValue<u64>,
    payables: Mapping<u64, Payable>,
}

#[contract(events = [RoleChanged, Confirmed, Transferred, FinancingRequested, Financed, Repaid, Overdue])]
impl Receivables {
    /// `cash`: the ERC-20 token payments are made in. The deployer becomes the operator.
    #[constructor]
    pub fn init(&mut self, cash: Address) -> Result<()> {
        ensure!(!cash.is_zero(), "receivables: zero cash token");
        self.operator.set(&env::caller());
        self.cash.set(&cash);
        Ok(())
    }

    /// The cash token.
    #[message]
    pub fn cash(&self) -> Address {
        self.cash.get()
    }

    /// Grants or withdraws the core-enterprise role (operator only).
    #[message]
    pub fn set_obligor(&mut self, account: Address, enabled: bool) -> Result<()> {
        ensure!(env::caller() == self.operator.get(), "receivables: only the operator");
        self.obligors.set(&account, &enabled);
        RoleChanged { account, role: 1, enabled }.emit();
        Ok(())
    }

    /// Grants or withdraws the bank role (operator only).
    #[message]
    pub fn set_financier(&mut self, account: Address, enabled: bool) -> Result<()> {
        ensure!(env::caller() == self.operator.get(), "receivables: only the operator");
        self.financiers.set(&account, &enabled);
        RoleChanged { account, role: 2, enabled }.emit();
        Ok(())
    }

    /// The caller, a core enterprise, confirms that it owes `amount` to `supplier` on `due`. Returns the voucher.
    #[message]
    pub fn confirm(&mut self, supplier: Address, amount: U256, due: u64) -> Result<u64> {
        let obligor = env::caller();
        ensure!(self.obligors.get(&obligor), "receivables: only a core enterprise confirms");
        ensure!(!supplier.is_zero() && supplier != obligor, "receivables: invalid supplier");
        ensure!(!amount.is_zero(), "receivables: zero amount");
        ensure!(due > env::block_timestamp(), "receivables: due date in the past");
        let id = self.new_voucher(NONE, NONE, obligor, supplier, amount, due)?;
        let mut p = self.payables.at_mut(&id);
        p.face.set(&amount);
        Confirmed { id, obligor, supplier, amount, due }.emit();
        Ok(id)
    }

    /// The holder transfers `amount` of voucher `id` to `to` as a new piece (all of it, or a split). Returns the
    /// new piece.
    #[message]
    pub fn transfer(&mut self, id: u64, to: Address, amount: U256) -> Result<u64> {
        let from = env::caller();
        let v = self.vouchers.at(&id);
        ensure!(v.state.get() != 0, "receivables: unknown voucher");
        ensure!(v.holder.get() == from, "receivables: only the holder transfers");
        self.require_movable(id)?;
        ensure!(!to.is_zero() && to != from, "receivables: invalid receiver");
        ensure!(!amount.is_zero(), "receivables: zero amount");
        let v = self.vouchers.at(&id);
        let left = v.amount.get().checked_sub(amount).ok_or("receivables: amount exceeds the voucher")?;
        let (root, obligor, due) = (v.root.get(), v.obligor.get(), v.due.get());
        let child = self.new_voucher(root, id, obligor, to, amount, due)?;
        let mut v = self.vouchers.at_mut(&id);
        v.amount.set(&left);
        if left.is_zero() {
            v.state.set(&SPENT);
        }
        Transferred { parent: id, child, to, from, amount }.emit();
        Ok(child)
    }

    /// The holder offers voucher `id` to `bank` at `rate_bps` a year; the voucher is locked until the bank
    /// finances it or the holder withdraws the offer.
    #[message]
    pub fn request_financing(&mut self, id: u64, bank: Address, rate_bps: u64) -> Result<()> {
        let v = self.vouchers.at(&id);
        ensure!(v.state.get() != 0, "receivables: unknown voucher");
        ensure!(v.holder.get() == env::caller(), "receivables: only the holder requests financing");
        self.require_movable(id)?;
        ensure!(self.financiers.get(&bank), "receivables: not a registered bank");
        ensure!(rate_bps < 10_000, "receivables: rate out of range");
        let mut v = self.vouchers.at_mut(&id);
        v.state.set(&LOCKED);
        v.bank.set(&bank);
        v.rate_bps.set(&rate_bps);
        FinancingRequested { id, bank, rate_bps, open: true }.emit();
        Ok(())
    }

    /// The holder withdraws its financing offer; the voucher is active again.
    #[message]
    pub fn cancel_financing(&mut self, id: u64) -> Result<()> {
        let mut v = self.vouchers.at_mut(&id);
        ensure!(v.holder.get() == env::caller(), "receivables: only the holder withdraws the offer");
        ensure!(v.state.get() == LOCKED, "receivables: no financing offer");
        let (bank, rate_bps) = (v.bank.get(), v.rate_bps.get());
        v.state.set(&ACTIVE);
        v.bank.set(&Address::ZERO);
        v.rate_bps.set(&0);
        FinancingRequested { id, bank, rate_bps, open: false }.emit();
        Ok(())
    }

    /// The bank the holder offered voucher `id` to finances it: it pays the holder the discounted price in cash and
    /// becomes the holder, atomically.
    #[message]
    pub fn finance(&mut self, id: u64) -> Result<U256> {
        let bank = env::caller();
        let v = self.vouchers.at(&id);
        ensure!(v.state.get() != 0, "receivables: unknown voucher");
        ensure!(v.state.get() != FINANCED, "receivables: voucher already financed");
        ensure!(v.state.get() == LOCKED, "receivables: voucher not offered for financing");
        ensure!(v.bank.get() == bank, "receivables: offered to another bank");
        ensure!(self.financiers.get(&bank), "receivables: not a registered bank");
        let now = env::block_timestamp();
        ensure!(now < v.due.get(), "receivables: voucher matured");
        let (seller, amount) = (v.holder.get(), v.amount.get());
        let price = discounted(amount, v.rate_bps.get(), v.due.get() - now)?;
        self.pay(bank, seller, price)?;
        let mut v = self.vouchers.at_mut(&id);
        v.holder.set(&bank);
        v.state.set(&FINANCED);
        Financed { id, bank, seller, amount, price }.emit();
        Ok(price)
    }

    /// What a bank would pay now for voucher `id` at `rate_bps` a year.
    #[message]
    pub fn quote(&self, id: u64, rate_bps: u64) -> Result<U256> {
        let v = self.vouchers.at(&id);
        ensure!(v.state.get() != 0, "receivables: unknown voucher");
        ensure!(rate_bps < 10_000, "receivables: rate out of range");
        discounted(v.amount.get(), rate_bps, v.due.get().saturating_sub(env::block_timestamp()))
    }

    /// The obligor repays confirmed payable `root` from its due date on: every live piece's holder is paid its
    /// amount in cash, in this one transaction.
    #[message]
    pub fn repay(&mut self, root: u64) -> Result<U256> {
        let v = self.vouchers.at(&root);
        ensure!(v.state.get() != 0 && v.root.get() == root, "receivables: unknown payable");
        let obligor = v.obligor.get();
        ensure!(env::caller() == obligor, "receivables: only the obligor repays");
        ensure!(env::block_timestamp() >= v.due.get(), "receivables: not yet due");
        let count = self.payables.at(&root).piece_count.get();
        let mut total = U256::ZERO;
        for n in 0..count {
            let id = self.payables.at(&root).pieces.get(&n);
            let v = self.vouchers.at(&id);
            let state = v.state.get();
            if state == REPAID || state == SPENT {
                continue;
            }
            let (holder, amount) = (v.holder.get(), v.amount.get());
            self.pay(obligor, holder, amount)?;
            let mut v = self.vouchers.at_mut(&id);
            v.state.set(&REPAID);
            v.bank.set(&Address::ZERO);
            total += amount;
            Repaid { id, root, holder, amount }.emit();
        }
        ensure!(!total.is_zero(), "receivables: already repaid");
        let mut p = self.payables.at_mut(&root);
        let repaid = p.repaid.get() + total;
        p.repaid.set(&repaid);
        Ok(total)
    }

    /// Records that payable `root` is past its due date and not fully repaid (anyone may call; emits `Overdue`).
    #[message]
    pub fn mark_overdue(&mut self, root: u64) -> Result<U256> {
        let v = self.vouchers.at(&root);
        ensure!(v.state.get() != 0 && v.root.get() == root, "receivables: unknown payable");
        ensure!(env::block_timestamp() > v.due.get(), "receivables: not yet overdue");
        let mut p = self.payables.at_mut(&root);
        let outstanding = p.face.get() - p.repaid.get();
        ensure!(!outstanding.is_zero(), "receivables: already repaid");
        ensure!(!p.overdue.get(), "receivables: already marked overdue");
        p.overdue.set(&true);
        Overdue { root, outstanding }.emit();
        Ok(outstanding)
    }

    /// `(root, parent, obligor, holder, amount, due, state)`; state 6 (overdue) for an unpaid piece past its due
    /// date.
    #[message]
    pub fn voucher(&self, id: u64) -> (u64, u64, Address, Address, U256, u64, u8) {
        let v = self.vouchers.at(&id);
        let mut state = v.state.get();
        if matches!(state, ACTIVE | LOCKED | FINANCED) && env::block_timestamp() > v.due.get() {
            state = OVERDUE;
        }
        (v.root.get(), v.parent.get(), v.obligor.get(), v.holder.get(), v.amount.get(), v.due.get(), state)
    }

    /// `(bank, rateBps)` of voucher `id`'s open financing offer (zero when none).
    #[message]
    pub fn financing(&self, id: u64) -> (Address, u64) {
        let v = self.vouchers.at(&id);
        if v.state.get() == LOCKED { (v.bank.get(), v.rate_bps.get()) } else { (Address::ZERO, 0) }
    }

    /// `(face, repaid, overdueMarked, pieces)` of payable `root`: every piece ever split from it, the root first.
    #[message]
    pub fn payable(&self, root: u64) -> (U256, U256, bool, Vec<u64>) {
        let p = self.payables.at(&root);
        let pieces = (0..p.piece_count.get()).map(|n| p.pieces.get(&n)).collect();
        (p.face.get(), p.repaid.get(), p.overdue.get(), pieces)
    }

    // ---- internals ----

    /// Creates a voucher and lists it under its root (itself, for a root: `root == 0`).
    fn new_voucher(
        &mut self,
        root: u64,
        parent: u64,
        obligor: Address,
        holder: Address,
        amount: U256,
        due: u64,
    ) -> Result<u64> {
        let id = self.voucher_count.get() + 1;
        self.voucher_count.set(&id);
        let root = if root == NONE { id } else { root };
        let mut p = self.payables.at_mut(&root);
        let n = p.piece_count.get();
        ensure!(n < MAX_PIECES, "receivables: too many pieces of one payable");
        p.pieces.set(&n, &id);
        p.piece_count.set(&(n + 1));
        let mut v = self.vouchers.at_mut(&id);
        v.root.set(&root);
        v.parent.set(&parent);
        v.obligor.set(&obligor);
        v.holder.set(&holder);
        v.amount.set(&amount);
        v.due.set(&due);
        v.state.set(&ACTIVE);
        Ok(id)
    }

    /// Refuses to move a voucher that is financed, locked, closed or matured.
    fn require_movable(&self, id: u64) -> Result<()> {
        let v = self.vouchers.at(&id);
        match v.state.get() {
            ACTIVE => {}
            FINANCED => return Err("receivables: voucher financed".into()),
            LOCKED => return Err("receivables: voucher locked for financing".into()),
            REPAID => return Err("receivables: voucher repaid".into()),
            _ => return Err("receivables: voucher fully transferred".into()),
        }
        ensure!(env::block_timestamp() < v.due.get(), "receivables: voucher matured");
        Ok(())
    }

    /// Pays `amount` cash from `from` to `to` with the token's `transferFrom` (this contract must be approved).
    fn pay(&self, from: Address, to: Address, amount: U256) -> Result<()> {
        if amount.is_zero() {
            return Ok(());
        }
        let moved = accord_contract::erc20::transfer_from(&self.cash.get(), from, to, amount);
        ensure!(moved, "receivables: cash payment failed (balance or allowance)");
        Ok(())
    }
}

/// `amount` less simple interest at `rate_bps` a year over `seconds` (the interest rounded down, so the seller is
/// never paid less than the exact discounted price).
fn discounted(amount: U256, rate_bps: u64, seconds: u64) -> Result<U256> {
    let interest = amount
        .checked_mul(U256::from(rate_bps))
        .and_then(|x| x.checked_mul(U256::from(seconds)))
        .ok_or("receivables: amount too large")?
        / U256::from(10_000u64 * YEAR_SECONDS);
    Ok(amount - interest)
}

/// The root and parent of a root voucher: ids start at 1, so 0 names nothing.
const NONE: u64 = 0;

#[cfg(test)]
mod tests;
