//! The consortium's membership as the chain names it, followed block by block.
//!
//! Governance changes the node lists in state, effective from the block after the one that executed the proposal.
//! After every commit [`follow`] reads the lists of the next block and acts on the difference, identically on every
//! node: added nodes are admitted by the network, removed ones disconnected and refused, and the shared
//! [`MembershipView`] (which dispatch asks whose consensus messages count) moves on. The consensus driver reads the
//! validator set of each height itself, as it starts the height.

use std::collections::BTreeSet;
use std::sync::Arc;

use accord_sdk::Address;
use parking_lot::RwLock;
use tokio::sync::broadcast;

use crate::chain::Chain;
use crate::metrics::Metrics;
use crate::network::{NetworkCommand, NetworkSender};

/// Validators and observers of the next block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    /// The height these lists are for.
    pub height: u64,
    /// Validators, in leader-rotation order.
    pub validators: Vec<Address>,
    /// Observers.
    pub observers: Vec<Address>,
}

impl Members {
    fn all(&self) -> BTreeSet<Address> {
        self.validators.iter().chain(&self.observers).copied().collect()
    }
}

/// The current members, shared by the tasks that act on them.
#[derive(Debug, Default)]
pub struct MembershipView(RwLock<Members>);

impl MembershipView {
    /// The lists of the block after `chain`'s head.
    pub fn of(chain: &Chain) -> Result<Self, crate::chain::ChainError> {
        Ok(Self(RwLock::new(read(chain)?)))
    }

    /// True when `node` validates the next block.
    pub fn is_validator(&self, node: &Address) -> bool {
        self.0.read().validators.contains(node)
    }

    /// A copy of the lists.
    pub fn get(&self) -> Members {
        self.0.read().clone()
    }
}

fn read(chain: &Chain) -> Result<Members, crate::chain::ChainError> {
    let height = chain.head().number + 1;
    let lists = chain.nodes_at(height)?;
    Ok(Members {
        height,
        validators: lists.validators.iter().map(|n| n.address).collect(),
        observers: lists.observers.iter().map(|n| n.address).collect(),
    })
}

/// Admits the nodes `members` names beyond the genesis, refuses the genesis members it no longer names: the network
/// starts from the genesis list, the chain may have moved on.
pub async fn admit_current(net: &NetworkSender, genesis_members: &[Address], members: &Members) {
    let now = members.all();
    for node in &now {
        net.send(NetworkCommand::Allow(*node)).await;
    }
    for node in genesis_members.iter().filter(|n| !now.contains(*n)) {
        net.send(NetworkCommand::Disallow(*node)).await;
    }
}

/// Follows the chain's node lists until the chain stops: after each commit, acts on what changed for the next
/// block.
pub async fn follow(chain: Arc<Chain>, net: NetworkSender, view: Arc<MembershipView>, metrics: Metrics) {
    // Subscribed before the first look, so a block committed between the view's creation and this task's start is
    // not missed.
    let mut heads = chain.subscribe_heads();
    loop {
        refresh(&chain, &net, &view, &metrics).await;
        match heads.recv().await {
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Reads the lists of the block after the head and acts on what changed since the view last moved.
async fn refresh(chain: &Chain, net: &NetworkSender, view: &MembershipView, metrics: &Metrics) {
    let next = match read(chain) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the node lists");
            return;
        }
    };
    let before = view.get();
    if before.validators != next.validators || before.observers != next.observers {
        let (old, new) = (before.all(), next.all());
        for node in new.difference(&old) {
            tracing::info!(%node, height = next.height, "node admitted by governance");
            net.send(NetworkCommand::Allow(*node)).await;
        }
        for node in old.difference(&new) {
            tracing::info!(%node, height = next.height, "node removed by governance: disconnecting it");
            net.send(NetworkCommand::Disallow(*node)).await;
        }
        if before.validators != next.validators {
            tracing::info!(height = next.height, validators = ?next.validators, "validator set changed");
        }
        metrics.membership_changes.inc();
        metrics.validators.set(next.validators.len() as i64);
        metrics.observers.set(next.observers.len() as i64);
    }
    *view.0.write() = next;
}
