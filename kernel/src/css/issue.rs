//! [`Issuer`]: the channel instructions of one subchannel under test, each
//! issued on this CPU or, when a second issuer is configured (`cpus=both`),
//! on the CPU the seed picks.

use super::dma::Checked;
use super::{collect, insn, keep_unit_check, second};
use crate::rt::clock;
use gate::css::{Cc, Irb, Scsw, SubchannelId};
use gate::oracle::Interruption;
use gate::rng::Rng;

/// Issues START, CLEAR, HALT and TEST SUBCHANNEL for one subchannel.
pub struct Issuer {
    sid: u32,
    /// With a second CPU to issue on: the choice of CPU for each
    /// instruction, drawn in the order the instructions are issued.
    elsewhere: Option<Rng>,
    /// Interruption parameter of the last accepted SSCH (or of enabling):
    /// what status found by TSCH alone is reported with.
    intparm: u32,
    /// Where this CPU's TEST SUBCHANNEL stores. TSCH stores the IRB with
    /// cc 0 and 1 and only then is its SCSW read, so the buffer is not
    /// cleared before each TSCH.
    irb: Irb,
}

impl Issuer {
    /// Issues everything on this CPU.
    pub fn here(sid: u32) -> Self {
        Issuer {
            sid,
            elsewhere: None,
            intparm: gate::driver::ENABLE_INTPARM,
            irb: Irb::ZERO,
        }
    }

    /// Issues each instruction on this CPU or CPU 1, as `choice` draws.
    pub fn on_either(sid: u32, choice: Rng) -> Self {
        Issuer {
            elsewhere: Some(choice),
            ..Self::here(sid)
        }
    }

    pub fn sid(&self) -> u32 {
        self.sid
    }

    /// Interruption parameter of the last START SUBCHANNEL accepted.
    pub fn intparm(&self) -> u32 {
        self.intparm
    }

    /// Whether CPU 1 runs the next instruction.
    #[inline(always)]
    fn on_second(&mut self) -> bool {
        self.elsewhere.as_mut().is_some_and(|rng| rng.below(2) == 1)
    }

    /// START SUBCHANNEL of a program [`super::dma::check`] found in the
    /// member's I/O areas.
    pub fn ssch(&mut self, orb: &Checked) -> Cc {
        let cc = if self.on_second() {
            self.ssch_on_second(orb)
        } else {
            // SAFETY: a `Checked` ORB designates format-1 CCWs without
            // indirect addressing, each CCW the chain reaches and its data
            // inside one of the member's I/O areas, `Dma` memory (static,
            // never referenced, accessed volatile) for the rest of the run.
            unsafe { insn::ssch(self.sid, orb.orb()) }
        };
        if cc == Cc::Zero {
            self.intparm = orb.orb().intparm;
        }
        cc
    }

    /// START SUBCHANNEL issued by CPU 1.
    #[cold]
    #[inline(never)]
    fn ssch_on_second(&self, orb: &Checked) -> Cc {
        second::on_second(second::Work::Ssch {
            sid: self.sid,
            orb: *orb,
        })
        .0
    }

    pub fn csch(&mut self) -> Cc {
        if self.on_second() {
            return second::on_second(second::Work::Csch { sid: self.sid }).0;
        }
        insn::csch(self.sid)
    }

    pub fn hsch(&mut self) -> Cc {
        if self.on_second() {
            return second::on_second(second::Work::Hsch { sid: self.sid }).0;
        }
        insn::hsch(self.sid)
    }

    /// TEST SUBCHANNEL for `sid` (any subchannel), the status it finds
    /// reported with `intparm`.
    #[inline(always)]
    pub fn test(&mut self, sid: u32, intparm: u32) -> Interruption {
        let second = self.on_second();
        // Both paths end in registers, and the status is built once from
        // them: block copies are MVC, a helper call under TCG.
        let (tsch_cc, [w0, w1, w2], tod) = if second || !SubchannelId(sid).is_addressable() {
            self.test_elsewhere(second, sid, intparm)
        } else {
            let tod = clock::tod();
            let tsch_cc = insn::tsch(sid, &mut self.irb);
            keep_unit_check(tsch_cc, &self.irb);
            // TSCH stores the IRB with cc 0 and 1 only.
            let stored = u32::from(matches!(tsch_cc, Cc::Zero | Cc::One)).wrapping_neg();
            let [w0, w1, w2] = self.irb.scsw.words();
            (tsch_cc, [w0 & stored, w1 & stored, w2 & stored], tod)
        };
        Interruption {
            sid,
            intparm,
            tsch_cc,
            scsw: Scsw::from_words([w0, w1, w2]),
            tod,
        }
    }

    /// [`Issuer::test`] off the usual path: on the other CPU, or for a
    /// subchannel ID no instruction accepts.
    #[cold]
    #[inline(never)]
    fn test_elsewhere(&mut self, second: bool, sid: u32, intparm: u32) -> (Cc, [u32; 3], u64) {
        if !second || !SubchannelId(sid).is_addressable() {
            let irq = collect(sid, intparm);
            return (irq.tsch_cc, irq.scsw.words(), irq.tod);
        }
        let tod = clock::tod();
        let (tsch_cc, irb) = second::on_second(second::Work::Tsch { sid });
        keep_unit_check(tsch_cc, &irb);
        (tsch_cc, irb.scsw.words(), tod)
    }
}
