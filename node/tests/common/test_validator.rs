//! A validator the test runs in-process, standing in for one validator's process: the real `PbftState` signing
//! with that validator's node key, on a real libp2p `Network` listening at its genesis address. It keeps no chain:
//! it approves every proposal it is shown (recording it), heartbeats whenever it leads, and learns the head from a
//! node's RPC. The test's [`Policy`] decides which of its messages leave, so it can play a member that withholds
//! votes, holds back view changes, or stays silent while the test floods with its key.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use accord_consensus::{
    Action, BlockId, Event, Height, Membership, Message, MessageCrypto, NodeIndex, PbftConfig, PbftState, SafetyRecord,
    View,
};
use accord_node::network::{Member, Network, NetworkCommand, NetworkEvent, NetworkSender, SyncResponse, multiaddr_of};
use accord_node::pbft::NodeKeyCrypto;
use accord_sdk::client::AccordClient;
use accord_sdk::genesis::Genesis;
use accord_sdk::keys::KeyPair;
use libp2p::PeerId;
use parking_lot::Mutex;
use tokio::time::Instant;

/// Which way a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Signed by this validator, about to leave.
    Out,
    /// Arrived from another validator (already authenticated), about to be handled.
    In,
}

/// What happens to one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Sent (or handled) now.
    Send,
    /// Outgoing: kept until [`TestValidator::release_held`]. Incoming: ignored.
    Hold,
    /// Never sent (or ignored).
    Drop,
}

/// Decides each message.
pub type Policy = Arc<dyn Fn(Direction, &Message) -> Verdict + Send + Sync>;

/// A proposal this validator was asked to validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenProposal {
    pub height: Height,
    pub view: View,
    pub block: BlockId,
    /// Payload bytes.
    pub bytes: usize,
}

struct Shared {
    policy: Policy,
    /// Consensus runs only while true; while false nothing is read or sent (the network stays connected).
    active: bool,
    held: Vec<(Option<NodeIndex>, Message)>,
    proposals: Vec<SeenProposal>,
}

/// The genesis and node key of a node home.
pub fn load_member(home: &Path) -> (Genesis, KeyPair) {
    let genesis = Genesis::from_json(&std::fs::read_to_string(home.join("genesis.json")).expect("genesis"))
        .expect("valid genesis");
    let key =
        KeyPair::from_hex(std::fs::read_to_string(home.join("node.key")).expect("node.key").trim()).expect("node key");
    (genesis, key)
}

/// A member's libp2p network, started with its key at its genesis address, dialing every other member.
pub fn member_network(genesis: &Genesis, key: &KeyPair) -> Network {
    let me = genesis.members().find(|m| m.address == key.address()).expect("the key is a genesis member");
    let listen = multiaddr_of(&me.p2p_address).expect("address").expect("an address");
    let members = Member::all_of(genesis).expect("genesis members");
    let limit = accord_consensus::message_limit(genesis.params.max_block_bytes, genesis.validators.len());
    Network::start(key.secret_bytes(), listen, &members, limit).expect("network starts")
}

/// Peer ids of the validators, by index.
pub fn validator_peers(genesis: &Genesis) -> Vec<PeerId> {
    let members = Member::all_of(genesis).expect("genesis members");
    members[..genesis.validators.len()].iter().map(|m| m.peer).collect()
}

/// See the module doc.
pub struct TestValidator {
    /// Its index in the validator set.
    pub index: NodeIndex,
    /// Signs as this validator (for hand-made messages).
    pub crypto: NodeKeyCrypto,
    /// Sends through its network.
    pub net: NetworkSender,
    /// Validators' peer ids, by index.
    pub peers: Vec<PeerId>,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
    _network: Network,
}

impl Drop for TestValidator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestValidator {
    /// Starts the validator whose home (genesis and key) is `home`, active and honest. `head_rpc` is a node whose
    /// head it follows.
    pub fn start(home: &Path, head_rpc: &str, timeouts: PbftConfig) -> Self {
        let (genesis, key) = load_member(home);
        let index = genesis.validators.iter().position(|v| v.address == key.address()).expect("a validator's home");
        let mut network = member_network(&genesis, &key);
        let events = network.take_events();
        let net = network.sender();
        let peers = validator_peers(&genesis);
        let crypto = NodeKeyCrypto::new(key, genesis.validator_set(), genesis.crypto, genesis.chain_id);
        let shared = Arc::new(Mutex::new(Shared {
            policy: Arc::new(|_, _| Verdict::Send),
            active: true,
            held: Vec::new(),
            proposals: Vec::new(),
        }));
        let limit = accord_consensus::message_limit(genesis.params.max_block_bytes, genesis.validators.len());
        let runner = Runner {
            index,
            n: peers.len(),
            peers: peers.clone(),
            index_of: peers.iter().enumerate().map(|(i, p)| (*p, i)).collect(),
            net: net.clone(),
            shared: shared.clone(),
            limit,
            head: AccordClient::new(head_rpc).expect("client"),
            timer: None,
            leading: None,
        };
        let task = tokio::spawn(runner.run(events, crypto.clone(), timeouts));
        Self { index, crypto, net, peers, shared, task, _network: network }
    }

    /// Replaces the policy for messages from now on.
    pub fn set_policy(&self, policy: impl Fn(Direction, &Message) -> Verdict + Send + Sync + 'static) {
        self.shared.lock().policy = Arc::new(policy);
    }

    /// Sends every held message (in order) and returns how many.
    pub async fn release_held(&self) -> usize {
        let held = std::mem::take(&mut self.shared.lock().held);
        let n = held.len();
        for (to, m) in held {
            send(&self.net, &self.peers, self.index, to, &m).await;
        }
        n
    }

