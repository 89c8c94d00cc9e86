//! The Solidity ABI codec (<https://docs.soliditylang.org/en/latest/abi-spec.html>).
//!
//! | Rust | Solidity |
//! | --- | --- |
//! | `bool` | `bool` |
//! | `u8`, `u16`, `u32`, `u64`, `u128`, [`U256`] | `uint8` … `uint256` |
//! | `i8`, `i16`, `i32`, `i64`, `i128` | `int8` … `int128` |
//! | [`Address`] | `address` |
//! | [`FixedBytes<N>`], [`B256`](crate::B256) | `bytesN`, `bytes32` |
//! | [`Bytes`] | `bytes` |
//! | `String` (and `str` for encoding) | `string` |
//! | `Vec<T>` | `T[]` |
//! | `[T; N]` | `T[N]` |
//! | `(A, B, …)` | `(A,B,…)` (a tuple; also a parameter list) |
//!
//! A parameter list (the arguments after a selector, a return value, event data) is encoded as a tuple:
//! [`encode`]`(&(a, b))` is Solidity's `abi.encode(a, b)`, and a single value `x` is encoded as `(x,)`.
//!
//! Decoding is strict like Solidity's decoder: a value that does not fit its type (a `uint8` word above 255, a
//! `bool` other than 0 or 1, an address with high bits set), an offset or length that points outside the input,
//! or a `string` that is not UTF-8 is an error, and the generated dispatcher reverts on it.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::mem::size_of;

use crate::types::{Address, Bytes, FixedBytes, U256};

/// Why ABI decoding failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ends before the value does.
    Short,
    /// An offset or length does not fit or points outside the input.
    BadOffset,
    /// A value does not fit its type (dirty high bits, a bool other than 0/1, non-zero padding).
    InvalidValue,
    /// A `string` is not valid UTF-8.
    InvalidUtf8,
}

/// The static shape of an ABI type.
pub trait AbiType {
    /// Whether the type is dynamic (`bytes`, `string`, `T[]`, or contains one).
    const DYNAMIC: bool;
    /// Size of the type's head in an enclosing tuple: its whole encoding if static, 32 (an offset) if dynamic.
    const HEAD_SIZE: usize;
}

/// A value that can be ABI-encoded.
pub trait AbiEncode: AbiType {
    /// Size of the encoding in bytes (`HEAD_SIZE` for static types).
    fn encoded_size(&self) -> usize;
    /// Writes the encoding to `out[..self.encoded_size()]`, every byte of it (padding included).
    ///
    /// # Panics
    ///
    /// If `out` is shorter than [`AbiEncode::encoded_size`].
    fn encode_to(&self, out: &mut [u8]);
}

/// A value that can be ABI-decoded.
pub trait AbiDecode: AbiType + Sized {
    /// Decodes a value whose encoding starts at `data[0]`; `data` runs to the end of the enclosing input, since a
    /// dynamic value's inner offsets are relative to its start.
    fn decode_from(data: &[u8]) -> Result<Self, DecodeError>;
}

/// A parameter list: a tuple `()`, `(A,)`, `(A, B)`, … of up to 16 ABI types.
pub trait AbiParams: AbiEncode {}

/// A Solidity value type: encoded as one 32-byte word.
pub trait AbiWord: AbiType {
    /// The value's ABI word (numbers left-padded, `bytesN` right-padded, sign-extended for signed integers).
    fn to_word(&self) -> [u8; 32];
    /// Parses an ABI word strictly (dirty padding is an error).
    fn from_word(word: &[u8; 32]) -> Result<Self, DecodeError>
    where
        Self: Sized;
}

/// Implements [`AbiEncode`] and [`AbiDecode`] of a value type from its [`AbiWord`].
macro_rules! word_codec {
    ($([$($gen:tt)*] $t:ty),* $(,)?) => {$(
        impl<$($gen)*> AbiEncode for $t {
            #[inline]
            fn encoded_size(&self) -> usize {
                32
            }
            #[inline]
            fn encode_to(&self, out: &mut [u8]) {
                *word_mut(out, 0) = AbiWord::to_word(self);
            }
        }

        impl<$($gen)*> AbiDecode for $t {
            #[inline]
            fn decode_from(data: &[u8]) -> Result<Self, DecodeError> {
                <$t as AbiWord>::from_word(word(data, 0)?)
            }
        }
    )*};
}

