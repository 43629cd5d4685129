//! TOD-clock units: bit 51 of the TOD clock ticks once per microsecond, so
//! one microsecond is 4096 units (PoP ch. 4, "TOD Clock"). Every deadline
//! and delay in ccwgate is in these units; this is their one definition
//! (the kernel's clock, the driver, the oracle, the sim and the model).

/// TOD-clock units per microsecond (2^12).
pub const TOD_PER_US: u64 = 1 << 12;

/// Whole microseconds in `tod` units.
pub const fn tod_to_us(tod: u64) -> u64 {
    tod / TOD_PER_US
}

/// `us` microseconds in TOD units, saturating.
pub const fn us_to_tod(us: u64) -> u64 {
    us.saturating_mul(TOD_PER_US)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_microsecond_is_bit_51() {
        assert_eq!(TOD_PER_US, 1 << (63 - 51));
        assert_eq!(tod_to_us(us_to_tod(250)), 250);
        assert_eq!(tod_to_us(TOD_PER_US - 1), 0);
        assert_eq!(us_to_tod(u64::MAX), u64::MAX);
    }
}
