//! 128-bit fingerprints of states, histories and transitions.
//!
//! Exploration tells states apart by fingerprint alone, as stateright does, so two
//! different states that collide would be taken for one and the second never
//! explored. With 128 bits of a well-mixed hash the chance of any collision among `n`
//! states is about `n² / 2¹²⁹`: below 10⁻²⁰ for a billion states. The two 64-bit
//! halves are independent streams of folded 64×64→128-bit multiplications (the mixing
//! step of wyhash and foldhash), each word xored with the stream's state and its own
//! constant before the multiply; fixed constants, so a fingerprint is the same in
//! every run of one build. It is not a cryptographic hash: inputs crafted to collide
//! could (the streams see the same words, so a collision costs about 2⁶⁴ work, not
//! 2¹²⁸), but states of a model are not crafted. Hashing is most of a search's time, and this is several
//! times faster than the two SipHash-1-3 streams it replaces (the
//! `equal_values_agree_and_different_ones_differ` test and the pinned state counts
//! check that it tells the states apart as they did).

use std::hash::{Hash, Hasher};

/// A fingerprint.
pub(crate) type Fp = u128;

/// The high and low halves of the 128-bit product, xored.
fn fold(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// Constants of wyhash's secret (odd, with balanced bits).
const K: [u64; 4] = [
    0xa076_1d64_78bd_642f,
    0xe703_7ed1_a0b4_28db,
    0x8ebc_6af0_9c88_c6e3,
    0x5899_65cc_7537_4cc3,
];

/// Two multiply-fold streams fed the same words.
pub(crate) struct Fingerprinter {
    a: u64,
    b: u64,
    words: u64,
}

impl Fingerprinter {
    pub(crate) fn new() -> Fingerprinter {
        Fingerprinter {
            a: K[2],
            b: K[3],
            words: 0,
        }
    }

    fn word(&mut self, w: u64) {
        self.a = fold(self.a ^ w, K[0]);
        self.b = fold(self.b ^ w ^ K[1], K[3]);
        self.words += 1;
    }

    pub(crate) fn finish128(&self) -> Fp {
        let a = fold(self.a ^ K[1], self.words ^ K[3]);
        let b = fold(self.b ^ K[0], self.words ^ K[2]);
        (u128::from(a) << 64) | u128::from(b)
    }
}

impl Hasher for Fingerprinter {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.word(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        let mut tail = [0u8; 8];
        tail[..rest.len()].copy_from_slice(rest);
        // The tail's length in its top byte, so that [1] and [1, 0] differ.
        self.word(u64::from_le_bytes(tail) ^ ((rest.len() as u64) << 56));
    }

    fn write_u8(&mut self, i: u8) {
        self.word(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.word(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.word(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.word(i as u64);
    }

    fn finish(&self) -> u64 {
        (self.finish128() >> 64) as u64
    }
}

/// The fingerprint of one value.
pub(crate) fn fingerprint<T: Hash + ?Sized>(value: &T) -> Fp {
    let mut h = Fingerprinter::new();
    value.hash(&mut h);
    h.finish128()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_agree_and_different_ones_differ() {
        assert_eq!(fingerprint(&(1u64, "a")), fingerprint(&(1u64, "a")));
        assert_ne!(fingerprint(&(1u64, "a")), fingerprint(&(2u64, "a")));
        let fp = fingerprint(&7u32);
        assert_ne!(
            fp >> 64,
            fp & u128::from(u64::MAX),
            "the halves are two streams"
        );
        // Neighbouring inputs spread over both halves.
        let mut seen = std::collections::BTreeSet::new();
        for i in 0u64..100_000 {
            let fp = fingerprint(&i);
            assert!(seen.insert(fp >> 64), "high halves collide at {i}");
            assert!(
                seen.insert(fp & u128::from(u64::MAX)),
                "low halves collide at {i}"
            );
        }
        assert_ne!(fingerprint(&[1u8][..]), fingerprint(&[1u8, 0][..]));
        assert_ne!(fingerprint(&(1u64, 0u64)), fingerprint(&(0u64, 1u64)));
    }
}
