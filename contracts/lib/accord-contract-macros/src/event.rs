//! `#[event]`: a Solidity event on a struct.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Fields, ItemStruct, LitStr};

use crate::sol::{SolType, camel_case, is_identifier, keccak256, sol_type};

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut name: Option<LitStr> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            name = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error("unknown option; expected `name = \"…\"`"))
        }
    });
    parser.parse2(attr)?;

    let mut st: ItemStruct = syn::parse2(item)?;
    if !st.generics.params.is_empty() {
        return Err(syn::Error::new(st.generics.span(), "an event cannot be generic"));
    }
    let event_name = match &name {
        Some(n) if is_identifier(&n.value()) => n.value(),
        Some(n) => return Err(syn::Error::new(n.span(), "not a Solidity identifier")),
        None => st.ident.to_string(),
    };
    let Fields::Named(fields) = &mut st.fields else {
        return Err(syn::Error::new(st.span(), "#[event] needs a struct with named fields"));
    };

    let mut types = Vec::new();
    let mut json_inputs = Vec::new();
    let mut topic_fields = Vec::new();
    let mut data_fields = Vec::new();
    for field in fields.named.iter_mut() {
        let before = field.attrs.len();
        field.attrs.retain(|a| !a.path().is_ident("indexed"));
        let indexed = field.attrs.len() != before;
        let ident = field.ident.clone().ok_or_else(|| syn::Error::new(field.span(), "unnamed field"))?;
        let sol = sol_type(&field.ty)?;
        if indexed && matches!(sol, SolType::Array(..) | SolType::Tuple(_)) {
            return Err(syn::Error::new(field.ty.span(), "indexed arrays and tuples are not supported"));
        }
        types.push(sol.canonical());
        json_inputs.push(sol.json_param(&camel_case(&ident.to_string()), Some(indexed)));
        if indexed {
            topic_fields.push(ident);
        } else {
            data_fields.push(ident);
        }
    }
    if topic_fields.len() > 3 {
        return Err(syn::Error::new(st.ident.span(), "an event has at most 3 indexed fields"));
    }

    let signature = format!("{event_name}({})", types.join(","));
    let topic0 = keccak256(signature.as_bytes());
    let abi_json = format!(
        "{{\"type\":\"event\",\"name\":\"{event_name}\",\"inputs\":[{}],\"anonymous\":false}}",
        json_inputs.join(",")
    );
    let n_topics = 1 + topic_fields.len();
    let ident = &st.ident;
    let doc = format!("Emits `{signature}` as a log of the executing contract.");

    Ok(quote! {
        #st

        impl ::accord_contract::Event for #ident {
            const SIGNATURE: &'static str = #signature;
            const TOPIC0: [u8; 32] = [#(#topic0),*];
            const ABI_JSON: &'static str = #abi_json;

            #[inline]
            fn emit(&self) {
                let topics: [[u8; 32]; #n_topics] = [
                    <Self as ::accord_contract::Event>::TOPIC0,
                    #(::accord_contract::Topic::topic(&self.#topic_fields)),*
                ];
                ::accord_contract::event::emit_log_params(&topics, &(#(&self.#data_fields,)*));
            }
        }

        impl #ident {
            #[doc = #doc]
            #[inline]
            pub fn emit(&self) {
                <Self as ::accord_contract::Event>::emit(self)
            }
        }
    })
}
