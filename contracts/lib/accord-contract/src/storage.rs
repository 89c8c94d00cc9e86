//! Typed storage with Solidity's layout, so `eth_getStorageAt` and Solidity tooling's slot math see the same
//! slots a Solidity contract would use.
//!
//! - A contract's storage struct (see [`storage`](macro@crate::storage)) gives its fields slots 0, 1, 2, … in order
//!   (or the slot named by `#[slot(N)]`). Unlike Solidity, small fields are **not packed**: each field owns its
//!   whole slot, which is what Solidity does for every type of 32 bytes or more (and for any field followed by one
//!   that does not fit).
//! - Value types are stored low-order aligned, like Solidity: a number or an address in the low bytes of the word,
//!   `bytesN` in the low `N` bytes, `bool` as 0/1, signed integers as their two's complement in the low bytes.
//! - `string` and `bytes` use Solidity's layout: up to 31 bytes live in the slot itself (data in the high bytes,
//!   `2 * len` in the lowest byte); longer ones store `2 * len + 1` in the slot and the data in consecutive slots
//!   from `keccak256(slot)`.
//! - `Mapping<K, V>` at slot `p` stores `m[k]` at `keccak256(pad32(k) ‖ p)` for value-type keys and at
//!   `keccak256(k ‖ p)` for `string`/`bytes` keys; nested mappings apply the rule again, starting from that slot.

use alloc::string::String;
use alloc::vec::Vec;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use crate::abi::AbiWord;
use crate::env;
use crate::types::{Address, Bytes, FixedBytes, U256};

/// A 32-byte storage slot number (big-endian).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct Slot(pub [u8; 32]);

impl Slot {
    /// Slot `n`, usable in constants.
    pub const fn new(n: u64) -> Self {
        let b = n.to_be_bytes();
        let mut s = [0u8; 32];
        let mut i = 0;
        while i < 8 {
            s[24 + i] = b[i];
            i += 1;
        }
        Slot(s)
    }

    /// Slot `n` given as a [`U256`].
    pub fn from_u256(n: U256) -> Self {
        Slot(n.to_be_bytes())
    }

    /// The slot `offset` places after this one (modulo 2²⁵⁶), as Solidity addresses array elements.
    #[inline]
    pub fn offset(&self, offset: u64) -> Slot {
        if offset == 0 {
            return *self;
        }
        self.offset_slow(offset)
    }

    #[inline(never)]
    fn offset_slow(&self, offset: u64) -> Slot {
        // Big-endian addition, byte by byte from the least significant end, stopping once nothing carries.
        let mut out = self.0;
        let mut carry = offset as u128;
        let mut i = 32;
        while carry != 0 && i > 0 {
            i -= 1;
            let sum = out[i] as u128 + (carry & 0xff);
            out[i] = sum as u8;
            carry = (carry >> 8) + (sum >> 8);
        }
        Slot(out)
    }

    /// `keccak256(self)`: where the data of a long `string`/`bytes` (or a dynamic array) at this slot starts.
    pub fn data_slot(&self) -> Slot {
        Slot(env::keccak256(&self.0))
    }

    /// Reads the raw 32-byte word at this slot.
    #[inline]
    pub fn read(&self) -> [u8; 32] {
        env::storage_read(&self.0)
    }

    /// Writes the raw 32-byte word at this slot (zeros delete it).
    #[inline]
    pub fn write(&self, word: &[u8; 32]) {
        env::storage_write(&self.0, word)
    }

    /// Deletes the slot.
    #[inline]
    pub fn clear(&self) {
        env::storage_remove(&self.0)
    }
}

/// A type that can be read from and written to storage (Solidity's storage layout of values).
pub trait StorageType: Sized {
    /// Reads the value at `slot` (the type's zero value if unset).
    fn read(slot: &Slot) -> Self;
    /// Writes `value` at `slot`.
    fn write(slot: &Slot, value: &Self);
    /// Deletes the value at `slot` (and any data slots it uses).
    fn clear(slot: &Slot) {
        slot.clear();
    }
}

/// A value type stored in one slot, low-order aligned.
pub trait StorageWord: Sized {
    /// The storage word of the value.
    fn to_storage_word(&self) -> [u8; 32];
    /// The value of a storage word; bytes outside the type's width are ignored, as Solidity masks them.
    fn from_storage_word(word: &[u8; 32]) -> Self;
}

