//! View changes: leaving a view that does not decide, following a quorum to a higher view, helping validators left
//! behind, and a new leader's proposal justified by 2f+1 view changes.

use std::collections::BTreeMap;

use super::{Action, MAX_HELP_PER_VIEW, MessageCrypto, PbftState};
use crate::types::*;

impl<C: MessageCrypto> PbftState<C> {
    pub(super) fn start_view_change(&mut self, view: View, out: &mut Vec<Action>) {
        if view <= self.record.view {
            return;
        }
        self.move_to_view(view, out);
        let body = ViewChange { height: self.record.height, view, prepared: self.record.prepared.clone() };
        let signed = self.sign(body);
        out.push(Action::Broadcast(Message::ViewChange(signed.clone())));
        self.remember_own(signed.clone());
        let me = self.my_index();
        self.view_changes.entry(view).or_default().insert(me, signed);
        self.enter_view(view, out);
    }

    pub(super) fn resend_view_change(&mut self, out: &mut Vec<Action>) {
        let view = self.record.view;
        let own = match self.view_changes.get(&view).and_then(|m| m.get(&self.my_index())).cloned() {
            Some(own) => own,
            None if self.record.prepared.as_ref().is_some_and(|p| p.view >= view) => {
                // Cannot happen (having prepared here marks the view synced), and a view change may not carry a
                // certificate from its own view: move on instead.
                self.start_view_change(view + 1, out);
                return;
            }
            None => {
                // After a restart the signed message is gone; re-sign the same content (same view, same prepared
                // certificate): a view change is not a vote for a block, so this cannot equivocate.
                let body = ViewChange { height: self.record.height, view, prepared: self.record.prepared.clone() };
                let signed = self.sign(body);
                self.remember_own(signed.clone());
                let me = self.my_index();
                self.view_changes.entry(view).or_default().insert(me, signed.clone());
                signed
            }
        };
        out.push(Action::Broadcast(Message::ViewChange(own)));
        self.set_timer(self.config.base_timeout, out);
    }

    fn remember_own(&mut self, vc: Signed<ViewChange>) {
        self.own_view_changes.insert(vc.body.view, vc);
        while self.own_view_changes.len() > 64 {
            self.own_view_changes.pop_first();
        }
    }

    /// A peer is still in `view`, below ours: send it our view change for that view, which it may have missed, so
    /// it can gather a quorum there, time out and follow. Re-signing after a restart is safe only while our
    /// prepared certificate is older than that view (a view change must carry the highest one below its view).
    fn help_lagging_peer(&mut self, to: NodeIndex, view: View, out: &mut Vec<Action>) {
        if view == 0 {
            return;
        }
        let answered = self.helped.entry((to, view)).or_insert(0);
        if *answered >= MAX_HELP_PER_VIEW {
            return;
        }
        *answered += 1;
        let vc = match self.own_view_changes.get(&view) {
            Some(vc) => vc.clone(),
            None => {
                if self.record.prepared.as_ref().is_some_and(|p| p.view >= view) {
                    return;
                }
                let body = ViewChange { height: self.record.height, view, prepared: self.record.prepared.clone() };
                let signed = self.sign(body);
                self.remember_own(signed.clone());
                signed
            }
        };
        out.push(Action::Send { to, message: Message::ViewChange(vc) });
    }

    /// A verified view change at the current height.
    pub(super) fn on_view_change(&mut self, vc: Signed<ViewChange>, out: &mut Vec<Action>) {
        let view = vc.body.view;
        if view < self.record.view {
            self.help_lagging_peer(vc.signer, view, out);
            return;
        }
        if view == self.record.view && view == 0 {
            return;
        }
        // Keep at most two view changes per signer: its highest, and the one for our current view (which may be
        // older, sent to help us gather a quorum here). Memory stays bounded by 2n.
        let signer = vc.signer;
        let current = self.record.view;
        let newer_exists = self.view_changes.range(view + 1..).any(|(_, m)| m.contains_key(&signer));
        if newer_exists && view != current {
            return;
        }
        for (v, m) in self.view_changes.range_mut(..view) {
            if *v != current {
                m.remove(&signer);
            }
        }
        self.view_changes.entry(view).or_default().insert(signer, vc);
        if view == self.record.view && self.view_changes.get(&view).is_some_and(|m| m.len() >= self.quorum()) {
            self.mark_synced(out);
        }
        self.maybe_follow(out);
        self.try_new_view(self.record.view, out);
    }

    /// f+1 validators in views above ours: at least one is honest, so move to the lowest of those views.
    fn maybe_follow(&mut self, out: &mut Vec<Action>) {
        let mut senders: BTreeMap<NodeIndex, View> = BTreeMap::new();
        for (v, msgs) in self.view_changes.range(self.record.view + 1..) {
            for s in msgs.keys() {
                senders.entry(*s).or_insert(*v);
            }
        }
        if senders.len() > self.f() {
            // Move to the lowest of those views: never further than the honest validators among them went.
            if let Some(target) = senders.values().copied().min() {
                self.start_view_change(target, out);
            }
        }
    }

    /// As the leader of `view` > 0 with 2f+1 view changes, propose: the highest prepared block among them (fetching
    /// its bytes first if this validator does not hold them), or a fresh block when none was prepared.
    pub(super) fn try_new_view(&mut self, view: View, out: &mut Vec<Action>) {
        if view == 0 || Some(self.leader(self.record.height, view)) != self.me || self.record.proposed.is_some() {
            return;
        }
        if self.decided || self.building || self.fetching.is_some() || view != self.record.view {
            return;
        }
        let Some(vcs) = self.view_changes.get(&view) else { return };
        if vcs.len() < self.quorum() {
            return;
        }
        let justification: Vec<Signed<ViewChange>> = vcs.values().cloned().collect();
        let best = justification
            .iter()
            .filter_map(|vc| vc.body.prepared.as_ref())
            .max_by(|a, b| a.view.cmp(&b.view).then_with(|| b.block.cmp(&a.block)))
            .map(|p| p.block);
        match best {
            Some(block) => match self.body_of(&block) {
                Some(payload) => self.propose(block, payload, justification, out),
                None => {
                    self.fetching = Some(block);
                    self.building_justification = justification;
                    out.push(Action::FetchBlock { height: self.record.height, view, block });
                }
            },
            None => {
                self.building = true;
                self.building_justification = justification;
                out.push(Action::BuildBlock { height: self.record.height, view });
            }
        }
    }
}
