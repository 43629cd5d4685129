//! Reproducible pseudo-random numbers: SplitMix64.
//!
//! A run is reproduced from its `seed=` alone, so everything random in a run
//! must come from an [`Rng`] derived from that seed, in a fixed order.
//! SplitMix64 is tiny, has no bad seeds (0 included) and is well studied;
//! it is not cryptographic, which a test driver does not need.

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// Deliberately not `Copy`: a silent copy would replay the same numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub const fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`, or 0 if `n` is 0.
    ///
    /// Takes the high half of a 64x64-bit product rather than `% n`, which
    /// would favour small results; the remaining bias is below n / 2^64.
    pub fn below(&mut self, n: u32) -> u32 {
        // The shifted product is below n, so it fits in u32.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u32
    }

    /// True with probability `percent`/100 (always from 100 up). Consumes one
    /// number either way so the rest of the sequence does not depend on it.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent
    }

    /// An independent generator for sub-stream `stream`, e.g. one per
    /// iteration, so adding draws to one stream leaves the others unchanged.
    /// Advances `self` by one number.
    pub fn fork(&mut self, stream: u64) -> Rng {
        // Mixing `stream` keeps neighbouring stream numbers from giving
        // neighbouring states, whose sequences would overlap.
        Rng::new(self.next_u64() ^ Rng::new(stream).next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_outputs_seed_0() {
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(r.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn deterministic() {
        let mut a = Rng::new(12345);
        let mut b = Rng::new(12345);
        let mut c = Rng::new(12346);
        let mut differs = false;
        for _ in 0..100 {
            let x = a.next_u64();
            assert_eq!(x, b.next_u64());
            differs |= x != c.next_u64();
        }
        assert!(differs);
        assert_eq!(a, b);
        let mut d = a.clone();
        assert_eq!(d.below(1000), a.below(1000));
    }

    #[test]
    fn below_range() {
        let mut r = Rng::new(7);
        for n in [1, 2, 3, 10, 100, 1 << 31, u32::MAX] {
            for _ in 0..1000 {
                assert!(r.below(n) < n);
            }
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.below(1), 0);
    }

    #[test]
    fn below_reaches_every_value_evenly() {
        let mut r = Rng::new(99);
        let mut counts = [0u32; 10];
        for _ in 0..100_000 {
            counts[r.below(10) as usize] += 1;
        }
        // Expect 10000 each; 5 standard deviations is about 475.
        assert!(
            counts.iter().all(|&c| (9_500..=10_500).contains(&c)),
            "{counts:?}"
        );

        let top = (0..1000).map(|_| r.below(u32::MAX)).max().unwrap();
        assert!(top > u32::MAX / 2);
    }

    #[test]
    fn below_uses_high_bits() {
        // next_u64() of seed 0 is 0xe220a839..., so below(2) must be 1 and
        // below(16) must be 0xe.
        assert_eq!(Rng::new(0).below(2), 1);
        assert_eq!(Rng::new(0).below(16), 0xe);
    }

    #[test]
    fn chance_bounds() {
        let mut r = Rng::new(3);
        assert!((0..1000).all(|_| !r.chance(0)));
        assert!((0..1000).all(|_| r.chance(100)));
        assert!((0..1000).all(|_| r.chance(u32::MAX)));
        let hits = (0..10_000).filter(|_| r.chance(30)).count();
        assert!((2_700..=3_300).contains(&hits), "{hits}");

        // Each call consumes exactly one number.
        let mut a = Rng::new(5);
        let mut b = Rng::new(5);
        a.chance(0);
        b.next_u64();
        assert_eq!(a, b);
    }

    #[test]
    fn fork_streams() {
        let mut parent = Rng::new(1);
        let mut p2 = parent.clone();
        let mut s0 = parent.fork(0);
        let mut s1 = p2.fork(1);
        // Same parent state, different stream: different sequences.
        assert_ne!(s0.next_u64(), s1.next_u64());
        // Forking advances the parent by exactly one number.
        assert_eq!(parent, p2);
        let mut q = Rng::new(1);
        q.next_u64();
        assert_eq!(parent, q);
        // Reproducible.
        let mut again = Rng::new(1).fork(0);
        let mut s0 = Rng::new(1).fork(0);
        assert_eq!(again.next_u64(), s0.next_u64());
        // Not just the parent's continuation.
        let mut child = Rng::new(1).fork(0);
        let mut cont = Rng::new(1);
        cont.next_u64();
        assert_ne!(child.next_u64(), cont.next_u64());
    }
}
