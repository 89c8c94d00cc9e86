//! `PbftState`: one validator's PBFT state machine for a sequence of heights.
//!
//! Events in, actions out; no clock, no I/O, no randomness. The driver (the node, or the simulator) executes the
//! actions in order. `Action::Persist` must be durable before any later action of the same batch is carried out:
//! it records every vote before the vote leaves, so a restarted validator never signs two different blocks for
//! one (height, view).
//!
//! The protocol per height: the leader of (height, view) proposes; validators that validate the block prepare;
//! 2f+1 prepares make a validator *prepared* and it commits; 2f+1 commits decide the block. On timeout a validator
//! moves to the next view and sends a view change carrying its highest prepared certificate. The new leader
//! gathers 2f+1 view changes and must re-propose the block of the highest prepared certificate among them (QBFT's
//! round-change rule), so a block that may have been decided is never replaced. A validator follows others to a
//! higher view only when f+1 of them are there, so a single faulty peer claiming a huge view drags nobody.
//!
//! Messages reach the machine in two steps: [`PbftState::admit`] screens them cheaply against the current height
//! and view, then verifies signatures and certificates (`crate::verify`), and only the resulting
//! [`Verified`] message can be handled. The modules split the jobs: this one the round logic, `votes` the vote
//! keeping with equivocation evidence, `view_change` the view changes and new-view proposals, `future` the
//! verified next-height buffer.

mod future;
mod view_change;
mod votes;

use std::collections::BTreeMap;

use crate::types::*;
use crate::verify::{Rejection, Verified, Verifier};
use future::FutureBuffer;
pub use votes::Equivocation;
use votes::ViewVotes;

/// Signs and verifies protocol messages. The node implements it with the validators' secp256k1 keys.
pub trait MessageCrypto {
    /// Signs `bytes` with this validator's key.
    fn sign(&self, bytes: &[u8]) -> Vec<u8>;
    /// True when `signature` over `bytes` is by `signer`, an index into the validator set that certifies `height`
    /// (governance changes the set between heights, so the same index can name different validators). For the
    /// height after the one being decided, whose set the node may not know yet, the latest set it knows will do:
    /// such messages are verified again when that height starts with a new set.
    fn verify(&self, height: Height, signer: NodeIndex, bytes: &[u8], signature: &[u8]) -> bool;
    /// True when `payload` is the block identified by `block` (signatures cover only the id, so fetched bytes must
    /// be bound to it before anyone re-proposes them).
    fn payload_matches(&self, block: &BlockId, payload: &[u8]) -> bool;
}

/// Who validates one height, as this node sees it: the size of that height's validator set and this node's index
/// in it, if it is one. Governance changes the set between heights; the node names the set of each height as it
/// starts it ([`PbftState::new`], [`Event::Committed`]). A node that is no validator at a height only follows: it
/// votes, times out and proposes nothing there, and keeps next-height messages in case it validates the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    /// Validators at the height (at least 1).
    pub n: usize,
    /// This node's index among them, if it is one.
    pub me: Option<NodeIndex>,
}

/// Timing and bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PbftConfig {
    /// Timeout of view 0, in the driver's time unit (milliseconds in the node).
    pub base_timeout: u64,
    /// Upper bound of the exponentially growing timeout.
    pub max_timeout: u64,
    /// Messages for views further ahead than this are dropped unread.
    pub max_view_ahead: u64,
}

impl Default for PbftConfig {
    fn default() -> Self {
        Self { base_timeout: 1_000, max_timeout: 60_000, max_view_ahead: 64 }
    }
}

/// What a validator must remember across a crash to stay safe. Blocks appear by id only: the bytes are stored once
/// by the driver, never copied into every vote record.
#[derive(Debug, Clone, PartialEq, Eq, Default, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct SafetyRecord {
    /// Height being decided.
    pub height: Height,
    /// Highest view entered at that height.
    pub view: View,
    /// Block proposed by this validator in `view`.
    pub proposed: Option<BlockId>,
    /// Block prepared (voted) by this validator in `view`.
    pub prepared_vote: Option<BlockId>,
    /// Block committed (voted) by this validator in `view`.
    pub commit_vote: Option<BlockId>,
    /// Highest prepared certificate held at this height.
    pub prepared: Option<PreparedCertificate>,
}

/// Leads an encoded record of the current format; records without it were written by earlier releases, whose
/// prepared certificates carried the block bytes.
const RECORD_MAGIC: &[u8; 4] = b"acv2";

#[derive(borsh::BorshDeserialize)]
struct LegacyCertificate {
    view: View,
    block: BlockId,
    _payload: Vec<u8>,
    prepares: Vec<Signed<Vote>>,
}

#[derive(borsh::BorshDeserialize)]
struct LegacyRecord {
    height: Height,
    view: View,
    proposed: Option<BlockId>,
    prepared_vote: Option<BlockId>,
    commit_vote: Option<BlockId>,
    prepared: Option<LegacyCertificate>,
}

impl SafetyRecord {
    /// Bytes to persist.
    pub fn encode(&self) -> std::io::Result<Vec<u8>> {
        let mut bytes = RECORD_MAGIC.to_vec();
        borsh::to_writer(&mut bytes, self)?;
        Ok(bytes)
    }
    /// Reads persisted bytes (of this format or the earlier one with block bytes inside certificates).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let malformed = |e: std::io::Error| DecodeError::Malformed(e.to_string());
        if let Some(rest) = bytes.strip_prefix(RECORD_MAGIC) {
            return borsh::from_slice(rest).map_err(malformed);
        }
        let old: LegacyRecord = borsh::from_slice(bytes).map_err(malformed)?;
        Ok(Self {
            height: old.height,
            view: old.view,
            proposed: old.proposed,
            prepared_vote: old.prepared_vote,
            commit_vote: old.commit_vote,
            prepared: old.prepared.map(|c| PreparedCertificate { view: c.view, block: c.block, prepares: c.prepares }),
        })
    }
}

