//! Identifiers and messages of the PBFT protocol.
//!
//! Every message that can end up inside a certificate is signed by its author, so a certificate can be forwarded
//! and checked by anyone: a prepared certificate (2f+1 prepares) inside a view change, 2f+1 view changes inside a
//! new-view proposal, 2f+1 commits as the block's commit certificate.
//!
//! Certificates and view changes name a block by its id only. The block's bytes travel once, in the proposal that
//! carries it; a new leader that must re-propose a prepared block it never received fetches the bytes by id
//! (`Action::FetchBlock`). So every message is at most one block plus a few kilobytes per validator, whatever
//! happened before it: [`message_limit`].

use borsh::{BorshDeserialize, BorshSerialize};

/// Block height.
pub type Height = u64;
/// View (round) number within a height; view 0 is led by the height's first leader.
pub type View = u64;
/// Position of a validator in the ordered validator set.
pub type NodeIndex = usize;

/// Identifier of a proposed block (its hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct BlockId(pub [u8; 32]);

/// A vote for a block in a view: the body of prepares and commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Vote {
    /// Height.
    pub height: Height,
    /// View.
    pub view: View,
    /// Block voted for.
    pub block: BlockId,
}

/// A message body with its author and signature.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Signed<T> {
    /// Author.
    pub signer: NodeIndex,
    /// Content.
    pub body: T,
    /// Signature over `signing_bytes(body)` by the author's key.
    pub signature: Vec<u8>,
}

/// Proof that 2f+1 validators prepared `block` in `view`: whoever holds it may have committed it.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct PreparedCertificate {
    /// The view of the prepares.
    pub view: View,
    /// The prepared block (its bytes are fetched by id when needed, never copied into the certificate).
    pub block: BlockId,
    /// 2f+1 signed prepares.
    pub prepares: Vec<Signed<Vote>>,
}

/// "I am moving to `view`" with the highest prepared certificate the sender holds for this height.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ViewChange {
    /// Height.
    pub height: Height,
    /// The view the sender moves to.
    pub view: View,
    /// The sender's highest prepared certificate at this height, if any.
    pub prepared: Option<PreparedCertificate>,
}

/// A leader's proposal. In views above 0 it carries 2f+1 view changes that justify its block choice.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Proposal {
    /// Height.
    pub height: Height,
    /// View.
    pub view: View,
    /// Proposed block.
    pub block: BlockId,
    /// Block bytes, handed to the node for execution.
    pub payload: Vec<u8>,
    /// For view > 0: the view changes that let the leader propose.
    pub justification: Vec<Signed<ViewChange>>,
}

/// "I lead (height, view), I am alive, and I have nothing to propose": lets an idle chain keep its leader checked
/// without storing an empty block every interval (FISCO BCOS keeps idle leaders honest the same way). A replica
/// that knows of waiting transactions ignores it, so a leader cannot censor by heartbeating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Heartbeat {
    /// Height.
    pub height: Height,
    /// View.
    pub view: View,
}

/// Every protocol message.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Message {
    /// Leader's proposal (pre-prepare).
    Proposal(Signed<Proposal>),
    /// Prepare vote.
    Prepare(Signed<Vote>),
    /// Commit vote.
    Commit(Signed<Vote>),
    /// View change.
    ViewChange(Signed<ViewChange>),
    /// An idle leader's liveness signal.
    Heartbeat(Signed<Heartbeat>),
}

impl Message {
    /// Height the message is about.
    pub fn height(&self) -> Height {
        match self {
            Self::Proposal(p) => p.body.height,
            Self::Prepare(v) | Self::Commit(v) => v.body.height,
            Self::ViewChange(v) => v.body.height,
            Self::Heartbeat(h) => h.body.height,
        }
    }
    /// View the message is about.
    pub fn view(&self) -> View {
        match self {
            Self::Proposal(p) => p.body.view,
            Self::Prepare(v) | Self::Commit(v) => v.body.view,
            Self::ViewChange(v) => v.body.view,
            Self::Heartbeat(h) => h.body.view,
        }
    }
    /// Author.
    pub fn signer(&self) -> NodeIndex {
        match self {
            Self::Proposal(p) => p.signer,
            Self::Prepare(v) | Self::Commit(v) => v.signer,
            Self::ViewChange(v) => v.signer,
            Self::Heartbeat(h) => h.signer,
        }
    }
    /// Short name, for logs and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Proposal(_) => "proposal",
            Self::Prepare(_) => "prepare",
            Self::Commit(_) => "commit",
            Self::ViewChange(_) => "view_change",
            Self::Heartbeat(_) => "heartbeat",
        }
    }
}

