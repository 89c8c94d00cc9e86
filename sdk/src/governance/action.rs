//! What a proposal proposes, in the words of `accord gov propose KIND ARGS…`.
//!
//! The committee contract takes a proposal as exactly those words (`propose(string kind, string[] args)`), so the
//! CLI, web3.py and the chain share one parser and one spelling; the record keeps the canonical rendering, so a
//! proposal reads back the same whichever client made it.

use alloy_primitives::Address;

/// A chain parameter a proposal may set, by its `set-param` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Param {
    /// `blockGasLimit`: gas limit of every block.
    BlockGasLimit,
    /// `maxBlockTransactions`: most transactions in one block.
    MaxBlockTransactions,
    /// `maxTxBytes`: largest accepted transaction encoding.
    MaxTxBytes,
    /// `maxContractMemoryBytes`: largest linear memory one contract call may use.
    MaxContractMemoryBytes,
    /// `consensusTimeoutMs`: PBFT's first-view timeout on every validator (until set, each node's own
    /// `consensus.timeout_ms`).
    ConsensusTimeoutMs,
}

impl Param {
    /// Every settable parameter.
    pub const ALL: [Param; 5] = [
        Param::BlockGasLimit,
        Param::MaxBlockTransactions,
        Param::MaxTxBytes,
        Param::MaxContractMemoryBytes,
        Param::ConsensusTimeoutMs,
    ];

    /// The key `set-param` takes (the genesis `params` field of the same name).
    pub fn key(self) -> &'static str {
        match self {
            Self::BlockGasLimit => "blockGasLimit",
            Self::MaxBlockTransactions => "maxBlockTransactions",
            Self::MaxTxBytes => "maxTxBytes",
            Self::MaxContractMemoryBytes => "maxContractMemoryBytes",
            Self::ConsensusTimeoutMs => "consensusTimeoutMs",
        }
    }

    /// The values the chain accepts: wide enough for any sane deployment, narrow enough that no value stops the
    /// chain (a gas limit below one transfer's, a transaction limit of zero, transactions larger than a block).
    pub fn range(self) -> std::ops::RangeInclusive<u64> {
        match self {
            Self::BlockGasLimit => 1_000_000..=2_000_000_000,
            Self::MaxBlockTransactions => 1..=100_000,
            Self::MaxTxBytes => 1_024..=4 * 1024 * 1024,
            Self::MaxContractMemoryBytes => 64 * 1024..=256 * 1024 * 1024,
            // Above a heartbeat plus a block interval of any sane node config; below what makes a dead leader cost
            // more than a minute.
            Self::ConsensusTimeoutMs => 2_000..=60_000,
        }
    }

    /// The parameter named `key`.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.key() == key)
    }
}

/// Who may send transactions or deploy contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Policy {
    /// Everyone.
    Open,
    /// Only accounts granted the right.
    Allowlist,
    /// Everyone except accounts whose right was revoked (deploy only).
    Denylist,
}

impl Policy {
    /// The word the CLI and the contracts use.
    pub fn word(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Allowlist => "allowlist",
            Self::Denylist => "denylist",
        }
    }

    /// Its code in the system config record.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The policy with code `c`.
    pub fn from_code(c: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == c)
    }

    /// The policy named `word`, among `allowed` (the send policy has no denylist); the error lists the words.
    pub fn parse(word: &str, allowed: &[Policy]) -> Result<Self, String> {
        allowed.iter().copied().find(|p| p.word() == word).ok_or_else(|| {
            let words: Vec<&str> = allowed.iter().map(|p| p.word()).collect();
            format!("policy {word:?} is not one of {}", words.join(", "))
        })
    }

    /// Every policy.
    pub const ALL: [Policy; 3] = [Policy::Open, Policy::Allowlist, Policy::Denylist];
}

