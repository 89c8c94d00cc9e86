//! Deterministic simulation of PBFT: seeded schedules with message drops, delays, duplicates, partitions,
//! crash-restarts from persisted state, a byzantine validator (equivocating, silent, invalid, twinned, forging the
//! signer field, flooding next-height and far-view messages, replaying old messages and certificates), an observer
//! sending consensus messages, idle leaders that heartbeat instead of proposing, and blocks of realistic and maximal
//! byte size, checked for safety (no two honest validators decide different blocks at a height), liveness (after
//! the network heals, every honest validator reaches the target height) and message size (every message fits the
//! chain's `message_limit`, whatever happened before it). A failing seed is printed and replays exactly: `ACCORD_SIM_SEED=<seed> cargo test -p
//! accord-consensus --test simulation`. `ACCORD_SIM_SEEDS=N` sets how many seeds run (default 10,000).

mod sim;

use std::cmp::Reverse;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BinaryHeap};
use std::hash::{Hash, Hasher};

use accord_consensus::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sim::{Item, mac};

const N: usize = 4;

/// Mid-batch crashes injected across all seeds (reported, and required to be non-zero so the fault is exercised).
static MIDBATCH_CRASHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
const TARGET_HEIGHT: Height = 4;
/// The simulated chain's block byte limit; "maximal" seeds build every block at exactly this size.
const MAX_BLOCK_BYTES: usize = 256 * 1024;

/// Counts over all seeds, reported at the end and required to be non-zero so each hostile behaviour is exercised.
static REFUSED_FAULTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static FETCHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static HEARTBEATS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static LARGEST_MESSAGE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Signatures modelled by keyed hashes: a validator can only produce its own (the property real signatures give).
#[derive(Debug, Clone)]
struct SimCrypto {
    me: usize,
    secrets: Vec<u64>,
}

/// A block's id: a hash of its bytes (any size), so fetched or re-proposed bytes can be checked against it.
fn id_of(payload: &[u8]) -> BlockId {
    let mut h = DefaultHasher::new();
    payload.hash(&mut h);
    let mut id = [0u8; 32];
    id[..8].copy_from_slice(&h.finish().to_be_bytes());
    id[8..16].copy_from_slice(&(payload.len() as u64).to_be_bytes());
    BlockId(id)
}

impl MessageCrypto for SimCrypto {
    fn sign(&self, bytes: &[u8]) -> Vec<u8> {
        mac(self.secrets[self.me], bytes)
    }
    fn verify(&self, _height: Height, signer: NodeIndex, bytes: &[u8], signature: &[u8]) -> bool {
        self.secrets.get(signer).is_some_and(|s| mac(*s, bytes) == signature)
    }
    fn payload_matches(&self, block: &BlockId, payload: &[u8]) -> bool {
        id_of(payload) == *block
    }
}

#[derive(Debug, Clone, Copy)]
enum Byzantine {
    /// Sends conflicting proposals and votes to different peers, and view changes for far-ahead views.
    Equivocator,
    /// Says nothing at all.
    Silent,
    /// Proposes blocks that fail validation.
    InvalidProposer,
    /// Twins: two instances of honest code share the validator's key (as when an operator starts a backup while the
    /// primary still runs) and, not knowing of each other, propose and vote independently.
    Twins,
    /// Sends its messages also with another validator's index in the signer field (its own signature).
    Forger,
    /// Floods valid, self-signed messages for the next height and for far views along with everything it sends.
    Flooder,
    /// Re-sends old messages (earlier heights and views, old certificates) it has seen, at random.
    Replayer,
}

/// How big the blocks of a seed are.
#[derive(Debug, Clone, Copy)]
enum BlockSize {
    /// A few hundred bytes to tens of kilobytes.
    Realistic,
    /// Exactly the block byte limit.
    Maximal,
}

/// Simulator index of the twin, when there is one (validator indices are 0..N).
const TWIN: usize = N;

