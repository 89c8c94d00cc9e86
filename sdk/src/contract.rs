//! Typed contract calls from an ABI JSON (a Foundry-style artifact `{"abi", "bytecode"}` as `contracts/out/`
//! holds, or the ABI array alone): arguments and results are Solidity values, encoded and decoded by the ABI.

use std::time::Duration;

pub use alloy_dyn_abi::DynSolValue;
use alloy_dyn_abi::{EventExt, FunctionExt, JsonAbiExt, Specifier};
use alloy_json_abi::{Function, JsonAbi};
use alloy_primitives::{Address, Bytes};
use alloy_rpc_types_eth::TransactionReceipt;
use jsonrpsee::rpc_params;

use crate::client::{AccordClient, ClientError};
use crate::wallet::{TxRequest, Wallet, WalletError};

/// Why a contract call could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// The ABI or artifact JSON is unreadable.
    #[error("ABI: {0}")]
    Abi(String),
    /// No such function, an overloaded name, or arguments that do not fit it.
    #[error("{0}")]
    Usage(String),
    /// The chain reverted the call (its reason), or refused the transaction.
    #[error("refused: {0}")]
    Refused(String),
    /// The node could not be reached.
    #[error("node: {0}")]
    Node(ClientError),
    /// Sending failed.
    #[error(transparent)]
    Wallet(#[from] WalletError),
}

impl From<ClientError> for ContractError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Call(obj) => Self::Refused(obj.message().to_string()),
            other => Self::Node(other),
        }
    }
}

/// One event a receipt's log decoded to.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedEvent {
    /// The event's name.
    pub name: String,
    /// Its arguments in declaration order (indexed and not).
    pub values: Vec<DynSolValue>,
}

/// A contract's ABI and, from an artifact, its deploy code.
#[derive(Debug, Clone)]
pub struct ContractAbi {
    /// The ABI.
    pub abi: JsonAbi,
    /// The deploy code, when read from an artifact.
    pub bytecode: Option<Bytes>,
}

