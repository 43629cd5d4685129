//! Completion-latency statistics without storing every sample.
//!
//! Samples go into log-linear buckets (eight per power of two), so the median
//! is exact to within 1/8 of its value while the whole histogram stays 2 KiB
//! and recording is a few instructions.

const SUB_BITS: u32 = 3;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = 64 * SUB;

#[derive(Clone)]
pub struct Latency {
    buckets: [u32; BUCKETS],
    count: u64,
    min: u64,
    max: u64,
}

fn bucket(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let sub = (v >> (msb - SUB_BITS)) as usize & (SUB - 1);
    (msb - SUB_BITS + 1) as usize * SUB + sub
}

/// Smallest value that falls in bucket `b`.
fn bucket_floor(b: usize) -> u64 {
    if b < SUB {
        return b as u64;
    }
    let octave = (b / SUB) as u32 + SUB_BITS - 1;
    (1u64 << octave) | (((b % SUB) as u64) << (octave - SUB_BITS))
}

impl Latency {
    pub const fn new() -> Self {
        Latency {
            buckets: [0; BUCKETS],
            count: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    pub fn record(&mut self, v: u64) {
        let b = &mut self.buckets[bucket(v)];
        *b = b.saturating_add(1);
        self.count += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Adds `other`'s samples, as if each had been recorded here.
    pub fn merge(&mut self, other: &Latency) {
        for (b, o) in self.buckets.iter_mut().zip(other.buckets.iter()) {
            *b = b.saturating_add(*o);
        }
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The smallest sample, without the histogram scan of [`Self::summary`].
    pub fn min(&self) -> Option<u64> {
        (self.count > 0).then_some(self.min)
    }

    /// The largest sample, without the histogram scan of [`Self::summary`].
    pub fn max(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max)
    }

    /// `(min, median, max)`, or `None` without samples. The median is the
    /// lower bound of its bucket, clamped into `[min, max]`.
    pub fn summary(&self) -> Option<(u64, u64, u64)> {
        if self.count == 0 {
            return None;
        }
        let half = self.count.div_ceil(2);
        let mut seen = 0u64;
        for (b, &n) in self.buckets.iter().enumerate() {
            seen += u64::from(n);
            if seen >= half {
                let median = bucket_floor(b).clamp(self.min, self.max);
                return Some((self.min, median, self.max));
            }
        }
        Some((self.min, self.max, self.max))
    }
}

impl core::fmt::Debug for Latency {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Latency {{ count: {}, summary: {:?} }}",
            self.count,
            self.summary()
        )
    }
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_floors_round_trip() {
        let mut last = 0;
        for v in [
            0u64,
            1,
            7,
            8,
            9,
            15,
            16,
            17,
            100,
            1000,
            4096,
            1 << 40,
            u64::MAX,
        ] {
            let b = bucket(v);
            assert!(b >= last, "bucket({v}) went backwards");
            last = b;
            assert!(
                bucket_floor(b) <= v && bucket(bucket_floor(b)) == b,
                "v={v}"
            );
        }
        assert!(bucket(u64::MAX) < BUCKETS);
    }

    #[test]
    fn median_is_within_an_eighth() {
        let mut l = Latency::new();
        for v in 1..=1001u64 {
            l.record(v * 10);
        }
        let (min, median, max) = l.summary().unwrap();
        assert_eq!((min, max), (10, 10010));
        assert!(
            (5010 - 5010 / 8..=5010).contains(&median),
            "median {median}"
        );
    }

    #[test]
    fn empty_and_single() {
        let mut l = Latency::new();
        assert_eq!(l.summary(), None);
        assert_eq!((l.min(), l.max()), (None, None));
        l.record(12345);
        assert_eq!((l.min(), l.max()), (Some(12345), Some(12345)));
        assert_eq!(l.summary(), Some((12345, 12345, 12345)));
        l.record(7);
        l.record(99_999);
        assert_eq!((l.min(), l.max()), (Some(7), Some(99_999)));
    }

    #[test]
    fn merged_equals_recorded_together() {
        let (mut a, mut b, mut both) = (Latency::new(), Latency::new(), Latency::new());
        for v in [5, 900, 40_000] {
            a.record(v);
            both.record(v);
        }
        for v in [3, 77, 1 << 30] {
            b.record(v);
            both.record(v);
        }
        a.merge(&b);
        assert_eq!(a.summary(), both.summary());
        assert_eq!(a.count(), 6);
        let mut empty = Latency::new();
        empty.merge(&Latency::new());
        assert_eq!(empty.summary(), None);
    }
}
