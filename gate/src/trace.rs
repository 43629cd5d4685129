//! The evidence ring: the last few channel operations, kept so that a failed
//! run can show what led up to the failure.
//!
//! Recording is on the hot path of every race, so [`Ring::push`] is a store
//! and a few increments; formatting happens only when a run dumps the ring.

use core::fmt;

/// Fixed-capacity history that overwrites its oldest entry when full.
#[derive(Clone)]
pub struct Ring<T: Copy, const N: usize> {
    buf: [T; N],
    /// Slot the next push writes; while not full, also the number held.
    next: usize,
    len: usize,
    total: u64,
}

impl<T: Copy, const N: usize> Ring<T, N> {
    /// `fill` only occupies unused slots; it is never returned.
    pub const fn new(fill: T) -> Self {
        const { assert!(N > 0, "a Ring needs room for at least one entry") };
        Ring {
            buf: [fill; N],
            next: 0,
            len: 0,
            total: 0,
        }
    }

    #[inline]
    pub fn push(&mut self, value: T) {
        self.buf[self.next] = value;
        // A compare instead of `% N`: N need not be a power of two and a
        // division would cost more than the rest of push.
        self.next += 1;
        if self.next == N {
            self.next = 0;
        }
        if self.len < N {
            self.len += 1;
        }
        self.total += 1;
    }

    /// Pushes the entry `make` builds from its sequence number
    /// ([`total`](Self::total) before the push), in its slot: the entry is
    /// not built elsewhere and copied in (a block copy is a helper call
    /// under TCG, and this runs for every event).
    #[inline(always)]
    pub fn push_with(&mut self, make: impl FnOnce(u64) -> T) {
        let seq = self.total;
        self.buf[self.next] = make(seq);
        self.next += 1;
        if self.next == N {
            self.next = 0;
        }
        if self.len < N {
            self.len += 1;
        }
        self.total = seq + 1;
    }

    /// Entries held, at most `N`.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Pushes since creation, including overwritten ones and those before a
    /// [`clear`](Self::clear), so it can number events for the whole run.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The held entries, oldest first: the first slice continues in the
    /// second.
    pub fn as_slices(&self) -> (&[T], &[T]) {
        if self.len < N {
            (&self.buf[..self.len], &[])
        } else {
            let (newer, older) = self.buf.split_at(self.next);
            (older, newer)
        }
    }

    /// Oldest to newest; `.rev()` gives newest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + Clone + '_ {
        let (older, newer) = self.as_slices();
        older.iter().chain(newer)
    }

    /// The newest entry.
    pub fn last(&self) -> Option<&T> {
        if self.len == 0 {
            None
        } else {
            Some(&self.buf[self.next.checked_sub(1).unwrap_or(N - 1)])
        }
    }

    /// Forgets the held entries; [`total`](Self::total) keeps counting.
    pub fn clear(&mut self) {
        self.next = 0;
        self.len = 0;
    }
}

named_enum! {
    /// What an [`Event`] is; the names are upper case so that dumps can be
    /// grepped for the operation.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum EventKind {
        Ssch => "SSCH",
        Csch => "CSCH",
        Hsch => "HSCH",
        Msch => "MSCH",
        Tsch => "TSCH",
        Tpi => "TPI",
        Interruption => "IRQ",
        /// A bounded wait for status ran out.
        Expired => "EXPIRED",
        /// Free-form marker; `cc` and `intparm` carry what the writer chose.
        Note => "NOTE",
    }
}

impl EventKind {
    /// Whether the event carries subchannel status, i.e. a SCSW.
    pub fn has_scsw(self) -> bool {
        matches!(self, EventKind::Interruption | EventKind::Tsch)
    }
}

/// One channel operation or observation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// Position in the run's event sequence, usually `Ring::total()` before
    /// the push, so gaps in a dump show how much was overwritten.
    pub seq: u64,
    /// TOD-clock value, relative to a point the caller chooses.
    pub tod: u64,
    pub iteration: u32,
    pub kind: EventKind,
    pub sid: u32,
    /// Condition code, or 0 where the kind has none.
    pub cc: u8,
    pub intparm: u32,
    /// SCSW words; printed only for kinds that have one.
    pub scsw: [u32; 3],
}

impl Event {
    /// A filler for [`Ring::new`].
    pub const EMPTY: Event = Event {
        seq: 0,
        tod: 0,
        iteration: 0,
        kind: EventKind::Note,
        sid: 0,
        cc: 0,
        intparm: 0,
        scsw: [0; 3],
    };
}

