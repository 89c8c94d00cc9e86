//! Mapping Rust types to Solidity ABI types (by their syntax), ABI JSON fragments, names and hashing.

use syn::spanned::Spanned;
use syn::{Expr, GenericArgument, Lit, PathArguments, Type};

/// A Solidity ABI type.
#[derive(Clone, Debug)]
pub enum SolType {
    /// An elementary type: `uint256`, `address`, `string`, `bytes32`, …
    Elementary(String),
    /// `T[]` (`None`) or `T[N]`.
    Array(Box<SolType>, Option<u64>),
    /// A tuple `(A,B,…)`.
    Tuple(Vec<SolType>),
}

impl SolType {
    /// The canonical type, as in a signature: `uint256`, `(uint256,address)[]`.
    pub fn canonical(&self) -> String {
        match self {
            SolType::Elementary(s) => s.clone(),
            SolType::Array(t, None) => format!("{}[]", t.canonical()),
            SolType::Array(t, Some(n)) => format!("{}[{n}]", t.canonical()),
            SolType::Tuple(ts) => format!("({})", ts.iter().map(SolType::canonical).collect::<Vec<_>>().join(",")),
        }
    }

    /// The ABI JSON `type` (`tuple` for tuples, `tuple[]` for arrays of them) and the tuple's components.
    fn json_type(&self) -> (String, Option<&[SolType]>) {
        match self {
            SolType::Elementary(s) => (s.clone(), None),
            SolType::Array(t, n) => {
                let (inner, comps) = t.json_type();
                let suffix = n.map_or_else(|| "[]".to_string(), |n| format!("[{n}]"));
                (inner + &suffix, comps)
            }
            SolType::Tuple(ts) => ("tuple".to_string(), Some(ts)),
        }
    }

    /// An ABI JSON parameter: `{"name":…,"type":…}`, with `components` for tuples and, for event fields,
    /// `indexed`.
    pub fn json_param(&self, name: &str, indexed: Option<bool>) -> String {
        let (ty, comps) = self.json_type();
        let mut s = format!("{{\"name\":\"{name}\",\"type\":\"{ty}\"");
        if let Some(comps) = comps {
            let inner: Vec<String> = comps.iter().map(|c| c.json_param("", None)).collect();
            s += &format!(",\"components\":[{}]", inner.join(","));
        }
        if let Some(i) = indexed {
            s += &format!(",\"indexed\":{i}");
        }
        s + "}"
    }

    /// Whether this is `()`.
    pub fn is_unit(&self) -> bool {
        matches!(self, SolType::Tuple(ts) if ts.is_empty())
    }
}

fn elementary(s: &str) -> SolType {
    SolType::Elementary(s.to_string())
}

fn literal_usize(e: &Expr) -> Option<u64> {
    match e {
        Expr::Lit(l) => match &l.lit {
            Lit::Int(i) => i.base10_parse().ok(),
            _ => None,
        },
        Expr::Group(g) => literal_usize(&g.expr),
        Expr::Paren(p) => literal_usize(&p.expr),
        _ => None,
    }
}

fn unsupported(ty: &Type) -> syn::Error {
    syn::Error::new(
        ty.span(),
        "unsupported type for the Solidity ABI: use bool, u8..u128, i8..i128, U256, Address, B256, \
         FixedBytes<N>, Bytes, String, Vec<T>, [T; N] or a tuple (type aliases are not seen through)",
    )
}

