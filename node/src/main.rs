//! The `accord` binary.

use std::path::PathBuf;
use std::process::ExitCode;

use accord_node::cli::{
    AccountCommand, BlockCommand, Cli, Command, ContractCommand, GovCommand, LogFormat, ReadOptions, SigningOptions,
};
use accord_node::console::{Console, ConsoleError, contract, gov, query};
use accord_node::service::{self, PortOverrides};
use accord_node::testnet::{self, TestnetSpec};
use accord_node::{genesis_assembly, home};
use accord_sdk::genesis::Genesis;
use accord_sdk::keys::KeyPair;
use anyhow::Context as _;
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => logs.json().with_current_span(false).init(),
        // Colours only on a terminal: log files and journald get plain text.
        LogFormat::Text => logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            match e.downcast_ref::<ConsoleError>() {
                Some(c) => ExitCode::from(c.exit_code()),
                None => ExitCode::FAILURE,
            }
        }
    }
}

async fn run_gov(console: Console, command: GovCommand, json: bool) -> Result<(), ConsoleError> {
    match command {
        GovCommand::Propose { kind, args, force } => gov::propose(&console, &kind, &args, force, json).await,
        GovCommand::Vote { id, agree, against: _ } => gov::vote(&console, id, agree, json).await,
        GovCommand::Revoke { id } => gov::revoke(&console, id, json).await,
        GovCommand::Show { id } => gov::show(&console, id, json).await,
        GovCommand::List { all } => gov::list(&console, all, json).await,
    }
}

async fn run_contract(console: Console, command: ContractCommand, json: bool) -> Result<(), ConsoleError> {
    match command {
        ContractCommand::Deploy { artifact, args } => contract::deploy(&console, &artifact, &args, json).await,
        ContractCommand::Call { address, method, args } => {
            contract::call(&console, &address, &method, &args, json).await
        }
        ContractCommand::Send { address, method, args } => {
            contract::send(&console, &address, &method, &args, json).await
        }
    }
}

