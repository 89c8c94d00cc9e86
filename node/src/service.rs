//! The running node: wires chain, pool, networking, block production (PBFT or the single-validator producer),
//! block sync, RPC and metrics together. Nothing imports this module but the CLI: each task gets the narrow handles
//! it needs (see `docs/architecture.md`, "Module map").

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use accord_consensus::PbftConfig;
use accord_sdk::genesis::Genesis;
use accord_sdk::keys::KeyPair;
use anyhow::Context as _;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{Notify, mpsc};

use crate::chain::Chain;
use crate::config::NodeConfig;
use crate::dispatch::Dispatch;
use crate::import::BlockImporter;
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
}

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

    let role = match genesis.validator_set().index_of(&key.address()) {
        Some(i) => Role::Validator(i),
        None if genesis.observers.iter().any(|o| o.address == key.address()) => Role::Observer,
        None => anyhow::bail!(
            "node key {} ({}) is neither a validator nor an observer in {}; the consortium's node list must name it",
            key.address(),
            key_path.display(),
            genesis_path.display()
        ),
    };
    let members = Member::all_of(&genesis)?;

    let data_dir: PathBuf = NodeConfig::resolve(home, &config.node.data_dir);
    std::fs::create_dir_all(&data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    let chain = Arc::new(Chain::open(&data_dir, genesis.clone()).with_context(|| {
        format!("cannot open the chain database in {} (is another accord process using it?)", data_dir.display())
    })?);
    let head = chain.head();
    tracing::info!(name = %config.node.name, ?role, height = head.number, hash = %head.hash(), state_root = %head.state_root, "chain opened");

    let n_validators = genesis.validators.len();
    let message_limit = accord_consensus::message_limit(genesis.params.max_block_bytes, n_validators);
    let listen =
        Multiaddr::from(config.p2p.listen.ip()).with(libp2p::multiaddr::Protocol::Tcp(config.p2p.listen.port()));
    let mut network = Network::start(key.secret_bytes(), listen, &members, message_limit)
        .with_context(|| format!("cannot start p2p networking on {}", config.p2p.listen))?;
    let net = network.sender();
    let events = network.take_events();
    let lone = members.len() == 1;
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
    let rpc_ctx = Arc::new(RpcContext {
        chain: chain.clone(),
        pool: pool.clone(),
        status: status.clone(),
        name: config.node.name.clone(),
        node_address: key.address(),
        max_block_range: config.rpc.max_block_range,
        rpc_gas_cap: config.rpc.gas_cap,
        simulations: tokio::sync::Semaphore::new(config.rpc.max_concurrent_simulations as usize),
    });
    let (rpc_addr, rpc_handle) = crate::rpc::start(rpc_ctx, config.rpc.listen, config.rpc.max_connections)
        .await
        .with_context(|| format!("cannot listen for JSON-RPC on {}", config.rpc.listen))?;

    let sync_trigger = Arc::new(Notify::new());
    let mut tasks: Vec<tokio::task::JoinHandle<()>> = Vec::new();
    tasks.push(tokio::spawn(crate::dispatch::gossip(gossip_rx, net.clone())));
    tasks.push(tokio::spawn(pool.clone().run_expiry()));
    let votes = matches!(role, Role::Validator(_)) && n_validators > 1;
    let sync = BlockSync {
        importer: importer.clone(),
        net: net.clone(),
        status: status.clone(),
        trigger: sync_trigger.clone(),
        config: config.sync,
        validator: votes,
    };
    tasks.push(tokio::spawn(sync.run()));
    let inbox = Arc::new(ConsensusInbox::new(InboxLimits::for_chain(n_validators, message_limit)));
    let mut driver: Option<tokio::task::JoinHandle<Result<(), DriverError>>> = None;
    let validator_peers: Vec<PeerId> = members[..n_validators].iter().map(|m| m.peer).collect();
    match role {
        Role::Validator(_) if n_validators == 1 => {
            tasks.push(tokio::spawn(crate::producer::produce_blocks(
                importer.clone(),
                metrics.clone(),
                key.clone(),
                config.producer.block_interval_ms,
                config.producer.max_block_txs,
            )));
        }
        Role::Validator(me) => {
            let c = config.consensus;
            let pbft = PbftConfig { base_timeout: c.timeout_ms, max_timeout: c.max_timeout_ms, ..Default::default() };
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
            };
            let d = ConsensusDriver::new(handles, key.clone(), me, validator_peers.clone(), pbft, pacing)?;
            driver = Some(tokio::spawn(d.run()));
        }
        Role::Observer => {}
    }
    let dispatch = Dispatch {
        chain: chain.clone(),
        pool: pool.clone(),
        metrics: metrics.clone(),
        net: net.clone(),
        status: status.clone(),
        sync_trigger,
        consensus: votes.then_some(inbox),
        validators: validator_peers.iter().copied().collect::<BTreeSet<_>>(),
        scores,
        gossip_workers: Arc::new(tokio::sync::Semaphore::new(crate::dispatch::GOSSIP_WORKERS)),
        sync_workers: Arc::new(tokio::sync::Semaphore::new(crate::dispatch::SYNC_WORKERS)),
    };
    tasks.push(tokio::spawn(dispatch.run(events)));

    tracing::info!(rpc = %rpc_addr, metrics = %metrics_addr, p2p = %config.p2p.listen, peer_id = %network.local_peer_id, "serving");
    let role_text = match role {
        Role::Validator(i) => format!("validator {i} of {n_validators}"),
        Role::Observer => "observer".to_string(),
    };
    // One line on stdout for scripts and humans.
    println!(
        "accord node {} ready ({role_text}): rpc http://{rpc_addr} metrics http://{metrics_addr}/metrics p2p {}",
        config.node.name, config.p2p.listen
    );
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

async fn shutdown_signal() {
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
