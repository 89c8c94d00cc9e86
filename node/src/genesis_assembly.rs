//! A consortium's genesis without hand-editing JSON: each organisation runs `accord keygen --member` and shares the
//! member file it writes (name, node address, public key, where peers reach the node; never the secret key), and
//! `accord genesis` assembles those files, the committee, allocations and parameters into one checked
//! `genesis.json` and prints the genesis block's hash, which every member recomputes with `accord genesis --inspect`
//! and compares before starting: nodes on different documents never connect into one chain.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use accord_sdk::block::Validator;
use accord_sdk::crypto::CryptoSuite;
use accord_sdk::genesis::{ChainParams, Genesis};
use accord_sdk::governance::Committee;
use accord_sdk::{B256, U256};
use anyhow::Context as _;

/// Reads a member file: a genesis member entry (`name`, `address`, `publicKey`, `p2pAddress`) whose address must
/// follow from its public key and whose `p2pAddress` must be dialable (or empty: the member dials in).
pub fn read_member(path: &Path) -> anyhow::Result<Validator> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read member file {}", path.display()))?;
    let member: Validator = serde_json::from_str(&text).with_context(|| {
        format!("{} is not a member file (JSON with name, address, publicKey, p2pAddress)", path.display())
    })?;
    anyhow::ensure!(!member.name.trim().is_empty(), "{}: the member's name is empty", path.display());
    member.check_key().map_err(|e| {
        anyhow::anyhow!("{}: {e}; ask the member for the file `accord keygen --member` wrote", path.display())
    })?;
    crate::network::multiaddr_of(&member.p2p_address).with_context(|| format!("{}: p2pAddress", path.display()))?;
    Ok(member)
}

/// What `accord genesis` is asked to assemble.
#[derive(Debug, Clone, Default)]
pub struct GenesisPlan {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// Genesis timestamp (seconds).
    pub timestamp: u64,
    /// Member files of the validators, in leader-rotation order.
    pub validators: Vec<PathBuf>,
    /// Member files of the observers.
    pub observers: Vec<PathBuf>,
    /// `ADDRESS` or `ADDRESS:WEIGHT` (weight 1 when absent); none: the chain is not governed.
    pub governors: Vec<String>,
    /// Committee participation threshold, percent.
    pub participation_pct: u8,
    /// Committee win threshold, percent.
    pub win_pct: u8,
    /// Blocks a proposal stays open.
    pub proposal_lifetime: u64,
    /// `ADDRESS=WEI` initial balances.
    pub alloc: Vec<String>,
    /// `name=value` chain parameters (`blockGasLimit=500000000`), the rest at their defaults.
    pub params: Vec<String>,
}

/// The checked genesis document of `plan`, naming this build's contract engine.
pub fn assemble(plan: &GenesisPlan) -> anyhow::Result<Genesis> {
    let read_all = |paths: &[PathBuf]| paths.iter().map(|p| read_member(p)).collect::<anyhow::Result<Vec<_>>>();
    let validators = read_all(&plan.validators)?;
    let observers = read_all(&plan.observers)?;
    anyhow::ensure!(!validators.is_empty(), "name at least one validator (--validator MEMBER_FILE)");
    let mut names = BTreeMap::new();
    for m in validators.iter().chain(&observers) {
        if let Some(other) = names.insert(m.name.clone(), m.address) {
            anyhow::bail!("two members are named '{}' ({other} and {}): names must be distinct", m.name, m.address);
        }
    }
    let committee = if plan.governors.is_empty() {
        None
    } else {
        let mut governors = BTreeMap::new();
        for g in &plan.governors {
            let (address, weight) = match g.split_once(':') {
                Some((a, w)) => {
                    (a, w.parse::<u64>().with_context(|| format!("--governor {g}: weight is not a number"))?)
                }
                None => (g.as_str(), 1),
            };
            let address = crate::console::parse_address(address).with_context(|| format!("--governor {g}"))?;
            anyhow::ensure!(governors.insert(address, weight).is_none(), "--governor {address} is named twice");
        }
        Some(Committee {
            governors,
            participation_pct: plan.participation_pct,
            win_pct: plan.win_pct,
            lifetime_blocks: plan.proposal_lifetime,
        })
    };
    let mut alloc = BTreeMap::new();
    for a in &plan.alloc {
        let (address, wei) = a.split_once('=').with_context(|| format!("--alloc {a}: expected ADDRESS=WEI"))?;
        let address = crate::console::parse_address(address).with_context(|| format!("--alloc {a}"))?;
        let wei = U256::from_str_radix(wei.trim(), 10).with_context(|| format!("--alloc {a}: WEI is not a number"))?;
        anyhow::ensure!(alloc.insert(address, wei).is_none(), "--alloc {address} is named twice");
    }
    let genesis = Genesis {
        chain_id: plan.chain_id,
        timestamp: plan.timestamp,
        crypto: CryptoSuite::default(),
        validators,
        observers,
        alloc,
        params: params(&plan.params)?,
        committee,
        vm: Some(crate::testnet::engine_identity()?),
    };
    genesis.validate()?;
    Ok(genesis)
}

