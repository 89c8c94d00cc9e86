//! The system contracts, native (`accord_vm::NativeContracts`), at the addresses in `accord_sdk::governance`.
//!
//! Calls are Solidity-ABI encoded (`super::abi`); anything refused reverts with an `Error(string)` reason, as
//! Solidity does, so clients show it. Governed state is written only here, and only when a proposal passes: every
//! change is scheduled from the block after the one executing it. Gas: [`CALL_GAS`] per call, [`SLOT_READ_GAS`] per
//! slot read, [`SLOT_WRITE_GAS`] per slot written, and the VM's log prices per event.

use accord_sdk::governance::{
    ACCOUNTS_ADDRESS, AccountStatus, Action, Ballot, ByteWord, COMMITTEE_ADDRESS, COMMITTEE_TAG, CONFIG_TAG,
    CONTRACT_ADMIN_ADDRESS, Committee, NODES_ADDRESS, NODES_TAG, NodeEntry, NodeLists, Param, Policy, Proposal,
    ProposalStatus, SYSTEM_CONFIG_ADDRESS, Scheduled, SystemConfig, account_slot, admin_before_slot, admin_slot,
    code_of_status, contract_status_slot, method_caller_slot, method_slot, open_proposal_slot, proposal_count_slot,
    proposal_tag, record_chunk_slot, record_length_slot, record_slots, status_of_code,
};
use accord_sdk::{Address, B256, U256};
use accord_vm::{Host, HostError, NativeCall, NativeContracts, Outcome, Status};
use alloy_primitives::{Log, LogData};
use alloy_sol_types::{SolCall, SolError, SolEvent};

use super::abi::{Error, IAccounts, ICommittee, IContractAdmin, INodes, ISystemConfig};
use super::store::{self, GovernedStateError, SlotReader};

/// Gas of any system call, before the slots it touches.
pub const CALL_GAS: u64 = 700;
/// Gas per storage slot a system call reads.
pub const SLOT_READ_GAS: u64 = 2_100;
/// Gas per storage slot a system call writes.
pub const SLOT_WRITE_GAS: u64 = 20_000;

/// Longest proposal kind, argument and argument list `propose` accepts: bounded before any parsing.
const MAX_KIND_BYTES: usize = 32;
const MAX_ARG_BYTES: usize = 128;
const MAX_ARGS: usize = 4;

/// The node's system contracts.
#[derive(Debug, Clone, Copy)]
pub struct SystemContracts {
    /// The chain's `maxBlockBytes`: a transaction size limit must leave room for a header.
    pub max_block_bytes: usize,
    /// True when the chain runs PBFT (it started with several validators): only then can validators be added.
    pub pbft: bool,
}

impl<H: Host> NativeContracts<H> for SystemContracts {
    fn is_native(&self, address: Address) -> bool {
        [COMMITTEE_ADDRESS, SYSTEM_CONFIG_ADDRESS, NODES_ADDRESS, ACCOUNTS_ADDRESS, CONTRACT_ADMIN_ADDRESS]
            .contains(&address)
    }

    fn call(&self, host: &mut H, call: NativeCall<'_>) -> Result<Outcome, HostError> {
        let mut ctx = Ctx { host, used: 0, limit: call.gas_limit, logs: Vec::new(), height: call.block.number };
        let result = ctx.charge(CALL_GAS).and_then(|()| {
            if !call.value.is_zero() {
                return Err(Stop::Revert("system contracts take no value".into()));
            }
            let selector: [u8; 4] = call.input.get(..4).and_then(|s| s.try_into().ok()).unwrap_or_default();
            match call.address {
                COMMITTEE_ADDRESS => self.committee(&mut ctx, call.caller, selector, call.input),
                SYSTEM_CONFIG_ADDRESS => config_call(&mut ctx, selector, call.input),
                NODES_ADDRESS => nodes_call(&mut ctx, selector),
                ACCOUNTS_ADDRESS => accounts_call(&mut ctx, selector, call.input),
                _ => admin_call(&mut ctx, call.caller, selector, call.input),
            }
        });
        let used = ctx.used.min(ctx.limit);
        let outcome = |status, output| Outcome { status, gas_used: used, output, logs: Vec::new(), created: None };
        match result {
            Ok(output) => Ok(Outcome { logs: std::mem::take(&mut ctx.logs), ..outcome(Status::Success, output) }),
            Err(Stop::Revert(reason)) => Ok(outcome(Status::Revert, Error { reason }.abi_encode())),
            Err(Stop::OutOfGas) => Ok(Outcome {
                gas_used: ctx.limit,
                ..outcome(Status::Failure(accord_vm::Failure::OutOfGas), Vec::new())
            }),
            Err(Stop::Host(e)) => Err(e),
        }
    }

