//! The hosts the model can be: upstream before and after each commit of the
//! May 2021 vfio-ccw series (the *bases*), each optionally with candidate
//! fixes (the *changes*), and an architecture-exact reference relay.
//!
//! A host is written `BASE[+CHANGE...]`, e.g. `fixed+q-relay+k-irb-once+k-gen`;
//! the changes are order-insensitive and [`Variant`]'s `Display` prints them
//! in one canonical order ([`Change::ALL`]). A base or change only switches
//! the lines of code that the real commit (or the candidate patch) changes
//! (see [`crate::world`] for where each switch is read); everything the guest
//! sees follows from running that code.

use std::fmt;
use std::str::FromStr;

use gate::named_enum;

named_enum! {
    /// The upstream host before and after each commit of the 2021 series, or
    /// the architecture's bound.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Base {
        /// Linux 5.12: before the series.
        Unfixed => "unfixed",
        /// Adds c6c82e0cd812 "vfio-ccw: Check initialized flag in cp_init()":
        /// `cp_init` refuses (-EBUSY) to build over a program still initialized.
        CpInitCheck => "cp-init-check",
        /// Adds 6c02ac4c9211 "vfio-ccw: Reset FSM state to IDLE inside FSM": only
        /// `fsm_io_request`'s own error path returns to IDLE; before it,
        /// `vfio_ccw_mdev_write_io_region` set IDLE after any failed request,
        /// including the -EBUSY of `fsm_io_busy` while a program ran.
        IdleInFsm => "idle-in-fsm",
        /// Adds 2af7a834a435 "vfio-ccw: Serialize FSM IDLE state with I/O
        /// completion": `vfio_ccw_sch_io_todo` returns to IDLE only when it
        /// freed a finished channel program, not after every final status.
        /// Upstream Linux as of the newest copies of these files read here
        /// (before the 2026 series, docs/model.md), with QEMU's relay as in 7.2
        /// through 10.x.
        Fixed => "fixed",
        /// The host of the nested real stack (docs/nested.md): Debian's
        /// Linux 6.1.192 (`linux-source-6.1` 6.1.192-3), which is `fixed`
        /// with upstream's later `io_mutex` expansion backported:
        /// `vfio_ccw_sch_io_todo` reads `is_final` from `private->irb`, then
        /// takes `io_mutex` before the `scsw_is_solicited` / `cp_free` block
        /// and releases it after the IDLE reset. Read function by function
        /// against that source (docs/model.md, "The model held to the real
        /// stack"); QEMU's relay as in 7.2.
        Linux61 => "linux-6.1.192",
        /// The fixed host behind a relay that follows the architecture: QEMU
        /// keeps the guest's function control, an accepted CLEAR withdraws
        /// pending status and discards start status not yet presented, a HALT
        /// keeps the start function, every IRB is queued and handed over once,
        /// and a program is freed only by status that ends it. Not a patch: the
        /// bound a patched host is measured against. Takes no changes.
        Reference => "reference",
    }
}

impl Base {
    /// What the base is, for `--help` and reports.
    pub const fn title(self) -> &'static str {
        match self {
            Base::Unfixed => "Linux 5.12 vfio-ccw with QEMU's relay (7.2 through 10.x)",
            Base::CpInitCheck => "+ c6c82e0cd812 \"Check initialized flag in cp_init()\"",
            Base::IdleInFsm => "+ 6c02ac4c9211 \"Reset FSM state to IDLE inside FSM\"",
            Base::Fixed => {
                "+ 2af7a834a435 \"Serialize FSM IDLE state with I/O completion\": upstream \
as of the newest copies read here (before the 2026 series)"
            }
            Base::Linux61 => {
                "fixed + the io_mutex expansion as Debian's Linux 6.1.192 carries it \
(vfio_ccw_sch_io_todo: is_final read, then io_mutex held from before the scsw_is_solicited \
/ cp_free block to after the IDLE reset): the nested real stack's host"
            }
            Base::Reference => {
                "the architecture's bound (not a patch; takes no changes): the fixed host \
behind a relay that follows the architecture"
            }
        }
    }

    /// The upstream commit this base adds to the one before it.
    pub const fn commit(self) -> &'static str {
        match self {
            Base::Unfixed => "v5.12",
            Base::CpInitCheck => "c6c82e0cd812",
            Base::IdleInFsm => "6c02ac4c9211",
            Base::Fixed => "2af7a834a435",
            Base::Linux61 => "6.1.192",
            Base::Reference => "architecture",
        }
    }
}

