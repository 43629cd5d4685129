//! Where a subchannel's status comes from: one small type per way of
//! collecting it, chosen once when the [`Subchannel`](super::Subchannel) is
//! made (its constructor is the only place that looks at `mode=` and
//! `cpus=`), each owning its state and its tuning for TCG:
//!
//! - [`Irq`] (`mode=irq`): the I/O-interruption handler runs TEST
//!   SUBCHANNEL and leaves the result in a slot; I/O interruptions are
//!   unmasked only while the driver waits, one interruption per opening, so
//!   it sees instructions and status in their true order.
//! - [`Wait`] (`mode=wait`): as [`Irq`], but the CPU waits for the
//!   interruption in an enabled wait state instead of spinning.
//! - [`Tpi`] (`mode=poll`): I/O interruptions stay masked; TEST PENDING
//!   INTERRUPTION is polled and TEST SUBCHANNEL run for what it returns.
//! - [`Tsch`] (`mode=tsch`): I/O interruptions stay masked; TEST SUBCHANNEL
//!   is polled on the subchannel itself. No interruption code is ever
//!   stored, so the interruption parameter is taken to be the subchannel's
//!   current one (the last accepted SSCH's) and cannot be checked.
//! - [`Elsewhere`] (`cpus=io-elsewhere`, with `mode=irq` or `wait`): CPU 1
//!   takes the interruptions and queues their status ([`super::second`]).
//!
//! With several subchannels under test, [`Routed`] wraps any of them: status
//! collected for another member while this one waited is kept for it
//! ([`gate::route`]).

use super::issue::Issuer;
use super::{collect, second};
use crate::rt::psw::PswMask;
use crate::rt::{clock, cpu};
use gate::driver::NOW;
use gate::oracle::Interruption;
use gate::route::Router;
use spin::Mutex;

/// A way of collecting status (see the module doc).
pub trait Source {
    /// Status for any subchannel, in the order it was collected, or `None`
    /// once the TOD clock passes `deadline` ([`NOW`]: take what is there).
    /// TEST SUBCHANNEL goes through `io`.
    fn next(&mut self, io: &mut Issuer, deadline: u64) -> Option<Interruption>;
    /// Status already collected (by a handler) and not handed out, without
    /// waiting or unmasking anything.
    fn collected(&mut self) -> Option<Interruption>;
    /// See [`gate::driver::Status::start_reveals_pending`].
    fn start_reveals_pending(&self) -> bool {
        false
    }
}

// ---- the interruption handler's slot (Irq, Wait) ----

/// Status the I/O-interruption handler collected and the driver has not
/// taken yet. One slot is enough: the handler returns with I/O masked, so
/// each opening of I/O ([`open_once`]) admits one interruption, and the
/// slot is emptied right after. The driver takes the lock only with I/O
/// masked, so it never spins against the handler.
pub(super) static TAKEN: Mutex<Option<Interruption>> = Mutex::new(None);

/// The I/O-interruption path: collect the status of the interrupting
/// subchannel at once, as an operating system would. CPU 1's interruptions
/// (`cpus=io-elsewhere`) are its own business.
pub fn on_io_interruption(sid: u32, intparm: u32) {
    if cpu::address() != 0 {
        return second::on_io_interruption(sid, intparm);
    }
    let irq = collect(sid, intparm);
    if TAKEN.lock().replace(irq).is_some() {
        // The handler masks I/O on return, so this is a ccwgate bug, and
        // losing status silently would hide host bugs: say so loudly.
        panic!("two I/O interruptions in one opening");
    }
}

fn take() -> Option<Interruption> {
    let mut slot = TAKEN.lock();
    // Copy out only what is there (under TCG a block copy is a helper call).
    if slot.is_none() {
        return None;
    }
    slot.take()
}

/// Opens I/O for a moment: an interruption already pending is taken then.
fn open_once() -> Option<Interruption> {
    cpu::unmask_io();
    cpu::mask_io();
    take()
}

/// Whether `deadline` has passed; [`NOW`] has without reading the clock
/// (the drain between iterations asks for what is there, nothing more).
#[inline(always)]
fn passed(deadline: u64) -> bool {
    deadline == NOW || clock::tod() >= deadline
}

// ---- the sources ----

/// `mode=irq`: interruptions taken with I/O opened, spinning.
pub struct Irq;

impl Source for Irq {
    #[inline(never)]
    fn next(&mut self, _io: &mut Issuer, deadline: u64) -> Option<Interruption> {
        take().or_else(|| loop {
            if let Some(irq) = open_once() {
                return Some(irq);
            }
            if passed(deadline) {
                return None;
            }
        })
    }

    #[inline]
    fn collected(&mut self) -> Option<Interruption> {
        take()
    }
}

/// `mode=wait`: interruptions taken in an enabled wait.
pub struct Wait;

impl Source for Wait {
    #[inline(never)]
    fn next(&mut self, _io: &mut Issuer, deadline: u64) -> Option<Interruption> {
        // What is already pending comes in the moment I/O opens; only then
        // idle, until an interruption or the clock comparator at the deadline.
        take().or_else(open_once).or_else(|| {
            clock::wait_until(deadline, PswMask::IO, || TAKEN.lock().is_some());
            take()
        })
    }

    #[inline]
    fn collected(&mut self) -> Option<Interruption> {
        take()
    }
}

/// `mode=poll`: TEST PENDING INTERRUPTION polled, I/O masked.
pub struct Tpi;