/// The default chain parameters with `name=value` overrides; an unknown name lists the known ones.
fn params(overrides: &[String]) -> anyhow::Result<ChainParams> {
    let serde_json::Value::Object(mut map) = serde_json::to_value(ChainParams::default())? else {
        anyhow::bail!("chain parameters are not a JSON object");
    };
    // Optional parameters are absent from the defaults' JSON but may be set.
    let mut known: Vec<String> = map.keys().cloned().chain(["maxBlockTransactions".to_string()]).collect();
    known.sort();
    known.dedup();
    for o in overrides {
        let (name, value) = o.split_once('=').with_context(|| format!("--param {o}: expected NAME=VALUE"))?;
        anyhow::ensure!(
            known.iter().any(|k| k == name),
            "--param {name}: no such parameter (known: {})",
            known.join(", ")
        );
        let value: u64 = value.trim().parse().with_context(|| format!("--param {o}: VALUE is not a whole number"))?;
        map.insert(name.to_string(), value.into());
    }
    serde_json::from_value(serde_json::Value::Object(map)).context("chain parameters")
}

/// The hash of the genesis block `genesis` makes: the state tree of its allocations and governed state is built
/// in a throw-away database exactly as a node builds it on first start.
pub fn genesis_hash(genesis: &Genesis) -> anyhow::Result<B256> {
    let dir = tempfile::Builder::new().prefix("accord-genesis-").tempdir()?;
    let chain = crate::chain::Chain::open(dir.path(), genesis.clone()).context("building the genesis block")?;
    Ok(chain.genesis_hash())
}

/// What `accord genesis` prints about a document.
pub fn describe(genesis: &Genesis, hash: B256) -> serde_json::Value {
    let names = |ms: &[Validator]| ms.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
    serde_json::json!({
        "hash": hash,
        "chainId": genesis.chain_id,
        "validators": names(&genesis.validators),
        "observers": names(&genesis.observers),
        "governors": genesis.committee.as_ref().map_or(0, |c| c.governors.len()),
        "alloc": genesis.alloc.len(),
    })
}