/// Inputs to the state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message from the network, admitted by [`PbftState::admit`].
    Message(Verified<Message>),
    /// A timer set by `Action::SetTimer` fired.
    Timeout {
        /// Height of the timer.
        height: Height,
        /// View of the timer.
        view: View,
        /// The timer's sequence number; only the latest timer counts.
        seq: u64,
    },
    /// The block requested by `Action::BuildBlock` is ready.
    BlockBuilt {
        /// Height.
        height: Height,
        /// View.
        view: View,
        /// Its id.
        block: BlockId,
        /// Its bytes.
        payload: Vec<u8>,
    },
    /// The bytes requested by `Action::FetchBlock`.
    BlockFetched {
        /// Height.
        height: Height,
        /// View.
        view: View,
        /// Block id.
        block: BlockId,
        /// Its bytes (checked against the id here).
        payload: Vec<u8>,
    },
    /// The outcome of `Action::ValidateBlock`.
    BlockValidated {
        /// Height.
        height: Height,
        /// View.
        view: View,
        /// Block.
        block: BlockId,
        /// True when the block executed to the header it claims.
        valid: bool,
    },
    /// The leader asked to build has nothing to propose yet: heartbeat instead of an empty block.
    Idle {
        /// Height.
        height: Height,
        /// View.
        view: View,
    },
    /// The node's chain now holds `height` (committed here or obtained by block sync): start the next height.
    Committed {
        /// The committed height.
        height: Height,
        /// The validator set of `height + 1` whenever it differs in any way (members or their order) from the set
        /// this state machine is using now, which after a jump of several heights (block sync) is not the set of
        /// `height`; `None` only when it is exactly that set. A `Some` makes kept next-height messages be checked
        /// again, since an index may name someone else.
        next: Option<Membership>,
    },
}

/// Outputs, to be carried out in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Make this record durable before continuing.
    Persist(SafetyRecord),
    /// Send to every other validator.
    Broadcast(Message),
    /// Send to one validator.
    Send {
        /// Recipient.
        to: NodeIndex,
        /// Message.
        message: Message,
    },
    /// Call back with `Event::Timeout { height, view, seq }` after `after` time units (a later timer replaces it).
    SetTimer {
        /// Height.
        height: Height,
        /// View.
        view: View,
        /// Delay.
        after: u64,
        /// Sequence number to hand back.
        seq: u64,
    },
    /// Build a block on the committed head and answer with `Event::BlockBuilt` (or `Event::Idle` while there is
    /// nothing to put in it).
    BuildBlock {
        /// Height.
        height: Height,
        /// View.
        view: View,
    },
    /// This leader must re-propose a prepared block whose bytes it does not hold: find them (the node's own body
    /// store, then peers) and answer with `Event::BlockFetched`.
    FetchBlock {
        /// Height.
        height: Height,
        /// View.
        view: View,
        /// Block id.
        block: BlockId,
    },
    /// Execute a proposed block and answer with `Event::BlockValidated`.
    ValidateBlock {
        /// Height.
        height: Height,
        /// View.
        view: View,
        /// Block id (the driver must check the payload hashes to it).
        block: BlockId,
        /// Block bytes.
        payload: Vec<u8>,
    },
    /// The block is decided: commit it with these 2f+1 commit votes as its certificate.
    Decide {
        /// Height.
        height: Height,
        /// View.
        view: View,
        /// Block.
        block: BlockId,
        /// Block bytes if this validator has them (otherwise fetch by block sync).
        payload: Option<Vec<u8>>,
        /// 2f+1 signed commits.
        commits: Vec<Signed<Vote>>,
    },
    /// A validator signed two different blocks in one view and phase.
    Equivocation(Box<Equivocation>),
}

/// Counters of what the state machine saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PbftStats {
    /// Equivocations seen.
    pub equivocations: u64,
}

/// One validator's PBFT state machine.
#[derive(Debug)]
pub struct PbftState<C: MessageCrypto> {
    /// This node's index at the current height; `None` while it only follows.
    me: Option<NodeIndex>,
    /// Validators at the current height.
    n: usize,
    crypto: C,
    config: PbftConfig,
    record: SafetyRecord,
    views: BTreeMap<View, ViewVotes>,
    view_changes: BTreeMap<View, BTreeMap<NodeIndex, Signed<ViewChange>>>,
    building: bool,
    /// The view changes that let this leader build a fresh block or re-propose a fetched one.
    building_justification: Vec<Signed<ViewChange>>,
    /// The prepared block this leader waits for the bytes of.
    fetching: Option<BlockId>,
    /// Bytes of the block of `record.prepared`, when held.
    prepared_body: Option<(BlockId, Vec<u8>)>,
    decided: bool,
    /// A quorum is known to be in the current view (always true in view 0); until then the view's timer only
    /// re-sends our view change instead of moving on, so one validator cannot run ahead of the others forever.
    synced: bool,
    timer_seq: u64,
    /// Our own view changes at this height, to help validators that missed them catch up.
    own_view_changes: BTreeMap<View, Signed<ViewChange>>,
    /// How often we answered each (peer, view) at this height: bounded, so two validators that both look behind to
    /// each other (messages crossing) cannot answer each other forever.
    helped: BTreeMap<(NodeIndex, View), u8>,
    /// Verified messages for the next height.
    future: FutureBuffer,
    equivocations: u64,
}

/// Most times we answer one peer's view change for one (lower) view.
const MAX_HELP_PER_VIEW: u8 = 8;

