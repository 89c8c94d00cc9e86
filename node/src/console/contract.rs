//! `accord contract deploy|call|send`: a contract from the command line, as `cast` does it for Ethereum. Methods are
//! named by Solidity signature (`'balanceOf(address)'`, with outputs as `'balanceOf(address)(uint256)'` or
//! `'balanceOf(address) returns (uint256)'`), or by name alone when the contract's ABI is known from
//! `accord_getAbi`; arguments are parsed by type (`100`, `0xab…`, `true`, `[1,2]`, `(a,b)`).

use std::path::Path;

use accord_sdk::Address;
use alloy_dyn_abi::{DynSolValue, FunctionExt, JsonAbiExt, Specifier};
use alloy_json_abi::{Function, JsonAbi, Param};
use alloy_primitives::TxKind;
use alloy_rpc_types_eth::TransactionReceipt;
use jsonrpsee::rpc_params;
use serde_json::{Value, json};

use super::{Console, ConsoleError, parse_address};

fn usage(message: impl Into<String>) -> ConsoleError {
    ConsoleError::Usage(message.into())
}

/// Parses `args` as the values of `params`, naming the argument that does not parse.
fn parse_args(params: &[Param], args: &[String], what: &str) -> Result<Vec<DynSolValue>, ConsoleError> {
    if params.len() != args.len() {
        let types: Vec<&str> = params.iter().map(|p| p.ty.as_str()).collect();
        return Err(usage(format!(
            "{what} takes {} argument(s) ({}), {} given",
            params.len(),
            types.join(", "),
            args.len()
        )));
    }
    params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (p, arg))| {
            let ty = p.resolve().map_err(|e| usage(format!("{what}: type {}: {e}", p.ty)))?;
            let which = if p.name.is_empty() {
                format!("argument {}", i + 1)
            } else {
                format!("argument {} ({})", i + 1, p.name)
            };
            ty.coerce_str(arg).map_err(|e| usage(format!("{what}: {which} is not a valid {}: {arg:?} ({e})", p.ty)))
        })
        .collect()
}

/// The function a method argument names: a signature (with or without outputs), or a name looked up in the
/// contract's ABI from `accord_getAbi`.
async fn resolve(c: &Console, address: Address, method: &str) -> Result<Function, ConsoleError> {
    if method.contains('(') {
        // `name(ins)(outs)`, as cast writes it, is `name(ins) returns (outs)` in Solidity's own words.
        let text = match method.find(")(") {
            Some(at) => format!("{} returns {}", &method[..=at], &method[at + 1..]),
            None => method.to_string(),
        };
        return Function::parse(&text).map_err(|e| {
            usage(format!("{method:?} is not a Solidity function signature such as 'transfer(address,uint256)': {e}"))
        });
    }
    let abi: Option<Value> = c.request("accord_getAbi", rpc_params![address, "latest"]).await?;
    let Some(abi) = abi else {
        return Err(usage(format!(
            "the node knows no ABI for {address} (no contract there, or one without an ABI section): name the method \
             by signature, e.g. '{method}(address,uint256)'"
        )));
    };
    let abi: JsonAbi = serde_json::from_value(abi).map_err(|e| c.node_error(format!("unreadable ABI: {e}")))?;
    match abi.function(method).map(Vec::as_slice) {
        Some([f]) => Ok(f.clone()),
        Some(overloads) => {
            let sigs: Vec<String> = overloads.iter().map(Function::signature).collect();
            Err(usage(format!("{method} is overloaded; name one by signature: {}", sigs.join(", "))))
        }
        None => {
            let names: Vec<&str> = abi.functions().map(|f| f.name.as_str()).collect();
            Err(usage(format!("{address}'s ABI has no function {method}; it has: {}", names.join(", "))))
        }
    }
}

/// A value as a person reads it: numbers in decimal, addresses checksummed, bytes in hex.
pub fn show(v: &DynSolValue) -> String {
    match v {
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::Int(i, _) => i.to_string(),
        DynSolValue::Uint(u, _) => u.to_string(),
        DynSolValue::Address(a) => a.to_checksum(None),
        DynSolValue::Function(f) => format!("0x{}", hex::encode(f.as_slice())),
        DynSolValue::FixedBytes(w, size) => format!("0x{}", hex::encode(&w[..*size])),
        DynSolValue::Bytes(b) => format!("0x{}", hex::encode(b)),
        DynSolValue::String(s) => s.clone(),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => {
            format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(", "))
        }
        DynSolValue::Tuple(items) => format!("({})", items.iter().map(show).collect::<Vec<_>>().join(", ")),
    }
}

