//! Compiled modules ready to instantiate, keyed by code hash.
//!
//! One `Vm` has one engine configuration and one host ABI version, so within it the code hash alone identifies a
//! compiled module; a `Vm` built with another configuration has its own cache. Eviction is least-recently-inserted:
//! the cache only saves compile time and never changes a result.

use std::collections::{HashMap, VecDeque};

use alloy_primitives::B256;
use parking_lot::Mutex;
use wasmtime::InstancePre;

/// Entries, and their insertion order for eviction.
type Entries<T> = (HashMap<B256, InstancePre<T>>, VecDeque<B256>);

pub(crate) struct ModuleCache<T: 'static> {
    capacity: usize,
    entries: Mutex<Entries<T>>,
}

impl<T: 'static> ModuleCache<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), entries: Mutex::new((HashMap::new(), VecDeque::new())) }
    }

    /// The module, marking it most recently used.
    pub(crate) fn get(&self, hash: &B256) -> Option<InstancePre<T>> {
        let mut guard = self.entries.lock();
        let (map, order) = &mut *guard;
        let pre = map.get(hash).cloned()?;
        if order.back() != Some(hash)
            && let Some(i) = order.iter().position(|h| h == hash)
        {
            order.remove(i);
            order.push_back(*hash);
        }
        Some(pre)
    }

    pub(crate) fn insert(&self, hash: B256, pre: InstancePre<T>) {
        let mut guard = self.entries.lock();
        let (map, order) = &mut *guard;
        if map.insert(hash, pre).is_none() {
            order.push_back(hash);
        }
        while map.len() > self.capacity {
            let Some(old) = order.pop_front() else { break };
            map.remove(&old);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.lock().0.len()
    }
}
