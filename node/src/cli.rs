//! The `accord` command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Accord: a permissioned blockchain node.
#[derive(Debug, Parser)]
#[command(name = "accord", version, about)]
pub struct Cli {
    /// Log lines on stderr as text (for people) or JSON, one object per line (for log shippers); the level is set
    /// by RUST_LOG (default info).
    #[arg(long, global = true, value_enum, default_value = "text", env = "ACCORD_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    Text,
    /// One JSON object per line: timestamp, level, target, message and fields.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a secp256k1 key (node key or account key); with `--member`, also the member file an organisation
    /// shares for the consortium's genesis (`accord genesis`).
    Keygen {
        /// Write the secret key here (mode 0600) instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write this node's member file here: name, address, public key and where peers reach it (no secret).
        #[arg(long, requires_all = ["out", "name"])]
        member: Option<PathBuf>,
        /// The member's name in the genesis (logs, status, explorer).
        #[arg(long, requires = "member")]
        name: Option<String>,
        /// Where the other members reach this node: `host:port`, `ip:port` or a multiaddr (empty: it dials out).
        #[arg(long, requires = "member", default_value = "")]
        p2p_address: String,
    },
    /// Assemble the consortium's genesis.json from the members' files, the committee, allocations and parameters;
    /// check it and print its hash for every member to compare. `--inspect FILE` checks a received genesis.json and
    /// prints the same hash.
    Genesis {
        /// A validator's member file (repeat, in leader-rotation order).
        #[arg(long = "validator", value_name = "MEMBER_FILE", required_unless_present = "inspect")]
        validators: Vec<PathBuf>,
        /// An observer's member file (repeat).
        #[arg(long = "observer", value_name = "MEMBER_FILE")]
        observers: Vec<PathBuf>,
        /// EIP-155 chain id.
        #[arg(long, required_unless_present = "inspect")]
        chain_id: Option<u64>,
        /// A governor of the committee, `ADDRESS` (weight 1) or `ADDRESS:WEIGHT` (repeat; none: not governed).
        #[arg(long = "governor", value_name = "ADDRESS[:WEIGHT]")]
        governors: Vec<String>,
        /// Percentage of all governor weight that must vote before a proposal is decided.
        #[arg(long, default_value_t = 50)]
        participation: u8,
        /// Percentage of the voted weight that must agree for a proposal to pass.
        #[arg(long, default_value_t = 50)]
        win: u8,
        /// Blocks a proposal stays open.
        #[arg(long, default_value_t = 1_000)]
        proposal_lifetime: u64,
        /// An initial balance, `ADDRESS=WEI` (repeat).
        #[arg(long = "alloc", value_name = "ADDRESS=WEI")]
        alloc: Vec<String>,
        /// A chain parameter, `NAME=VALUE` (`blockGasLimit=500000000`; repeat; the rest keep their defaults).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Genesis timestamp in seconds (default: now).
        #[arg(long)]
        timestamp: Option<u64>,
        /// Where to write genesis.json (never overwritten).
        #[arg(long, required_unless_present = "inspect")]
        out: Option<PathBuf>,
        /// Check a genesis.json and print its hash instead of assembling one.
        #[arg(long, value_name = "GENESIS", conflicts_with_all = ["validators", "observers", "chain_id", "governors", "alloc", "params", "timestamp", "out"])]
        inspect: Option<PathBuf>,
        /// Print JSON (`hash`, `chainId`, member names) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write a node's home: config.toml (endpoints, data directory), the consortium's genesis.json and the node key.
    Init {
        /// The node home to create.
        #[arg(long)]
        home: PathBuf,
        /// The consortium's genesis.json (copied into the home).
        #[arg(long)]
        genesis: PathBuf,
        /// The node's secret key file, as `accord keygen --out` wrote it (copied, mode 0600).
        #[arg(long)]
        node_key: PathBuf,
        /// Name in logs and status (default: the genesis name of this node's key).
        #[arg(long)]
        name: Option<String>,
        /// JSON-RPC address.
        #[arg(long, default_value = "127.0.0.1:8545")]
        rpc: std::net::SocketAddr,
        /// Metrics address (`/metrics`, `/healthz`, `/readyz`).
        #[arg(long, default_value = "127.0.0.1:9600")]
        metrics: std::net::SocketAddr,
        /// Where to accept members (must be reachable at this node's genesis p2pAddress).
        #[arg(long, default_value = "0.0.0.0:30300")]
        p2p: std::net::SocketAddr,
    },
    /// Write the home directories of a local network plus funded dev accounts (DIR/accounts.json).
    Testnet {
        /// Number of validators (PBFT tolerates f faulty of 3f+1).
        #[arg(long, default_value_t = 1)]
        validators: usize,
        /// Number of observer nodes (sync and serve RPC, never vote), numbered after the validators.
        #[arg(long, default_value_t = 0)]
        observers: usize,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Number of funded dev accounts.
        #[arg(long, default_value_t = 10)]
        accounts: usize,
        /// EIP-155 chain id.
        #[arg(long, default_value_t = 1337)]
        chain_id: u64,
        /// Node I serves JSON-RPC on 127.0.0.1:(rpc-port + I) (with --hosts: on rpc-port of its host).
        #[arg(long, default_value_t = 8545)]
        rpc_port: u16,
        /// Node I serves Prometheus metrics on 127.0.0.1:(metrics-port + I) (with --hosts: on metrics-port).
        #[arg(long, default_value_t = 9600)]
        metrics_port: u16,
        /// Node I accepts peers on 127.0.0.1:(p2p-port + I) (with --hosts: on p2p-port).
        #[arg(long, default_value_t = 30300)]
        p2p_port: u16,
        /// The governance committee: the first K dev accounts, weight 1 each, 50 % participation and 50 % win
        /// thresholds, proposals open for 1,000 blocks (0: no committee).
        #[arg(long, default_value_t = 3)]
        governors: usize,
        /// Nodes on hosts of their own (containers, machines): one host name or IP address per node, comma
        /// separated (`node0,node1,…`). Node I is then reached at HOST_I:p2p-port, and every node listens on all
        /// interfaces at the base ports.
        #[arg(long, value_delimiter = ',')]
        hosts: Vec<String>,
        /// When OUT already holds a complete network, leave it as it is and succeed (for a container's init step,
        /// which runs at every `docker-compose up`).
        #[arg(long)]
        reuse_existing: bool,
    },
    /// Run a node from its home directory.
    Start {
        /// Node home (holds config.toml, genesis.json, node.key).
        #[arg(long)]
        home: PathBuf,
        /// Override the JSON-RPC port of config.toml.
        #[arg(long)]
        rpc_port: Option<u16>,
        /// Override the metrics port of config.toml.
        #[arg(long)]
        metrics_port: Option<u16>,
        /// Override the P2P port of config.toml.
        #[arg(long)]
        p2p_port: Option<u16>,
    },
    /// Ask a node whether it is ready to serve (`/readyz`): exit 0 when it answers 200, 1 otherwise, printing
    /// its reason. The container images' health check.
    Health {
        /// The URL to ask (a node's metrics endpoint: `/readyz`, or `/healthz` for liveness only).
        #[arg(long, default_value = "http://127.0.0.1:9600/readyz")]
        url: String,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
    /// Show a running node's status.
    Status {
        /// The node's JSON-RPC URL.
        #[arg(long, default_value = "http://127.0.0.1:8545", env = "ACCORD_RPC")]
        rpc: String,
    },
    /// Governance: proposals and votes of the committee (`docs/governance.md`).
    Gov {
        /// Where the node is, the key to sign with, how to print.
        #[command(flatten)]
        opts: SigningOptions,
        /// What to do.
        #[command(subcommand)]
        command: GovCommand,
    },
    /// Deploy, call and send to contracts (`docs/contract-guide.md`).
    Contract {
        /// Where the node is, the key to sign with, how to print.
        #[command(flatten)]
        opts: SigningOptions,
        /// What to do.
        #[command(subcommand)]
        command: ContractCommand,
    },
    /// Accounts: a new key, a balance, the next nonce.
    Account {
        /// Where the node is and how to print.
        #[command(flatten)]
        read: ReadOptions,
        /// What to do.
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// A committed transaction by hash: the transaction, its receipt, or its inclusion proofs.
    Tx {
        /// Where the node is and how to print.
        #[command(flatten)]
        read: ReadOptions,
        /// What to show.
        #[command(subcommand)]
        command: TxCommand,
    },
    /// A block.
    Block {
        /// Where the node is and how to print.
        #[command(flatten)]
        read: ReadOptions,
        /// What to show.
        #[command(subcommand)]
        command: BlockCommand,
    },
    /// The validator set certifying the next block, and the observers.
    Validators {
        /// Where the node is and how to print.
        #[command(flatten)]
        read: ReadOptions,
    },
    /// The consortium members the node is connected to, with their roles.
    Peers {
        /// Where the node is and how to print.
        #[command(flatten)]
        read: ReadOptions,
    },
    /// Measure committed throughput and latency under an open-loop load against the ceiling measured in the same
    /// run (`docs/benchmarks.md`).
    Bench(crate::bench::BenchArgs),
    /// Write a stopped node's committed blocks with their commit certificates to FILE (a backup, or blocks for a
    /// new member), never overwriting it.
    ExportBlocks {
        /// Node home.
        #[arg(long)]
        home: PathBuf,
        /// The archive to write.
        file: PathBuf,
        /// First block.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Last block (default: the head).
        #[arg(long)]
        to: Option<u64>,
    },
    /// Import an archive of `accord export-blocks` into a stopped node of the same chain: every block's certificate
    /// is verified and the block re-executed to its exact header, as block sync does.
    ImportBlocks {
        /// Node home (a new one from `accord init`, or a node behind the archive).
        #[arg(long)]
        home: PathBuf,
        /// The archive to read.
        file: PathBuf,
    },
    /// Delete a stopped node's state history older than the last KEEP blocks: state and proofs of those blocks
    /// stay, older ones are refused with a clear error; blocks, receipts and logs are all kept.
    Prune {
        /// Node home.
        #[arg(long)]
        home: PathBuf,
        /// Blocks whose state is kept, counting back from the head (at least 64: the node itself looks back a few
        /// blocks, and clients ask for recent ones).
        #[arg(long, default_value_t = 10_000)]
        keep_blocks: u64,
    },
    /// Write a stopped node's state at its head to FILE (never overwritten), with the certified chain of validator
    /// sets from the genesis to it, so a new node starts there without re-executing the chain.
    Snapshot {
        /// Node home.
        #[arg(long)]
        home: PathBuf,
        /// The snapshot to write.
        file: PathBuf,
    },
    /// Start a new node from a snapshot of `accord snapshot`: its certificates are verified from the genesis and its
    /// state against the certified state root before anything is written; the node then syncs the blocks after it.
    ImportSnapshot {
        /// Node home with an empty data directory (a new one from `accord init`).
        #[arg(long)]
        home: PathBuf,
        /// The snapshot to read.
        file: PathBuf,
    },
    /// Re-execute a stopped node's chain from genesis and check every stored block, root and certificate.
    Verify {
        /// Node home.
        #[arg(long)]
        home: PathBuf,
    },
}

/// `accord gov` subcommands.
#[derive(Debug, Subcommand)]
pub enum GovCommand {
    /// Open a proposal (the proposer's agreeing vote is counted): prints its id.
    ///
    /// Kinds: add-validator NODE_ADDRESS, remove-validator NODE_ADDRESS, add-observer NODE_ADDRESS, remove-observer
    /// NODE_ADDRESS, set-param KEY VALUE, deploy-policy open|allowlist|denylist, grant-deploy ADDR, revoke-deploy
    /// ADDR, send-policy open|allowlist, grant-send ADDR, revoke-send ADDR, freeze ADDR, unfreeze ADDR, abolish ADDR,
    /// add-governor ADDR WEIGHT, remove-governor ADDR, set-weight ADDR WEIGHT, set-thresholds PARTICIPATION WIN,
    /// set-version N, set-admin CONTRACT ADDR.
    Propose {
        /// Proposal kind.
        kind: String,
        /// Its arguments.
        args: Vec<String>,
        /// Propose a validator removal even when the last certificates suggest the rest have no live quorum.
        #[arg(long)]
        force: bool,
    },
    /// Vote on an open proposal: prints its status after the vote.
    Vote {
        /// Proposal id.
        id: u64,
        /// Vote for it.
        #[arg(long, conflicts_with = "against", required_unless_present = "against")]
        agree: bool,
        /// Vote against it.
        #[arg(long)]
        against: bool,
    },
    /// Withdraw your own open proposal.
    Revoke {
        /// Proposal id.
        id: u64,
    },
    /// Show one proposal with its votes.
    Show {
        /// Proposal id.
        id: u64,
    },
    /// List open proposals, newest first.
    List {
        /// Include decided, revoked and expired ones.
        #[arg(long)]
        all: bool,
    },
}

/// `accord contract` subcommands. METHOD is a Solidity signature, `'transfer(address,uint256)'` (for `call`, with
/// outputs: `'balanceOf(address)(uint256)'`), or a name alone when the node serves the contract's ABI
/// (`accord_getAbi`).
#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Deploy an artifact (`{"abi", "bytecode"}`, as `contracts/out/NAME.json`): prints the new contract's address
    /// (`--json`: `address`, `transactionHash`, `blockNumber`, `gasUsed`, `status`).
    Deploy {
        /// The artifact file.
        artifact: PathBuf,
        /// Constructor arguments.
        #[arg(allow_negative_numbers = true)]
        args: Vec<String>,
    },
    /// Call a method without sending a transaction: prints the decoded outputs, one per line.
    Call {
        /// The contract.
        address: String,
        /// The method.
        method: String,
        /// Its arguments.
        #[arg(allow_negative_numbers = true)]
        args: Vec<String>,
    },
    /// Sign and send a method call, wait for the receipt: prints status, block, gas and transaction hash.
    Send {
        /// The contract.
        address: String,
        /// The method.
        method: String,
        /// Its arguments.
        #[arg(allow_negative_numbers = true)]
        args: Vec<String>,
    },
}

/// The options of the console commands that send transactions.
#[derive(Debug, Clone, clap::Args)]
pub struct SigningOptions {
    /// The node's JSON-RPC URL.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8545", env = "ACCORD_RPC")]
    pub rpc: String,
    /// File holding the hex secret key to sign with (as `accord keygen --out` writes it); a call that sends no
    /// transaction runs from its address (`msg.sender`).
    #[arg(long, global = true)]
    pub key: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The options of the read-only console commands.
#[derive(Debug, Clone, clap::Args)]
pub struct ReadOptions {
    /// The node's JSON-RPC URL.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8545", env = "ACCORD_RPC")]
    pub rpc: String,
    /// Print JSON (on one line) instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// `accord account` subcommands.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// A new secp256k1 account key (as `accord keygen`): prints its address, and its secret unless `--out`.
    New {
        /// Write the secret key here (mode 0600) instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The account's balance in wei.
    Balance {
        /// The account.
        address: String,
    },
    /// The account's next nonce (its pending transactions counted).
    Nonce {
        /// The account.
        address: String,
    },
}

/// `accord tx` subcommands.
#[derive(Debug, Subcommand)]
pub enum TxCommand {
    /// The transaction (`eth_getTransactionByHash`).
    Get {
        /// Its hash.
        hash: String,
    },
    /// Its receipt (`eth_getTransactionReceipt`).
    Receipt {
        /// Its hash.
        hash: String,
    },
    /// Its and its receipt's inclusion proofs against the block header (`accord_getTransactionProof`).
    Proof {
        /// Its hash.
        hash: String,
    },
}

/// `accord block` subcommands.
#[derive(Debug, Subcommand)]
pub enum BlockCommand {
    /// The block with its transaction hashes (`eth_getBlockByNumber`).
    Get {
        /// A block number, or `latest`.
        number: String,
    },
}
