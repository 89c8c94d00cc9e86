//! How governed state is kept in the system accounts' storage, and how a change waits for its height.
//!
//! A proposal executed in block `h` takes effect from block `h + 1`. Nothing moves values at a block boundary:
//! each record keeps the value in force, the height it took effect, and at most one scheduled value with its
//! height; a reader asks for the value at its height. Both the node (execution, pool, consensus, RPC) and clients
//! decode the same bytes with these types.

use alloy_primitives::{Address, B256, Bytes, keccak256};
use alloy_rlp::{Decodable, RlpDecodable, RlpEncodable};

use super::action::{Action, Policy};
use super::{Ballot, ProposalStatus};

/// A record with the value in force and at most one scheduled change.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Scheduled {
    /// Height from which `current` is in force (0 for genesis values).
    pub since: u64,
    /// The value in force.
    pub current: Bytes,
    /// Height from which `next` is in force; 0 when nothing is scheduled.
    pub next_at: u64,
    /// The scheduled value.
    pub next: Bytes,
}

impl Scheduled {
    /// A value in force since `since`, nothing scheduled.
    pub fn new(since: u64, value: Vec<u8>) -> Self {
        Self { since, current: value.into(), next_at: 0, next: Bytes::new() }
    }

    /// The value in force at `height`, and the height it took effect.
    pub fn at(&self, height: u64) -> (&[u8], u64) {
        if self.next_at != 0 && height >= self.next_at {
            (&self.next, self.next_at)
        } else {
            (&self.current, self.since)
        }
    }

    /// The value that will be in force once everything scheduled has taken effect: what a new change builds on.
    pub fn latest(&self) -> &[u8] {
        if self.next_at != 0 { &self.next } else { &self.current }
    }

    /// Schedules `value` from `height + 1` (a change made in the block at `height`).
    pub fn schedule(&self, height: u64, value: Vec<u8>) -> Self {
        let (current, since) = self.at(height);
        Self { since, current: current.to_vec().into(), next_at: height + 1, next: value.into() }
    }

    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        alloy_rlp::encode(self)
    }

    /// Reads [`Self::encode`]'s bytes.
    pub fn decode(mut bytes: &[u8]) -> Option<Self> {
        let s = Self::decode_rlp(&mut bytes)?;
        bytes.is_empty().then_some(s)
    }

    fn decode_rlp(bytes: &mut &[u8]) -> Option<Self> {
        <Self as Decodable>::decode(bytes).ok()
    }
}

/// The committee's system contract: the committee and the proposals.
pub const COMMITTEE_ADDRESS: Address = system_address(0x1000);
/// The system config contract: compatibility version, chain parameters, send and deploy policies.
pub const SYSTEM_CONFIG_ADDRESS: Address = system_address(0x1001);
/// The node management contract: validators and observers.
pub const NODES_ADDRESS: Address = system_address(0x1002);
/// The account status contract: per-account status and send/deploy rights.
pub const ACCOUNTS_ADDRESS: Address = system_address(0x1003);
/// The contract admin contract: each contract's admin, and what the admin decides (status, per-method access).
pub const CONTRACT_ADMIN_ADDRESS: Address = system_address(0x1004);

/// The address `0x…<n>` of a system contract.
pub const fn system_address(n: u16) -> Address {
    let mut a = [0u8; 20];
    let be = n.to_be_bytes();
    a[18] = be[0];
    a[19] = be[1];
    Address::new(a)
}

/// Tag of the committee's record (a [`Scheduled`] committee) in the committee account.
pub const COMMITTEE_TAG: &[u8] = b"committee";
/// Tag of the system config record (a [`Scheduled`] [`SystemConfig`]) in the system config account.
pub const CONFIG_TAG: &[u8] = b"config";
/// Tag of the node list record (a [`Scheduled`] [`NodeLists`]) in the node management account.
pub const NODES_TAG: &[u8] = b"nodes";