impl<T: StorageWord> StorageType for T {
    #[inline]
    fn read(slot: &Slot) -> Self {
        T::from_storage_word(&slot.read())
    }
    #[inline]
    fn write(slot: &Slot, value: &Self) {
        slot.write(&value.to_storage_word())
    }
}

macro_rules! storage_int {
    ($($t:ty),*) => {$(
        impl StorageWord for $t {
            #[inline]
            fn to_storage_word(&self) -> [u8; 32] {
                let mut w = [0u8; 32];
                w[32 - size_of::<$t>()..].copy_from_slice(&self.to_be_bytes());
                w
            }
            #[inline]
            fn from_storage_word(w: &[u8; 32]) -> Self {
                let mut b = [0u8; size_of::<$t>()];
                b.copy_from_slice(&w[32 - size_of::<$t>()..]);
                <$t>::from_be_bytes(b)
            }
        }
    )*};
}
storage_int!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128);

impl StorageWord for U256 {
    #[inline]
    fn to_storage_word(&self) -> [u8; 32] {
        self.to_be_bytes()
    }
    #[inline]
    fn from_storage_word(w: &[u8; 32]) -> Self {
        U256::from_be_bytes(w)
    }
}

impl StorageWord for bool {
    #[inline]
    fn to_storage_word(&self) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[31] = *self as u8;
        w
    }
    #[inline]
    fn from_storage_word(w: &[u8; 32]) -> Self {
        w[31] != 0
    }
}

impl StorageWord for Address {
    #[inline]
    fn to_storage_word(&self) -> [u8; 32] {
        self.to_word()
    }
    #[inline]
    fn from_storage_word(w: &[u8; 32]) -> Self {
        Address::from_word_truncating(w)
    }
}

impl<const N: usize> StorageWord for FixedBytes<N> {
    #[inline]
    fn to_storage_word(&self) -> [u8; 32] {
        let mut w = [0u8; 32];
        w[32 - N..].copy_from_slice(&self.0);
        w
    }
    #[inline]
    fn from_storage_word(w: &[u8; 32]) -> Self {
        let mut b = [0u8; N];
        b.copy_from_slice(&w[32 - N..]);
        FixedBytes(b)
    }
}

/// Largest `string`/`bytes` read from storage (a corrupt length must not exhaust memory): 1 MiB.
const MAX_STORED_BYTES: usize = 1 << 20;

/// Reads a `string`/`bytes` value in Solidity's layout.
fn read_bytes(slot: &Slot) -> Vec<u8> {
    let w = slot.read();
    if w[31] & 1 == 0 {
        // Short form: the data in the high bytes, 2 * len in the lowest byte.
        let len = (w[31] / 2).min(31) as usize;
        return w[..len].to_vec();
    }
    let len = U256::from_be_bytes(&w) >> 1;
    let len = match len.to_usize() {
        Some(l) if l <= MAX_STORED_BYTES => l,
        _ => crate::revert("storage: corrupt string length"),
    };
    let mut out = Vec::with_capacity(len);
    let data = slot.data_slot();
    for i in 0..len.div_ceil(32) {
        let word = data.offset(i as u64).read();
        let take = (len - out.len()).min(32);
        out.extend_from_slice(&word[..take]);
    }
    out
}

/// Number of data slots a long `string`/`bytes` at `slot` occupies (0 for the short form).
fn long_data_slots(slot: &Slot) -> usize {
    let w = slot.read();
    if w[31] & 1 == 0 {
        return 0;
    }
    (U256::from_be_bytes(&w) >> 1).to_usize().map_or(0, |l| l.min(MAX_STORED_BYTES).div_ceil(32))
}

/// Writes a `string`/`bytes` value in Solidity's layout, clearing data slots the old value used and the new one
/// does not (as Solidity does).
fn write_bytes(slot: &Slot, b: &[u8]) {
    let old_slots = long_data_slots(slot);
    let new_slots = if b.len() < 32 { 0 } else { b.len().div_ceil(32) };
    if b.len() < 32 {
        let mut w = [0u8; 32];
        w[..b.len()].copy_from_slice(b);
        w[31] = (b.len() * 2) as u8;
        slot.write(&w);
    } else {
        slot.write(&U256::from(b.len() as u64 * 2 + 1).to_be_bytes());
        let data = slot.data_slot();
        for (i, chunk) in b.chunks(32).enumerate() {
            let mut w = [0u8; 32];
            w[..chunk.len()].copy_from_slice(chunk);
            data.offset(i as u64).write(&w);
        }
    }
    if old_slots > new_slots {
        let data = slot.data_slot();
        for i in new_slots..old_slots {
            data.offset(i as u64).clear();
        }
    }
}