    fn refuse_call(
        &self,
        host: &mut H,
        caller: Address,
        callee: Address,
        input: &[u8],
        height: u64,
    ) -> Result<Option<String>, HostError> {
        let mut read = |a, s| host.storage_read(a, s).map_err(GovernedStateError::Host);
        let refusal = store::callee_refusal(&mut read, caller, callee, input, height).map_err(host_error)?;
        Ok(refusal.map(|r| r.to_string()))
    }
}

/// How a system call ends early.
enum Stop {
    Revert(String),
    OutOfGas,
    Host(HostError),
}

impl From<GovernedStateError> for Stop {
    fn from(e: GovernedStateError) -> Self {
        match e {
            GovernedStateError::OutOfGas => Stop::OutOfGas,
            other => Stop::Host(host_error(other)),
        }
    }
}

fn host_error(e: GovernedStateError) -> HostError {
    match e {
        GovernedStateError::Host(h) => h,
        other => HostError(other.to_string()),
    }
}

fn revert<T>(reason: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Revert(reason.into()))
}

fn decode<C: SolCall>(input: &[u8]) -> Result<C, Stop> {
    C::abi_decode(input).or_else(|_| revert(format!("calldata of {} does not decode", C::SIGNATURE)))
}

/// One system call: its host, gas and events.
struct Ctx<'h, H> {
    host: &'h mut H,
    used: u64,
    limit: u64,
    logs: Vec<Log>,
    height: u64,
}

impl<H: Host> Ctx<'_, H> {
    fn charge(&mut self, gas: u64) -> Result<(), Stop> {
        self.used = self.used.saturating_add(gas);
        if self.used > self.limit { Err(Stop::OutOfGas) } else { Ok(()) }
    }

    /// A slot reader that charges [`SLOT_READ_GAS`] per slot.
    fn reader(&mut self) -> impl FnMut(Address, B256) -> Result<B256, GovernedStateError> + '_ {
        move |a, s| {
            self.used = self.used.saturating_add(SLOT_READ_GAS);
            if self.used > self.limit {
                return Err(GovernedStateError::OutOfGas);
            }
            self.host.storage_read(a, s).map_err(GovernedStateError::Host)
        }
    }

    fn write(&mut self, address: Address, slot: B256, word: B256) -> Result<(), Stop> {
        self.charge(SLOT_WRITE_GAS)?;
        self.host.storage_write(address, slot, word).map_err(Stop::Host)?;
        Ok(())
    }

    /// Writes a record, zeroing the chunks a longer old record left behind.
    fn write_record(&mut self, address: Address, tag: &[u8], bytes: &[u8]) -> Result<(), Stop> {
        let old = U256::from_be_bytes(self.reader()(address, record_length_slot(tag))?.0);
        let old_chunks = usize::try_from(old).unwrap_or(0).div_ceil(32);
        for (slot, word) in record_slots(tag, bytes) {
            self.write(address, slot, word)?;
        }
        for i in bytes.len().div_ceil(32)..old_chunks {
            self.write(address, record_chunk_slot(tag, i as u64), B256::ZERO)?;
        }
        Ok(())
    }

    fn emit(&mut self, address: Address, data: LogData) -> Result<(), Stop> {
        let gas = accord_vm::gas::LOG_BASE
            + accord_vm::gas::LOG_PER_TOPIC * data.topics().len() as u64
            + accord_vm::gas::LOG_PER_BYTE * data.data.len() as u64;
        self.charge(gas)?;
        self.logs.push(Log { address, data });
        Ok(())
    }

    fn committee(&mut self) -> Result<(Committee, Scheduled), Stop> {
        let h = self.height;
        let s = store::scheduled(&mut self.reader(), COMMITTEE_ADDRESS, COMMITTEE_TAG, "committee")?;
        let Some(s) = s else { return revert("this chain has no committee") };
        let c = Committee::decode(s.at(h).0)
            .ok_or_else(|| Stop::Host(HostError("the committee record in state does not decode".into())))?;
        Ok((c, s))
    }
}