struct Sim {
    rng: StdRng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    items: Vec<Option<Item>>,
    nodes: Vec<Option<PbftState<SimCrypto>>>,
    epoch: Vec<u64>,
    persisted: Vec<SafetyRecord>,
    committed: Vec<Height>,
    decisions: Vec<BTreeMap<Height, BlockId>>,
    secrets: Vec<u64>,
    byzantine: Option<(usize, Byzantine)>,
    /// An observer (a member that is not a validator) sends consensus messages with its own key.
    noisy_observer: bool,
    block_size: BlockSize,
    /// Leaders wait this long for transactions (heartbeating meanwhile) before they can build, in some seeds.
    idle_wait: u64,
    /// Block bytes each node stored once (survive crashes, like the node's body store).
    bodies: Vec<BTreeMap<BlockId, Vec<u8>>>,
    /// What the replayer has seen.
    replay_pool: Vec<Message>,
    drop_rate: f64,
    /// Chance, per action, that an honest validator crashes right before carrying it out (mid-batch: after some
    /// persists, before some sends), then restarts from what it persisted.
    midbatch_crash_rate: f64,
    dup_rate: f64,
    max_delay: u64,
    partition: Option<(u64, u64, Vec<usize>)>,
    heal_at: u64,
    log: Vec<String>,
}

impl Sim {
    fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let secrets: Vec<u64> = (0..N).map(|_| rng.r#gen()).collect();
        let byzantine = match rng.gen_range(0..8) {
            0 => None,
            1 => Some((rng.gen_range(0..N), Byzantine::Equivocator)),
            2 => Some((rng.gen_range(0..N), Byzantine::Silent)),
            3 => Some((rng.gen_range(0..N), Byzantine::Twins)),
            4 => Some((rng.gen_range(0..N), Byzantine::Forger)),
            5 => Some((rng.gen_range(0..N), Byzantine::Flooder)),
            6 => Some((rng.gen_range(0..N), Byzantine::Replayer)),
            _ => Some((rng.gen_range(0..N), Byzantine::InvalidProposer)),
        };
        let noisy_observer = rng.gen_bool(0.3);
        let block_size = if rng.gen_bool(0.1) { BlockSize::Maximal } else { BlockSize::Realistic };
        let idle_wait = if rng.gen_bool(0.3) { rng.gen_range(400..1_500) } else { 0 };
        let heal_at = rng.gen_range(2_000..8_000);
        let partition = if rng.gen_bool(0.5) {
            let start = rng.gen_range(0..heal_at);
            let end = rng.gen_range(start..=heal_at);
            let side: Vec<usize> = (0..N).filter(|_| rng.gen_bool(0.5)).collect();
            Some((start, end, side))
        } else {
            None
        };
        let mut sim = Self {
            drop_rate: rng.gen_range(0.0..0.3),
            midbatch_crash_rate: if rng.gen_bool(0.5) { 0.002 } else { 0.0 },
            dup_rate: rng.gen_range(0.0..0.1),
            max_delay: rng.gen_range(1..200),
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            items: Vec::new(),
            // One slot more than validators: the twin, if any.
            nodes: (0..=N).map(|_| None).collect(),
            epoch: vec![0; N + 1],
            persisted: vec![SafetyRecord { height: 1, ..Default::default() }; N + 1],
            committed: vec![0; N + 1],
            decisions: vec![BTreeMap::new(); N + 1],
            secrets,
            byzantine,
            noisy_observer,
            block_size,
            idle_wait,
            bodies: vec![BTreeMap::new(); N + 1],
            replay_pool: Vec::new(),
            partition,
            heal_at,
            log: Vec::new(),
        };
        for i in 0..N {
            sim.boot(i);
        }
        if sim.twins() {
            sim.boot(TWIN);
        }
        // Crash and restart honest validators (persisted state survives), before the network heals.
        let crashes = sim.rng.gen_range(0..3);
        for _ in 0..crashes {
            let node = sim.rng.gen_range(0..N);
            if sim.is_byzantine(node) {
                continue;
            }
            let at = sim.rng.gen_range(0..sim.heal_at);
            let back = sim.rng.gen_range(at..=sim.heal_at);
            sim.schedule(at, Item::Crash { node });
            sim.schedule(back, Item::Restart { node });
        }
        sim.schedule(100, Item::SyncTick);
        sim
    }

    fn is_byzantine(&self, node: usize) -> bool {
        self.byzantine.is_some_and(|(b, _)| b == node) || node == TWIN
    }

    fn twins(&self) -> bool {
        matches!(self.byzantine, Some((_, Byzantine::Twins)))
    }

