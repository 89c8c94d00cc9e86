//! Messages for the next height, kept until it starts.
//!
//! Only verified messages enter, keyed by their (authenticated) signer with a fixed share each, so a validator that
//! floods next-height messages fills its own share and no one else's: the honest early votes that make the next
//! height fast are never crowded out. `PbftState::admit` refuses what would not fit before paying for its signature
//! check (`Rejection::BufferFull`), so the driver counts it there.

use std::collections::BTreeMap;

use crate::types::*;
use crate::verify::Verified;

/// Most messages kept per validator: a proposal, a prepare, a commit and a few view changes.
pub(crate) const PER_SIGNER: usize = 8;

#[derive(Debug, Default)]
pub(crate) struct FutureBuffer {
    by_signer: BTreeMap<NodeIndex, Vec<Verified<Message>>>,
}

impl FutureBuffer {
    /// True when `signer` has no room left (checked before paying for a signature check).
    pub fn full_for(&self, signer: NodeIndex) -> bool {
        self.by_signer.get(&signer).is_some_and(|v| v.len() >= PER_SIGNER)
    }

    /// Keeps a verified message within its signer's share (admit already refused what would not fit).
    pub fn push(&mut self, m: Verified<Message>) {
        let share = self.by_signer.entry(m.get().signer()).or_default();
        if share.len() < PER_SIGNER {
            share.push(m);
        }
    }

    /// Everything kept, in signer order, emptying the buffer.
    pub fn take(&mut self) -> Vec<Verified<Message>> {
        std::mem::take(&mut self.by_signer).into_values().flatten().collect()
    }
}