/// What a proposal does when it passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Promote an observer to validator.
    AddValidator(Address),
    /// Demote a validator to observer.
    RemoveValidator(Address),
    /// Admit a node as an observer.
    AddObserver(Address),
    /// Remove an observer from the consortium.
    RemoveObserver(Address),
    /// Set a chain parameter.
    SetParam(Param, u64),
    /// Set who may deploy contracts.
    DeployPolicy(Policy),
    /// Let an account deploy (allowlist) or lift its ban (denylist).
    GrantDeploy(Address),
    /// Take an account's deploy right away (allowlist) or ban it (denylist).
    RevokeDeploy(Address),
    /// Set who may send transactions.
    SendPolicy(Policy),
    /// Let an account send under the allowlist.
    GrantSend(Address),
    /// Take an account's send right away.
    RevokeSend(Address),
    /// Freeze an account or contract: it cannot send, and a contract cannot be called.
    Freeze(Address),
    /// Undo a freeze.
    Unfreeze(Address),
    /// Freeze for good.
    Abolish(Address),
    /// Add a governor with a weight.
    AddGovernor(Address, u64),
    /// Remove a governor.
    RemoveGovernor(Address),
    /// Change a governor's weight.
    SetWeight(Address, u64),
    /// Set the participation and win thresholds (percentages).
    SetThresholds(u8, u8),
    /// Raise the chain's compatibility version.
    SetVersion(u64),
    /// Give a contract a new admin (when its admin key is lost or its holder leaves).
    SetAdmin(Address, Address),
}

/// Every proposal kind, as `accord gov propose` and `propose(kind, args)` spell it.
pub const KINDS: [&str; 20] = [
    "add-validator",
    "remove-validator",
    "add-observer",
    "remove-observer",
    "set-param",
    "deploy-policy",
    "grant-deploy",
    "revoke-deploy",
    "send-policy",
    "grant-send",
    "revoke-send",
    "freeze",
    "unfreeze",
    "abolish",
    "add-governor",
    "remove-governor",
    "set-weight",
    "set-thresholds",
    "set-version",
    "set-admin",
];

impl Action {
    /// Parses `kind` and its arguments; the error says what was expected.
    pub fn parse(kind: &str, args: &[String]) -> Result<Self, String> {
        let want = |n: usize, usage: &str| {
            if args.len() == n { Ok(()) } else { Err(format!("{kind} takes {usage}, got {} argument(s)", args.len())) }
        };
        let addr = |i: usize| -> Result<Address, String> {
            args[i]
                .parse::<Address>()
                .map_err(|_| format!("{kind}: {:?} is not an address (0x and 40 hex digits)", args[i]))
        };
        let number = |i: usize, what: &str| -> Result<u64, String> {
            args[i].parse::<u64>().map_err(|_| format!("{kind}: {what} {:?} is not a whole number", args[i]))
        };
        let one_addr = |make: fn(Address) -> Action| -> Result<Action, String> {
            want(1, "ADDRESS")?;
            Ok(make(addr(0)?))
        };
        match kind {
            "add-validator" => one_addr(Action::AddValidator),
            "remove-validator" => one_addr(Action::RemoveValidator),
            "add-observer" => one_addr(Action::AddObserver),
            "remove-observer" => one_addr(Action::RemoveObserver),
            "grant-deploy" => one_addr(Action::GrantDeploy),
            "revoke-deploy" => one_addr(Action::RevokeDeploy),
            "grant-send" => one_addr(Action::GrantSend),
            "revoke-send" => one_addr(Action::RevokeSend),
            "freeze" => one_addr(Action::Freeze),
            "unfreeze" => one_addr(Action::Unfreeze),
            "abolish" => one_addr(Action::Abolish),
            "remove-governor" => one_addr(Action::RemoveGovernor),
            "set-param" => {
                want(2, "KEY VALUE")?;
                let param = Param::from_key(&args[0]).ok_or_else(|| {
                    let keys: Vec<&str> = Param::ALL.iter().map(|p| p.key()).collect();
                    format!("set-param: unknown key {:?}; the keys are {}", args[0], keys.join(", "))
                })?;
                let value = number(1, "value")?;
                let range = param.range();
                if !range.contains(&value) {
                    return Err(format!(
                        "set-param: {} must be from {} to {}, not {value}",
                        param.key(),
                        range.start(),
                        range.end()
                    ));
                }
                Ok(Action::SetParam(param, value))
            }
            "deploy-policy" => {
                want(1, "open|allowlist|denylist")?;
                Ok(Action::DeployPolicy(Policy::parse(&args[0], &Policy::ALL)?))
            }
            "send-policy" => {
                want(1, "open|allowlist")?;
                Ok(Action::SendPolicy(Policy::parse(&args[0], &[Policy::Open, Policy::Allowlist])?))
            }
            "add-governor" | "set-weight" => {
                want(2, "ADDRESS WEIGHT")?;
                let weight = number(1, "weight")?;
                if weight == 0 {
                    return Err(format!("{kind}: the weight must be positive"));
                }
                let a = addr(0)?;
                Ok(if kind == "add-governor" { Action::AddGovernor(a, weight) } else { Action::SetWeight(a, weight) })
            }
            "set-thresholds" => {
                want(2, "PARTICIPATION WIN (percentages)")?;
                let pct = |i: usize, what: &str| -> Result<u8, String> {
                    let v = number(i, what)?;
                    u8::try_from(v)
                        .ok()
                        .filter(|v| (1..=100).contains(v))
                        .ok_or_else(|| format!("set-thresholds: {what} must be a percentage from 1 to 100, not {v}"))
                };
                Ok(Action::SetThresholds(pct(0, "participation")?, pct(1, "win")?))
            }
            "set-version" => {
                want(1, "VERSION")?;
                Ok(Action::SetVersion(number(0, "version")?))
            }
            "set-admin" => {
                want(2, "CONTRACT ADMIN")?;
                Ok(Action::SetAdmin(addr(0)?, addr(1)?))
            }
            _ => Err(format!("unknown proposal kind {kind:?}; the kinds are {}", KINDS.join(", "))),
        }
    }

