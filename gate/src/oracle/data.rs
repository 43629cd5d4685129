//! Data checks: what a channel program read, and what it must not have
//! written.

use super::{violation, Class, Oracle, Violation};
use crate::css::{SenseId, SenseIdError};

impl Oracle {
    /// SENSE ID data read by a start must match the baseline read at setup.
    pub fn check_sense_id(&self, data: &[u8], baseline: SenseId) -> Result<(), Violation> {
        // Common I/O-Device Commands, SENSE ID: byte 0 is 0xFF and the
        // type/model bytes identify the device; they cannot change between
        // two reads of the same device.
        let got = match SenseId::parse(data) {
            Ok(id) => id,
            Err(SenseIdError::Short { len }) => {
                return Err(violation(
                    Class::DataCorruption,
                    "sense-id-short",
                    SenseId::MIN_LEN as u32,
                    u32::try_from(len).unwrap_or(u32::MAX),
                ));
            }
            Err(SenseIdError::Marker(b)) => {
                return Err(violation(
                    Class::DataCorruption,
                    "sense-id-marker",
                    SenseId::MARKER.into(),
                    b.into(),
                ));
            }
        };
        let fields = [
            (
                "sense-id-cu-type",
                u32::from(baseline.cu_type),
                u32::from(got.cu_type),
            ),
            (
                "sense-id-cu-model",
                baseline.cu_model.into(),
                got.cu_model.into(),
            ),
            (
                "sense-id-dev-type",
                baseline.dev_type.into(),
                got.dev_type.into(),
            ),
            (
                "sense-id-dev-model",
                baseline.dev_model.into(),
                got.dev_model.into(),
            ),
        ];
        for (what, expected, actual) in fields {
            if expected != actual {
                return Err(violation(Class::DataCorruption, what, expected, actual));
            }
        }
        Ok(())
    }

    /// A guard region the channel program must not touch still holds
    /// `pattern` in every byte. `actual` is the first differing byte.
    pub fn check_canary(&self, region: &[u8], pattern: u8) -> Result<(), Violation> {
        // Word-wise first: this runs after every operation, and byte loops
        // are slow under TCG. Bytes only to name the culprit.
        // No early exit: a branch-free fold the compiler can unroll.
        let word = u64::from_ne_bytes([pattern; 8]);
        let (words, tail) = region.split_at(region.len() & !7);
        let differ = words.chunks_exact(8).fold(0, |acc, c| {
            acc | (u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) ^ word)
        }) | tail.iter().fold(0, |acc, &b| acc | u64::from(b ^ pattern));
        if differ == 0 {
            return Ok(());
        }
        match region.iter().find(|&&b| b != pattern) {
            None => Ok(()),
            Some(&b) => Err(violation(
                Class::DataCorruption,
                "canary-overwritten",
                pattern.into(),
                b.into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::test_util::*;

    #[test]
    fn data_corruption_sense_id() {
        let o = oracle();
        let base = SenseId {
            cu_type: 0x3990,
            cu_model: 0xE9,
            dev_type: 0x3390,
            dev_model: 0x0A,
        };
        let good = [0xFF, 0x39, 0x90, 0xE9, 0x33, 0x90, 0x0A, 0x00];
        assert_eq!(o.check_sense_id(&good, base), Ok(()));
        let mut bad = good;
        bad[5] = 0x80;
        assert_eq!(
            o.check_sense_id(&bad, base).unwrap_err(),
            Violation::new(Class::DataCorruption, "sense-id-dev-type", 0x3390, 0x3380)
        );
        let mut bad = good;
        bad[0] = 0;
        assert_eq!(
            o.check_sense_id(&bad, base).unwrap_err().what,
            "sense-id-marker"
        );
        assert_eq!(
            o.check_sense_id(&good[..3], base).unwrap_err().what,
            "sense-id-short"
        );
    }

    #[test]
    fn data_corruption_canary() {
        let o = oracle();
        assert_eq!(o.check_canary(&[0xA5; 16], 0xA5), Ok(()));
        let mut r = [0xA5; 16];
        r[9] = 0x00;
        assert_eq!(
            o.check_canary(&r, 0xA5).unwrap_err(),
            Violation::new(Class::DataCorruption, "canary-overwritten", 0xA5, 0)
        );
    }

    /// Each part of the word-wise fold matters: differences in two words,
    /// in the tail, in both, that cancel under XOR, with a zero pattern
    /// (which AND would hide) and a nonzero one.
    #[test]
    fn every_differing_byte_of_a_guard_is_seen() {
        let o = super::super::test_util::oracle();
        for pattern in [0x00, 0xA5] {
            for (len, bad) in [
                (16, &[0, 8][..]),
                (10, &[8, 9][..]),
                (9, &[0, 8][..]),
                (9, &[8][..]),
                (8, &[3][..]),
                (3, &[1][..]),
            ] {
                let mut r = std::vec![pattern; len];
                for &b in bad {
                    r[b] ^= 1;
                }
                let v = o.check_canary(&r, pattern).unwrap_err();
                assert_eq!(
                    (v.what, v.expected, v.actual),
                    ("canary-overwritten", pattern.into(), (pattern ^ 1).into()),
                    "{pattern:#x} {len} {bad:?}"
                );
            }
            assert_eq!(o.check_canary(&std::vec![pattern; 13], pattern), Ok(()));
        }
    }
}
