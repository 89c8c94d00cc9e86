//! Ethereum value types: [`Address`], [`U256`], [`FixedBytes`] / [`B256`] and [`Bytes`].

use alloc::vec::Vec;
use core::cmp::Ordering;
use core::fmt;
use core::ops;

/// A 20-byte account or contract address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// The zero address, `0x0000…0000`.
    pub const ZERO: Address = Address([0; 20]);

    /// Wraps 20 bytes.
    pub const fn new(bytes: [u8; 20]) -> Self {
        Address(bytes)
    }

    /// The 20 bytes.
    pub const fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// Whether this is the zero address.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 20]
    }

    /// The address as a 32-byte word, left-padded with zeros (its ABI encoding and its storage layout).
    pub fn to_word(&self) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[12..].copy_from_slice(&self.0);
        w
    }

    /// The low 20 bytes of a word; `None` unless the 12 high bytes are zero.
    pub fn from_word(word: &[u8; 32]) -> Option<Self> {
        if word[..12] != [0; 12] {
            return None;
        }
        Some(Self::from_word_truncating(word))
    }

    /// The low 20 bytes of a word, ignoring the 12 high bytes.
    pub fn from_word_truncating(word: &[u8; 32]) -> Self {
        let mut a = [0u8; 20];
        a.copy_from_slice(&word[12..]);
        Address(a)
    }

    /// Parses `0x`-prefixed or bare hex of exactly 40 digits; usable in constants.
    ///
    /// Panics (a compile error in a `const`) on malformed input.
    pub const fn from_hex(s: &str) -> Self {
        let b = s.as_bytes();
        let start = if b.len() >= 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') { 2 } else { 0 };
        assert!(b.len() - start == 40, "an address is 40 hex digits");
        let mut out = [0u8; 20];
        let mut i = 0;
        while i < 20 {
            out[i] = (hex_digit(b[start + 2 * i]) << 4) | hex_digit(b[start + 2 * i + 1]);
            i += 1;
        }
        Address(out)
    }
}

const fn hex_digit(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("invalid hex digit"),
    }
}

impl From<[u8; 20]> for Address {
    fn from(bytes: [u8; 20]) -> Self {
        Address(bytes)
    }
}

impl From<Address> for [u8; 20] {
    fn from(a: Address) -> Self {
        a.0
    }
}

impl AsRef<[u8]> for Address {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    f.write_str("0x")?;
    for b in bytes {
        let pair = [DIGITS[(b >> 4) as usize], DIGITS[(b & 15) as usize]];
        // Both bytes are ASCII hex digits.
        f.write_str(core::str::from_utf8(&pair).map_err(|_| fmt::Error)?)?;
    }
    Ok(())
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

/// `N` bytes, the Solidity type `bytesN` (`1 <= N <= 32`; other sizes fail to compile when ABI-encoded).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct FixedBytes<const N: usize>(pub [u8; N]);

/// 32 bytes, the Solidity type `bytes32` (hashes, topics, storage keys).
pub type B256 = FixedBytes<32>;

impl<const N: usize> FixedBytes<N> {
    /// All zeros.
    pub const ZERO: Self = FixedBytes([0; N]);

    /// Wraps `N` bytes.
    pub const fn new(bytes: [u8; N]) -> Self {
        FixedBytes(bytes)
    }