    /// The validator index a simulator node signs as (the twin signs as its original).
    fn identity(&self, node: usize) -> usize {
        match self.byzantine {
            Some((b, Byzantine::Twins)) if node == TWIN => b,
            _ => node,
        }
    }

    fn schedule(&mut self, at: u64, item: Item) {
        self.seq += 1;
        self.items.push(Some(item));
        self.queue.push(Reverse((at, self.seq, self.items.len() - 1)));
    }

    fn boot(&mut self, node: usize) {
        let me = self.identity(node);
        let crypto = SimCrypto { me, secrets: self.secrets.clone() };
        let config = PbftConfig { base_timeout: 300, max_timeout: 5_000, max_view_ahead: 16 };
        let (state, actions) =
            PbftState::new(Membership { n: N, me: Some(me) }, crypto, config, self.persisted[node].clone());
        self.nodes[node] = Some(state);
        self.epoch[node] += 1;
        // The chain may be ahead of the record (committed, then crashed before persisting the next height).
        let committed = self.committed[node];
        self.run_actions(node, actions);
        if committed >= self.persisted[node].height {
            self.feed(node, Event::Committed { height: committed, next: None });
        }
    }

    fn cut(&self, a: usize, b: usize) -> bool {
        match &self.partition {
            Some((s, e, side)) if self.now >= *s && self.now < *e => side.contains(&a) != side.contains(&b),
            _ => false,
        }
    }

    fn send(&mut self, from: usize, to: usize, msg: Message) {
        if matches!(msg, Message::Proposal(_) | Message::ViewChange(_)) {
            let size = msg.encode().expect("encodes").len();
            assert!(size <= message_limit(MAX_BLOCK_BYTES, N), "a {} of {size} bytes exceeds the limit", msg.kind());
            LARGEST_MESSAGE.fetch_max(size, std::sync::atomic::Ordering::Relaxed);
        }
        let healed = self.now >= self.heal_at;
        if !healed && (self.cut(from, to) || self.rng.gen_bool(self.drop_rate)) {
            return;
        }
        let copies = if !healed && self.rng.gen_bool(self.dup_rate) { 2 } else { 1 };
        for _ in 0..copies {
            let delay = self.rng.gen_range(1..=self.max_delay);
            self.schedule(self.now + delay, Item::Deliver { to, msg: msg.clone() });
            // Whatever is addressed to a validator with a twin reaches whichever instance the network routes it to:
            // here both, each at its own time.
            if self.twins() && self.identity(TWIN) == to {
                let delay = self.rng.gen_range(1..=self.max_delay);
                self.schedule(self.now + delay, Item::Deliver { to: TWIN, msg: msg.clone() });
            }
        }
    }

    fn broadcast(&mut self, from: usize, msg: Message) {
        if let Some((b, kind)) = self.byzantine
            && (b == from || from == TWIN)
        {
            return self.byzantine_broadcast(from, kind, msg);
        }
        for to in 0..N {
            if to != from {
                self.send(from, to, msg.clone());
            }
        }
    }

