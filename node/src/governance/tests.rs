//! Governance end to end inside one node: real transactions through block building, execution and commit on a
//! RocksDB chain in a temp dir; the revert reasons are read the way `eth_call` reads them.

use std::collections::HashMap;
use std::sync::Arc;

use accord_sdk::crypto::CryptoSuite;
use accord_sdk::genesis::ChainParams;
use accord_sdk::governance::{ACCOUNTS_ADDRESS, COMMITTEE_ADDRESS, Committee, SYSTEM_CONFIG_ADDRESS};
use accord_sdk::keys::KeyPair;
use accord_sdk::receipt::Receipt;
use accord_sdk::tx::{SignedTransaction, TxLimits};
use accord_sdk::{Address, U256};
use accord_vm::{Outcome, Status};
use alloy_consensus::{SignableTransaction, TxEnvelope, TxLegacy};
use alloy_primitives::{Bytes, TxKind};
use alloy_sol_types::{SolCall, SolError, SolEvent};

use super::Refusal;
use super::abi::{Error, IAccounts, ICommittee, ISystemConfig};
use crate::chain::{Chain, ChainError};
use crate::executor::{BlockEnv, ExecutionError, Simulation, TxRejection};

struct Fx {
    _dir: tempfile::TempDir,
    chain: Arc<Chain>,
    validator: KeyPair,
    gov: Vec<KeyPair>,
    outsider: KeyPair,
    nonces: HashMap<Address, u64>,
}

const FUNDS: u64 = 1_000_000_000_000;

impl Fx {
    fn new(lifetime: u64) -> Self {
        let validator = KeyPair::generate();
        let gov: Vec<KeyPair> = (0..3).map(|_| KeyPair::generate()).collect();
        let outsider = KeyPair::generate();
        let alloc: Vec<(Address, U256)> =
            gov.iter().chain([&outsider]).map(|k| (k.address(), U256::from(FUNDS))).collect();
        let mut genesis = crate::test_genesis::genesis(&validator, &alloc, ChainParams::default());
        genesis.committee = Some(Committee {
            governors: gov.iter().map(|k| (k.address(), 1)).collect(),
            // Two of three decide; one against of two denies.
            participation_pct: 50,
            win_pct: 51,
            lifetime_blocks: lifetime,
        });
        let dir = tempfile::tempdir().expect("tempdir");
        let chain = Arc::new(Chain::open(dir.path(), genesis).expect("opens"));
        Self { _dir: dir, chain, validator, gov, outsider, nonces: HashMap::new() }
    }

    fn tx(&mut self, k: &KeyPair, to: Option<Address>, input: Vec<u8>) -> SignedTransaction {
        let nonce = self.nonces.entry(k.address()).or_default();
        let tx = TxLegacy {
            chain_id: Some(5),
            nonce: *nonce,
            gas_price: 0,
            // A creation pays the code deposit per byte.
            gas_limit: if to.is_some() { 2_000_000 } else { 30_000_000 },
            to: to.map(TxKind::Call).unwrap_or(TxKind::Create),
            value: U256::ZERO,
            input: Bytes::from(input),
        };
        *nonce += 1;
        let sig = k.sign_prehash(&tx.signature_hash()).expect("sign");
        let env: TxEnvelope = tx.into_signed(sig).into();
        let limits = TxLimits { chain_id: 5, max_tx_bytes: 1 << 20, crypto: CryptoSuite::default() };
        SignedTransaction::from_envelope(env, &limits).expect("valid")
    }

    /// Builds and commits one block of `txs`; returns the receipts and what was left out.
    fn block(&mut self, txs: Vec<SignedTransaction>) -> (Vec<Receipt>, Vec<TxRejection>) {
        let head = self.chain.head();
        let built = self.chain.build_block(txs, head.timestamp + 1, self.validator.address()).expect("builds");
        let cert = accord_sdk::block::CommitCertificate::sign(&self.validator, &built.block.header, 0).expect("sign");
        let receipts = built.block.receipts.clone();
        let skipped: Vec<TxRejection> = built.skipped.iter().map(|(_, r)| r.clone()).collect();
        self.chain.commit(built, cert).expect("commits");
        (receipts, skipped)
    }

