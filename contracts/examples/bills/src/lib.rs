//! Digital commercial drafts (bills of exchange), splittable into sub-ranges.
//!
//! Lifecycle, every step taken by the party itself (`msg.sender`):
//!
//! 1. The **drawer** issues a bill on the **drawee** to the order of the **payee** (`issue`): amount, maturity at
//!    most one year out, and optionally "not transferable".
//! 2. The drawee **accepts** it (`accept`, becoming the acceptor, primarily liable) or refuses (`refuseAcceptance`).
//! 3. The payee **receives** it (`receiveBill`; Solidity reserves `receive`) and becomes the first holder.
//! 4. The holder **endorses** it in two steps: `requestEndorsement(to)`, then the endorsee `acceptEndorsement` (or
//!    `rejectOffer`; the holder may `cancelOffer`). Always the full amount, unconditionally; the chain of holders
//!    is continuous because each endorsee takes it from the holder of record. A bill marked not transferable is
//!    never endorsed or discounted.
//! 5. The holder **pledges** it to a bank (`requestPledge`, the bank `acceptPledge`); the pledgee `releasePledge`s
//!    it. A pledged bill does nothing else.
//! 6. The holder asks a bank to **discount** it (`requestDiscount` at an annual rate); the bank `discount`s it: it
//!    pays face value less interest to maturity in cash and takes the bill, atomically.
//! 7. The holder **splits** it (`split`) into two bills over disjoint sub-ranges `[start, start + amount)` and
//!    `[start + amount, end)` of the original range, each carrying the same drawer, acceptor, maturity and chain.
//! 8. From maturity and within the presentment period (10 days) the holder **presents** it (`present`); the
//!    acceptor **pays** in full in cash (`pay`) or **dishonours** (`dishonour`; after a 3-day response window the
//!    holder may record the dishonour itself).
//! 9. After dishonour the holder claims **recourse** against any party liable to it (`claimRecourse`): the acceptor,
//!    the drawer, or an earlier endorser, jointly liable. The party named pays (`payRecourse`) and takes over the
//!    bill, with its own claims against the parties before it; when the acceptor pays, the bill is settled.
//!
//! Payments move an ERC-20 cash token (a tokenised deposit) with `transferFrom`, so the payer approves this
//! contract first; a payment that does not move reverts the action. Each bill's history is stored on chain
//! (`history`) and emitted as events indexed by bill id.
#![cfg_attr(not(test), no_std)]

use accord_contract::prelude::*;

/// The longest term of a bill (maturity after issue).
pub const MAX_TERM: u64 = 365 * DAY;
/// How long after maturity the holder may present.
pub const PRESENTMENT_PERIOD: u64 = 10 * DAY;
/// How long after presentment the acceptor has to pay before the holder may record a dishonour.
pub const RESPONSE_PERIOD: u64 = 3 * DAY;
/// Most holders in one bill's chain (bounds the copy at a split and the recourse checks).
pub const MAX_CHAIN: u64 = 32;
/// One day in seconds.
pub const DAY: u64 = 24 * 3600;
/// Discount interest basis: basis points per 365-day year.
pub const YEAR: u64 = 365 * DAY;

/// Bill states, as returned by `bill`.
pub mod state {
    /// Issued, awaiting the drawee's acceptance.
    pub const ISSUED: u8 = 1;
    /// Acceptance refused by the drawee.
    pub const REFUSED: u8 = 2;
    /// Accepted, awaiting the payee's receipt.
    pub const ACCEPTED: u8 = 3;
    /// Held (an endorsement, pledge or discount may be on offer: see `pending`).
    pub const HELD: u8 = 4;
    /// Pledged to a bank.
    pub const PLEDGED: u8 = 5;
    /// Presented for payment.
    pub const PRESENTED: u8 = 6;
    /// Paid by the acceptor.
    pub const PAID: u8 = 7;
    /// Payment refused: recourse is open.
    pub const DISHONOURED: u8 = 8;
    /// Paid by the acceptor through recourse: closed.
    pub const SETTLED: u8 = 9;
    /// Split into two bills.
    pub const SPLIT: u8 = 10;
}
use state::*;