/// A change to governed state a passed proposal makes.
enum Write {
    Record(Address, &'static [u8], Vec<u8>),
    Word(Address, B256, B256),
}

impl SystemContracts {
    fn committee<H: Host>(
        &self,
        ctx: &mut Ctx<'_, H>,
        caller: Address,
        selector: [u8; 4],
        input: &[u8],
    ) -> Result<Vec<u8>, Stop> {
        let h = ctx.height;
        match selector {
            ICommittee::governorsCall::SELECTOR => {
                let (c, _) = ctx.committee()?;
                let (accounts, weights): (Vec<Address>, Vec<u64>) = c.governors.into_iter().unzip();
                Ok(ICommittee::governorsCall::abi_encode_returns_tuple(&(accounts, weights)))
            }
            ICommittee::thresholdsCall::SELECTOR => {
                let (c, _) = ctx.committee()?;
                let out = (c.participation_pct, c.win_pct, c.lifetime_blocks);
                Ok(ICommittee::thresholdsCall::abi_encode_returns_tuple(&out))
            }
            ICommittee::proposalCountCall::SELECTOR => {
                let n = store::proposal_count(&mut ctx.reader())?;
                Ok(ICommittee::proposalCountCall::abi_encode_returns(&n))
            }
            ICommittee::getProposalCall::SELECTOR => {
                let id = decode::<ICommittee::getProposalCall>(input)?.id;
                let p = load(ctx, id)?;
                let (voters, agrees): (Vec<Address>, Vec<bool>) = p.ballot.votes.iter().map(|(a, b)| (*a, *b)).unzip();
                Ok(ICommittee::getProposalCall::abi_encode_returns_tuple(&(
                    p.ballot.proposer,
                    p.action.kind().to_string(),
                    p.action.args(),
                    p.status_at(h).word().to_string(),
                    p.ballot.created,
                    p.ballot.expires,
                    voters,
                    agrees,
                )))
            }
            ICommittee::proposeCall::SELECTOR => {
                let call = decode::<ICommittee::proposeCall>(input)?;
                if call.kind.len() > MAX_KIND_BYTES
                    || call.args.len() > MAX_ARGS
                    || call.args.iter().any(|a| a.len() > MAX_ARG_BYTES)
                {
                    return revert("proposal too long: a kind and at most 4 arguments of at most 128 bytes");
                }
                let action = Action::parse(&call.kind, &call.args).or_else(revert)?;
                let id = self.propose(ctx, caller, action)?;
                Ok(ICommittee::proposeCall::abi_encode_returns(&id))
            }
            ICommittee::voteCall::SELECTOR => {
                let call = decode::<ICommittee::voteCall>(input)?;
                let mut p = load(ctx, call.id)?;
                let (c, _) = ctx.committee()?;
                let status = p.ballot.vote(&c, caller, call.agree, h).or_else(|e| revert(e.to_string()))?;
                let event = ICommittee::Voted { id: call.id, voter: caller, agree: call.agree };
                ctx.emit(COMMITTEE_ADDRESS, event.encode_log_data())?;
                self.conclude(ctx, &p)?;
                ctx.write_record(COMMITTEE_ADDRESS, &proposal_tag(call.id), &p.encode())?;
                Ok(ICommittee::voteCall::abi_encode_returns(&status.word().to_string()))
            }
            ICommittee::revokeCall::SELECTOR => {
                let id = decode::<ICommittee::revokeCall>(input)?.id;
                let mut p = load(ctx, id)?;
                p.ballot.revoke(caller, h).or_else(|e| revert(e.to_string()))?;
                ctx.write(COMMITTEE_ADDRESS, open_proposal_slot(&p.action.target()), B256::ZERO)?;
                ctx.emit(COMMITTEE_ADDRESS, ICommittee::ProposalRevoked { id }.encode_log_data())?;
                ctx.write_record(COMMITTEE_ADDRESS, &proposal_tag(id), &p.encode())?;
                Ok(Vec::new())
            }
            _ => revert("unknown function of the committee contract"),
        }
    }