    /// What `from` calling `to` with `input` would do in the next block (as `eth_call`).
    fn simulate(&self, from: Address, to: Address, input: Vec<u8>) -> Outcome {
        let head = self.chain.head();
        let env = BlockEnv {
            number: head.number + 1,
            timestamp: head.timestamp + 1,
            proposer: Address::ZERO,
            base_fee: 0,
            gas_limit: 30_000_000,
            rules: self.chain.next_rules().expect("rules"),
            system_writes: Vec::new(),
        };
        let sim = Simulation { from, to: Some(to), value: U256::ZERO, input, gas: 5_000_000 };
        self.chain.simulator().simulate(Arc::new(self.chain.state().latest()), &env, sim).expect("simulates")
    }

    /// Sends a committee call from governor `g` in its own block; `Err(revert reason)` when it reverts (checked by
    /// simulation first, then confirmed by the failed receipt).
    fn committee(&mut self, g: &KeyPair, input: Vec<u8>) -> Result<Receipt, String> {
        let sim = self.simulate(g.address(), COMMITTEE_ADDRESS, input.clone());
        let tx = self.tx(g, Some(COMMITTEE_ADDRESS), input);
        let (receipts, skipped) = self.block(vec![tx]);
        assert!(skipped.is_empty(), "a governor's call is never left out: {skipped:?}");
        let receipt = receipts.into_iter().next().expect("included");
        match sim.status {
            Status::Success => {
                assert!(receipt.success, "simulated success, executed failure");
                Ok(receipt)
            }
            _ => {
                assert!(!receipt.success, "simulated revert, executed success");
                Err(Error::abi_decode(&sim.output).map(|e| e.reason).unwrap_or_else(|_| format!("{:?}", sim.status)))
            }
        }
    }

    fn propose(&mut self, g: usize, kind: &str, args: &[&str]) -> Result<u64, String> {
        let g = self.gov[g].clone();
        self.propose_as(&g, kind, args)
    }

    fn propose_as(&mut self, k: &KeyPair, kind: &str, args: &[&str]) -> Result<u64, String> {
        let call = ICommittee::proposeCall { kind: kind.into(), args: args.iter().map(|s| s.to_string()).collect() };
        let receipt = self.committee(k, call.abi_encode())?;
        let created = receipt
            .logs
            .iter()
            .find_map(|l| ICommittee::ProposalCreated::decode_log_data(&l.data).ok())
            .expect("ProposalCreated");
        Ok(created.id)
    }

    fn vote(&mut self, g: usize, id: u64, agree: bool) -> Result<String, String> {
        self.vote_event(g, id, agree).map(|(status, _)| status)
    }

    /// A vote's outcome from its receipt: the status and, for a pass, the first height the change holds.
    fn vote_event(&mut self, g: usize, id: u64, agree: bool) -> Result<(String, u64), String> {
        let k = self.gov[g].clone();
        let receipt = self.committee(&k, ICommittee::voteCall { id, agree }.abi_encode())?;
        let decided = receipt.logs.iter().find_map(|l| ICommittee::ProposalDecided::decode_log_data(&l.data).ok());
        Ok(decided.map(|d| (d.status, d.effectiveHeight)).unwrap_or_else(|| ("open".into(), 0)))
    }

    fn status(&self, id: u64) -> String {
        let out = self.simulate(Address::ZERO, COMMITTEE_ADDRESS, ICommittee::getProposalCall { id }.abi_encode());
        ICommittee::getProposalCall::abi_decode_returns(&out.output).expect("decodes").status
    }

    fn account_status(&self, a: Address) -> String {
        let out = self.simulate(Address::ZERO, ACCOUNTS_ADDRESS, IAccounts::statusOfCall { account: a }.abi_encode());
        IAccounts::statusOfCall::abi_decode_returns(&out.output).expect("decodes").status
    }

    /// Passes a proposal of governor 0 with governor 1's vote; returns the height it takes effect.
    fn pass(&mut self, kind: &str, args: &[&str]) -> u64 {
        let id = self.propose(0, kind, args).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let mut outcome = self.vote_event(1, id, true);
        if matches!(&outcome, Ok((s, _)) if s == "open") {
            outcome = self.vote_event(2, id, true);
        }
        let (status, effective) = outcome.unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(status, "passed", "{kind}");
        effective
    }

