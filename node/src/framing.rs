//! Length-prefixed records (a 4-byte big-endian length, then the bytes): the framing of `accord export-blocks`
//! archives and `accord snapshot` files, read with a bound per record so a damaged length never allocates more.

use std::io::{Read, Write};

/// Why a record could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Reading or writing the file.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The record is longer than its bound (or than 4 bytes of length can say).
    #[error("a {what} of {len} bytes exceeds the bound of {limit}")]
    TooLarge {
        /// What the record holds.
        what: &'static str,
        /// Its length.
        len: u64,
        /// The bound.
        limit: u64,
    },
    /// The file ends inside the record.
    #[error("truncated {what}: {source}")]
    Truncated {
        /// What the record holds.
        what: &'static str,
        /// The read that ran out.
        source: std::io::Error,
    },
}

/// Writes `bytes` as one record.
pub fn write(w: &mut impl Write, bytes: &[u8], what: &'static str) -> Result<(), RecordError> {
    let too_large = || RecordError::TooLarge { what, len: bytes.len() as u64, limit: u64::from(u32::MAX) };
    let len = u32::try_from(bytes.len()).map_err(|_| too_large())?;
    w.write_all(&len.to_be_bytes())?;
    w.write_all(bytes)?;
    Ok(())
}

/// Reads one record of at most `limit` bytes; `None` at a clean end of file (before its length).
pub fn read(r: &mut impl Read, limit: u32, what: &'static str) -> Result<Option<Vec<u8>>, RecordError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len);
    if len > limit {
        return Err(RecordError::TooLarge { what, len: len.into(), limit: limit.into() });
    }
    let mut bytes = vec![0u8; len as usize];
    r.read_exact(&mut bytes).map_err(|source| RecordError::Truncated { what, source })?;
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_damage_is_named() {
        let mut out = Vec::new();
        write(&mut out, b"abc", "block").expect("write");
        write(&mut out, b"", "end").expect("write");
        let mut r = &out[..];
        assert_eq!(read(&mut r, 16, "block").expect("read"), Some(b"abc".to_vec()));
        assert_eq!(read(&mut r, 16, "end").expect("read"), Some(Vec::new()));
        assert_eq!(read(&mut r, 16, "block").expect("read"), None, "a clean end");
        assert!(read(&mut &out[..], 2, "block").expect_err("refused").to_string().contains("exceeds the bound of 2"));
        let err = read(&mut &out[..5], 16, "block").expect_err("refused").to_string();
        assert!(err.starts_with("truncated block"), "{err}");
    }
}