    /// The kind's word.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::AddValidator(_) => "add-validator",
            Self::RemoveValidator(_) => "remove-validator",
            Self::AddObserver(_) => "add-observer",
            Self::RemoveObserver(_) => "remove-observer",
            Self::SetParam(..) => "set-param",
            Self::DeployPolicy(_) => "deploy-policy",
            Self::GrantDeploy(_) => "grant-deploy",
            Self::RevokeDeploy(_) => "revoke-deploy",
            Self::SendPolicy(_) => "send-policy",
            Self::GrantSend(_) => "grant-send",
            Self::RevokeSend(_) => "revoke-send",
            Self::Freeze(_) => "freeze",
            Self::Unfreeze(_) => "unfreeze",
            Self::Abolish(_) => "abolish",
            Self::AddGovernor(..) => "add-governor",
            Self::RemoveGovernor(_) => "remove-governor",
            Self::SetWeight(..) => "set-weight",
            Self::SetThresholds(..) => "set-thresholds",
            Self::SetVersion(_) => "set-version",
            Self::SetAdmin(..) => "set-admin",
        }
    }

    /// The canonical arguments (checksummed addresses, decimal numbers): what the record keeps and reads show.
    pub fn args(&self) -> Vec<String> {
        match self {
            Self::AddValidator(a)
            | Self::RemoveValidator(a)
            | Self::AddObserver(a)
            | Self::RemoveObserver(a)
            | Self::GrantDeploy(a)
            | Self::RevokeDeploy(a)
            | Self::GrantSend(a)
            | Self::RevokeSend(a)
            | Self::Freeze(a)
            | Self::Unfreeze(a)
            | Self::Abolish(a)
            | Self::RemoveGovernor(a) => vec![a.to_checksum(None)],
            Self::SetParam(p, v) => vec![p.key().to_string(), v.to_string()],
            Self::DeployPolicy(p) | Self::SendPolicy(p) => vec![p.word().to_string()],
            Self::AddGovernor(a, w) | Self::SetWeight(a, w) => vec![a.to_checksum(None), w.to_string()],
            Self::SetThresholds(p, w) => vec![p.to_string(), w.to_string()],
            Self::SetVersion(v) => vec![v.to_string()],
            Self::SetAdmin(c, a) => vec![c.to_checksum(None), a.to_checksum(None)],
        }
    }

    /// What the proposal is about: at most one proposal per target is open at a time. The governor kinds share
    /// the governor as target, node kinds the node, permission kinds the account, so two proposals can never pull
    /// the same thing two ways at once.
    pub fn target(&self) -> String {
        match self {
            Self::AddValidator(a) | Self::RemoveValidator(a) | Self::AddObserver(a) | Self::RemoveObserver(a) => {
                format!("node {a}")
            }
            Self::GrantDeploy(a) | Self::RevokeDeploy(a) => format!("deploy right {a}"),
            Self::GrantSend(a) | Self::RevokeSend(a) => format!("send right {a}"),
            Self::Freeze(a) | Self::Unfreeze(a) | Self::Abolish(a) => format!("status {a}"),
            Self::AddGovernor(a, _) | Self::RemoveGovernor(a) | Self::SetWeight(a, _) => format!("governor {a}"),
            Self::SetParam(p, _) => format!("param {}", p.key()),
            Self::DeployPolicy(_) => "deploy policy".to_string(),
            Self::SendPolicy(_) => "send policy".to_string(),
            Self::SetThresholds(..) => "thresholds".to_string(),
            Self::SetVersion(_) => "version".to_string(),
            Self::SetAdmin(c, _) => format!("admin {c}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(kind: &str, args: &[&str]) -> Result<Action, String> {
        Action::parse(kind, &args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn every_kind_parses_and_renders_back_to_the_same_words() {
        let a = "0x00000000000000000000000000000000000000aa";
        let cases: Vec<(&str, Vec<&str>)> = vec![
            ("add-validator", vec![a]),
            ("remove-validator", vec![a]),
            ("add-observer", vec![a]),
            ("remove-observer", vec![a]),
            ("set-param", vec!["maxBlockTransactions", "10"]),
            ("deploy-policy", vec!["denylist"]),
            ("grant-deploy", vec![a]),
            ("revoke-deploy", vec![a]),
            ("send-policy", vec!["allowlist"]),
            ("grant-send", vec![a]),
            ("revoke-send", vec![a]),
            ("freeze", vec![a]),
            ("unfreeze", vec![a]),
            ("abolish", vec![a]),
            ("add-governor", vec![a, "2"]),
            ("remove-governor", vec![a]),
            ("set-weight", vec![a, "3"]),
            ("set-thresholds", vec!["60", "51"]),
            ("set-version", vec!["2"]),
            ("set-admin", vec![a, a]),
        ];
        let kinds: Vec<&str> = cases.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, KINDS, "every kind, once, in order");
        for (kind, args) in cases {
            let action = parse(kind, &args).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(action.kind(), kind);
            assert_eq!(Action::parse(kind, &action.args()), Ok(action.clone()), "{kind} round-trips");
            let lower = |v: &[String]| v.iter().map(|a| a.to_lowercase()).collect::<Vec<_>>();
            let given: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            assert_eq!(
                lower(&action.args()),
                lower(&given),
                "{kind} renders its arguments as given (addresses checksummed)"
            );
        }
    }

    #[test]
    fn bad_proposals_say_what_is_wrong() {
        let e = |kind: &str, args: &[&str]| parse(kind, args).expect_err("refused");
        assert!(e("promote", &[]).contains("unknown proposal kind"), "{}", e("promote", &[]));
        assert!(e("freeze", &[]).contains("takes ADDRESS"));
        assert!(e("freeze", &["0x12"]).contains("not an address"));
        assert!(e("set-param", &["gasPrice", "1"]).contains("unknown key"));
        assert!(e("set-param", &["maxBlockTransactions", "0"]).contains("from 1 to 100000"));
        assert!(e("set-param", &["blockGasLimit", "-5"]).contains("not a whole number"));
        assert!(e("send-policy", &["denylist"]).contains("not one of open, allowlist"));
        assert!(e("set-thresholds", &["0", "50"]).contains("percentage"));
        assert!(e("add-governor", &["0x00000000000000000000000000000000000000aa", "0"]).contains("positive"));
    }

    #[test]
    fn targets_keep_opposing_proposals_apart() {
        let a: Address = Address::repeat_byte(1);
        assert_eq!(Action::Freeze(a).target(), Action::Unfreeze(a).target());
        assert_eq!(Action::AddGovernor(a, 1).target(), Action::RemoveGovernor(a).target());
        assert_eq!(Action::AddObserver(a).target(), Action::AddValidator(a).target());
        assert_ne!(Action::Freeze(a).target(), Action::GrantSend(a).target());
        assert_ne!(
            Action::SetParam(Param::BlockGasLimit, 2_000_000).target(),
            Action::SetParam(Param::MaxTxBytes, 2_000).target()
        );
    }
}