    /// Opens a proposal (executing it at once when the proposer's vote alone decides it).
    fn propose<H: Host>(&self, ctx: &mut Ctx<'_, H>, proposer: Address, action: Action) -> Result<u64, Stop> {
        let h = ctx.height;
        let (c, _) = ctx.committee()?;
        if !c.is_governor(&proposer) {
            return revert(format!("{proposer} is not a governor"));
        }
        // Refused now rather than when it passes: a proposal that could not execute is never opened.
        self.effect(ctx, &action, proposer)?;
        let target = action.target();
        let open = U256::from_be_bytes(ctx.reader()(COMMITTEE_ADDRESS, open_proposal_slot(&target))?.0);
        if let Ok(open) = u64::try_from(open)
            && open != 0
            && load(ctx, open)?.status_at(h) == ProposalStatus::Open
        {
            return revert(format!("proposal {open} on {target} is still open"));
        }
        let id = store::proposal_count(&mut ctx.reader())? + 1;
        ctx.write(COMMITTEE_ADDRESS, proposal_count_slot(), B256::from(U256::from(id)))?;
        let ballot = Ballot::open(&c, id, proposer, h).or_else(|e| revert(e.to_string()))?;
        let p = Proposal { ballot, action };
        let event =
            ICommittee::ProposalCreated { id, proposer, kind: p.action.kind().to_string(), args: p.action.args() };
        ctx.emit(COMMITTEE_ADDRESS, event.encode_log_data())?;
        if p.ballot.status == ProposalStatus::Open {
            ctx.write(COMMITTEE_ADDRESS, open_proposal_slot(&target), B256::from(U256::from(id)))?;
        }
        self.conclude(ctx, &p)?;
        ctx.write_record(COMMITTEE_ADDRESS, &proposal_tag(id), &p.encode())?;
        Ok(id)
    }

    /// After a vote: executes a passed proposal, records a decision.
    fn conclude<H: Host>(&self, ctx: &mut Ctx<'_, H>, p: &Proposal) -> Result<(), Stop> {
        let h = ctx.height;
        let id = p.ballot.id;
        let effective = match p.ballot.status {
            ProposalStatus::Open => return Ok(()),
            ProposalStatus::Passed => {
                let writes = self.effect(ctx, &p.action, p.ballot.proposer).map_err(|e| match e {
                    Stop::Revert(why) => Stop::Revert(format!("proposal {id} cannot be executed: {why}")),
                    other => other,
                })?;
                for w in writes {
                    match w {
                        Write::Record(address, tag, bytes) => ctx.write_record(address, tag, &bytes)?,
                        Write::Word(address, slot, word) => ctx.write(address, slot, word)?,
                    }
                }
                h + 1
            }
            _ => 0,
        };
        ctx.write(COMMITTEE_ADDRESS, open_proposal_slot(&p.action.target()), B256::ZERO)?;
        let event =
            ICommittee::ProposalDecided { id, status: p.ballot.status.word().to_string(), effectiveHeight: effective };
        ctx.emit(COMMITTEE_ADDRESS, event.encode_log_data())
    }

