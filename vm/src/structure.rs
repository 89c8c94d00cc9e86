//! Module structure limits, checked at deploy before anything is compiled.
//!
//! Gas pays for compilation per byte (`gas::CODE_DEPOSIT_PER_BYTE`), which is only fair if compile time grows with
//! bytes. It does not for every shape: a few bytes can declare a million locals, a deep nest of blocks or a huge
//! table, and the compiler's work grows with those. Bounding them keeps compile time linear in size, and so priced.
//! The limits sit far above what compilers emit for contracts (the example contracts use a small fraction).
//!
//! Only new code is checked: code already stored was deployed under the rules of its time and must keep running.

use wasmparser::{Operator, Parser, Payload, TypeRef};

use crate::abi::ModuleError;

/// Most functions a module may define.
pub const MAX_FUNCTIONS: u32 = 10_000;
/// Most locals (parameters included) one function may have.
pub const MAX_LOCALS: u32 = 10_000;
/// Most globals.
pub const MAX_GLOBALS: u32 = 1_024;
/// Largest table (initial and maximum elements).
pub const MAX_TABLE_ELEMENTS: u64 = 10_000;
/// Most tables.
pub const MAX_TABLES: u32 = 1;
/// Most data segments.
pub const MAX_DATA_SEGMENTS: u32 = 1_024;
/// Most element segments.
pub const MAX_ELEMENT_SEGMENTS: u32 = 1_024;
/// Most types.
pub const MAX_TYPES: u32 = 1_024;
/// Deepest nesting of blocks, loops and ifs in one function.
pub const MAX_NESTING: u32 = 1_024;
/// Largest function body, in bytes.
pub const MAX_BODY_BYTES: usize = 128 * 1024;

fn over(what: &str, found: u64, limit: u64) -> ModuleError {
    ModuleError::Structure(format!("{what}: {found}, at most {limit}"))
}

fn invalid(e: impl std::fmt::Display) -> ModuleError {
    ModuleError::Invalid(e.to_string())
}