/// What is on offer to `pending`.
pub mod offer {
    /// Nothing.
    pub const NONE: u8 = 0;
    /// An endorsement.
    pub const ENDORSEMENT: u8 = 1;
    /// A pledge.
    pub const PLEDGE: u8 = 2;
    /// A discount.
    pub const DISCOUNT: u8 = 3;
}

/// Actions recorded in a bill's history (`history` and the `Action` event).
pub mod action {
    /// Issued by the drawer.
    pub const ISSUE: u8 = 1;
    /// Accepted by the drawee.
    pub const ACCEPT: u8 = 2;
    /// Acceptance refused.
    pub const REFUSE: u8 = 3;
    /// Received by the payee.
    pub const RECEIVE: u8 = 4;
    /// Endorsement requested (counterparty: the endorsee).
    pub const REQUEST_ENDORSEMENT: u8 = 5;
    /// Endorsement accepted: the endorsee holds the bill.
    pub const ENDORSE: u8 = 6;
    /// An offer rejected by its counterparty.
    pub const REJECT_OFFER: u8 = 7;
    /// An offer withdrawn by the holder.
    pub const CANCEL_OFFER: u8 = 8;
    /// Pledge requested.
    pub const REQUEST_PLEDGE: u8 = 9;
    /// Pledged.
    pub const PLEDGE: u8 = 10;
    /// Pledge released.
    pub const RELEASE: u8 = 11;
    /// Discount requested.
    pub const REQUEST_DISCOUNT: u8 = 12;
    /// Discounted: the bank paid and holds the bill.
    pub const DISCOUNT: u8 = 13;
    /// Split (the counterparty field is empty; the amount is the first part's).
    pub const SPLIT: u8 = 14;
    /// Created by a split of the parent bill.
    pub const SPLIT_FROM: u8 = 15;
    /// Presented.
    pub const PRESENT: u8 = 16;
    /// Paid.
    pub const PAY: u8 = 17;
    /// Dishonoured.
    pub const DISHONOUR: u8 = 18;
    /// Recourse claimed against the counterparty.
    pub const CLAIM_RECOURSE: u8 = 19;
    /// Recourse paid: the payer holds the bill.
    pub const PAY_RECOURSE: u8 = 20;
}

/// `Issued(uint256 indexed id, address indexed drawer, address indexed drawee, address payee, uint256 amount, uint64 maturity, bool transferable)`.
#[event]
pub struct Issued {
    /// The bill.
    #[indexed]
    pub id: U256,
    /// Who drew it.
    #[indexed]
    pub drawer: Address,
    /// On whom.
    #[indexed]
    pub drawee: Address,
    /// To whose order.
    pub payee: Address,
    /// Face amount.
    pub amount: U256,
    /// Maturity (seconds).
    pub maturity: u64,
    /// Whether it may be endorsed.
    pub transferable: bool,
}

/// `Action(uint256 indexed id, uint8 indexed action, address indexed actor, address counterparty, uint256 amount)`:
/// one step of a bill's history.
#[event]
pub struct Action {
    /// The bill.
    #[indexed]
    pub id: U256,
    /// What happened (see `action`).
    #[indexed]
    pub action: u8,
    /// Who did it.
    #[indexed]
    pub actor: Address,
    /// The other party, if any.
    pub counterparty: Address,
    /// The money or sub-range amount involved, if any.
    pub amount: U256,
}

/// One entry of a bill's history.
#[storage]
pub struct Entry {
    action: StorageValue<u8>,
    actor: StorageValue<Address>,
    counterparty: StorageValue<Address>,
    amount: StorageValue<U256>,
    time: StorageValue<u64>,
}