named_enum! {
    /// A candidate fix, applied on top of a base. Each names the upstream
    /// function and the lines it changes ([`Change::patch`]). Declared in
    /// canonical order (QEMU's, then Linux's, as `Display` prints them).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Change {
        /// QEMU, `hw/vfio/ccw.c` and `hw/s390x/css.c`: a relay that only
        /// relays status the guest can own.
        QRelay => "q-relay",
        /// QEMU, `hw/vfio/ccw.c` and `hw/s390x/css.c`: unsolicited status that
        /// arrives while the guest has a function outstanding is kept until the
        /// guest took that function's status.
        QUnsolHold => "q-unsol-hold",
        /// QEMU, `hw/vfio/ccw.c`: status of a start the device never began
        /// (deferred condition code 1) relayed after the guest's HALT does not
        /// show the start pending that the halt ended.
        QHaltDcc1 => "q-halt-dcc1",
        /// Linux, `vfio_ccw_fsm.c` / `vfio_ccw_drv.c`: each IRB handed to the
        /// work item once, and the work item working on its own copy.
        KIrbOnce => "k-irb-once",
        /// Linux, `vfio_ccw_fsm.c` / `vfio_ccw_drv.c` / `vfio_ccw_ops.c`: a
        /// queue of IRBs instead of the one `private->irb`, handed to QEMU one
        /// at a time, the next only after QEMU read the I/O region.
        KIrbQueue => "k-irb-queue",
        /// Linux, `vfio_ccw_fsm.c` / `vfio_ccw_drv.c`: a start generation so
        /// that a halt's or clear's status does not end a newer start.
        KGen => "k-gen",
        /// Linux, `vfio_ccw_fsm.c`: an SSCH or HSCH that finds the device's own
        /// (unsolicited) status pending takes it, as the interruption handler
        /// would, and is issued again instead of failing with -EBUSY.
        KUnsolTsch => "k-unsol-tsch",
        /// Linux, the July 2026 series "s390/vfio_ccw fixes" as issue 17
        /// describes it (its merged diff was not available): the work item holds
        /// `io_mutex` across its solicited / `cp_free` / IDLE block.
        Mutex2026 => "mutex-2026",
    }
}

/// The set of changes a [`Variant`] holds: one bit per [`Change`], so
/// every change must have one.
type ChangeBits = u16;
const _: () = assert!(
    Change::ALL.len() <= ChangeBits::BITS as usize,
    "more changes than ChangeBits has bits: widen it"
);

impl Change {
    const fn bit(self) -> ChangeBits {
        1 << self as u32
    }

