//! Uncommitted state changes layered over a read view, with checkpoints so a failed call can be undone.

use std::collections::BTreeMap;
use std::sync::Arc;

use accord_sdk::Address;
use accord_sdk::account::{Account, StateKey};

use super::{StateError, StateView};

/// A shareable read view (the overlay owns one, so the contract VM can own the overlay during a call).
pub type SharedView = Arc<dyn StateView + Send + Sync>;

/// Writes made while executing a block, on top of the state at its parent.
///
/// Writes are kept in a `BTreeMap`, so the change set handed to the state tree is in a deterministic order.
pub struct StateOverlay {
    base: SharedView,
    writes: BTreeMap<StateKey, Option<Vec<u8>>>,
    journal: Vec<(StateKey, Option<Option<Vec<u8>>>)>,
}

impl std::fmt::Debug for StateOverlay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateOverlay").field("writes", &self.writes.len()).finish_non_exhaustive()
    }
}

/// A point the overlay can be rolled back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint(pub usize);

impl StateOverlay {
    /// An empty overlay over `base`.
    pub fn new(base: SharedView) -> Self {
        Self { base, writes: BTreeMap::new(), journal: Vec::new() }
    }

    /// Sets (Some) or deletes (None) an entry.
    pub fn set(&mut self, key: StateKey, value: Option<Vec<u8>>) {
        let previous = self.writes.insert(key, value);
        self.journal.push((key, previous));
    }

    /// Writes an account record (deleting it when it is empty, as Ethereum prunes empty accounts).
    pub fn set_account(&mut self, address: Address, account: &Account) {
        let value = if *account == Account::default() { None } else { Some(account.encode()) };
        self.set(StateKey::Account(address), value);
    }

    /// Marks the current point.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint(self.journal.len())
    }

    /// Undoes every write made after `cp`.
    pub fn revert_to(&mut self, cp: Checkpoint) {
        while self.journal.len() > cp.0 {
            let Some((key, previous)) = self.journal.pop() else { break };
            match previous {
                Some(v) => {
                    self.writes.insert(key, v);
                }
                None => {
                    self.writes.remove(&key);
                }
            }
        }
    }

    /// The change set, in key order. Deleting an entry that never existed is not a change, so it is left out
    /// (the state tree must not be asked to delete a key it does not hold).
    pub fn into_changes(self) -> Result<BTreeMap<StateKey, Option<Vec<u8>>>, StateError> {
        let mut out = BTreeMap::new();
        for (key, value) in self.writes {
            if value.is_none() && self.base.get(&key)?.is_none() {
                continue;
            }
            out.insert(key, value);
        }
        Ok(out)
    }
}

impl StateView for StateOverlay {
    fn get(&self, key: &StateKey) -> Result<Option<Vec<u8>>, StateError> {
        match self.writes.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.base.get(key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_sdk::U256;

    use crate::state::EmptyState as Empty;

    #[test]
    fn revert_restores_previous_writes() {
        let mut o = StateOverlay::new(Arc::new(Empty));
        let a = Address::repeat_byte(1);
        let acct = |b: u64| Account { balance: U256::from(b), ..Default::default() };
        o.set_account(a, &acct(1));
        let cp = o.checkpoint();
        o.set_account(a, &acct(2));
        o.set_account(Address::repeat_byte(2), &acct(3));
        assert_eq!(o.account(a).expect("read").balance, U256::from(2u8));
        o.revert_to(cp);
        assert_eq!(o.account(a).expect("read").balance, U256::from(1u8));
        assert_eq!(o.account(Address::repeat_byte(2)).expect("read"), Account::default());
        assert_eq!(o.into_changes().expect("changes").len(), 1);
    }
}
