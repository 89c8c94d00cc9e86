//! Lost-quorum recovery: an emergency transition in every node's `config.toml` (`[emergency]`) that installs a new
//! validator set and/or committee from a given height, when keys are lost or too many validators are gone for good
//! and governance itself can no longer act.
//!
//! It is applied only by nodes configured with it. From its height on, the nodes that have it and those that do not
//! disagree on who certifies blocks, so each refuses the other's blocks: every operator must configure the same
//! transition, and keep it (a node syncing from scratch needs it to verify the blocks after it). The height must be
//! above every node's head: a node refuses to start with a transition at a height it already committed otherwise.
//! `docs/governance.md`, "Lost quorum", walks through it.

use std::collections::BTreeSet;

use accord_sdk::Address;
use accord_sdk::B256;
use accord_sdk::governance::{
    COMMITTEE_ADDRESS, COMMITTEE_TAG, Committee, MAX_VALIDATORS, NODES_ADDRESS, NODES_TAG, NodeEntry, NodeLists,
};
use serde::{Deserialize, Serialize};

/// `[emergency]` in `config.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyTransition {
    /// First block the transition holds for (above every node's head).
    pub height: u64,
    /// The validators from `height` (node addresses, in leader order). Validators not named stay members as
    /// observers, so they can catch up if they return.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validators: Option<Vec<Address>>,
    /// The committee from `height` (same fields as the genesis `committee`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committee: Option<Committee>,
}

impl EmergencyTransition {
    /// Checks what any transition must satisfy.
    pub fn validate(&self, governed: bool) -> Result<(), String> {
        if self.height == 0 {
            return Err("emergency.height must be above 0".into());
        }
        if self.validators.is_none() && self.committee.is_none() {
            return Err("emergency names neither validators nor a committee".into());
        }
        if let Some(v) = &self.validators {
            if v.is_empty() || v.len() > MAX_VALIDATORS {
                return Err(format!("emergency.validators must name 1 to {MAX_VALIDATORS} nodes"));
            }
            if v.iter().collect::<BTreeSet<_>>().len() != v.len() {
                return Err("emergency.validators names a node twice".into());
            }
        }
        if let Some(c) = &self.committee {
            if !governed {
                return Err("emergency.committee on a chain without a committee".into());
            }
            c.validate().map_err(|e| format!("emergency.committee: {e}"))?;
        }
        Ok(())
    }

    /// The node lists at the transition's height, from those the chain would have had (`lists`).
    pub fn lists(&self, lists: NodeLists) -> NodeLists {
        let Some(validators) = &self.validators else { return lists };
        let since = self.height;
        let mut observers: Vec<NodeEntry> =
            lists.observers.into_iter().filter(|o| !validators.contains(&o.address)).collect();
        for old in lists.validators {
            if !validators.contains(&old.address) {
                observers.push(NodeEntry { address: old.address, since });
            }
        }
        NodeLists { validators: validators.iter().map(|a| NodeEntry { address: *a, since }).collect(), observers }
    }

    /// The storage writes that put the transition into governed state at the start of its block: the node lists
    /// (built on `lists`, those the chain would have had) and the committee, each in force from the transition's
    /// height.
    pub fn writes(&self, lists: NodeLists) -> Vec<(Address, B256, B256)> {
        let mut out = Vec::new();
        if self.validators.is_some() {
            out.extend(super::store::scheduled_writes(
                NODES_ADDRESS,
                NODES_TAG,
                self.height,
                self.lists(lists).encode(),
            ));
        }
        if let Some(c) = &self.committee {
            out.extend(super::store::scheduled_writes(COMMITTEE_ADDRESS, COMMITTEE_TAG, self.height, c.encode()));
        }
        out
    }
}