    /// The change as a patch to the upstream functions, in words (for
    /// `--help`, the docs and reports).
    pub const fn patch(self) -> &'static str {
        match self {
            Change::QRelay => {
                "QEMU: vfio_ccw_io_notifier_handler injects nothing for a region \
without status pending or for status of a function the guest no longer has (the guest \
has CLEAR and the IRB lacks it; the guest is idle and the IRB has a function; the guest \
has START alone and the IRB has HALT or CLEAR), and its copy_scsw_to_guest keeps the \
guest's function control instead of the host's; css_do_csch withdraws pending status \
and its interruption request; css_do_hsch keeps the start function instead of \
removing it"
            }
            Change::KIrbOnce => {
                "Linux: fsm_irq marks private->irb pending under sch->lock; \
vfio_ccw_sch_io_todo first takes a copy of it under sch->lock and clears the mark, \
returns at once when nothing was pending, and uses only its copy after that \
(cp_update_scsw, the is_final test, the memcpy into the I/O region)"
            }
            Change::KGen => {
                "Linux: fsm_io_helper counts a start generation on SSCH cc 0; \
fsm_do_halt and fsm_do_clear record it on HSCH/CSCH cc 0; vfio_ccw_sch_io_todo calls \
cp_free (and resets IDLE) only for status that can end the current start, not for a \
halt's or clear's status recorded before the current start's generation"
            }
            Change::Mutex2026 => {
                "Linux (the July 2026 \"s390/vfio_ccw fixes\" locking change as described, not \
checked against the merged diff): vfio_ccw_sch_io_todo takes \
io_mutex before the scsw_is_solicited / cp_free block and releases it after the IDLE \
reset, instead of only around the memcpy into the I/O region"
            }
            Change::KIrbQueue => {
                "Linux: fsm_irq appends the IRB to a queue in vfio_ccw_private under \
sch->lock instead of overwriting private->irb; vfio_ccw_sch_io_todo first sleeps \
(wait_event) until the I/O region holds no IRB that QEMU has not read, then takes the \
oldest IRB off the queue under sch->lock (returning at once when the queue is empty, \
queueing itself again when more remain) and uses only that copy (cp_update_scsw, the \
is_final test, the memcpy into the I/O region, which marks the region unread); \
vfio_ccw_mdev_read_io_region clears the mark under io_mutex and wakes the work item. It \
replaces the lines k-irb-once changes (the queue not being empty is k-irb-once's mark): \
with both, the host is the one with k-irb-queue alone"
            }
            Change::QUnsolHold => {
                "QEMU: vfio_ccw_io_notifier_handler keeps an IRB with no function control and \
alert status alone (unsolicited status) in the VFIOCCWDevice instead of copying it when \
the guest's SCHIB has a function outstanding (a second one replaces it); \
css_do_tsch_update_subch, once the guest's TSCH left the subchannel without function \
and status, calls back into vfio-ccw (a new SubchDev hook), which copies the kept \
status into the SCHIB and injects its interruption"
            }
            Change::KUnsolTsch => {
                "Linux: fsm_io_helper (SSCH) and fsm_do_halt (HSCH), on cc 1 (status \
pending), store the subchannel with stsch() and, when its SCSW shows no function (the \
device's own status), take the status with tsch() into this CPU's cio_irb under the \
sch->lock they hold (interrupts off, as cio's interruption handler does), run fsm_irq on \
it as vfio_ccw_sch_irq does (the IRB stored or queued, the work queued) and issue the \
SSCH or HSCH once more; status of a function still fails with -EBUSY as before"
            }
            Change::QHaltDcc1 => {
                "QEMU: vfio_ccw_io_notifier_handler, when the guest's SCHIB has the halt \
function, clears start pending and resume pending in the activity control it copies to \
the guest (copy_scsw_to_guest): status of a start the device never began (deferred cc 1) \
then shows that the guest's halt ended it"
            }
        }
    }
}

/// A host: a base and a set of changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Variant {
    pub base: Base,
    changes: ChangeBits,
}

#[allow(non_upper_case_globals)]
impl Variant {
    // The bases alone, under the names they had when `Variant` was an enum
    // of them (so that `Variant::Fixed` still reads as before).
    pub const Unfixed: Variant = Variant::of(Base::Unfixed);
    pub const CpInitCheck: Variant = Variant::of(Base::CpInitCheck);
    pub const IdleInFsm: Variant = Variant::of(Base::IdleInFsm);
    pub const Fixed: Variant = Variant::of(Base::Fixed);
    pub const Reference: Variant = Variant::of(Base::Reference);
}

impl Variant {
    /// The five bases alone: upstream before and after each commit, and the
    /// reference (what `--exhaustive` runs without `--variant`; the nested
    /// real stack's `linux-6.1.192` is named on its own).
    pub const ALL: [Variant; 5] = [
        Variant::Unfixed,
        Variant::CpInitCheck,
        Variant::IdleInFsm,
        Variant::Fixed,
        Variant::Reference,
    ];

    /// A base without changes.
    pub const fn of(base: Base) -> Self {
        Variant { base, changes: 0 }
    }

    /// This host with `change` added (the reference takes none: `None`).
    pub const fn with(self, change: Change) -> Option<Self> {
        if matches!(self.base, Base::Reference) {
            return None;
        }
        Some(Variant {
            base: self.base,
            changes: self.changes | change.bit(),
        })
    }

    pub const fn has(self, change: Change) -> bool {
        self.changes & change.bit() != 0
    }

    /// The changes, in canonical order.
    pub fn changes(self) -> impl Iterator<Item = Change> {
        Change::ALL.into_iter().filter(move |&c| self.has(c))
    }

