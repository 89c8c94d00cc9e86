//! `#[contract]`: entry points, dispatcher and ABI JSON of a contract's `impl` block.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    Attribute, FnArg, GenericArgument, ImplItem, ImplItemFn, ItemImpl, LitStr, Pat, Path, PathArguments, ReturnType,
    Token, Type, bracketed,
};

use crate::sol::{SolType, camel_case, is_identifier, selector, sol_type};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Constructor,
    Message,
    Fallback,
}

struct Arg {
    abi_name: String,
    ty: Type,
    sol: SolType,
}

/// What a method returns: `T` or `Result<T, E>`; `T = ()` means no outputs.
struct Ret {
    is_result: bool,
    /// `None` for `()`.
    sol: Option<SolType>,
}

struct Method {
    kind: Kind,
    ident: syn::Ident,
    sol_name: String,
    payable: bool,
    mutable: bool,
    args: Vec<Arg>,
    ret: Ret,
    span: Span,
}

impl Method {
    fn signature(&self) -> String {
        let types: Vec<String> = self.args.iter().map(|a| a.sol.canonical()).collect();
        format!("{}({})", self.sol_name, types.join(","))
    }

    fn state_mutability(&self) -> &'static str {
        match (self.mutable, self.payable) {
            (false, _) => "view",
            (true, false) => "nonpayable",
            (true, true) => "payable",
        }
    }

    fn json_inputs(&self) -> String {
        let inputs: Vec<String> = self.args.iter().map(|a| a.sol.json_param(&a.abi_name, None)).collect();
        inputs.join(",")
    }

    fn json_outputs(&self) -> String {
        let outputs: Vec<String> = match &self.ret.sol {
            None => Vec::new(),
            Some(SolType::Tuple(ts)) => ts.iter().map(|t| t.json_param("", None)).collect(),
            Some(t) => vec![t.json_param("", None)],
        };
        outputs.join(",")
    }

    fn abi_json(&self) -> String {
        match self.kind {
            Kind::Constructor => format!(
                "{{\"type\":\"constructor\",\"inputs\":[{}],\"stateMutability\":\"{}\"}}",
                self.json_inputs(),
                self.state_mutability()
            ),
            Kind::Message => format!(
                "{{\"type\":\"function\",\"name\":\"{}\",\"inputs\":[{}],\"outputs\":[{}],\"stateMutability\":\"{}\"}}",
                self.sol_name,
                self.json_inputs(),
                self.json_outputs(),
                self.state_mutability()
            ),
            Kind::Fallback => format!("{{\"type\":\"fallback\",\"stateMutability\":\"{}\"}}", self.state_mutability()),
        }
    }

    /// The body that decodes the arguments, calls the method and returns its encoded output.
    ///
    /// Expects `__this` (the storage struct, `mut`) in scope.
    fn invoke(&self, input: TokenStream) -> TokenStream {
        let ident = &self.ident;
        let nonpayable = (!self.payable).then(|| quote!(::accord_contract::__private::nonpayable();));
        let vars: Vec<syn::Ident> = (0..self.args.len()).map(|i| format_ident!("__arg{}", i)).collect();
        let types: Vec<&Type> = self.args.iter().map(|a| &a.ty).collect();
        let decode = (!self.args.is_empty()).then(|| {
            quote! {
                let (#(#vars,)*): (#(#types,)*) = ::accord_contract::__private::decode_args(#input);
            }
        });
        let receiver = if self.mutable { quote!(&mut __this) } else { quote!(&__this) };
        let invoke = quote!(Self::#ident(#receiver #(, #vars)*));
        let value =
            if self.ret.is_result { quote!(::accord_contract::__private::unwrap_or_revert(#invoke)) } else { invoke };
        let finish = match &self.ret.sol {
            None => quote!(#value; return;),
            Some(SolType::Tuple(_)) => quote!(::accord_contract::__private::finish(&#value)),
            Some(_) => quote!(::accord_contract::__private::finish(&(#value,))),
        };
        quote_spanned! {self.span=>
            #nonpayable
            #decode
            #finish
        }
    }
}

/// A method's `#[constructor]`/`#[message]`/`#[fallback]` attribute: kind, `payable`, `name`, span.
type KindAttr = (Kind, bool, Option<LitStr>, Span);

/// Removes the attribute that makes a method part of the interface, and returns it with its options.
fn take_kind(attrs: &mut Vec<Attribute>) -> syn::Result<Option<KindAttr>> {
    let mut found = None;
    let mut err: Option<syn::Error> = None;
    let mut keep = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        let kind = if attr.path().is_ident("constructor") {
            Kind::Constructor
        } else if attr.path().is_ident("message") {
            Kind::Message
        } else if attr.path().is_ident("fallback") {
            Kind::Fallback
        } else {
            keep.push(attr);
            continue;
        };
        if found.is_some() {
            err = Some(syn::Error::new(
                attr.span(),
                "a method can have only one of #[constructor], #[message], #[fallback]",
            ));
            continue;
        }
        let mut payable = false;
        let mut name: Option<LitStr> = None;
        if let syn::Meta::List(_) = &attr.meta {
            let r = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("payable") {
                    payable = true;
                    Ok(())
                } else if meta.path.is_ident("name") && kind == Kind::Message {
                    name = Some(meta.value()?.parse()?);
                    Ok(())
                } else {
                    Err(meta.error("unknown option; expected `payable` (or `name = \"…\"` on #[message])"))
                }
            });
            if let Err(e) = r {
                err = Some(e);
            }
        } else if let syn::Meta::NameValue(_) = &attr.meta {
            err = Some(syn::Error::new(attr.span(), "expected #[message] or #[message(options)]"));
        }
        found = Some((kind, payable, name, attr.span()));
    }
    *attrs = keep;
    match err {
        Some(e) => Err(e),
        None => Ok(found),
    }
}

/// `T` or `Result<T, E>` (by the last path segment being `Result`).
fn analyze_return(output: &ReturnType) -> syn::Result<Ret> {
    let ty = match output {
        ReturnType::Default => return Ok(Ret { is_result: false, sol: None }),
        ReturnType::Type(_, ty) => ty.as_ref(),
    };
    let (is_result, inner) = match ty {
        Type::Path(p) if p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "Result") => {
            let seg = p.path.segments.last().ok_or_else(|| syn::Error::new(ty.span(), "empty path"))?;
            match &seg.arguments {
                PathArguments::AngleBracketed(a) => match a.args.first() {
                    Some(GenericArgument::Type(t)) => (true, t),
                    _ => return Err(syn::Error::new(ty.span(), "expected Result<T> or Result<T, E>")),
                },
                _ => return Err(syn::Error::new(ty.span(), "expected Result<T> or Result<T, E>")),
            }
        }
        _ => (false, ty),
    };
    let sol = sol_type(inner)?;
    Ok(Ret { is_result, sol: (!sol.is_unit()).then_some(sol) })
}

fn analyze(kind: Kind, payable: bool, name: Option<LitStr>, span: Span, f: &ImplItemFn) -> syn::Result<Method> {
    let sig = &f.sig;
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(sig.generics.span(), "contract methods cannot be generic"));
    }
    if let Some(a) = &sig.asyncness {
        return Err(syn::Error::new(a.span(), "contract methods cannot be async"));
    }
    let mut inputs = sig.inputs.iter();
    let mutable = match inputs.next() {
        Some(FnArg::Receiver(r)) if r.reference.is_some() && r.colon_token.is_none() => r.mutability.is_some(),
        _ => return Err(syn::Error::new(sig.span(), "contract methods take `&self` (view) or `&mut self`")),
    };
    if kind == Kind::Constructor && !mutable {
        return Err(syn::Error::new(sig.span(), "the constructor takes `&mut self`"));
    }
    if payable && !mutable {
        return Err(syn::Error::new(span, "a `&self` (view) method cannot be payable"));
    }
    let mut args = Vec::new();
    for input in inputs {
        let FnArg::Typed(pt) = input else {
            return Err(syn::Error::new(input.span(), "unexpected receiver"));
        };
        if let Type::Reference(r) = pt.ty.as_ref() {
            return Err(syn::Error::new(
                r.span(),
                "arguments are decoded into owned values: take `String`, `Bytes` or `Vec<T>`, not a reference",
            ));
        }
        let abi_name = match pt.pat.as_ref() {
            Pat::Ident(pi) => camel_case(&pi.ident.to_string()),
            _ => String::new(),
        };
        args.push(Arg { abi_name, ty: (*pt.ty).clone(), sol: sol_type(&pt.ty)? });
    }
    let ret = analyze_return(&sig.output)?;
    match kind {
        Kind::Fallback if !args.is_empty() || ret.sol.is_some() => {
            return Err(syn::Error::new(
                sig.span(),
                "#[fallback] takes no arguments and returns nothing (read env::input(), end with env::finish)",
            ));
        }
        Kind::Constructor if ret.sol.is_some() => {
            return Err(syn::Error::new(sig.output.span(), "the constructor returns `()` or `Result<()>`"));
        }
        _ => {}
    }
    let sol_name = match name {
        Some(n) if is_identifier(&n.value()) => n.value(),
        Some(n) => return Err(syn::Error::new(n.span(), "not a Solidity identifier")),
        None => camel_case(&sig.ident.to_string()),
    };
    Ok(Method { kind, ident: sig.ident.clone(), sol_name, payable, mutable, args, ret, span: f.span() })
}

fn parse_events(attr: TokenStream) -> syn::Result<Vec<Path>> {
    let parser = |input: ParseStream| {
        let mut events = Vec::new();
        while !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            if key != "events" {
                return Err(syn::Error::new(key.span(), "unknown argument; expected `events = [EventA, EventB]`"));
            }
            input.parse::<Token![=]>()?;
            let content;
            bracketed!(content in input);
            events.extend(Punctuated::<Path, Token![,]>::parse_terminated(&content)?);
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(events)
    };
    parser.parse2(attr)
}

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let events = parse_events(attr)?;
    let mut imp: ItemImpl = syn::parse2(item)?;
    if let Some((_, path, _)) = &imp.trait_ {
        return Err(syn::Error::new(path.span(), "#[contract] goes on an inherent `impl Type { … }` block"));
    }
    if !imp.generics.params.is_empty() {
        return Err(syn::Error::new(imp.generics.span(), "a contract type cannot be generic"));
    }
    let self_ty = imp.self_ty.clone();

    let mut methods = Vec::new();
    let mut errors: Option<syn::Error> = None;
    let mut push_err = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    for item in &mut imp.items {
        let ImplItem::Fn(f) = item else { continue };
        match take_kind(&mut f.attrs) {
            Ok(Some((kind, payable, name, span))) => match analyze(kind, payable, name, span, f) {
                Ok(m) => methods.push(m),
                Err(e) => push_err(e),
            },
            Ok(None) => {}
            Err(e) => push_err(e),
        }
    }
    let constructors: Vec<&Method> = methods.iter().filter(|m| m.kind == Kind::Constructor).collect();
    let fallbacks: Vec<&Method> = methods.iter().filter(|m| m.kind == Kind::Fallback).collect();
    if constructors.len() > 1 {
        push_err(syn::Error::new(constructors[1].span, "at most one #[constructor]"));
    }
    if fallbacks.len() > 1 {
        push_err(syn::Error::new(fallbacks[1].span, "at most one #[fallback]"));
    }
    let mut seen: HashMap<[u8; 4], String> = HashMap::new();
    for m in methods.iter().filter(|m| m.kind == Kind::Message) {
        let sig = m.signature();
        if let Some(other) = seen.insert(selector(&sig), sig.clone()) {
            push_err(syn::Error::new(m.span, format!("selector of `{sig}` collides with `{other}`")));
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }

    // ABI JSON: constructor, functions in source order, fallback, events.
    let mut parts: Vec<TokenStream> = Vec::new();
    let mut entries: Vec<TokenStream> = Vec::new();
    for m in constructors.iter().chain(methods.iter().filter(|m| m.kind == Kind::Message).collect::<Vec<_>>().iter()) {
        let json = m.abi_json();
        entries.push(quote!(#json));
    }
    for m in &fallbacks {
        let json = m.abi_json();
        entries.push(quote!(#json));
    }
    for e in &events {
        entries.push(quote!(<#e as ::accord_contract::Event>::ABI_JSON));
    }
    parts.push(quote!("["));
    for (i, e) in entries.into_iter().enumerate() {
        if i > 0 {
            parts.push(quote!(","));
        }
        parts.push(e);
    }
    parts.push(quote!("]"));

    let deploy_body = match constructors.first() {
        Some(c) => {
            let body = c.invoke(quote!(&__input));
            let read = (!c.args.is_empty()).then(|| quote!(let __input = ::accord_contract::env::input();));
            quote! {
                #read
                let mut __this = <Self as ::accord_contract::Storage>::load();
                #body
            }
        }
        None => quote!(::accord_contract::__private::nonpayable();),
    };
    let arms = methods.iter().filter(|m| m.kind == Kind::Message).map(|m| {
        let sel = u32::from_be_bytes(selector(&m.signature()));
        let sel = proc_macro2::Literal::u32_suffixed(sel);
        let body = m.invoke(quote!(__args));
        quote!(::core::option::Option::Some(#sel) => { #body })
    });
    let otherwise = match fallbacks.first() {
        Some(f) => f.invoke(quote!(__args)),
        None => quote!(::accord_contract::__private::unknown_selector()),
    };

    Ok(quote! {
        #imp

        const _: () = {
            const __ACCORD_ABI_PARTS: &[&str] = &[#(#parts),*];
            const __ACCORD_ABI_LEN: usize = ::accord_contract::__private::concat_len(__ACCORD_ABI_PARTS);
            const __ACCORD_ABI_BYTES: [u8; __ACCORD_ABI_LEN] =
                ::accord_contract::__private::concat_bytes::<__ACCORD_ABI_LEN>(__ACCORD_ABI_PARTS);

            /// The ABI JSON, as the wasm custom section `accord:abi` the node serves with `accord_getAbi`.
            // rustc turns a wasm `link_section` static into a custom section by itself; `#[used]` would also keep
            // a second copy in the data segment.
            #[cfg(target_arch = "wasm32")]
            #[unsafe(link_section = "accord:abi")]
            static __ACCORD_ABI: [u8; __ACCORD_ABI_LEN] = __ACCORD_ABI_BYTES;

            impl ::accord_contract::Contract for #self_ty {
                const ABI_JSON: &'static str = ::accord_contract::__private::bytes_as_str(&__ACCORD_ABI_BYTES);

                #[inline(always)]
                fn __accord_deploy() {
                    #deploy_body
                }

                #[inline(always)]
                #[allow(unused_variables, unused_mut, unreachable_code)]
                fn __accord_call() {
                    // One storage struct for every method: its handles are constants, built once.
                    let mut __this = <Self as ::accord_contract::Storage>::load();
                    let __input = ::accord_contract::env::input();
                    let __selector: ::core::option::Option<u32> = match __input.first_chunk::<4>() {
                        ::core::option::Option::Some(s) => ::core::option::Option::Some(u32::from_be_bytes(*s)),
                        ::core::option::Option::None => ::core::option::Option::None,
                    };
                    let __args: &[u8] = match __input.get(4..) {
                        ::core::option::Option::Some(a) => a,
                        ::core::option::Option::None => &[],
                    };
                    match __selector {
                        #(#arms)*
                        _ => { #otherwise }
                    }
                }
            }

            /// The `deploy` entry point: runs the constructor.
            #[cfg(target_arch = "wasm32")]
            #[unsafe(no_mangle)]
            pub extern "C" fn deploy() {
                <#self_ty as ::accord_contract::Contract>::__accord_deploy()
            }

            /// The `call` entry point: dispatches on the selector.
            #[cfg(target_arch = "wasm32")]
            #[unsafe(no_mangle)]
            pub extern "C" fn call() {
                <#self_ty as ::accord_contract::Contract>::__accord_call()
            }
        };
    })
}
