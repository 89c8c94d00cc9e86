//! Deterministic simulation of PBFT across validator-set changes: a universe of nodes, each height certified by its
//! own set (members added, removed and re-ordered between heights, so an index names different nodes at different
//! heights), under message drops, delays, duplicates and crash-restarts from the persisted vote record, with view
//! changes forced by lost messages and slow leaders. Every node runs the state machine; at heights where it is no
//! validator it only follows, and block sync (modelled) hands it the decided blocks one height at a time, with the
//! set of the next height when that changes, as the node's driver does.
//!
//! Checked: safety (one block per height across every node), certificates (every decision carries a quorum of
//! commits signed by distinct members of that height's set, verified against that set), followers never sign, and
//! liveness (after the network heals every node holds the target height).
//!
//! A node's crypto knows the set of a height only once it has started that height (the node learns a set by
//! executing the block before it); next-height messages are checked against the latest set it knows, as the node
//! does. `ACCORD_SIM_SEED=<seed>` replays one seed; `ACCORD_SIM_SEEDS=N` sets how many run (default 10,000).

mod sim;

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use accord_consensus::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sim::{Item, mac};

/// Nodes that exist (validators at some heights, followers at others).
const UNIVERSE: usize = 7;
const TARGET_HEIGHT: Height = 8;

static SET_CHANGES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static VIEW_CHANGES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static CRASHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static UNKNOWN_SET_DROPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn id_of(payload: &[u8]) -> BlockId {
    let mut h = DefaultHasher::new();
    payload.hash(&mut h);
    let mut id = [0u8; 32];
    id[..8].copy_from_slice(&h.finish().to_be_bytes());
    BlockId(id)
}

/// The validator set (universe ids, in index order) of every height 1..=TARGET_HEIGHT (index 0 unused).
type Schedule = Rc<Vec<Vec<usize>>>;

fn set_at(sets: &Schedule, height: Height) -> &[usize] {
    &sets[(height.max(1) as usize).min(sets.len() - 1)]
}

fn membership(sets: &Schedule, node: usize, height: Height) -> Membership {
    let set = set_at(sets, height);
    Membership { n: set.len(), me: set.iter().position(|u| *u == node) }
}

/// Keyed-hash signatures; verification maps an index to a node through the set of the height, as far as this
/// node knows sets (`known`: the highest height it has started).
#[derive(Debug, Clone)]
struct SetCrypto {
    me: usize,
    secrets: Vec<u64>,
    sets: Schedule,
    known: Rc<Cell<Height>>,
}

impl MessageCrypto for SetCrypto {
    fn sign(&self, bytes: &[u8]) -> Vec<u8> {
        mac(self.secrets[self.me], bytes)
    }
    fn verify(&self, height: Height, signer: NodeIndex, bytes: &[u8], signature: &[u8]) -> bool {
        let set = set_at(&self.sets, height.min(self.known.get()));
        set.get(signer).is_some_and(|u| mac(self.secrets[*u], bytes) == signature)
    }
    fn payload_matches(&self, block: &BlockId, payload: &[u8]) -> bool {
        id_of(payload) == *block
    }
}

struct Sim {
    rng: StdRng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    items: Vec<Option<Item>>,
    sets: Schedule,
    secrets: Vec<u64>,
    nodes: Vec<Option<PbftState<SetCrypto>>>,
    known: Vec<Rc<Cell<Height>>>,
    epoch: Vec<u64>,
    persisted: Vec<SafetyRecord>,
    committed: Vec<Height>,
    /// The decision of each height.
    decided: BTreeMap<Height, BlockId>,
    /// Every proposed block's bytes (what peers can serve to a leader fetching a prepared block).
    proposals: BTreeMap<BlockId, Vec<u8>>,
    drop_rate: f64,
    dup_rate: f64,
    max_delay: u64,
    heal_at: u64,
    log: Vec<String>,
}