/// One bill.
#[storage]
pub struct Bill {
    drawer: StorageValue<Address>,
    drawee: StorageValue<Address>,
    payee: StorageValue<Address>,
    holder: StorageValue<Address>,
    start: StorageValue<U256>,
    end: StorageValue<U256>,
    maturity: StorageValue<u64>,
    transferable: StorageValue<bool>,
    state: StorageValue<u8>,
    parent: StorageValue<U256>,
    offer: StorageValue<u8>,
    pending: StorageValue<Address>,
    rate_bps: StorageValue<u64>,
    pledgee: StorageValue<Address>,
    presented_at: StorageValue<u64>,
    /// Holders in order, the payee first.
    chain: Mapping<u64, Address>,
    chain_len: StorageValue<u64>,
    /// After recourse: only `chain[..liable_len]` are still liable to the holder (and the drawer while
    /// `drawer_liable`).
    liable_len: StorageValue<u64>,
    drawer_liable: StorageValue<bool>,
    recourse_against: StorageValue<Address>,
    history: Mapping<u64, Entry>,
    history_len: StorageValue<u64>,
}

/// The contract's storage.
#[storage]
pub struct Bills {
    cash: StorageValue<Address>,
    bills: Mapping<U256, Bill>,
    bill_count: StorageValue<u64>,
}

#[contract(events = [Issued, Action])]
impl Bills {
    /// `cash`: the ERC-20 token bills are paid and discounted in.
    #[constructor]
    pub fn init(&mut self, cash: Address) -> Result<()> {
        ensure!(!cash.is_zero(), "bills: zero cash token");
        self.cash.set(&cash);
        Ok(())
    }

    /// The cash token.
    #[message]
    pub fn cash(&self) -> Address {
        self.cash.get()
    }

    /// The caller draws a bill of `amount` on `drawee` to the order of `payee`, due at `maturity`. Returns its id.
    #[message]
    pub fn issue(
        &mut self,
        drawee: Address,
        payee: Address,
        amount: U256,
        maturity: u64,
        transferable: bool,
    ) -> Result<U256> {
        let drawer = env::caller();
        ensure!(!drawee.is_zero() && !payee.is_zero(), "bills: zero party");
        ensure!(!amount.is_zero(), "bills: zero amount");
        let now = env::block_timestamp();
        ensure!(maturity > now, "bills: maturity in the past");
        ensure!(maturity - now <= MAX_TERM, "bills: term longer than one year");
        let id = self.new_bill();
        let mut b = self.bills.at_mut(&id);
        b.drawer.set(&drawer);
        b.drawee.set(&drawee);
        b.payee.set(&payee);
        b.end.set(&amount);
        b.maturity.set(&maturity);
        b.transferable.set(&transferable);
        b.state.set(&ISSUED);
        b.drawer_liable.set(&true);
        Issued { id, drawer, drawee, payee, amount, maturity, transferable }.emit();
        self.record(id, action::ISSUE, drawer, payee, amount);
        Ok(id)
    }

    /// The drawee accepts bill `id`, becoming liable to pay it at maturity.
    #[message]
    pub fn accept(&mut self, id: U256) -> Result<()> {
        self.drawee_answers(id, ACCEPTED, action::ACCEPT)
    }

    /// The drawee refuses to accept bill `id`.
    #[message]
    pub fn refuse_acceptance(&mut self, id: U256) -> Result<()> {
        self.drawee_answers(id, REFUSED, action::REFUSE)
    }

    /// The payee takes delivery of accepted bill `id` and becomes its first holder.
    #[message]
    pub fn receive_bill(&mut self, id: U256) -> Result<()> {
        let payee = env::caller();
        let b = self.existing(id)?;
        ensure!(b.payee.get() == payee, "bills: only the payee receives");
        ensure!(b.state.get() == ACCEPTED, "bills: bill not awaiting receipt");
        let mut b = self.bills.at_mut(&id);
        b.holder.set(&payee);
        b.chain.set(&0, &payee);
        b.chain_len.set(&1);
        b.state.set(&HELD);
        self.record(id, action::RECEIVE, payee, Address::ZERO, U256::ZERO);
        Ok(())
    }

