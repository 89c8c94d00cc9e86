//! The deploy envelope: how creation data carries a wasm module followed by constructor arguments, so that
//! web3/ethers can append ABI-encoded arguments to an artifact's `bytecode` exactly as they do for the EVM.

/// First four bytes of every envelope: `"acc"` and the envelope version.
pub const MAGIC: [u8; 4] = [0x61, 0x63, 0x63, 0x01];

/// Why creation data is not an envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Too short or wrong magic.
    #[error("creation data is not an Accord deploy envelope (expected magic 0x61636301 and a module length)")]
    NotAnEnvelope,
    /// The module length runs past the data.
    #[error("deploy envelope announces a {announced}-byte module but carries {available} bytes")]
    Truncated {
        /// Announced length.
        announced: usize,
        /// Bytes after the header.
        available: usize,
    },
}

/// Splits creation data into (module, constructor arguments).
pub fn split(data: &[u8]) -> Result<(&[u8], &[u8]), EnvelopeError> {
    if data.len() < 8 || data[..4] != MAGIC {
        return Err(EnvelopeError::NotAnEnvelope);
    }
    let len = u32::from_be_bytes([data[4], data[5], data[6], data[7]]) as usize;
    let rest = &data[8..];
    if rest.len() < len {
        return Err(EnvelopeError::Truncated { announced: len, available: rest.len() });
    }
    Ok(rest.split_at(len))
}

/// Wraps a module into an envelope (what a contract artifact's `bytecode` holds).
pub fn wrap(module: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + module.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&(module.len() as u32).to_be_bytes());
    out.extend_from_slice(module);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_arguments() {
        let mut data = wrap(b"\0asm-module");
        data.extend_from_slice(&[7; 64]);
        let (module, args) = split(&data).expect("splits");
        assert_eq!(module, b"\0asm-module");
        assert_eq!(args, &[7; 64]);
        assert_eq!(split(&wrap(b"")).expect("empty"), (&b""[..], &b""[..]));
    }

    #[test]
    fn refusals() {
        assert_eq!(split(b"\0asm"), Err(EnvelopeError::NotAnEnvelope));
        assert_eq!(split(&[0x60, 0x80, 0x60, 0x40, 0, 0, 0, 0]), Err(EnvelopeError::NotAnEnvelope), "EVM code");
        let mut d = wrap(b"abcdef");
        d.truncate(10);
        assert_eq!(split(&d), Err(EnvelopeError::Truncated { announced: 6, available: 2 }));
    }
}