/// Storage slots holding a record (any byte string) under `tag` in a system account: the length in the slot
/// `keccak(tag)`, the bytes in 32-byte chunks at `keccak(tag ‖ i)` (big-endian `i`, the last chunk zero-padded).
/// Governed state lives in world state this way, so the state root covers it and `accord_getProof` proves it.
pub fn record_slots(tag: &[u8], bytes: &[u8]) -> Vec<(B256, B256)> {
    let mut out = vec![(keccak256(tag), B256::from(alloy_primitives::U256::from(bytes.len())))];
    for (i, chunk) in bytes.chunks(32).enumerate() {
        let mut word = [0u8; 32];
        word[..chunk.len()].copy_from_slice(chunk);
        out.push((record_chunk_slot(tag, i as u64), B256::from(word)));
    }
    out
}

/// The slot of chunk `i` of the record under `tag`.
pub fn record_chunk_slot(tag: &[u8], i: u64) -> B256 {
    keccak256([tag, &i.to_be_bytes()[..]].concat())
}

/// The slot holding the length of the record under `tag`.
pub fn record_length_slot(tag: &[u8]) -> B256 {
    keccak256(tag)
}

/// Tag of proposal `id`'s record in the committee account.
pub fn proposal_tag(id: u64) -> Vec<u8> {
    [&b"proposal"[..], &id.to_be_bytes()].concat()
}

/// Slot of the committee account holding the number of proposals made (the last id).
pub fn proposal_count_slot() -> B256 {
    keccak256(b"proposals")
}

/// Slot of the committee account holding the id of the open proposal on `target` (0: none).
pub fn open_proposal_slot(target: &str) -> B256 {
    keccak256([&b"open "[..], target.as_bytes()].concat())
}

/// The chain-wide settings governance changes, kept in the system config account.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct SystemConfig {
    /// Compatibility version: every behaviour change is gated on it, and it is every header's `version`.
    pub version: u64,
    /// Gas limit of every block.
    pub block_gas_limit: u64,
    /// Most transactions in one block.
    pub max_block_transactions: u64,
    /// Largest accepted transaction encoding in bytes.
    pub max_tx_bytes: u64,
    /// Largest linear memory one contract call may use, in bytes.
    pub max_contract_memory_bytes: u64,
    /// PBFT's first-view timeout in ms; 0 until governance sets one (each node's `consensus.timeout_ms` holds).
    pub consensus_timeout_ms: u64,
    /// Who may deploy contracts ([`Policy::code`]).
    pub deploy_policy: u8,
    /// Who may send transactions ([`Policy::code`]).
    pub send_policy: u8,
}

impl SystemConfig {
    /// The value of `param`.
    pub fn get(&self, param: super::Param) -> u64 {
        match param {
            super::Param::BlockGasLimit => self.block_gas_limit,
            super::Param::MaxBlockTransactions => self.max_block_transactions,
            super::Param::MaxTxBytes => self.max_tx_bytes,
            super::Param::MaxContractMemoryBytes => self.max_contract_memory_bytes,
            super::Param::ConsensusTimeoutMs => self.consensus_timeout_ms,
        }
    }

    /// Sets `param` to `value` (the range is the caller's to check: [`super::Param::range`]).
    pub fn set(&mut self, param: super::Param, value: u64) {
        let field = match param {
            super::Param::BlockGasLimit => &mut self.block_gas_limit,
            super::Param::MaxBlockTransactions => &mut self.max_block_transactions,
            super::Param::MaxTxBytes => &mut self.max_tx_bytes,
            super::Param::MaxContractMemoryBytes => &mut self.max_contract_memory_bytes,
            super::Param::ConsensusTimeoutMs => &mut self.consensus_timeout_ms,
        };
        *field = value;
    }

    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        alloy_rlp::encode(self)
    }

    /// Reads [`Self::encode`]'s bytes.
    pub fn decode(mut bytes: &[u8]) -> Option<Self> {
        let c = <Self as Decodable>::decode(&mut bytes).ok()?;
        (bytes.is_empty() && Policy::from_code(c.deploy_policy).is_some() && Policy::from_code(c.send_policy).is_some())
            .then_some(c)
    }

    /// The deploy policy.
    pub fn deploy(&self) -> Policy {
        Policy::from_code(self.deploy_policy).unwrap_or(Policy::Open)
    }

    /// The send policy.
    pub fn send(&self) -> Policy {
        Policy::from_code(self.send_policy).unwrap_or(Policy::Open)
    }
}