impl Sim {
    fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        // Heights 1..=TARGET: start from 4 random members; between heights add (at a random index), remove, or
        // swap one, now and then several in a row; never fewer than one.
        let mut sets = vec![Vec::new()];
        let mut universe: Vec<usize> = (0..UNIVERSE).collect();
        for i in (1..UNIVERSE).rev() {
            universe.swap(i, rng.gen_range(0..=i));
        }
        let mut set: Vec<usize> = universe[..4].to_vec();
        for h in 1..=TARGET_HEIGHT {
            if h > 1 && rng.gen_bool(0.6) {
                SET_CHANGES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let outside: Vec<usize> = (0..UNIVERSE).filter(|u| !set.contains(u)).collect();
                match rng.gen_range(0..3) {
                    0 if !outside.is_empty() => {
                        let at = rng.gen_range(0..=set.len());
                        set.insert(at, outside[rng.gen_range(0..outside.len())]);
                    }
                    1 if set.len() > 1 => {
                        set.remove(rng.gen_range(0..set.len()));
                    }
                    _ if !outside.is_empty() => {
                        let at = rng.gen_range(0..set.len());
                        set[at] = outside[rng.gen_range(0..outside.len())];
                    }
                    _ => set.reverse(),
                }
            }
            sets.push(set.clone());
        }
        let sets: Schedule = Rc::new(sets);
        let secrets: Vec<u64> = (0..UNIVERSE).map(|_| rng.r#gen()).collect();
        let drop_rate = if rng.gen_bool(0.5) { rng.gen_range(0.0..0.3) } else { 0.0 };
        let dup_rate = rng.gen_range(0.0..0.1);
        let max_delay = rng.gen_range(5..400);
        let heal_at = rng.gen_range(500..6_000);
        let mut sim = Sim {
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            items: Vec::new(),
            sets,
            secrets,
            nodes: (0..UNIVERSE).map(|_| None).collect(),
            known: (0..UNIVERSE).map(|_| Rc::new(Cell::new(1))).collect(),
            epoch: vec![0; UNIVERSE],
            persisted: vec![SafetyRecord { height: 1, ..Default::default() }; UNIVERSE],
            committed: vec![0; UNIVERSE],
            decided: BTreeMap::new(),
            proposals: BTreeMap::new(),
            drop_rate,
            dup_rate,
            max_delay,
            heal_at,
            log: Vec::new(),
        };
        sim.log.push(format!("sets {:?} drop {drop_rate:.2} delay {max_delay} heal {heal_at}", &sim.sets[1..]));
        for node in 0..UNIVERSE {
            sim.start_node(node);
        }
        // Crash-restarts: a few random nodes, before and after healing.
        let crashes = sim.rng.gen_range(0..4);
        for _ in 0..crashes {
            let node = sim.rng.gen_range(0..UNIVERSE);
            let at = sim.rng.gen_range(0..heal_at + 2_000);
            let down = sim.rng.gen_range(10..1_500);
            sim.schedule(at, Item::Crash { node });
            sim.schedule(at + down, Item::Restart { node });
        }
        let first_sync = sim.now + 200;
        sim.schedule(first_sync, Item::SyncTick);
        sim
    }

    fn schedule(&mut self, at: u64, item: Item) {
        self.seq += 1;
        self.items.push(Some(item));
        self.queue.push(Reverse((at, self.seq, self.items.len() - 1)));
    }

    fn start_node(&mut self, node: usize) {
        let height = self.committed[node] + 1;
        let record = if self.persisted[node].height == height {
            self.persisted[node].clone()
        } else {
            SafetyRecord { height, ..Default::default() }
        };
        self.known[node].set(height);
        let crypto = SetCrypto {
            me: node,
            secrets: self.secrets.clone(),
            sets: self.sets.clone(),
            known: self.known[node].clone(),
        };
        let config = PbftConfig { base_timeout: 300, max_timeout: 5_000, max_view_ahead: 64 };
        let (state, actions) = PbftState::new(membership(&self.sets, node, height), crypto, config, record);
        self.nodes[node] = Some(state);
        self.epoch[node] += 1;
        self.carry_out(node, actions);
    }

    fn feed(&mut self, node: usize, event: Event) {
        let Some(state) = self.nodes[node].as_mut() else { return };
        let actions = state.handle(event);
        self.carry_out(node, actions);
    }

    /// Tells `node` its chain now holds `height`, with the next height's set when it changes.
    fn commit(&mut self, node: usize, height: Height) {
        if height != self.committed[node] + 1 {
            return;
        }
        self.committed[node] = height;
        let next = (set_at(&self.sets, height + 1) != set_at(&self.sets, height))
            .then(|| membership(&self.sets, node, height + 1));
        self.known[node].set(height + 1);
        self.feed(node, Event::Committed { height, next });
    }

