//! The bytes this integration hands raft-rs: what a log entry carries, and the
//! context of a ReadIndex request.
//!
//! raft-rs treats both as opaque bytes. The encoding is explicit and fixed (little
//! endian, no padding), so the same request always becomes the same bytes and the
//! trace of a run never depends on a serializer's choices:
//!
//! ```text
//! entry:  format (1 byte = 1) · client (u32) · seq (u64) · kind (1 byte) · words (u64 each)
//!         kind 0 read [key] · 1 write [key, value] · 2 cas [key, from, to] · 3 append [key, value]
//! read:   the replica's read number (u64)
//! ```
//!
//! ```
//! use consim::models::client::RequestId;
//! use consim::models::kv::Request;
//! use integrations::raft_rs::codec::{Command, decode, encode};
//! use consim::sim_core::NodeId;
//! let id = RequestId { client: NodeId(4), seq: 9 };
//! let request = Request::Append { key: 2, value: 17 };
//! let bytes = encode(id, &request);
//! assert_eq!(decode(&bytes), Ok(Command { id, request }));
//! assert!(decode(&bytes[..bytes.len() - 1]).is_err());
//! ```

use std::fmt;

use consim::models::client::RequestId;
use consim::models::kv::Request;
use consim::sim_core::NodeId;

/// The version byte every entry starts with.
const FORMAT: u8 = 1;

/// What a log entry asks the state machine to do: a client's request, with its id
/// (the idempotency key the state machine dedups by).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command {
    /// The request's idempotency key.
    pub id: RequestId,
    /// The request.
    pub request: Request,
}

/// Bytes that are not an entry this integration wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// What is wrong with them.
    pub problem: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a raft-rs entry of this integration: {}",
            self.problem
        )
    }
}

impl std::error::Error for DecodeError {}

/// The bytes of a log entry carrying `request` under `id`.
pub fn encode(id: RequestId, request: &Request) -> Vec<u8> {
    let (kind, words): (u8, &[u64]) = match *request {
        Request::Read { key } => (0, &[key]),
        Request::Write { key, value } => (1, &[key, value]),
        Request::Cas { key, from, to } => (2, &[key, from, to]),
        Request::Append { key, value } => (3, &[key, value]),
    };
    let mut out = Vec::with_capacity(14 + 8 * words.len());
    out.push(FORMAT);
    out.extend_from_slice(&id.client.0.to_le_bytes());
    out.extend_from_slice(&id.seq.to_le_bytes());
    out.push(kind);
    for word in words {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out
}

/// The command `bytes` carry.
pub fn decode(bytes: &[u8]) -> Result<Command, DecodeError> {
    let mut reader = Reader { bytes };
    if reader.byte()? != FORMAT {
        return Err(DecodeError {
            problem: "unknown format",
        });
    }
    let client = NodeId(u32::from_le_bytes(reader.array()?));
    let seq = u64::from_le_bytes(reader.array()?);
    let request = match reader.byte()? {
        0 => Request::Read {
            key: reader.word()?,
        },
        1 => Request::Write {
            key: reader.word()?,
            value: reader.word()?,
        },
        2 => Request::Cas {
            key: reader.word()?,
            from: reader.word()?,
            to: reader.word()?,
        },
        3 => Request::Append {
            key: reader.word()?,
            value: reader.word()?,
        },
        _ => {
            return Err(DecodeError {
                problem: "unknown request kind",
            });
        }
    };
    if !reader.bytes.is_empty() {
        return Err(DecodeError {
            problem: "trailing bytes",
        });
    }
    Ok(Command {
        id: RequestId { client, seq },
        request,
    })
}

/// The context of ReadIndex request number `read`.
pub fn read_context(read: u64) -> Vec<u8> {
    read.to_le_bytes().to_vec()
}

/// The read number a ReadIndex context carries, if it is one of ours.
///
/// ```
/// use integrations::raft_rs::codec::{read_context, read_number};
/// assert_eq!(read_number(&read_context(42)), Some(42));
/// assert_eq!(read_number(b"abc"), None);
/// ```
pub fn read_number(context: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(context).ok().map(u64::from_le_bytes)
}

/// A cursor over the bytes still to decode.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let short = DecodeError {
            problem: "too short",
        };
        let (head, rest) = self.bytes.split_at_checked(N).ok_or(short)?;
        self.bytes = rest;
        <[u8; N]>::try_from(head).map_err(|_| short)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn word(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_kind_round_trips() {
        let id = RequestId {
            client: NodeId(u32::MAX),
            seq: u64::MAX,
        };
        for request in [
            Request::Read { key: 1 },
            Request::Write { key: 2, value: 3 },
            Request::Cas {
                key: 4,
                from: 5,
                to: 6,
            },
            Request::Append { key: 7, value: 8 },
        ] {
            assert_eq!(decode(&encode(id, &request)), Ok(Command { id, request }));
        }
    }

    #[test]
    fn foreign_bytes_are_refused() {
        let id = RequestId {
            client: NodeId(1),
            seq: 2,
        };
        let mut bytes = encode(id, &Request::Read { key: 3 });
        bytes.push(0);
        assert_eq!(
            decode(&bytes).expect_err("trailing").problem,
            "trailing bytes"
        );
        assert_eq!(decode(&[]).expect_err("empty").problem, "too short");
        assert_eq!(
            decode(&[2]).expect_err("format 2").problem,
            "unknown format"
        );
        bytes.pop();
        bytes[13] = 9;
        assert_eq!(
            decode(&bytes).expect_err("kind 9").problem,
            "unknown request kind"
        );
    }
}