word_codec! {
    [] u8, [] u16, [] u32, [] u64, [] u128,
    [] i8, [] i16, [] i32, [] i64, [] i128,
    [] U256, [] bool, [] Address, [const N: usize] FixedBytes<N>,
}

/// The 32-byte word at `data[at..]`.
#[inline]
pub(crate) fn word(data: &[u8], at: usize) -> Result<&[u8; 32], DecodeError> {
    data.get(at..).and_then(|d| d.first_chunk::<32>()).ok_or(DecodeError::Short)
}

#[inline]
fn word_mut(out: &mut [u8], at: usize) -> &mut [u8; 32] {
    match out.get_mut(at..).and_then(|o| o.first_chunk_mut::<32>()) {
        Some(w) => w,
        None => panic!("ABI: encode buffer too small"),
    }
}

/// A `usize` as a `uint256` word (offsets, lengths).
#[inline]
pub(crate) fn usize_word(v: usize) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&(v as u64).to_be_bytes());
    w
}

/// Reads a `uint256` word that must fit in `usize` (an offset or a length).
#[inline]
fn read_usize(data: &[u8], at: usize) -> Result<usize, DecodeError> {
    let w = word(data, at)?;
    if w[..24] != [0; 24] {
        return Err(DecodeError::BadOffset);
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&w[24..]);
    usize::try_from(u64::from_be_bytes(b)).map_err(|_| DecodeError::BadOffset)
}

/// Rounds up to a multiple of 32.
#[inline]
const fn pad32(n: usize) -> usize {
    n.div_ceil(32) * 32
}

macro_rules! abi_uint {
    ($($t:ty),*) => {$(
        impl AbiType for $t {
            const DYNAMIC: bool = false;
            const HEAD_SIZE: usize = 32;
        }
        impl AbiWord for $t {
            #[inline]
            fn to_word(&self) -> [u8; 32] {
                let mut w = [0u8; 32];
                w[32 - size_of::<$t>()..].copy_from_slice(&self.to_be_bytes());
                w
            }
            #[inline]
            fn from_word(w: &[u8; 32]) -> Result<Self, DecodeError> {
                const N: usize = size_of::<$t>();
                if w[..32 - N].iter().any(|&b| b != 0) {
                    return Err(DecodeError::InvalidValue);
                }
                let mut b = [0u8; N];
                b.copy_from_slice(&w[32 - N..]);
                Ok(<$t>::from_be_bytes(b))
            }
        }
    )*};
}
abi_uint!(u8, u16, u32, u64, u128);

macro_rules! abi_int {
    ($($t:ty),*) => {$(
        impl AbiType for $t {
            const DYNAMIC: bool = false;
            const HEAD_SIZE: usize = 32;
        }
        impl AbiWord for $t {
            #[inline]
            fn to_word(&self) -> [u8; 32] {
                let mut w = [if *self < 0 { 0xff } else { 0 }; 32];
                w[32 - size_of::<$t>()..].copy_from_slice(&self.to_be_bytes());
                w
            }
            #[inline]
            fn from_word(w: &[u8; 32]) -> Result<Self, DecodeError> {
                const N: usize = size_of::<$t>();
                let fill = if w[32 - N] & 0x80 != 0 { 0xff } else { 0 };
                if w[..32 - N].iter().any(|&b| b != fill) {
                    return Err(DecodeError::InvalidValue);
                }
                let mut b = [0u8; N];
                b.copy_from_slice(&w[32 - N..]);
                Ok(<$t>::from_be_bytes(b))
            }
        }
    )*};
}
abi_int!(i8, i16, i32, i64, i128);

impl AbiType for U256 {
    const DYNAMIC: bool = false;
    const HEAD_SIZE: usize = 32;
}

impl AbiWord for U256 {
    #[inline]
    fn to_word(&self) -> [u8; 32] {
        self.to_be_bytes()
    }
    #[inline]
    fn from_word(w: &[u8; 32]) -> Result<Self, DecodeError> {
        Ok(U256::from_be_bytes(w))
    }
}

impl AbiType for bool {
    const DYNAMIC: bool = false;
    const HEAD_SIZE: usize = 32;
}

