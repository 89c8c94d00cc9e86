//! `accord gov` against a running node, as an operator uses it: proposals and votes with key files, refusals with
//! exit codes scripts can tell apart, and the rules taking effect from the announced height.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{DevAccount, TestNode, accord_bin};

fn gov(node: &TestNode, key: Option<&Path>, args: &[&str]) -> Output {
    let mut c = Command::new(accord_bin());
    c.arg("gov").args(args).args(["--rpc", &node.rpc_url]);
    if let Some(k) = key {
        c.arg("--key").arg(k);
    }
    c.output().expect("run accord gov")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "accord gov failed ({:?}): {}{}", o.status.code(), stdout(&o), stderr(&o));
    stdout(&o)
}

/// A key file as `accord keygen --out` writes it (with its trailing newline, which the CLI must accept).
fn keygen_file(node: &TestNode, account: &DevAccount) -> PathBuf {
    let path = node.dir.path().join(format!("{}.key", account.address));
    std::fs::write(&path, format!("{}\n", account.private_key)).expect("write key");
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_govern_through_the_cli() {
    let mut node = TestNode::new();
    let client = node.start().await;
    let governors: Vec<PathBuf> = node.accounts[..3].iter().map(|a| keygen_file(&node, a)).collect();
    let outsider_account = node.accounts[5].clone();
    let outsider = keygen_file(&node, &outsider_account);
    let target = node.accounts[6].address.to_string();

    // The proposer's vote alone (1 of 3) is below 50 % participation: open.
    let id = ok(gov(&node, Some(&governors[0]), &["propose", "freeze", &target]));
    let id: u64 = id.parse().unwrap_or_else(|_| panic!("an id on stdout, got {id:?}"));
    let shown: serde_json::Value =
        serde_json::from_str(&ok(gov(&node, None, &["show", &id.to_string(), "--json"]))).expect("json");
    assert_eq!((shown["status"].as_str(), shown["kind"].as_str()), (Some("open"), Some("freeze")));
    let open: serde_json::Value = serde_json::from_str(&ok(gov(&node, None, &["list", "--json"]))).expect("json");
    assert_eq!(open.as_array().map(|a| a.len()), Some(1));

    // Refusals: exit code 4 for what the chain refuses, 2 for what is wrong with the command.
    let o = gov(&node, Some(&outsider), &["propose", "freeze", &target]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("is not a governor"), "{}", stderr(&o));
    let o = gov(&node, Some(&governors[1]), &["propose", "unfreeze", &target]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("is not frozen"), "{}", stderr(&o));
    let o = gov(&node, Some(&governors[1]), &["propose", "abolish", &target]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains(&format!("proposal {id} on status")), "one open proposal per target: {}", stderr(&o));
    let o = gov(&node, Some(&governors[0]), &["propose", "set-param", "gasPrice", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown key \"gasPrice\""), "{}", stderr(&o));
    let o = gov(&node, None, &["vote", &id.to_string(), "--agree"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("give --key FILE"), "{}", stderr(&o));

    // The second governor's vote decides it; the freeze is in force from the announced block.
    let voted: serde_json::Value =
        serde_json::from_str(&ok(gov(&node, Some(&governors[1]), &["vote", &id.to_string(), "--agree", "--json"])))
            .expect("json");
    assert_eq!(voted["status"].as_str(), Some("passed"));
    let effective = voted["effectiveHeight"].as_u64().expect("effectiveHeight");
    assert_eq!(Some(effective), voted["blockNumber"].as_u64().map(|b| b + 1));
    let status: serde_json::Value =
        client.request("accord_accountStatus", jsonrpsee::rpc_params![&target]).await.expect("rpc");
    assert_eq!(
        (status["status"].as_str(), status["since"].as_str()),
        (Some("frozen"), Some(&*format!("{effective:#x}")))
    );
    let o = gov(&node, Some(&governors[2]), &["vote", &id.to_string(), "--against"]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("is passed, not open"), "{}", stderr(&o));

    // Revoke: only the proposer, only while open.
    let id2 = ok(gov(&node, Some(&governors[0]), &["propose", "set-thresholds", "60", "60"]));
    let o = gov(&node, Some(&governors[1]), &["revoke", &id2]);
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(ok(gov(&node, Some(&governors[0]), &["revoke", &id2])), "revoked");
    let all: serde_json::Value =
        serde_json::from_str(&ok(gov(&node, None, &["list", "--all", "--json"]))).expect("json");
    let statuses: Vec<&str> = all.as_array().expect("array").iter().filter_map(|p| p["status"].as_str()).collect();
    assert_eq!(statuses, ["revoked", "passed"], "newest first");
    assert!(ok(gov(&node, None, &["list"])).is_empty(), "nothing open");

    // Removing the only validator: the CLI sees no live quorum left and says so; forced, the chain refuses it.
    let status: serde_json::Value =
        client.request("accord_nodeStatus", jsonrpsee::rpc_params![]).await.expect("status");
    let me = status["nodeAddress"].as_str().expect("nodeAddress").to_string();
    let o = gov(&node, Some(&governors[0]), &["propose", "remove-validator", &me]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("below the 1 the new set needs to commit") && stderr(&o).contains("--force"),
        "{}",
        stderr(&o)
    );
    let o = gov(&node, Some(&governors[0]), &["propose", "remove-validator", &me, "--force"]);
    assert_eq!(o.status.code(), Some(4));
    assert!(stderr(&o).contains("the last validator cannot be removed"), "{}", stderr(&o));
    node.stop();
}
