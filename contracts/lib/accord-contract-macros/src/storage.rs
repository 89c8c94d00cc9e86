//! `#[storage]`: slot layout of a storage struct.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Fields, ItemStruct, LitInt};

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !attr.is_empty() {
        return Err(syn::Error::new(attr.span(), "#[storage] takes no arguments"));
    }
    let mut st: ItemStruct = syn::parse2(item)?;
    if !st.generics.params.is_empty() {
        return Err(syn::Error::new(st.generics.span(), "a storage struct cannot be generic"));
    }
    let Fields::Named(fields) = &mut st.fields else {
        return Err(syn::Error::new(st.span(), "#[storage] needs a struct with named fields"));
    };

    // Each field's slot offset from the struct's base, as a constant expression.
    let mut inits = Vec::new();
    let mut roots = Vec::new();
    let mut ends = Vec::new();
    let mut prev_end: TokenStream = quote!(0u64);
    for field in fields.named.iter_mut() {
        let mut explicit: Option<u64> = None;
        let mut err = None;
        field.attrs.retain(|a| {
            if !a.path().is_ident("slot") {
                return true;
            }
            match a.parse_args::<LitInt>().and_then(|l| l.base10_parse::<u64>()) {
                Ok(n) => explicit = Some(n),
                Err(e) => err = Some(e),
            }
            false
        });
        if let Some(e) = err {
            return Err(e);
        }
        let ident = field.ident.clone().ok_or_else(|| syn::Error::new(field.span(), "unnamed field"))?;
        let ty = &field.ty;
        let offset = match explicit {
            Some(n) => quote!(#n),
            None => prev_end.clone(),
        };
        inits.push(quote! {
            #ident: <#ty as ::accord_contract::StorageLayout>::at_slot(
                __base.offset({ const OFFSET: u64 = #offset; OFFSET })
            )
        });
        roots.push(quote! {
            #ident: <#ty as ::accord_contract::StorageLayout>::at_slot({
                const SLOT: ::accord_contract::Slot = ::accord_contract::Slot::new(#offset);
                SLOT
            })
        });
        let end = quote!((#offset + <#ty as ::accord_contract::StorageLayout>::SLOTS));
        ends.push(end.clone());
        prev_end = end;
    }
    let ident = &st.ident;

    Ok(quote! {
        #st

        impl ::accord_contract::StorageLayout for #ident {
            const SLOTS: u64 = {
                let mut end = 0u64;
                #( if #ends > end { end = #ends; } )*
                end
            };

            #[inline(always)]
            fn at_slot(__base: ::accord_contract::Slot) -> Self {
                #ident { #(#inits),* }
            }
        }

        impl ::accord_contract::Storage for #ident {
            #[inline(always)]
            fn load() -> Self {
                // The root struct: every slot a constant.
                #ident { #(#roots),* }
            }
        }
    })
}