    fn send(&mut self, to: usize, msg: Message) {
        if self.nodes[to].is_none() {
            return;
        }
        if self.now < self.heal_at && self.rng.gen_bool(self.drop_rate) {
            return;
        }
        let copies = if self.rng.gen_bool(self.dup_rate) { 2 } else { 1 };
        for _ in 0..copies {
            let at = self.now + self.rng.gen_range(1..=self.max_delay);
            self.schedule(at, Item::Deliver { to, msg: msg.clone() });
        }
    }

    fn carry_out(&mut self, node: usize, actions: Vec<Action>) {
        let epoch = self.epoch[node];
        for action in actions {
            match action {
                Action::Persist(r) => self.persisted[node] = r,
                Action::Broadcast(m) => {
                    self.check_signer(node, &m);
                    if let Message::Proposal(p) = &m {
                        self.proposals.insert(p.body.block, p.body.payload.clone());
                    }
                    // To the validators of the message's height, as the node sends to its current set.
                    for to in set_at(&self.sets, m.height()).to_vec() {
                        if to != node {
                            self.send(to, m.clone());
                        }
                    }
                }
                Action::Send { to, message } => {
                    self.check_signer(node, &message);
                    if let Some(u) = set_at(&self.sets, message.height()).get(to).copied() {
                        self.send(u, message);
                    }
                }
                Action::SetTimer { height, view, after, seq } => {
                    let at = self.now + after;
                    self.schedule(at, Item::Event { node, event: Event::Timeout { height, view, seq }, epoch });
                }
                Action::BuildBlock { height, view } => {
                    let len = self.rng.gen_range(8..64);
                    let mut payload: Vec<u8> = (0..len).map(|_| self.rng.r#gen()).collect();
                    payload.extend_from_slice(&height.to_be_bytes());
                    let block = id_of(&payload);
                    let at = self.now + self.rng.gen_range(1..50);
                    let event = Event::BlockBuilt { height, view, block, payload };
                    self.schedule(at, Item::Event { node, event, epoch });
                }
                Action::FetchBlock { height, view, block } => {
                    // Bodies are fetched from peers that hold them; every proposal ever made is known here.
                    if let Some(payload) = self.bodies_of(block) {
                        let at = self.now + self.rng.gen_range(1..100);
                        let event = Event::BlockFetched { height, view, block, payload };
                        self.schedule(at, Item::Event { node, event, epoch });
                    }
                }
                Action::ValidateBlock { height, view, block, .. } => {
                    let at = self.now + self.rng.gen_range(1..30);
                    let event = Event::BlockValidated { height, view, block, valid: true };
                    self.schedule(at, Item::Event { node, event, epoch });
                }
                Action::Decide { height, view, block, commits, .. } => {
                    self.check_certificate(node, height, view, block, &commits);
                    match self.decided.get(&height) {
                        Some(b) if *b != block => {
                            self.fail(&format!("SAFETY: node {node} decided {block:?} at {height}, another {b:?}"))
                        }
                        _ => {
                            self.decided.insert(height, block);
                        }
                    }
                    if view > 0 {
                        VIEW_CHANGES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    self.commit(node, height);
                }
                Action::Equivocation(e) => {
                    self.fail(&format!("honest validators equivocated: {e:?}"));
                }
            }
        }
    }

    fn bodies_of(&self, block: BlockId) -> Option<Vec<u8>> {
        self.proposals.get(&block).cloned()
    }

    /// A node signs only at heights where it is a validator, under its own index there.
    fn check_signer(&self, node: usize, m: &Message) {
        let me = membership(&self.sets, node, m.height()).me;
        if me != Some(m.signer()) {
            self.fail(&format!(
                "node {node} signed {} at height {} as index {} (member: {me:?})",
                m.kind(),
                m.height(),
                m.signer()
            ));
        }
    }

    /// The decision's commits are a quorum of distinct members of that height's set, each signature theirs.
    fn check_certificate(&self, node: usize, height: Height, view: View, block: BlockId, commits: &[Signed<Vote>]) {
        let set = set_at(&self.sets, height);
        let quorum = 2 * set.len() / 3 + 1;
        let signers: BTreeSet<NodeIndex> = commits.iter().map(|c| c.signer).collect();
        let valid = commits.iter().all(|c| {
            c.body == Vote { height, view, block }
                && set
                    .get(c.signer)
                    .is_some_and(|u| mac(self.secrets[*u], &CommitBody(&c.body).signing_bytes()) == c.signature)
        });
        if signers.len() != commits.len() || signers.len() < quorum || !valid {
            self.fail(&format!("node {node} decided {height} on a certificate that is not the set's: {commits:?}"));
        }
    }

    fn fail(&self, what: &str) -> ! {
        panic!("{what}\n{}", self.log.join("\n"));
    }

    fn run(&mut self, seed: u64) {
        let deadline = self.heal_at + 120_000;
        while let Some(Reverse((at, _, idx))) = self.queue.pop() {
            if at > deadline {
                break;
            }
            self.now = at;
            let Some(item) = self.items[idx].take() else { continue };
            match item {
                Item::Deliver { to, msg } => {
                    if let Some(state) = self.nodes[to].as_ref() {
                        match state.admit(msg) {
                            Ok(m) => self.feed(to, Event::Message(m)),
                            Err(Rejection::BadSignature | Rejection::NotValidator) => {
                                // Every node is honest: a refused signature is a set the receiver did not know yet.
                                UNKNOWN_SET_DROPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                            Err(_) => {}
                        }
                    }
                }
                Item::Event { node, event, epoch } => {
                    if self.epoch[node] == epoch {
                        self.feed(node, event);
                    }
                }
                Item::Crash { node } => {
                    if self.nodes[node].take().is_some() {
                        CRASHES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        self.epoch[node] += 1;
                        self.log.push(format!("{}: crash {node}", self.now));
                    }
                }
                Item::Restart { node } => {
                    if self.nodes[node].is_none() {
                        self.log.push(format!("{}: restart {node} at {}", self.now, self.committed[node] + 1));
                        self.start_node(node);
                    }
                }
                Item::SyncTick => {
                    // Block sync: anyone behind the highest decided height gets the next block (its certificate
                    // was checked when it was decided).
                    for node in 0..UNIVERSE {
                        if self.nodes[node].is_some() {
                            let next = self.committed[node] + 1;
                            if self.decided.contains_key(&next) {
                                self.commit(node, next);
                            }
                        }
                    }
                    if (0..UNIVERSE).any(|n| self.committed[n] < TARGET_HEIGHT) {
                        let at = self.now + 250;
                        self.schedule(at, Item::SyncTick);
                    }
                }
            }
            if (0..UNIVERSE).all(|n| self.committed[n] >= TARGET_HEIGHT && self.nodes[n].is_some()) {
                return;
            }
        }
        self.fail(&format!(
            "seed {seed}: not live after healing: committed {:?}, decided up to {:?}",
            self.committed,
            self.decided.keys().last()
        ));
    }
}

#[test]
fn validator_set_changes_keep_every_height_safe_and_live() {
    let seeds: Vec<u64> = match std::env::var("ACCORD_SIM_SEED") {
        Ok(s) => vec![s.parse().expect("ACCORD_SIM_SEED is a number")],
        Err(_) => {
            let n = std::env::var("ACCORD_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000u64);
            (0..n).collect()
        }
    };
    for seed in &seeds {
        let result = std::panic::catch_unwind(|| {
            let mut sim = Sim::new(*seed);
            sim.run(*seed);
        });
        if let Err(e) = result {
            eprintln!("failing seed: ACCORD_SIM_SEED={seed} cargo test -p accord-consensus --test membership");
            std::panic::resume_unwind(e);
        }
    }
    let count = |c: &std::sync::atomic::AtomicUsize| c.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "{} seeds: {} set changes, {} decisions after view changes, {} crash-restarts, {} messages refused \
         under a set the receiver did not know yet",
        seeds.len(),
        count(&SET_CHANGES),
        count(&VIEW_CHANGES),
        count(&CRASHES),
        count(&UNKNOWN_SET_DROPS)
    );
    if seeds.len() > 100 {
        assert!(count(&SET_CHANGES) > 0 && count(&VIEW_CHANGES) > 0 && count(&CRASHES) > 0, "faults exercised");
    }
}