    /// What `action` changes, checked against the latest governed state (changes already scheduled count): a
    /// revert says which rule it breaks.
    fn effect<H: Host>(&self, ctx: &mut Ctx<'_, H>, action: &Action, proposer: Address) -> Result<Vec<Write>, Stop> {
        let h = ctx.height;
        match action {
            Action::AddGovernor(..) | Action::RemoveGovernor(_) | Action::SetWeight(..) | Action::SetThresholds(..) => {
                let (_, s) = ctx.committee()?;
                let mut c = Committee::decode(s.latest())
                    .ok_or_else(|| Stop::Host(HostError("the committee record in state does not decode".into())))?;
                match action {
                    Action::AddGovernor(a, w) if c.governors.insert(*a, *w).is_some() => {
                        return revert(format!("{a} is already a governor"));
                    }
                    Action::RemoveGovernor(a) => {
                        if *a == proposer {
                            return revert("a governor cannot propose its own removal");
                        }
                        if c.governors.remove(a).is_none() {
                            return revert(format!("{a} is not a governor"));
                        }
                        if c.governors.is_empty() {
                            return revert("the last governor cannot be removed");
                        }
                    }
                    Action::SetWeight(a, w) => match c.governors.get_mut(a) {
                        Some(weight) => *weight = *w,
                        None => return revert(format!("{a} is not a governor")),
                    },
                    Action::SetThresholds(p, w) => {
                        c.participation_pct = *p;
                        c.win_pct = *w;
                    }
                    _ => {}
                }
                c.validate().or_else(|e| revert(e.to_string()))?;
                Ok(vec![Write::Record(COMMITTEE_ADDRESS, COMMITTEE_TAG, s.schedule(h, c.encode()).encode())])
            }
            Action::SetParam(..) | Action::DeployPolicy(_) | Action::SendPolicy(_) | Action::SetVersion(_) => {
                let s = store::scheduled(&mut ctx.reader(), SYSTEM_CONFIG_ADDRESS, CONFIG_TAG, "system config")?;
                let Some(s) = s else { return revert("this chain has no system config") };
                let mut c = SystemConfig::decode(s.latest())
                    .ok_or_else(|| Stop::Host(HostError("the system config record does not decode".into())))?;
                match action {
                    Action::SetParam(Param::MaxTxBytes, v)
                        if *v as usize
                            > self.max_block_bytes.saturating_sub(accord_sdk::genesis::BLOCK_HEADER_ALLOWANCE) =>
                    {
                        return revert(format!("maxTxBytes {v} would not fit in a block of maxBlockBytes"));
                    }
                    Action::SetParam(param, v) => c.set(*param, *v),
                    Action::DeployPolicy(p) => c.deploy_policy = p.code(),
                    Action::SendPolicy(p) => c.send_policy = p.code(),
                    Action::SetVersion(v) => {
                        if *v <= c.version {
                            return revert(format!(
                                "the compatibility version can only be raised: it is {} (or scheduled to be)",
                                c.version
                            ));
                        }
                        c.version = *v;
                    }
                    _ => {}
                }
                Ok(vec![Write::Record(SYSTEM_CONFIG_ADDRESS, CONFIG_TAG, s.schedule(h, c.encode()).encode())])
            }
            Action::AddValidator(a)
            | Action::RemoveValidator(a)
            | Action::AddObserver(a)
            | Action::RemoveObserver(a) => {
                let s = store::scheduled(&mut ctx.reader(), NODES_ADDRESS, NODES_TAG, "node list")?;
                let Some(s) = s else { return revert("this chain has no node list") };
                let mut n = NodeLists::decode(s.latest())
                    .ok_or_else(|| Stop::Host(HostError("the node list record does not decode".into())))?;
                let entry = NodeEntry { address: *a, since: h + 1 };
                match action {
                    Action::AddObserver(_) => {
                        if n.is_validator(a) || n.is_observer(a) {
                            return revert(format!("{a} is already a member"));
                        }
                        n.observers.push(entry);
                    }
                    Action::RemoveObserver(_) => {
                        if !n.is_observer(a) {
                            return revert(format!("{a} is not an observer"));
                        }
                        n.observers.retain(|o| o.address != *a);
                    }
                    Action::AddValidator(_) => {
                        if !self.pbft {
                            return revert(
                                "this chain started with a single validator and runs without PBFT: it cannot take more validators",
                            );
                        }
                        if !n.is_observer(a) {
                            return revert(format!(
                                "{a} is not an observer: a node joins as an observer, catches up, then is promoted"
                            ));
                        }
                        if n.validators.len() >= accord_sdk::governance::MAX_VALIDATORS {
                            return revert(format!(
                                "the set already holds the most validators ({})",
                                accord_sdk::governance::MAX_VALIDATORS
                            ));
                        }
                        n.observers.retain(|o| o.address != *a);
                        n.validators.push(entry);
                    }
                    _ => {
                        if !n.is_validator(a) {
                            return revert(format!("{a} is not a validator"));
                        }
                        if n.validators.len() == 1 {
                            return revert("the last validator cannot be removed");
                        }
                        n.validators.retain(|v| v.address != *a);
                    }
                }
                Ok(vec![Write::Record(NODES_ADDRESS, NODES_TAG, s.schedule(h, n.encode()).encode())])
            }
            Action::SetAdmin(contract, admin) => {
                if ctx.host.code_hash(*contract).map_err(Stop::Host)?.is_none() {
                    return revert(format!("{contract} is not a contract"));
                }
                let record = store::admin_record(&mut ctx.reader(), *contract)?.schedule(h, *admin);
                let (now, before) = record.to_words();
                Ok(vec![
                    Write::Word(CONTRACT_ADMIN_ADDRESS, admin_slot(*contract), now),
                    Write::Word(CONTRACT_ADMIN_ADDRESS, admin_before_slot(*contract), before),
                ])
            }
            Action::GrantDeploy(a)
            | Action::RevokeDeploy(a)
            | Action::GrantSend(a)
            | Action::RevokeSend(a)
            | Action::Freeze(a)
            | Action::Unfreeze(a)
            | Action::Abolish(a) => {
                let word = store::rights_word(&mut ctx.reader(), *a)?;
                let latest = word.now;
                if latest.status() == AccountStatus::Abolished {
                    return revert(format!("{a} is abolished, which is final"));
                }
                if matches!(action, Action::Freeze(_) | Action::Unfreeze(_) | Action::Abolish(_)) {
                    let (_, s) = ctx.committee()?;
                    if Committee::decode(s.latest()).is_some_and(|c| c.is_governor(a)) {
                        return revert(format!("{a} is a governor: a governor's status cannot be set by proposal"));
                    }
                }
                let status = latest.status();
                let changed = match action {
                    Action::Freeze(_) if status == AccountStatus::Frozen => {
                        return revert(format!("{a} is already frozen"));
                    }
                    Action::Unfreeze(_) if status != AccountStatus::Frozen => {
                        return revert(format!("{a} is not frozen"));
                    }
                    Action::Freeze(_) => word.schedule(h, |r| r.with_status(AccountStatus::Frozen)),
                    Action::Unfreeze(_) => word.schedule(h, |r| r.with_status(AccountStatus::Normal)),
                    Action::Abolish(_) => word.schedule(h, |r| r.with_status(AccountStatus::Abolished)),
                    Action::GrantDeploy(_) => word.schedule(h, |r| r.with_deploy(true)),
                    Action::RevokeDeploy(_) => word.schedule(h, |r| r.with_deploy(false)),
                    Action::GrantSend(_) => word.schedule(h, |r| r.with_send(true)),
                    _ => word.schedule(h, |r| r.with_send(false)),
                };
                Ok(vec![Write::Word(ACCOUNTS_ADDRESS, account_slot(*a), changed.to_word())])
            }
        }
    }
}

fn load<H: Host>(ctx: &mut Ctx<'_, H>, id: u64) -> Result<Proposal, Stop> {
    match store::proposal(&mut ctx.reader(), id)? {
        Some(p) => Ok(p),
        None => revert(format!("there is no proposal {id}")),
    }
}

fn config_call<H: Host>(ctx: &mut Ctx<'_, H>, selector: [u8; 4], input: &[u8]) -> Result<Vec<u8>, Stop> {
    let h = ctx.height;
    let read = |ctx: &mut Ctx<'_, H>| -> Result<(SystemConfig, u64), Stop> {
        match store::config_at(&mut ctx.reader(), h)? {
            Some(c) => Ok(c),
            None => revert("this chain has no system config"),
        }
    };
    match selector {
        ISystemConfig::versionCall::SELECTOR => {
            let (c, since) = read(ctx)?;
            Ok(ISystemConfig::versionCall::abi_encode_returns_tuple(&(c.version, since)))
        }
        ISystemConfig::getParamCall::SELECTOR => {
            let key = decode::<ISystemConfig::getParamCall>(input)?.key;
            let Some(param) = Param::from_key(&key) else { return revert(format!("unknown parameter {key:?}")) };
            let (c, since) = read(ctx)?;
            Ok(ISystemConfig::getParamCall::abi_encode_returns_tuple(&(c.get(param), since)))
        }
        ISystemConfig::policiesCall::SELECTOR => {
            let (c, _) = read(ctx)?;
            let out = (c.deploy().word().to_string(), c.send().word().to_string());
            Ok(ISystemConfig::policiesCall::abi_encode_returns_tuple(&out))
        }
        ISystemConfig::setParamCall::SELECTOR => {
            revert("chain parameters change only by a passed proposal (accord gov propose set-param KEY VALUE)")
        }
        _ => revert("unknown function of the system config contract"),
    }
}