    /// The bytes.
    pub const fn as_bytes(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> Default for FixedBytes<N> {
    fn default() -> Self {
        FixedBytes([0; N])
    }
}

impl<const N: usize> From<[u8; N]> for FixedBytes<N> {
    fn from(bytes: [u8; N]) -> Self {
        FixedBytes(bytes)
    }
}

impl<const N: usize> From<FixedBytes<N>> for [u8; N] {
    fn from(b: FixedBytes<N>) -> Self {
        b.0
    }
}

impl<const N: usize> ops::Deref for FixedBytes<N> {
    type Target = [u8; N];
    fn deref(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> fmt::Debug for FixedBytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

/// A byte string, the Solidity type `bytes` (`Vec<u8>` is `uint8[]`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// An empty byte string.
    pub const fn new() -> Self {
        Bytes(Vec::new())
    }

    /// The inner vector.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes(v)
    }
}

impl From<&[u8]> for Bytes {
    fn from(v: &[u8]) -> Self {
        Bytes(v.to_vec())
    }
}

impl From<Bytes> for Vec<u8> {
    fn from(b: Bytes) -> Self {
        b.0
    }
}

impl ops::Deref for Bytes {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl ops::DerefMut for Bytes {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

/// A 256-bit unsigned integer, the Solidity type `uint256`.
///
/// Stored as four 64-bit limbs, least significant first, so arithmetic compiles to a handful of `i64` wasm
/// instructions. The checked operations return `None` on overflow; the operators (`+`, `-`, `*`, `/`, `%`) panic on
/// overflow or division by zero, like Solidity ≥ 0.8 (a panic reverts the call).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct U256([u64; 4]);

impl U256 {
    /// 0.
    pub const ZERO: U256 = U256([0; 4]);
    /// 1.
    pub const ONE: U256 = U256([1, 0, 0, 0]);
    /// 2²⁵⁶ − 1.
    pub const MAX: U256 = U256([u64::MAX; 4]);

    /// From little-endian 64-bit limbs (`limbs[0]` least significant).
    pub const fn from_limbs(limbs: [u64; 4]) -> Self {
        U256(limbs)
    }

    /// The little-endian 64-bit limbs.
    pub const fn as_limbs(&self) -> &[u64; 4] {
        &self.0
    }

    /// From a `u64`, usable in constants.
    pub const fn from_u64(v: u64) -> Self {
        U256([v, 0, 0, 0])
    }

    /// From a `u128`, usable in constants.
    pub const fn from_u128(v: u128) -> Self {
        U256([v as u64, (v >> 64) as u64, 0, 0])
    }

    /// From 32 big-endian bytes.
    // Not inlined: wasm has no byte-swap instruction, so each conversion is ~100 instructions of shifts and masks,
    // and inlining it at every storage access and ABI word would multiply the module's size.
    #[inline(never)]
    pub fn from_be_bytes(b: &[u8; 32]) -> Self {
        let limb = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[32 - 8 * (i + 1)..32 - 8 * i]);
            u64::from_be_bytes(w)
        };
        U256([limb(0), limb(1), limb(2), limb(3)])
    }

    /// As 32 big-endian bytes.
    #[inline]
    pub fn to_be_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        self.write_be_bytes(&mut b);
        b
    }

    /// Writes the 32 big-endian bytes into `out`.
    #[inline(never)]
    pub fn write_be_bytes(&self, out: &mut [u8; 32]) {
        for i in 0..4 {
            out[32 - 8 * (i + 1)..32 - 8 * i].copy_from_slice(&self.0[i].to_be_bytes());
        }
    }

    /// From up to 32 big-endian bytes (shorter input is left-padded); `None` if longer than 32 bytes.
    pub fn from_be_slice(b: &[u8]) -> Option<Self> {
        if b.len() > 32 {
            return None;
        }
        let mut w = [0u8; 32];
        w[32 - b.len()..].copy_from_slice(b);
        Some(Self::from_be_bytes(&w))
    }

    /// Whether the value is zero.
    #[inline]
    pub fn is_zero(&self) -> bool {
        (self.0[0] | self.0[1] | self.0[2] | self.0[3]) == 0
    }

    /// The value as `u64`, if it fits.
    pub fn to_u64(&self) -> Option<u64> {
        if (self.0[1] | self.0[2] | self.0[3]) == 0 { Some(self.0[0]) } else { None }
    }

    /// The value as `u128`, if it fits.
    pub fn to_u128(&self) -> Option<u128> {
        if (self.0[2] | self.0[3]) == 0 { Some(((self.0[1] as u128) << 64) | self.0[0] as u128) } else { None }
    }

    /// The value as `usize`, if it fits.
    pub fn to_usize(&self) -> Option<usize> {
        self.to_u64().and_then(|v| usize::try_from(v).ok())
    }

    /// The low 64 bits.
    pub const fn low_u64(&self) -> u64 {
        self.0[0]
    }

    /// `self + rhs` and whether it overflowed (the sum wraps).
    #[inline]
    #[allow(clippy::needless_range_loop)]
    pub fn overflowing_add(self, rhs: U256) -> (U256, bool) {
        let mut r = [0u64; 4];
        let mut carry = false;
        for i in 0..4 {
            let (s1, c1) = self.0[i].overflowing_add(rhs.0[i]);
            let (s2, c2) = s1.overflowing_add(carry as u64);
            r[i] = s2;
            carry = c1 | c2;
        }
        (U256(r), carry)
    }

    /// `self - rhs` and whether it underflowed (the difference wraps).
    #[inline]
    #[allow(clippy::needless_range_loop)]
    pub fn overflowing_sub(self, rhs: U256) -> (U256, bool) {
        let mut r = [0u64; 4];
        let mut borrow = false;
        for i in 0..4 {
            let (d1, b1) = self.0[i].overflowing_sub(rhs.0[i]);
            let (d2, b2) = d1.overflowing_sub(borrow as u64);
            r[i] = d2;
            borrow = b1 | b2;
        }
        (U256(r), borrow)
    }

    /// `self * rhs` modulo 2²⁵⁶ and whether it overflowed.
    #[allow(clippy::needless_range_loop)]
    pub fn overflowing_mul(self, rhs: U256) -> (U256, bool) {
        let mut r = [0u64; 4];
        let mut overflow = false;
        for i in 0..4 {
            let mut carry: u128 = 0;
            for j in 0..4 {
                let prod = (self.0[i] as u128) * (rhs.0[j] as u128);
                if i + j < 4 {
                    let t = prod + r[i + j] as u128 + carry;
                    r[i + j] = t as u64;
                    carry = t >> 64;
                } else if prod != 0 {
                    overflow = true;
                }
            }
            if carry != 0 {
                overflow = true;
            }
        }
        (U256(r), overflow)
    }

    /// `self + rhs`, or `None` on overflow.
    #[inline]
    pub fn checked_add(self, rhs: U256) -> Option<U256> {
        match self.overflowing_add(rhs) {
            (v, false) => Some(v),
            _ => None,
        }
    }

    /// `self - rhs`, or `None` if `rhs > self`.
    #[inline]
    pub fn checked_sub(self, rhs: U256) -> Option<U256> {
        match self.overflowing_sub(rhs) {
            (v, false) => Some(v),
            _ => None,
        }
    }

    /// `self * rhs`, or `None` on overflow.
    pub fn checked_mul(self, rhs: U256) -> Option<U256> {
        match self.overflowing_mul(rhs) {
            (v, false) => Some(v),
            _ => None,
        }
    }

    /// `self / rhs`, or `None` if `rhs` is zero.
    pub fn checked_div(self, rhs: U256) -> Option<U256> {
        self.div_rem(rhs).map(|(q, _)| q)
    }

    /// `self % rhs`, or `None` if `rhs` is zero.
    pub fn checked_rem(self, rhs: U256) -> Option<U256> {
        self.div_rem(rhs).map(|(_, r)| r)
    }

    /// `self + rhs` modulo 2²⁵⁶.
    pub fn wrapping_add(self, rhs: U256) -> U256 {
        self.overflowing_add(rhs).0
    }

    /// `self - rhs` modulo 2²⁵⁶.
    pub fn wrapping_sub(self, rhs: U256) -> U256 {
        self.overflowing_sub(rhs).0
    }

    /// `self + rhs`, or [`U256::MAX`] on overflow.
    pub fn saturating_add(self, rhs: U256) -> U256 {
        self.checked_add(rhs).unwrap_or(U256::MAX)
    }

    /// `self - rhs`, or zero if `rhs > self`.
    pub fn saturating_sub(self, rhs: U256) -> U256 {
        self.checked_sub(rhs).unwrap_or(U256::ZERO)
    }

    /// Number of significant bits (0 for zero).
    pub fn bits(&self) -> u32 {
        for i in (0..4).rev() {
            if self.0[i] != 0 {
                return 64 * i as u32 + (64 - self.0[i].leading_zeros());
            }
        }
        0
    }

    /// Quotient and remainder, or `None` if `rhs` is zero.
    pub fn div_rem(self, rhs: U256) -> Option<(U256, U256)> {
        if rhs.is_zero() {
            return None;
        }
        if self < rhs {
            return Some((U256::ZERO, self));
        }
        if let Some(d) = rhs.to_u64() {
            // Short division, one limb at a time.
            let mut q = [0u64; 4];
            let mut r: u128 = 0;
            for i in (0..4).rev() {
                let cur = (r << 64) | self.0[i] as u128;
                q[i] = (cur / d as u128) as u64;
                r = cur % d as u128;
            }
            return Some((U256(q), U256::from(r as u64)));
        }
        // Binary long division over the significant bits.
        let mut q = U256::ZERO;
        let mut r = U256::ZERO;
        for i in (0..self.bits()).rev() {
            r = r << 1;
            if self.bit(i) {
                r.0[0] |= 1;
            }
            if r >= rhs {
                r = r.wrapping_sub(rhs);
                q.0[(i / 64) as usize] |= 1 << (i % 64);
            }
        }
        Some((q, r))
    }

    /// Whether bit `i` (0 = least significant) is set; false for `i >= 256`.
    pub fn bit(&self, i: u32) -> bool {
        i < 256 && (self.0[(i / 64) as usize] >> (i % 64)) & 1 == 1
    }
}

impl Ord for U256 {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        for i in (0..4).rev() {
            match self.0[i].cmp(&other.0[i]) {
                Ordering::Equal => continue,
                o => return o,
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for U256 {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

macro_rules! u256_from {
    ($($t:ty),*) => {$(
        impl From<$t> for U256 {
            #[inline]
            fn from(v: $t) -> Self {
                U256::from_u128(v as u128)
            }
        }
    )*};
}
u256_from!(u8, u16, u32, u64, u128, usize);

impl From<bool> for U256 {
    fn from(v: bool) -> Self {
        U256::from_u64(v as u64)
    }
}

/// The error of a narrowing conversion from [`U256`]: the value does not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TryFromU256Error;

macro_rules! u256_try_into {
    ($($t:ty),*) => {$(
        impl TryFrom<U256> for $t {
            type Error = TryFromU256Error;
            fn try_from(v: U256) -> Result<Self, TryFromU256Error> {
                v.to_u128().and_then(|x| <$t>::try_from(x).ok()).ok_or(TryFromU256Error)
            }
        }
    )*};
}
u256_try_into!(u8, u16, u32, u64, u128, usize);

impl ops::Add for U256 {
    type Output = U256;
    #[inline]
    fn add(self, rhs: U256) -> U256 {
        match self.checked_add(rhs) {
            Some(v) => v,
            None => panic!("U256: addition overflow"),
        }
    }
}

impl ops::Sub for U256 {
    type Output = U256;
    #[inline]
    fn sub(self, rhs: U256) -> U256 {
        match self.checked_sub(rhs) {
            Some(v) => v,
            None => panic!("U256: subtraction underflow"),
        }
    }
}

impl ops::Mul for U256 {
    type Output = U256;
    fn mul(self, rhs: U256) -> U256 {
        match self.checked_mul(rhs) {
            Some(v) => v,
            None => panic!("U256: multiplication overflow"),
        }
    }
}

impl ops::Div for U256 {
    type Output = U256;
    fn div(self, rhs: U256) -> U256 {
        match self.checked_div(rhs) {
            Some(v) => v,
            None => panic!("U256: division by zero"),
        }
    }
}

impl ops::Rem for U256 {
    type Output = U256;
    fn rem(self, rhs: U256) -> U256 {
        match self.checked_rem(rhs) {
            Some(v) => v,
            None => panic!("U256: division by zero"),
        }
    }
}

impl ops::AddAssign for U256 {
    fn add_assign(&mut self, rhs: U256) {
        *self = *self + rhs;
    }
}

impl ops::SubAssign for U256 {
    fn sub_assign(&mut self, rhs: U256) {
        *self = *self - rhs;
    }
}

impl ops::MulAssign for U256 {
    fn mul_assign(&mut self, rhs: U256) {
        *self = *self * rhs;
    }
}

impl ops::BitAnd for U256 {
    type Output = U256;
    fn bitand(self, rhs: U256) -> U256 {
        U256([self.0[0] & rhs.0[0], self.0[1] & rhs.0[1], self.0[2] & rhs.0[2], self.0[3] & rhs.0[3]])
    }
}

impl ops::BitOr for U256 {
    type Output = U256;
    fn bitor(self, rhs: U256) -> U256 {
        U256([self.0[0] | rhs.0[0], self.0[1] | rhs.0[1], self.0[2] | rhs.0[2], self.0[3] | rhs.0[3]])
    }
}

impl ops::BitXor for U256 {
    type Output = U256;
    fn bitxor(self, rhs: U256) -> U256 {
        U256([self.0[0] ^ rhs.0[0], self.0[1] ^ rhs.0[1], self.0[2] ^ rhs.0[2], self.0[3] ^ rhs.0[3]])
    }
}

impl ops::Not for U256 {
    type Output = U256;
    fn not(self) -> U256 {
        U256([!self.0[0], !self.0[1], !self.0[2], !self.0[3]])
    }
}

impl ops::Shl<u32> for U256 {
    type Output = U256;
    /// Shifts left; bits shifted past 2²⁵⁵ are lost, and a shift of 256 or more gives zero.
    #[allow(clippy::needless_range_loop)]
    fn shl(self, n: u32) -> U256 {
        if n >= 256 {
            return U256::ZERO;
        }
        let (limbs, bits) = ((n / 64) as usize, n % 64);
        let mut r = [0u64; 4];
        for i in (limbs..4).rev() {
            r[i] = self.0[i - limbs] << bits;
            if bits > 0 && i > limbs {
                r[i] |= self.0[i - limbs - 1] >> (64 - bits);
            }
        }
        U256(r)
    }
}

impl ops::Shr<u32> for U256 {
    type Output = U256;
    /// Shifts right; a shift of 256 or more gives zero.
    #[allow(clippy::needless_range_loop)]
    fn shr(self, n: u32) -> U256 {
        if n >= 256 {
            return U256::ZERO;
        }
        let (limbs, bits) = ((n / 64) as usize, n % 64);
        let mut r = [0u64; 4];
        for i in 0..4 - limbs {
            r[i] = self.0[i + limbs] >> bits;
            if bits > 0 && i + limbs + 1 < 4 {
                r[i] |= self.0[i + limbs + 1] << (64 - bits);
            }
        }
        U256(r)
    }
}

impl fmt::Debug for U256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for U256 {
    /// Decimal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut digits = [0u8; 78];
        let mut n = digits.len();
        let mut v = *self;
        let ten = U256::from_u64(10);
        loop {
            let (q, r) = match v.div_rem(ten) {
                Some(qr) => qr,
                None => return Err(fmt::Error),
            };
            n -= 1;
            digits[n] = b'0' + r.low_u64() as u8;
            v = q;
            if v.is_zero() {
                break;
            }
        }
        f.write_str(core::str::from_utf8(&digits[n..]).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn be_roundtrip() {
        let mut b = [0u8; 32];
        for (i, x) in b.iter_mut().enumerate() {
            *x = i as u8;
        }
        let v = U256::from_be_bytes(&b);
        assert_eq!(v.to_be_bytes(), b);
        assert_eq!(v.as_limbs()[0], 0x18191a1b1c1d1e1f);
        assert_eq!(U256::from(0x0102u64).to_be_bytes()[30..], [1, 2]);
    }

    #[test]
    fn arithmetic() {
        let a = U256::from_limbs([u64::MAX, 0, 0, 0]);
        assert_eq!(a + U256::ONE, U256::from_limbs([0, 1, 0, 0]));
        assert_eq!(U256::from_limbs([0, 1, 0, 0]) - U256::ONE, a);
        assert_eq!(U256::MAX.checked_add(U256::ONE), None);
        assert_eq!(U256::ZERO.checked_sub(U256::ONE), None);
        assert_eq!(U256::MAX.wrapping_add(U256::ONE), U256::ZERO);
        assert_eq!(U256::from(1u128 << 100) * U256::from(1u128 << 100), U256::ONE << 200);
        assert_eq!((U256::ONE << 200).checked_mul(U256::ONE << 56), None);
        assert_eq!((U256::ONE << 200).checked_mul(U256::ONE << 55), Some(U256::ONE << 255));
        let x = U256::from_limbs([7, 9, 11, 13]);
        let y = U256::from_limbs([3, 5, 0, 0]);
        let (q, r) = x.div_rem(y).expect("test value");
        assert_eq!(q * y + r, x);
        assert!(r < y);
        let (q, r) = x.div_rem(U256::from(1000u64)).expect("test value");
        assert_eq!(q * U256::from(1000u64) + r, x);
        assert_eq!((U256::ONE << 130) >> 129, U256::from(2u64));
        assert_eq!(U256::from(12345u64).to_string(), "12345");
        assert_eq!(U256::MAX.to_string().len(), 78);
        assert!(U256::from_limbs([0, 0, 0, 1]) > U256::from_limbs([u64::MAX, u64::MAX, u64::MAX, 0]));
        assert_eq!(u64::try_from(U256::from(5u64)), Ok(5));
        assert!(u8::try_from(U256::from(256u64)).is_err());
    }

    #[test]
    fn address_hex() {
        const A: Address = Address::from_hex("0x00000000000000000000000000000000000000aB");
        assert_eq!(A.0[19], 0xab);
        assert_eq!(Address::from_word(&A.to_word()), Some(A));
        assert_eq!(A.to_string(), "0x00000000000000000000000000000000000000ab");
    }
}