    /// Parses `BASE[+CHANGE...]` (changes in any order, each at most once).
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = s.split('+');
        let base_name = parts.next().unwrap_or_default();
        let base = Base::ALL
            .into_iter()
            .find(|b| b.name() == base_name)
            .ok_or_else(|| {
                let names: Vec<_> = Base::ALL.iter().map(|b| b.name()).collect();
                format!(
                    "unknown host base `{base_name}` in `{s}` (one of: {})",
                    names.join(", ")
                )
            })?;
        let mut v = Variant::of(base);
        for name in parts {
            let change = Change::ALL
                .into_iter()
                .find(|c| c.name() == name)
                .ok_or_else(|| {
                    let names: Vec<_> = Change::ALL.iter().map(|c| c.name()).collect();
                    format!(
                        "unknown change `{name}` in `{s}` (one of: {})",
                        names.join(", ")
                    )
                })?;
            if v.has(change) {
                return Err(format!("change `{name}` given twice in `{s}`"));
            }
            if change == Change::Mutex2026 && base == Base::Linux61 {
                return Err(format!(
                    "`linux-6.1.192` already holds io_mutex across its work item (`{s}`)"
                ));
            }
            v = v
                .with(change)
                .ok_or_else(|| format!("`reference` takes no changes (`{s}`)"))?;
        }
        Ok(v)
    }

    /// [`Variant::parse`], `None` for anything it rejects.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::parse(name).ok()
    }

    /// The base alone (without changes).
    pub const fn name(self) -> &'static str {
        self.base.name()
    }

    pub const fn commit(self) -> &'static str {
        self.base.commit()
    }

    /// `cp_init` checks `cp->initialized` (c6c82e0cd812).
    pub fn cp_init_checks(self) -> bool {
        self.base >= Base::CpInitCheck
    }

    /// The IDLE reset after a failed request lives in `fsm_io_request`'s
    /// error path (6c02ac4c9211).
    pub fn idle_reset_in_fsm(self) -> bool {
        self.base >= Base::IdleInFsm
    }

    /// `vfio_ccw_sch_io_todo` resets IDLE only when it freed the program
    /// (2af7a834a435).
    pub fn idle_only_when_cp_finished(self) -> bool {
        self.base >= Base::Fixed
    }

    /// QEMU's side follows the architecture instead of upstream QEMU.
    pub fn architectural_relay(self) -> bool {
        self.base == Base::Reference
    }

    /// [`Change::QRelay`].
    pub fn q_relay(self) -> bool {
        self.has(Change::QRelay)
    }

    /// [`Change::KIrbOnce`].
    pub fn k_irb_once(self) -> bool {
        self.has(Change::KIrbOnce)
    }

    /// [`Change::KGen`].
    pub fn k_gen(self) -> bool {
        self.has(Change::KGen)
    }

    /// [`Change::Mutex2026`].
    pub fn mutex_2026(self) -> bool {
        self.has(Change::Mutex2026)
    }

    /// `vfio_ccw_sch_io_todo` holds `io_mutex` from before its solicited
    /// block to after its IDLE reset: [`Change::Mutex2026`], or the
    /// `linux-6.1.192` base.
    pub fn io_mutex_across_todo(self) -> bool {
        self.mutex_2026() || self.base == Base::Linux61
    }

    /// `vfio_ccw_sch_io_todo` reads `is_final` from `private->irb` before
    /// it takes `io_mutex` (Linux 6.1.192); [`Change::Mutex2026`] as issue
    /// 17 described it reads it after.
    pub fn final_before_lock(self) -> bool {
        self.base == Base::Linux61
    }

    /// [`Change::KIrbQueue`].
    pub fn k_irb_queue(self) -> bool {
        self.has(Change::KIrbQueue)
    }

    /// [`Change::QUnsolHold`].
    pub fn q_unsol_hold(self) -> bool {
        self.has(Change::QUnsolHold)
    }

    /// [`Change::KUnsolTsch`].
    pub fn k_unsol_tsch(self) -> bool {
        self.has(Change::KUnsolTsch)
    }

    /// [`Change::QHaltDcc1`].
    pub fn q_halt_dcc1(self) -> bool {
        self.has(Change::QHaltDcc1)
    }
}

impl FromStr for Variant {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

/// The canonical name: the base, then each change in [`Change::ALL`] order.
impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.base.name())?;
        for c in self.changes() {
            write!(f, "+{}", c.name())?;
        }
        Ok(())
    }
}