/// `#<seq> it=<iteration> tod=+<tod, at least 9 digits> <KIND>
/// sid=0x<8 hex> cc=<cc> intparm=0x<8 hex>`, and for `IRQ` and `TSCH`
/// ` scsw=0x<8 hex>:0x<8 hex>:0x<8 hex>`.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} it={} tod=+{:09} {} sid={:#010x} cc={} intparm={:#010x}",
            self.seq,
            self.iteration,
            self.tod,
            self.kind.name(),
            self.sid,
            self.cc,
            self.intparm
        )?;
        if self.kind.has_scsw() {
            let [a, b, c] = self.scsw;
            write!(f, " scsw={a:#010x}:{b:#010x}:{c:#010x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{format, vec::Vec};

    fn contents<const N: usize>(r: &Ring<u32, N>) -> Vec<u32> {
        r.iter().copied().collect()
    }

    #[test]
    fn empty() {
        let r: Ring<u32, 4> = Ring::new(99);
        assert!(r.is_empty());
        assert_eq!((r.len(), r.total(), r.last()), (0, 0, None));
        assert_eq!(r.iter().count(), 0);
        assert_eq!(r.as_slices(), (&[][..], &[][..]));
    }

    #[test]
    fn fills_then_wraps_oldest_first() {
        let mut r: Ring<u32, 4> = Ring::new(0);
        for v in 1..=3 {
            r.push(v);
        }
        assert_eq!(contents(&r), [1, 2, 3]);
        assert_eq!((r.len(), r.total(), r.last()), (3, 3, Some(&3)));

        r.push(4);
        assert_eq!(contents(&r), [1, 2, 3, 4]);
        assert_eq!(r.last(), Some(&4));

        for v in 5..=10 {
            r.push(v);
            assert_eq!(r.last(), Some(&v));
        }
        assert_eq!(contents(&r), [7, 8, 9, 10]);
        assert_eq!(r.as_slices(), (&[7, 8][..], &[9, 10][..]));
        assert_eq!((r.len(), r.total()), (4, 10));
        assert_eq!(r.iter().rev().copied().collect::<Vec<_>>(), [10, 9, 8, 7]);
    }

    #[test]
    fn every_phase_of_wrap() {
        let mut r: Ring<u32, 3> = Ring::new(0);
        for v in 1..=20u32 {
            r.push(v);
            let want: Vec<u32> = (v.saturating_sub(2).max(1)..=v).collect();
            assert_eq!(contents(&r), want);
            assert_eq!(r.total(), u64::from(v));
        }
    }

    #[test]
    fn capacity_one() {
        let mut r: Ring<u32, 1> = Ring::new(0);
        r.push(1);
        r.push(2);
        assert_eq!(
            (contents(&r), r.last(), r.total()),
            (std::vec![2], Some(&2), 2)
        );
    }

    #[test]
    fn clear_keeps_total() {
        let mut r: Ring<u32, 3> = Ring::new(0);
        for v in 1..=5 {
            r.push(v);
        }
        r.clear();
        assert!(r.is_empty());
        assert_eq!((r.last(), r.total()), (None, 5));
        assert_eq!(r.iter().count(), 0);
        r.push(6);
        assert_eq!((contents(&r), r.total()), (std::vec![6], 6));
    }

    #[test]
    fn const_construction() {
        static RING: Ring<Event, 8> = Ring::new(Event::EMPTY);
        assert!(RING.is_empty());
    }

    #[test]
    fn display_ssch() {
        let e = Event {
            seq: 123,
            tod: 1234,
            iteration: 7,
            kind: EventKind::Ssch,
            sid: 0x0001_0000,
            cc: 0,
            intparm: 7,
            scsw: [1, 2, 3],
        };
        assert_eq!(
            format!("{e}"),
            "#123 it=7 tod=+000001234 SSCH sid=0x00010000 cc=0 intparm=0x00000007"
        );
    }

    #[test]
    fn display_with_scsw() {
        let e = Event {
            seq: 0,
            tod: 12_345_678_901,
            iteration: 0,
            kind: EventKind::Interruption,
            sid: 0x0001_0002,
            cc: 1,
            intparm: 0xdead_beef,
            scsw: [0x00c0_4007, 0x0000_1008, 0x0c00_0000],
        };
        assert_eq!(
            format!("{e}"),
            "#0 it=0 tod=+12345678901 IRQ sid=0x00010002 cc=1 intparm=0xdeadbeef \
             scsw=0x00c04007:0x00001008:0x0c000000"
        );
        let tsch = Event {
            kind: EventKind::Tsch,
            ..e
        };
        assert!(format!("{tsch}").contains(" TSCH sid=") && format!("{tsch}").contains(" scsw="));
    }

    #[test]
    fn kind_names() {
        let all = [
            (EventKind::Ssch, "SSCH"),
            (EventKind::Csch, "CSCH"),
            (EventKind::Hsch, "HSCH"),
            (EventKind::Msch, "MSCH"),
            (EventKind::Tsch, "TSCH"),
            (EventKind::Tpi, "TPI"),
            (EventKind::Interruption, "IRQ"),
            (EventKind::Expired, "EXPIRED"),
            (EventKind::Note, "NOTE"),
        ];
        for (kind, name) in all {
            assert_eq!(kind.name(), name);
            let line = format!(
                "{}",
                Event {
                    kind,
                    ..Event::EMPTY
                }
            );
            assert_eq!(line.contains(" scsw="), kind.has_scsw(), "{line}");
            assert!(line.contains(&format!(" {name} ")), "{line}");
        }
    }
}