/// Most validators a set may hold: every consensus message and the network's bound on it are sized from the set,
/// so governance cannot grow it past what the network was built to carry.
pub const MAX_VALIDATORS: usize = 64;

/// The consortium's nodes by node address, each with the height its role took effect: validators (in
/// leader-rotation order) and observers.
#[derive(Debug, Clone, PartialEq, Eq, Default, RlpEncodable, RlpDecodable)]
pub struct NodeLists {
    /// Validators.
    pub validators: Vec<NodeEntry>,
    /// Observers.
    pub observers: Vec<NodeEntry>,
}

/// One node and the height from which it holds its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct NodeEntry {
    /// Node address (from its node key; `accord status` prints it as `nodeAddress`).
    pub address: Address,
    /// First height at which it holds the role.
    pub since: u64,
}

impl NodeLists {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        alloy_rlp::encode(self)
    }

    /// Reads [`Self::encode`]'s bytes.
    pub fn decode(mut bytes: &[u8]) -> Option<Self> {
        let n = <Self as Decodable>::decode(&mut bytes).ok()?;
        bytes.is_empty().then_some(n)
    }

    /// True when `a` is a validator.
    pub fn is_validator(&self, a: &Address) -> bool {
        self.validators.iter().any(|n| n.address == *a)
    }

    /// True when `a` is an observer.
    pub fn is_observer(&self, a: &Address) -> bool {
        self.observers.iter().any(|n| n.address == *a)
    }
}

/// An account's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AccountStatus {
    /// May send, and (a contract) be called.
    Normal,
    /// May neither send nor be called, until unfrozen.
    Frozen,
    /// Frozen for good.
    Abolished,
}

impl AccountStatus {
    /// The status named `word` (`normal`, `frozen`, `abolished`).
    pub fn from_word(word: &str) -> Option<Self> {
        [Self::Normal, Self::Frozen, Self::Abolished].into_iter().find(|s| s.word() == word)
    }

    /// The word the contracts and RPC use.
    pub fn word(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Frozen => "frozen",
            Self::Abolished => "abolished",
        }
    }
}

/// An account's status and rights, one storage word per account in the account status contract (slot
/// [`account_slot`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountRights(u8);

impl AccountRights {
    const STATUS: u8 = 0b11;
    const SEND: u8 = 1 << 2;
    const DEPLOY: u8 = 1 << 3;
    const NO_DEPLOY: u8 = 1 << 4;

    /// Its status.
    pub fn status(self) -> AccountStatus {
        match self.0 & Self::STATUS {
            0 => AccountStatus::Normal,
            1 => AccountStatus::Frozen,
            _ => AccountStatus::Abolished,
        }
    }

    /// With `status`.
    pub fn with_status(self, status: AccountStatus) -> Self {
        let code = match status {
            AccountStatus::Normal => 0,
            AccountStatus::Frozen => 1,
            AccountStatus::Abolished => 2,
        };
        Self((self.0 & !Self::STATUS) | code)
    }

    /// Granted the right to send (what the allowlist send policy asks).
    pub fn send_granted(self) -> bool {
        self.0 & Self::SEND != 0
    }

    /// Granted the right to deploy (what the allowlist deploy policy asks).
    pub fn deploy_granted(self) -> bool {
        self.0 & Self::DEPLOY != 0
    }

    /// Banned from deploying (what the denylist deploy policy asks).
    pub fn deploy_revoked(self) -> bool {
        self.0 & Self::NO_DEPLOY != 0
    }

