//! Builds the contracts workspace (`contracts/`, its own Cargo workspace) for `wasm32-unknown-unknown` and writes
//! one artifact per example contract to `contracts/out/NAME.json`: `{"abi": [...], "bytecode": "0x<envelope>"}`,
//! the ABI being the module's `accord:abi` custom section and the bytecode the deploy envelope of
//! `docs/contract-abi.md` (magic `61 63 63 01`, module length as a big-endian u32, the module). The bare module is
//! written next to it as `contracts/out/NAME.wasm`, and the node's crates see the directory as
//! `env!("ACCORD_CONTRACTS_OUT")`.
//!
//! The nested build uses its own target directory, `<outer target dir>/accord-contracts` (or
//! `$ACCORD_CONTRACTS_TARGET_DIR`), so it is reused between builds and never contends with the outer build's lock.
//! Standard library only: no build-dependencies.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The target the contracts are built for.
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Magic of a deploy envelope: `"acc"`, version 1.
const ENVELOPE_MAGIC: [u8; 4] = [0x61, 0x63, 0x63, 0x01];
/// Name of the custom section holding a contract's ABI JSON.
const ABI_SECTION: &str = "accord:abi";
/// `params.maxCodeBytes` by default: a larger module cannot be deployed with default parameters.
const DEFAULT_MAX_CODE_BYTES: usize = 256 * 1024;

/// Variables the outer cargo sets (or a user sets for the outer build) that would change or break the nested
/// build: flags meant for the host target, the outer target directory, clippy's wrapper, the outer package's
/// identity.
const REMOVED_VARS: &[&str] = &[
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_INCREMENTAL",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_RUSTC_CURRENT_DIR",
    "CLIPPY_ARGS",
    "CLIPPY_CONF_DIR",
    "OUT_DIR",
    "TARGET",
    "HOST",
    "NUM_JOBS",
    "OPT_LEVEL",
    "DEBUG",
    "PROFILE",
    "RUSTC_LINKER",
];

/// Prefixes of such variables: profile, build and per-target overrides, and the outer package's metadata.
const REMOVED_PREFIXES: &[&str] = &[
    "CARGO_PROFILE_",
    "CARGO_BUILD_",
    "CARGO_TARGET_",
    "CARGO_CFG_",
    "CARGO_FEATURE_",
    "CARGO_PKG_",
    "CARGO_BIN_",
    "CARGO_LLVM_COV",
    "DEP_",
    "__CARGO",
];

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let manifest_dir = env_path("CARGO_MANIFEST_DIR")?;
    let repo = manifest_dir.parent().ok_or("CARGO_MANIFEST_DIR has no parent directory")?;
    let contracts = repo.join("contracts");
    for watched in ["Cargo.toml", "Cargo.lock", "lib", "examples"] {
        println!("cargo:rerun-if-changed={}", contracts.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=ACCORD_CONTRACTS_TARGET_DIR");

    let target_dir = match env::var_os("ACCORD_CONTRACTS_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            // OUT_DIR is <target>/[<triple>/]<profile>/build/<pkg>-<hash>/out: four levels up is the (per-triple)
            // target directory, shared by every profile and kept across builds.
            let out_dir = env_path("OUT_DIR")?;
            out_dir.ancestors().nth(4).unwrap_or(&out_dir).join("accord-contracts")
        }
    };

    build(&contracts, &target_dir)?;

    let wasm_dir = target_dir.join(WASM_TARGET).join("release");
    let out = contracts.join("out");
    fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    for name in contract_names(&contracts.join("examples"))? {
        let wasm_path = wasm_dir.join(format!("{}.wasm", name.replace('-', "_")));
        let module = fs::read(&wasm_path).map_err(|e| format!("reading {}: {e}", wasm_path.display()))?;
        if module.len() > DEFAULT_MAX_CODE_BYTES {
            println!(
                "cargo:warning=contract {name} is {} bytes, over the default maxCodeBytes ({DEFAULT_MAX_CODE_BYTES})",
                module.len()
            );
        }
        let abi = custom_section(&module, ABI_SECTION)
            .map_err(|e| format!("{}: {e}", wasm_path.display()))?
            .ok_or_else(|| format!("{} has no `{ABI_SECTION}` custom section", wasm_path.display()))?;
        let abi = std::str::from_utf8(abi).map_err(|_| format!("{name}: the ABI section is not UTF-8"))?.trim();
        if !(abi.starts_with('[') && abi.ends_with(']')) {
            return Err(format!("{name}: the ABI section is not a JSON array"));
        }
        let artifact = format!("{{\"abi\": {abi}, \"bytecode\": \"0x{}\"}}\n", hex(&envelope(&module)?));
        write_if_changed(&out.join(format!("{name}.json")), artifact.as_bytes())?;
        write_if_changed(&out.join(format!("{name}.wasm")), &module)?;
    }
    println!("cargo:rustc-env=ACCORD_CONTRACTS_OUT={}", out.display());
    Ok(())
}