/// Bytes one signed vote takes inside a certificate, rounded up (signer, height, view, id, a 65-byte signature and
/// borsh length prefixes).
const VOTE_BYTES: usize = 160;
/// Bytes of a view change beyond its certificate's votes, rounded up.
const VIEW_CHANGE_BYTES: usize = 256;

/// Largest encoding of any message among `validators` validators whose blocks are at most `max_block_bytes`: the
/// biggest message is a proposal in a view above 0, which carries the block once and up to n view changes, each with
/// a prepared certificate of up to n votes (ids only). Every node computes the same bound from the chain's
/// parameters, so a valid message can never be too large to deliver (the failure that would halt a chain for good).
pub fn message_limit(max_block_bytes: usize, validators: usize) -> usize {
    let n = validators.max(1);
    max_block_bytes
        .saturating_add(n.saturating_mul(VIEW_CHANGE_BYTES + n.saturating_mul(VOTE_BYTES)))
        .saturating_add(4096)
}

/// Why bytes from the network are not a message.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Larger than the chain's [`message_limit`].
    #[error("consensus message of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Received size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not a valid encoding.
    #[error("malformed consensus message: {0}")]
    Malformed(String),
}

impl Message {
    /// Wire encoding (borsh).
    pub fn encode(&self) -> std::io::Result<Vec<u8>> {
        borsh::to_vec(self)
    }

    /// Decodes untrusted bytes, refusing input above `limit` (the chain's [`message_limit`]) before parsing it.
    pub fn decode(bytes: &[u8], limit: usize) -> Result<Self, DecodeError> {
        if bytes.len() > limit {
            return Err(DecodeError::TooLarge { size: bytes.len(), limit });
        }
        borsh::from_slice(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))
    }
}

/// Canonical bytes that are signed, with a distinct tag per message kind so no signature can be replayed as another.
pub trait SigningBytes {
    /// The bytes.
    fn signing_bytes(&self) -> Vec<u8>;
}

fn vote_bytes(tag: &[u8], v: &Vote) -> Vec<u8> {
    let mut b = tag.to_vec();
    b.extend_from_slice(&v.height.to_be_bytes());
    b.extend_from_slice(&v.view.to_be_bytes());
    b.extend_from_slice(&v.block.0);
    b
}

/// A prepare's body, tagged as a prepare.
#[derive(Debug, Clone, Copy)]
pub struct PrepareBody<'a>(pub &'a Vote);
/// A commit's body, tagged as a commit.
#[derive(Debug, Clone, Copy)]
pub struct CommitBody<'a>(pub &'a Vote);

impl SigningBytes for PrepareBody<'_> {
    fn signing_bytes(&self) -> Vec<u8> {
        vote_bytes(b"accord-pbft/prepare", self.0)
    }
}
impl SigningBytes for CommitBody<'_> {
    fn signing_bytes(&self) -> Vec<u8> {
        vote_bytes(b"accord-pbft/commit", self.0)
    }
}
impl SigningBytes for ViewChange {
    fn signing_bytes(&self) -> Vec<u8> {
        // The prepared certificate is self-authenticating (its prepares are signed); the view change signs what it
        // claims about it: view and block.
        let mut b = b"accord-pbft/view-change".to_vec();
        b.extend_from_slice(&self.height.to_be_bytes());
        b.extend_from_slice(&self.view.to_be_bytes());
        match &self.prepared {
            None => b.push(0),
            Some(p) => {
                b.push(1);
                b.extend_from_slice(&p.view.to_be_bytes());
                b.extend_from_slice(&p.block.0);
            }
        }
        b
    }
}
impl SigningBytes for Heartbeat {
    fn signing_bytes(&self) -> Vec<u8> {
        let mut b = b"accord-pbft/heartbeat".to_vec();
        b.extend_from_slice(&self.height.to_be_bytes());
        b.extend_from_slice(&self.view.to_be_bytes());
        b
    }
}
impl SigningBytes for Proposal {
    fn signing_bytes(&self) -> Vec<u8> {
        let mut b = b"accord-pbft/proposal".to_vec();
        b.extend_from_slice(&self.height.to_be_bytes());
        b.extend_from_slice(&self.view.to_be_bytes());
        b.extend_from_slice(&self.block.0);
        b
    }
}