    /// With the send right granted or taken.
    pub fn with_send(self, granted: bool) -> Self {
        Self(if granted { self.0 | Self::SEND } else { self.0 & !Self::SEND })
    }

    /// With the deploy right granted (lifting a ban) or revoked (taking a grant, setting a ban).
    pub fn with_deploy(self, granted: bool) -> Self {
        if granted {
            Self((self.0 | Self::DEPLOY) & !Self::NO_DEPLOY)
        } else {
            Self((self.0 | Self::NO_DEPLOY) & !Self::DEPLOY)
        }
    }

    /// May deploy under `policy`.
    pub fn may_deploy(self, policy: Policy) -> bool {
        match policy {
            Policy::Open => true,
            Policy::Allowlist => self.deploy_granted(),
            Policy::Denylist => !self.deploy_revoked(),
        }
    }

    /// May send under `policy` (governors always may: see [`crate::governance`]).
    pub fn may_send(self, policy: Policy) -> bool {
        policy == Policy::Open || self.send_granted()
    }
}

/// The storage slot of `account`'s rights in the account status contract.
pub fn account_slot(account: Address) -> B256 {
    keccak256(account)
}

/// An account's rights word: the rights in force before and from a height (`[0..8]` the height, big-endian;
/// `[8]` before; `[9]` from it). An unset slot is an account with no rights set, normal status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RightsWord {
    /// Height from which `now` is in force.
    pub since: u64,
    /// In force before `since`.
    pub before: AccountRights,
    /// In force from `since`.
    pub now: AccountRights,
}

impl RightsWord {
    /// Reads a storage word.
    pub fn from_word(w: B256) -> Self {
        let mut h = [0u8; 8];
        h.copy_from_slice(&w[..8]);
        Self { since: u64::from_be_bytes(h), before: AccountRights(w[8]), now: AccountRights(w[9]) }
    }

    /// The storage word.
    pub fn to_word(self) -> B256 {
        let mut w = [0u8; 32];
        w[..8].copy_from_slice(&self.since.to_be_bytes());
        w[8] = self.before.0;
        w[9] = self.now.0;
        B256::from(w)
    }

    /// The rights in force at `height`, and the height they took effect.
    pub fn at(self, height: u64) -> (AccountRights, u64) {
        if height >= self.since { (self.now, self.since) } else { (self.before, 0) }
    }

    /// Changes the latest rights with `f` in the block at `height`, effective from `height + 1`.
    pub fn schedule(self, height: u64, f: impl FnOnce(AccountRights) -> AccountRights) -> Self {
        Self { since: height + 1, before: self.at(height).0, now: f(self.now) }
    }
}

/// A byte that changes at a height: the same word layout as [`RightsWord`] (`[0..8]` the height, `[8]` before it,
/// `[9]` from it), for what a contract's admin decides: its status (0 normal, 1 frozen, 2 abolished), a method's
/// access mode ([`Policy::code`]), whether a caller is on a method's list (0 or 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ByteWord {
    /// Height from which `now` is in force.
    pub since: u64,
    /// In force before `since`.
    pub before: u8,
    /// In force from `since`.
    pub now: u8,
}

impl ByteWord {
    /// Reads a storage word.
    pub fn from_word(w: B256) -> Self {
        let r = RightsWord::from_word(w);
        Self { since: r.since, before: r.before.0, now: r.now.0 }
    }

    /// The storage word.
    pub fn to_word(self) -> B256 {
        RightsWord { since: self.since, before: AccountRights(self.before), now: AccountRights(self.now) }.to_word()
    }

    /// The value at `height`.
    pub fn at(self, height: u64) -> u8 {
        if height >= self.since { self.now } else { self.before }
    }

    /// Sets the latest value to `value` in the block at `height`, from `height + 1`.
    pub fn schedule(self, height: u64, value: u8) -> Self {
        Self { since: height + 1, before: self.at(height), now: value }
    }
}