fn nodes_call<H: Host>(ctx: &mut Ctx<'_, H>, selector: [u8; 4]) -> Result<Vec<u8>, Stop> {
    let h = ctx.height;
    let lists = |ctx: &mut Ctx<'_, H>| -> Result<NodeLists, Stop> {
        Ok(store::nodes_at(&mut ctx.reader(), h)?.map(|(n, _)| n).unwrap_or_default())
    };
    let split = |entries: Vec<NodeEntry>| -> (Vec<Address>, Vec<u64>) {
        entries.into_iter().map(|e| (e.address, e.since)).unzip()
    };
    match selector {
        INodes::validatorsCall::SELECTOR => {
            let n = lists(ctx)?;
            Ok(INodes::validatorsCall::abi_encode_returns_tuple(&split(n.validators)))
        }
        INodes::observersCall::SELECTOR => {
            let n = lists(ctx)?;
            Ok(INodes::observersCall::abi_encode_returns_tuple(&split(n.observers)))
        }
        INodes::addValidatorCall::SELECTOR => {
            revert("validators change only by a passed proposal (accord gov propose add-validator NODE_ADDRESS)")
        }
        _ => revert("unknown function of the node management contract"),
    }
}

fn accounts_call<H: Host>(ctx: &mut Ctx<'_, H>, selector: [u8; 4], input: &[u8]) -> Result<Vec<u8>, Stop> {
    match selector {
        IAccounts::statusOfCall::SELECTOR => {
            let account = decode::<IAccounts::statusOfCall>(input)?.account;
            let h = ctx.height;
            let read: &mut SlotReader<'_> = &mut ctx.reader();
            let (r, since) = store::rights_word(read, account)?.at(h);
            let out = (r.status().word().to_string(), r.send_granted(), r.deploy_granted(), r.deploy_revoked(), since);
            Ok(IAccounts::statusOfCall::abi_encode_returns_tuple(&out))
        }
        IAccounts::setStatusCall::SELECTOR => {
            revert("account status changes only by a passed proposal (accord gov propose freeze|unfreeze|abolish ADDR)")
        }
        _ => revert("unknown function of the account status contract"),
    }
}