/// Writes a new key to `out` (mode 0600) and prints its address and public key, or prints all three.
/// `accord keygen` / `accord account new`: a new key, printed or written to `out`, and with `member` the member
/// file for the consortium's genesis.
fn keygen(out: Option<PathBuf>, member: Option<(PathBuf, String, String)>) -> anyhow::Result<()> {
    let k = KeyPair::generate();
    let mut info = serde_json::json!({
        "address": k.address(),
        "publicKey": format!("0x{}", hex::encode(k.public_key())),
    });
    // The member file is checked before the key is written, so a bad --p2p-address leaves nothing behind.
    let member = member
        .map(|(path, name, p2p)| anyhow::Ok((path, genesis_assembly::member_of(&k, &name, &p2p)?)))
        .transpose()?;
    match &out {
        Some(path) => home::write_secret(path, &format!("{}\n", k.secret_hex()))?,
        None => info["privateKey"] = serde_json::Value::String(k.secret_hex()),
    }
    if let Some((path, entry)) = member {
        home::write_new(&path, &format!("{}\n", serde_json::to_string_pretty(&entry)?), false)?;
        info["memberFile"] = serde_json::Value::String(path.display().to_string());
    }
    println!("{}", serde_json::to_string_pretty(&info)?);
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Keygen { out, member, name, p2p_address } => {
            keygen(out, member.map(|m| (m, name.unwrap_or_default(), p2p_address)))
        }
        Command::Genesis {
            validators,
            observers,
            chain_id,
            governors,
            participation,
            win,
            proposal_lifetime,
            alloc,
            params,
            timestamp,
            out,
            inspect,
            json,
        } => {
            let (genesis, path) = match (inspect, out) {
                (Some(path), _) => {
                    let text =
                        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
                    (Genesis::from_json(&text).with_context(|| path.display().to_string())?, path)
                }
                (None, Some(out)) => {
                    let plan = genesis_assembly::GenesisPlan {
                        chain_id: chain_id.context("--chain-id is required")?,
                        timestamp: timestamp.unwrap_or_else(accord_node::import::now_secs),
                        validators,
                        observers,
                        governors,
                        participation_pct: participation,
                        win_pct: win,
                        proposal_lifetime,
                        alloc,
                        params,
                    };
                    let genesis = genesis_assembly::assemble(&plan)?;
                    home::write_new(&out, &serde_json::to_string_pretty(&genesis)?, false)?;
                    (genesis, out)
                }
                (None, None) => anyhow::bail!("give --out FILE to assemble a genesis, or --inspect FILE to check one"),
            };
            let hash = genesis_assembly::genesis_hash(&genesis)?;
            let mut about = genesis_assembly::describe(&genesis, hash);
            about["path"] = serde_json::Value::String(path.display().to_string());
            if json {
                println!("{about}");
            } else {
                println!(
                    "{}: chain {}, validators {}, observers {}, {}",
                    path.display(),
                    genesis.chain_id,
                    about["validators"].as_array().map_or(0, Vec::len),
                    about["observers"].as_array().map_or(0, Vec::len),
                    match &genesis.committee {
                        Some(c) => format!("committee of {} governors", c.governors.len()),
                        None => "not governed".to_string(),
                    }
                );
                println!("genesis hash {hash}");
                println!("every member checks it with: accord genesis --inspect genesis.json");
            }
            Ok(())
        }
        Command::ExportBlocks { home: dir, file, from, to } => {
            let (_, chain) = home::open_chain(&dir)?;
            let head = chain.head().number;
            let bar = progress_bar(to.unwrap_or(head).saturating_sub(from.max(1)) + 1, "exporting");
            let report = accord_node::archive::export(&chain, &file, from, to, |_| bar.inc(1))?;
            bar.finish_and_clear();
            println!("exported blocks {}..={} of {} to {}", report.from, report.to, dir.display(), file.display());
            Ok(())
        }
        Command::ImportBlocks { home: dir, file } => {
            let (config, chain) = home::open_chain(&dir)?;
            let params = &chain.genesis().params;
            let metrics = accord_node::metrics::Metrics::new()?;
            let mempool = accord_node::mempool::Mempool::new(config.mempool, params.block_gas_limit, params.base_fee);
            let pool =
                std::sync::Arc::new(accord_node::txpool::TxPool::new(chain.clone(), mempool, None, metrics.clone()));
            let importer = accord_node::import::BlockImporter::new(chain.clone(), pool, metrics);
            let bar = progress_bar(0, "importing");
            let report = accord_node::archive::import(&importer, &chain, &file, |_| bar.inc(1))
                .with_context(|| format!("importing {} into {}", file.display(), dir.display()))?;
            bar.finish_and_clear();
            println!(
                "imported {} blocks ({}..={} checked); head {}",
                report.imported, report.from, report.to, report.head
            );
            Ok(())
        }
        Command::Snapshot { home: dir, file } => {
            let (_, chain) = home::open_chain(&dir)?;
            let bar = counting_bar(0, "writing state", "entries");
            let report = accord_node::snapshot::create(&chain, &file, |n| bar.set_position(n))?;
            bar.finish_and_clear();
            println!(
                "snapshot of block {} ({}) with state root {}: {} state entries, {} validator-set steps, written to {}",
                report.number,
                report.hash,
                report.state_root,
                report.entries,
                report.steps,
                file.display()
            );
            println!(
                "the new node's operator compares that block hash with a member's: accord block get {}",
                report.number
            );
            Ok(())
        }
        Command::ImportSnapshot { home: dir, file } => {
            let (_, genesis, data_dir) = home::load(&dir)?;
            let bar = counting_bar(0, "reading state", "entries");
            let report = accord_node::snapshot::restore(&data_dir, &genesis, &file, |n| bar.set_position(n))
                .with_context(|| format!("restoring {} into {}", file.display(), dir.display()))?;
            bar.finish_and_clear();
            println!(
                "restored block {} ({}) with state root {}: {} state entries, certificates checked from the genesis through {} validator-set steps; start the node to sync the blocks after it",
                report.number, report.hash, report.state_root, report.entries, report.steps
            );
            Ok(())
        }
        Command::Prune { home: dir, keep_blocks } => {
            anyhow::ensure!(
                keep_blocks >= 64,
                "--keep-blocks {keep_blocks} is below 64: keep at least 64 blocks of state"
            );
            let (_, chain) = home::open_chain(&dir)?;
            let head = chain.head().number;
            let kept_from = (head + 1).saturating_sub(keep_blocks);
            let store = chain.store();
            if kept_from <= store.pruned_below() {
                println!("nothing to prune: state is kept from block {} on (head {head})", store.pruned_below());
                return Ok(());
            }
            let before = store.disk_bytes();
            let bar = progress_bar(0, "pruning");
            let report = store.prune_state(kept_from, |n| bar.set_position(n))?;
            bar.finish_and_clear();
            let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
            println!(
                "pruned the state below block {kept_from} (head {head}): {} tree nodes and {} values deleted; database {:.1} MiB -> {:.1} MiB",
                report.nodes,
                report.values,
                mib(before),
                mib(store.disk_bytes())
            );
            Ok(())
        }
        Command::Init { home: dir, genesis, node_key, name, rpc, metrics, p2p } => {
            let (name, role) =
                home::init(&home::InitSpec { home: dir.clone(), genesis, node_key, name, rpc, metrics, p2p })?;
            println!(
                "{}: home of {name} ({role}); start it with: accord start --home {}",
                dir.display(),
                dir.display()
            );
            Ok(())
        }
        Command::Testnet {
            validators,
            observers,
            out,
            accounts,
            chain_id,
            rpc_port,
            metrics_port,
            p2p_port,
            governors,
            hosts,
            reuse_existing,
        } => {
            let spec = TestnetSpec {
                validators,
                observers,
                accounts,
                chain_id,
                rpc_port,
                metrics_port,
                p2p_port,
                timestamp: accord_node::import::now_secs(),
                governors,
                hosts,
            };
            if reuse_existing && testnet::holds_network(&out, &spec)? {
                println!("{} already holds the network: left as it is", out.display());
                return Ok(());
            }
            testnet::generate(&out, &spec)?;
            print!("{}", testnet::summary(&out, &spec));
            Ok(())
        }
        Command::Start { home, rpc_port, metrics_port, p2p_port } => runtime()?
            .block_on(service::run(&home, PortOverrides { rpc: rpc_port, metrics: metrics_port, p2p: p2p_port })),
        Command::Health { url, timeout } => runtime()?.block_on(async move {
            let answer = accord_node::probe::probe(&url, std::time::Duration::from_secs(timeout)).await?;
            println!("{answer}");
            Ok(())
        }),
        Command::Status { rpc } => runtime()?.block_on(async move {
            let client = accord_sdk::client::AccordClient::new(&rpc)?;
            let status: serde_json::Value = client
                .request("accord_nodeStatus", jsonrpsee::rpc_params![])
                .await
                .with_context(|| format!("cannot reach a node at {rpc}"))?;
            println!("{}", serde_json::to_string_pretty(&status)?);
            Ok(())
        }),
        Command::Gov { opts: SigningOptions { rpc, key, json }, command } => runtime()?.block_on(async move {
            let console = Console::new(&rpc, key.as_deref())?;
            Ok(run_gov(console, command, json).await?)
        }),
        Command::Account { read: ReadOptions { rpc, json }, command } => match command {
            AccountCommand::New { out } => keygen(out, None),
            AccountCommand::Balance { address } => runtime()?
                .block_on(async move { Ok(query::balance(&Console::new(&rpc, None)?, &address, json).await?) }),
            AccountCommand::Nonce { address } => {
                runtime()?.block_on(async move { Ok(query::nonce(&Console::new(&rpc, None)?, &address).await?) })
            }
        },
        Command::Tx { read: ReadOptions { rpc, json }, command } => {
            runtime()?.block_on(async move { Ok(query::tx(&Console::new(&rpc, None)?, &command, json).await?) })
        }
        Command::Block { read: ReadOptions { rpc, json }, command: BlockCommand::Get { number } } => {
            runtime()?.block_on(async move { Ok(query::block(&Console::new(&rpc, None)?, &number, json).await?) })
        }
        Command::Validators { read: ReadOptions { rpc, json } } => {
            runtime()?.block_on(async move { Ok(query::validators(&Console::new(&rpc, None)?, json).await?) })
        }
        Command::Peers { read: ReadOptions { rpc, json } } => {
            runtime()?.block_on(async move { Ok(query::peers(&Console::new(&rpc, None)?, json).await?) })
        }
        Command::Contract { opts: SigningOptions { rpc, key, json }, command } => runtime()?.block_on(async move {
            let console = Console::new(&rpc, key.as_deref())?;
            Ok(run_contract(console, command, json).await?)
        }),
        Command::Bench(args) => runtime()?.block_on(accord_node::bench::run(args)),
        Command::Verify { home: dir } => {
            let (config, genesis, data_dir) = home::load(&dir)?;
            let scratch = tempfile::tempdir()?;
            let report = accord_node::replay::replay(&data_dir, genesis, config.emergency.clone(), scratch.path())
                .with_context(|| format!("verification of {} failed", data_dir.display()))?;
            println!(
                "{}",
                serde_json::json!({
                    "ok": true,
                    "height": report.height,
                    "stateRoot": report.state_root,
                    "transactions": report.transactions,
                    "stateEntries": report.state_entries,
                })
            );
            Ok(())
        }
    }
}

/// A progress bar on stderr (drawn only on a terminal); `len` 0 counts without a known end.
fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    counting_bar(len, what, "blocks")
}

/// [`progress_bar`] counting `unit`.
fn counting_bar(len: u64, what: &str, unit: &str) -> indicatif::ProgressBar {
    let bar = if len == 0 { indicatif::ProgressBar::no_length() } else { indicatif::ProgressBar::new(len) };
    let template = format!("{{msg}} {{bar:40}} {{pos}}/{{len}} {unit} ({{per_sec}}, {{eta}})");
    let style =
        indicatif::ProgressStyle::with_template(&template).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}