    fn byzantine_broadcast(&mut self, from: usize, kind: Byzantine, msg: Message) {
        let crypto = SimCrypto { me: from, secrets: self.secrets.clone() };
        match kind {
            Byzantine::Silent => {}
            Byzantine::Forger => {
                for to in 0..N {
                    if to == from {
                        continue;
                    }
                    self.send(from, to, msg.clone());
                    // The same message under another validator's name (its signature is still the forger's), and a
                    // proposal for the next height in the name of that height's leader.
                    let victim = (from + 1 + self.rng.gen_range(0..N - 1)) % N;
                    self.send(from, to, with_signer(msg.clone(), victim));
                    let h = msg.height() + 1;
                    let leader = (h % N as u64) as usize;
                    let payload = vec![0xf0; 64];
                    let body = Proposal { height: h, view: 0, block: id_of(&payload), payload, justification: vec![] };
                    let forged = Signed { signer: leader, signature: crypto.sign(&body.signing_bytes()), body };
                    self.send(from, to, Message::Proposal(forged));
                }
            }
            Byzantine::Flooder => {
                for to in 0..N {
                    if to == from {
                        continue;
                    }
                    self.send(from, to, msg.clone());
                    for k in 0..6u64 {
                        let block = BlockId([self.rng.r#gen(); 32]);
                        let body = Vote { height: msg.height() + 1, view: k, block };
                        let m = if k % 2 == 0 {
                            Message::Prepare(Signed {
                                signer: from,
                                signature: crypto.sign(&PrepareBody(&body).signing_bytes()),
                                body,
                            })
                        } else {
                            Message::Commit(Signed {
                                signer: from,
                                signature: crypto.sign(&CommitBody(&body).signing_bytes()),
                                body,
                            })
                        };
                        self.send(from, to, m);
                    }
                    for view in [msg.view() + 3, msg.view() + 40, msg.view() + 100_000] {
                        let vc = ViewChange { height: msg.height(), view, prepared: None };
                        let s = Signed { signer: from, signature: crypto.sign(&vc.signing_bytes()), body: vc };
                        self.send(from, to, Message::ViewChange(s));
                    }
                }
            }
            Byzantine::Replayer => {
                for to in 0..N {
                    if to != from {
                        self.send(from, to, msg.clone());
                    }
                }
                for _ in 0..3 {
                    if self.replay_pool.is_empty() {
                        break;
                    }
                    let old = self.replay_pool[self.rng.gen_range(0..self.replay_pool.len())].clone();
                    let to = self.rng.gen_range(0..N);
                    if to != from {
                        self.send(from, to, old);
                    }
                }
            }
            Byzantine::Twins => {
                // Each twin broadcasts honestly to the other validators (the twins do not know of each other).
                let me = self.identity(from);
                for to in 0..N {
                    if to != me {
                        self.send(from, to, msg.clone());
                    }
                }
            }
            Byzantine::InvalidProposer => {
                let msg = match msg {
                    Message::Proposal(mut p) => {
                        p.body.payload = b"bad".to_vec();
                        p.body.block = BlockId([0xba; 32]);
                        p.signature = crypto.sign(&p.body.signing_bytes());
                        Message::Proposal(p)
                    }
                    other => other,
                };
                for to in 0..N {
                    if to != from {
                        self.send(from, to, msg.clone());
                    }
                }
            }
            Byzantine::Equivocator => {
                for to in 0..N {
                    if to == from {
                        continue;
                    }
                    let twist = to % 2 == 0;
                    let m = match (&msg, twist) {
                        (Message::Proposal(p), true) => {
                            let mut p = p.clone();
                            // One alternative block, valid in itself, for half of the validators: replicas can only
                            // refuse it by the rules.
                            p.body.block = BlockId([0xee; 32]);
                            p.body.payload = p.body.block.0.to_vec();
                            p.signature = crypto.sign(&p.body.signing_bytes());
                            Message::Proposal(p)
                        }
                        (Message::Prepare(v), true) => {
                            let body = Vote { block: BlockId([0xee; 32]), ..v.body };
                            Message::Prepare(Signed {
                                signer: from,
                                signature: crypto.sign(&PrepareBody(&body).signing_bytes()),
                                body,
                            })
                        }
                        (Message::Commit(v), true) => {
                            let body = Vote { block: BlockId([0xee; 32]), ..v.body };
                            Message::Commit(Signed {
                                signer: from,
                                signature: crypto.sign(&CommitBody(&body).signing_bytes()),
                                body,
                            })
                        }
                        _ => msg.clone(),
                    };
                    self.send(from, to, m);
                    // Twisted recipients also get the original, later: a validator that forgot its vote would now
                    // vote for both.
                    if twist && matches!(msg, Message::Proposal(_)) {
                        self.send(from, to, msg.clone());
                    }
                    // And a view change for a far-ahead view, to try to drag peers along.
                    let ahead = if self.rng.gen_bool(0.5) { 2 } else { 1_000 };
                    let vc = ViewChange { height: msg.height(), view: msg.view() + ahead, prepared: None };
                    let signed = Signed { signer: from, signature: crypto.sign(&vc.signing_bytes()), body: vc };
                    self.send(from, to, Message::ViewChange(signed));
                }
            }
        }
    }

    fn feed(&mut self, node: usize, event: Event) {
        let Some(state) = self.nodes[node].as_mut() else { return };
        let actions = state.handle(event);
        self.run_actions(node, actions);
    }

    /// A message arrives: admitted (screened and verified) first, as the node's driver does.
    fn deliver(&mut self, node: usize, msg: Message) {
        if matches!(self.byzantine, Some((b, Byzantine::Replayer)) if b == node) && self.replay_pool.len() < 512 {
            self.replay_pool.push(msg.clone());
        }
        let Some(state) = self.nodes[node].as_mut() else { return };
        match state.admit(msg) {
            Ok(m) => self.feed(node, Event::Message(m)),
            Err(r) => {
                if r.is_fault() {
                    REFUSED_FAULTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    }

    /// The observer's noise: messages signed with a key outside the validator set, under its own out-of-range
    /// index or a validator's.
    fn observer_noise(&mut self) {
        let secret = !self.secrets[0];
        for to in 0..N {
            let height = self.committed[to] + 1;
            let payload = vec![0x0b; 48];
            let body = Proposal { height, view: 0, block: id_of(&payload), payload, justification: vec![] };
            let signer = if self.rng.gen_bool(0.5) { N + 1 } else { (height % N as u64) as usize };
            let signature = mac(secret, &body.signing_bytes());
            let vote = Vote { height, view: 0, block: body.block };
            let prepare = Signed { signer, signature: mac(secret, &PrepareBody(&vote).signing_bytes()), body: vote };
            self.send(TWIN + 1, to, Message::Proposal(Signed { signer, signature, body }));
            self.send(TWIN + 1, to, Message::Prepare(prepare));
        }
    }

    fn payload_for(&mut self, height: Height, view: View, node: usize) -> Vec<u8> {
        let mut h = DefaultHasher::new();
        // The epoch changes on restart, so a leader that forgot it proposed would propose a different block.
        (height, view, node, self.secrets[0], self.epoch[node]).hash(&mut h);
        let seed = h.finish().to_be_bytes();
        let size = match self.block_size {
            BlockSize::Maximal => MAX_BLOCK_BYTES,
            BlockSize::Realistic => self.rng.gen_range(64..16 * 1024),
        };
        let mut payload = vec![0u8; size];
        payload[..8].copy_from_slice(&seed);
        payload
    }

    fn run_actions(&mut self, node: usize, actions: Vec<Action>) {
        let epoch = self.epoch[node];
        for a in actions {
            if self.now < self.heal_at && !self.is_byzantine(node) && self.rng.gen_bool(self.midbatch_crash_rate) {
                self.log.push(format!("t={} node {node} crashes mid-batch before {}", self.now, action_name(&a)));
                MIDBATCH_CRASHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.nodes[node] = None;
                self.epoch[node] += 1;
                let back = (self.now + self.rng.gen_range(50..500)).min(self.heal_at);
                self.schedule(back, Item::Restart { node });
                return;
            }
            match a {
                Action::Persist(r) => self.persisted[node] = r,
                Action::Send { to, message } => {
                    if !self.is_byzantine(node) {
                        self.send(node, to, message)
                    }
                }
                Action::Broadcast(m) => {
                    match &m {
                        Message::Heartbeat(_) => {
                            HEARTBEATS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Message::ViewChange(v) => self.log.push(format!(
                            "t={} node {node} view change h{} -> v{} prepared {:?}",
                            self.now,
                            v.body.height,
                            v.body.view,
                            v.body.prepared.as_ref().map(|p| (p.view, p.block.0[0]))
                        )),
                        Message::Proposal(p) => self.log.push(format!(
                            "t={} node {node} proposes h{} v{} {:?}",
                            self.now, p.body.height, p.body.view, p.body.block.0[0]
                        )),
                        _ => {}
                    }
                    self.broadcast(node, m)
                }
                Action::SetTimer { height, view, after, seq } => self.schedule(
                    self.now + after,
                    Item::Event { node, event: Event::Timeout { height, view, seq }, epoch },
                ),
                Action::BuildBlock { height, view } => {
                    let payload = self.payload_for(height, view, node);
                    let block = id_of(&payload);
                    self.bodies[node].insert(block, payload.clone());
                    // An idle leader heartbeats while it waits for transactions, then builds.
                    let mut at = self.now + 5;
                    if self.idle_wait > 0 {
                        let mut t = 0;
                        while t < self.idle_wait {
                            t += 250;
                            let event = Event::Idle { height, view };
                            self.schedule(self.now + t, Item::Event { node, event, epoch });
                        }
                        at = self.now + self.idle_wait;
                    }
                    let event = Event::BlockBuilt { height, view, block, payload };
                    self.schedule(at, Item::Event { node, event, epoch });
                }
                Action::ValidateBlock { height, view, block, payload } => {
                    let valid =
                        payload.as_slice() != b"bad" && payload.len() <= MAX_BLOCK_BYTES && id_of(&payload) == block;
                    if valid {
                        // Stored once, before the prepare can leave (the node's driver does the same).
                        self.bodies[node].insert(block, payload);
                    }
                    let event = Event::BlockValidated { height, view, block, valid };
                    self.schedule(self.now + 5, Item::Event { node, event, epoch });
                }
                Action::FetchBlock { height, view, block } => {
                    FETCHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    // Own store first, then any peer that holds the bytes (reachable now), after a network delay.
                    let holder = std::iter::once(node)
                        .chain(0..N)
                        .find(|p| (*p == node || !self.cut(node, *p)) && self.bodies[*p].contains_key(&block));
                    if let Some(p) = holder {
                        let payload = self.bodies[p][&block].clone();
                        let delay = if p == node { 1 } else { 2 * self.rng.gen_range(1..=self.max_delay) };
                        let event = Event::BlockFetched { height, view, block, payload };
                        self.schedule(self.now + delay, Item::Event { node, event, epoch });
                    }
                }
                Action::Equivocation(e) => {
                    assert!(self.is_byzantine(e.first.signer), "an honest validator equivocated: {e:?}");
                }
                Action::Decide { height, block, commits, .. } => {
                    assert!(commits.len() >= 3, "a decision carries a quorum certificate");
                    self.log.push(format!("t={} node {node} decides h{height} {:?}", self.now, &block.0[..4]));
                    let distinct: std::collections::BTreeSet<_> = commits.iter().map(|c| c.signer).collect();
                    assert!(distinct.len() >= 3, "a decision carries commits from a quorum of distinct validators");
                    assert!(commits.iter().all(|c| c.body.block == block && c.body.height == height));
                    if !self.is_byzantine(node)
                        && let Some(previous) = self.decisions[node].insert(height, block)
                    {
                        assert_eq!(previous, block, "node {node} decided two blocks at height {height}");
                    }
                    self.committed[node] = self.committed[node].max(height);
                    self.schedule(
                        self.now,
                        Item::Event { node, event: Event::Committed { height, next: None }, epoch },
                    );
                }
            }
        }
    }

    /// Block sync: a validator behind the best honest validator fetches the decided blocks (a real node verifies
    /// their commit certificates; here they come from an honest decision log).
    fn sync(&mut self) {
        let best = (0..N).filter(|i| !self.is_byzantine(*i)).map(|i| self.committed[i]).max().unwrap_or(0);
        for node in 0..N {
            if self.nodes[node].is_none() || self.committed[node] >= best {
                continue;
            }
            if !(self.now >= self.heal_at || self.rng.gen_bool(0.5)) {
                continue;
            }
            self.committed[node] = best;
            self.feed(node, Event::Committed { height: best, next: None });
        }
        if self.noisy_observer {
            self.observer_noise();
        }
        if self.now < self.heal_at + 60_000 {
            self.schedule(self.now + 250, Item::SyncTick);
        }
    }

    fn run(&mut self, seed: u64) {
        let deadline = self.heal_at + 60_000;
        let mut processed = 0u64;
        while let Some(Reverse((at, _, idx))) = self.queue.pop() {
            if at > deadline {
                break;
            }
            processed += 1;
            assert!(
                processed < 1_000_000,
                "seed {seed}: runaway schedule (message storm) at t={at}\n{}",
                self.log.iter().rev().take(40).rev().cloned().collect::<Vec<_>>().join("\n")
            );
            self.now = at;
            let Some(item) = self.items[idx].take() else { continue };
            match item {
                Item::Deliver { to, msg } => {
                    if to < self.nodes.len() {
                        self.deliver(to, msg)
                    }
                }
                Item::Event { node, event, epoch } => {
                    if epoch == self.epoch[node] {
                        self.feed(node, event)
                    }
                }
                Item::Crash { node } => {
                    self.log.push(format!("t={} node {node} crashes", self.now));
                    self.nodes[node] = None;
                }
                Item::Restart { node } => {
                    if self.nodes[node].is_none() {
                        self.log.push(format!("t={} node {node} restarts", self.now));
                        self.boot(node);
                    }
                }
                Item::SyncTick => self.sync(),
            }
            self.check_safety(seed);
            let honest_done = (0..N).filter(|i| !self.is_byzantine(*i)).all(|i| self.committed[i] >= TARGET_HEIGHT);
            if honest_done && self.now >= self.heal_at {
                return;
            }
        }
        let heights: Vec<Height> = self.committed.clone();
        panic!(
            "seed {seed}: no liveness after healing at t={} (byzantine {:?}); committed heights {heights:?}\n{}",
            self.heal_at,
            self.byzantine,
            self.log.iter().rev().take(60).rev().cloned().collect::<Vec<_>>().join("\n")
        );
    }

    fn check_safety(&self, seed: u64) {
        let mut agreed: BTreeMap<Height, (usize, BlockId)> = BTreeMap::new();
        for (node, d) in self.decisions.iter().enumerate() {
            for (h, b) in d {
                if let Some((other, ob)) = agreed.get(h) {
                    assert_eq!(
                        ob,
                        b,
                        "seed {seed}: SAFETY VIOLATION at height {h}: node {other} and node {node} decided different blocks\n{}",
                        self.log.join("\n")
                    );
                } else {
                    agreed.insert(*h, (node, *b));
                }
            }
        }
    }
}

fn action_name(a: &Action) -> &'static str {
    match a {
        Action::Persist(_) => "persist",
        Action::Broadcast(_) => "broadcast",
        Action::Send { .. } => "send",
        Action::SetTimer { .. } => "set-timer",
        Action::BuildBlock { .. } => "build",
        Action::ValidateBlock { .. } => "validate",
        Action::Decide { .. } => "decide",
        Action::FetchBlock { .. } => "fetch",
        Action::Equivocation(_) => "equivocation",
    }
}

/// The message with another signer index, its signature unchanged (a forgery only the signature check can catch).
fn with_signer(msg: Message, signer: NodeIndex) -> Message {
    match msg {
        Message::Proposal(mut p) => {
            p.signer = signer;
            Message::Proposal(p)
        }
        Message::Prepare(mut v) => {
            v.signer = signer;
            Message::Prepare(v)
        }
        Message::Commit(mut v) => {
            v.signer = signer;
            Message::Commit(v)
        }
        Message::ViewChange(mut v) => {
            v.signer = signer;
            Message::ViewChange(v)
        }
        Message::Heartbeat(mut h) => {
            h.signer = signer;
            Message::Heartbeat(h)
        }
    }
}

fn run_seed(seed: u64) {
    let mut sim = Sim::new(seed);
    sim.run(seed);
}

#[test]
fn seeded_schedules_are_safe_and_live() {
    if let Some(seed) = std::env::var("ACCORD_SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        run_seed(seed);
        return;
    }
    let seeds: u64 = std::env::var("ACCORD_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    for seed in 0..seeds {
        run_seed(seed);
    }
    let load = |c: &std::sync::atomic::AtomicUsize| c.load(std::sync::atomic::Ordering::Relaxed);
    let (midbatch, refused, fetches, heartbeats) =
        (load(&MIDBATCH_CRASHES), load(&REFUSED_FAULTS), load(&FETCHES), load(&HEARTBEATS));
    println!(
        "{seeds} seeded schedules ({midbatch} mid-batch crashes, {refused} faulty messages refused, {fetches} block \
         fetches by new leaders, {heartbeats} idle heartbeats, largest message {} bytes): no safety violation, all \
         live after healing",
        load(&LARGEST_MESSAGE)
    );
    if seeds >= 100 {
        assert!(midbatch > 0, "mid-batch crashes were never injected");
        assert!(refused > 0 && fetches > 0 && heartbeats > 0, "a hostile behaviour or a path was never exercised");
        assert!(load(&LARGEST_MESSAGE) > MAX_BLOCK_BYTES, "no maximal block was ever proposed");
    }
}
