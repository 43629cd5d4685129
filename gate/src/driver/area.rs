//! The I/O areas: their layout and fingerprint, the channel programs built
//! into them, and what is checked in them when an operation ends.

use super::{
    violation, Channel, Driver, Failure, Status, DATA_FILL, DATA_LEN, GUARD_BYTE, GUARD_LEN,
    MAX_CCWS, SENSE_COUNT, SENSE_ID_COUNT,
};
use crate::css::{cmd, Ccw1, CcwFlags, SenseId};
use crate::oracle::{Class, Completed, Op, Program, Violation};

/// Memory for one channel program and its data, addressed by the device.
/// The driver uses two in turn, so that an area can be checked for late
/// writes while the other one is in use. The model's and the sim's are the
/// device's memory itself; the kernel's are copies of its areas below
/// 2 GiB, carried there and back by [`super::Channel::publish`] and
/// [`super::Channel::observe`].
#[repr(C, align(8))]
#[derive(Clone)]
pub struct IoArea {
    pub ccws: [Ccw1; MAX_CCWS],
    pub front: [u8; GUARD_LEN],
    pub data: [u8; DATA_LEN],
    pub back: [u8; GUARD_LEN],
}

impl IoArea {
    pub const DATA_OFFSET: u32 = core::mem::offset_of!(IoArea, data) as u32;

    pub const fn new() -> Self {
        IoArea {
            ccws: [Ccw1::new(0, CcwFlags::empty(), 0, 0); MAX_CCWS],
            front: [GUARD_BYTE; GUARD_LEN],
            data: [DATA_FILL; DATA_LEN],
            back: [GUARD_BYTE; GUARD_LEN],
        }
    }

    /// A cheap fingerprint of CCWs, guards and data (FNV-1a over 64-bit
    /// words: it runs after every operation). The words go in a fixed
    /// order given `fill_word` (see [`IoArea::hash`]); an area is compared
    /// only with a fingerprint taken with the same `fill_word`.
    fn fingerprint(&self, fill_word: usize) -> u64 {
        self.hash(fill_word).1
    }

    /// The fingerprint and, in the same pass, whether the guards still hold
    /// [`GUARD_BYTE`] and `data[fill_from..]` [`DATA_FILL`]: an area whose
    /// operation just ended is read once, not once per check. Returns the
    /// fingerprint's `fill_word` too.
    fn scan(&self, fill_from: usize) -> (u64, bool, usize) {
        const FILL: u64 = u64::from_be_bytes([DATA_FILL; 8]);
        let fill_from = fill_from.min(DATA_LEN);
        let fill_word = fill_from.div_ceil(8);
        let (patterned, h) = self.hash(fill_word);
        let mut clean = patterned == PRISTINE[fill_word];
        if fill_from % 8 != 0 {
            // The word `fill_from` falls in: the device's bytes, then fill.
            let w = word(&self.data[(fill_word - 1) * 8..fill_word * 8]);
            clean &= (w ^ FILL) & (u64::MAX >> ((fill_from % 8) * 8)) == 0;
        }
        (h, clean, fill_word)
    }

    /// FNV-1a over the guards, `data[fill_word * 8..]`, the CCWs and
    /// `data[..fill_word * 8]`, in this order: the parts that must hold
    /// their patterns come first, so the state after them (the first value)
    /// equals [`PRISTINE`]`[fill_word]` exactly when they do (but for a
    /// 64-bit hash collision), and checking them costs no pass of its own.
    /// `fill_word` is at most `DATA_LEN / 8` ([`IoArea::scan`] clamps).
    fn hash(&self, fill_word: usize) -> (u64, u64) {
        let mut h = FNV_BASIS;
        let (stored, fill) = self.data.split_at(fill_word * 8);
        for part in [&self.front[..], &self.back[..], fill] {
            for c in part.chunks_exact(8) {
                h = fnv(h, word(c));
            }
        }
        let patterned = h;
        h = self.ccw_hash(h);
        for c in stored.chunks_exact(8) {
            h = fnv(h, word(c));
        }
        (patterned, h)
    }

    fn ccw_hash(&self, mut h: u64) -> u64 {
        for ccw in &self.ccws {
            let w = u64::from(ccw.cmd) << 56
                | u64::from(ccw.flags.bits()) << 48
                | u64::from(ccw.count) << 32
                | u64::from(ccw.cda);
            h = fnv(h, w);
        }
        h
    }
}

