//! `accord bench` end to end: it starts its own validators as real processes, funds and pre-signs, offers an
//! open-loop load, and writes a report whose counts agree with the chain (every committed transaction confirmed
//! by its receipt, pools drained). Figures are printed, never asserted: only counts and consistency are.

use std::process::Command;

mod common;

fn bench(workload: &str, validators: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(["bench", "--local", validators, "--workload", workload, "--rate", "40", "--duration", "3"])
        .args(["--warmup", "1", "--accounts", "20", "--json"])
        .arg(&json)
        .output()
        .expect("runs accord bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "accord bench failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("committed TPS") && stdout.contains("ratio to ceiling"), "table printed:\n{stdout}");
    serde_json::from_str(&std::fs::read_to_string(&json).expect("report written")).expect("report is JSON")
}

fn check(r: &serde_json::Value, workload: &str) {
    let count = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("{k} missing in {r}"));
    let number = |k: &str| r[k].as_f64().unwrap_or_else(|| panic!("{k} missing in {r}"));
    assert_eq!(r["workload"], workload);
    // 40 tx/s for 1 + 3 seconds: 160 offered, every one committed and confirmed by its receipt.
    assert_eq!(count("submitted"), 160, "{r}");
    assert_eq!(count("committed"), 160, "{r}");
    assert_eq!(count("rejected") + count("dropped") + count("failed"), 0, "{r}");
    assert_eq!(count("chain_transactions"), 160, "the run's blocks hold exactly its transactions: {r}");
    assert_eq!(r["pools_drained"], true, "{r}");
    assert!(number("committed_tps") > 0.0 && number("ceiling_tps") > 0.0, "{r}");
    assert!((number("ratio") - number("committed_tps") / number("ceiling_tps")).abs() < 1e-9, "{r}");
    assert!(number("p50_ms") > 0.0 && number("p99_ms") >= number("p50_ms"), "{r}");
    assert!(number("cpu_us_per_tx") > 0.0, "local nodes' CPU is measured: {r}");
    let nodes = r["nodes"].as_array().expect("nodes");
    assert!(nodes.iter().all(|n| n["peak_rss_mib"].as_f64().is_some_and(|m| m > 1.0)), "{r}");
}

#[test]
fn bench_transfer_on_a_local_network_reports_counts_that_match_the_chain() {
    check(&bench("transfer", "4"), "transfer");
}

#[test]
fn bench_token_runs_every_transaction_through_the_vm() {
    check(&bench("token", "1"), "token");
}

#[tokio::test(flavor = "multi_thread")]
async fn bench_drives_a_running_network_with_a_funder_key_and_the_nodes_pids() {
    let nodes = common::started_testnet(4, 0).await;
    let key = common::key_file(&nodes[0], 5);
    let urls: Vec<&str> = nodes.iter().map(|n| n.rpc_url.as_str()).collect();
    let pids: Vec<String> = nodes.iter().map(|n| n.pid().expect("running").to_string()).collect();
    let json = nodes[0].dir.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(["bench", "--rpc", &urls.join(","), "--pids", &pids.join(","), "--rate", "40", "--duration", "3"])
        .args(["--warmup", "1", "--accounts", "20", "--json"])
        .arg(&json)
        .arg("--key")
        .arg(&key)
        .output()
        .expect("runs accord bench");
    assert!(
        out.status.success(),
        "accord bench --rpc failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report written")).expect("report is JSON");
    check(&report, "transfer");
    assert_eq!(report["validators"], 4);

    // Without a funder key it says what to give.
    let out = Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(["bench", "--rpc", &urls.join(",")])
        .output()
        .expect("runs accord bench");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--key FILE"), "{}", String::from_utf8_lossy(&out.stderr));
}
