//! The `accord` command line as an operator meets it: keys, testnet layout, clear refusals of bad setups.

mod common;

use std::process::Command;

use common::accord_bin;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(accord_bin()).args(args).output().expect("run accord")
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn keygen_writes_a_private_key_file_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let printed = run(&["keygen"]);
    assert!(printed.status.success());
    let v: serde_json::Value = serde_json::from_slice(&printed.stdout).expect("json");
    let key = accord_sdk::keys::KeyPair::from_hex(v["privateKey"].as_str().expect("privateKey")).expect("valid key");
    assert_eq!(format!("{:#x}", key.address()), v["address"].as_str().expect("address").to_lowercase());

    let path = dir.path().join("node.key");
    let p = path.to_str().expect("utf8");
    let o = run(&["keygen", "--out", p]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(v.get("privateKey").is_none(), "the secret goes to the file, not the terminal");
    let key = accord_sdk::keys::KeyPair::from_hex(&std::fs::read_to_string(&path).expect("key file")).expect("valid");
    assert_eq!(format!("{:#x}", key.address()), v["address"].as_str().expect("address").to_lowercase());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
    }
    let again = run(&["keygen", "--out", p]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("refusing to overwrite"), "{}", stderr(&again));
}

#[test]
fn testnet_layout_ports_and_refusals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("net");
    let o = Command::new(accord_bin())
        .args(["testnet", "--validators", "4", "--observers", "1", "--accounts", "3", "--rpc-port", "20000", "--out"])
        .arg(&out)
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", stderr(&o));
    for i in 0..5 {
        let home = out.join(format!("node{i}"));
        for f in ["config.toml", "genesis.json", "node.key"] {
            assert!(home.join(f).exists(), "node{i}/{f}");
        }
        let cfg = std::fs::read_to_string(home.join("config.toml")).expect("config");
        assert!(cfg.contains(&format!("127.0.0.1:{}", 20000 + i)), "rpc port base: {cfg}");
        assert!(cfg.contains(&format!("127.0.0.1:{}", 9600 + i)), "metrics default base: {cfg}");
    }
    let accounts: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(out.join("accounts.json")).expect("accounts")).expect("json");
    assert_eq!(accounts.len(), 3);
    assert!(accounts.iter().all(|a| a["address"].is_string() && a["private_key"].is_string()));
    let genesis =
        accord_sdk::genesis::Genesis::from_json(&std::fs::read_to_string(out.join("node0/genesis.json")).expect("g"))
            .expect("valid genesis");
    assert_eq!(genesis.validators.len(), 4);
    assert_eq!(genesis.observers.len(), 1);
    assert_eq!(genesis.alloc.len(), 3);
    let p2p: Vec<&str> = genesis.members().map(|m| m.p2p_address.as_str()).collect();
    assert_eq!(p2p, ["127.0.0.1:30300", "127.0.0.1:30301", "127.0.0.1:30302", "127.0.0.1:30303", "127.0.0.1:30304"]);
    // The committee: the first 3 dev accounts, weight 1 each, 50 % / 50 %, 1,000 blocks.
    let committee = genesis.committee.as_ref().expect("a committee by default");
    let first_three: std::collections::BTreeMap<accord_sdk::Address, u64> =
        accounts.iter().map(|a| (a["address"].as_str().expect("address").parse().expect("an address"), 1)).collect();
    assert_eq!(committee.governors, first_three);
    assert_eq!((committee.participation_pct, committee.win_pct, committee.lifetime_blocks), (50, 50, 1_000));
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("node0/genesis.json")).expect("g")).expect("json");
    assert_eq!(raw["committee"]["participationThreshold"], 50, "{}", raw["committee"]);
    assert_eq!(raw["committee"]["winThreshold"], 50);
    assert_eq!(raw["committee"]["proposalLifetime"], 1_000);

    // Not over an existing network.
    let again = Command::new(accord_bin()).args(["testnet", "--out"]).arg(&out).output().expect("run");
    assert!(!again.status.success());
    assert!(stderr(&again).contains("already holds a network"), "{}", stderr(&again));

    // A node key that is on neither list: a clear refusal naming the key, not a node that silently never syncs.
    let stranger = accord_sdk::keys::KeyPair::generate();
    std::fs::write(out.join("node0/node.key"), stranger.secret_hex()).expect("write key");
    let start = Command::new(accord_bin()).args(["start", "--home"]).arg(out.join("node0")).output().expect("run");
    assert!(!start.status.success());
    assert!(stderr(&start).contains("neither a validator nor an observer"), "{}", stderr(&start));
    assert!(stderr(&start).contains(&stranger.address().to_string()), "{}", stderr(&start));
}

#[test]
fn testnet_governors_flag_sizes_or_drops_the_committee() {
    let dir = tempfile::tempdir().expect("tempdir");
    let genesis_of = |name: &str, governors: &str| {
        let out = dir.path().join(name);
        let o = Command::new(accord_bin())
            .args(["testnet", "--governors", governors, "--out"])
            .arg(&out)
            .output()
            .expect("run");
        (o.status.success(), stderr(&o), out.join("node0/genesis.json"))
    };
    let (ok, err, path) = genesis_of("one", "1");
    assert!(ok, "{err}");
    let g = accord_sdk::genesis::Genesis::from_json(&std::fs::read_to_string(path).expect("g")).expect("valid");
    assert_eq!(g.committee.expect("committee").governors.len(), 1);
    let (ok, err, path) = genesis_of("none", "0");
    assert!(ok, "{err}");
    let g = accord_sdk::genesis::Genesis::from_json(&std::fs::read_to_string(path).expect("g")).expect("valid");
    assert!(g.committee.is_none(), "--governors 0: not governed");
    let (ok, err, _) = genesis_of("too_many", "11");
    assert!(!ok && err.contains("--governors 11 needs at least that many dev accounts"), "{err}");
}

