//! A consortium's genesis from the members' own files, as `docs/operator-guide.md` ("Four organisations on four
//! hosts") tells operators: the guide's shell blocks run as written (keygen with member files, `accord genesis`,
//! `--inspect`, `accord init`, four `accord start`s, `accord health`, a governance proposal, `accord validators`),
//! and the four nodes then agree on the printed genesis hash and on every block.

mod common;

use std::os::unix::process::CommandExt as _;
use std::process::Command;
use std::time::Duration;

use common::{accord_bin, rpc};

/// Kills the walkthrough's process group (the shell and the nodes it started in the background) when dropped,
/// so a failing test leaves no node running.
struct Group(u32);

impl Group {
    fn signal(&self, name: &str) -> bool {
        Command::new("kill")
            .args([format!("-{name}"), "--".into(), format!("-{}", self.0)])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// SIGTERM, then waits up to 30 s for every process of the group to exit; true when all did.
    fn stop(&self) -> bool {
        self.signal("TERM");
        for _ in 0..300 {
            if !self.signal("0") {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal("KILL");
    }
}

fn hashes(text: &str) -> Vec<String> {
    text.lines().filter_map(|l| l.strip_prefix("genesis hash ")).map(str::to_string).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_four_organisation_walkthrough_runs_as_written() {
    let guide =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/operator-guide.md")).expect("guide");
    let section = guide
        .split("### Four organisations on four hosts")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the walkthrough section");
    let blocks: Vec<&str> = section.split("```sh\n").skip(1).filter_map(|b| b.split("```").next()).collect();
    assert_eq!(blocks.len(), 4, "the walkthrough's four shell blocks");
    let script = blocks.concat();
    assert!(script.starts_with("accord=/tmp/accord-target/release/accord\n"));
    let script =
        script.replacen("accord=/tmp/accord-target/release/accord\n", &format!("accord={}\n", accord_bin()), 1);

    let dir = tempfile::tempdir().expect("tempdir");
    let child = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("bash");
    let group = Group(child.id());
    let out =
        tokio::time::timeout(Duration::from_secs(120), tokio::task::spawn_blocking(move || child.wait_with_output()))
            .await
            .expect("the walkthrough finishes within 120 s")
            .expect("join")
            .expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let logs = || {
        ["bank-a", "bank-b", "corp-c", "regulator"]
            .map(|o| {
                format!("--- {o}\n{}", std::fs::read_to_string(dir.path().join(o).join("node.log")).unwrap_or_default())
            })
            .join("\n")
    };
    assert!(
        out.status.success(),
        "the walkthrough failed:\n{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        logs()
    );

    // `accord genesis` and every member's `--inspect` print one hash, the genesis block the nodes built.
    let printed = hashes(&stdout);
    assert_eq!(printed.len(), 2, "{stdout}");
    assert_eq!(printed[0], printed[1], "{stdout}");
    // The proposal passed through consensus (gov propose waits for its receipt), and the regulator's node lists the
    // four validators by the names their member files gave.
    assert!(stdout.lines().any(|l| l.trim().parse::<u64>().is_ok()), "the new proposal's id: {stdout}");
    for name in ["bank-a", "bank-b", "corp-c", "regulator"] {
        assert!(stdout.contains(name), "validators output names {name}: {stdout}");
    }
    let genesis: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("genesis.json")).expect("genesis"))
            .expect("json");
    assert_eq!(genesis["params"]["blockGasLimit"], 400_000_000);
    assert_eq!(genesis["committee"]["governors"].as_object().map(|g| g.len()), Some(4));

    let urls: Vec<String> = (8645..=8648).map(|p| format!("http://127.0.0.1:{p}")).collect();
    let head = rpc(&urls[0], "eth_blockNumber", serde_json::json!([])).await.expect("head");
    let head = u64::from_str_radix(head.as_str().expect("hex").trim_start_matches("0x"), 16).expect("number");
    assert!(head >= 1, "the proposal's block is committed");
    for url in &urls {
        let block0 = rpc(url, "eth_getBlockByNumber", serde_json::json!(["0x0", false])).await.expect("block 0");
        assert_eq!(block0["hash"].as_str(), Some(printed[0].as_str()), "{url}: genesis hash");
        let mut block = serde_json::Value::Null;
        for _ in 0..100 {
            block =
                rpc(url, "eth_getBlockByNumber", serde_json::json!([format!("{head:#x}"), false])).await.expect("rpc");
            if !block.is_null() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let first =
            rpc(&urls[0], "eth_getBlockByNumber", serde_json::json!([format!("{head:#x}"), false])).await.expect("rpc");
        assert_eq!(block["hash"], first["hash"], "{url}: block {head}");
    }
    assert!(group.stop(), "the nodes stop on SIGTERM:\n{}", logs());
}