    /// Stops (false) or resumes (true) taking part; the connections stay up either way.
    pub fn set_active(&self, active: bool) {
        self.shared.lock().active = active;
    }

    /// Proposals it validated so far.
    pub fn proposals(&self) -> Vec<SeenProposal> {
        self.shared.lock().proposals.clone()
    }

    /// Signs `bytes` with its key.
    pub fn sign(&self, bytes: &[u8]) -> Vec<u8> {
        self.crypto.sign(bytes)
    }
}

async fn send(net: &NetworkSender, peers: &[PeerId], me: NodeIndex, to: Option<NodeIndex>, m: &Message) {
    let bytes = m.encode().expect("encode");
    match to {
        Some(i) => net.send(NetworkCommand::Send { to: peers[i], bytes }).await,
        None => {
            for (i, p) in peers.iter().enumerate() {
                if i != me {
                    net.send(NetworkCommand::Send { to: *p, bytes: bytes.clone() }).await;
                }
            }
        }
    }
}

struct Runner {
    index: NodeIndex,
    n: usize,
    peers: Vec<PeerId>,
    index_of: HashMap<PeerId, NodeIndex>,
    net: NetworkSender,
    shared: Arc<Mutex<Shared>>,
    limit: usize,
    head: AccordClient,
    timer: Option<(Instant, Event)>,
    /// (height, view) it leads with nothing to build: it heartbeats.
    leading: Option<(Height, View)>,
}

impl Runner {
    async fn run(
        mut self,
        mut events: tokio::sync::mpsc::Receiver<NetworkEvent>,
        crypto: NodeKeyCrypto,
        config: PbftConfig,
    ) {
        let start = self.head.block_number().await.unwrap_or(0) + 1;
        let membership = Membership { n: self.n, me: Some(self.index) };
        let (mut state, actions) =
            PbftState::new(membership, crypto, config, SafetyRecord { height: start, ..Default::default() });
        self.carry_out(&mut state, actions).await;
        let mut poll = tokio::time::interval(Duration::from_millis(250));
        let mut heartbeat = tokio::time::interval(Duration::from_millis(500));
        loop {
            let timer_at =
                self.timer.as_ref().map(|(at, _)| *at).unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            let active = self.shared.lock().active;
            let event = tokio::select! {
                ev = events.recv() => match ev {
                    None => return,
                    Some(NetworkEvent::Consensus { from, bytes }) if active => self.admit(&state, from, &bytes),
                    Some(NetworkEvent::SyncRequest { channel, .. }) => {
                        let response = SyncResponse::Error("a test validator keeps no chain".into());
                        self.net.send(NetworkCommand::SyncRespond { channel, response }).await;
                        None
                    }
                    Some(_) => None,
                },
                _ = tokio::time::sleep_until(timer_at) => self.timer.take().map(|(_, e)| e),
                _ = heartbeat.tick() => match self.leading {
                    Some((height, view)) if (height, view) == (state.height(), state.view()) => Some(Event::Idle { height, view }),
                    _ => None,
                },
                _ = poll.tick() => match self.head.block_number().await {
                    Ok(head) if head >= state.height() => Some(Event::Committed { height: head, next: None }),
                    _ => None,
                },
            };
            if let Some(event) = event {
                if !self.shared.lock().active {
                    continue;
                }
                let actions = state.handle(event);
                self.carry_out(&mut state, actions).await;
            }
        }
    }

    fn admit(&self, state: &PbftState<NodeKeyCrypto>, from: PeerId, bytes: &[u8]) -> Option<Event> {
        let m = Message::decode(bytes, self.limit).ok()?;
        if self.index_of.get(&from) != Some(&m.signer()) {
            return None;
        }
        let policy = self.shared.lock().policy.clone();
        if policy(Direction::In, &m) != Verdict::Send {
            return None;
        }
        state.admit(m).ok().map(Event::Message)
    }

    async fn carry_out(&mut self, state: &mut PbftState<NodeKeyCrypto>, actions: Vec<Action>) {
        let mut queue: std::collections::VecDeque<Action> = actions.into();
        while let Some(action) = queue.pop_front() {
            let follow_up = match action {
                Action::Broadcast(m) => {
                    self.emit(None, m).await;
                    None
                }
                Action::Send { to, message } => {
                    self.emit(Some(to), message).await;
                    None
                }
                Action::SetTimer { height, view, after, seq } => {
                    let at = Instant::now() + Duration::from_millis(after);
                    self.timer = Some((at, Event::Timeout { height, view, seq }));
                    None
                }
                Action::BuildBlock { height, view } => {
                    self.leading = Some((height, view));
                    Some(Event::Idle { height, view })
                }
                Action::ValidateBlock { height, view, block, payload } => {
                    let seen = SeenProposal { height, view, block, bytes: payload.len() };
                    self.shared.lock().proposals.push(seen);
                    Some(Event::BlockValidated { height, view, block, valid: true })
                }
                Action::Decide { height, .. } => Some(Event::Committed { height, next: None }),
                Action::Persist(_) | Action::FetchBlock { .. } | Action::Equivocation(_) => None,
            };
            if let Some(event) = follow_up {
                queue.extend(state.handle(event));
            }
        }
    }

    async fn emit(&self, to: Option<NodeIndex>, m: Message) {
        let verdict = {
            let mut shared = self.shared.lock();
            let verdict = (shared.policy)(Direction::Out, &m);
            if verdict == Verdict::Hold {
                shared.held.push((to, m.clone()));
            }
            verdict
        };
        if verdict == Verdict::Send {
            send(&self.net, &self.peers, self.index, to, &m).await;
        }
    }
}