fn env_path(name: &str) -> Result<PathBuf, String> {
    env::var_os(name).map(PathBuf::from).ok_or_else(|| format!("{name} is not set (run by cargo?)"))
}

/// Runs `cargo build --release --locked --target wasm32-unknown-unknown` on the contracts workspace.
fn build(contracts: &Path, target_dir: &Path) -> Result<(), String> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(&cargo);
    cmd.args(["build", "--release", "--locked", "--target", WASM_TARGET, "--manifest-path"])
        .arg(contracts.join("Cargo.toml"))
        .current_dir(contracts);
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if REMOVED_VARS.contains(&key) || REMOVED_PREFIXES.iter().any(|p| key.starts_with(p)) {
            cmd.env_remove(key);
        }
    }
    cmd.env("CARGO_TARGET_DIR", target_dir).env("CARGO_TERM_COLOR", "never");
    let output = cmd.output().map_err(|e| format!("running {}: {e}", cargo.to_string_lossy()))?;
    if !output.status.success() {
        return Err(format!(
            "building the contracts ({}) failed with {}:\n{}{}\n\
             hint: the contracts are built for {WASM_TARGET}; if the target is missing, install it with \
             `rustup target add {WASM_TARGET}`",
            contracts.join("Cargo.toml").display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        ));
    }
    Ok(())
}

/// Package names of the example contracts (`examples/*/Cargo.toml`), sorted.
fn contract_names(examples: &Path) -> Result<Vec<String>, String> {
    let entries = fs::read_dir(examples).map_err(|e| format!("reading {}: {e}", examples.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let dir = entry.map_err(|e| format!("reading {}: {e}", examples.display()))?.path();
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = fs::read_to_string(&manifest).map_err(|e| format!("reading {}: {e}", manifest.display()))?;
        names.push(package_name(&text).ok_or_else(|| format!("{}: no [package] name", manifest.display()))?);
    }
    names.sort();
    Ok(names)
}

/// The `name` of the `[package]` table of a manifest (a line `name = "…"` in that table).
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(value) = line.strip_prefix("name").map(str::trim_start) {
            let value = value.strip_prefix('=')?.trim();
            return Some(value.strip_prefix('"')?.split('"').next()?.to_string());
        }
    }
    None
}

/// The deploy envelope of `module`: magic, length (big-endian u32), module.
fn envelope(module: &[u8]) -> Result<Vec<u8>, String> {
    let len = u32::try_from(module.len()).map_err(|_| "module larger than 4 GiB".to_string())?;
    let mut out = Vec::with_capacity(8 + module.len());
    out.extend_from_slice(&ENVELOPE_MAGIC);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(module);
    Ok(out)
}

/// Reads an unsigned LEB128 `u32` at `*pos`, advancing it.
fn leb128_u32(bytes: &[u8], pos: &mut usize) -> Result<u32, String> {
    let mut value: u32 = 0;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(*pos).ok_or("truncated LEB128")?;
        *pos += 1;
        let bits = u32::from(byte & 0x7f);
        if shift == 28 && bits > 0x0f {
            return Err("LEB128 overflows u32".into());
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("LEB128 longer than 5 bytes".into())
}

/// The contents of the custom section `name` of a wasm module, if it has one (the first, if several).
fn custom_section<'a>(module: &'a [u8], name: &str) -> Result<Option<&'a [u8]>, String> {
    if module.get(..8) != Some(b"\0asm\x01\0\0\0".as_slice()) {
        return Err("not a wasm module (bad magic or version)".into());
    }
    let mut pos = 8;
    while pos < module.len() {
        let id = module[pos];
        pos += 1;
        let size = leb128_u32(module, &mut pos)? as usize;
        let end = pos.checked_add(size).filter(|&e| e <= module.len()).ok_or("section runs past the end")?;
        if id == 0 {
            let mut p = pos;
            let name_len = leb128_u32(module, &mut p)? as usize;
            let name_end = p.checked_add(name_len).filter(|&e| e <= end).ok_or("custom section name too long")?;
            if &module[p..name_end] == name.as_bytes() {
                return Ok(Some(&module[name_end..end]));
            }
        }
        pos = end;
    }
    Ok(None)
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Writes `contents` to `path` unless it already holds exactly that (keeping its mtime), via a temporary file and
/// a rename so a concurrent reader never sees a partial file.
fn write_if_changed(path: &Path, contents: &[u8]) -> Result<(), String> {
    if fs::read(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("writing {}: {e}", path.display())
    })
}
