//! Metering of bulk memory operations.
//!
//! wasmtime's fuel charges every instruction the same, but `memory.fill`, `memory.copy` and `memory.init` touch as
//! many bytes as their length operand says: without more, one instruction could clear 16 MiB for 1 gas. Rust's
//! standard library uses them for every `memcpy`/`memset`, so they cannot simply be refused. Instead, before
//! compiling, every such instruction is preceded by a call to a private host function that charges for the length
//! (`gas::bulk_memory`, per KiB):
//!
//! ```text
//! local.set $len   local.get $len   call $accord.meter_bulk   local.get $len   memory.fill
//! ```
//!
//! The rewrite is a pure function of the module, so every node compiles the same code; the stored code (and its
//! hash) stay the original. Table bulk operations have no use in contracts and are refused.

use wasm_encoder::reencode::{Error as ReencodeError, Reencode, utils};
use wasm_encoder::{EntityType, Function, Instruction, SectionId, ValType};
use wasmparser::{Operator, Parser, Payload};

use crate::abi::ModuleError;

/// Module and name of the private metering import the rewrite adds.
pub const METER_MODULE: &str = "accord";
/// Name of the metering import (not part of the public ABI: a module importing it itself is refused).
pub const METER_NAME: &str = "__meter_bulk";

/// What the rewrite needs to know about the module before re-encoding it.
#[derive(Default)]
struct Shape {
    imported_funcs: u32,
    /// Parameter count of each type (0 for non-function types).
    type_params: Vec<u32>,
    /// Type index of each defined function.
    func_types: Vec<u32>,
    has_bulk: bool,
    has_imports: bool,
}

fn invalid(e: impl std::fmt::Display) -> ModuleError {
    ModuleError::Invalid(e.to_string())
}