    fn transfer(&mut self, from: &KeyPair) -> SignedTransaction {
        self.tx(from, Some(Address::repeat_byte(0x77)), Vec::new())
    }

    /// Sends `tx` alone in a block: `Ok` when included, the refusal when left out (its nonce is then reused).
    fn try_send(&mut self, from: &KeyPair, tx: SignedTransaction) -> Result<Receipt, TxRejection> {
        let (receipts, skipped) = self.block(vec![tx]);
        match skipped.into_iter().next() {
            Some(r) => {
                *self.nonces.get_mut(&from.address()).expect("sent before") -= 1;
                Err(r)
            }
            None => Ok(receipts.into_iter().next().expect("included")),
        }
    }
}

impl Fx {
    /// The node's transaction pool over this chain, as RPC submits to it.
    fn pool(&self) -> crate::txpool::TxPool {
        let metrics = crate::metrics::Metrics::new().expect("metrics");
        let mempool = crate::mempool::Mempool::new(Default::default(), 300_000_000, 0);
        crate::txpool::TxPool::new(self.chain.clone(), mempool, None, metrics)
    }
}

fn reason_of(r: Result<impl std::fmt::Debug, String>) -> String {
    r.expect_err("refused")
}

#[test]
fn only_governors_propose_and_vote_and_each_decision_is_final() {
    let mut f = Fx::new(1_000);
    let outsider = f.outsider.clone();
    let target = Address::repeat_byte(0x42).to_string();

    let e = reason_of(f.propose_as(&outsider, "freeze", &[&target]));
    assert_eq!(e, format!("{} is not a governor", outsider.address()));

    // Below participation (1 of 3 weight voted): open, not executed.
    let id = f.propose(0, "freeze", &[&target]).expect("proposes");
    assert_eq!(f.status(id), "open");
    f.block(vec![]);
    assert_eq!(f.status(id), "open", "still open a block later");
    assert_eq!(f.account_status(Address::repeat_byte(0x42)), "normal", "an open proposal changes nothing");

    // A second open proposal on the same target is refused, whatever its direction.
    let e = reason_of(f.propose(1, "abolish", &[&target]));
    assert_eq!(e, format!("proposal {id} on status {} is still open", Address::repeat_byte(0x42)));

    // An outsider cannot vote.
    let call = ICommittee::voteCall { id, agree: true }.abi_encode();
    let e = reason_of(f.committee(&outsider, call));
    assert!(e.contains("is not a governor"), "{e}");

    // One for, one against: 50 % agreeing is below the 51 % win threshold. Denied, final, never executed.
    assert_eq!(f.vote(1, id, false).as_deref(), Ok("denied"));
    assert_eq!(f.status(id), "denied");
    let e = reason_of(f.vote(2, id, true));
    assert_eq!(e, format!("proposal {id} is denied, not open"));
    f.block(vec![]);
    assert_eq!(f.account_status(Address::repeat_byte(0x42)), "normal");

    // The target is free again; a revoked proposal cannot be voted through.
    let id = f.propose(1, "freeze", &[&target]).expect("proposes again");
    let e = reason_of(f.committee(&f.gov[0].clone(), ICommittee::revokeCall { id }.abi_encode()));
    assert_eq!(e, format!("only the proposer {} may revoke this proposal", f.gov[1].address()));
    f.committee(&f.gov[1].clone(), ICommittee::revokeCall { id }.abi_encode()).expect("the proposer revokes");
    assert_eq!(f.status(id), "revoked");
    assert_eq!(reason_of(f.vote(0, id, true)), format!("proposal {id} is revoked, not open"));
    assert_eq!(f.account_status(Address::repeat_byte(0x42)), "normal");

    // Passed: executed in the deciding vote's transaction, in force from the next block.
    let id = f.propose(0, "freeze", &[&target]).expect("proposes");
    assert_eq!(f.vote(2, id, true).as_deref(), Ok("passed"));
    assert_eq!(f.status(id), "passed");
    assert_eq!(f.account_status(Address::repeat_byte(0x42)), "frozen");
}

