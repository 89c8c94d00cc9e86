//! The contract VM's view of state: the execution overlay, whose journal gives every call its checkpoint.

use std::sync::Arc;

use accord_sdk::account::{Account, EMPTY_CODE_HASH, StateKey};
use accord_sdk::{Address, B256, U256};
use accord_vm::{Host, HostError};

use super::{StateOverlay, StateView};
use crate::state::overlay::Checkpoint;

fn host_err(e: impl std::fmt::Display) -> HostError {
    HostError(e.to_string())
}

impl Host for StateOverlay {
    fn storage_read(&mut self, address: Address, key: B256) -> Result<B256, HostError> {
        self.storage(address, key).map_err(host_err)
    }

    fn storage_write(&mut self, address: Address, key: B256, value: B256) -> Result<B256, HostError> {
        let old = self.storage(address, key).map_err(host_err)?;
        let stored = (!value.is_zero()).then(|| value.to_vec());
        self.set(StateKey::Storage(address, key), stored);
        Ok(old)
    }

    fn code_hash(&mut self, address: Address) -> Result<Option<B256>, HostError> {
        let account = self.account(address).map_err(host_err)?;
        Ok((account.code_hash != EMPTY_CODE_HASH).then_some(account.code_hash))
    }

    fn code(&mut self, hash: B256) -> Result<Option<Arc<[u8]>>, HostError> {
        Ok(self.get(&StateKey::Code(hash)).map_err(host_err)?.map(Arc::from))
    }

    fn account_exists(&mut self, address: Address) -> Result<bool, HostError> {
        let a = self.account(address).map_err(host_err)?;
        Ok(a.nonce > 0 || a.code_hash != EMPTY_CODE_HASH)
    }

    fn set_code(&mut self, address: Address, hash: B256, code: &[u8]) -> Result<(), HostError> {
        self.set(StateKey::Code(hash), Some(code.to_vec()));
        let mut account = self.account(address).map_err(host_err)?;
        account.code_hash = hash;
        // EIP-161: a contract starts at nonce 1.
        account.nonce = account.nonce.max(1);
        self.set_account(address, &account);
        Ok(())
    }

    fn transfer(&mut self, from: Address, to: Address, value: U256) -> Result<bool, HostError> {
        let mut sender: Account = self.account(from).map_err(host_err)?;
        if sender.balance < value {
            return Ok(false);
        }
        if from == to || value.is_zero() {
            return Ok(true);
        }
        sender.balance -= value;
        self.set_account(from, &sender);
        let mut dest = self.account(to).map_err(host_err)?;
        dest.balance = dest.balance.saturating_add(value);
        self.set_account(to, &dest);
        Ok(true)
    }

    fn checkpoint(&mut self) -> usize {
        StateOverlay::checkpoint(self).0
    }

    fn revert_to(&mut self, checkpoint: usize) {
        StateOverlay::revert_to(self, Checkpoint(checkpoint));
    }
}