impl Source for Tpi {
    #[inline(never)]
    fn next(&mut self, io: &mut Issuer, deadline: u64) -> Option<Interruption> {
        loop {
            if let Some((sid, intparm)) = super::insn::tpi() {
                return Some(io.test(sid, intparm));
            }
            if passed(deadline) {
                return None;
            }
        }
    }

    /// I/O stays masked: no handler collects.
    #[inline(always)]
    fn collected(&mut self) -> Option<Interruption> {
        None
    }
}

/// `mode=tsch`: TEST SUBCHANNEL polled on the subchannel itself. No
/// interruption code is stored, so the status is reported with the
/// interruption parameter of the last START the issuer had accepted.
pub struct Tsch;

impl Source for Tsch {
    #[inline(always)]
    fn next(&mut self, io: &mut Issuer, deadline: u64) -> Option<Interruption> {
        loop {
            let irq = io.test(io.sid(), io.intparm());
            if irq.tsch_cc != gate::css::Cc::One || irq.tod >= deadline {
                return (irq.tsch_cc != gate::css::Cc::One).then_some(irq);
            }
        }
    }

    /// I/O stays masked: no handler collects.
    #[inline(always)]
    fn collected(&mut self) -> Option<Interruption> {
        None
    }

    /// TSCH on this subchannel is the only collection: no interruption, no
    /// other subchannel's status, is ever seen between iterations.
    fn start_reveals_pending(&self) -> bool {
        true
    }
}

/// `cpus=io-elsewhere`: CPU 1 takes the interruptions and queues the status.
pub struct Elsewhere;

impl Source for Elsewhere {
    #[inline(never)]
    fn next(&mut self, _io: &mut Issuer, deadline: u64) -> Option<Interruption> {
        second::wait(deadline)
    }

    #[inline]
    fn collected(&mut self) -> Option<Interruption> {
        second::take()
    }
}

// ---- several subchannels ----

/// The subchannels under test and the status collected for one of them
/// while another's driver waited ([`gate::route`]). Taken only by drivers,
/// never by the interruption handler.
pub(super) static ROUTER: Mutex<Router> = Mutex::new(Router::new());

/// Any source, for member `index` of several subchannels under test: what
/// it collects for another member is kept for that one.
pub struct Routed<S> {
    index: usize,
    inner: S,
}

impl<S> Routed<S> {
    pub fn new(index: usize, inner: S) -> Self {
        Routed { index, inner }
    }

    fn kept(&self) -> Option<Interruption> {
        ROUTER.lock().take(self.index)
    }

    /// Keeps `irq` for the member it belongs to, or hands it back.
    fn mine(&self, irq: Interruption) -> Option<Interruption> {
        ROUTER.lock().route(self.index, irq)
    }
}

impl<S: Source> Source for Routed<S> {
    fn next(&mut self, io: &mut Issuer, deadline: u64) -> Option<Interruption> {
        loop {
            if let Some(irq) = self.kept() {
                return Some(irq);
            }
            let irq = self.inner.next(io, deadline)?;
            if let Some(irq) = self.mine(irq) {
                return Some(irq);
            }
        }
    }

    #[inline(never)]
    fn collected(&mut self) -> Option<Interruption> {
        if let Some(irq) = self.kept() {
            return Some(irq);
        }
        // CPU 1's queue may hold several, another member's ahead of this
        // one's: route those on until this one's or none.
        loop {
            let irq = self.inner.collected()?;
            if let Some(irq) = self.mine(irq) {
                return Some(irq);
            }
        }
    }

    fn start_reveals_pending(&self) -> bool {
        self.inner.start_reveals_pending()
    }
}

// ---- the chosen source, as one type ----

macro_rules! sources {
    ($($name:ident),+ $(,)?) => {
        /// One subchannel's own source, of any kind.
        pub enum Own {
            $($name($name),)+
        }

        /// What a subchannel collects with: its own source, or (several
        /// subchannels) a source behind the router.
        pub enum Chosen {
            $($name($name),)+
            Routed(Routed<Own>),
        }

        impl From<Own> for Chosen {
            fn from(own: Own) -> Self {
                match own {
                    $(Own::$name(s) => Chosen::$name(s),)+
                }
            }
        }

        impl Source for Own {
            #[inline(always)]
            fn next(&mut self, io: &mut Issuer, deadline: u64) -> Option<Interruption> {
                match self {
                    $(Own::$name(s) => s.next(io, deadline),)+
                }
            }
            #[inline(always)]
            fn collected(&mut self) -> Option<Interruption> {
                match self {
                    $(Own::$name(s) => s.collected(),)+
                }
            }
            #[inline(always)]
            fn start_reveals_pending(&self) -> bool {
                match self {
                    $(Own::$name(s) => s.start_reveals_pending(),)+
                }
            }
        }

        impl Source for Chosen {
            #[inline(always)]
            fn next(&mut self, io: &mut Issuer, deadline: u64) -> Option<Interruption> {
                match self {
                    $(Chosen::$name(s) => s.next(io, deadline),)+
                    Chosen::Routed(s) => s.next(io, deadline),
                }
            }
            #[inline(always)]
            fn collected(&mut self) -> Option<Interruption> {
                match self {
                    $(Chosen::$name(s) => s.collected(),)+
                    Chosen::Routed(s) => s.collected(),
                }
            }
            #[inline(always)]
            fn start_reveals_pending(&self) -> bool {
                match self {
                    $(Chosen::$name(s) => s.start_reveals_pending(),)+
                    Chosen::Routed(s) => s.start_reveals_pending(),
                }
            }
        }
    };
}

// A new way of collecting status is one type above and one name here.
sources!(Irq, Wait, Tpi, Tsch, Elsewhere);