    /// The holder offers to endorse bill `id` to `to` (who must accept).
    #[message]
    pub fn request_endorsement(&mut self, id: U256, to: Address) -> Result<()> {
        self.require_offerable(id, "bills: only the holder endorses")?;
        ensure!(self.bills.at(&id).transferable.get(), "bills: bill not transferable");
        ensure!(!to.is_zero() && to != env::caller(), "bills: cannot endorse to oneself");
        self.open_offer(id, offer::ENDORSEMENT, to, 0, action::REQUEST_ENDORSEMENT)
    }

    /// The endorsee accepts the endorsement offered to it and becomes the holder.
    #[message]
    pub fn accept_endorsement(&mut self, id: U256) -> Result<()> {
        let endorsee = self.offered_to_caller(id, offer::ENDORSEMENT, "bills: no endorsement offered to the caller")?;
        let holder = self.bills.at(&id).holder.get();
        self.hand_over(id, endorsee)?;
        self.record(id, action::ENDORSE, holder, endorsee, U256::ZERO);
        Ok(())
    }

    /// The counterparty of an open endorsement, pledge or discount offer rejects it.
    #[message]
    pub fn reject_offer(&mut self, id: U256) -> Result<()> {
        let caller = env::caller();
        let b = self.existing(id)?;
        ensure!(b.offer.get() != offer::NONE && b.pending.get() == caller, "bills: no offer to the caller");
        let holder = b.holder.get();
        self.close_offer(id);
        self.record(id, action::REJECT_OFFER, caller, holder, U256::ZERO);
        Ok(())
    }

    /// The holder withdraws its open offer.
    #[message]
    pub fn cancel_offer(&mut self, id: U256) -> Result<()> {
        let caller = env::caller();
        let b = self.existing(id)?;
        ensure!(b.holder.get() == caller, "bills: only the holder withdraws an offer");
        ensure!(b.offer.get() != offer::NONE, "bills: no offer open");
        let pending = b.pending.get();
        self.close_offer(id);
        self.record(id, action::CANCEL_OFFER, caller, pending, U256::ZERO);
        Ok(())
    }

    /// The holder offers bill `id` in pledge to `bank`.
    #[message]
    pub fn request_pledge(&mut self, id: U256, bank: Address) -> Result<()> {
        self.require_offerable(id, "bills: only the holder pledges")?;
        ensure!(!bank.is_zero() && bank != env::caller(), "bills: cannot pledge to oneself");
        self.open_offer(id, offer::PLEDGE, bank, 0, action::REQUEST_PLEDGE)
    }

    /// The bank accepts the pledge offered to it.
    #[message]
    pub fn accept_pledge(&mut self, id: U256) -> Result<()> {
        let bank = self.offered_to_caller(id, offer::PLEDGE, "bills: no pledge offered to the caller")?;
        let holder = self.bills.at(&id).holder.get();
        self.close_offer(id);
        let mut b = self.bills.at_mut(&id);
        b.state.set(&PLEDGED);
        b.pledgee.set(&bank);
        self.record(id, action::PLEDGE, bank, holder, U256::ZERO);
        Ok(())
    }

    /// The pledgee releases bill `id` back to its holder's free disposal.
    #[message]
    pub fn release_pledge(&mut self, id: U256) -> Result<()> {
        let bank = env::caller();
        let b = self.existing(id)?;
        ensure!(b.state.get() == PLEDGED, "bills: bill not pledged");
        ensure!(b.pledgee.get() == bank, "bills: only the pledgee releases");
        let holder = b.holder.get();
        let mut b = self.bills.at_mut(&id);
        b.state.set(&HELD);
        b.pledgee.set(&Address::ZERO);
        self.record(id, action::RELEASE, bank, holder, U256::ZERO);
        Ok(())
    }