#[test]
fn expired_proposals_cannot_be_voted_through() {
    let mut f = Fx::new(3);
    let target = Address::repeat_byte(0x43).to_string();
    let id = f.propose(0, "freeze", &[&target]).expect("proposes");
    let created = f.chain.head().number;
    while f.chain.head().number + 1 < created + 3 {
        f.block(vec![]);
    }
    assert_eq!(f.status(id), "expired", "read as expired from its last block on");
    assert_eq!(reason_of(f.vote(1, id, true)), format!("proposal {id} expired"));
    assert_eq!(f.account_status(Address::repeat_byte(0x43)), "normal");
    // An expired proposal no longer holds its target.
    f.propose(1, "freeze", &[&target]).expect("a new proposal on the same target");
}

#[test]
fn send_policy_and_freezing_are_enforced_in_blocks_from_the_effective_height() {
    let mut f = Fx::new(1_000);
    let outsider = f.outsider.clone();
    let who = outsider.address().to_string();

    let effective = f.pass("send-policy", &["allowlist"]);
    assert_eq!(f.chain.head().number + 1, effective);
    let tx = f.transfer(&outsider);
    assert_eq!(
        f.try_send(&outsider, tx).expect_err("refused"),
        TxRejection::NotPermitted(Refusal::SendNotPermitted(outsider.address()))
    );
    let g = f.gov[2].clone();
    let tx = f.transfer(&g);
    f.try_send(&g, tx).expect("governors always send");

    f.pass("grant-send", &[&who]);
    let tx = f.transfer(&outsider);
    f.try_send(&outsider, tx).expect("granted");

    f.pass("freeze", &[&who]);
    let tx = f.transfer(&outsider);
    assert_eq!(
        f.try_send(&outsider, tx).expect_err("frozen"),
        TxRejection::NotPermitted(Refusal::Frozen(outsider.address()))
    );
    let tx = f.transfer(&outsider);
    *f.nonces.get_mut(&outsider.address()).expect("sent before") -= 1;
    match f.pool().submit_raw(tx.encoded()) {
        Err(crate::txpool::SubmitError::NotPermitted(r)) => assert_eq!(r, Refusal::Frozen(outsider.address())),
        other => panic!("the pool refuses a frozen sender before pooling: {other:?}"),
    }
    // Calls into a frozen account are refused too.
    let tx = f.tx(&g, Some(outsider.address()), Vec::new());
    assert_eq!(
        f.try_send(&g, tx).expect_err("callee frozen"),
        TxRejection::NotPermitted(Refusal::Frozen(outsider.address()))
    );

    f.pass("unfreeze", &[&who]);
    let tx = f.transfer(&outsider);
    f.try_send(&outsider, tx).expect("unfrozen");

    f.pass("abolish", &[&who]);
    let tx = f.transfer(&outsider);
    assert_eq!(
        f.try_send(&outsider, tx).expect_err("abolished"),
        TxRejection::NotPermitted(Refusal::Abolished(outsider.address()))
    );
    assert_eq!(
        reason_of(f.propose(0, "unfreeze", &[&who])),
        format!("{} is abolished, which is final", outsider.address())
    );
    assert_eq!(f.account_status(outsider.address()), "abolished");

    // A governor's own status is not for proposals.
    let g0 = f.gov[0].address().to_string();
    assert!(reason_of(f.propose(1, "freeze", &[&g0])).contains("is a governor"));
}

#[test]
fn deploy_policy_refuses_creation_until_granted() {
    let mut f = Fx::new(1_000);
    let outsider = f.outsider.clone();
    f.pass("deploy-policy", &["allowlist"]);
    let tx = f.tx(&outsider, None, Vec::new());
    assert_eq!(
        f.try_send(&outsider, tx).expect_err("refused"),
        TxRejection::NotPermitted(Refusal::DeployNotPermitted(outsider.address()))
    );
    f.pass("grant-deploy", &[&outsider.address().to_string()]);
    let tx = f.tx(&outsider, None, Vec::new());
    // Included (an empty module fails, but the policy let it through).
    f.try_send(&outsider, tx).expect("granted");

    f.pass("deploy-policy", &["denylist"]);
    f.pass("revoke-deploy", &[&outsider.address().to_string()]);
    let tx = f.tx(&outsider, None, Vec::new());
    assert!(matches!(f.try_send(&outsider, tx), Err(TxRejection::NotPermitted(Refusal::DeployNotPermitted(_)))));
}