/// Checks `module` against the structure limits.
pub fn check(module: &[u8]) -> Result<(), ModuleError> {
    let mut param_counts: Vec<u32> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new();
    let mut body = 0usize;
    for payload in Parser::new(0).parse_all(module) {
        match payload.map_err(invalid)? {
            Payload::TypeSection(r) => {
                if r.count() > MAX_TYPES {
                    return Err(over("types", r.count().into(), MAX_TYPES.into()));
                }
                for group in r.into_iter() {
                    for sub in group.map_err(invalid)?.into_types() {
                        param_counts.push(match &sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => f.params().len() as u32,
                            _ => 0,
                        });
                    }
                }
            }
            Payload::ImportSection(r) => {
                for import in r.into_imports() {
                    if let TypeRef::Table(t) = import.map_err(invalid)?.ty {
                        table(&t)?;
                    }
                }
            }
            Payload::FunctionSection(r) => {
                if r.count() > MAX_FUNCTIONS {
                    return Err(over("functions", r.count().into(), MAX_FUNCTIONS.into()));
                }
                for t in r {
                    func_types.push(t.map_err(invalid)?);
                }
            }
            Payload::TableSection(r) => {
                if r.count() > MAX_TABLES {
                    return Err(over("tables", r.count().into(), MAX_TABLES.into()));
                }
                for t in r {
                    table(&t.map_err(invalid)?.ty)?;
                }
            }
            Payload::GlobalSection(r) if r.count() > MAX_GLOBALS => {
                return Err(over("globals", r.count().into(), MAX_GLOBALS.into()));
            }
            Payload::DataSection(r) if r.count() > MAX_DATA_SEGMENTS => {
                return Err(over("data segments", r.count().into(), MAX_DATA_SEGMENTS.into()));
            }
            Payload::ElementSection(r) if r.count() > MAX_ELEMENT_SEGMENTS => {
                return Err(over("element segments", r.count().into(), MAX_ELEMENT_SEGMENTS.into()));
            }
            Payload::CodeSectionEntry(f) => {
                let index = body;
                body += 1;
                let size = f.range().len();
                if size > MAX_BODY_BYTES {
                    return Err(over(&format!("bytes in function {index}"), size as u64, MAX_BODY_BYTES as u64));
                }
                let params = func_types.get(index).and_then(|t| param_counts.get(*t as usize)).copied().unwrap_or(0);
                let mut locals = u64::from(params);
                for pair in f.get_locals_reader().map_err(invalid)? {
                    locals += u64::from(pair.map_err(invalid)?.0);
                    if locals > u64::from(MAX_LOCALS) {
                        return Err(over(&format!("locals in function {index}"), locals, MAX_LOCALS.into()));
                    }
                }
                let mut depth = 0u32;
                let mut ops = f.get_operators_reader().map_err(invalid)?;
                while !ops.eof() {
                    match ops.read().map_err(invalid)? {
                        Operator::Block { .. } | Operator::Loop { .. } | Operator::If { .. } => {
                            depth += 1;
                            if depth > MAX_NESTING {
                                return Err(over(
                                    &format!("block nesting in function {index}"),
                                    depth.into(),
                                    MAX_NESTING.into(),
                                ));
                            }
                        }
                        Operator::End => depth = depth.saturating_sub(1),
                        Operator::TableFill { .. } | Operator::TableCopy { .. } | Operator::TableInit { .. } => {
                            return Err(ModuleError::Invalid(
                                "table.fill/table.copy/table.init are not supported in contracts".into(),
                            ));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn table(t: &wasmparser::TableType) -> Result<(), ModuleError> {
    let size = t.maximum.unwrap_or(t.initial).max(t.initial);
    if size > MAX_TABLE_ELEMENTS || t.maximum.is_none() && t.initial > MAX_TABLE_ELEMENTS {
        return Err(over("table elements", size, MAX_TABLE_ELEMENTS));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wat(body: &str) -> Vec<u8> {
        wat::parse_str(format!("(module {body})")).expect("wat")
    }

    #[test]
    fn ordinary_modules_pass() {
        check(&wat(r#"(memory 1) (table 4 funcref) (global (mut i32) (i32.const 0))
                      (func (param i32) (local i64 i64) (block (loop (br 1))))"#))
        .expect("within every limit");
    }

    #[test]
    fn each_limit_is_enforced_with_a_clear_error() {
        let locals = wat(&format!("(func (local {}))", "i32 ".repeat(MAX_LOCALS as usize + 1)));
        assert!(matches!(check(&locals), Err(ModuleError::Structure(m)) if m.contains("locals in function 0")));
        let funcs = wat(&"(func)".repeat(MAX_FUNCTIONS as usize + 1));
        assert!(matches!(check(&funcs), Err(ModuleError::Structure(m)) if m.starts_with("functions")));
        let nested = wat(&format!(
            "(func {}{})",
            "(block ".repeat(MAX_NESTING as usize + 1),
            ")".repeat(MAX_NESTING as usize + 1)
        ));
        assert!(matches!(check(&nested), Err(ModuleError::Structure(m)) if m.contains("nesting")));
        let table_ops = wat("(table 2 funcref) (func (table.fill (i32.const 0) (ref.null func) (i32.const 2)))");
        assert!(matches!(check(&table_ops), Err(ModuleError::Invalid(m)) if m.contains("table.fill")));
        let table = wat("(table 10001 funcref)");
        assert!(matches!(check(&table), Err(ModuleError::Structure(m)) if m.contains("table elements")));
        let globals = wat(&"(global i32 (i32.const 0))".repeat(MAX_GLOBALS as usize + 1));
        assert!(matches!(check(&globals), Err(ModuleError::Structure(m)) if m.starts_with("globals")));
        let data = wat(&format!("(memory 1) {}", "(data (i32.const 0) \"x\")".repeat(MAX_DATA_SEGMENTS as usize + 1)));
        assert!(matches!(check(&data), Err(ModuleError::Structure(m)) if m.starts_with("data segments")));
    }
}