#[test]
fn bad_configs_get_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("net");
    assert!(Command::new(accord_bin()).args(["testnet", "--out"]).arg(&out).output().expect("run").status.success());
    let home = out.join("node0");
    let start =
        |home: &std::path::Path| Command::new(accord_bin()).args(["start", "--home"]).arg(home).output().expect("run");

    // Missing home.
    let o = start(&dir.path().join("nope"));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("cannot read") && stderr(&o).contains("config.toml"), "{}", stderr(&o));

    // A typo in config.toml.
    let cfg_path = home.join("config.toml");
    let good_cfg = std::fs::read_to_string(&cfg_path).expect("config");
    std::fs::write(&cfg_path, good_cfg.replace("[producer]", "[producer]\nblock_intervall_ms = 5")).expect("write");
    let o = start(&home);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("invalid config") && stderr(&o).contains("block_intervall_ms"), "{}", stderr(&o));
    std::fs::write(&cfg_path, &good_cfg).expect("restore");

    // A corrupt node key.
    let key_path = home.join("node.key");
    let good_key = std::fs::read_to_string(&key_path).expect("key");
    std::fs::write(&key_path, "0x1234").expect("write");
    let o = start(&home);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("node.key"), "{}", stderr(&o));
    std::fs::write(&key_path, &good_key).expect("restore");

    // A genesis whose validator address does not match its public key.
    let g_path = home.join("genesis.json");
    let good_g = std::fs::read_to_string(&g_path).expect("genesis");
    let mut g: serde_json::Value = serde_json::from_str(&good_g).expect("json");
    g["validators"][0]["address"] = serde_json::json!("0x0000000000000000000000000000000000000001");
    std::fs::write(&g_path, g.to_string()).expect("write");
    let o = start(&home);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("address does not match publicKey"), "{}", stderr(&o));
    // Chain id 0 is refused too.
    let mut g: serde_json::Value = serde_json::from_str(&good_g).expect("json");
    g["chainId"] = serde_json::json!(0);
    std::fs::write(&g_path, g.to_string()).expect("write");
    let o = start(&home);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("chainId must be non-zero"), "{}", stderr(&o));
    // A genesis naming another contract engine (another wasmtime, target, gas schedule …): refused before anything
    // runs, naming both engines.
    let mut g: serde_json::Value = serde_json::from_str(&good_g).expect("json");
    let ours = g["vm"]["fingerprint"].as_str().expect("accord testnet names this build's engine").to_string();
    assert!(g["vm"]["engine"].as_str().is_some_and(|e| e.contains("wasmtime")), "{}", g["vm"]);
    g["vm"]["engine"] = serde_json::json!("accord-vm abi 1, wasmtime 1.0.0");
    g["vm"]["fingerprint"] = serde_json::json!(format!("0x{}", "11".repeat(32)));
    std::fs::write(&g_path, g.to_string()).expect("write");
    let o = start(&home);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("genesis names contract engine") && err.contains("wasmtime 1.0.0"), "{err}");
    assert!(err.contains(&ours), "names this node's own fingerprint: {err}");
    std::fs::write(&g_path, &good_g).expect("restore");

    // `accord status` against nothing says so.
    let o = run(&["status", "--rpc", "http://127.0.0.1:9"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("cannot reach a node"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_second_process_on_one_data_dir() {
    let mut node = common::TestNode::new();
    node.start().await;
    let o = run(&["status", "--rpc", &node.rpc_url]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["chainId"], "0x539");
    assert_eq!(v["validators"], 1);
    // A second process on the same data directory is refused with a clear error (RocksDB's lock).
    let o = Command::new(accord_bin())
        .args(["start", "--home"])
        .arg(&node.home)
        .args(["--rpc-port", "0", "--metrics-port", "0"])
        .output()
        .expect("run");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("another accord process"), "{}", stderr(&o));
    node.stop();
}

#[test]
fn json_logs_are_one_object_per_line() {
    let node = common::TestNode::new();
    let mut child = Command::new(accord_bin())
        .args(["--log-format", "json", "start", "--home"])
        .arg(&node.home)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start");
    let logs = child.stderr.take().expect("stderr");
    let mut opened = None;
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(logs));
    for line in lines.by_ref() {
        let line = line.expect("utf-8");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["timestamp"].is_string() && v["level"].is_string() && v["target"].is_string(), "{line}");
        if v["fields"]["message"] == "chain opened" {
            opened = Some(v);
            break;
        }
    }
    // Keep reading (the node's shutdown logs too), and stop it once it serves RPC.
    let rest = std::thread::spawn(move || lines.map(|l| l.expect("utf-8")).collect::<Vec<_>>());
    let rpc = node.rpc_url.trim_start_matches("http://").to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(&rpc).is_err() {
        assert!(std::time::Instant::now() < deadline, "the node did not serve RPC");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    assert!(child.wait().expect("wait").success(), "a clean shutdown");
    for line in rest.join().expect("reader") {
        serde_json::from_str::<serde_json::Value>(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
    let opened = opened.expect("the chain-opened line");
    assert_eq!(opened["level"], "INFO");
    assert!(opened["fields"]["hash"].as_str().is_some_and(|h| h.starts_with("0x")), "{opened}");
    // The environment variable does the same, for service managers.
    let o = Command::new(accord_bin()).env("ACCORD_LOG_FORMAT", "yaml").arg("status").output().expect("run");
    assert!(!o.status.success() && stderr(&o).contains("invalid value 'yaml'"), "{}", stderr(&o));
}