/// A contract's admin, kept in two words of the contract admin contract: `[0..8]` the height from which `now` is
/// admin and `[12..32]` `now` in [`admin_slot`]; the admin before in [`admin_before_slot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AdminRecord {
    /// Height from which `now` is the admin.
    pub since: u64,
    /// Admin before `since`.
    pub before: Address,
    /// Admin from `since`.
    pub now: Address,
}

impl AdminRecord {
    /// Reads the two words.
    pub fn from_words(current: B256, before: B256) -> Self {
        let mut h = [0u8; 8];
        h.copy_from_slice(&current[..8]);
        Self {
            since: u64::from_be_bytes(h),
            now: Address::from_slice(&current[12..]),
            before: Address::from_slice(&before[12..]),
        }
    }

    /// The two words (for [`admin_slot`] and [`admin_before_slot`]).
    pub fn to_words(self) -> (B256, B256) {
        let mut w = [0u8; 32];
        w[..8].copy_from_slice(&self.since.to_be_bytes());
        w[12..].copy_from_slice(self.now.as_slice());
        (B256::from(w), self.before.into_word())
    }

    /// The admin at `height` (zero: none).
    pub fn at(self, height: u64) -> Address {
        if height >= self.since { self.now } else { self.before }
    }

    /// Makes `admin` the admin from `height + 1`.
    pub fn schedule(self, height: u64, admin: Address) -> Self {
        Self { since: height + 1, before: self.at(height), now: admin }
    }
}

/// Slot of a contract's admin (with the height it took over).
pub fn admin_slot(contract: Address) -> B256 {
    keccak256([&b"admin"[..], contract.as_slice()].concat())
}

/// Slot of a contract's previous admin.
pub fn admin_before_slot(contract: Address) -> B256 {
    keccak256([&b"admin before"[..], contract.as_slice()].concat())
}

/// Slot of the status a contract's admin set ([`ByteWord`]).
pub fn contract_status_slot(contract: Address) -> B256 {
    keccak256([&b"status"[..], contract.as_slice()].concat())
}

/// Slot of a method's access mode ([`ByteWord`] of a [`Policy::code`]).
pub fn method_slot(contract: Address, selector: [u8; 4]) -> B256 {
    keccak256([&b"method"[..], contract.as_slice(), &selector].concat())
}

/// Slot saying whether `caller` is on a method's list ([`ByteWord`], 1 listed).
pub fn method_caller_slot(contract: Address, selector: [u8; 4], caller: Address) -> B256 {
    keccak256([&b"caller"[..], contract.as_slice(), &selector, caller.as_slice()].concat())
}

/// The status with code `c` (0 normal, 1 frozen, 2 abolished).
pub fn status_of_code(c: u8) -> AccountStatus {
    AccountRights(c & AccountRights::STATUS).status()
}

/// The code of `status`.
pub fn code_of_status(status: AccountStatus) -> u8 {
    AccountRights::default().with_status(status).0
}

/// A proposal as kept in the committee account (under [`proposal_tag`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// Votes and status.
    pub ballot: Ballot,
    /// What it does if it passes.
    pub action: Action,
}

#[derive(RlpEncodable, RlpDecodable)]
struct ProposalRecord {
    id: u64,
    proposer: Address,
    created: u64,
    expires: u64,
    status: u8,
    votes: Vec<VoteRecord>,
    kind: String,
    args: Vec<String>,
}

#[derive(RlpEncodable, RlpDecodable)]
struct VoteRecord {
    voter: Address,
    agree: bool,
}

const STATUSES: [ProposalStatus; 5] = [
    ProposalStatus::Open,
    ProposalStatus::Passed,
    ProposalStatus::Denied,
    ProposalStatus::Revoked,
    ProposalStatus::Expired,
];

