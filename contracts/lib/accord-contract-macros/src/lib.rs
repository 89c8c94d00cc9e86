//! Proc-macros of `accord-contract`; use them through its re-exports (`accord_contract::contract`, …), whose
//! documentation describes them.

use proc_macro::TokenStream;
use quote::quote;
use syn::{LitStr, parse_macro_input};

mod contract;
mod event;
mod sol;
mod storage;

/// See `accord_contract::contract`.
#[proc_macro_attribute]
pub fn contract(attr: TokenStream, item: TokenStream) -> TokenStream {
    contract::expand(attr.into(), item.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// See `accord_contract::event`.
#[proc_macro_attribute]
pub fn event(attr: TokenStream, item: TokenStream) -> TokenStream {
    event::expand(attr.into(), item.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// See `accord_contract::storage`.
#[proc_macro_attribute]
pub fn storage(attr: TokenStream, item: TokenStream) -> TokenStream {
    storage::expand(attr.into(), item.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

fn canonical_signature(lit: &LitStr) -> syn::Result<String> {
    let s = lit.value();
    if s.chars().any(char::is_whitespace) || !s.contains('(') || !s.ends_with(')') {
        return Err(syn::Error::new(
            lit.span(),
            "expected a canonical signature such as \"transfer(address,uint256)\" (no spaces, no parameter names)",
        ));
    }
    Ok(s)
}

/// See `accord_contract::selector`.
#[proc_macro]
pub fn selector(input: TokenStream) -> TokenStream {
    let lit = parse_macro_input!(input as LitStr);
    match canonical_signature(&lit) {
        Ok(sig) => {
            let [a, b, c, d] = sol::selector(&sig);
            quote!([#a, #b, #c, #d]).into()
        }
        Err(e) => e.into_compile_error().into(),
    }
}

/// See `accord_contract::keccak256`.
#[proc_macro]
pub fn keccak256(input: TokenStream) -> TokenStream {
    let lit = parse_macro_input!(input as LitStr);
    let bytes = sol::keccak256(lit.value().as_bytes());
    quote!([#(#bytes),*]).into()
}