impl AbiWord for bool {
    #[inline]
    fn to_word(&self) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[31] = *self as u8;
        w
    }
    #[inline]
    fn from_word(w: &[u8; 32]) -> Result<Self, DecodeError> {
        if w[..31] != [0; 31] || w[31] > 1 {
            return Err(DecodeError::InvalidValue);
        }
        Ok(w[31] == 1)
    }
}

impl AbiType for Address {
    const DYNAMIC: bool = false;
    const HEAD_SIZE: usize = 32;
}

impl AbiWord for Address {
    #[inline]
    fn to_word(&self) -> [u8; 32] {
        Address::to_word(self)
    }
    #[inline]
    fn from_word(w: &[u8; 32]) -> Result<Self, DecodeError> {
        Address::from_word(w).ok_or(DecodeError::InvalidValue)
    }
}

impl<const N: usize> AbiType for FixedBytes<N> {
    const DYNAMIC: bool = false;
    const HEAD_SIZE: usize = {
        assert!(N >= 1 && N <= 32, "bytesN needs 1 <= N <= 32");
        32
    };
}

impl<const N: usize> AbiWord for FixedBytes<N> {
    #[inline]
    fn to_word(&self) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[..N].copy_from_slice(&self.0);
        w
    }
    #[inline]
    fn from_word(w: &[u8; 32]) -> Result<Self, DecodeError> {
        if w[N..].iter().any(|&b| b != 0) {
            return Err(DecodeError::InvalidValue);
        }
        let mut b = [0u8; N];
        b.copy_from_slice(&w[..N]);
        Ok(FixedBytes(b))
    }
}

/// Encodes a byte string as `bytes`/`string`: its length, then the bytes right-padded to 32.
#[inline]
fn encode_bytes(b: &[u8], out: &mut [u8]) {
    *word_mut(out, 0) = usize_word(b.len());
    let end = 32 + pad32(b.len());
    let body = &mut out[32..end];
    body[..b.len()].copy_from_slice(b);
    body[b.len()..].fill(0);
}

/// Decodes a `bytes`/`string` body (length word, then bytes).
#[inline]
fn decode_bytes(data: &[u8]) -> Result<&[u8], DecodeError> {
    let len = read_usize(data, 0)?;
    let end = len.checked_add(32).ok_or(DecodeError::BadOffset)?;
    data.get(32..end).ok_or(DecodeError::Short)
}

impl AbiType for Bytes {
    const DYNAMIC: bool = true;
    const HEAD_SIZE: usize = 32;
}

impl AbiEncode for Bytes {
    #[inline]
    fn encoded_size(&self) -> usize {
        32 + pad32(self.0.len())
    }
    #[inline]
    fn encode_to(&self, out: &mut [u8]) {
        encode_bytes(&self.0, out);
    }
}

impl AbiDecode for Bytes {
    fn decode_from(data: &[u8]) -> Result<Self, DecodeError> {
        Ok(Bytes(decode_bytes(data)?.to_vec()))
    }
}

impl AbiType for str {
    const DYNAMIC: bool = true;
    const HEAD_SIZE: usize = 32;
}

impl AbiEncode for str {
    #[inline]
    fn encoded_size(&self) -> usize {
        32 + pad32(self.len())
    }
    #[inline]
    fn encode_to(&self, out: &mut [u8]) {
        encode_bytes(self.as_bytes(), out);
    }
}

impl AbiType for String {
    const DYNAMIC: bool = true;
    const HEAD_SIZE: usize = 32;
}

impl AbiEncode for String {
    #[inline]
    fn encoded_size(&self) -> usize {
        self.as_str().encoded_size()
    }
    #[inline]
    fn encode_to(&self, out: &mut [u8]) {
        encode_bytes(self.as_bytes(), out);
    }
}

impl AbiDecode for String {
    fn decode_from(data: &[u8]) -> Result<Self, DecodeError> {
        let b = decode_bytes(data)?;
        core::str::from_utf8(b).map(String::from).map_err(|_| DecodeError::InvalidUtf8)
    }
}

impl<T: AbiType + ?Sized> AbiType for &T {
    const DYNAMIC: bool = T::DYNAMIC;
    const HEAD_SIZE: usize = T::HEAD_SIZE;
}

impl<T: AbiEncode + ?Sized> AbiEncode for &T {
    #[inline]
    fn encoded_size(&self) -> usize {
        (**self).encoded_size()
    }
    #[inline]
    fn encode_to(&self, out: &mut [u8]) {
        (**self).encode_to(out)
    }
}