fn shape(module: &[u8]) -> Result<Shape, ModuleError> {
    let mut s = Shape::default();
    for payload in Parser::new(0).parse_all(module) {
        match payload.map_err(invalid)? {
            Payload::TypeSection(r) => {
                for group in r.into_iter() {
                    for sub in group.map_err(invalid)?.into_types() {
                        let params = match &sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => f.params().len() as u32,
                            _ => 0,
                        };
                        s.type_params.push(params);
                    }
                }
            }
            Payload::ImportSection(r) => {
                s.has_imports = true;
                for import in r.into_imports() {
                    let import = import.map_err(invalid)?;
                    if matches!(import.ty, wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_)) {
                        s.imported_funcs += 1;
                    }
                }
            }
            Payload::FunctionSection(r) => {
                for t in r {
                    s.func_types.push(t.map_err(invalid)?);
                }
            }
            Payload::CodeSectionEntry(body) => {
                let mut ops = body.get_operators_reader().map_err(invalid)?;
                while !ops.eof() {
                    match ops.read().map_err(invalid)? {
                        Operator::MemoryFill { .. } | Operator::MemoryCopy { .. } | Operator::MemoryInit { .. } => {
                            s.has_bulk = true
                        }
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
    Ok(s)
}

/// The module to compile: `module` itself when it has no bulk memory operation, else the metered rewrite.
pub fn instrument(module: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, ModuleError> {
    let shape = shape(module)?;
    if !shape.has_bulk {
        return Ok(std::borrow::Cow::Borrowed(module));
    }
    if shape.type_params.is_empty() {
        return Err(ModuleError::Invalid("module has no type section".into()));
    }
    let mut rewriter =
        Rewriter { meter_type: shape.type_params.len() as u32, shape, next_body: 0, imports_done: false };
    let mut out = wasm_encoder::Module::new();
    rewriter.parse_core_module(&mut out, Parser::new(0), module).map_err(|e| ModuleError::Invalid(format!("{e}")))?;
    Ok(std::borrow::Cow::Owned(out.finish()))
}

struct Rewriter {
    shape: Shape,
    meter_type: u32,
    next_body: usize,
    imports_done: bool,
}

impl Rewriter {
    fn meter_index(&self) -> u32 {
        self.shape.imported_funcs
    }

    fn add_meter_import(&mut self, imports: &mut wasm_encoder::ImportSection) {
        imports.import(METER_MODULE, METER_NAME, EntityType::Function(self.meter_type));
        self.imports_done = true;
    }
}

impl Reencode for Rewriter {
    type Error = std::convert::Infallible;

    fn function_index(&mut self, func: u32) -> Result<u32, ReencodeError<Self::Error>> {
        // The meter import goes after the original imports: defined functions move up by one.
        Ok(if func >= self.shape.imported_funcs { func + 1 } else { func })
    }

    fn parse_type_section(
        &mut self,
        types: &mut wasm_encoder::TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        utils::parse_type_section(self, types, section)?;
        types.ty().function([ValType::I32], []);
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut wasm_encoder::ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        utils::parse_import_section(self, imports, section)?;
        self.add_meter_import(imports);
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        // A module without imports gets an import section right after its type section.
        if !self.shape.has_imports
            && !self.imports_done
            && after == Some(SectionId::Type)
            && before != Some(SectionId::Import)
        {
            let mut imports = wasm_encoder::ImportSection::new();
            self.add_meter_import(&mut imports);
            module.section(&imports);
        }
        Ok(())
    }

    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        // The name section refers to function indices and is only for debuggers: leave it out.
        if section.name() == "name" {
            return Ok(());
        }
        utils::parse_custom_section(self, module, section)
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        let params = self
            .shape
            .func_types
            .get(self.next_body)
            .and_then(|t| self.shape.type_params.get(*t as usize))
            .copied()
            .unwrap_or(0);
        self.next_body += 1;
        let mut locals = Vec::new();
        let mut declared = 0u32;
        for pair in func.get_locals_reader()? {
            let (count, ty) = pair?;
            declared = declared.saturating_add(count);
            locals.push((count, self.val_type(ty)?));
        }
        let scratch = params + declared;
        locals.push((1, ValType::I32));
        let mut f = Function::new(locals);
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            if matches!(op, Operator::MemoryFill { .. } | Operator::MemoryCopy { .. } | Operator::MemoryInit { .. }) {
                f.instruction(&Instruction::LocalSet(scratch));
                f.instruction(&Instruction::LocalGet(scratch));
                f.instruction(&Instruction::Call(self.meter_index()));
                f.instruction(&Instruction::LocalGet(scratch));
            }
            f.instruction(&self.instruction(op)?);
        }
        code.function(&f);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_without_bulk_operations_are_untouched() {
        let m = wat::parse_str(r#"(module (memory 1) (func (export "f") (i32.store (i32.const 0) (i32.const 1))))"#)
            .expect("wat");
        assert!(matches!(instrument(&m).expect("ok"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn bulk_operations_get_a_meter_call_and_indices_shift() {
        let m = wat::parse_str(
            r#"(module
                 (import "accord" "gas_left" (func $g (result i64)))
                 (memory 1)
                 (func $helper (param i32) (memory.fill (local.get 0) (i32.const 0) (i32.const 100)))
                 (func (export "f") (call $helper (i32.const 8)) (drop (call $g))))"#,
        )
        .expect("wat");
        let out = instrument(&m).expect("rewrites").into_owned();
        wasmparser::Validator::new().validate_all(&out).expect("the rewrite is valid wasm");
        let text = wasmprinter_like(&out);
        assert!(text.contains("import accord.__meter_bulk"), "{text}");
        assert_eq!(text.matches("call 1").count(), 1, "one meter call (the meter is import 1): {text}");
        assert!(text.contains("call 2"), "the helper moved from index 1 to 2: {text}");
        assert!(text.contains("call 0"), "the original import keeps index 0: {text}");
    }

    #[test]
    fn modules_without_imports_get_an_import_section() {
        let m = wat::parse_str(
            r#"(module (memory 1) (func (export "f") (memory.copy (i32.const 0) (i32.const 8) (i32.const 8))))"#,
        )
        .expect("wat");
        let out = instrument(&m).expect("rewrites").into_owned();
        wasmparser::Validator::new().validate_all(&out).expect("valid");
        assert!(wasmprinter_like(&out).contains("import accord.__meter_bulk"));
    }

    #[test]
    fn table_bulk_operations_are_refused() {
        let m = wat::parse_str(
            r#"(module (table 2 funcref) (func (export "f") (table.fill (i32.const 0) (ref.null func) (i32.const 2))))"#,
        )
        .expect("wat");
        assert!(instrument(&m).is_err());
    }

    /// A tiny listing of imports and calls, enough for the assertions above.
    fn wasmprinter_like(module: &[u8]) -> String {
        let mut out = String::new();
        for payload in Parser::new(0).parse_all(module) {
            match payload.expect("parses") {
                Payload::ImportSection(r) => {
                    for i in r.into_imports() {
                        let i = i.expect("import");
                        out.push_str(&format!("import {}.{}\n", i.module, i.name));
                    }
                }
                Payload::CodeSectionEntry(body) => {
                    let mut ops = body.get_operators_reader().expect("ops");
                    while !ops.eof() {
                        if let Operator::Call { function_index } = ops.read().expect("op") {
                            out.push_str(&format!("call {function_index}\n"));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }
}