#[test]
fn a_parameter_change_takes_effect_at_the_next_height() {
    let mut f = Fx::new(1_000);
    let id = f.propose(0, "set-param", &["maxBlockTransactions", "2"]).expect("proposes");
    let outsider = f.outsider.clone();
    // Decided in a block that also carries transfers: the block that executes it is not limited yet.
    let vote = f.tx(&f.gov[1].clone(), Some(COMMITTEE_ADDRESS), ICommittee::voteCall { id, agree: true }.abi_encode());
    let mut txs = vec![vote];
    txs.extend((0..4).map(|_| f.transfer(&outsider)));
    let (receipts, skipped) = f.block(txs);
    assert_eq!((receipts.len(), skipped.len()), (5, 0));
    let decided = receipts[0].logs.iter().find_map(|l| ICommittee::ProposalDecided::decode_log_data(&l.data).ok());
    let effective = f.chain.head().number + 1;
    assert_eq!(decided.map(|d| (d.status, d.effectiveHeight)), Some(("passed".into(), effective)));

    let out = f.simulate(
        Address::ZERO,
        SYSTEM_CONFIG_ADDRESS,
        ISystemConfig::getParamCall { key: "maxBlockTransactions".into() }.abi_encode(),
    );
    let got = ISystemConfig::getParamCall::abi_decode_returns(&out.output).expect("decodes");
    assert_eq!((got.value, got.since), (2, effective));

    let txs: Vec<_> = (0..4).map(|_| f.transfer(&outsider)).collect();
    let (receipts, skipped) = f.block(txs);
    assert_eq!(receipts.len(), 2, "block {effective} holds at most 2");
    assert_eq!(skipped, vec![TxRejection::BlockFull(2); 2]);
}

