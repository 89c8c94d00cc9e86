//! Metered stack height: where a deep recursion stops is decided by counting, not by the native stack.
//!
//! Without this, a recursion fails when wasmtime's native stack runs out, and how many frames fit depends on the
//! frame sizes the compiler chose: another wasmtime release, or another architecture, could let a recursion one
//! node completes fail on another, and fork the chain. As NEAR and CosmWasm do, each module is rewritten before it
//! is compiled. Every defined function gets a cost in stack units (one unit holds one wasm value, 8 bytes with SIMD
//! off): [`FRAME_UNITS`] for the frame itself, plus its parameters and locals, plus the highest its operand stack
//! can grow (wasmparser's validator tracks it operator by operator). A mutable global counts the units of the live
//! frames: every `call` of a defined function adds the callee's cost first and traps (`unreachable`) when the count
//! passes the limit, and subtracts it on return; a `call_indirect` counts the costliest function of the module.
//! Calls of host functions are not counted (their frames are the node's, bounded by its reserve).
//!
//! The count is exported as [`COUNTER_EXPORT`], so a trap with the count above the limit is reported as stack
//! exhaustion rather than as the contract's own `unreachable`. The native stack wasmtime gets is sized so the limit
//! is always reached first (see `VmConfig::max_stack_units`); the `deep_recursion` tests check both.

use wasm_encoder::reencode::{Reencode, utils};
use wasm_encoder::{ConstExpr, GlobalType, Instruction, SectionId, ValType};
use wasmparser::{FuncValidatorAllocations, Operator, Parser, Payload, ValidPayload, Validator, WasmFeatures};

use crate::abi::ModuleError;

/// Stack units every call frame costs beyond its values: return address, frame pointer, saved registers.
pub const FRAME_UNITS: u32 = 16;

/// The export through which the runtime reads the counter after a trap.
pub const COUNTER_EXPORT: &str = "__accord_stack_units";

fn invalid(e: impl std::fmt::Display) -> ModuleError {
    ModuleError::Invalid(e.to_string())
}

/// What the rewrite needs to know of a module: how many functions are imported, and each defined function's cost.
#[derive(Debug, Default)]
struct Costs {
    imported_functions: u32,
    imported_globals: u32,
    defined_globals: u32,
    has_global_section: bool,
    functions: Vec<u32>,
}

/// Walks `module` through wasmparser's validator, taking each defined function's cost as it validates its body.
fn costs(module: &[u8], features: WasmFeatures) -> Result<Costs, ModuleError> {
    let mut out = Costs::default();
    let mut validator = Validator::new_with_features(features);
    let mut allocs = FuncValidatorAllocations::default();
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload.map_err(invalid)?;
        match &payload {
            Payload::ImportSection(r) => {
                for import in r.clone().into_imports() {
                    match import.map_err(invalid)?.ty {
                        wasmparser::TypeRef::Func(_) | wasmparser::TypeRef::FuncExact(_) => out.imported_functions += 1,
                        wasmparser::TypeRef::Global(_) => out.imported_globals += 1,
                        _ => {}
                    }
                }
            }
            Payload::GlobalSection(r) => {
                out.has_global_section = true;
                out.defined_globals = r.count();
            }
            Payload::ExportSection(r) => {
                for export in r.clone() {
                    if export.map_err(invalid)?.name == COUNTER_EXPORT {
                        return Err(ModuleError::Invalid(format!("the export name {COUNTER_EXPORT} is reserved")));
                    }
                }
            }
            _ => {}
        }
        if let ValidPayload::Func(func, body) = validator.payload(&payload).map_err(invalid)? {
            let mut v = func.into_validator(std::mem::take(&mut allocs));
            let mut reader = body.get_binary_reader();
            v.read_locals(&mut reader).map_err(invalid)?;
            let mut highest = 0u32;
            while !reader.eof() {
                let at = reader.original_position();
                reader.visit_operator(&mut v.visitor(at)).map_err(invalid)?.map_err(invalid)?;
                highest = highest.max(v.operand_stack_height());
            }
            reader.finish_expression(&v.visitor(reader.original_position())).map_err(invalid)?;
            out.functions.push(FRAME_UNITS.saturating_add(v.len_locals()).saturating_add(highest));
            allocs = v.into_allocations();
        }
    }
    Ok(out)
}