const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// [`IoArea::hash`]'s state after the patterned words of an untouched
/// area, for each `fill_word`: both guards, then `32 - fill_word` words of
/// fill.
const PRISTINE: [u64; DATA_LEN / 8 + 1] = {
    let guard = u64::from_be_bytes([GUARD_BYTE; 8]);
    let fill = u64::from_be_bytes([DATA_FILL; 8]);
    let mut table = [0; DATA_LEN / 8 + 1];
    let mut w = 0;
    while w <= DATA_LEN / 8 {
        let mut h = FNV_BASIS;
        let mut i = 0;
        while i < 2 * GUARD_LEN / 8 {
            h = fnv(h, guard);
            i += 1;
        }
        let mut i = w;
        while i < DATA_LEN / 8 {
            h = fnv(h, fill);
            i += 1;
        }
        table[w] = h;
        w += 1;
    }
    table
};

#[inline(always)]
const fn fnv(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(0x100_0000_01b3)
}

/// Eight bytes as one big-endian word (on s390x a plain load).
#[inline(always)]
fn word(c: &[u8]) -> u64 {
    u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
}

impl Default for IoArea {
    fn default() -> Self {
        Self::new()
    }
}

/// The channel programs ccwgate issues: safe on any device and acceptable to
/// vfio-ccw (format-1 CCWs, prefetch allowed, no TIC, no IDAWs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramKind {
    SenseId,
    Nop,
    /// `n` NOPs chained by command chaining (2..=MAX_CCWS).
    NopChain(u8),
    /// SENSE, only after a unit check, to read why.
    Sense,
}

/// Count of each NOP CCW (nonzero, as every CCW's must be).
const NOP_COUNT: u16 = 1;

/// Writes the channel program for `kind` into `area` (at absolute `base`),
/// refilling its data and guards.
/// `clean_from`: the guards are intact and `data[n..]` holds DATA_FILL
/// (checked when the area's last operation ended), so only `data[..n]` is
/// refilled; `None` refills everything.
pub(super) fn build(
    area: &mut IoArea,
    base: u32,
    kind: ProgramKind,
    clean_from: Option<usize>,
) -> Program {
    match clean_from {
        Some(n) => area.data[..n.min(DATA_LEN)].fill(DATA_FILL),
        None => {
            area.front = [GUARD_BYTE; GUARD_LEN];
            area.data = [DATA_FILL; DATA_LEN];
            area.back = [GUARD_BYTE; GUARD_LEN];
        }
    }
    let data = base + IoArea::DATA_OFFSET;
    let (cmd, count, n) = match kind {
        ProgramKind::SenseId => (cmd::SENSE_ID, SENSE_ID_COUNT, 1),
        ProgramKind::Nop => (cmd::NOP, NOP_COUNT, 1),
        ProgramKind::NopChain(n) => (cmd::NOP, NOP_COUNT, usize::from(n).clamp(1, MAX_CCWS)),
        ProgramKind::Sense => (cmd::SENSE, SENSE_COUNT, 1),
    };
    for (i, ccw) in area.ccws.iter_mut().enumerate().take(n) {
        let chain = if i + 1 < n {
            CcwFlags::CC
        } else {
            CcwFlags::empty()
        };
        *ccw = Ccw1::new(cmd, CcwFlags::SLI | chain, count, data);
    }
    Program::new(base, n as u32)
}

/// Starts in a row that may end without their program beginning (each is
/// allowed: status was pending when the start was to begin).
const MAX_NOT_INITIATED: u32 = 8;

impl<C: Channel + Status> Driver<C> {
    /// Checks the I/O areas when an operation ends: the area its program
    /// used (guards; data of a start that completed, or that never began and
    /// so must not have touched it), then that every area whose operation
    /// ended earlier is exactly as it was then: a device may not write into
    /// a channel program after its end.
    pub(super) fn operation_ended(
        &mut self,
        done: Completed,
        residual: Option<u16>,
    ) -> Result<(), Failure> {
        let slot = self.slot;
        // Some: this operation ran (or was to run) a program in `slot`.
        // None: a CLEAR or HALT of an idle subchannel, whose area still
        // belongs to an operation that ended before.
        let ran = self.in_flight.take();
        if let Some(kind) = ran {
            self.chan.observe(slot);
            let settled = self.settle_area(slot, kind, done, residual);
            self.settled[slot] = Some(settled.map_err(|v| self.fail(v))?);
        }
        for earlier in 0..2 {
            if ran.is_some() && earlier == slot {
                continue;
            }
            if let Some((expected, fill_word)) = self.settled[earlier] {
                self.chan.observe(earlier);
                if self.chan.area(earlier).0.fingerprint(fill_word) != expected {
                    let v = violation(
                        Class::DataCorruption,
                        "write-after-completion",
                        0,
                        earlier as u32,
                    );
                    return Err(self.fail(v));
                }
            }
        }
        if done.op == Op::Start {
            self.starts_not_initiated = if done.not_initiated {
                self.starts_not_initiated + 1
            } else {
                0
            };
            if self.starts_not_initiated >= MAX_NOT_INITIATED {
                // Each one is allowed (status was pending when the start was
                // to begin), but a device that never lets a program run is
                // not one a gate can pass.
                let v = violation(
                    Class::BadStatus,
                    "starts-never-initiated",
                    0,
                    self.starts_not_initiated,
                );
                return Err(self.fail(v));
            }
            if !done.not_initiated {
                self.summary.latency.record(done.latency);
            }
        }
        Ok(())
    }

