//! The running node: wires chain, pool, networking, block production (PBFT or the single-validator producer),
//! block sync, RPC and metrics together. Nothing imports this module but the CLI: each task gets the narrow handles
//! it needs (see `docs/architecture.md`, "Module map").

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use accord_consensus::PbftConfig;
use accord_sdk::genesis::Genesis;
use accord_sdk::keys::KeyPair;
use anyhow::Context as _;
use libp2p::Multiaddr;
use tokio::sync::{Notify, mpsc};

use crate::chain::Chain;
use crate::config::NodeConfig;
use crate::dispatch::Dispatch;
use crate::import::BlockImporter;
use crate::membership::MembershipView;
use crate::mempool::Mempool;
use crate::metrics::Metrics;
use crate::network::{Member, Network, PeerScores};
use crate::pbft::driver::{ConsensusDriver, DriverError, DriverHandles, Pacing};
use crate::pbft::inbox::{ConsensusInbox, InboxLimits};
use crate::rpc::RpcContext;
use crate::status::NodeStatus;
use crate::sync::BlockSync;
use crate::txpool::TxPool;

/// Where a started node can be reached.
#[derive(Debug, Clone, Copy)]
pub struct Endpoints {
    /// JSON-RPC (HTTP and WebSocket).
    pub rpc: SocketAddr,
    /// Metrics.
    pub metrics: SocketAddr,
}

/// Port overrides given on the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct PortOverrides {
    /// JSON-RPC port.
    pub rpc: Option<u16>,
    /// Metrics port.
    pub metrics: Option<u16>,
    /// P2P port.
    pub p2p: Option<u16>,
}

/// What this node does in the consortium, from where its key appears in the genesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Validator at this index of the set.
    Validator(usize),
    /// Observer: syncs and serves reads, never votes.
    Observer,
    /// Not on the node list at its own height: a node governance added later, starting from the genesis. It
    /// follows as an observer once a member admits it.
    Joining,
}

/// How long a joining node waits for a member to admit it before it gives up with an error.
pub const JOIN_WAIT: Duration = Duration::from_secs(20);