impl StorageType for String {
    fn read(slot: &Slot) -> Self {
        match String::from_utf8(read_bytes(slot)) {
            Ok(s) => s,
            Err(_) => crate::revert("storage: string is not UTF-8"),
        }
    }
    fn write(slot: &Slot, value: &Self) {
        write_bytes(slot, value.as_bytes())
    }
    fn clear(slot: &Slot) {
        write_bytes(slot, &[])
    }
}

impl StorageType for Bytes {
    fn read(slot: &Slot) -> Self {
        Bytes(read_bytes(slot))
    }
    fn write(slot: &Slot, value: &Self) {
        write_bytes(slot, value)
    }
    fn clear(slot: &Slot) {
        write_bytes(slot, &[])
    }
}

/// A storage handle rooted at a slot: [`StorageValue`], [`Mapping`], or a user type built from them.
pub trait StorageLayout {
    /// Number of consecutive slots the handle occupies from its root (1 for a value or a mapping; the sum of the
    /// fields' for a `#[storage]` struct). The next field of an enclosing struct starts after them.
    const SLOTS: u64 = 1;
    /// The handle rooted at `slot`.
    fn at_slot(slot: Slot) -> Self;
}

/// A contract's storage: the struct the `#[contract]` methods take as `self`. Implemented by
/// [`#[storage]`](macro@crate::storage), or by hand.
pub trait Storage {
    /// The handles, each rooted at its slot. Costs nothing: no storage is read until a handle is used.
    fn load() -> Self;
}

/// A single value of type `T` at a slot.
///
/// Reading needs `&self`, writing `&mut self`, so a `#[message]` taking `&self` (a `view`) cannot write through
/// it.
pub struct StorageValue<T> {
    slot: Slot,
    _t: PhantomData<fn() -> T>,
}

impl<T> StorageLayout for StorageValue<T> {
    fn at_slot(slot: Slot) -> Self {
        StorageValue { slot, _t: PhantomData }
    }
}

impl<T> StorageValue<T> {
    /// The handle for `slot`.
    pub const fn new(slot: Slot) -> Self {
        StorageValue { slot, _t: PhantomData }
    }

    /// The slot.
    pub const fn slot(&self) -> Slot {
        self.slot
    }
}

impl<T: StorageType> StorageValue<T> {
    /// Reads the value (the type's zero value if never written).
    #[inline]
    pub fn get(&self) -> T {
        T::read(&self.slot)
    }

    /// Writes the value.
    #[inline]
    pub fn set(&mut self, value: &T) {
        T::write(&self.slot, value)
    }

    /// Deletes the value.
    #[inline]
    pub fn clear(&mut self) {
        T::clear(&self.slot)
    }
}

/// A key of a [`Mapping`]: how `keccak256(key ‖ slot)` is formed.
pub trait MappingKey {
    /// The slot of `mapping[self]` for a mapping at `base`.
    fn slot_in(&self, base: &Slot) -> Slot;
}

impl<T: AbiWord> MappingKey for T {
    /// `keccak256(pad32(key) ‖ base)`, `pad32` being the ABI word (numbers left-padded, `bytesN` right-padded).
    #[inline]
    fn slot_in(&self, base: &Slot) -> Slot {
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(&self.to_word());
        buf[32..].copy_from_slice(&base.0);
        Slot(env::keccak256(&buf))
    }
}

fn bytes_key_slot(key: &[u8], base: &Slot) -> Slot {
    let mut buf = Vec::with_capacity(key.len() + 32);
    buf.extend_from_slice(key);
    buf.extend_from_slice(&base.0);
    Slot(env::keccak256(&buf))
}

impl MappingKey for str {
    /// `keccak256(key ‖ base)` (unpadded), as Solidity does for `string` keys.
    fn slot_in(&self, base: &Slot) -> Slot {
        bytes_key_slot(self.as_bytes(), base)
    }
}

impl MappingKey for String {
    /// `keccak256(key ‖ base)` (unpadded), as Solidity does for `string` keys.
    fn slot_in(&self, base: &Slot) -> Slot {
        bytes_key_slot(self.as_bytes(), base)
    }
}

impl MappingKey for Bytes {
    /// `keccak256(key ‖ base)` (unpadded), as Solidity does for `bytes` keys.
    fn slot_in(&self, base: &Slot) -> Slot {
        bytes_key_slot(self, base)
    }
}

