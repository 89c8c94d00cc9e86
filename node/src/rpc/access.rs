//! The state a simulation touched, as an EIP-2930 access list (`eth_createAccessList`).

use std::collections::{BTreeMap, BTreeSet};

use accord_sdk::account::StateKey;
use accord_sdk::{Address, B256};
use alloy_eips::eip2930::{AccessList, AccessListItem};
use parking_lot::Mutex;

use crate::state::{SharedView, StateError, StateView};

/// A state view that records every account and storage slot read through it. Execution reads a slot before it
/// writes it (the old value decides the gas), so reads are every access.
pub struct AccessRecorder {
    inner: SharedView,
    seen: Mutex<BTreeMap<Address, BTreeSet<B256>>>,
}

impl std::fmt::Debug for AccessRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessRecorder").field("seen", &self.seen.lock().len()).finish()
    }
}

impl AccessRecorder {
    /// Records reads of `inner`.
    pub fn new(inner: SharedView) -> Self {
        Self { inner, seen: Mutex::new(BTreeMap::new()) }
    }

    /// The accounts and slots read, in address and slot order, as geth lists them: the sender and the recipient
    /// only when one of their slots was read (every transaction touches them anyway).
    pub fn access_list(&self, implicit: &[Option<Address>]) -> AccessList {
        let seen = self.seen.lock();
        AccessList(
            seen.iter()
                .filter(|(a, slots)| !slots.is_empty() || !implicit.contains(&Some(**a)))
                .map(|(a, slots)| AccessListItem { address: *a, storage_keys: slots.iter().copied().collect() })
                .collect(),
        )
    }
}

impl StateView for AccessRecorder {
    fn get(&self, key: &StateKey) -> Result<Option<Vec<u8>>, StateError> {
        match key {
            StateKey::Account(a) => {
                self.seen.lock().entry(*a).or_default();
            }
            StateKey::Storage(a, slot) => {
                self.seen.lock().entry(*a).or_default().insert(*slot);
            }
            StateKey::Code(_) => {}
        }
        self.inner.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::state::EmptyState as Empty;

    #[test]
    fn reads_become_an_ordered_list_without_the_implicit_accounts() {
        let r = AccessRecorder::new(Arc::new(Empty));
        let (from, to, other) = (Address::repeat_byte(1), Address::repeat_byte(2), Address::repeat_byte(3));
        r.get(&StateKey::Account(from)).expect("read");
        r.get(&StateKey::Account(other)).expect("read");
        r.get(&StateKey::Storage(to, B256::repeat_byte(9))).expect("read");
        r.get(&StateKey::Storage(to, B256::repeat_byte(4))).expect("read");
        r.get(&StateKey::Account(to)).expect("read");
        let list = r.access_list(&[Some(from), Some(to)]);
        assert_eq!(list.0.len(), 2, "{list:?}");
        assert_eq!(list.0[0].address, to);
        assert_eq!(list.0[0].storage_keys, vec![B256::repeat_byte(4), B256::repeat_byte(9)]);
        assert_eq!(list.0[1].address, other);
        assert!(list.0[1].storage_keys.is_empty());
    }
}