    /// [`Driver::check_area`] and the fingerprint in one pass over the
    /// area on the usual path (guards, data and SENSE ID as they must be);
    /// anything else is judged by `check_area` itself, so the violations
    /// stay exactly its. Also notes how much of the area the next build
    /// must refill.
    fn settle_area(
        &mut self,
        slot: usize,
        kind: ProgramKind,
        done: Completed,
        residual: Option<u16>,
    ) -> Result<(u64, usize), Violation> {
        let sense_id = done.op == Op::Start && !done.not_initiated && kind == ProgramKind::SenseId;
        // Where the data must still hold DATA_FILL (DATA_LEN: nowhere).
        let fill_from = match (done.op, done.not_initiated, kind) {
            (Op::Start, false, ProgramKind::SenseId) => match residual {
                None => Some(DATA_LEN),
                Some(residual) => SENSE_ID_COUNT
                    .checked_sub(residual)
                    .map(usize::from)
                    .filter(|&stored| stored >= SenseId::MIN_LEN),
            },
            // A NOP residual above its count: check_area names it.
            (Op::Start, false, ProgramKind::Nop | ProgramKind::NopChain(_))
                if residual.is_some_and(|r| r > NOP_COUNT) =>
            {
                None
            }
            (Op::Start, _, _) => Some(0),
            _ => Some(DATA_LEN),
        };
        if let Some(fill_from) = fill_from {
            let baseline = self.baseline;
            let (area, _) = self.chan.area(slot);
            let (fingerprint, clean, fill_word) = area.scan(fill_from);
            // The baseline after this operation, if its SENSE ID is good.
            let identified = match (sense_id, baseline) {
                (false, _) => Some(baseline),
                (true, Some(b)) => self
                    .oracle
                    .check_sense_id(&area.data, b)
                    .ok()
                    .map(|()| baseline),
                (true, None) => SenseId::parse(&area.data).ok().map(Some),
            };
            if let (true, Some(id)) = (clean, identified) {
                self.baseline = id;
                self.clean_from[slot] = Some(fill_from);
                return Ok((fingerprint, fill_word));
            }
        }
        self.check_area(slot, kind, done, residual)?;
        let fill_word = DATA_LEN / 8;
        Ok((self.chan.area(slot).0.fingerprint(fill_word), fill_word))
    }

