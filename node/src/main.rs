//! The `accord` binary.

use std::process::ExitCode;

use accord_node::cli::{
    AccountCommand, BlockCommand, Cli, Command, ContractCommand, GovCommand, ReadOptions, SigningOptions,
};
use accord_node::config::NodeConfig;
use accord_node::console::{Console, ConsoleError, contract, gov, query};
use accord_node::service::{self, PortOverrides};
use accord_node::testnet::{self, TestnetSpec};
use accord_sdk::genesis::Genesis;
use accord_sdk::keys::KeyPair;
use anyhow::Context as _;
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: log files and journald get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
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
fn keygen(out: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let k = KeyPair::generate();
    let info = serde_json::json!({
        "address": k.address(),
        "publicKey": format!("0x{}", hex::encode(k.public_key())),
    });
    match out {
        Some(path) => {
            if path.exists() {
                anyhow::bail!("{} exists; refusing to overwrite a key", path.display());
            }
            std::fs::write(&path, format!("{}\n", k.secret_hex()))
                .with_context(|| format!("cannot write {}", path.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
            println!("{}", serde_json::to_string_pretty(&info)?);
        }
        None => {
            let mut info = info;
            info["privateKey"] = serde_json::Value::String(k.secret_hex());
            println!("{}", serde_json::to_string_pretty(&info)?);
        }
    }
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Keygen { out } => keygen(out),
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
        } => {
            let timestamp =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            let spec = TestnetSpec {
                validators,
                observers,
                accounts,
                chain_id,
                rpc_port,
                metrics_port,
                p2p_port,
                timestamp,
                governors,
            };
            let homes = testnet::generate(&out, &spec)?;
            for (i, h) in homes.iter().enumerate() {
                let role = if i < validators { "validator" } else { "observer " };
                println!(
                    "node{i} ({role}): home {}  rpc http://127.0.0.1:{}  metrics http://127.0.0.1:{}/metrics",
                    h.display(),
                    usize::from(rpc_port) + i,
                    usize::from(metrics_port) + i
                );
            }
            println!("dev accounts: {}", out.join("accounts.json").display());
            if governors > 0 {
                println!(
                    "governance committee: the first {governors} dev accounts (weight 1 each; 50 % participation, 50 % win)"
                );
            }
            Ok(())
        }
        Command::Start { home, rpc_port, metrics_port, p2p_port } => runtime()?
            .block_on(service::run(&home, PortOverrides { rpc: rpc_port, metrics: metrics_port, p2p: p2p_port })),
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
            AccountCommand::New { out } => keygen(out),
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
        Command::Verify { home } => {
            let config = NodeConfig::load(&home)?;
            let genesis_path = NodeConfig::resolve(&home, &config.node.genesis);
            let genesis = Genesis::from_json(
                &std::fs::read_to_string(&genesis_path)
                    .with_context(|| format!("cannot read {}", genesis_path.display()))?,
            )?;
            let data_dir = NodeConfig::resolve(&home, &config.node.data_dir);
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