    /// The holder offers bill `id` to `bank` for discount at `rate_bps` a year.
    #[message]
    pub fn request_discount(&mut self, id: U256, bank: Address, rate_bps: u64) -> Result<()> {
        self.require_offerable(id, "bills: only the holder requests a discount")?;
        ensure!(self.bills.at(&id).transferable.get(), "bills: bill not transferable");
        ensure!(!bank.is_zero() && bank != env::caller(), "bills: cannot discount to oneself");
        ensure!(rate_bps < 10_000, "bills: rate out of range");
        self.open_offer(id, offer::DISCOUNT, bank, rate_bps, action::REQUEST_DISCOUNT)
    }

    /// The bank discounts the bill the holder offered it: pays face value less interest to maturity and takes the
    /// bill, in one transaction. Returns the price paid.
    #[message]
    pub fn discount(&mut self, id: U256) -> Result<U256> {
        let bank = self.offered_to_caller(id, offer::DISCOUNT, "bills: no discount requested by the holder")?;
        let b = self.bills.at(&id);
        let (holder, amount) = (b.holder.get(), b.end.get() - b.start.get());
        let seconds = b.maturity.get().saturating_sub(env::block_timestamp());
        let interest = amount
            .checked_mul(U256::from(b.rate_bps.get()))
            .and_then(|x| x.checked_mul(U256::from(seconds)))
            .ok_or("bills: amount too large")?
            / U256::from(10_000 * YEAR);
        let price = amount - interest;
        self.pay_cash(bank, holder, price)?;
        self.hand_over(id, bank)?;
        self.record(id, action::DISCOUNT, bank, holder, price);
        Ok(price)
    }

    /// The holder splits bill `id` into `[start, start + amount)` and the rest. Returns the two new bills.
    #[message]
    pub fn split(&mut self, id: U256, amount: U256) -> Result<(U256, U256)> {
        self.require_offerable(id, "bills: only the holder splits")?;
        let b = self.bills.at(&id);
        let (start, end) = (b.start.get(), b.end.get());
        ensure!(!amount.is_zero() && amount < end - start, "bills: split amount out of range");
        ensure!(env::block_timestamp() < b.maturity.get(), "bills: bill matured");
        let mid = start + amount;
        let first = self.child(id, start, mid);
        let second = self.child(id, mid, end);
        self.bills.at_mut(&id).state.set(&SPLIT);
        let holder = env::caller();
        self.record(id, action::SPLIT, holder, Address::ZERO, amount);
        Ok((first, second))
    }

    /// The holder presents bill `id` for payment, from maturity to the end of the presentment period.
    #[message]
    pub fn present(&mut self, id: U256) -> Result<()> {
        let holder = env::caller();
        let b = self.existing(id)?;
        ensure!(b.holder.get() == holder, "bills: only the holder presents");
        match b.state.get() {
            HELD => {}
            PLEDGED => return Err("bills: bill pledged".into()),
            _ => return Err("bills: bill not presentable".into()),
        }
        ensure!(b.offer.get() == offer::NONE, "bills: an offer is pending");
        let now = env::block_timestamp();
        ensure!(now >= b.maturity.get(), "bills: bill not yet due");
        ensure!(now <= b.maturity.get() + PRESENTMENT_PERIOD, "bills: presentment period over");
        let acceptor = b.drawee.get();
        let mut b = self.bills.at_mut(&id);
        b.state.set(&PRESENTED);
        b.presented_at.set(&now);
        self.record(id, action::PRESENT, holder, acceptor, U256::ZERO);
        Ok(())
    }

    /// The acceptor pays presented bill `id` in full to its holder.
    #[message]
    pub fn pay(&mut self, id: U256) -> Result<()> {
        let acceptor = env::caller();
        let b = self.existing(id)?;
        ensure!(b.drawee.get() == acceptor, "bills: only the acceptor pays");
        match b.state.get() {
            PRESENTED => {}
            PAID | SETTLED => return Err("bills: bill already paid".into()),
            _ => return Err("bills: bill not presented".into()),
        }
        let (holder, amount) = (b.holder.get(), b.end.get() - b.start.get());
        self.pay_cash(acceptor, holder, amount)?;
        self.bills.at_mut(&id).state.set(&PAID);
        self.record(id, action::PAY, acceptor, holder, amount);
        Ok(())
    }