/// Encodes one element of a tuple or array at `*head`, its tail (if dynamic) at `*tail`, and advances both.
#[inline]
fn encode_elem<T: AbiEncode + ?Sized>(v: &T, out: &mut [u8], head: &mut usize, tail: &mut usize) {
    if T::DYNAMIC {
        *word_mut(out, *head) = usize_word(*tail);
        v.encode_to(&mut out[*tail..]);
        *tail += v.encoded_size();
    } else {
        v.encode_to(&mut out[*head..]);
    }
    *head += T::HEAD_SIZE;
}

/// Decodes one element of a tuple or array whose head is at `*head` (offsets relative to `data[0]`).
#[inline]
fn decode_elem<T: AbiDecode>(data: &[u8], head: &mut usize) -> Result<T, DecodeError> {
    let v = if T::DYNAMIC {
        let offset = read_usize(data, *head)?;
        T::decode_from(data.get(offset..).ok_or(DecodeError::BadOffset)?)?
    } else {
        T::decode_from(data.get(*head..).ok_or(DecodeError::Short)?)?
    };
    *head += T::HEAD_SIZE;
    Ok(v)
}

/// Size of a sequence of elements encoded like a tuple (heads, then the dynamic elements' tails).
fn seq_size<T: AbiEncode>(items: &[T]) -> usize {
    let heads = items.len() * T::HEAD_SIZE;
    if T::DYNAMIC { heads + items.iter().map(AbiEncode::encoded_size).sum::<usize>() } else { heads }
}

fn encode_seq<T: AbiEncode>(items: &[T], out: &mut [u8]) {
    let mut head = 0;
    let mut tail = items.len() * T::HEAD_SIZE;
    for item in items {
        encode_elem(item, out, &mut head, &mut tail);
    }
}

fn decode_seq<T: AbiDecode>(data: &[u8], len: usize) -> Result<Vec<T>, DecodeError> {
    // Every element takes at least its head in the input, so a length the input cannot hold is rejected before
    // anything is allocated.
    if len > data.len() / T::HEAD_SIZE.max(1) {
        return Err(DecodeError::Short);
    }
    let mut v = Vec::with_capacity(len);
    let mut head = 0;
    for _ in 0..len {
        v.push(decode_elem(data, &mut head)?);
    }
    Ok(v)
}

impl<T: AbiType> AbiType for Vec<T> {
    const DYNAMIC: bool = true;
    const HEAD_SIZE: usize = 32;
}

impl<T: AbiEncode> AbiEncode for Vec<T> {
    fn encoded_size(&self) -> usize {
        32 + seq_size(self)
    }
    fn encode_to(&self, out: &mut [u8]) {
        *word_mut(out, 0) = usize_word(self.len());
        encode_seq(self, &mut out[32..]);
    }
}

impl<T: AbiDecode> AbiDecode for Vec<T> {
    fn decode_from(data: &[u8]) -> Result<Self, DecodeError> {
        let len = read_usize(data, 0)?;
        decode_seq(&data[32..], len)
    }
}

impl<T: AbiType, const N: usize> AbiType for [T; N] {
    const DYNAMIC: bool = T::DYNAMIC;
    const HEAD_SIZE: usize = if T::DYNAMIC { 32 } else { N * T::HEAD_SIZE };
}

impl<T: AbiEncode, const N: usize> AbiEncode for [T; N] {
    fn encoded_size(&self) -> usize {
        seq_size(self)
    }
    fn encode_to(&self, out: &mut [u8]) {
        encode_seq(self, out);
    }
}

impl<T: AbiDecode, const N: usize> AbiDecode for [T; N] {
    fn decode_from(data: &[u8]) -> Result<Self, DecodeError> {
        decode_seq::<T>(data, N)?.try_into().map_err(|_| DecodeError::Short)
    }
}