/// A Solidity `mapping(K => V)` rooted at a slot; `V` is a [`StorageType`] (a value) or a [`StorageLayout`] (a
/// nested mapping or value handle, reached with [`Mapping::at`] / [`Mapping::at_mut`]).
pub struct Mapping<K: ?Sized, V> {
    slot: Slot,
    _kv: PhantomData<fn(&K) -> V>,
}

impl<K: ?Sized, V> StorageLayout for Mapping<K, V> {
    fn at_slot(slot: Slot) -> Self {
        Mapping { slot, _kv: PhantomData }
    }
}

impl<K: MappingKey + ?Sized, V> Mapping<K, V> {
    /// The mapping rooted at `slot`.
    pub const fn new(slot: Slot) -> Self {
        Mapping { slot, _kv: PhantomData }
    }

    /// The mapping's own slot.
    pub const fn slot(&self) -> Slot {
        self.slot
    }

    /// The slot of `self[key]`.
    #[inline]
    pub fn slot_of(&self, key: &K) -> Slot {
        key.slot_in(&self.slot)
    }
}

impl<K: MappingKey + ?Sized, V: StorageType> Mapping<K, V> {
    /// Reads `self[key]` (the zero value if unset).
    #[inline]
    pub fn get(&self, key: &K) -> V {
        V::read(&self.slot_of(key))
    }

    /// Writes `self[key] = value`.
    #[inline]
    pub fn set(&mut self, key: &K, value: &V) {
        V::write(&self.slot_of(key), value)
    }

    /// Deletes `self[key]`.
    #[inline]
    pub fn remove(&mut self, key: &K) {
        V::clear(&self.slot_of(key))
    }
}

impl<K: MappingKey + ?Sized, V: StorageType> Mapping<K, V> {
    /// The entry `self[key]`, to read and write it with the slot hashed once.
    #[inline]
    pub fn entry(&mut self, key: &K) -> Entry<'_, V> {
        Entry { slot: self.slot_of(key), _borrow: PhantomData, _value: PhantomData }
    }
}

/// One value of a [`Mapping`], its slot computed once.
pub struct Entry<'a, V> {
    slot: Slot,
    _borrow: PhantomData<&'a mut ()>,
    _value: PhantomData<fn() -> V>,
}

impl<V: StorageType> Entry<'_, V> {
    /// The value's slot.
    pub fn slot(&self) -> Slot {
        self.slot
    }

    /// Reads the value (the zero value if unset).
    #[inline]
    pub fn get(&self) -> V {
        V::read(&self.slot)
    }

    /// Writes the value.
    #[inline]
    pub fn set(&mut self, value: &V) {
        V::write(&self.slot, value)
    }

    /// Deletes the value.
    #[inline]
    pub fn remove(&mut self) {
        V::clear(&self.slot)
    }
}

impl<K: MappingKey + ?Sized, V: StorageLayout> Mapping<K, V> {
    /// Read-only access to the nested handle `self[key]` (e.g. an inner mapping).
    #[inline]
    pub fn at(&self, key: &K) -> Nested<'_, V> {
        Nested { inner: V::at_slot(self.slot_of(key)), _borrow: PhantomData }
    }

    /// Mutable access to the nested handle `self[key]`.
    #[inline]
    pub fn at_mut(&mut self, key: &K) -> NestedMut<'_, V> {
        NestedMut { inner: V::at_slot(self.slot_of(key)), _borrow: PhantomData }
    }
}

/// A nested handle borrowed from a [`Mapping`] through `&self`: it dereferences only to `&V`, so it cannot write.
pub struct Nested<'a, V> {
    inner: V,
    _borrow: PhantomData<&'a ()>,
}

impl<V> Deref for Nested<'_, V> {
    type Target = V;
    fn deref(&self) -> &V {
        &self.inner
    }
}

/// A nested handle borrowed from a [`Mapping`] through `&mut self`.
pub struct NestedMut<'a, V> {
    inner: V,
    _borrow: PhantomData<&'a mut ()>,
}

impl<V> Deref for NestedMut<'_, V> {
    type Target = V;
    fn deref(&self) -> &V {
        &self.inner
    }
}