    /// The acceptor refuses payment of presented bill `id`; or, once the response window has passed unpaid, the
    /// holder records the dishonour.
    #[message]
    pub fn dishonour(&mut self, id: U256) -> Result<()> {
        let caller = env::caller();
        let b = self.existing(id)?;
        ensure!(b.state.get() == PRESENTED, "bills: bill not presented");
        let by_acceptor = caller == b.drawee.get();
        let window_passed = env::block_timestamp() > b.presented_at.get() + RESPONSE_PERIOD;
        ensure!(by_acceptor || (caller == b.holder.get() && window_passed), "bills: only the acceptor dishonours");
        let holder = b.holder.get();
        self.bills.at_mut(&id).state.set(&DISHONOURED);
        self.record(id, action::DISHONOUR, caller, holder, U256::ZERO);
        Ok(())
    }

    /// The holder of dishonoured bill `id` claims payment from `party`, who must be liable to it: the acceptor,
    /// the drawer, or an endorser before it.
    #[message]
    pub fn claim_recourse(&mut self, id: U256, party: Address) -> Result<()> {
        let holder = env::caller();
        let b = self.existing(id)?;
        ensure!(b.holder.get() == holder, "bills: only the holder claims recourse");
        ensure!(b.state.get() == DISHONOURED, "bills: bill not dishonoured");
        ensure!(party != holder, "bills: cannot claim against oneself");
        ensure!(self.is_liable(id, party), "bills: party not liable to the holder");
        self.bills.at_mut(&id).recourse_against.set(&party);
        self.record(id, action::CLAIM_RECOURSE, holder, party, U256::ZERO);
        Ok(())
    }

    /// The party recourse was claimed against pays the holder in full and takes the bill over (the acceptor's
    /// payment settles it).
    #[message]
    pub fn pay_recourse(&mut self, id: U256) -> Result<()> {
        let payer = env::caller();
        let b = self.existing(id)?;
        ensure!(b.state.get() == DISHONOURED, "bills: bill not dishonoured");
        ensure!(b.recourse_against.get() == payer, "bills: no recourse claimed against the caller");
        let (holder, amount, acceptor, drawer) =
            (b.holder.get(), b.end.get() - b.start.get(), b.drawee.get(), b.drawer.get());
        // Where the payer stands in the chain, before the liability cut is moved.
        let position = (0..b.liable_len.get()).rev().find(|i| b.chain.get(i) == payer);
        self.pay_cash(payer, holder, amount)?;
        let mut b = self.bills.at_mut(&id);
        b.recourse_against.set(&Address::ZERO);
        b.holder.set(&payer);
        if payer == acceptor {
            b.state.set(&SETTLED);
        } else if let Some(i) = position {
            b.liable_len.set(&i);
        } else if payer == drawer {
            b.liable_len.set(&0);
            b.drawer_liable.set(&false);
        }
        self.record(id, action::PAY_RECOURSE, payer, holder, amount);
        Ok(())
    }

    /// `(drawer, drawee, payee, holder, start, end, maturity, transferable, state, parent)`.
    #[message]
    pub fn bill(&self, id: U256) -> (Address, Address, Address, Address, U256, U256, u64, bool, u8, U256) {
        let b = self.bills.at(&id);
        (
            b.drawer.get(),
            b.drawee.get(),
            b.payee.get(),
            b.holder.get(),
            b.start.get(),
            b.end.get(),
            b.maturity.get(),
            b.transferable.get(),
            b.state.get(),
            b.parent.get(),
        )
    }

