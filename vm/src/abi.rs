//! The host ABI's function table and the deploy-time module rules, independent of the engine.

/// A wasm value type as it appears in host signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValType {
    /// 32-bit integer (pointers, lengths, statuses).
    I32,
    /// 64-bit integer (gas, block values).
    I64,
}

use ValType::{I32, I64};

/// Name of the custom section in which a contract carries its Ethereum ABI JSON.
pub const ABI_SECTION: &str = "accord:abi";

/// The contract's ABI JSON, from its `accord:abi` custom section (`None` when absent or the module is malformed).
pub fn embedded_abi(module: &[u8]) -> Option<&[u8]> {
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        if let wasmparser::Payload::CustomSection(c) = payload.ok()?
            && c.name() == ABI_SECTION
        {
            return Some(c.data());
        }
    }
    None
}

/// Module name of every import.
pub const MODULE: &str = "accord";

/// Every host function: name, parameters, results. The single source for the linker and for deploy checks.
pub const HOST_FUNCTIONS: &[(&str, &[ValType], &[ValType])] = &[
    ("input_len", &[], &[I32]),
    ("input_read", &[I32], &[]),
    ("storage_read", &[I32, I32], &[]),
    ("storage_write", &[I32, I32], &[]),
    ("storage_remove", &[I32], &[]),
    ("caller", &[I32], &[]),
    ("origin", &[I32], &[]),
    ("self_address", &[I32], &[]),
    ("value", &[I32], &[]),
    ("block_number", &[], &[I64]),
    ("block_timestamp", &[], &[I64]),
    ("emit_log", &[I32, I32, I32, I32], &[]),
    ("call", &[I32, I32, I32, I32, I64], &[I32]),
    ("return_data_len", &[], &[I32]),
    ("return_data_read", &[I32], &[]),
    ("return", &[I32, I32], &[]),
    ("revert", &[I32, I32], &[]),
    ("keccak256", &[I32, I32, I32], &[]),
    ("ecrecover", &[I32, I32, I32], &[I32]),
    ("gas_left", &[], &[I64]),
];

/// An import of a module, as the checks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Import {
    /// A function with this signature.
    Func {
        /// Import module.
        module: String,
        /// Name.
        name: String,
        /// Parameters (`None` for a type outside i32/i64).
        params: Option<Vec<ValType>>,
        /// Results.
        results: Option<Vec<ValType>>,
    },
    /// A memory, table, global or tag.
    Other {
        /// Import module.
        module: String,
        /// Name.
        name: String,
    },
}

/// An export of a module, as the checks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Export {
    /// A function; `nullary` when it takes and returns nothing.
    Func {
        /// Name.
        name: String,
        /// Takes and returns nothing.
        nullary: bool,
    },
    /// A memory.
    Memory(String),
    /// Anything else.
    Other(String),
}

/// Why a module cannot be deployed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModuleError {
    /// Larger than the chain allows.
    #[error("module of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Size.
        size: usize,
        /// Limit.
        limit: usize,
    },
    /// Not valid wasm, or uses a disabled feature.
    #[error("invalid wasm module: {0}")]
    Invalid(String),
    /// Imports something the host does not provide.
    #[error("module imports {0}, which is not part of the accord host ABI")]
    ForbiddenImport(String),
    /// Imports a host function with the wrong signature.
    #[error("module imports accord.{0} with the wrong signature")]
    WrongSignature(String),
    /// A required export is missing or has the wrong type.
    #[error("module must export {0}")]
    MissingExport(&'static str),
    /// Beyond a structure limit that keeps compile time proportional to size (`structure.rs`).
    #[error("module structure exceeds a limit: {0}")]
    Structure(String),
}

/// Checks imports against the host table.
pub fn check_imports(imports: impl IntoIterator<Item = Import>) -> Result<(), ModuleError> {
    for import in imports {
        match import {
            Import::Func { module, name, params, results } => {
                let known = (module == MODULE).then(|| HOST_FUNCTIONS.iter().find(|(n, _, _)| *n == name)).flatten();
                let Some((_, want_params, want_results)) = known else {
                    return Err(ModuleError::ForbiddenImport(format!("{module}.{name}")));
                };
                if params.as_deref() != Some(want_params) || results.as_deref() != Some(want_results) {
                    return Err(ModuleError::WrongSignature(name));
                }
            }
            Import::Other { module, name } => {
                return Err(ModuleError::ForbiddenImport(format!(
                    "{module}.{name} (only host functions may be imported)"
                )));
            }
        }
    }
    Ok(())
}

/// Checks that `memory`, `call` and `deploy` are exported with the right types.
pub fn check_exports(exports: impl IntoIterator<Item = Export>) -> Result<(), ModuleError> {
    let (mut memory, mut call, mut deploy) = (false, false, false);
    for e in exports {
        match e {
            Export::Memory(n) if n == "memory" => memory = true,
            Export::Func { name, nullary: true } if name == "call" => call = true,
            Export::Func { name, nullary: true } if name == "deploy" => deploy = true,
            _ => {}
        }
    }
    if !memory {
        return Err(ModuleError::MissingExport("a memory named `memory`"));
    }
    if !call {
        return Err(ModuleError::MissingExport("a function `call: () -> ()`"));
    }
    if !deploy {
        return Err(ModuleError::MissingExport("a function `deploy: () -> ()`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn func(module: &str, name: &str, p: &[ValType], r: &[ValType]) -> Import {
        Import::Func { module: module.into(), name: name.into(), params: Some(p.to_vec()), results: Some(r.to_vec()) }
    }

    #[test]
    fn imports() {
        assert_eq!(check_imports([func("accord", "storage_read", &[I32, I32], &[])]), Ok(()));
        assert!(matches!(
            check_imports([func("wasi_snapshot_preview1", "fd_write", &[I32], &[I32])]),
            Err(ModuleError::ForbiddenImport(_))
        ));
        assert!(matches!(check_imports([func("accord", "clock", &[], &[I64])]), Err(ModuleError::ForbiddenImport(_))));
        assert_eq!(
            check_imports([func("accord", "gas_left", &[], &[I32])]),
            Err(ModuleError::WrongSignature("gas_left".into()))
        );
        assert!(matches!(
            check_imports([Import::Other { module: "accord".into(), name: "memory".into() }]),
            Err(ModuleError::ForbiddenImport(_))
        ));
    }

    #[test]
    fn embedded_abi_is_found() {
        // magic, version, custom section "accord:abi" with payload "[]", then a type section.
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.push(0);
        m.push((1 + ABI_SECTION.len() + 2) as u8);
        m.push(ABI_SECTION.len() as u8);
        m.extend_from_slice(ABI_SECTION.as_bytes());
        m.extend_from_slice(b"[]");
        m.extend_from_slice(&[1, 1, 0]);
        assert_eq!(embedded_abi(&m), Some(&b"[]"[..]));
        assert_eq!(embedded_abi(b"\0asm\x01\0\0\0"), None, "no section");
        assert_eq!(embedded_abi(b"junk"), None);
        assert_eq!(embedded_abi(&m[..12]), None, "truncated");
    }

    #[test]
    fn exports() {
        let good = || {
            vec![
                Export::Memory("memory".into()),
                Export::Func { name: "call".into(), nullary: true },
                Export::Func { name: "deploy".into(), nullary: true },
            ]
        };
        assert_eq!(check_exports(good()), Ok(()));
        let mut no_deploy = good();
        no_deploy.pop();
        assert!(check_exports(no_deploy).is_err());
        let mut wrong = good();
        wrong[1] = Export::Func { name: "call".into(), nullary: false };
        assert!(check_exports(wrong).is_err());
    }
}