impl<V> DerefMut for NestedMut<'_, V> {
    fn deref_mut(&mut self) -> &mut V {
        &mut self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use alloc::string::ToString;
    use alloc::vec;

    fn keccak_concat(a: &[u8], b: &[u8]) -> [u8; 32] {
        let mut v = a.to_vec();
        v.extend_from_slice(b);
        env::keccak256(&v)
    }

    #[test]
    fn strings_use_solidity_layout() {
        testing::reset();
        let me = testing::account(9);
        testing::in_contract(me, || {
            let mut s = StorageValue::<String>::new(Slot::new(5));
            s.set(&"short".to_string());
            let w = testing::storage_at(me, &Slot::new(5));
            assert_eq!(&w[..5], b"short");
            assert_eq!(w[31], 10);
            assert_eq!(s.get(), "short");

            let long = "x".repeat(70);
            s.set(&long);
            assert_eq!(testing::storage_at(me, &Slot::new(5)), U256::from(141u64).to_be_bytes());
            let data = Slot::new(5).data_slot();
            assert_eq!(data.0, env::keccak256(&Slot::new(5).0));
            assert_eq!(testing::storage_at(me, &data.offset(2))[..6], [b'x'; 6]);
            assert_eq!(s.get(), long);
            assert_eq!(testing::storage_len(me), 4);

            // Shortening clears the old data slots, as Solidity does.
            s.set(&"ab".to_string());
            assert_eq!(s.get(), "ab");
            assert_eq!(testing::storage_len(me), 1);
            s.clear();
            assert_eq!(testing::storage_len(me), 0);
        });
    }

    #[test]
    fn mapping_slots_match_solidity() {
        testing::reset();
        let me = testing::account(9);
        testing::in_contract(me, || {
            let owner = testing::account(1);
            let spender = testing::account(2);
            let mut m = Mapping::<Address, Mapping<Address, U256>>::new(Slot::new(1));
            m.at_mut(&owner).set(&spender, &U256::from(7u64));
            let inner = keccak_concat(&owner.to_word(), &Slot::new(1).0);
            let slot = keccak_concat(&spender.to_word(), &inner);
            assert_eq!(testing::storage_at(me, &Slot(slot)), U256::from(7u64).to_be_bytes());
            assert_eq!(m.at(&owner).get(&spender), U256::from(7u64));

            let mut by_name = Mapping::<String, u64>::new(Slot::new(2));
            by_name.set(&"alice".to_string(), &3);
            let slot = keccak_concat(b"alice", &Slot::new(2).0);
            assert_eq!(testing::storage_at(me, &Slot(slot))[24..], 3u64.to_be_bytes());

            let mut by_b4 = Mapping::<FixedBytes<4>, bool>::new(Slot::new(3));
            by_b4.set(&FixedBytes(*b"abcd"), &true);
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(b"abcd");
            let slot = keccak_concat(&key, &Slot::new(3).0);
            assert_eq!(testing::storage_at(me, &Slot(slot))[31], 1);

            let mut e = by_name.entry(&"bob".to_string());
            e.set(&9);
            assert_eq!(e.get(), 9);
            e.remove();
            assert_eq!(by_name.get(&"bob".to_string()), 0);
        });
    }

    #[test]
    fn value_types_are_low_order_aligned() {
        testing::reset();
        let me = testing::account(9);
        testing::in_contract(me, || {
            let mut v = StorageValue::<i16>::new(Slot::new(0));
            v.set(&-2);
            let mut expected = [0u8; 32];
            expected[30..].copy_from_slice(&[0xff, 0xfe]);
            assert_eq!(testing::storage_at(me, &Slot::new(0)), expected);
            assert_eq!(v.get(), -2);
            let mut b = StorageValue::<FixedBytes<2>>::new(Slot::new(1));
            b.set(&FixedBytes(*b"hi"));
            assert_eq!(testing::storage_at(me, &Slot::new(1))[30..], *b"hi");
            assert_eq!(b.get(), FixedBytes(*b"hi"));
            let bytes = StorageValue::<Bytes>::new(Slot::new(2));
            assert_eq!(bytes.get(), Bytes(vec![]));
        });
    }

    #[test]
    fn slot_offset_carries() {
        let mut s = [0u8; 32];
        s[31] = 0xff;
        s[30] = 0xff;
        assert_eq!(Slot(s).offset(1).0[29..], [1, 0, 0]);
        assert_eq!(Slot::new(7).offset(0), Slot::new(7));
        assert_eq!(Slot(U256::MAX.to_be_bytes()).offset(1), Slot::new(0));
        assert_eq!(Slot::new(5).offset(1u64 << 40), Slot::from_u256(U256::from(5u64 + (1u64 << 40))));
    }
}