impl ContractAbi {
    /// Reads an artifact (`{"abi": […], "bytecode": "0x…"}`) or a bare ABI array.
    pub fn from_json(json: &str) -> Result<Self, ContractError> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| ContractError::Abi(e.to_string()))?;
        let (abi, bytecode) = match value {
            serde_json::Value::Object(mut o) => {
                let abi = o.remove("abi").ok_or_else(|| ContractError::Abi("the artifact has no \"abi\"".into()))?;
                let code = match o.remove("bytecode") {
                    Some(serde_json::Value::String(s)) => {
                        Some(s.parse::<Bytes>().map_err(|e| ContractError::Abi(format!("bytecode: {e}")))?)
                    }
                    _ => None,
                };
                (abi, code)
            }
            abi => (abi, None),
        };
        let abi: JsonAbi = serde_json::from_value(abi).map_err(|e| ContractError::Abi(e.to_string()))?;
        Ok(Self { abi, bytecode })
    }

    /// The function `method` names: a name (when not overloaded) or a full signature (`transfer(address,uint256)`).
    pub fn function(&self, method: &str) -> Result<&Function, ContractError> {
        if method.contains('(') {
            return self
                .abi
                .functions()
                .find(|f| f.signature() == method)
                .ok_or_else(|| ContractError::Usage(format!("the ABI has no function with the signature {method}")));
        }
        match self.abi.function(method).map(Vec::as_slice) {
            Some([f]) => Ok(f),
            Some(overloads) => Err(ContractError::Usage(format!(
                "{method} is overloaded; name one by signature: {}",
                overloads.iter().map(Function::signature).collect::<Vec<_>>().join(", ")
            ))),
            None => Err(ContractError::Usage(format!(
                "the ABI has no function {method}; it has: {}",
                self.abi.functions().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// The call data of `method` with `args`.
    pub fn encode(&self, method: &str, args: &[DynSolValue]) -> Result<Vec<u8>, ContractError> {
        let f = self.function(method)?;
        f.abi_encode_input(args).map_err(|e| ContractError::Usage(format!("{}: {e}", f.signature())))
    }

    /// Arguments given as text (`"0x5B38…"`, `"1000"`, `"true"`), parsed as the function's parameter types.
    pub fn parse_args(&self, method: &str, args: &[&str]) -> Result<Vec<DynSolValue>, ContractError> {
        let f = self.function(method)?;
        if f.inputs.len() != args.len() {
            return Err(ContractError::Usage(format!(
                "{} takes {} argument(s), {} given",
                f.signature(),
                f.inputs.len(),
                args.len()
            )));
        }
        f.inputs
            .iter()
            .zip(args)
            .map(|(p, a)| {
                let ty = p.resolve().map_err(|e| ContractError::Abi(e.to_string()))?;
                ty.coerce_str(a).map_err(|e| ContractError::Usage(format!("{}: {a:?} is not a {}: {e}", f.name, p.ty)))
            })
            .collect()
    }

    /// The decoded return values of `method`.
    pub fn decode_output(&self, method: &str, data: &[u8]) -> Result<Vec<DynSolValue>, ContractError> {
        let f = self.function(method)?;
        f.abi_decode_output(data).map_err(|e| ContractError::Abi(format!("{} output: {e}", f.signature())))
    }

    /// The events of this ABI among `receipt`'s logs from `address`, decoded.
    pub fn events(&self, receipt: &TransactionReceipt, address: Address) -> Vec<DecodedEvent> {
        let logs = receipt.inner.logs().iter().filter(|l| l.address() == address);
        logs.filter_map(|log| {
            let topic0 = log.topics().first()?;
            let event = self.abi.events().find(|e| !e.anonymous && e.selector() == *topic0)?;
            let decoded = event.decode_log(&log.inner.data).ok()?;
            // Declaration order: indexed values and body values interleaved as the event declares them.
            let (mut indexed, mut body) = (decoded.indexed.into_iter(), decoded.body.into_iter());
            let values =
                event.inputs.iter().filter_map(|p| if p.indexed { indexed.next() } else { body.next() }).collect();
            Some(DecodedEvent { name: event.name.clone(), values })
        })
        .collect()
    }

    /// Deploys the artifact's code with `constructor_args`; returns the new contract.
    pub async fn deploy(
        &self,
        wallet: &Wallet,
        constructor_args: &[DynSolValue],
        timeout: Duration,
    ) -> Result<Contract, ContractError> {
        let code = self.bytecode.clone().ok_or_else(|| ContractError::Abi("the artifact has no bytecode".into()))?;
        let mut input = code.to_vec();
        match &self.abi.constructor {
            Some(c) => input.extend(
                c.abi_encode_input(constructor_args).map_err(|e| ContractError::Usage(format!("constructor: {e}")))?,
            ),
            None if constructor_args.is_empty() => {}
            None => return Err(ContractError::Usage("the contract has no constructor arguments".into())),
        }
        let receipt = wallet.send_and_wait(TxRequest::deploy(input), timeout).await?;
        match receipt.contract_address {
            Some(address) if receipt.status() => {
                Ok(Contract { address, abi: self.clone(), client: wallet.client().clone() })
            }
            _ => Err(ContractError::Refused(format!("the deployment {} failed", receipt.transaction_hash))),
        }
    }

    /// This ABI at `address`.
    pub fn at(&self, address: Address, client: AccordClient) -> Contract {
        Contract { address, abi: self.clone(), client }
    }
}

/// A deployed contract with its ABI.
#[derive(Debug, Clone)]
pub struct Contract {
    /// Where it is.
    pub address: Address,
    /// Its ABI.
    pub abi: ContractAbi,
    client: AccordClient,
}

impl Contract {
    /// Calls `method` read-only (`eth_call` at the latest block): its decoded return values, or its revert reason as
    /// [`ContractError::Refused`].
    pub async fn call(&self, method: &str, args: &[DynSolValue]) -> Result<Vec<DynSolValue>, ContractError> {
        let input = Bytes::from(self.abi.encode(method, args)?);
        let request = serde_json::json!({ "to": self.address, "data": input });
        let output: Bytes = self.client.request("eth_call", rpc_params![request, "latest"]).await?;
        self.abi.decode_output(method, &output)
    }

    /// Sends `method` with `args` from `wallet` and waits up to `timeout` for the receipt; a revert is caught by the
    /// gas estimate before anything is sent and returned as [`ContractError::Refused`] with its reason.
    pub async fn send(
        &self,
        wallet: &Wallet,
        method: &str,
        args: &[DynSolValue],
        timeout: Duration,
    ) -> Result<TransactionReceipt, ContractError> {
        let input = self.abi.encode(method, args)?;
        Ok(wallet.send_and_wait(TxRequest::call(self.address, input), timeout).await?)
    }

    /// The events this contract emitted in `receipt`, decoded by its ABI.
    pub fn events(&self, receipt: &TransactionReceipt) -> Vec<DecodedEvent> {
        self.abi.events(receipt, self.address)
    }
}
