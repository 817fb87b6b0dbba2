//! 128-bit fingerprints of states, histories and transitions.
//!
//! Exploration tells states apart by fingerprint alone, as stateright does, so two
//! different states that collide would be taken for one and the second never
//! explored. With 128 bits the chance of any collision among `n` states is about
//! `n² / 2¹²⁹`: below 10⁻²⁰ for a billion states. The two halves are SipHash-1-3
//! (std's `DefaultHasher`, which has fixed keys) over the same words, one of them
//! salted, so a fingerprint is the same in every run of one build.

use std::hash::{DefaultHasher, Hash, Hasher};

/// A fingerprint.
pub(crate) type Fp = u128;

/// Two salted SipHash-1-3 streams fed the same words.
pub(crate) struct Fingerprinter {
    a: DefaultHasher,
    b: DefaultHasher,
}

impl Fingerprinter {
    pub(crate) fn new() -> Fingerprinter {
        let a = DefaultHasher::new();
        let mut b = DefaultHasher::new();
        b.write_u64(0x9e37_79b9_7f4a_7c15);
        Fingerprinter { a, b }
    }

    pub(crate) fn finish128(&self) -> Fp {
        (u128::from(self.a.finish()) << 64) | u128::from(self.b.finish())
    }
}

impl Hasher for Fingerprinter {
    fn write(&mut self, bytes: &[u8]) {
        self.a.write(bytes);
        self.b.write(bytes);
    }

    fn write_u8(&mut self, i: u8) {
        self.a.write_u8(i);
        self.b.write_u8(i);
    }

    fn write_u32(&mut self, i: u32) {
        self.a.write_u32(i);
        self.b.write_u32(i);
    }

    fn write_u64(&mut self, i: u64) {
        self.a.write_u64(i);
        self.b.write_u64(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.a.write_usize(i);
        self.b.write_usize(i);
    }

    fn finish(&self) -> u64 {
        self.a.finish()
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
            "the halves are salted apart"
        );
    }
}