fn admin_call<H: Host>(
    ctx: &mut Ctx<'_, H>,
    caller: Address,
    selector: [u8; 4],
    input: &[u8],
) -> Result<Vec<u8>, Stop> {
    let h = ctx.height;
    let word = |ctx: &mut Ctx<'_, H>, slot| -> Result<ByteWord, Stop> {
        Ok(ByteWord::from_word(ctx.reader()(CONTRACT_ADMIN_ADDRESS, slot)?))
    };
    // Only the contract's admin at this height writes; each write holds from the next block.
    let must_be_admin = |ctx: &mut Ctx<'_, H>, contract: Address| -> Result<(), Stop> {
        let (admin, _) = store::admin_at(&mut ctx.reader(), contract, h)?;
        if admin.is_zero() {
            return revert(format!("contract {contract} has no admin"));
        }
        if admin != caller {
            return revert(format!("only the admin {admin} of contract {contract} may do this"));
        }
        Ok(())
    };
    let policy = |word: &str| Policy::parse(word, &Policy::ALL).map_err(Stop::Revert);
    match selector {
        IContractAdmin::adminOfCall::SELECTOR => {
            let c = decode::<IContractAdmin::adminOfCall>(input)?.contract_;
            let (admin, since) = store::admin_at(&mut ctx.reader(), c, h)?;
            Ok(IContractAdmin::adminOfCall::abi_encode_returns_tuple(&(admin, since)))
        }
        IContractAdmin::contractStatusCall::SELECTOR => {
            let c = decode::<IContractAdmin::contractStatusCall>(input)?.contract_;
            let w = word(ctx, contract_status_slot(c))?;
            let since = if h >= w.since { w.since } else { 0 };
            let out = (status_of_code(w.at(h)).word().to_string(), since);
            Ok(IContractAdmin::contractStatusCall::abi_encode_returns_tuple(&out))
        }
        IContractAdmin::methodAccessCall::SELECTOR => {
            let call = decode::<IContractAdmin::methodAccessCall>(input)?;
            let (c, sel) = (call.contract_, call.selector.0);
            let mode = Policy::from_code(word(ctx, method_slot(c, sel))?.at(h)).unwrap_or(Policy::Open);
            let listed = word(ctx, method_caller_slot(c, sel, call.caller))?.at(h) == 1;
            let allowed = match mode {
                Policy::Open => true,
                Policy::Allowlist => listed,
                Policy::Denylist => !listed,
            };
            Ok(IContractAdmin::methodAccessCall::abi_encode_returns_tuple(&(mode.word().to_string(), listed, allowed)))
        }
        IContractAdmin::setContractStatusCall::SELECTOR => {
            let call = decode::<IContractAdmin::setContractStatusCall>(input)?;
            let c = call.contract_;
            must_be_admin(ctx, c)?;
            let status = AccountStatus::from_word(&call.status).ok_or_else(|| {
                Stop::Revert(format!("status {:?} is not one of normal, frozen, abolished", call.status))
            })?;
            let w = word(ctx, contract_status_slot(c))?;
            if status_of_code(w.now) == AccountStatus::Abolished {
                return revert(format!("contract {c} is abolished, which is final"));
            }
            ctx.write(
                CONTRACT_ADMIN_ADDRESS,
                contract_status_slot(c),
                w.schedule(h, code_of_status(status)).to_word(),
            )?;
            let event = IContractAdmin::ContractStatusSet { contract_: c, status: call.status, effectiveHeight: h + 1 };
            ctx.emit(CONTRACT_ADMIN_ADDRESS, event.encode_log_data())?;
            Ok(Vec::new())
        }
        IContractAdmin::setMethodAccessCall::SELECTOR => {
            let call = decode::<IContractAdmin::setMethodAccessCall>(input)?;
            let (c, sel) = (call.contract_, call.selector.0);
            must_be_admin(ctx, c)?;
            let mode = policy(&call.mode)?;
            let w = word(ctx, method_slot(c, sel))?;
            ctx.write(CONTRACT_ADMIN_ADDRESS, method_slot(c, sel), w.schedule(h, mode.code()).to_word())?;
            let event = IContractAdmin::MethodAccessSet {
                contract_: c,
                selector: call.selector,
                mode: call.mode,
                effectiveHeight: h + 1,
            };
            ctx.emit(CONTRACT_ADMIN_ADDRESS, event.encode_log_data())?;
            Ok(Vec::new())
        }
        IContractAdmin::setMethodCallerCall::SELECTOR => {
            let call = decode::<IContractAdmin::setMethodCallerCall>(input)?;
            let (c, sel) = (call.contract_, call.selector.0);
            must_be_admin(ctx, c)?;
            let slot = method_caller_slot(c, sel, call.caller);
            let w = word(ctx, slot)?;
            ctx.write(CONTRACT_ADMIN_ADDRESS, slot, w.schedule(h, u8::from(call.listed)).to_word())?;
            let event = IContractAdmin::MethodCallerSet {
                contract_: c,
                selector: call.selector,
                caller: call.caller,
                listed: call.listed,
                effectiveHeight: h + 1,
            };
            ctx.emit(CONTRACT_ADMIN_ADDRESS, event.encode_log_data())?;
            Ok(Vec::new())
        }
        _ => revert("unknown function of the contract admin contract"),
    }
}