/// Loads the home directory's config, genesis and key, and runs the node until Ctrl-C or SIGTERM.
pub async fn run(home: &Path, ports: PortOverrides) -> anyhow::Result<()> {
    let mut config = NodeConfig::load(home)?;
    if let Some(p) = ports.rpc {
        config.rpc.listen.set_port(p);
    }
    if let Some(p) = ports.metrics {
        config.metrics.listen.set_port(p);
    }
    if let Some(p) = ports.p2p {
        config.p2p.listen.set_port(p);
    }
    let genesis_path = NodeConfig::resolve(home, &config.node.genesis);
    let genesis_text = std::fs::read_to_string(&genesis_path)
        .with_context(|| format!("cannot read genesis {}", genesis_path.display()))?;
    let genesis = Genesis::from_json(&genesis_text).with_context(|| format!("in {}", genesis_path.display()))?;
    let key_path = NodeConfig::resolve(home, &config.node.node_key);
    let key_text =
        std::fs::read_to_string(&key_path).with_context(|| format!("cannot read node key {}", key_path.display()))?;
    let key = KeyPair::from_hex(&key_text).with_context(|| format!("in {}", key_path.display()))?;

    let members = Member::all_of(&genesis)?;

    let data_dir: PathBuf = NodeConfig::resolve(home, &config.node.data_dir);
    std::fs::create_dir_all(&data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    if let Some(e) = &config.emergency {
        tracing::warn!(height = e.height, validators = ?e.validators, committee = e.committee.is_some(), "emergency transition configured");
    }
    let chain =
        Arc::new(Chain::open_with(&data_dir, genesis.clone(), config.emergency.clone()).with_context(|| {
            format!("cannot open the chain database in {} (is another accord process using it?)", data_dir.display())
        })?);
    let head = chain.head();
    // The node lists follow the chain: this node's role is what they say for the next block.
    let members_now = Arc::new(MembershipView::of(&chain)?);
    let lists = members_now.get();
    let role = match lists.validators.iter().position(|a| *a == key.address()) {
        Some(i) => Role::Validator(i),
        None if lists.observers.contains(&key.address()) => Role::Observer,
        // A node governance added later starts from the genesis like any other: it follows as an observer, and the
        // members admit it once their chain (ahead of this one) names it.
        None if genesis.committee.is_some() => {
            tracing::warn!(
                node = %key.address(),
                height = lists.height,
                "this node is not on the node list at its height: joining as an observer, which works once governance has added it"
            );
            Role::Joining
        }
        None => anyhow::bail!(
            "node key {} ({}) is neither a validator nor an observer at height {}; the consortium's node list (the genesis {}, then governance) must name it",
            key.address(),
            key_path.display(),
            lists.height,
            genesis_path.display()
        ),
    };
    tracing::info!(name = %config.node.name, ?role, height = head.number, hash = %head.hash(), state_root = %head.state_root, "chain opened");

    // PBFT runs on every node of a chain that started with several validators (a node may become a validator or
    // stop being one as governance changes the set); a chain that started with one runs the single producer.
    let pbft = genesis.validators.len() > 1;
    let n_validators = lists.validators.len();
    // The network's bound must fit the largest set governance may form.
    // (A genesis may name more validators than governance may form, and then the genesis count bounds it.)
    let message_limit = accord_consensus::message_limit(
        genesis.params.max_block_bytes,
        n_validators.max(accord_sdk::governance::MAX_VALIDATORS),
    );
    let listen =
        Multiaddr::from(config.p2p.listen.ip()).with(libp2p::multiaddr::Protocol::Tcp(config.p2p.listen.port()));
    let mut network = Network::start(key.secret_bytes(), listen, &members, message_limit)
        .with_context(|| format!("cannot start p2p networking on {}", config.p2p.listen))?;
    let net = network.sender();
    let events = network.take_events();
    let genesis_members: Vec<_> = members.iter().map(|m| m.node).collect();
    crate::membership::admit_current(&net, &genesis_members, &lists).await;
    // Alone for good only without governance (which may add members).
    let lone = members.len() == 1 && genesis.committee.is_none();
    let (gossip_tx, gossip_rx) = mpsc::channel(65_536);

    let metrics = Metrics::new()?;
    metrics.height.set(head.number as i64);
    let status = Arc::new(NodeStatus::new(&metrics));
    let mempool = Mempool::new(config.mempool, genesis.params.block_gas_limit, genesis.params.base_fee);
    let pool = Arc::new(TxPool::new(chain.clone(), mempool, (!lone).then_some(gossip_tx), metrics.clone()));
    let importer = Arc::new(BlockImporter::new(chain.clone(), pool.clone(), metrics.clone()));
    let scores = Arc::new(PeerScores::new(net.clone(), metrics.clone()));

    let (metrics_addr, metrics_task) = metrics
        .clone()
        .serve(config.metrics.listen)
        .await
        .with_context(|| format!("cannot listen for metrics on {}", config.metrics.listen))?;
    let rpc_ctx = Arc::new(RpcContext::new(
        chain.clone(),
        pool.clone(),
        status.clone(),
        config.node.name.clone(),
        key.address(),
        config.rpc.clone(),
    ));
    let (rpc_addr, rpc_handle) = crate::rpc::start(rpc_ctx, metrics.clone())
        .await
        .with_context(|| format!("cannot listen for JSON-RPC on {}", config.rpc.listen))?;

    let sync_trigger = Arc::new(Notify::new());
    let mut tasks: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    tasks.push(tokio::spawn(crate::dispatch::gossip(gossip_rx, net.clone())));
    tasks.push(tokio::spawn(pool.clone().run_expiry()));
    tasks.push(tokio::spawn(crate::membership::follow(
        chain.clone(),
        net.clone(),
        members_now.clone(),
        metrics.clone(),
    )));
    metrics.validators.set(lists.validators.len() as i64);
    metrics.observers.set(lists.observers.len() as i64);
    let sync = BlockSync {
        importer: importer.clone(),
        net: net.clone(),
        status: status.clone(),
        trigger: sync_trigger.clone(),
        config: config.sync,
        validator: pbft.then(|| (key.address(), members_now.clone())),
    };
    tasks.push(tokio::spawn(sync.run()));
    let inbox = Arc::new(ConsensusInbox::new(InboxLimits::for_chain(n_validators, message_limit)));
    let mut driver: Option<tokio::task::JoinHandle<Result<(), DriverError>>> = None;
    match role {
        Role::Validator(_) if !pbft => {
            tasks.push(tokio::spawn(crate::producer::produce_blocks(
                importer.clone(),
                metrics.clone(),
                key.clone(),
                config.producer.block_interval_ms,
                config.producer.max_block_txs,
            )));
        }
        _ if pbft => {
            let c = config.consensus;
            let pbft_config =
                PbftConfig { base_timeout: c.timeout_ms, max_timeout: c.max_timeout_ms, ..Default::default() };
            let pacing = Pacing {
                block_interval: Duration::from_millis(config.producer.block_interval_ms),
                heartbeat_interval: Duration::from_millis(c.heartbeat_interval_ms),
                max_block_txs: config.producer.max_block_txs,
            };
            let handles = DriverHandles {
                importer: importer.clone(),
                inbox: inbox.clone(),
                scores: scores.clone(),
                net: net.clone(),
                status: status.clone(),
                metrics: metrics.clone(),
                sync_trigger: sync_trigger.clone(),
                book: network.book.clone(),
            };
            let d = ConsensusDriver::new(handles, key.clone(), pbft_config, pacing)?;
            driver = Some(tokio::spawn(d.run()));
        }
        _ => {}
    }
    let dispatch = Dispatch {
        chain: chain.clone(),
        pool: pool.clone(),
        metrics: metrics.clone(),
        net: net.clone(),
        status: status.clone(),
        sync_trigger,
        consensus: pbft.then_some(inbox),
        members: members_now.clone(),
        book: network.book.clone(),
        scores,
        gossip_workers: Arc::new(tokio::sync::Semaphore::new(crate::dispatch::GOSSIP_WORKERS)),
        sync_workers: Arc::new(tokio::sync::Semaphore::new(crate::dispatch::SYNC_WORKERS)),
    };
    tasks.push(tokio::spawn(dispatch.run(events)));

    tracing::info!(rpc = %rpc_addr, metrics = %metrics_addr, p2p = %config.p2p.listen, peer_id = %network.local_peer_id, "serving");
    let role_text = match role {
        Role::Validator(i) => format!("validator {i} of {n_validators}"),
        Role::Observer => "observer".to_string(),
        Role::Joining => "joining".to_string(),
    };
    if role == Role::Joining {
        let admitted = async {
            while status.peers.count() == 0 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        if tokio::time::timeout(JOIN_WAIT, admitted).await.is_err() {
            anyhow::bail!(
                "node key {} ({}) is neither a validator nor an observer in {} at height {}, and no member admitted it within {} s: governance must add it first (accord gov propose add-observer {})",
                key.address(),
                key_path.display(),
                genesis_path.display(),
                lists.height,
                JOIN_WAIT.as_secs(),
                key.address()
            );
        }
        tracing::info!("a member admitted this node: following the chain");
    }
    // One line on stdout for scripts and humans.
    println!(
        "accord node {} ready ({role_text}): rpc http://{rpc_addr} metrics http://{metrics_addr}/metrics p2p {}",
        config.node.name, config.p2p.listen
    );
    // The sole validator commits alone; every other node needs a member to follow or to vote with.
    let needs_peers = !(n_validators == 1 && matches!(role, Role::Validator(_)));
    metrics.set_ready_rules(needs_peers, config.metrics.ready_max_lag);
    metrics.set_ready(true);

    let outcome = match driver.as_mut() {
        Some(d) => tokio::select! {
            _ = shutdown_signal() => Ok(()),
            r = d => match r {
                Ok(Ok(())) => Err(anyhow::anyhow!("consensus stopped")),
                Ok(Err(e)) => Err(anyhow::Error::new(e).context("consensus stopped")),
                Err(e) => Err(anyhow::anyhow!("consensus task failed: {e}")),
            },
        },
        None => {
            shutdown_signal().await;
            Ok(())
        }
    };
    tracing::info!("shutting down");
    metrics.set_ready(false);
    if let Some(d) = driver {
        d.abort();
        let _ = d.await;
    }
    for t in tasks {
        t.abort();
        let _ = t.await;
    }
    drop(network);
    let _ = rpc_handle.stop();
    rpc_handle.stopped().await;
    metrics_task.abort();
    chain.flush()?;
    tracing::info!(height = chain.head().number, "stopped cleanly");
    outcome
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