macro_rules! abi_tuple {
    ($(($($t:ident $i:tt),*)),* $(,)?) => {$(
        impl<$($t: AbiType),*> AbiType for ($($t,)*) {
            const DYNAMIC: bool = false $(|| $t::DYNAMIC)*;
            const HEAD_SIZE: usize = if Self::DYNAMIC { 32 } else { 0 $(+ $t::HEAD_SIZE)* };
        }

        impl<$($t: AbiEncode),*> AbiEncode for ($($t,)*) {
            #[inline]
            fn encoded_size(&self) -> usize {
                0 $(+ $t::HEAD_SIZE + if $t::DYNAMIC { self.$i.encoded_size() } else { 0 })*
            }
            #[inline]
            #[allow(unused_variables, unused_mut)]
            fn encode_to(&self, out: &mut [u8]) {
                let mut head = 0;
                let mut tail = 0 $(+ $t::HEAD_SIZE)*;
                $(encode_elem(&self.$i, out, &mut head, &mut tail);)*
            }
        }

        impl<$($t: AbiDecode),*> AbiDecode for ($($t,)*) {
            #[inline]
            #[allow(unused_variables, unused_mut, clippy::unused_unit)]
            fn decode_from(data: &[u8]) -> Result<Self, DecodeError> {
                let mut head = 0;
                Ok(($(decode_elem::<$t>(data, &mut head)?,)*))
            }
        }

        impl<$($t: AbiEncode),*> AbiParams for ($($t,)*) {}
    )*};
}

abi_tuple! {
    (),
    (A 0),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, E 4),
    (A 0, B 1, C 2, D 3, E 4, F 5),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15),
}

/// Calls `f` with the encoding of `params`, built on the stack when it is static and at most 256 bytes (in a
/// buffer of the smallest of 32, 64, 128 or 256 bytes that fits), else in a heap vector.
#[inline(always)]
pub fn with_encoded<P: AbiParams, R>(params: &P, f: impl FnOnce(&[u8]) -> R) -> R {
    macro_rules! on_stack {
        ($n:literal) => {{
            let mut buf = [0u8; $n];
            let out = &mut buf[..P::HEAD_SIZE];
            params.encode_to(out);
            return f(out);
        }};
    }
    if !P::DYNAMIC {
        match P::HEAD_SIZE {
            0 => return f(&[]),
            1..=32 => on_stack!(32),
            33..=64 => on_stack!(64),
            65..=128 => on_stack!(128),
            129..=256 => on_stack!(256),
            _ => {}
        }
    }
    f(&encode(params))
}

/// Encodes a parameter list, like Solidity's `abi.encode(a, b, …)` for `params = (a, b, …)`.
pub fn encode<P: AbiParams>(params: &P) -> Vec<u8> {
    let mut out = vec![0u8; params.encoded_size()];
    params.encode_to(&mut out);
    out
}

/// Encodes a call: the 4-byte `selector` followed by the encoded `params`, like `abi.encodeWithSelector`.
///
/// The selector of a signature is computed at compile time by [`selector!`](crate::selector).
pub fn encode_with_selector<P: AbiParams>(selector: [u8; 4], params: &P) -> Vec<u8> {
    let mut out = vec![0u8; 4 + params.encoded_size()];
    out[..4].copy_from_slice(&selector);
    params.encode_to(&mut out[4..]);
    out
}