/// What `--help` and the docs print about the hosts: each base with its
/// commit, each change with the upstream function and the line it changes.
pub fn help() -> String {
    let mut s = String::from("Hosts: BASE[+CHANGE...], changes in any order.\nBases:\n");
    for b in Base::ALL {
        s += &format!("  {:<14} {}\n", b.name(), b.title());
    }
    s += "Changes:\n";
    for c in Change::ALL {
        s += &format!("  {:<14} {}\n", c.name(), c.patch());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_apply_cumulatively() {
        let switches = |v: Variant| {
            (
                v.cp_init_checks(),
                v.idle_reset_in_fsm(),
                v.idle_only_when_cp_finished(),
            )
        };
        assert_eq!(switches(Variant::Unfixed), (false, false, false));
        assert_eq!(switches(Variant::CpInitCheck), (true, false, false));
        assert_eq!(switches(Variant::IdleInFsm), (true, true, false));
        assert_eq!(switches(Variant::Fixed), (true, true, true));
        assert_eq!(switches(Variant::Reference), (true, true, true));
        let box_host = Variant::parse("linux-6.1.192").unwrap();
        assert_eq!(switches(box_host), (true, true, true));
        assert!(box_host.io_mutex_across_todo() && box_host.final_before_lock());
        assert!(!box_host.mutex_2026() && !box_host.architectural_relay());
        let m = Variant::parse("fixed+mutex-2026").unwrap();
        assert!(m.io_mutex_across_todo() && !m.final_before_lock());
        assert!(!Variant::Fixed.io_mutex_across_todo() && !Variant::Fixed.final_before_lock());
        for v in Variant::ALL {
            assert_eq!(Variant::from_name(v.name()), Some(v));
            assert_eq!(v.to_string(), v.name());
            assert_eq!(v.architectural_relay(), v == Variant::Reference);
        }
    }

    #[test]
    fn changes_compose_in_any_order_and_print_canonically() {
        let a: Variant = "fixed+k-gen+q-relay+k-irb-once".parse().unwrap();
        let b: Variant = "fixed+q-relay+k-irb-once+k-gen".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "fixed+q-relay+k-irb-once+k-gen");
        assert!(a.q_relay() && a.k_irb_once() && a.k_gen() && !a.mutex_2026());
        assert_eq!(a.base, Base::Fixed);
        let m: Variant = "fixed+mutex-2026".parse().unwrap();
        assert!(m.mutex_2026() && !m.q_relay());
        assert_eq!(m.to_string().parse::<Variant>(), Ok(m));
        let u: Variant = "unfixed+k-gen".parse().unwrap();
        assert!(!u.cp_init_checks() && u.k_gen());
        let n: Variant = "fixed+k-unsol-tsch+q-halt-dcc1+k-irb-queue+q-unsol-hold+q-relay+k-gen"
            .parse()
            .unwrap();
        assert_eq!(
            n.to_string(),
            "fixed+q-relay+q-unsol-hold+q-halt-dcc1+k-irb-queue+k-gen+k-unsol-tsch"
        );
        assert!(n.k_irb_queue() && n.q_unsol_hold() && n.k_unsol_tsch() && n.q_halt_dcc1());
        assert!(!n.k_irb_once() && !n.mutex_2026());
        for c in Change::ALL {
            let v = Variant::Fixed.with(c).unwrap();
            assert_eq!(v.changes().collect::<Vec<_>>(), [c]);
            assert!(help().contains(c.name()) && help().contains(c.patch()));
        }
    }

    /// The change set holds every change at once, each in a bit of its
    /// own (a change beyond `ChangeBits`' width does not compile).
    #[test]
    fn every_change_fits_the_set_at_once() {
        let bits: Vec<_> = Change::ALL.iter().map(|c| c.bit()).collect();
        for (i, b) in bits.iter().enumerate() {
            assert_eq!(b.count_ones(), 1, "{:?}", Change::ALL[i]);
            assert!(!bits[..i].contains(b), "{:?} shares a bit", Change::ALL[i]);
        }
        let all = Change::ALL
            .into_iter()
            .fold(Variant::Fixed, |v, c| v.with(c).unwrap());
        assert!(Change::ALL.into_iter().all(|c| all.has(c)));
        assert_eq!(all.changes().collect::<Vec<_>>(), Change::ALL);
        assert_eq!(all.to_string().parse::<Variant>(), Ok(all));
        assert_eq!(all.to_string().matches('+').count(), Change::ALL.len());
    }

    #[test]
    fn bad_hosts_are_refused_naming_the_part() {
        for (s, part) in [
            ("fixd", "fixd"),
            ("fixed+q-rely", "q-rely"),
            ("fixed+k-gen+k-gen", "twice"),
            ("reference+k-gen", "reference"),
            ("linux-6.1.192+mutex-2026", "already holds io_mutex"),
            ("", "``"),
        ] {
            let e = Variant::parse(s).unwrap_err();
            assert!(e.contains(part), "{s}: {e}");
        }
    }
}