impl Proposal {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        let b = &self.ballot;
        alloy_rlp::encode(ProposalRecord {
            id: b.id,
            proposer: b.proposer,
            created: b.created,
            expires: b.expires,
            status: STATUSES.iter().position(|s| *s == b.status).unwrap_or(0) as u8,
            votes: b.votes.iter().map(|(voter, agree)| VoteRecord { voter: *voter, agree: *agree }).collect(),
            kind: self.action.kind().to_string(),
            args: self.action.args(),
        })
    }

    /// Reads [`Self::encode`]'s bytes.
    pub fn decode(mut bytes: &[u8]) -> Option<Self> {
        let r = ProposalRecord::decode(&mut bytes).ok()?;
        if !bytes.is_empty() {
            return None;
        }
        Some(Self {
            ballot: Ballot {
                id: r.id,
                proposer: r.proposer,
                created: r.created,
                expires: r.expires,
                votes: r.votes.into_iter().map(|v| (v.voter, v.agree)).collect(),
                status: *STATUSES.get(usize::from(r.status))?,
            },
            action: Action::parse(&r.kind, &r.args).ok()?,
        })
    }

    /// Its status as seen by a reader at `height`: an open proposal past its lifetime reads as expired (it can no
    /// longer be voted on or executed) even before a vote marks it so.
    pub fn status_at(&self, height: u64) -> ProposalStatus {
        if self.ballot.status == ProposalStatus::Open && height >= self.ballot.expires {
            ProposalStatus::Expired
        } else {
            self.ballot.status
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheduled_value_takes_effect_at_its_height_and_a_second_change_builds_on_it() {
        let r = Scheduled::new(0, b"a".to_vec());
        let r = r.schedule(5, b"b".to_vec());
        assert_eq!(r.at(5), (&b"a"[..], 0), "not in the block that made the change");
        assert_eq!(r.at(6), (&b"b"[..], 6), "from the next block");
        // Two changes in one block: the second sees the first as its base and replaces it.
        let r2 = r.schedule(5, [r.latest(), b"c"].concat());
        assert_eq!((r2.at(5).0, r2.at(6).0), (&b"a"[..], &b"bc"[..]));
        // A later change moves the value in force along.
        let r3 = r.schedule(9, b"d".to_vec());
        assert_eq!((r3.at(9), r3.at(10)), ((&b"b"[..], 6), (&b"d"[..], 10)));
        assert_eq!(Scheduled::decode(&r3.encode()), Some(r3));
    }

    #[test]
    fn account_rights_round_trip_their_word_and_change_at_the_next_height() {
        let w = RightsWord::default();
        assert_eq!(w.at(0).0.status(), AccountStatus::Normal);
        let w = w.schedule(7, |r| r.with_status(AccountStatus::Frozen).with_send(true));
        assert_eq!(RightsWord::from_word(w.to_word()), w);
        assert_eq!(w.at(7).0.status(), AccountStatus::Normal);
        assert_eq!(w.at(8).0.status(), AccountStatus::Frozen);
        assert!(w.at(8).0.send_granted());
        let d = AccountRights::default().with_deploy(false);
        assert!(!d.may_deploy(Policy::Denylist) && !d.may_deploy(Policy::Allowlist) && d.may_deploy(Policy::Open));
        let g = d.with_deploy(true);
        assert!(g.may_deploy(Policy::Denylist) && g.may_deploy(Policy::Allowlist));
        assert!(!AccountRights::default().may_send(Policy::Allowlist));
    }

    #[test]
    fn proposals_round_trip_and_expire_for_readers() {
        let c = super::super::Committee {
            governors: [(Address::repeat_byte(1), 1), (Address::repeat_byte(2), 1)].into_iter().collect(),
            participation_pct: 100,
            win_pct: 50,
            lifetime_blocks: 10,
        };
        let ballot = Ballot::open(&c, 4, Address::repeat_byte(1), 3).expect("opens");
        let p = Proposal { ballot, action: Action::SetVersion(2) };
        assert_eq!(Proposal::decode(&p.encode()), Some(p.clone()));
        assert_eq!((p.status_at(12), p.status_at(13)), (ProposalStatus::Open, ProposalStatus::Expired));
    }
}