/// Decodes a parameter list, like Solidity's `abi.decode(data, (A, B, …))` for `P = (A, B, …)`.
pub fn decode<P: AbiParams + AbiDecode>(data: &[u8]) -> Result<P, DecodeError> {
    P::decode_from(data)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use alloc::string::ToString;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test value")).collect()
    }

    #[test]
    fn static_params() {
        let a = Address::from_hex("0x1111111111111111111111111111111111111111");
        let enc = encode(&(a, U256::from(5u64), true, 7u8, -1i8));
        assert_eq!(enc.len(), 160);
        assert_eq!(&enc[12..32], &a.0);
        assert_eq!(enc[63], 5);
        assert_eq!(enc[95], 1);
        assert_eq!(enc[127], 7);
        assert_eq!(&enc[128..160], &[0xff; 32]);
        let back: (Address, U256, bool, u8, i8) = decode(&enc).expect("test value");
        assert_eq!(back, (a, U256::from(5u64), true, 7u8, -1i8));
    }

    #[test]
    fn solidity_spec_example() {
        // f(uint256,uint32[],bytes10,bytes) with (0x123, [0x456, 0x789], "1234567890", "Hello, world!"),
        // from the Solidity ABI specification.
        let params = (
            U256::from(0x123u64),
            vec![0x456u32, 0x789u32],
            FixedBytes(*b"1234567890"),
            Bytes(b"Hello, world!".to_vec()),
        );
        let expected = hex("0000000000000000000000000000000000000000000000000000000000000123
             0000000000000000000000000000000000000000000000000000000000000080
             3132333435363738393000000000000000000000000000000000000000000000
             00000000000000000000000000000000000000000000000000000000000000e0
             0000000000000000000000000000000000000000000000000000000000000002
             0000000000000000000000000000000000000000000000000000000000000456
             0000000000000000000000000000000000000000000000000000000000000789
             000000000000000000000000000000000000000000000000000000000000000d
             48656c6c6f2c20776f726c642100000000000000000000000000000000000000");
        assert_eq!(encode(&params), expected);
        let back: (U256, Vec<u32>, FixedBytes<10>, Bytes) = decode(&expected).expect("test value");
        assert_eq!(back, params);
    }

    #[test]
    fn nested_dynamic() {
        // g(uint256[][],string[]) with ([[1, 2], [3]], ["one", "two", "three"]), from the specification.
        let params = (
            vec![vec![U256::from(1u64), U256::from(2u64)], vec![U256::from(3u64)]],
            vec!["one".to_string(), "two".to_string(), "three".to_string()],
        );
        let expected = hex("0000000000000000000000000000000000000000000000000000000000000040
             0000000000000000000000000000000000000000000000000000000000000140
             0000000000000000000000000000000000000000000000000000000000000002
             0000000000000000000000000000000000000000000000000000000000000040
             00000000000000000000000000000000000000000000000000000000000000a0
             0000000000000000000000000000000000000000000000000000000000000002
             0000000000000000000000000000000000000000000000000000000000000001
             0000000000000000000000000000000000000000000000000000000000000002
             0000000000000000000000000000000000000000000000000000000000000001
             0000000000000000000000000000000000000000000000000000000000000003
             0000000000000000000000000000000000000000000000000000000000000003
             0000000000000000000000000000000000000000000000000000000000000060
             00000000000000000000000000000000000000000000000000000000000000a0
             00000000000000000000000000000000000000000000000000000000000000e0
             0000000000000000000000000000000000000000000000000000000000000003
             6f6e650000000000000000000000000000000000000000000000000000000000
             0000000000000000000000000000000000000000000000000000000000000003
             74776f0000000000000000000000000000000000000000000000000000000000
             0000000000000000000000000000000000000000000000000000000000000005
             7468726565000000000000000000000000000000000000000000000000000000");
        assert_eq!(encode(&params), expected);
        let back: (Vec<Vec<U256>>, Vec<String>) = decode(&expected).expect("test value");
        assert_eq!(back, params);
    }

    #[test]
    fn strict_decoding() {
        let mut w = [0u8; 32];
        w[30] = 1;
        assert_eq!(decode::<(u8,)>(&w), Err(DecodeError::InvalidValue));
        assert_eq!(decode::<(u16,)>(&w), Ok((256,)));
        w[30] = 0;
        w[31] = 2;
        assert_eq!(decode::<(bool,)>(&w), Err(DecodeError::InvalidValue));
        assert_eq!(decode::<(u8,)>(&w[..31]), Err(DecodeError::Short));
        let mut neg = [0xffu8; 32];
        neg[0] = 0x7f;
        assert_eq!(decode::<(i8,)>(&neg), Err(DecodeError::InvalidValue));
        // A huge array length is rejected before allocating.
        let mut huge = usize_word(0x20).to_vec();
        huge.extend_from_slice(&[0xff; 32]);
        huge[32..56].fill(0);
        assert_eq!(decode::<(Vec<U256>,)>(&huge), Err(DecodeError::Short));
        // An offset past the end.
        assert_eq!(decode::<(String,)>(&usize_word(0x1000)), Err(DecodeError::BadOffset));
        // Invalid UTF-8.
        let mut s = encode(&("ab",));
        s[64] = 0xff;
        assert_eq!(decode::<(String,)>(&s), Err(DecodeError::InvalidUtf8));
    }

    #[test]
    fn selector_prefix() {
        let enc = encode_with_selector([0xa9, 0x05, 0x9c, 0xbb], &(Address::ZERO, U256::ONE));
        assert_eq!(enc.len(), 68);
        assert_eq!(&enc[..4], &[0xa9, 0x05, 0x9c, 0xbb]);
        assert_eq!(enc[67], 1);
    }
}