/// A value as JSON: numbers as decimal strings (they exceed JSON's safe integers), the rest as [`show`] does.
fn to_json(v: &DynSolValue) -> Value {
    match v {
        DynSolValue::Bool(b) => Value::Bool(*b),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) | DynSolValue::Tuple(items) => {
            Value::Array(items.iter().map(to_json).collect())
        }
        other => Value::String(show(other)),
    }
}

fn receipt_json(r: &TransactionReceipt) -> Value {
    json!({
        "status": if r.status() { 1 } else { 0 },
        "transactionHash": r.transaction_hash,
        "blockNumber": r.block_number,
        "gasUsed": r.gas_used,
        "contractAddress": r.contract_address,
    })
}

/// `accord contract call ADDRESS METHOD ARGS…`: runs the call (`eth_call` on the latest block) and prints its
/// outputs, one per line (or a JSON array).
pub async fn call(c: &Console, address: &str, method: &str, args: &[String], json: bool) -> Result<(), ConsoleError> {
    let address = parse_address(address)?;
    let f = resolve(c, address, method).await?;
    let values = parse_args(&f.inputs, args, &f.signature())?;
    let input = f.abi_encode_input(&values).map_err(|e| usage(format!("{}: {e}", f.signature())))?;
    let output = c.call(address, input).await?;
    if f.outputs.is_empty() {
        // A signature without outputs: the raw return data, which the caller knows how to read.
        if json {
            println!("{}", json!({ "output": output }));
        } else {
            println!("{output}");
        }
        return Ok(());
    }
    let decoded = f.abi_decode_output(&output).map_err(|e| {
        ConsoleError::Refused(format!("the output ({output}) does not decode as {}: {e}", f.signature_with_outputs()))
    })?;
    if json {
        println!("{}", Value::Array(decoded.iter().map(to_json).collect()));
    } else {
        for v in &decoded {
            println!("{}", show(v));
        }
    }
    Ok(())
}

/// `accord contract send ADDRESS METHOD ARGS…`: signs and sends the call, waits for its receipt, prints status,
/// block, gas and hash.
pub async fn send(c: &Console, address: &str, method: &str, args: &[String], json: bool) -> Result<(), ConsoleError> {
    let address = parse_address(address)?;
    let f = resolve(c, address, method).await?;
    let values = parse_args(&f.inputs, args, &f.signature())?;
    let input = f.abi_encode_input(&values).map_err(|e| usage(format!("{}: {e}", f.signature())))?;
    let r = c.send_tx(TxKind::Call(address), input).await?;
    if json {
        println!("{}", receipt_json(&r));
    } else {
        println!(
            "status 1 (success), block {}, gas {}, transaction {}",
            r.block_number.unwrap_or_default(),
            r.gas_used,
            r.transaction_hash
        );
    }
    Ok(())
}

/// `accord contract deploy ARTIFACT ARGS…`: deploys the `{abi, bytecode}` artifact (as `contracts/out/NAME.json`)
/// with the constructor arguments, prints the new contract's address.
pub async fn deploy(c: &Console, artifact: &Path, args: &[String], json: bool) -> Result<(), ConsoleError> {
    let text = std::fs::read_to_string(artifact)
        .map_err(|e| usage(format!("cannot read the artifact {}: {e}", artifact.display())))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| usage(format!("{} is not JSON: {e}", artifact.display())))?;
    let bytecode = value["bytecode"].as_str().or_else(|| value["bytecode"]["object"].as_str()).ok_or_else(|| {
        usage(format!("{} has no \"bytecode\" (an artifact as contracts/out/NAME.json)", artifact.display()))
    })?;
    let mut data = hex::decode(bytecode.trim_start_matches("0x"))
        .map_err(|e| usage(format!("{}: the bytecode is not hex: {e}", artifact.display())))?;
    let abi: JsonAbi = serde_json::from_value(value["abi"].clone())
        .map_err(|e| usage(format!("{}: unreadable \"abi\": {e}", artifact.display())))?;
    match &abi.constructor {
        Some(ctor) => {
            let values = parse_args(&ctor.inputs, args, "the constructor")?;
            data.extend(ctor.abi_encode_input(&values).map_err(|e| usage(format!("the constructor: {e}")))?);
        }
        None if !args.is_empty() => return Err(usage("the contract has no constructor arguments")),
        None => {}
    }
    let r = c.send_tx(TxKind::Create, data).await?;
    let address = r.contract_address.ok_or_else(|| c.node_error("the creation's receipt names no contract"))?;
    if json {
        let mut v = receipt_json(&r);
        v["address"] = json!(address);
        println!("{v}");
    } else {
        println!("{}", address.to_checksum(None));
    }
    Ok(())
}
