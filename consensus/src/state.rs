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

use std::collections::{BTreeMap, BTreeSet};

use crate::types::*;

/// Signs and verifies protocol messages. The node implements it with the validators' secp256k1 keys.
pub trait MessageCrypto {
    /// Signs `bytes` with this validator's key.
    fn sign(&self, bytes: &[u8]) -> Vec<u8>;
    /// True when `signature` over `bytes` is by validator `signer`.
    fn verify(&self, signer: NodeIndex, bytes: &[u8], signature: &[u8]) -> bool;
    /// True when `payload` is the block identified by `block` (signatures cover only the id, so a certificate's
    /// bytes must be bound to it before anyone re-proposes them).
    fn payload_matches(&self, block: &BlockId, payload: &[u8]) -> bool;
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

/// What a validator must remember across a crash to stay safe.
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

impl SafetyRecord {
    /// Bytes to persist.
    pub fn encode(&self) -> std::io::Result<Vec<u8>> {
        borsh::to_vec(self)
    }
    /// Reads persisted bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, crate::types::DecodeError> {
        borsh::from_slice(bytes).map_err(|e| crate::types::DecodeError::Malformed(e.to_string()))
    }
}

/// Inputs to the state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message from the network (or this validator's own, looped back by nothing: own messages are handled
    /// internally).
    Message(Message),
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
    /// The node's chain now holds `height` (committed here or obtained by block sync): start the next height.
    Committed {
        /// The committed height.
        height: Height,
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
    /// Build a block on the committed head and answer with `Event::BlockBuilt`.
    BuildBlock {
        /// Height.
        height: Height,
        /// View.
        view: View,
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
}

#[derive(Debug, Default, Clone)]
struct ViewState {
    proposal: Option<(BlockId, Vec<u8>)>,
    validated: Option<bool>,
    prepares: BTreeMap<NodeIndex, Signed<Vote>>,
    commits: BTreeMap<NodeIndex, Signed<Vote>>,
}

/// One validator's PBFT state machine.
#[derive(Debug)]
pub struct PbftState<C: MessageCrypto> {
    me: NodeIndex,
    n: usize,
    crypto: C,
    config: PbftConfig,
    record: SafetyRecord,
    views: BTreeMap<View, ViewState>,
    view_changes: BTreeMap<View, BTreeMap<NodeIndex, Signed<ViewChange>>>,
    building: bool,
    /// The view changes that let this leader build a fresh block (no prepared certificate among them).
    building_justification: Vec<Signed<ViewChange>>,
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
    /// Messages for the next height, kept until it starts (bounded).
    next_height: Vec<Message>,
}

/// Most times we answer one peer's view change for one (lower) view.
const MAX_HELP_PER_VIEW: u8 = 8;

/// Most messages buffered per signer for the next height (a proposal, prepare, commit and a few view changes).
const NEXT_HEIGHT_PER_SIGNER: usize = 8;

impl<C: MessageCrypto> PbftState<C> {
    /// A validator `me` of `n` starting (or resuming, with the record it persisted) at `record.height`.
    /// Returns the initial actions.
    pub fn new(me: NodeIndex, n: usize, crypto: C, config: PbftConfig, record: SafetyRecord) -> (Self, Vec<Action>) {
        let mut s = Self {
            me,
            n,
            crypto,
            config,
            record,
            views: BTreeMap::new(),
            view_changes: BTreeMap::new(),
            building: false,
            building_justification: Vec::new(),
            decided: false,
            synced: false,
            timer_seq: 0,
            own_view_changes: BTreeMap::new(),
            helped: BTreeMap::new(),
            next_height: Vec::new(),
        };
        let mut out = Vec::new();
        s.enter_view(s.record.view, &mut out);
        (s, out)
    }

    /// Faulty validators tolerated.
    pub fn f(&self) -> usize {
        (self.n - 1) / 3
    }
    /// Votes needed for a quorum (2f+1 when n = 3f+1; any two quorums share an honest validator for every n).
    pub fn quorum(&self) -> usize {
        2 * self.n / 3 + 1
    }
    /// Leader of (height, view): round robin.
    pub fn leader(&self, height: Height, view: View) -> NodeIndex {
        ((height.wrapping_add(view)) % self.n as u64) as usize
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

    fn timeout(&self, view: View) -> u64 {
        let shift = view.min(20) as u32;
        self.config.base_timeout.saturating_mul(1u64 << shift).min(self.config.max_timeout)
    }

    /// Feeds one event; returns the actions it causes.
    pub fn handle(&mut self, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
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
                    self.propose(block, payload, Vec::new(), &mut out);
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
            Event::Committed { height } => {
                if height >= self.record.height {
                    self.start_height(height + 1, &mut out);
                }
            }
        }
        out
    }

    fn start_height(&mut self, height: Height, out: &mut Vec<Action>) {
        self.record = SafetyRecord { height, ..Default::default() };
        self.views.clear();
        self.view_changes.clear();
        self.own_view_changes.clear();
        self.helped.clear();
        self.building = false;
        self.decided = false;
        out.push(Action::Persist(self.record.clone()));
        self.enter_view(0, out);
        let buffered = std::mem::take(&mut self.next_height);
        for m in buffered {
            if m.height() == height {
                self.on_message(m, out);
            }
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
            let t = self.timeout(self.record.view);
            self.set_timer(t, out);
        }
    }

    fn resend_view_change(&mut self, out: &mut Vec<Action>) {
        let view = self.record.view;
        let own = match self.view_changes.get(&view).and_then(|m| m.get(&self.me)).cloned() {
            Some(own) => own,
            None if self.record.prepared.as_ref().is_some_and(|p| p.view >= view) => {
                // Cannot happen (having prepared here marks the view synced), and a view change may not carry a
                // certificate from its own view: move on instead.
                self.start_view_change(view + 1, out);
                return;
            }
            None => {
                // After a restart the signed message is gone; re-sign the same content (same view, same prepared
                // certificate): a view change is not a vote for a block, so this cannot equivocate.
                let body = ViewChange { height: self.record.height, view, prepared: self.record.prepared.clone() };
                let signed = self.sign(body);
                self.remember_own(signed.clone());
                self.view_changes.entry(view).or_default().insert(self.me, signed.clone());
                signed
            }
        };
        out.push(Action::Broadcast(Message::ViewChange(own)));
        self.set_timer(self.config.base_timeout, out);
    }

    fn remember_own(&mut self, vc: Signed<ViewChange>) {
        self.own_view_changes.insert(vc.body.view, vc);
        while self.own_view_changes.len() > 64 {
            self.own_view_changes.pop_first();
        }
    }

    /// A peer is still in `view`, below ours: send it our view change for that view, which it may have missed, so
    /// it can gather a quorum there, time out and follow. Re-signing after a restart is safe only while our
    /// prepared certificate is older than that view (a view change must carry the highest one below its view).
    fn help_lagging_peer(&mut self, to: NodeIndex, view: View, out: &mut Vec<Action>) {
        if view == 0 {
            return;
        }
        let answered = self.helped.entry((to, view)).or_insert(0);
        if *answered >= MAX_HELP_PER_VIEW {
            return;
        }
        *answered += 1;
        let vc = match self.own_view_changes.get(&view) {
            Some(vc) => vc.clone(),
            None => {
                if self.record.prepared.as_ref().is_some_and(|p| p.view >= view) {
                    return;
                }
                let body = ViewChange { height: self.record.height, view, prepared: self.record.prepared.clone() };
                let signed = self.sign(body);
                self.remember_own(signed.clone());
                signed
            }
        };
        out.push(Action::Send { to, message: Message::ViewChange(vc) });
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
        if view == 0 && self.leader(h, 0) == self.me && self.record.proposed.is_none() && !self.decided {
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

    fn start_view_change(&mut self, view: View, out: &mut Vec<Action>) {
        if view <= self.record.view {
            return;
        }
        self.move_to_view(view, out);
        let body = ViewChange { height: self.record.height, view, prepared: self.record.prepared.clone() };
        let signed = self.sign(body);
        out.push(Action::Broadcast(Message::ViewChange(signed.clone())));
        self.remember_own(signed.clone());
        self.view_changes.entry(view).or_default().insert(self.me, signed);
        self.enter_view(view, out);
    }

    fn sign<T: SigningBytes>(&self, body: T) -> Signed<T> {
        let signature = self.crypto.sign(&body.signing_bytes());
        Signed { signer: self.me, body, signature }
    }

    fn sign_vote(&self, vote: Vote, commit: bool) -> Signed<Vote> {
        let bytes = if commit { CommitBody(&vote).signing_bytes() } else { PrepareBody(&vote).signing_bytes() };
        Signed { signer: self.me, signature: self.crypto.sign(&bytes), body: vote }
    }

    fn verify_vote(&self, v: &Signed<Vote>, commit: bool) -> bool {
        let bytes = if commit { CommitBody(&v.body).signing_bytes() } else { PrepareBody(&v.body).signing_bytes() };
        v.signer < self.n && self.crypto.verify(v.signer, &bytes, &v.signature)
    }

    fn verify_prepared(&self, height: Height, cert: &PreparedCertificate) -> bool {
        // Cheap checks before any signature: at most n distinct signers, and bytes that are the certified block.
        let distinct: BTreeSet<NodeIndex> = cert.prepares.iter().map(|p| p.signer).collect();
        if cert.prepares.len() > self.n || distinct.len() != cert.prepares.len() || distinct.len() < self.quorum() {
            return false;
        }
        if !self.crypto.payload_matches(&cert.block, &cert.payload) {
            return false;
        }
        let mut signers = BTreeSet::new();
        for p in &cert.prepares {
            if p.body != (Vote { height, view: cert.view, block: cert.block }) || !self.verify_vote(p, false) {
                return false;
            }
            signers.insert(p.signer);
        }
        signers.len() >= self.quorum()
    }

    fn verify_view_change(&self, vc: &Signed<ViewChange>) -> bool {
        if vc.signer >= self.n || !self.crypto.verify(vc.signer, &vc.body.signing_bytes(), &vc.signature) {
            return false;
        }
        match &vc.body.prepared {
            None => true,
            Some(p) => p.view < vc.body.view && self.verify_prepared(vc.body.height, p),
        }
    }

    fn on_message(&mut self, m: Message, out: &mut Vec<Action>) {
        let h = self.record.height;
        if m.signer() >= self.n || m.signer() == self.me {
            return;
        }
        if m.height() == h + 1 {
            // Bounded per signer, so one peer cannot crowd out everyone else's early messages.
            let from = m.signer();
            let mine = self.next_height.iter().filter(|b| b.signer() == from).count();
            if mine < NEXT_HEIGHT_PER_SIGNER {
                self.next_height.push(m);
            }
            return;
        }
        if m.height() != h {
            return;
        }
        let view = m.view();
        if view > self.record.view.saturating_add(self.config.max_view_ahead) {
            return;
        }
        match m {
            Message::Proposal(p) => self.on_proposal(p, out),
            Message::Prepare(v) => {
                if view >= self.record.view && self.verify_vote(&v, false) {
                    self.views.entry(view).or_default().prepares.insert(v.signer, v);
                    self.check_prepared(view, out);
                }
            }
            Message::Commit(v) => {
                if view >= self.record.view && self.verify_vote(&v, true) {
                    self.views.entry(view).or_default().commits.insert(v.signer, v);
                    self.check_decided(view, out);
                }
            }
            Message::ViewChange(vc) => {
                if view < self.record.view {
                    // Look at the help budget before paying for signature checks: a replayed old view change must
                    // not cost recoveries forever.
                    let spent = self.helped.get(&(vc.signer, view)).copied().unwrap_or(0);
                    if view > 0 && spent < MAX_HELP_PER_VIEW && self.verify_view_change(&vc) {
                        self.help_lagging_peer(vc.signer, view, out);
                    }
                    return;
                }
                if view > self.record.view || (view == self.record.view && view > 0) {
                    if !self.verify_view_change(&vc) {
                        return;
                    }
                    // Keep at most two view changes per signer: its highest, and the one for our current view (which
                    // may be older, sent to help us gather a quorum here). Memory stays bounded by 2n.
                    let signer = vc.signer;
                    let current = self.record.view;
                    let newer_exists = self.view_changes.range(view + 1..).any(|(_, m)| m.contains_key(&signer));
                    if newer_exists && view != current {
                        return;
                    }
                    for (v, m) in self.view_changes.range_mut(..view) {
                        if *v != current {
                            m.remove(&signer);
                        }
                    }
                    self.view_changes.entry(view).or_default().insert(signer, vc);
                    if view == self.record.view
                        && self.view_changes.get(&view).is_some_and(|m| m.len() >= self.quorum())
                    {
                        self.mark_synced(out);
                    }
                    self.maybe_follow(out);
                    self.try_new_view(self.record.view, out);
                }
            }
        }
    }

    /// f+1 validators in views above ours: at least one is honest, so move to the lowest of those views.
    fn maybe_follow(&mut self, out: &mut Vec<Action>) {
        let mut senders: BTreeMap<NodeIndex, View> = BTreeMap::new();
        for (v, msgs) in self.view_changes.range(self.record.view + 1..) {
            for s in msgs.keys() {
                senders.entry(*s).or_insert(*v);
            }
        }
        if senders.len() > self.f() {
            // Move to the lowest of those views: never further than the honest validators among them went.
            if let Some(target) = senders.values().copied().min() {
                self.start_view_change(target, out);
            }
        }
    }

    /// As the leader of `view` > 0 with 2f+1 view changes, propose.
    fn try_new_view(&mut self, view: View, out: &mut Vec<Action>) {
        if view == 0 || self.leader(self.record.height, view) != self.me || self.record.proposed.is_some() {
            return;
        }
        if self.decided || self.building || view != self.record.view {
            return;
        }
        let Some(vcs) = self.view_changes.get(&view) else { return };
        if vcs.len() < self.quorum() {
            return;
        }
        let justification: Vec<Signed<ViewChange>> = vcs.values().cloned().collect();
        let best = justification
            .iter()
            .filter_map(|vc| vc.body.prepared.as_ref())
            .max_by(|a, b| a.view.cmp(&b.view).then_with(|| b.block.cmp(&a.block)))
            .cloned();
        match best {
            Some(p) => self.propose(p.block, p.payload, justification, out),
            None => {
                self.building = true;
                self.building_justification = justification;
                out.push(Action::BuildBlock { height: self.record.height, view });
            }
        }
    }

    fn propose(
        &mut self,
        block: BlockId,
        payload: Vec<u8>,
        mut justification: Vec<Signed<ViewChange>>,
        out: &mut Vec<Action>,
    ) {
        let view = self.record.view;
        if self.record.proposed.is_some() {
            return;
        }
        if view > 0 && justification.is_empty() {
            // Built after collecting view changes: justify with the set that allowed building (a view change that
            // arrived meanwhile could carry a certificate this block would not honour).
            justification = std::mem::take(&mut self.building_justification);
        }
        self.record.proposed = Some(block);
        out.push(Action::Persist(self.record.clone()));
        let body = Proposal { height: self.record.height, view, block, payload: payload.clone(), justification };
        let signed = self.sign(body);
        out.push(Action::Broadcast(Message::Proposal(signed)));
        let vs = self.views.entry(view).or_default();
        vs.proposal = Some((block, payload));
        // The leader built (and so executed) the block itself, or re-proposes one a quorum prepared (so at least one
        // honest validator executed it, and its bytes were checked against its id with the certificate).
        vs.validated = Some(true);
        self.send_prepare(block, out);
    }

    fn on_proposal(&mut self, p: Signed<Proposal>, out: &mut Vec<Action>) {
        let Proposal { height, view, block, .. } = p.body;
        if p.signer != self.leader(height, view) || view < self.record.view {
            return;
        }
        if !self.crypto.verify(p.signer, &p.body.signing_bytes(), &p.signature) {
            return;
        }
        if view > 0 && !self.justified(&p.body) {
            return;
        }
        if view > self.record.view {
            // A justified proposal proves a quorum moved on: follow it.
            self.move_to_view(view, out);
            self.enter_view(view, out);
        }
        // A justified proposal proves a quorum is in this view.
        if view > 0 {
            self.mark_synced(out);
        }
        let vs = self.views.entry(view).or_default();
        if vs.proposal.is_some() {
            return;
        }
        vs.proposal = Some((block, p.body.payload.clone()));
        out.push(Action::ValidateBlock { height, view, block, payload: p.body.payload });
    }

    fn justified(&self, p: &Proposal) -> bool {
        let distinct: BTreeSet<NodeIndex> = p.justification.iter().map(|vc| vc.signer).collect();
        if p.justification.len() > self.n || distinct.len() != p.justification.len() || distinct.len() < self.quorum() {
            return false;
        }
        let mut signers = BTreeSet::new();
        let mut best: Option<&PreparedCertificate> = None;
        for vc in &p.justification {
            if vc.body.height != p.height || vc.body.view != p.view || !self.verify_view_change(vc) {
                return false;
            }
            signers.insert(vc.signer);
            if let Some(c) = &vc.body.prepared
                && best.is_none_or(|b| c.view > b.view)
            {
                best = Some(c);
            }
        }
        if signers.len() < self.quorum() {
            return false;
        }
        best.is_none_or(|b| b.block == p.block)
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
        self.views.entry(view).or_default().prepares.insert(self.me, signed);
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
        let prepares: Vec<Signed<Vote>> = vs.prepares.values().filter(|v| v.body.block == block).cloned().collect();
        if prepares.len() < self.quorum() {
            return;
        }
        self.record.prepared = Some(PreparedCertificate { view, block, payload, prepares });
        self.record.commit_vote = Some(block);
        out.push(Action::Persist(self.record.clone()));
        let signed = self.sign_vote(Vote { height: self.record.height, view, block }, true);
        out.push(Action::Broadcast(Message::Commit(signed.clone())));
        self.views.entry(view).or_default().commits.insert(self.me, signed);
        self.check_decided(view, out);
    }

    fn check_decided(&mut self, view: View, out: &mut Vec<Action>) {
        if self.decided {
            return;
        }
        let Some(vs) = self.views.get(&view) else { return };
        let mut by_block: BTreeMap<BlockId, Vec<Signed<Vote>>> = BTreeMap::new();
        for c in vs.commits.values() {
            by_block.entry(c.body.block).or_default().push(c.clone());
        }
        let Some((block, commits)) = by_block.into_iter().find(|(_, c)| c.len() >= self.quorum()) else { return };
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
        fn verify(&self, signer: NodeIndex, bytes: &[u8], signature: &[u8]) -> bool {
            signature == tag(signer, bytes)
        }
        fn payload_matches(&self, block: &BlockId, payload: &[u8]) -> bool {
            payload == block.0
        }
    }

    fn node(me: NodeIndex, record: SafetyRecord) -> PbftState<TestCrypto> {
        PbftState::new(me, 4, TestCrypto(me), PbftConfig::default(), record).0
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
        let cert = PreparedCertificate { view: 0, block: A, payload: vec![1, 2], prepares: vec![prepare(0, 0, A)] };
        let record = SafetyRecord {
            height: 9,
            view: 2,
            prepared_vote: Some(B),
            prepared: Some(cert.clone()),
            ..Default::default()
        };
        assert_eq!(SafetyRecord::decode(&record.encode().expect("encodes")).expect("decodes"), record);
        let m = Message::ViewChange(view_change(1, 3, Some(cert)));
        assert_eq!(Message::decode(&m.encode().expect("encodes")).expect("decodes"), m);
        assert!(Message::decode(&[0xff, 1, 2]).is_err());
        assert!(SafetyRecord::decode(&[]).is_err());
    }

    #[test]
    fn new_leader_must_repropose_the_highest_prepared_block() {
        // Height 1, view 1: leader is (1 + 1) % 4 = 2. Three view changes, one carrying a certificate for A.
        let cert = PreparedCertificate {
            view: 0,
            block: A,
            payload: A.0.to_vec(),
            prepares: (0..3).map(|i| prepare(i, 0, A)).collect(),
        };
        let vcs = vec![view_change(0, 1, Some(cert)), view_change(1, 1, None), view_change(3, 1, None)];
        let mut n = node(3, SafetyRecord { height: 1, ..Default::default() });
        let out = n.handle(Event::Message(proposal(2, 1, B, vcs.clone())));
        assert_eq!(validates(&out), None, "a proposal of B ignoring A's prepared certificate is refused");
        let out = n.handle(Event::Message(proposal(2, 1, A, vcs.clone())));
        assert_eq!(validates(&out), Some(A));
        assert_eq!(n.view(), 1, "a justified proposal moves the replica to its view");
        // Too few view changes do not justify anything.
        let mut m = node(3, SafetyRecord { height: 1, ..Default::default() });
        assert_eq!(validates(&m.handle(Event::Message(proposal(2, 1, A, vcs[..2].to_vec())))), None);
        // Nor does a proposal from someone who is not the leader.
        assert_eq!(validates(&m.handle(Event::Message(proposal(1, 1, A, vcs)))), None);
    }

    #[test]
    fn a_restarted_validator_never_prepares_a_second_block_in_a_view() {
        // It prepared A in view 0 before the crash (leader of height 1 view 0 is node 1).
        let record = SafetyRecord { height: 1, view: 0, prepared_vote: Some(A), ..Default::default() };
        let mut n = node(3, record);
        let out = n.handle(Event::Message(proposal(1, 0, B, vec![])));
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
        n.handle(Event::Message(proposal(1, 0, A, vec![])));
        let out = n.handle(Event::BlockValidated { height: 1, view: 0, block: A, valid: true });
        let persist = out.iter().position(|a| matches!(a, Action::Persist(r) if r.prepared_vote == Some(A)));
        let send = out.iter().position(|a| matches!(a, Action::Broadcast(Message::Prepare(_))));
        assert!(persist.is_some() && send.is_some() && persist < send, "{out:?}");
    }

    #[test]
    fn one_peer_in_a_far_view_drags_nobody_but_f_plus_one_do() {
        let mut n = node(3, SafetyRecord { height: 1, ..Default::default() });
        n.handle(Event::Message(Message::ViewChange(view_change(0, 9, None))));
        assert_eq!(n.view(), 0);
        n.handle(Event::Message(Message::ViewChange(view_change(1, 5, None))));
        assert_eq!(n.view(), 5, "f+1 = 2 validators are beyond view 0: follow to the lowest of their views");
        // Beyond the look-ahead bound, messages are not even read.
        let mut m = node(3, SafetyRecord { height: 1, ..Default::default() });
        m.handle(Event::Message(Message::ViewChange(view_change(0, 1_000_000, None))));
        m.handle(Event::Message(Message::ViewChange(view_change(1, 1_000_000, None))));
        assert_eq!(m.view(), 0);
    }

    #[test]
    fn a_quorum_of_commits_decides_and_timeouts_back_off() {
        let mut n = node(3, SafetyRecord { height: 1, ..Default::default() });
        n.handle(Event::Message(proposal(1, 0, A, vec![])));
        n.handle(Event::BlockValidated { height: 1, view: 0, block: A, valid: true });
        let mut decided = Vec::new();
        for i in 0..3 {
            let body = Vote { height: 1, view: 0, block: A };
            let p = Signed { signer: i, signature: tag(i, &PrepareBody(&body).signing_bytes()), body };
            decided.extend(n.handle(Event::Message(Message::Prepare(p))));
            let c = Signed { signer: i, signature: tag(i, &CommitBody(&body).signing_bytes()), body };
            decided.extend(n.handle(Event::Message(Message::Commit(c))));
        }
        let d = decided.iter().find_map(|a| match a {
            Action::Decide { block, commits, payload, .. } => Some((*block, commits.len(), payload.is_some())),
            _ => None,
        });
        assert_eq!(d, Some((A, 3, true)));
        assert!(n.timeout(1) > n.timeout(0) && n.timeout(40) == n.config.max_timeout);
    }
}