    /// `(offer, counterparty, rateBps, pledgee, recourseAgainst)`: what is open on bill `id`.
    #[message]
    pub fn pending(&self, id: U256) -> (u8, Address, u64, Address, Address) {
        let b = self.bills.at(&id);
        (b.offer.get(), b.pending.get(), b.rate_bps.get(), b.pledgee.get(), b.recourse_against.get())
    }

    /// The holders of bill `id` in order (the payee first), endorsements and discounts included.
    #[message]
    pub fn chain(&self, id: U256) -> Vec<Address> {
        let b = self.bills.at(&id);
        (0..b.chain_len.get()).map(|i| b.chain.get(&i)).collect()
    }

    /// Whether `party` is liable to the holder of bill `id` on recourse.
    #[message]
    pub fn liable(&self, id: U256, party: Address) -> bool {
        party != self.bills.at(&id).holder.get() && self.is_liable(id, party)
    }

    /// Bill `id`'s history: `(action, actor, counterparty, amount, time)` per step (see `action`); a bill made by a
    /// split starts with `SPLIT_FROM` (counterparty: zero, amount: the parent's id), so its earlier history is its
    /// parent's.
    #[message]
    pub fn history(&self, id: U256) -> Vec<(u8, Address, Address, U256, u64)> {
        let b = self.bills.at(&id);
        (0..b.history_len.get())
            .map(|i| {
                let e = b.history.at(&i);
                (e.action.get(), e.actor.get(), e.counterparty.get(), e.amount.get(), e.time.get())
            })
            .collect()
    }

    // ---- internals ----

    fn new_bill(&mut self) -> U256 {
        let n = self.bill_count.get() + 1;
        self.bill_count.set(&n);
        U256::from(n)
    }