impl<C: MessageCrypto> PbftState<C> {
    /// A node with `membership` at `record.height` starting there (or resuming, with the record it persisted).
    /// Returns the initial actions.
    pub fn new(membership: Membership, crypto: C, config: PbftConfig, record: SafetyRecord) -> (Self, Vec<Action>) {
        let mut s = Self {
            me: membership.me.filter(|i| *i < membership.n),
            n: membership.n.max(1),
            crypto,
            config,
            record,
            views: BTreeMap::new(),
            view_changes: BTreeMap::new(),
            building: false,
            building_justification: Vec::new(),
            fetching: None,
            prepared_body: None,
            decided: false,
            synced: false,
            timer_seq: 0,
            own_view_changes: BTreeMap::new(),
            helped: BTreeMap::new(),
            future: FutureBuffer::default(),
            equivocations: 0,
        };
        let mut out = Vec::new();
        if s.me.is_some() {
            s.enter_view(s.record.view, &mut out);
        }
        (s, out)
    }

    /// Faulty validators tolerated.
    pub fn f(&self) -> usize {
        (self.n - 1) / 3
    }
    /// Votes needed for a quorum (2f+1 when n = 3f+1; any two quorums share an honest validator for every n).
    pub fn quorum(&self) -> usize {
        self.verifier().quorum()
    }
    /// Leader of (height, view): round robin.
    pub fn leader(&self, height: Height, view: View) -> NodeIndex {
        self.verifier().leader(height, view)
    }
    /// Changes the first-view timeout (governance sets it chain-wide, between heights); it takes effect from the
    /// next timer this state machine sets. Kept within `1..=max_timeout`.
    pub fn set_base_timeout(&mut self, ms: u64) {
        self.config.base_timeout = ms.clamp(1, self.config.max_timeout.max(1));
    }

    /// Current height.
    pub fn height(&self) -> Height {
        self.record.height
    }
    /// Current view.
    pub fn view(&self) -> View {
        self.record.view
    }
    /// What is persisted.
    pub fn record(&self) -> &SafetyRecord {
        &self.record
    }
    /// Counters for metrics.
    pub fn stats(&self) -> PbftStats {
        PbftStats { equivocations: self.equivocations }
    }

