//! The hosts the model can be: upstream before and after each commit of the
//! May 2021 vfio-ccw series, and an architecture-exact reference relay.
//!
//! A variant only switches the lines of code that the real commits changed
//! (see [`crate::world`] for where each switch is read); everything the
//! guest sees follows from running that code.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    /// Linux 5.12: before the series.
    Unfixed,
    /// Adds c6c82e0cd812 "vfio-ccw: Check initialized flag in cp_init()":
    /// `cp_init` refuses (-EBUSY) to build over a program still initialized.
    CpInitCheck,
    /// Adds 6c02ac4c9211 "vfio-ccw: Reset FSM state to IDLE inside FSM": only
    /// `fsm_io_request`'s own error path returns to IDLE; before it,
    /// `vfio_ccw_mdev_write_io_region` set IDLE after any failed request,
    /// including the -EBUSY of `fsm_io_busy` while a program ran.
    IdleInFsm,
    /// Adds 2af7a834a435 "vfio-ccw: Serialize FSM IDLE state with I/O
    /// completion": `vfio_ccw_sch_io_todo` returns to IDLE only when it
    /// freed a finished channel program, not after every final status.
    /// Today's upstream.
    Fixed,
    /// The fixed host behind a relay that follows the architecture: QEMU
    /// keeps the guest's function control, an accepted CLEAR withdraws
    /// pending status and discards start status not yet presented, and a
    /// HALT keeps the start function.
    Reference,
}

impl Variant {
    pub const ALL: [Variant; 5] = [
        Variant::Unfixed,
        Variant::CpInitCheck,
        Variant::IdleInFsm,
        Variant::Fixed,
        Variant::Reference,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Variant::Unfixed => "unfixed",
            Variant::CpInitCheck => "cp-init-check",
            Variant::IdleInFsm => "idle-in-fsm",
            Variant::Fixed => "fixed",
            Variant::Reference => "reference",
        }
    }

    /// The upstream commit this variant adds to the one before it.
    pub const fn commit(self) -> &'static str {
        match self {
            Variant::Unfixed => "v5.12",
            Variant::CpInitCheck => "c6c82e0cd812",
            Variant::IdleInFsm => "6c02ac4c9211",
            Variant::Fixed => "2af7a834a435",
            Variant::Reference => "architecture",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// `cp_init` checks `cp->initialized` (c6c82e0cd812).
    pub fn cp_init_checks(self) -> bool {
        self >= Variant::CpInitCheck
    }

    /// The IDLE reset after a failed request lives in `fsm_io_request`'s
    /// error path (6c02ac4c9211).
    pub fn idle_reset_in_fsm(self) -> bool {
        self >= Variant::IdleInFsm
    }

    /// `vfio_ccw_sch_io_todo` resets IDLE only when it freed the program
    /// (2af7a834a435).
    pub fn idle_only_when_cp_finished(self) -> bool {
        self >= Variant::Fixed
    }

    /// QEMU's side follows the architecture instead of upstream QEMU.
    pub fn architectural_relay(self) -> bool {
        self == Variant::Reference
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_apply_cumulatively() {
        use Variant::*;
        let switches = |v: Variant| {
            (
                v.cp_init_checks(),
                v.idle_reset_in_fsm(),
                v.idle_only_when_cp_finished(),
            )
        };
        assert_eq!(switches(Unfixed), (false, false, false));
        assert_eq!(switches(CpInitCheck), (true, false, false));
        assert_eq!(switches(IdleInFsm), (true, true, false));
        assert_eq!(switches(Fixed), (true, true, true));
        assert_eq!(switches(Reference), (true, true, true));
        for v in Variant::ALL {
            assert_eq!(Variant::from_name(v.name()), Some(v));
            assert_eq!(v.architectural_relay(), v == Reference);
        }
    }
}