    fn check_area(
        &mut self,
        slot: usize,
        kind: ProgramKind,
        done: Completed,
        residual: Option<u16>,
    ) -> Result<(), Violation> {
        let baseline = self.baseline;
        let (area, _) = self.chan.area(slot);
        self.oracle.check_canary(&area.front, GUARD_BYTE)?;
        self.oracle.check_canary(&area.back, GUARD_BYTE)?;
        match (done.op, done.not_initiated, kind) {
            (Op::Start, false, ProgramKind::SenseId) => {
                match baseline {
                    Some(b) => self.oracle.check_sense_id(&area.data, b)?,
                    None => match SenseId::parse(&area.data) {
                        Ok(id) => self.baseline = Some(id),
                        Err(_) => {
                            let byte0 = u32::from(area.data[0]);
                            return Err(violation(
                                Class::DataCorruption,
                                "sense-id-without-0xff",
                                0xff,
                                byte0,
                            ));
                        }
                    },
                }
                let Some(residual) = residual else {
                    return Ok(());
                };
                // The device stored exactly count - residual bytes, at least
                // the identification, and not one byte more.
                let stored = SENSE_ID_COUNT.checked_sub(residual).map_or(0, usize::from);
                if stored < SenseId::MIN_LEN {
                    let v = violation(
                        Class::BadStatus,
                        "sense-id-residual",
                        u32::from(SENSE_ID_COUNT),
                        u32::from(residual),
                    );
                    return Err(v);
                }
                self.oracle.check_canary(&area.data[stored..], DATA_FILL)
            }
            // PoP ch. 16 Count: the residual is the last CCW's count less
            // what it transferred, so never above its count (1 for ccwgate's
            // NOPs). The architecture has 1 for a NOP, which transfers
            // nothing; QEMU's emulated devices store 0: both pass.
            (Op::Start, false, ProgramKind::Nop | ProgramKind::NopChain(_))
                if residual.is_some_and(|r| r > NOP_COUNT) =>
            {
                Err(violation(
                    Class::BadStatus,
                    "nop-residual-above-count",
                    u32::from(NOP_COUNT),
                    u32::from(residual.unwrap_or(0)),
                ))
            }
            // NOP transfers nothing, and a start that never began ran nothing.
            (Op::Start, _, _) => self.oracle.check_canary(&area.data, DATA_FILL),
            // A halted or cleared program may have stored part of its data.
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdline::Scenario;
    use crate::driver::test_util::*;
    use crate::sim::{HostBug, Sim};

    #[test]
    fn a_nop_residual_above_its_count_is_bad_status() {
        let f = detects(HostBug::NopResidual, Scenario::Ssch);
        let v = f.violation;
        assert_eq!(
            (v.class, v.what, v.expected, v.actual),
            (Class::BadStatus, "nop-residual-above-count", 1, 0x100)
        );
    }

    #[test]
    fn a_device_that_never_begins_a_program_fails() {
        let f = detects(HostBug::NeverInitiate, Scenario::Ssch);
        assert_eq!(
            (f.violation.what, f.violation.actual),
            ("starts-never-initiated", MAX_NOT_INITIATED)
        );
        // One start that does not begin is allowed, and is not a completion.
        let mut sim = Sim::with_bug(SID, HostBug::NeverInitiate, 1);
        let f = run(&mut sim, &config(Scenario::Smoke, 1, 1)).unwrap_err();
        assert_eq!(f.violation.what, "starts-never-initiated");
    }

    #[test]
    fn a_write_into_a_finished_program_at_clear_time_is_caught() {
        let f = detects(HostBug::LateWriteAtClear, Scenario::CschIdle);
        assert_eq!(f.violation.what, "write-after-completion");
    }

    /// A device that writes into the previous program's area while the
    /// next program runs is caught when that program ends, as a write into
    /// the earlier area.
    #[test]
    fn a_write_into_a_finished_program_during_the_next_is_caught_at_its_end() {
        let f = detects(HostBug::LateWrite, Scenario::Ssch);
        assert_eq!(f.violation.what, "write-after-completion");
        // The 30th start: iteration 28 after the baseline, in the area the
        // 29th used.
        assert_eq!((f.iteration, f.violation.actual), (28, 1));
        // The same through copies of the areas, as the kernel keeps them:
        // the earlier area is copied from the device's memory before it is
        // compared.
        let mut k = Kernelish::new(Sim::with_bug(SID, HostBug::LateWrite, 30));
        let f = Driver::new(&mut k, &config(Scenario::Ssch, 7, 200))
            .run(|_| {})
            .unwrap_err();
        assert_eq!(f.violation.what, "write-after-completion");
        assert_eq!((f.iteration, f.violation.actual), (28, 1));
    }

    /// A NOP transfers nothing: a device that stores into its data is
    /// caught when that NOP ends, as the data overwritten.
    #[test]
    fn a_nop_that_stores_data_is_caught_at_its_end() {
        let mut k = Kernelish::new(Sim::new(SID));
        k.nop_stores = true;
        let f = Driver::new(&mut k, &config(Scenario::Ssch, 7, 200))
            .run(|_| {})
            .unwrap_err();
        let v = f.violation;
        assert_eq!(
            (v.class, v.what, v.expected, v.actual),
            (Class::DataCorruption, "canary-overwritten", 0x5a, 0xa5)
        );
        assert_eq!(
            k.programs.last().map(|p| p.0),
            Some(cmd::NOP),
            "no start after it"
        );
    }

    /// An operation that ended as it must leaves its area noted clean from
    /// where the device stopped storing, so that the next build refills
    /// only that much: a SENSE ID from its last byte stored, a NOP or a
    /// start that never began from the first.
    #[test]
    fn an_operation_that_ended_as_it_must_notes_how_much_to_refill() {
        let mut k = Kernelish::new(Sim::with_device_event(
            SID,
            crate::sim::DeviceEvent::ControlUnitBusy,
            3,
        ));
        let c = config(Scenario::Ssch, 3, 300);
        let mut d = Driver::new(&mut k, &c);
        d.prepare().unwrap();
        let mut seen = [0; 4];
        for i in 0..300 {
            let begun = d.oracle.stats().starts_not_initiated;
            d.iterate(i).unwrap();
            let not_initiated = d.oracle.stats().starts_not_initiated > begun;
            let sense_id = d.chan.programs.last().unwrap().0 == cmd::SENSE_ID;
            let expected = if sense_id && !not_initiated { 7 } else { 0 };
            seen[usize::from(not_initiated) * 2 + usize::from(sense_id)] += 1;
            assert_eq!(d.clean_from[d.slot], Some(expected), "iteration {i}");
        }
        assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
    }

    #[test]
    fn programs_are_format1_with_suppressed_length_checks() {
        let mut area = IoArea::new();
        let p = build(&mut area, 0x2000, ProgramKind::NopChain(3), None);
        assert_eq!((p.first_ccw, p.ccw_count), (0x2000, 3));
        assert!(area.ccws[0].flags.contains(CcwFlags::CC | CcwFlags::SLI));
        assert!(!area.ccws[2].flags.contains(CcwFlags::CC));
        assert_eq!(area.ccws[1].cda, 0x2000 + IoArea::DATA_OFFSET);
        let p = build(&mut area, 0x2000, ProgramKind::SenseId, None);
        assert_eq!(p.ccw_count, 1);
        assert_eq!(
            (area.ccws[0].cmd, area.ccws[0].count),
            (cmd::SENSE_ID, SENSE_ID_COUNT)
        );
    }

    /// A device that rewrites any field of any CCW of a finished program
    /// changes its fingerprint.
    #[test]
    fn the_fingerprint_sees_every_field_of_every_ccw() {
        let mut area = IoArea::new();
        build(
            &mut area,
            0x2000,
            ProgramKind::NopChain(MAX_CCWS as u8),
            None,
        );
        let fingerprint = area.fingerprint(0);
        for i in 0..MAX_CCWS {
            for field in 0..4 {
                let mut hit = area.clone();
                let ccw = &mut hit.ccws[i];
                match field {
                    0 => ccw.cmd ^= 0x80,
                    1 => ccw.flags ^= CcwFlags::SLI,
                    2 => ccw.count ^= 0x100,
                    _ => ccw.cda ^= 0x10,
                }
                assert_ne!(hit.fingerprint(0), fingerprint, "CCW {i} field {field}");
            }
        }
    }

    /// The one-pass scan sees every byte that must keep its pattern, and
    /// only those; the fingerprint sees every byte.
    #[test]
    fn the_scan_checks_exactly_the_patterned_bytes() {
        let mut area = IoArea::new();
        build(&mut area, 0x2000, ProgramKind::SenseId, None);
        area.data[..12].copy_from_slice(&[0xff, 0x38, 0x32, 4, 0, 0, 0, 0, 9, 9, 9, 9]);
        for fill_from in [12, 16, 0x20, DATA_LEN] {
            assert!(
                area.scan(fill_from).1,
                "pristine with fill from {fill_from}"
            );
        }
        assert!(!area.scan(11).1, "a device byte where fill must be");
        assert!(!area.scan(0).1);
        let (fingerprint, _, fill_word) = area.scan(12);
        assert_eq!((fill_word, area.fingerprint(fill_word)), (2, fingerprint));
        let regions = [
            (IoArea::DATA_OFFSET as usize - GUARD_LEN, true),
            (IoArea::DATA_OFFSET as usize + 12, true),
            (IoArea::DATA_OFFSET as usize + 15, true),
            (IoArea::DATA_OFFSET as usize + DATA_LEN - 1, true),
            (
                IoArea::DATA_OFFSET as usize + DATA_LEN + GUARD_LEN - 1,
                true,
            ),
            // The device's own bytes and the CCWs hold no pattern.
            (IoArea::DATA_OFFSET as usize + 11, false),
            (3, false),
        ];
        let d = IoArea::DATA_OFFSET as usize;
        for (o, patterned) in regions {
            let mut hit = area.clone();
            match o {
                o if o < d - GUARD_LEN => hit.ccws[o / 8].count ^= 1,
                o if o < d => hit.front[o - (d - GUARD_LEN)] ^= 0x40,
                o if o < d + DATA_LEN => hit.data[o - d] ^= 0x40,
                o => hit.back[o - d - DATA_LEN] ^= 0x40,
            }
            let (f, clean, _) = hit.scan(12);
            assert_eq!(clean, !patterned, "offset {o}");
            assert_ne!(f, fingerprint, "offset {o}");
        }
    }
}
