//! Which accelerator runs the guest: QEMU's TCG (the CPU emulated) or KVM
//! (SIE on a real machine).
//!
//! The oracle needs to know because QEMU's TCG leaves an I/O interruption
//! queued that KVM withdraws (the deviation
//! [`crate::oracle::Deviation::TcgLeftoverInterruption`]): a guest under
//! TCG must not have that blamed on the host it gates, and one under KVM
//! must be judged as before.
//!
//! The guest tells them apart by itself, with STORE SYSTEM INFORMATION
//! 1.1.1 (basic-machine configuration). Under TCG QEMU makes it up: its
//! `HELPER(stsi)` (target/s390x/tcg/misc_helper.c) stores "QEMU" as the
//! manufacturer. Under KVM the instruction is intercepted and Linux's
//! `handle_stsi` (arch/s390/kvm/priv.c) runs STSI 1.1.1 on the host and
//! copies what the machine stores (the real manufacturer, "IBM"); a KVM
//! host nested under another KVM passes the machine's answer on the same
//! way, and TCG cannot run KVM (it has no SIE). So "QEMU" there means TCG.
//!
//! What does not tell them apart: STSI 3.2.2's control-program identifier
//! is "KVM/Linux" under both (KVM's `handle_stsi_3_2_2` stores it, and
//! QEMU's TCG `HELPER(stsi)` stores the same so that Linux does not take
//! it for z/VM). Its guest name ("KVMguest" from `handle_stsi_3_2_2`,
//! "TCGguest" from `HELPER(stsi)`) does, but only without QEMU's `-name`,
//! which replaces both.
//!
//! The kernel executes the instruction (`kernel/src/rt/cpu.rs`); what the
//! answer means is decided here ([`Accel::from_manufacturer`]), and the
//! command line may override it (`accel=`, [`crate::cmdline`]).

/// An accelerator, as far as the oracle cares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Accel {
    /// QEMU's emulated CPU (and interruption controller, `qemu_s390_flic`).
    Tcg,
    /// KVM, or anything that is not TCG: judged as ccwgate always judged.
    #[default]
    Kvm,
}

/// Where STORE SYSTEM INFORMATION 1.1.1 stores the manufacturer: 16
/// EBCDIC characters at byte 32 of the SYSIB (PoP ch. 10, STORE SYSTEM
/// INFORMATION; Linux's `struct sysinfo_1_1_1`, QEMU's `SysIB_111`).
pub const MANUFACTURER_OFFSET: usize = 32;
/// Its length.
pub const MANUFACTURER_LEN: usize = 16;

/// "QEMU" in EBCDIC, as QEMU's TCG stores it, blank-padded.
const QEMU_EBCDIC: [u8; 4] = [0xd8, 0xc5, 0xd4, 0xe4];
const EBCDIC_BLANK: u8 = 0x40;

impl Accel {
    pub const ALL: [Accel; 2] = [Accel::Tcg, Accel::Kvm];

    /// The name on the command line (`accel=`) and in the verdict.
    pub const fn name(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }

    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name().as_bytes() == name)
    }

    /// The accelerator a STORE SYSTEM INFORMATION 1.1.1 answer says: the
    /// manufacturer field, or `None` when the instruction stored nothing
    /// (cc 3). Only QEMU's own "QEMU" is TCG; anything else, nothing
    /// included, is judged as before (KVM).
    pub fn from_manufacturer(manufacturer: Option<&[u8; MANUFACTURER_LEN]>) -> Self {
        let Some(m) = manufacturer else {
            return Accel::Kvm;
        };
        let (name, pad) = m.split_at(QEMU_EBCDIC.len());
        if name == QEMU_EBCDIC && pad.iter().all(|&b| b == EBCDIC_BLANK) {
            Accel::Tcg
        } else {
            Accel::Kvm
        }
    }
}

