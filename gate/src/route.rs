//! Several subchannels, one stream of interruptions.
//!
//! Each subchannel under test has its own driver and oracle, and judges
//! only its own status; the machine presents every subchannel's status on
//! the same path (the I/O-interruption handler, TEST PENDING INTERRUPTION).
//! A driver waiting for its status hands whatever else it collects to the
//! [`Router`], which keeps it for the driver it belongs to until that one
//! next asks.
//!
//! Whose an interruption is, is decided by its interruption parameter
//! first: each driver's starts carry its own top byte
//! ([`Router::intparm_base`]), and the parameter is the one field a host
//! that routes status to the wrong subchannel does not make up. Status for
//! one subchannel presented under another's subchannel ID thus reaches the
//! driver that issued the start, whose oracle fails it as `sid-mismatch`.
//! A parameter no driver issued (the enabling parameter of unsolicited
//! status) goes by subchannel ID; what matches no member at all is judged
//! by the driver that collected it.

use crate::cmdline::MAX_SUBCHANNELS;
use crate::oracle::Interruption;
use crate::ring::Ring;

/// Interruptions one subchannel can have waiting for its driver. A driver
/// with a start outstanding expects at most a few (primary, secondary,
/// unsolicited); a host flooding one subchannel overflows this, and the
/// surplus is judged by the driver that collected it.
pub const MAILBOX: usize = 8;

type Mailbox = Ring<Interruption, MAILBOX>;

/// The subchannels under test and the status kept for each.
pub struct Router {
    sids: [u32; MAX_SUBCHANNELS],
    len: usize,
    mailboxes: [Mailbox; MAX_SUBCHANNELS],
}

impl Router {
    pub const fn new() -> Self {
        Router {
            sids: [0; MAX_SUBCHANNELS],
            len: 0,
            mailboxes: [const { Mailbox::new() }; MAX_SUBCHANNELS],
        }
    }

    /// Forgets every member and what was kept for it.
    pub fn clear(&mut self) {
        *self = Router::new();
    }

    /// Adds subchannel `sid` as the next member; its index, or `None` when
    /// [`MAX_SUBCHANNELS`] are members already.
    pub fn add(&mut self, sid: u32) -> Option<usize> {
        if self.len == MAX_SUBCHANNELS {
            return None;
        }
        self.sids[self.len] = sid;
        self.len += 1;
        Some(self.len - 1)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Top byte of member `index`'s interruption parameters (never that of
    /// [`crate::driver::ENABLE_INTPARM`]).
    pub const fn intparm_base(index: usize) -> u8 {
        index as u8 + 1
    }

    /// The member an interruption belongs to, if any.
    pub fn owner(&self, irq: &Interruption) -> Option<usize> {
        let top = (irq.intparm >> 24) as usize;
        if (1..=self.len).contains(&top) {
            return Some(top - 1);
        }
        self.sids[..self.len].iter().position(|&s| s == irq.sid)
    }

    /// An interruption member `me` collected: `Some` when `me` judges it
    /// (its own, nobody's, or its owner's mailbox is full), `None` when it
    /// was kept for its owner.
    pub fn route(&mut self, me: usize, irq: Interruption) -> Option<Interruption> {
        match self.owner(&irq) {
            Some(owner) if owner != me => self.mailboxes[owner].push(irq).err(),
            _ => Some(irq),
        }
    }

    /// The oldest interruption kept for member `me`.
    pub fn take(&mut self, me: usize) -> Option<Interruption> {
        self.mailboxes.get_mut(me)?.pop()
    }
}

impl Default for Router {
    fn default() -> Self {
        Router::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::css::{Cc, Scsw};
    use crate::driver::ENABLE_INTPARM;

    const A: u32 = 0x0001_0000;
    const B: u32 = 0x0001_0001;
    const C: u32 = 0x0001_0002;

    fn irq(sid: u32, intparm: u32) -> Interruption {
        Interruption {
            sid,
            intparm,
            tsch_cc: Cc::Zero,
            scsw: Scsw::ZERO,
            tod: 0,
        }
    }

    fn router() -> Router {
        let mut r = Router::new();
        assert_eq!((r.add(A), r.add(B)), (Some(0), Some(1)));
        r
    }

    fn base(index: usize) -> u32 {
        u32::from(Router::intparm_base(index)) << 24
    }

    #[test]
    fn status_goes_to_the_driver_whose_start_it_ends() {
        let mut r = router();
        // B's status collected while A waits: kept for B, in order.
        assert_eq!(r.route(0, irq(B, base(1) | 7)), None);
        assert_eq!(r.route(0, irq(B, base(1) | 8)), None);
        assert_eq!(r.route(0, irq(A, base(0) | 3)), Some(irq(A, base(0) | 3)));
        assert_eq!(r.take(0), None);
        assert_eq!(r.take(1), Some(irq(B, base(1) | 7)));
        assert_eq!(r.take(1), Some(irq(B, base(1) | 8)));
        assert_eq!(r.take(1), None);
    }

    #[test]
    fn status_under_the_wrong_sid_goes_by_its_parameter() {
        let mut r = router();
        // A's start's status presented as B's: A judges it (sid-mismatch).
        assert_eq!(r.route(1, irq(B, base(0) | 9)), None);
        assert_eq!(r.take(0), Some(irq(B, base(0) | 9)));
        // Unsolicited status with the enabling parameter goes by sid.
        assert_eq!(r.route(0, irq(B, ENABLE_INTPARM)), None);
        assert_eq!(r.take(1), Some(irq(B, ENABLE_INTPARM)));
        // Nobody's: judged by whoever collected it.
        assert_eq!(r.route(1, irq(C, 0x4242)), Some(irq(C, 0x4242)));
        assert_eq!(r.owner(&irq(C, base(5))), None);
    }

    #[test]
    fn a_full_mailbox_hands_the_surplus_back() {
        let mut r = router();
        for n in 0..MAILBOX as u32 {
            assert_eq!(r.route(0, irq(B, base(1) | n)), None);
        }
        let surplus = irq(B, base(1) | 99);
        assert_eq!(r.route(0, surplus), Some(surplus));
        assert_eq!(r.take(1), Some(irq(B, base(1))));
        assert_eq!(r.route(0, surplus), None);
    }

    #[test]
    fn members_are_bounded_and_distinct_from_enabling() {
        let mut r = Router::new();
        for i in 0..MAX_SUBCHANNELS {
            assert_eq!(r.add(i as u32), Some(i));
            assert_ne!(u32::from(Router::intparm_base(i)), ENABLE_INTPARM >> 24);
        }
        assert_eq!(r.add(99), None);
        assert_eq!(r.take(MAX_SUBCHANNELS), None);
        r.clear();
        assert!(r.is_empty());
    }
}
