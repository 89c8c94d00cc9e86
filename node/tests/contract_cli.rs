//! `accord contract deploy|call|send` against a real node, as a contract developer uses it: the commands of
//! `docs/contract-guide.md` run as written, and each kind of failure exits with its code and says what to do.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{TestNode, accord_bin};

fn contract(node: &TestNode, key: Option<&Path>, args: &[&str]) -> Output {
    let mut c = Command::new(accord_bin());
    c.arg("contract").args(args).args(["--rpc", &node.rpc_url]);
    if let Some(k) = key {
        c.arg("--key").arg(k);
    }
    c.output().expect("run accord contract")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_string()
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "accord contract failed ({:?}): {}{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    text(&o.stdout)
}

fn refused(o: Output, code: i32, says: &str) {
    assert_eq!(o.status.code(), Some(code), "stdout {} stderr {}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stderr).contains(says), "{:?} should say {says:?}", text(&o.stderr));
}

fn token_artifact() -> String {
    format!("{}/token.json", env!("ACCORD_CONTRACTS_OUT"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_contract_guide_runs_as_written() {
    let mut node = TestNode::new();
    node.start().await;
    // A directory shaped like the repository while the main command runs: testnet/accounts.json and the artifacts.
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("testnet")).expect("testnet dir");
    let accounts: Vec<serde_json::Value> = node
        .accounts
        .iter()
        .map(|a| serde_json::json!({ "address": a.address, "private_key": a.private_key }))
        .collect();
    std::fs::write(root.path().join("testnet/accounts.json"), serde_json::to_string(&accounts).expect("json"))
        .expect("accounts.json");
    std::fs::create_dir_all(root.path().join("contracts")).expect("contracts dir");
    std::os::unix::fs::symlink(env!("ACCORD_CONTRACTS_OUT"), root.path().join("contracts/out")).expect("symlink");

    let guide =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/contract-guide.md")).expect("guide");
    // The guide's shell blocks, in order, in one shell (the second uses the first's variables).
    let blocks: Vec<&str> = guide.split("```sh\n").skip(1).filter_map(|b| b.split("```").next()).collect();
    assert_eq!(blocks.len(), 2, "the guide's two shell blocks");
    let block = blocks.concat();
    assert!(
        block.contains("accord=/tmp/accord-target/release/accord\n") && block.contains("RPC=http://127.0.0.1:8545\n")
    );
    let script = block
        .replace("accord=/tmp/accord-target/release/accord\n", &format!("accord={}\n", accord_bin()))
        .replace("RPC=http://127.0.0.1:8545\n", &format!("RPC={}\n", node.rpc_url));
    let out =
        Command::new("bash").args(["-euo", "pipefail", "-c", &script]).current_dir(root.path()).output().expect("bash");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "the guide's commands failed: {stdout}\n{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    // call balanceOf, call symbol, send transfer, send approve, call allowance --json, deploy --json; then tx get,
    // receipt, proof, block, balance, nonce, the validators (a heading and one line), peers.
    assert_eq!(lines.len(), 15, "{stdout}");
    assert_eq!(lines[0], "1000000");
    assert_eq!(lines[1], "GDD");
    assert!(lines[2].starts_with("status 1 (success), block "), "{}", lines[2]);
    assert!(lines[3].starts_with("status 1 (success), block "), "{}", lines[3]);
    assert_eq!(lines[4], r#"["100"]"#);
    let deployed: serde_json::Value = serde_json::from_str(lines[5]).expect("deploy --json");
    for field in ["address", "transactionHash", "blockNumber"] {
        assert!(!deployed[field].is_null(), "{field} in {deployed}");
    }
    assert_eq!(deployed["status"], 1);
    let json =
        |i: usize| serde_json::from_str::<serde_json::Value>(lines[i]).unwrap_or_else(|e| panic!("{}: {e}", lines[i]));
    let (tx, receipt, proof, block) = (json(6), json(7), json(8), json(9));
    assert_eq!(tx["hash"], receipt["transactionHash"]);
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(proof["blockHash"], receipt["blockHash"]);
    assert!(proof["transaction"]["proof"].is_object() || proof["transaction"]["proof"].is_array(), "{proof}");
    assert_eq!(block["hash"], receipt["blockHash"], "the latest block holds the last transaction");
    assert!(lines[10].parse::<u128>().is_ok(), "balance {}", lines[10]);
    // Deploy, transfer, approve, deploy, transfer: the next nonce is 5.
    assert_eq!(lines[11], "5");
    assert!(lines[12].starts_with("validators certifying block "), "{}", lines[12]);
    assert!(lines[13].contains(&node.name) || lines[13].starts_with("  0x"), "{}", lines[13]);
    assert_eq!(lines[14], "0 connected", "a single node has no peers");
}

#[tokio::test(flavor = "multi_thread")]
async fn contract_commands_decode_results_and_refuse_with_exit_codes() {
    let mut node = TestNode::new();
    node.start().await;
    let key = node.dir.path().join("dev0.key");
    std::fs::write(&key, format!("{}\n", node.accounts[0].private_key)).expect("key file");
    let me = node.accounts[0].address.to_string();
    let bob = node.accounts[1].address.to_string();

    let token = ok(contract(&node, Some(&key), &["deploy", &token_artifact(), "Test Token", "TT", "5000"]));
    assert!(token.starts_with("0x") && token.len() == 42, "{token}");
    let sent = ok(contract(&node, Some(&key), &["send", &token, "transfer", &bob, "1200", "--json"]));
    let receipt: serde_json::Value = serde_json::from_str(&sent).expect("json");
    assert_eq!(receipt["status"], 1);
    assert!(receipt["gasUsed"].as_u64().is_some_and(|g| g > 21_000), "{receipt}");
    assert_eq!(ok(contract(&node, None, &["call", &token, "balanceOf", &bob])), "1200");
    assert_eq!(ok(contract(&node, None, &["call", &token, "balanceOf(address)(uint256)", &me])), "3800");
    // Several outputs and a raw call without outputs.
    assert_eq!(ok(contract(&node, None, &["call", &token, "name()(string)"])), "Test Token");
    let raw = ok(contract(&node, None, &["call", &token, "decimals()"]));
    assert_eq!(raw, format!("0x{}12", "0".repeat(62)));

    // 2: what is wrong with the command.
    refused(contract(&node, None, &["send", &token, "transfer", &bob, "1"]), 2, "give --key FILE");
    refused(
        contract(&node, Some(&key), &["send", &token, "transfer", &bob, "ten"]),
        2,
        "argument 2 (value) is not a valid uint256",
    );
    refused(contract(&node, None, &["call", &token, "balanceOf"]), 2, "takes 1 argument(s) (address), 0 given");
    refused(
        contract(&node, None, &["call", &token, "balanceOf(address)", "0xzz"]),
        2,
        "argument 1 is not a valid address",
    );
    refused(
        contract(&node, None, &["call", &token, "mint", &me]),
        2,
        "has no function mint; it has: allowance, approve",
    );
    refused(contract(&node, None, &["call", "0x1234", "balanceOf", &me]), 2, "is not an address");
    refused(contract(&node, None, &["call", &bob, "balanceOf", &me]), 2, "name the method by signature");
    refused(contract(&node, Some(&key), &["deploy", "/nonexistent.json"]), 2, "cannot read the artifact");
    // The read commands: a transaction or block the node does not have is a refusal that says so.
    let missing = format!("0x{}", "ab".repeat(32));
    let o = Command::new(accord_bin()).args(["tx", "receipt", &missing, "--rpc", &node.rpc_url]).output().expect("run");
    refused(o, 4, "has no committed transaction");
    let o = Command::new(accord_bin()).args(["block", "get", "999999", "--rpc", &node.rpc_url]).output().expect("run");
    refused(o, 4, "has no block 999999");
    let o =
        Command::new(accord_bin()).args(["account", "balance", "0x12", "--rpc", &node.rpc_url]).output().expect("run");
    refused(o, 2, "is not an address");
    // 4: the chain says no, with the contract's reason; nothing was sent.
    refused(
        contract(&node, Some(&key), &["send", &token, "transfer(address,uint256)", &bob, "999999"]),
        4,
        "ERC20: transfer amount exceeds balance",
    );
    // 3: no node there.
    let o = Command::new(accord_bin())
        .args(["contract", "call", &token, "balanceOf", &me, "--rpc", "http://127.0.0.1:9"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
}