/// The Solidity type of a Rust type, by its syntax.
pub fn sol_type(ty: &Type) -> syn::Result<SolType> {
    match ty {
        Type::Paren(p) => sol_type(&p.elem),
        Type::Group(g) => sol_type(&g.elem),
        Type::Tuple(t) => Ok(SolType::Tuple(t.elems.iter().map(sol_type).collect::<syn::Result<_>>()?)),
        Type::Array(a) => {
            let n = literal_usize(&a.len)
                .ok_or_else(|| syn::Error::new(a.len.span(), "array length must be an integer literal"))?;
            Ok(SolType::Array(Box::new(sol_type(&a.elem)?), Some(n)))
        }
        Type::Path(p) if p.qself.is_none() => {
            let seg = p.path.segments.last().ok_or_else(|| unsupported(ty))?;
            let name = seg.ident.to_string();
            let args: Vec<&GenericArgument> = match &seg.arguments {
                PathArguments::None => Vec::new(),
                PathArguments::AngleBracketed(a) => a.args.iter().collect(),
                PathArguments::Parenthesized(_) => return Err(unsupported(ty)),
            };
            let plain = |s: &str| if args.is_empty() { Ok(elementary(s)) } else { Err(unsupported(ty)) };
            match name.as_str() {
                "bool" => plain("bool"),
                "u8" | "u16" | "u32" | "u64" | "u128" => plain(&format!("uint{}", &name[1..])),
                "i8" | "i16" | "i32" | "i64" | "i128" => plain(&format!("int{}", &name[1..])),
                "U256" => plain("uint256"),
                "Address" => plain("address"),
                "B256" => plain("bytes32"),
                "Bytes" => plain("bytes"),
                "String" => plain("string"),
                "FixedBytes" => match args.as_slice() {
                    [GenericArgument::Const(e)] => match literal_usize(e) {
                        Some(n @ 1..=32) => Ok(elementary(&format!("bytes{n}"))),
                        _ => Err(syn::Error::new(e.span(), "FixedBytes<N> needs a literal N in 1..=32")),
                    },
                    [_] => Err(syn::Error::new(ty.span(), "FixedBytes<N> needs a literal N in 1..=32")),
                    _ => Err(unsupported(ty)),
                },
                "Vec" => match args.as_slice() {
                    [GenericArgument::Type(t)] => Ok(SolType::Array(Box::new(sol_type(t)?), None)),
                    _ => Err(unsupported(ty)),
                },
                _ => Err(unsupported(ty)),
            }
        }
        _ => Err(unsupported(ty)),
    }
}

/// `snake_case` → `camelCase` (leading underscores kept): `balance_of` → `balanceOf`, `initial_supply` →
/// `initialSupply`, `r#type` → `type`.
pub fn camel_case(name: &str) -> String {
    let name = name.strip_prefix("r#").unwrap_or(name);
    let mut out = String::with_capacity(name.len());
    let mut upper_next = false;
    for c in name.chars() {
        if c == '_' && !out.chars().all(|c| c == '_') {
            upper_next = true;
        } else if upper_next {
            out.extend(c.to_uppercase());
            upper_next = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `s` is a valid Solidity identifier.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Keccak-256.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    use tiny_keccak::Hasher;
    let mut k = tiny_keccak::Keccak::v256();
    k.update(data);
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    out
}

/// The 4-byte selector of a signature.
pub fn selector(signature: &str) -> [u8; 4] {
    let h = keccak256(signature.as_bytes());
    [h[0], h[1], h[2], h[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        assert_eq!(selector("transfer(address,uint256)"), [0xa9, 0x05, 0x9c, 0xbb]);
        assert_eq!(selector("balanceOf(address)"), [0x70, 0xa0, 0x82, 0x31]);
        assert_eq!(selector("Error(string)"), [0x08, 0xc3, 0x79, 0xa0]);
    }

    #[test]
    fn names() {
        assert_eq!(camel_case("balance_of"), "balanceOf");
        assert_eq!(camel_case("initial_supply"), "initialSupply");
        assert_eq!(camel_case("_owner"), "_owner");
        assert_eq!(camel_case("get"), "get");
        assert_eq!(camel_case("write_then_call"), "writeThenCall");
        assert_eq!(camel_case("r#type"), "type");
    }

    #[test]
    fn types() {
        let t: Type = syn::parse_str("Vec<(U256, Address)>").expect("test value");
        let s = sol_type(&t).expect("test value");
        assert_eq!(s.canonical(), "(uint256,address)[]");
        assert_eq!(
            s.json_param("x", None),
            r#"{"name":"x","type":"tuple[]","components":[{"name":"","type":"uint256"},{"name":"","type":"address"}]}"#
        );
        let t: Type = syn::parse_str("[FixedBytes<4>; 3]").expect("test value");
        assert_eq!(sol_type(&t).expect("test value").canonical(), "bytes4[3]");
        let t: Type = syn::parse_str("accord_contract::U256").expect("test value");
        assert_eq!(sol_type(&t).expect("test value").canonical(), "uint256");
        let t: Type = syn::parse_str("Amount").expect("test value");
        assert!(sol_type(&t).is_err());
    }
}