    fn verifier(&self) -> Verifier<'_, C> {
        Verifier { crypto: &self.crypto, n: self.n }
    }

    fn timeout(&self, view: View) -> u64 {
        let shift = view.min(20) as u32;
        self.config.base_timeout.saturating_mul(1u64 << shift).min(self.config.max_timeout)
    }

    /// Screens a message from the network against the current height and view (cheap), then verifies its
    /// signatures and certificates (expensive). Only an admitted message can be handled. Messages for the next
    /// height are verified too, before they are buffered.
    ///
    /// A next-height message is checked against the current set, the best guess until that height starts; if the
    /// set changes then, the kept messages are admitted again under the new one. So a refusal of a next-height
    /// message may be the set's change rather than the sender's fault.
    pub fn admit(&self, m: Message) -> Result<Verified<Message>, Rejection> {
        let signer = m.signer();
        if signer >= self.n {
            return Err(Rejection::NotValidator);
        }
        let (h, height, view) = (self.record.height, m.height(), m.view());
        // Our index at the next height is not known yet (a new set may give it to someone else): that height's
        // echoes of our own messages are dropped when it starts.
        if height == h && Some(signer) == self.me {
            return Err(Rejection::Own);
        }
        if height == h && self.me.is_none() {
            return Err(Rejection::NotMember);
        }
        if height < h {
            return Err(Rejection::Stale);
        }
        if height > h + 1 {
            return Err(Rejection::TooFarAhead);
        }
        if height == h + 1 {
            if view > self.config.max_view_ahead {
                return Err(Rejection::TooFarAhead);
            }
            if self.future.full_for(signer) {
                return Err(Rejection::BufferFull);
            }
        } else {
            if view > self.record.view.saturating_add(self.config.max_view_ahead) {
                return Err(Rejection::TooFarAhead);
            }
            if view < self.record.view {
                // Only an old view change is answered (we help the lagging peer), and only within the help budget:
                // a replayed old view change must not cost signature checks forever.
                let spent = self.helped.get(&(signer, view)).copied().unwrap_or(0);
                if !matches!(m, Message::ViewChange(_)) || view == 0 || spent >= MAX_HELP_PER_VIEW {
                    return Err(Rejection::Stale);
                }
            }
        }
        self.verifier().message(&m)?;
        Ok(Verified::new(m))
    }

    /// Feeds one event; returns the actions it causes.
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        if self.me.is_none() && !matches!(event, Event::Committed { .. } | Event::Message(_)) {
            // A follower at this height: no timers, blocks or votes of its own.
            return out;
        }
        match event {
            Event::Message(m) => self.on_message(m, &mut out),
            Event::Timeout { height, view, seq } => {
                if height == self.record.height && view == self.record.view && seq == self.timer_seq && !self.decided {
                    if self.synced {
                        self.start_view_change(view + 1, &mut out);
                    } else {
                        self.resend_view_change(&mut out);
                    }
                }
            }
            Event::BlockBuilt { height, view, block, payload } => {
                if height == self.record.height && view == self.record.view && self.building {
                    self.building = false;
                    let justification = std::mem::take(&mut self.building_justification);
                    self.propose(block, payload, justification, &mut out);
                }
            }
            Event::BlockFetched { height, view, block, payload } => {
                if height == self.record.height
                    && view == self.record.view
                    && self.fetching == Some(block)
                    && self.crypto.payload_matches(&block, &payload)
                {
                    self.fetching = None;
                    let justification = std::mem::take(&mut self.building_justification);
                    self.propose(block, payload, justification, &mut out);
                }
            }
            Event::BlockValidated { height, view, block, valid } => {
                if height == self.record.height && view == self.record.view {
                    let vs = self.views.entry(view).or_default();
                    if vs.proposal.as_ref().map(|p| p.0) == Some(block) && vs.validated.is_none() {
                        vs.validated = Some(valid);
                        if valid {
                            self.send_prepare(block, &mut out);
                        }
                    }
                }
            }
            Event::Idle { height, view } => {
                let current = height == self.record.height && view == self.record.view;
                if current && self.building && self.record.proposed.is_none() && !self.decided {
                    let hb = self.sign(Heartbeat { height, view });
                    out.push(Action::Broadcast(Message::Heartbeat(hb)));
                    // The leader's own view timer runs too: an idle leader must not vote itself out.
                    if self.synced {
                        self.restart_view_timer(&mut out);
                    }
                }
            }
            Event::Committed { height, next } => {
                if height >= self.record.height {
                    self.start_height(height + 1, next, &mut out);
                }
            }
        }
        out
    }

    fn start_height(&mut self, height: Height, next: Option<Membership>, out: &mut Vec<Action>) {
        let set_changed = next.is_some();
        if let Some(m) = next {
            self.n = m.n.max(1);
            self.me = m.me.filter(|i| *i < self.n);
        }
        self.record = SafetyRecord { height, ..Default::default() };
        self.views.clear();
        self.view_changes.clear();
        self.own_view_changes.clear();
        self.helped.clear();
        self.building = false;
        self.building_justification.clear();
        self.fetching = None;
        self.prepared_body = None;
        self.decided = false;
        let kept = self.future.take();
        if self.me.is_none() {
            return;
        }
        out.push(Action::Persist(self.record.clone()));
        self.enter_view(0, out);
        for m in kept {
            if m.get().height() != height {
                continue;
            }
            // Kept messages were checked against the set of the height before; under a new set an index may name
            // someone else, so they are checked again.
            let m = if set_changed {
                match self.admit(m.into_inner()) {
                    Ok(m) => m,
                    Err(_) => continue,
                }
            } else if Some(m.get().signer()) == self.me {
                continue;
            } else {
                m
            };
            self.on_message(m, out);
        }
    }

    fn set_timer(&mut self, after: u64, out: &mut Vec<Action>) {
        self.timer_seq += 1;
        out.push(Action::SetTimer { height: self.record.height, view: self.record.view, after, seq: self.timer_seq });
    }

    /// Marks the current view as joined by a quorum and starts its full timeout.
    fn mark_synced(&mut self, out: &mut Vec<Action>) {
        if !self.synced {
            self.synced = true;
            self.restart_view_timer(out);
        }
    }

    /// Gives the current view its full timeout again (a quorum joined it, or its idle leader proved it is alive).
    fn restart_view_timer(&mut self, out: &mut Vec<Action>) {
        let t = self.timeout(self.record.view);
        self.set_timer(t, out);
    }

    fn enter_view(&mut self, view: View, out: &mut Vec<Action>) {
        let h = self.record.height;
        self.synced = false;
        let quorum = self.view_changes.get(&view).is_some_and(|m| m.len() >= self.quorum());
        // Having voted in this view (known after a restart from the record) means we accepted a justified proposal
        // here, which proves a quorum reached it.
        let voted_here =
            self.record.prepared_vote.is_some() || self.record.prepared.as_ref().is_some_and(|p| p.view >= view);
        if view == 0 || quorum || voted_here {
            self.mark_synced(out);
        } else {
            self.set_timer(self.config.base_timeout, out);
        }
        self.views.retain(|v, _| *v >= view);
        self.view_changes.retain(|v, _| *v >= view);
        self.fetching = None;
        if view == 0 && Some(self.leader(h, 0)) == self.me && self.record.proposed.is_none() && !self.decided {
            self.building = true;
            out.push(Action::BuildBlock { height: h, view: 0 });
        }
        // A view entered after a view change may already have its quorum of view changes.
        self.try_new_view(view, out);
    }

    /// Records (durably) that this validator is now in `view`, with no vote cast there yet.
    fn move_to_view(&mut self, view: View, out: &mut Vec<Action>) {
        self.record.view = view;
        self.record.proposed = None;
        self.record.prepared_vote = None;
        self.record.commit_vote = None;
        self.building = false;
        out.push(Action::Persist(self.record.clone()));
    }

    /// Our index at this height. Only validators sign: `handle` ignores everything that would make a follower
    /// sign, so the fallback (an index no verifier accepts) is never used.
    fn my_index(&self) -> NodeIndex {
        self.me.unwrap_or(NodeIndex::MAX)
    }

    fn sign<T: SigningBytes>(&self, body: T) -> Signed<T> {
        let signature = self.crypto.sign(&body.signing_bytes());
        Signed { signer: self.my_index(), body, signature }
    }

    fn sign_vote(&self, vote: Vote, commit: bool) -> Signed<Vote> {
        let bytes = if commit { CommitBody(&vote).signing_bytes() } else { PrepareBody(&vote).signing_bytes() };
        Signed { signer: self.my_index(), signature: self.crypto.sign(&bytes), body: vote }
    }

    /// The bytes of `block` if this validator holds them at this height.
    fn body_of(&self, block: &BlockId) -> Option<Vec<u8>> {
        if let Some((id, payload)) = &self.prepared_body
            && id == block
        {
            return Some(payload.clone());
        }
        self.views.values().filter_map(|v| v.proposal.as_ref()).find(|(id, _)| id == block).map(|(_, p)| p.clone())
    }

    fn on_message(&mut self, m: Verified<Message>, out: &mut Vec<Action>) {
        let h = self.record.height;
        let (height, view) = (m.get().height(), m.get().view());
        if height == h + 1 {
            self.future.push(m);
            return;
        }
        if height != h || self.me.is_none() {
            return;
        }
        match m.into_inner() {
            Message::Proposal(p) => self.on_proposal(p, out),
            Message::Prepare(v) => {
                if view >= self.record.view {
                    let evidence = self.views.entry(view).or_default().add(v, false);
                    self.report(evidence, out);
                    self.check_prepared(view, out);
                }
            }
            Message::Commit(v) => {
                if view >= self.record.view {
                    let evidence = self.views.entry(view).or_default().add(v, true);
                    self.report(evidence, out);
                    self.check_decided(view, out);
                }
            }
            Message::ViewChange(vc) => self.on_view_change(vc, out),
            Message::Heartbeat(_) => {
                // The current leader is alive and has nothing to propose: give it a full timeout again.
                let awaiting = self.views.get(&view).is_none_or(|v| v.proposal.is_none());
                if view == self.record.view && self.synced && awaiting && !self.decided {
                    self.restart_view_timer(out);
                }
            }
        }
    }

    fn report(&mut self, evidence: Option<Equivocation>, out: &mut Vec<Action>) {
        if let Some(e) = evidence {
            self.equivocations += 1;
            out.push(Action::Equivocation(Box::new(e)));
        }
    }

    fn propose(
        &mut self,
        block: BlockId,
        payload: Vec<u8>,
        justification: Vec<Signed<ViewChange>>,
        out: &mut Vec<Action>,
    ) {
        let view = self.record.view;
        if self.record.proposed.is_some() {
            return;
        }
        self.record.proposed = Some(block);
        out.push(Action::Persist(self.record.clone()));
        let body = Proposal { height: self.record.height, view, block, payload: payload.clone(), justification };
        let signed = self.sign(body);
        out.push(Action::Broadcast(Message::Proposal(signed)));
        let vs = self.views.entry(view).or_default();
        vs.proposal = Some((block, payload));
        // The leader built (and so executed) the block itself, or re-proposes one a quorum prepared (so at least one
        // honest validator executed it, and its fetched bytes were checked against its id).
        vs.validated = Some(true);
        self.send_prepare(block, out);
    }

    fn on_proposal(&mut self, p: Signed<Proposal>, out: &mut Vec<Action>) {
        let Proposal { height, view, block, .. } = p.body;
        if view < self.record.view {
            return;
        }
        if view > self.record.view {
            // A justified proposal (admit checked it) proves a quorum moved on: follow it.
            self.move_to_view(view, out);
            self.enter_view(view, out);
        }
        // A justified proposal proves a quorum is in this view.
        if view > 0 {
            self.mark_synced(out);
        }
        let vs = self.views.entry(view).or_default();
        if vs.proposal.is_some() {
            // The first proposal of the view counts; a leader's second one is ignored (its votes would equivocate).
            return;
        }
        vs.proposal = Some((block, p.body.payload.clone()));
        out.push(Action::ValidateBlock { height, view, block, payload: p.body.payload });
    }

    fn send_prepare(&mut self, block: BlockId, out: &mut Vec<Action>) {
        let view = self.record.view;
        if self.record.prepared_vote.is_some() {
            return;
        }
        self.record.prepared_vote = Some(block);
        out.push(Action::Persist(self.record.clone()));
        let vote = Vote { height: self.record.height, view, block };
        let signed = self.sign_vote(vote, false);
        out.push(Action::Broadcast(Message::Prepare(signed.clone())));
        self.views.entry(view).or_default().add(signed, false);
        self.check_prepared(view, out);
    }

    fn check_prepared(&mut self, view: View, out: &mut Vec<Action>) {
        if view != self.record.view || self.record.commit_vote.is_some() {
            return;
        }
        let Some(vs) = self.views.get(&view) else { return };
        let Some((block, payload)) = vs.proposal.clone() else { return };
        if vs.validated != Some(true) {
            return;
        }
        let prepares = vs.prepares_for(block);
        if prepares.len() < self.quorum() {
            return;
        }
        self.record.prepared = Some(PreparedCertificate { view, block, prepares });
        self.prepared_body = Some((block, payload));
        self.record.commit_vote = Some(block);
        out.push(Action::Persist(self.record.clone()));
        let signed = self.sign_vote(Vote { height: self.record.height, view, block }, true);
        out.push(Action::Broadcast(Message::Commit(signed.clone())));
        self.views.entry(view).or_default().add(signed, true);
        self.check_decided(view, out);
    }

    fn check_decided(&mut self, view: View, out: &mut Vec<Action>) {
        if self.decided {
            return;
        }
        let Some(vs) = self.views.get(&view) else { return };
        let Some((block, commits)) = vs.committed(self.quorum()) else { return };
        let payload = vs.proposal.as_ref().filter(|p| p.0 == block).map(|p| p.1.clone());
        self.decided = true;
        out.push(Action::Decide { height: self.record.height, view, block, payload, commits });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signature = signer index + bytes length + first bytes: unforgeable enough for rule tests, where every
    /// message is built by the test itself.
    #[derive(Debug, Clone)]
    struct TestCrypto(NodeIndex);

    fn tag(signer: NodeIndex, bytes: &[u8]) -> Vec<u8> {
        let mut v = vec![signer as u8];
        v.extend_from_slice(bytes);
        v
    }

    impl MessageCrypto for TestCrypto {
        fn sign(&self, bytes: &[u8]) -> Vec<u8> {
            tag(self.0, bytes)
        }
        fn verify(&self, _height: Height, signer: NodeIndex, bytes: &[u8], signature: &[u8]) -> bool {
            signature == tag(signer, bytes)
        }
        fn payload_matches(&self, block: &BlockId, payload: &[u8]) -> bool {
            payload == block.0
        }
    }

    fn node(me: NodeIndex, record: SafetyRecord) -> PbftState<TestCrypto> {
        PbftState::new(Membership { n: 4, me: Some(me) }, TestCrypto(me), PbftConfig::default(), record).0
    }

    fn prepare(signer: NodeIndex, view: View, block: BlockId) -> Signed<Vote> {
        let body = Vote { height: 1, view, block };
        Signed { signer, signature: tag(signer, &PrepareBody(&body).signing_bytes()), body }
    }

    fn view_change(signer: NodeIndex, view: View, prepared: Option<PreparedCertificate>) -> Signed<ViewChange> {
        let body = ViewChange { height: 1, view, prepared };
        Signed { signer, signature: tag(signer, &body.signing_bytes()), body }
    }

    fn proposal(signer: NodeIndex, view: View, block: BlockId, justification: Vec<Signed<ViewChange>>) -> Message {
        let body = Proposal { height: 1, view, block, payload: block.0.to_vec(), justification };
        Message::Proposal(Signed { signer, signature: tag(signer, &body.signing_bytes()), body })
    }

    /// Admits and handles a message as the driver does; a refused message causes nothing.
    fn deliver(n: &mut PbftState<TestCrypto>, m: Message) -> Vec<Action> {
        match n.admit(m) {
            Ok(v) => n.handle(Event::Message(v)),
            Err(_) => Vec::new(),
        }
    }

    fn validates(actions: &[Action]) -> Option<BlockId> {
        actions.iter().find_map(|a| match a {
            Action::ValidateBlock { block, .. } => Some(*block),
            _ => None,
        })
    }

    const A: BlockId = BlockId([0xaa; 32]);
    const B: BlockId = BlockId([0xbb; 32]);

    #[test]
    fn records_and_messages_survive_encoding_and_garbage_is_refused() {
        let cert = PreparedCertificate { view: 0, block: A, prepares: vec![prepare(0, 0, A)] };
        let record = SafetyRecord {
            height: 9,
            view: 2,
            prepared_vote: Some(B),
            prepared: Some(cert.clone()),
            ..Default::default()
        };
        assert_eq!(SafetyRecord::decode(&record.encode().expect("encodes")).expect("decodes"), record);
        let m = Message::ViewChange(view_change(1, 3, Some(cert)));
        assert_eq!(Message::decode(&m.encode().expect("encodes"), 1 << 20).expect("decodes"), m);
        assert!(Message::decode(&[0xff, 1, 2], 1 << 20).is_err());
        let bytes = m.encode().expect("encodes");
        assert!(matches!(Message::decode(&bytes, bytes.len() - 1), Err(DecodeError::TooLarge { .. })));
        assert!(SafetyRecord::decode(&[]).is_err());
    }

    #[test]
    fn new_leader_must_repropose_the_highest_prepared_block() {
        // Height 1, view 1: leader is (1 + 1) % 4 = 2. Three view changes, one carrying a certificate for A.
        let cert = PreparedCertificate { view: 0, block: A, prepares: (0..3).map(|i| prepare(i, 0, A)).collect() };
        let vcs = vec![view_change(0, 1, Some(cert)), view_change(1, 1, None), view_change(3, 1, None)];
        let mut n = node(3, SafetyRecord { height: 1, ..Default::default() });
        let out = deliver(&mut n, proposal(2, 1, B, vcs.clone()));
        assert_eq!(validates(&out), None, "a proposal of B ignoring A's prepared certificate is refused");
        let out = deliver(&mut n, proposal(2, 1, A, vcs.clone()));
        assert_eq!(validates(&out), Some(A));
        assert_eq!(n.view(), 1, "a justified proposal moves the replica to its view");
        // Too few view changes do not justify anything.
        let mut m = node(3, SafetyRecord { height: 1, ..Default::default() });
        assert_eq!(validates(&deliver(&mut m, proposal(2, 1, A, vcs[..2].to_vec()))), None);
        // Nor does a proposal from someone who is not the leader.
        assert_eq!(validates(&deliver(&mut m, proposal(1, 1, A, vcs))), None);
    }

    #[test]
    fn a_restarted_validator_never_prepares_a_second_block_in_a_view() {
        // It prepared A in view 0 before the crash (leader of height 1 view 0 is node 1).
        let record = SafetyRecord { height: 1, view: 0, prepared_vote: Some(A), ..Default::default() };
        let mut n = node(3, record);
        let out = deliver(&mut n, proposal(1, 0, B, vec![]));
        assert_eq!(validates(&out), Some(B), "it may execute B");
        let out = n.handle(Event::BlockValidated { height: 1, view: 0, block: B, valid: true });
        assert!(
            !out.iter().any(|a| matches!(a, Action::Broadcast(Message::Prepare(_)))),
            "but never sends a prepare for B: {out:?}"
        );
    }

    #[test]
    fn votes_are_persisted_before_they_are_sent() {
        let mut n = node(3, SafetyRecord { height: 1, ..Default::default() });
        deliver(&mut n, proposal(1, 0, A, vec![]));
        let out = n.handle(Event::BlockValidated { height: 1, view: 0, block: A, valid: true });
        let persist = out.iter().position(|a| matches!(a, Action::Persist(r) if r.prepared_vote == Some(A)));
        let send = out.iter().position(|a| matches!(a, Action::Broadcast(Message::Prepare(_))));
        assert!(persist.is_some() && send.is_some() && persist < send, "{out:?}");
    }

    #[test]
    fn one_peer_in_a_far_view_drags_nobody_but_f_plus_one_do() {
        let mut n = node(3, SafetyRecord { height: 1, ..Default::default() });
        deliver(&mut n, Message::ViewChange(view_change(0, 9, None)));
        assert_eq!(n.view(), 0);
        deliver(&mut n, Message::ViewChange(view_change(1, 5, None)));
        assert_eq!(n.view(), 5, "f+1 = 2 validators are beyond view 0: follow to the lowest of their views");
        // Beyond the look-ahead bound, messages are not even read.
        let mut m = node(3, SafetyRecord { height: 1, ..Default::default() });
        deliver(&mut m, Message::ViewChange(view_change(0, 1_000_000, None)));
        deliver(&mut m, Message::ViewChange(view_change(1, 1_000_000, None)));
        assert_eq!(m.view(), 0);
    }

    #[test]
    fn a_quorum_of_commits_decides_and_timeouts_back_off() {
        let mut n = node(3, SafetyRecord { height: 1, ..Default::default() });
        deliver(&mut n, proposal(1, 0, A, vec![]));
        n.handle(Event::BlockValidated { height: 1, view: 0, block: A, valid: true });
        let mut decided = Vec::new();
        for i in 0..3 {
            let body = Vote { height: 1, view: 0, block: A };
            let p = Signed { signer: i, signature: tag(i, &PrepareBody(&body).signing_bytes()), body };
            decided.extend(deliver(&mut n, Message::Prepare(p)));
            let c = Signed { signer: i, signature: tag(i, &CommitBody(&body).signing_bytes()), body };
            decided.extend(deliver(&mut n, Message::Commit(c)));
        }
        let d = decided.iter().find_map(|a| match a {
            Action::Decide { block, commits, payload, .. } => Some((*block, commits.len(), payload.is_some())),
            _ => None,
        });
        assert_eq!(d, Some((A, 3, true)));
        assert!(n.timeout(1) > n.timeout(0) && n.timeout(40) == n.config.max_timeout);
    }

    fn signed_prepare(signer: NodeIndex, height: Height, view: View, block: BlockId) -> Message {
        let body = Vote { height, view, block };
        Message::Prepare(Signed { signer, signature: tag(signer, &PrepareBody(&body).signing_bytes()), body })
    }

    #[test]
    fn next_height_messages_are_verified_before_they_are_buffered_and_shared_per_signer() {
        let mut n = node(3, SafetyRecord { height: 1, ..Default::default() });
        // Height 2, view 0 is led by validator 2. A forger claims to be validator 2 with signatures it cannot make.
        let real = {
            let body = Proposal { height: 2, view: 0, block: A, payload: A.0.to_vec(), justification: vec![] };
            Signed { signer: 2, signature: tag(2, &body.signing_bytes()), body }
        };
        for i in 0..20u8 {
            let mut forged = real.clone();
            forged.body.block = BlockId([i; 32]);
            assert_eq!(n.admit(Message::Proposal(forged)), Err(Rejection::BadSignature));
        }
        // Validator 1 floods valid next-height messages: it fills its own share only.
        let mut flood_admitted = 0;
        for i in 0..100u64 {
            if let Ok(m) = n.admit(signed_prepare(1, 2, i % 8, BlockId([(i % 200) as u8; 32]))) {
                flood_admitted += 1;
                n.handle(Event::Message(m));
            }
        }
        assert_eq!(flood_admitted, 8, "one signer's share of the next-height buffer");
        assert!(matches!(n.admit(signed_prepare(1, 2, 0, B)), Err(Rejection::BufferFull)));
        // The real proposal still gets in, and runs as soon as height 2 starts.
        let m = n.admit(Message::Proposal(real)).expect("the leader's own proposal is admitted");
        assert!(n.handle(Event::Message(m)).is_empty(), "buffered, not acted on yet");
        let out = n.handle(Event::Committed { height: 1, next: None });
        assert_eq!(validates(&out), Some(A));
        // Beyond the next height nothing is read at all.
        assert_eq!(n.admit(signed_prepare(1, 4, 0, A)), Err(Rejection::TooFarAhead));
        assert_eq!(n.admit(signed_prepare(1, 1, 0, A)), Err(Rejection::Stale));
        assert_eq!(n.admit(signed_prepare(7, 2, 0, A)), Err(Rejection::NotValidator));
        assert_eq!(n.admit(signed_prepare(3, 2, 0, A)), Err(Rejection::Own));
    }

    /// Validator 3 at height 1 keeps height-2 prepares from indices 2 and 3 (its own index at height 2 is not
    /// known yet), then height 2 starts with `next`, the proposal of its leader (index 2) arrives and validates.
    /// Returns whether it then commits (3 prepares for A: its own, 2's and 3's).
    fn commits_at_height_2(next: Option<Membership>) -> bool {
        let mut n = node(3, SafetyRecord { height: 1, ..Default::default() });
        for signer in [2, 3] {
            let m = n.admit(signed_prepare(signer, 2, 0, A)).expect("kept for height 2");
            assert!(n.handle(Event::Message(m)).is_empty());
        }
        n.handle(Event::Committed { height: 1, next });
        let body = Proposal { height: 2, view: 0, block: A, payload: A.0.to_vec(), justification: vec![] };
        let p = Signed { signer: 2, signature: tag(2, &body.signing_bytes()), body };
        let out = deliver(&mut n, Message::Proposal(p));
        assert_eq!(validates(&out), Some(A));
        let out = n.handle(Event::BlockValidated { height: 2, view: 0, block: A, valid: true });
        out.iter().any(|a| matches!(a, Action::Broadcast(Message::Commit(_))))
    }

    #[test]
    fn next_height_messages_are_judged_by_the_next_sets_indices() {
        // The set is re-ordered at height 2 and index 3 names another validator: its early prepare counts.
        assert!(commits_at_height_2(Some(Membership { n: 4, me: Some(0) })));
        // The same set: index 3 is still us, so the kept message was our own echo and is dropped.
        assert!(!commits_at_height_2(None));
    }

    #[test]
    fn a_new_leader_fetches_a_prepared_block_it_never_received_and_its_proposal_fits_the_limit() {
        // Validator 2 leads view 1 of height 1 but never saw the view-0 proposal of A, which 3 validators prepared.
        let cert = PreparedCertificate { view: 0, block: A, prepares: (0..3).map(|i| prepare(i, 0, A)).collect() };
        let mut n = node(2, SafetyRecord { height: 1, ..Default::default() });
        let mut out = Vec::new();
        for (i, c) in [(0, Some(cert.clone())), (1, None), (3, None)] {
            out.extend(deliver(&mut n, Message::ViewChange(view_change(i, 1, c))));
        }
        let fetch = out.iter().find_map(|a| match a {
            Action::FetchBlock { height: 1, view: 1, block } => Some(*block),
            _ => None,
        });
        assert_eq!(fetch, Some(A), "{out:?}");
        assert!(!out.iter().any(|a| matches!(a, Action::Broadcast(Message::Proposal(_)))));
        // Bytes that are not A are ignored; A's bytes are proposed, with the justification, and fit the limit.
        let wrong = n.handle(Event::BlockFetched { height: 1, view: 1, block: A, payload: B.0.to_vec() });
        assert!(wrong.is_empty());
        let out = n.handle(Event::BlockFetched { height: 1, view: 1, block: A, payload: A.0.to_vec() });
        let proposal = out.iter().find_map(|a| match a {
            Action::Broadcast(m @ Message::Proposal(p)) if p.body.block == A && p.body.justification.len() >= 3 => {
                Some(m.clone())
            }
            _ => None,
        });
        let proposal = proposal.expect("re-proposes A");
        assert!(proposal.encode().expect("encodes").len() <= message_limit(32, 4));
    }

    #[test]
    fn the_largest_possible_message_fits_the_limit() {
        // A view-n proposal of a maximal block with n view changes, each carrying a full certificate of n prepares
        // with real-size (65-byte) signatures.
        for (n, max_block) in [(4usize, 1 << 20), (7, 64), (31, 8 << 20), (100, 1 << 20)] {
            let sig = vec![0xab; 65];
            let prepares: Vec<Signed<Vote>> = (0..n)
                .map(|i| Signed { signer: i, body: Vote { height: 9, view: 5, block: A }, signature: sig.clone() })
                .collect();
            let cert = PreparedCertificate { view: 5, block: A, prepares };
            let vcs = (0..n)
                .map(|i| Signed {
                    signer: i,
                    body: ViewChange { height: 9, view: 6, prepared: Some(cert.clone()) },
                    signature: sig.clone(),
                })
                .collect();
            let body = Proposal { height: 9, view: 6, block: A, payload: vec![7; max_block], justification: vcs };
            let m = Message::Proposal(Signed { signer: 0, body, signature: sig.clone() });
            let size = m.encode().expect("encodes").len();
            assert!(size <= message_limit(max_block, n), "n={n}: {size} > {}", message_limit(max_block, n));
        }
    }

    #[test]
    fn an_idle_leaders_heartbeat_keeps_replicas_in_the_view_and_only_the_leader_may_send_one() {
        let mut leader = node(1, SafetyRecord { height: 1, ..Default::default() });
        let out = leader.handle(Event::Idle { height: 1, view: 0 });
        let hb = out.iter().find_map(|a| match a {
            Action::Broadcast(m @ Message::Heartbeat(_)) => Some(m.clone()),
            _ => None,
        });
        let hb = hb.expect("an idle leader heartbeats");
        assert!(out.iter().any(|a| matches!(a, Action::SetTimer { view: 0, .. })), "and re-arms its own timer");
        let mut replica = node(3, SafetyRecord { height: 1, ..Default::default() });
        let out = deliver(&mut replica, hb);
        assert!(out.iter().any(|a| matches!(a, Action::SetTimer { view: 0, .. })), "the view timer is re-armed");
        let body = Heartbeat { height: 1, view: 0 };
        let not_leader = Message::Heartbeat(Signed { signer: 2, signature: tag(2, &body.signing_bytes()), body });
        assert_eq!(replica.admit(not_leader), Err(Rejection::WrongLeader));
        // Once it proposed, a leader does not heartbeat.
        leader.handle(Event::BlockBuilt { height: 1, view: 0, block: A, payload: A.0.to_vec() });
        assert!(leader.handle(Event::Idle { height: 1, view: 0 }).is_empty());
    }

    #[test]
    fn conflicting_votes_are_reported_as_equivocation() {
        let mut n = node(3, SafetyRecord { height: 1, ..Default::default() });
        assert!(deliver(&mut n, signed_prepare(0, 1, 0, A)).is_empty());
        let out = deliver(&mut n, signed_prepare(0, 1, 0, B));
        assert!(
            out.iter()
                .any(|a| matches!(a, Action::Equivocation(e) if e.first.body.block == A && e.second.body.block == B))
        );
        assert_eq!(n.stats().equivocations, 1);
    }

    #[test]
    fn a_record_written_by_the_earlier_format_still_loads() {
        #[derive(borsh::BorshSerialize)]
        struct OldCert {
            view: View,
            block: BlockId,
            payload: Vec<u8>,
            prepares: Vec<Signed<Vote>>,
        }
        #[derive(borsh::BorshSerialize)]
        struct OldRecord {
            height: Height,
            view: View,
            proposed: Option<BlockId>,
            prepared_vote: Option<BlockId>,
            commit_vote: Option<BlockId>,
            prepared: Option<OldCert>,
        }
        let old = OldRecord {
            height: 4,
            view: 2,
            proposed: None,
            prepared_vote: Some(A),
            commit_vote: Some(A),
            prepared: Some(OldCert { view: 1, block: A, payload: vec![9; 100], prepares: vec![prepare(0, 1, A)] }),
        };
        let record = SafetyRecord::decode(&borsh::to_vec(&old).expect("encodes")).expect("decodes");
        assert_eq!((record.height, record.view, record.prepared_vote), (4, 2, Some(A)));
        assert_eq!(record.prepared.map(|c| (c.view, c.block, c.prepares.len())), Some((1, A, 1)));
    }
}