/// An EBCDIC field as ASCII for a console line: letters, digits and the
/// blank as themselves (blanks at the end dropped), anything else `.`.
pub fn ebcdic_text(field: &[u8]) -> impl core::fmt::Display + '_ {
    struct Text<'a>(&'a [u8]);
    impl core::fmt::Display for Text<'_> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            let end = self
                .0
                .iter()
                .rposition(|&b| b != EBCDIC_BLANK)
                .map_or(0, |i| i + 1);
            for &b in &self.0[..end] {
                let c = match b {
                    EBCDIC_BLANK => ' ',
                    0xc1..=0xc9 => char::from(b'A' + (b - 0xc1)),
                    0xd1..=0xd9 => char::from(b'J' + (b - 0xd1)),
                    0xe2..=0xe9 => char::from(b'S' + (b - 0xe2)),
                    0xf0..=0xf9 => char::from(b'0' + (b - 0xf0)),
                    _ => '.',
                };
                write!(f, "{c}")?;
            }
            Ok(())
        }
    }
    Text(field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    /// `text` in EBCDIC (capitals, digits, blanks), blank-padded to 16.
    fn ebcdic(text: &str) -> [u8; MANUFACTURER_LEN] {
        let mut out = [EBCDIC_BLANK; MANUFACTURER_LEN];
        for (o, c) in out.iter_mut().zip(text.bytes()) {
            *o = match c {
                b'A'..=b'I' => 0xc1 + (c - b'A'),
                b'J'..=b'R' => 0xd1 + (c - b'J'),
                b'S'..=b'Z' => 0xe2 + (c - b'S'),
                b'0'..=b'9' => 0xf0 + (c - b'0'),
                _ => EBCDIC_BLANK,
            };
        }
        out
    }

    #[test]
    fn qemus_manufacturer_is_tcg() {
        // What QEMU's TCG HELPER(stsi) stores: "QEMU" and 12 blanks.
        let qemu = [
            0xd8, 0xc5, 0xd4, 0xe4, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40,
            0x40, 0x40,
        ];
        assert_eq!(ebcdic("QEMU"), qemu);
        assert_eq!(Accel::from_manufacturer(Some(&qemu)), Accel::Tcg);
    }

    #[test]
    fn anything_else_is_judged_as_before() {
        // A real machine's manufacturer (KVM copies the host's answer),
        // nothing stored (cc 3), or something merely like QEMU's.
        for m in ["IBM", "", "QEMUX", "QEM", "XQEMU", "QEMU 1"] {
            assert_eq!(
                Accel::from_manufacturer(Some(&ebcdic(m))),
                Accel::Kvm,
                "{m:?}"
            );
        }
        assert_eq!(Accel::from_manufacturer(Some(&[0; 16])), Accel::Kvm);
        // "QEMU" in ASCII is not what the architecture stores.
        let mut ascii = *b"QEMU            ";
        assert_eq!(Accel::from_manufacturer(Some(&ascii)), Accel::Kvm);
        ascii[4..].fill(EBCDIC_BLANK);
        assert_eq!(Accel::from_manufacturer(Some(&ascii)), Accel::Kvm);
        assert_eq!(Accel::from_manufacturer(None), Accel::Kvm);
        assert_eq!(Accel::default(), Accel::Kvm);
    }

    #[test]
    fn names_round_trip() {
        for a in Accel::ALL {
            assert_eq!(Accel::from_name(a.name().as_bytes()), Some(a));
        }
        assert_eq!(Accel::from_name(b"auto"), None);
        assert_eq!(Accel::from_name(b"TCG"), None);
    }

    #[test]
    fn ebcdic_reads_back_for_the_console() {
        assert_eq!(ebcdic_text(&ebcdic("QEMU")).to_string(), "QEMU");
        assert_eq!(ebcdic_text(&ebcdic("IBM 3906")).to_string(), "IBM 3906");
        assert_eq!(ebcdic_text(&ebcdic("")).to_string(), "");
        assert_eq!(ebcdic_text(&[0xc1, 0x00, 0xff, 0x40]).to_string(), "A..");
    }
}