/// The member file of the node whose key is `key`.
pub fn member_of(key: &accord_sdk::keys::KeyPair, name: &str, p2p_address: &str) -> anyhow::Result<Validator> {
    anyhow::ensure!(!name.trim().is_empty(), "--name must not be empty");
    crate::network::multiaddr_of(p2p_address).context("--p2p-address")?;
    Ok(Validator::from_key(name, key, p2p_address))
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_sdk::keys::KeyPair;

    fn member_files(dir: &Path, n: usize) -> (Vec<PathBuf>, Vec<KeyPair>) {
        let keys: Vec<KeyPair> = (0..n).map(|_| KeyPair::generate()).collect();
        let files = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let path = dir.join(format!("org{i}.json"));
                let member = member_of(k, &format!("org{i}"), &format!("org{i}.example:30300")).expect("member");
                std::fs::write(&path, serde_json::to_string(&member).expect("json")).expect("write");
                path
            })
            .collect();
        (files, keys)
    }

    fn plan(files: &[PathBuf]) -> GenesisPlan {
        GenesisPlan {
            chain_id: 2026,
            timestamp: 1_800_000_000,
            validators: files[..4].to_vec(),
            observers: files[4..].to_vec(),
            participation_pct: 50,
            win_pct: 50,
            proposal_lifetime: 1_000,
            ..GenesisPlan::default()
        }
    }

    #[test]
    fn members_files_committee_and_params_make_one_checked_genesis() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (files, keys) = member_files(dir.path(), 5);
        let governor = KeyPair::generate().address();
        let mut p = plan(&files);
        p.governors = vec![format!("{governor}:2"), keys[0].address().to_string()];
        p.alloc = vec![format!("{governor}=1000000000000000000000")];
        p.params = vec!["blockGasLimit=500000000".into(), "maxBlockTransactions=20000".into()];
        let genesis = assemble(&p).expect("assembles");
        assert_eq!(
            genesis.validators.iter().map(|v| v.address).collect::<Vec<_>>(),
            keys[..4].iter().map(|k| k.address()).collect::<Vec<_>>(),
            "validators in the order given"
        );
        assert_eq!(genesis.observers[0].p2p_address, "org4.example:30300");
        let committee = genesis.committee.as_ref().expect("committee");
        assert_eq!(committee.governors[&governor], 2);
        assert_eq!(committee.governors[&keys[0].address()], 1);
        assert_eq!(genesis.alloc[&governor], U256::from(10u64).pow(U256::from(21u8)));
        assert_eq!(genesis.params.block_gas_limit, 500_000_000);
        assert_eq!(genesis.params.max_block_transactions, Some(20_000));
        assert_eq!(genesis.params.max_tx_bytes, ChainParams::default().max_tx_bytes);
        // The same plan gives the same document and hash on every member's machine.
        let hash = genesis_hash(&genesis).expect("hash");
        assert_eq!(genesis_hash(&assemble(&p).expect("again")).expect("hash"), hash);
        p.chain_id = 2027;
        assert_ne!(genesis_hash(&assemble(&p).expect("other")).expect("hash"), hash);
    }

    #[test]
    fn refuses_forged_and_conflicting_members() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (files, _) = member_files(dir.path(), 5);
        // A member file whose address is not its key's: refused with the file named.
        let mut forged: Validator =
            serde_json::from_str(&std::fs::read_to_string(&files[1]).expect("read")).expect("json");
        forged.address = KeyPair::generate().address();
        std::fs::write(&files[1], serde_json::to_string(&forged).expect("json")).expect("write");
        let err = assemble(&plan(&files)).expect_err("forged");
        assert!(format!("{err:#}").contains("org1.json: address"), "{err:#}");
        let (files, _) = member_files(dir.path(), 5);
        let mut twice = plan(&files);
        twice.observers = vec![files[0].clone()];
        assert!(format!("{:#}", assemble(&twice).expect_err("listed twice")).contains("named 'org0'"));
        let mut bad = plan(&files);
        bad.params = vec!["blockGasLimitt=1".into()];
        assert!(format!("{:#}", assemble(&bad).expect_err("typo")).contains("no such parameter (known: baseFee"));
        bad.params = vec!["blockGasLimit=1".into()];
        assert!(format!("{:#}", assemble(&bad).expect_err("too low")).contains("blockGasLimit"));
        let mut bad = plan(&files);
        bad.governors = vec!["0x12".into()];
        assert!(assemble(&bad).is_err());
        std::fs::write(&files[2], "{\"name\": \"x\"}").expect("write");
        assert!(format!("{:#}", assemble(&plan(&files)).expect_err("not a member file")).contains("org2.json"));
    }
}