#[test]
fn a_version_above_the_binary_stops_execution_with_a_clear_error() {
    let mut f = Fx::new(1_000);
    assert!(reason_of(f.propose(0, "set-version", &["1"])).contains("can only be raised"));
    let effective = f.pass("set-version", &[&(super::SUPPORTED_VERSION + 1).to_string()]);
    let head = f.chain.head();
    let err = f.chain.build_block(vec![], head.timestamp + 1, f.validator.address()).expect_err("refused");
    let expected = format!(
        "block {effective} runs compatibility version {}, but this binary supports up to {}: upgrade the node",
        super::SUPPORTED_VERSION + 1,
        super::SUPPORTED_VERSION
    );
    assert!(err.to_string().contains(&expected), "{err}");
    match err {
        ChainError::Execution(ExecutionError::UnsupportedVersion { number, version, supported }) => {
            assert_eq!(
                (number, version, supported),
                (effective, super::SUPPORTED_VERSION + 1, super::SUPPORTED_VERSION)
            );
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn committee_rules_guard_the_committee() {
    let mut f = Fx::new(1_000);
    let g0 = f.gov[0].address().to_string();
    assert_eq!(reason_of(f.propose(0, "remove-governor", &[&g0])), "a governor cannot propose its own removal");
    let newcomer = KeyPair::generate().address().to_string();
    f.pass("add-governor", &[&newcomer, "2"]);
    assert!(reason_of(f.propose(0, "add-governor", &[&newcomer, "1"])).contains("is already a governor"));
    f.pass("set-thresholds", &["60", "60"]);
    let out = f.simulate(Address::ZERO, COMMITTEE_ADDRESS, ICommittee::thresholdsCall {}.abi_encode());
    let t = ICommittee::thresholdsCall::abi_decode_returns(&out.output).expect("decodes");
    assert_eq!((t.participation, t.win), (60, 60));
    // Node changes follow their rules: only an observer is promoted, and a single-validator chain has no PBFT.
    assert!(reason_of(f.propose(0, "add-validator", &[&newcomer])).contains("runs without PBFT"));
    let v = f.validator.address().to_string();
    assert!(reason_of(f.propose(0, "remove-validator", &[&v])).contains("last validator"));
    f.pass("add-observer", &[&newcomer]);
    assert!(reason_of(f.propose(0, "add-observer", &[&newcomer])).contains("already a member"));
    let lists = f.chain.nodes_at(f.chain.head().number + 1).expect("lists");
    assert_eq!(lists.observers.iter().map(|o| o.address.to_string()).collect::<Vec<_>>(), vec![newcomer.clone()]);
    f.pass("remove-observer", &[&newcomer]);
    assert!(f.chain.nodes_at(f.chain.head().number + 1).expect("lists").observers.is_empty());
    // Direct writes are refused with a reason.
    let out = f.simulate(
        f.gov[0].address(),
        ACCOUNTS_ADDRESS,
        IAccounts::setStatusCall { account: Address::ZERO, status: "frozen".into() }.abi_encode(),
    );
    assert!(Error::abi_decode(&out.output).expect("reason").reason.contains("only by a passed proposal"));
}

#[test]
fn a_contracts_admin_closes_methods_and_freezes_it_and_a_proposal_replaces_the_admin() {
    use super::abi::IContractAdmin;
    use accord_sdk::governance::CONTRACT_ADMIN_ADDRESS;
    use alloy_sol_types::SolValue;

    alloy_sol_types::sol! {
        function transfer(address to, uint256 value) external returns (bool);
    }
    let mut f = Fx::new(1_000);
    let (owner, other) = (f.outsider.clone(), f.gov[2].clone());
    let artifact: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(std::path::Path::new(env!("ACCORD_CONTRACTS_OUT")).join("token.json"))
            .expect("artifact"),
    )
    .expect("json");
    let mut code = alloy_primitives::hex::decode(artifact["bytecode"].as_str().expect("bytecode")).expect("hex");
    code.extend(("T".to_string(), "T".to_string(), U256::from(1_000u64)).abi_encode_params());
    let deploy = f.tx(&owner, None, code);
    let receipt = f.try_send(&owner, deploy).expect("deployed");
    let token = receipt.contract_address.expect("a contract");
    let admin_of = |f: &Fx| {
        let out = f.simulate(
            Address::ZERO,
            CONTRACT_ADMIN_ADDRESS,
            IContractAdmin::adminOfCall { contract_: token }.abi_encode(),
        );
        IContractAdmin::adminOfCall::abi_decode_returns(&out.output).expect("decodes").admin
    };
    assert_eq!(admin_of(&f), owner.address(), "the deployer is the admin");

    // The owner sends the other account some tokens, then closes `transfer` to everyone not on its list.
    let give = transferCall { to: other.address(), value: U256::from(10u8) }.abi_encode();
    let tx = f.tx(&owner, Some(token), give);
    assert!(f.try_send(&owner, tx).expect("included").success);
    let sel = alloy_primitives::FixedBytes(transferCall::SELECTOR);
    let close = IContractAdmin::setMethodAccessCall { contract_: token, selector: sel, mode: "allowlist".into() };
    let tx = f.tx(&owner, Some(CONTRACT_ADMIN_ADDRESS), close.abi_encode());
    assert!(f.try_send(&owner, tx).expect("included").success);
    let pay = transferCall { to: owner.address(), value: U256::from(1u8) }.abi_encode();
    let tx = f.tx(&other, Some(token), pay.clone());
    assert_eq!(
        f.try_send(&other, tx).expect_err("closed"),
        TxRejection::NotPermitted(Refusal::MethodClosed { contract: token, selector: sel, caller: other.address() })
    );
    // Someone else cannot open it.
    let list =
        IContractAdmin::setMethodCallerCall { contract_: token, selector: sel, caller: other.address(), listed: true };
    let out = f.simulate(other.address(), CONTRACT_ADMIN_ADDRESS, list.abi_encode());
    assert!(Error::abi_decode(&out.output).expect("reason").reason.contains("only the admin"));
    let tx = f.tx(&owner, Some(CONTRACT_ADMIN_ADDRESS), list.abi_encode());
    assert!(f.try_send(&owner, tx).expect("included").success);
    let tx = f.tx(&other, Some(token), pay.clone());
    assert!(f.try_send(&other, tx).expect("listed").success);

    // The admin freezes the contract: nobody can call it.
    let freeze = IContractAdmin::setContractStatusCall { contract_: token, status: "frozen".into() };
    let tx = f.tx(&owner, Some(CONTRACT_ADMIN_ADDRESS), freeze.abi_encode());
    assert!(f.try_send(&owner, tx).expect("included").success);
    let tx = f.tx(&other, Some(token), pay.clone());
    assert_eq!(f.try_send(&other, tx).expect_err("frozen"), TxRejection::NotPermitted(Refusal::ContractFrozen(token)));

    // The committee gives the contract a new admin (the old key is lost): only the new one can unfreeze it.
    f.pass("set-admin", &[&token.to_string(), &other.address().to_string()]);
    assert_eq!(admin_of(&f), other.address());
    let unfreeze = IContractAdmin::setContractStatusCall { contract_: token, status: "normal".into() };
    let out = f.simulate(owner.address(), CONTRACT_ADMIN_ADDRESS, unfreeze.abi_encode());
    assert!(Error::abi_decode(&out.output).expect("reason").reason.contains("only the admin"));
    let tx = f.tx(&other, Some(CONTRACT_ADMIN_ADDRESS), unfreeze.abi_encode());
    assert!(f.try_send(&other, tx).expect("included").success);
    let tx = f.tx(&other, Some(token), pay);
    assert!(f.try_send(&other, tx).expect("open again").success);
    assert!(
        reason_of(f.propose(0, "set-admin", &[&owner.address().to_string(), &owner.address().to_string()]))
            .contains("is not a contract")
    );
}

#[test]
fn an_emergency_transition_can_only_name_a_height_not_yet_committed() {
    use super::emergency::EmergencyTransition;
    let mut f = Fx::new(1_000);
    f.block(vec![]);
    f.block(vec![]);
    let genesis = f.chain.genesis().clone();
    let Fx { _dir: dir, chain, validator, .. } = f;
    drop(chain);
    let other = KeyPair::generate().address();
    let past = EmergencyTransition { height: 2, validators: Some(vec![other]), committee: None };
    let err = Chain::open_with(dir.path(), genesis.clone(), Some(past)).expect_err("refused");
    assert!(err.to_string().contains("already committed"), "{err}");
    // The transition that did happen (block 2 was certified by this set) is accepted on restart.
    let applied = EmergencyTransition { height: 2, validators: Some(vec![validator.address()]), committee: None };
    Chain::open_with(dir.path(), genesis.clone(), Some(applied)).expect("opens");
    let empty = EmergencyTransition { height: 9, validators: None, committee: None };
    let err = Chain::open_with(dir.path(), genesis, Some(empty)).expect_err("names nothing");
    assert!(err.to_string().contains("names neither validators nor a committee"), "{err}");
}

#[test]
fn the_contract_memory_cap_and_the_consensus_timeout_are_chain_parameters() {
    alloy_sol_types::sol! {
        function balanceOf(address owner) external view returns (uint256);
    }
    use alloy_sol_types::SolValue;
    let mut f = Fx::new(1_000);
    let owner = f.outsider.clone();
    let artifact: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(std::path::Path::new(env!("ACCORD_CONTRACTS_OUT")).join("token.json"))
            .expect("artifact"),
    )
    .expect("json");
    let mut code = alloy_primitives::hex::decode(artifact["bytecode"].as_str().expect("bytecode")).expect("hex");
    code.extend(("T".to_string(), "T".to_string(), U256::from(5u8)).abi_encode_params());
    let deploy = f.tx(&owner, None, code);
    let token = f.try_send(&owner, deploy).expect("deployed").contract_address.expect("contract");
    let read =
        |f: &Fx| f.simulate(owner.address(), token, balanceOfCall { owner: owner.address() }.abi_encode()).status;
    assert_eq!(read(&f), Status::Success);

    // One wasm page is less than the token's own linear memory: from the effective height its calls fail.
    f.pass("set-param", &["maxContractMemoryBytes", "65536"]);
    assert!(matches!(read(&f), Status::Failure(_)), "{:?}", read(&f));
    f.pass("set-param", &["maxContractMemoryBytes", "16777216"]);
    assert_eq!(read(&f), Status::Success);

    f.pass("set-param", &["consensusTimeoutMs", "3000"]);
    assert_eq!(f.chain.next_rules().expect("rules").config.consensus_timeout_ms, 3_000);
    assert!(reason_of(f.propose(0, "set-param", &["consensusTimeoutMs", "100"])).contains("from 2000 to 60000"));
}
