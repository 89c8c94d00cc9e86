//! Checking a message before the state machine keeps or acts on it.
//!
//! Every check that needs no state lives here: the signer is a validator, the signature is its own, a proposal
//! comes from the leader of its view and is justified by a quorum of valid view changes that honour the highest
//! prepared certificate among them, every certificate holds a quorum of distinct valid votes. What passes is wrapped
//! in [`Verified`], the only kind of message `PbftState` accepts, so no path can act on an unchecked signature.

use std::collections::BTreeSet;

use crate::state::MessageCrypto;
use crate::types::*;

/// A message whose signatures and certificates were checked against the validator set. Only this crate can make
/// one, through `PbftState::admit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<T>(T);

impl<T> Verified<T> {
    /// Wraps a value checked (or built and signed) by this crate.
    pub(crate) fn new(value: T) -> Self {
        Self(value)
    }
    /// The checked value.
    pub fn get(&self) -> &T {
        &self.0
    }
    /// Unwraps the checked value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Why a message was not admitted. Some are normal on a live network (a late message, our own echo); the others
/// can only come from a validator that broke the protocol, and the node scores the peer that delivered them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// For a height or view already past, with nothing to answer.
    #[error("stale message")]
    Stale,
    /// For a height or view beyond the look-ahead bound.
    #[error("message too far ahead")]
    TooFarAhead,
    /// The sender already filled its share of the next-height buffer.
    #[error("next-height buffer full for this validator")]
    BufferFull,
    /// Signed as this validator (an echo, or a twin running with our key).
    #[error("message signed with our own key")]
    Own,
    /// The signer index is not a validator.
    #[error("signer is not a validator")]
    NotValidator,
    /// This node does not validate that height (it follows the chain there), so it does not act on its messages.
    #[error("this node does not validate that height")]
    NotMember,
    /// The signature is not the signer's.
    #[error("bad signature")]
    BadSignature,
    /// A proposal or heartbeat from a validator that does not lead that view.
    #[error("not from the view's leader")]
    WrongLeader,
    /// A certificate or justification that does not prove what it claims.
    #[error("invalid certificate or justification")]
    BadCertificate,
}

impl Rejection {
    /// True when only a faulty validator can have produced the message (the peer that sent it is scored).
    pub fn is_fault(self) -> bool {
        matches!(self, Self::NotValidator | Self::BadSignature | Self::WrongLeader | Self::BadCertificate)
    }

    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Stale => "stale",
            Self::TooFarAhead => "too_far_ahead",
            Self::BufferFull => "buffer_full",
            Self::Own => "own",
            Self::NotValidator => "not_validator",
            Self::NotMember => "not_member",
            Self::BadSignature => "bad_signature",
            Self::WrongLeader => "wrong_leader",
            Self::BadCertificate => "bad_certificate",
        }
    }
}

/// Stateless checks over a validator set of `n`.
pub(crate) struct Verifier<'a, C> {
    pub crypto: &'a C,
    pub n: usize,
}

impl<C: MessageCrypto> Verifier<'_, C> {
    /// Votes needed for a quorum (2f+1 when n = 3f+1; any two quorums share an honest validator for every n).
    pub fn quorum(&self) -> usize {
        2 * self.n / 3 + 1
    }

    /// Leader of (height, view): round robin.
    pub fn leader(&self, height: Height, view: View) -> NodeIndex {
        ((height.wrapping_add(view)) % self.n as u64) as usize
    }

    /// Checks everything about `m` that needs no state.
    pub fn message(&self, m: &Message) -> Result<(), Rejection> {
        if m.signer() >= self.n {
            return Err(Rejection::NotValidator);
        }
        match m {
            Message::Proposal(p) => {
                if p.signer != self.leader(p.body.height, p.body.view) {
                    return Err(Rejection::WrongLeader);
                }
                self.signature(p.body.height, p.signer, &p.body.signing_bytes(), &p.signature)?;
                if p.body.view > 0 {
                    self.justification(&p.body)?;
                }
                Ok(())
            }
            Message::Prepare(v) => self.vote(v, false),
            Message::Commit(v) => self.vote(v, true),
            Message::ViewChange(vc) => self.view_change(vc),
            Message::Heartbeat(h) => {
                if h.signer != self.leader(h.body.height, h.body.view) {
                    return Err(Rejection::WrongLeader);
                }
                self.signature(h.body.height, h.signer, &h.body.signing_bytes(), &h.signature)
            }
        }
    }

    fn signature(&self, height: Height, signer: NodeIndex, bytes: &[u8], signature: &[u8]) -> Result<(), Rejection> {
        if self.crypto.verify(height, signer, bytes, signature) { Ok(()) } else { Err(Rejection::BadSignature) }
    }

    pub fn vote(&self, v: &Signed<Vote>, commit: bool) -> Result<(), Rejection> {
        if v.signer >= self.n {
            return Err(Rejection::NotValidator);
        }
        let bytes = if commit { CommitBody(&v.body).signing_bytes() } else { PrepareBody(&v.body).signing_bytes() };
        self.signature(v.body.height, v.signer, &bytes, &v.signature)
    }

    fn prepared(&self, height: Height, cert: &PreparedCertificate) -> Result<(), Rejection> {
        // Cheap checks before any signature: at most n distinct signers, all votes for the certified block.
        let distinct: BTreeSet<NodeIndex> = cert.prepares.iter().map(|p| p.signer).collect();
        if cert.prepares.len() > self.n || distinct.len() != cert.prepares.len() || distinct.len() < self.quorum() {
            return Err(Rejection::BadCertificate);
        }
        let expected = Vote { height, view: cert.view, block: cert.block };
        if cert.prepares.iter().any(|p| p.body != expected) {
            return Err(Rejection::BadCertificate);
        }
        for p in &cert.prepares {
            self.vote(p, false).map_err(|_| Rejection::BadCertificate)?;
        }
        Ok(())
    }

    pub fn view_change(&self, vc: &Signed<ViewChange>) -> Result<(), Rejection> {
        if vc.signer >= self.n {
            return Err(Rejection::NotValidator);
        }
        self.signature(vc.body.height, vc.signer, &vc.body.signing_bytes(), &vc.signature)?;
        match &vc.body.prepared {
            None => Ok(()),
            Some(p) if p.view < vc.body.view => self.prepared(vc.body.height, p),
            Some(_) => Err(Rejection::BadCertificate),
        }
    }

    /// A proposal in a view above 0 is justified by 2f+1 view changes for that view from distinct validators, and
    /// proposes the block of the highest prepared certificate among them, if any (QBFT's round-change rule).
    fn justification(&self, p: &Proposal) -> Result<(), Rejection> {
        let distinct: BTreeSet<NodeIndex> = p.justification.iter().map(|vc| vc.signer).collect();
        if p.justification.len() > self.n || distinct.len() != p.justification.len() || distinct.len() < self.quorum() {
            return Err(Rejection::BadCertificate);
        }
        if p.justification.iter().any(|vc| vc.body.height != p.height || vc.body.view != p.view) {
            return Err(Rejection::BadCertificate);
        }
        let mut best: Option<&PreparedCertificate> = None;
        for vc in &p.justification {
            self.view_change(vc).map_err(|_| Rejection::BadCertificate)?;
            if let Some(c) = &vc.body.prepared
                && best.is_none_or(|b| c.view > b.view)
            {
                best = Some(c);
            }
        }
        if best.is_none_or(|b| b.block == p.block) { Ok(()) } else { Err(Rejection::BadCertificate) }
    }
}