/// The rewrite: the counter global appended after the module's own, and every call of a defined function wrapped.
struct Rewrite {
    costs: Costs,
    costliest: u32,
    counter: u32,
    limit: u32,
    counter_added: bool,
}

/// Where a section goes in a module (the binary format's order, which is not the order of the ids).
fn order(id: SectionId) -> u8 {
    match id {
        SectionId::Custom => 0,
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
    }
}

impl Rewrite {
    fn counter_global(globals: &mut wasm_encoder::GlobalSection) {
        let ty = GlobalType { val_type: ValType::I32, mutable: true, shared: false };
        globals.global(ty, &ConstExpr::i32_const(0));
    }

    /// Adds `cost` to the counter and traps when it passes the limit.
    fn enter(&self, f: &mut wasm_encoder::Function, cost: u32) {
        f.instruction(&Instruction::GlobalGet(self.counter));
        f.instruction(&Instruction::I32Const(cost as i32));
        f.instruction(&Instruction::I32Add);
        f.instruction(&Instruction::GlobalSet(self.counter));
        f.instruction(&Instruction::GlobalGet(self.counter));
        f.instruction(&Instruction::I32Const(self.limit as i32));
        f.instruction(&Instruction::I32GtU);
        f.instruction(&Instruction::If(wasm_encoder::BlockType::Empty));
        f.instruction(&Instruction::Unreachable);
        f.instruction(&Instruction::End);
    }

    /// Takes `cost` off the counter after the callee returned.
    fn leave(&self, f: &mut wasm_encoder::Function, cost: u32) {
        f.instruction(&Instruction::GlobalGet(self.counter));
        f.instruction(&Instruction::I32Const(cost as i32));
        f.instruction(&Instruction::I32Sub);
        f.instruction(&Instruction::GlobalSet(self.counter));
    }
}

impl Reencode for Rewrite {
    type Error = std::convert::Infallible;

    fn parse_global_section(
        &mut self,
        globals: &mut wasm_encoder::GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        utils::parse_global_section(self, globals, section)?;
        Self::counter_global(globals);
        self.counter_added = true;
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        utils::parse_export_section(self, exports, section)?;
        exports.export(COUNTER_EXPORT, wasm_encoder::ExportKind::Global, self.counter);
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        // A module without globals gets a global section of its own, in its place before the exports.
        if !self.costs.has_global_section
            && !self.counter_added
            && before.is_none_or(|b| order(b) > order(SectionId::Global))
        {
            let mut globals = wasm_encoder::GlobalSection::new();
            Self::counter_global(&mut globals);
            module.section(&globals);
            self.counter_added = true;
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        let mut f = self.new_function_with_parsed_locals(&func)?;
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            let cost = match &op {
                Operator::Call { function_index } => function_index
                    .checked_sub(self.costs.imported_functions)
                    .and_then(|i| self.costs.functions.get(i as usize).copied()),
                Operator::CallIndirect { .. } => Some(self.costliest),
                _ => None,
            };
            if let Some(cost) = cost {
                self.enter(&mut f, cost);
            }
            f.instruction(&self.instruction(op)?);
            if let Some(cost) = cost {
                self.leave(&mut f, cost);
            }
        }
        code.function(&f);
        Ok(())
    }
}

/// Each defined function's cost in stack units, in index order (after the imported functions), as the rewrite
/// charges it: for tools and tests that need to know where a recursion stops.
pub fn function_costs(module: &[u8], features: WasmFeatures) -> Result<Vec<u32>, ModuleError> {
    Ok(costs(module, features)?.functions)
}

/// `module` rewritten to count stack units against `limit` (see the module documentation). `features` are the
/// engine's: the rewrite validates what it reads.
pub fn instrument(module: &[u8], limit: u32, features: WasmFeatures) -> Result<Vec<u8>, ModuleError> {
    let costs = costs(module, features)?;
    let costliest = costs.functions.iter().copied().max().unwrap_or(FRAME_UNITS);
    let counter = costs.imported_globals + costs.defined_globals;
    let mut rewrite = Rewrite { costs, costliest, counter, limit, counter_added: false };
    let mut out = wasm_encoder::Module::new();
    rewrite.parse_core_module(&mut out, Parser::new(0), module).map_err(invalid)?;
    if !rewrite.counter_added {
        return Err(ModuleError::Invalid("no place for the stack counter".into()));
    }
    Ok(out.finish())
}