    /// The bill, or an error if it was never issued.
    fn existing(&self, id: U256) -> Result<accord_contract::storage::Nested<'_, Bill>> {
        let b = self.bills.at(&id);
        ensure!(b.state.get() != 0, "bills: unknown bill");
        Ok(b)
    }

    fn drawee_answers(&mut self, id: U256, to: u8, what: u8) -> Result<()> {
        let drawee = env::caller();
        let b = self.existing(id)?;
        ensure!(b.drawee.get() == drawee, "bills: only the drawee answers");
        ensure!(b.state.get() == ISSUED, "bills: bill not awaiting acceptance");
        ensure!(env::block_timestamp() < b.maturity.get(), "bills: bill matured");
        let drawer = b.drawer.get();
        self.bills.at_mut(&id).state.set(&to);
        self.record(id, what, drawee, drawer, U256::ZERO);
        Ok(())
    }

    /// Refuses unless the caller holds bill `id` freely: received, not pledged, no open offer, not dishonoured or
    /// closed, within the presentment period.
    fn require_offerable(&self, id: U256, not_holder: &'static str) -> Result<()> {
        let b = self.existing(id)?;
        match b.state.get() {
            ISSUED | REFUSED => return Err("bills: bill not accepted".into()),
            ACCEPTED => return Err("bills: bill not yet received by the payee".into()),
            _ => {}
        }
        ensure!(b.holder.get() == env::caller(), not_holder);
        match b.state.get() {
            HELD => {}
            PLEDGED => return Err("bills: bill pledged".into()),
            DISHONOURED => return Err("bills: bill dishonoured".into()),
            PRESENTED => return Err("bills: bill presented".into()),
            SPLIT => return Err("bills: bill split".into()),
            _ => return Err("bills: bill closed".into()),
        }
        ensure!(b.offer.get() == offer::NONE, "bills: an offer is pending");
        ensure!(env::block_timestamp() <= b.maturity.get() + PRESENTMENT_PERIOD, "bills: presentment period over");
        Ok(())
    }

    fn open_offer(&mut self, id: U256, kind: u8, to: Address, rate_bps: u64, what: u8) -> Result<()> {
        let mut b = self.bills.at_mut(&id);
        b.offer.set(&kind);
        b.pending.set(&to);
        b.rate_bps.set(&rate_bps);
        self.record(id, what, env::caller(), to, U256::from(rate_bps));
        Ok(())
    }

    /// The caller, if an offer of `kind` on bill `id` is open to it.
    fn offered_to_caller(&self, id: U256, kind: u8, otherwise: &'static str) -> Result<Address> {
        let caller = env::caller();
        let b = self.existing(id)?;
        ensure!(b.offer.get() == kind && b.pending.get() == caller && b.state.get() == HELD, otherwise);
        Ok(caller)
    }

    fn close_offer(&mut self, id: U256) {
        let mut b = self.bills.at_mut(&id);
        b.offer.set(&offer::NONE);
        b.pending.set(&Address::ZERO);
        b.rate_bps.set(&0);
    }

    /// Makes `to` the holder (by endorsement or discount), appending it to the chain.
    fn hand_over(&mut self, id: U256, to: Address) -> Result<()> {
        self.close_offer(id);
        let mut b = self.bills.at_mut(&id);
        let n = b.chain_len.get();
        ensure!(n < MAX_CHAIN, "bills: endorsement chain full");
        b.chain.set(&n, &to);
        b.chain_len.set(&(n + 1));
        b.liable_len.set(&n);
        b.holder.set(&to);
        Ok(())
    }

    /// A new bill over `[start, end)` of `parent`, with its parties, maturity and chain.
    fn child(&mut self, parent: U256, start: U256, end: U256) -> U256 {
        let id = self.new_bill();
        let p = self.bills.at(&parent);
        let (drawer, drawee, payee, holder) = (p.drawer.get(), p.drawee.get(), p.payee.get(), p.holder.get());
        let (maturity, transferable, len, liable) =
            (p.maturity.get(), p.transferable.get(), p.chain_len.get(), p.liable_len.get());
        let chain: Vec<Address> = (0..len).map(|i| p.chain.get(&i)).collect();
        let mut b = self.bills.at_mut(&id);
        b.drawer.set(&drawer);
        b.drawee.set(&drawee);
        b.payee.set(&payee);
        b.holder.set(&holder);
        b.start.set(&start);
        b.end.set(&end);
        b.maturity.set(&maturity);
        b.transferable.set(&transferable);
        b.state.set(&HELD);
        b.parent.set(&parent);
        b.drawer_liable.set(&true);
        for (i, who) in chain.iter().enumerate() {
            b.chain.set(&(i as u64), who);
        }
        b.chain_len.set(&len);
        b.liable_len.set(&liable);
        self.record(id, action::SPLIT_FROM, holder, Address::ZERO, parent);
        id
    }

    fn is_liable(&self, id: U256, party: Address) -> bool {
        let b = self.bills.at(&id);
        party == b.drawee.get()
            || (b.drawer_liable.get() && party == b.drawer.get())
            || (0..b.liable_len.get()).any(|i| b.chain.get(&i) == party)
    }

    /// Appends a history entry and emits `Action`.
    fn record(&mut self, id: U256, what: u8, actor: Address, counterparty: Address, amount: U256) {
        let mut b = self.bills.at_mut(&id);
        let n = b.history_len.get();
        b.history_len.set(&(n + 1));
        let mut e = b.history.at_mut(&n);
        e.action.set(&what);
        e.actor.set(&actor);
        e.counterparty.set(&counterparty);
        e.amount.set(&amount);
        e.time.set(&env::block_timestamp());
        Action { id, action: what, actor, counterparty, amount }.emit();
    }

    /// Pays `amount` cash from `from` to `to` with the token's `transferFrom` (this contract must be approved).
    fn pay_cash(&self, from: Address, to: Address, amount: U256) -> Result<()> {
        let moved = accord_contract::erc20::transfer_from(&self.cash.get(), from, to, amount);
        ensure!(moved, "bills: cash payment failed (balance or allowance)");
        Ok(())
    }
}

#[cfg(test)]
mod tests;
