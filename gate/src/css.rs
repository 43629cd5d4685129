//! Channel-subsystem control blocks as the z/Architecture defines them.
//!
//! The kernel places these structures in guest storage and hands their
//! addresses to the channel instructions, so every type here has the exact
//! size and alignment the architecture demands (checked at compile time
//! below). Multi-byte fields are plain native integers: on the big-endian
//! s390x target that *is* the architected byte order, and on the host the
//! unit tests only exercise field semantics through constructors and
//! accessors, never raw host bytes.
//!
//! Bit numbering in the PoP counts from the most significant bit (bit 0) of
//! a word; the masks below are the corresponding values of a native `u32`,
//! e.g. word bit 15 is `0x0001_0000`.
//!
//! Field positions were checked against the Principles of Operation
//! (SA22-7832) chapters 14-16, Linux `arch/s390/include/asm/scsw.h`,
//! `drivers/s390/cio/orb.h` and `struct pmcw`, and QEMU
//! `include/hw/s390x/ioinst.h`.

use core::mem::{align_of, offset_of, size_of};

/// Condition code set by a channel instruction (or stored as the deferred
/// condition code in an SCSW).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Cc {
    Zero = 0,
    One = 1,
    Two = 2,
    Three = 3,
}

impl Cc {
    /// The condition code whose value is the two low bits of `bits`.
    ///
    /// The kernel extracts the code from the PSW (IPM shifts it to the low
    /// bits); higher bits are ignored so callers need not mask.
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 3 {
            0 => Cc::Zero,
            1 => Cc::One,
            2 => Cc::Two,
            _ => Cc::Three,
        }
    }

    pub const fn as_u8(self) -> u8 {
        self as u8
    }
}

/// Subsystem-identification word passed in general register 1 to the
/// channel instructions and stored in the I/O-interruption code.
///
/// Layout (PoP ch. 14, "Subsystem-Identification Word"): bits 13-14 are the
/// subchannel-set ID, bit 15 is the "one" bit, bits 16-31 the subchannel
/// number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct SubchannelId(pub u32);

impl SubchannelId {
    /// The "one" bit: a SID without it is invalid and the instruction
    /// takes an operand exception instead of reaching the subchannel.
    pub const ONE_BIT: u32 = 0x0001_0000;
    const SSID_MASK: u32 = 0x0006_0000;

    /// Subchannel `number` in subchannel set 0.
    pub const fn ss0(number: u16) -> Self {
        Self(Self::ONE_BIT | number as u32)
    }

    pub const fn raw(self) -> u32 {
        self.0
    }

    pub const fn number(self) -> u16 {
        self.0 as u16
    }

    /// Subchannel-set ID (0 unless the multiple-subchannel-set facility is
    /// in use).
    pub const fn ssid(self) -> u8 {
        ((self.0 & Self::SSID_MASK) >> 17) as u8
    }

    /// Whether the "one" bit is set.
    pub const fn is_valid(self) -> bool {
        self.0 & Self::ONE_BIT != 0
    }

    /// Whether a subchannel instruction accepts this word without an
    /// operand exception while the multiple-subchannel-set facility is off
    /// (as ccwgate leaves it): bits 0-15 exactly `0x0001`.
    pub const fn is_addressable(self) -> bool {
        self.0 & 0xFFFF_0000 == Self::ONE_BIT
    }
}

bitflags::bitflags! {
    /// Single-bit flags in the PMCW's second word (upper half). The
    /// multi-bit ISC, LM and MM fields have their own masks on [`Pmcw`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct PmcwFlags: u16 {
        /// Q: QDIO facility available on this subchannel.
        const QDIO = 0x8000;
        /// E: the subchannel is enabled for I/O; a disabled subchannel
        /// rejects SSCH and presents no interruptions.
        const ENABLED = 0x0080;
        /// D: multipath mode.
        const MULTIPATH = 0x0004;
        /// T: timing facility (extended measurements) installed.
        const TIMING = 0x0002;
        /// V: the device-number field is valid, i.e. a device is attached.
        const DNV = 0x0001;
    }
}

bitflags::bitflags! {
    /// Flags in the PMCW's last word (the subchannel-type field is the
    /// multi-bit [`Pmcw::ST_MASK`]).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct PmcwChars: u32 {
        /// F: measurement-block format control.
        const MBFC = 0x0000_0004;
        /// X: extended-measurement-word mode enable.
        const XMWME = 0x0000_0002;
        /// S: concurrent sense.
        const CSENSE = 0x0000_0001;
    }
}

/// Path-management-control word (PoP ch. 15, "Subchannel-Information
/// Block"), 28 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(4))]
pub struct Pmcw {
    /// Interruption parameter, as last set by MSCH or SSCH.
    pub intparm: u32,
    /// Q, ISC, E, LM, MM, D, T, V (see [`PmcwFlags`] and the masks below).
    pub flags: u16,
    pub devno: u16,
    pub lpm: u8,
    pub pnom: u8,
    pub lpum: u8,
    pub pim: u8,
    pub mbi: u16,
    pub pom: u8,
    pub pam: u8,
    pub chpid: [u8; 8],
    /// Subchannel type, F, X, S (see [`PmcwChars`]).
    pub chars: u32,
}

impl Pmcw {
    pub const ZERO: Self = Self {
        intparm: 0,
        flags: 0,
        devno: 0,
        lpm: 0,
        pnom: 0,
        lpum: 0,
        pim: 0,
        mbi: 0,
        pom: 0,
        pam: 0,
        chpid: [0; 8],
        chars: 0,
    };
    /// Interruption subclass (3 bits).
    pub const ISC_MASK: u16 = 0x3800;
    const ISC_SHIFT: u32 = 11;
    /// Limit mode (2 bits).
    pub const LM_MASK: u16 = 0x0060;
    /// Measurement-mode enable (2 bits).
    pub const MM_MASK: u16 = 0x0018;
    /// Measurement mode (within [`Self::MM_MASK`]): measurement-block
    /// update enabled.
    pub const MM_UPDATE: u16 = 0x0010;
    /// Subchannel type (3 bits); 0 is an I/O subchannel.
    pub const ST_MASK: u32 = 0x00E0_0000;
    const ST_SHIFT: u32 = 21;

    pub fn flag_set(&self) -> PmcwFlags {
        PmcwFlags::from_bits_truncate(self.flags)
    }

    pub fn char_set(&self) -> PmcwChars {
        PmcwChars::from_bits_truncate(self.chars)
    }

    pub const fn isc(&self) -> u8 {
        ((self.flags & Self::ISC_MASK) >> Self::ISC_SHIFT) as u8
    }

    /// Sets the interruption subclass; only the low three bits of `isc`
    /// are meaningful.
    pub fn set_isc(&mut self, isc: u8) {
        self.flags =
            (self.flags & !Self::ISC_MASK) | ((u16::from(isc) << Self::ISC_SHIFT) & Self::ISC_MASK);
    }

    pub const fn is_enabled(&self) -> bool {
        self.flags & PmcwFlags::ENABLED.bits() != 0
    }

    pub fn set_enabled(&mut self, enabled: bool) {
        if enabled {
            self.flags |= PmcwFlags::ENABLED.bits();
        } else {
            self.flags &= !PmcwFlags::ENABLED.bits();
        }
    }

    pub const fn device_number_valid(&self) -> bool {
        self.flags & PmcwFlags::DNV.bits() != 0
    }

    pub const fn subchannel_type(&self) -> u8 {
        ((self.chars & Self::ST_MASK) >> Self::ST_SHIFT) as u8
    }
}

bitflags::bitflags! {
    /// Single-bit flags in SCSW word 0 above the control fields.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct ScswFlags: u32 {
        /// S: suspend control (from the ORB).
        const SUSPEND_CONTROL = 0x0800_0000;
        /// L: ESW format.
        const ESW_FORMAT = 0x0400_0000;
        /// F: the start function used format-1 CCWs (only meaningful
        /// while the start function is indicated).
        const FORMAT1 = 0x0080_0000;
        /// P: prefetch allowed (from the ORB).
        const PREFETCH = 0x0040_0000;
        /// I: initial-status-interruption control.
        const ISIC = 0x0020_0000;
        /// A: address-limit-checking control.
        const ALCC = 0x0010_0000;
        /// U: suppress-suspended interruption.
        const SSI = 0x0008_0000;
        /// Z: zero condition code (initial status).
        const ZCC = 0x0004_0000;
        /// E: extended control (ECW stored).
        const EXTENDED_CONTROL = 0x0002_0000;
        /// N: path not operational.
        const PNO = 0x0001_0000;
    }
}

bitflags::bitflags! {
    /// Function control, SCSW word 0 bits 17-19: which basic I/O
    /// functions are indicated at the subchannel.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct FunctionControl: u32 {
        const START = 0x4000;
        const HALT = 0x2000;
        const CLEAR = 0x1000;
    }
}

bitflags::bitflags! {
    /// Activity control, SCSW word 0 bits 20-26.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct ActivityControl: u32 {
        const RESUME_PENDING = 0x0800;
        const START_PENDING = 0x0400;
        const HALT_PENDING = 0x0200;
        const CLEAR_PENDING = 0x0100;
        const SUBCHANNEL_ACTIVE = 0x0080;
        const DEVICE_ACTIVE = 0x0040;
        const SUSPENDED = 0x0020;
    }
}

bitflags::bitflags! {
    /// Status control, SCSW word 0 bits 27-31.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct StatusControl: u32 {
        const ALERT = 0x10;
        const INTERMEDIATE = 0x08;
        const PRIMARY = 0x04;
        const SECONDARY = 0x02;
        const PENDING = 0x01;
    }
}

bitflags::bitflags! {
    /// Device status, SCSW word 2 bits 0-7 (the unit status byte).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct DeviceStatus: u8 {
        const ATTENTION = 0x80;
        const STATUS_MODIFIER = 0x40;
        const CONTROL_UNIT_END = 0x20;
        const BUSY = 0x10;
        const CHANNEL_END = 0x08;
        const DEVICE_END = 0x04;
        const UNIT_CHECK = 0x02;
        const UNIT_EXCEPTION = 0x01;
    }
}

bitflags::bitflags! {
    /// Subchannel (channel) status, SCSW word 2 bits 8-15.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct SubchannelStatus: u8 {
        const PCI = 0x80;
        const INCORRECT_LENGTH = 0x40;
        const PROGRAM_CHECK = 0x20;
        const PROTECTION_CHECK = 0x10;
        const CHANNEL_DATA_CHECK = 0x08;
        const CHANNEL_CONTROL_CHECK = 0x04;
        const INTERFACE_CONTROL_CHECK = 0x02;
        const CHAINING_CHECK = 0x01;
    }
}

/// Command-mode subchannel-status word (PoP ch. 16), three words:
/// word 0 flags and control fields, word 1 the CCW address, word 2 device
/// status, subchannel status and residual count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(4))]
pub struct Scsw(pub [u32; 3]);

impl Scsw {
    pub const ZERO: Self = Self([0; 3]);
    const KEY_SHIFT: u32 = 28;
    /// Deferred condition code, word 0 bits 6-7.
    pub const CC_MASK: u32 = 0x0300_0000;
    const CC_SHIFT: u32 = 24;
    /// Function control, word 0 bits 17-19 ([`FunctionControl`]).
    pub const FC_MASK: u32 = FunctionControl::all().bits();
    /// Activity control, word 0 bits 20-26 ([`ActivityControl`]).
    pub const AC_MASK: u32 = ActivityControl::all().bits();
    /// Status control, word 0 bits 27-31 ([`StatusControl`]).
    pub const SC_MASK: u32 = StatusControl::all().bits();
    /// Function, activity and status control together (word 0 bits
    /// 17-31), as TEST SUBCHANNEL and QEMU's copies move them.
    pub const CONTROL_MASK: u32 = Self::FC_MASK | Self::AC_MASK | Self::SC_MASK;

    pub const fn from_words(words: [u32; 3]) -> Self {
        Self(words)
    }

    pub const fn words(&self) -> [u32; 3] {
        self.0
    }

    /// Storage key used by the start function.
    pub const fn key(&self) -> u8 {
        (self.0[0] >> Self::KEY_SHIFT) as u8
    }

    pub fn flags(&self) -> ScswFlags {
        ScswFlags::from_bits_truncate(self.0[0])
    }

    /// Deferred condition code; architecturally meaningful only while the
    /// start function is indicated and status is pending.
    pub const fn deferred_cc(&self) -> Cc {
        Cc::from_bits(((self.0[0] & Self::CC_MASK) >> Self::CC_SHIFT) as u8)
    }

    pub fn fc(&self) -> FunctionControl {
        FunctionControl::from_bits_truncate(self.0[0])
    }

    pub fn ac(&self) -> ActivityControl {
        ActivityControl::from_bits_truncate(self.0[0])
    }

    pub fn sc(&self) -> StatusControl {
        StatusControl::from_bits_truncate(self.0[0])
    }

    /// Replaces the function control, leaving the rest of word 0.
    pub fn set_fc(&mut self, fc: FunctionControl) {
        self.0[0] = (self.0[0] & !Self::FC_MASK) | fc.bits();
    }

    /// Replaces the activity control, leaving the rest of word 0.
    pub fn set_ac(&mut self, ac: ActivityControl) {
        self.0[0] = (self.0[0] & !Self::AC_MASK) | ac.bits();
    }

    /// Replaces the status control, leaving the rest of word 0.
    pub fn set_sc(&mut self, sc: StatusControl) {
        self.0[0] = (self.0[0] & !Self::SC_MASK) | sc.bits();
    }

    /// Function, activity and status control as one value
    /// ([`Self::CONTROL_MASK`] of word 0).
    pub const fn control(&self) -> u32 {
        self.0[0] & Self::CONTROL_MASK
    }

    /// Replaces function, activity and status control with those of
    /// `control` (its other bits are ignored).
    pub fn set_control(&mut self, control: u32) {
        self.0[0] = (self.0[0] & !Self::CONTROL_MASK) | (control & Self::CONTROL_MASK);
    }

    /// CCW address: normally the address of the last CCW executed plus 8.
    pub const fn cpa(&self) -> u32 {
        self.0[1]
    }

    pub fn device_status(&self) -> DeviceStatus {
        DeviceStatus::from_bits_retain((self.0[2] >> 24) as u8)
    }

    pub fn subchannel_status(&self) -> SubchannelStatus {
        SubchannelStatus::from_bits_retain((self.0[2] >> 16) as u8)
    }

    /// Residual byte count of the last CCW executed.
    pub const fn count(&self) -> u16 {
        self.0[2] as u16
    }
}

/// SET CHANNEL MONITOR general register 1 bit 62 (M): measurement-block
/// update, for the subchannels whose PMCW has [`Pmcw::MM_UPDATE`].
pub const SCHM_UPDATE: u64 = 0x2;

/// Subchannel-information block (PoP ch. 15), operand of STSCH and MSCH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(4))]
pub struct Schib {
    pub pmcw: Pmcw,
    pub scsw: Scsw,
    /// Model-dependent area (QEMU keeps the measurement-block address here).
    pub mda: [u8; 12],
}

impl Schib {
    pub const ZERO: Self = Self {
        pmcw: Pmcw::ZERO,
        scsw: Scsw::ZERO,
        mda: [0; 12],
    };
    /// Size of the block in storage.
    pub const LEN: usize = 52;

    /// Measurement-block address (SCHIB words 10-11), meaningful for a
    /// format-1 measurement block (PMCW word 6 bit 29, F).
    pub fn mba(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.mda[..8]);
        u64::from_be_bytes(b)
    }

    pub fn set_mba(&mut self, mba: u64) {
        self.mda[..8].copy_from_slice(&mba.to_be_bytes());
    }

    /// The block as it lies in storage (big-endian), e.g. to place a copy
    /// at an address of the caller's choosing.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let p = &self.pmcw;
        let mut out = [0u8; Self::LEN];
        let mut w = Writer(&mut out, 0);
        w.put(&p.intparm.to_be_bytes());
        w.put(&p.flags.to_be_bytes());
        w.put(&p.devno.to_be_bytes());
        w.put(&[p.lpm, p.pnom, p.lpum, p.pim]);
        w.put(&p.mbi.to_be_bytes());
        w.put(&[p.pom, p.pam]);
        w.put(&p.chpid);
        w.put(&p.chars.to_be_bytes());
        for word in self.scsw.0 {
            w.put(&word.to_be_bytes());
        }
        w.put(&self.mda);
        out
    }
}

/// Appends bytes to a fixed buffer.
struct Writer<'a>(&'a mut [u8], usize);

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.0[self.1..self.1 + bytes.len()].copy_from_slice(bytes);
        self.1 += bytes.len();
    }
}

/// Interruption-response block (PoP ch. 16), operand of TSCH: SCSW,
/// extended-status word, extended-control word, extended-measurement word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(4))]
pub struct Irb {
    pub scsw: Scsw,
    pub esw: [u32; 5],
    pub ecw: [u32; 8],
    pub emw: [u32; 8],
}

impl Irb {
    pub const ZERO: Self = Self {
        scsw: Scsw::ZERO,
        esw: [0; 5],
        ecw: [0; 8],
        emw: [0; 8],
    };
}

bitflags::bitflags! {
    /// Single-bit controls in ORB word 1 (the key and LPM fields have
    /// masks on [`Orb`]).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct OrbFlags: u32 {
        /// S: suspend control.
        const SUSPEND = 0x0800_0000;
        /// C: streaming-mode control.
        const STREAMING = 0x0400_0000;
        /// M: modification control.
        const MODIFICATION = 0x0200_0000;
        /// Y: synchronization control.
        const SYNCHRONIZATION = 0x0100_0000;
        /// F: the channel program consists of format-1 CCWs.
        const FORMAT1 = 0x0080_0000;
        /// P: prefetch allowed. vfio-ccw copies the channel program before
        /// starting it, which is only equivalent when prefetch is allowed,
        /// so it rejects ORBs without P.
        const PREFETCH = 0x0040_0000;
        /// I: initial-status-interruption control.
        const ISIC = 0x0020_0000;
        /// A: address-limit-checking control.
        const ALCC = 0x0010_0000;
        /// U: suppress-suspended-interruption control.
        const SSIC = 0x0008_0000;
        /// H: format-2 IDAWs.
        const FORMAT2_IDAW = 0x0002_0000;
        /// T: 2K-byte IDAWs.
        const IDAW_2K = 0x0001_0000;
        /// L: incorrect-length suppression for immediate commands.
        const ILS = 0x0000_0080;
        /// D: MIDAW control.
        const MIDAW = 0x0000_0040;
        /// X: ORB extension (the words after `cpa` are significant).
        const EXTENSION = 0x0000_0001;
    }
}

/// Command-mode operation-request block (PoP ch. 15), operand of SSCH.
///
/// Only the first three words matter while X is zero; the rest is kept
/// (zeroed) so the block has the full extended size and may be used with
/// X set later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(4))]
pub struct Orb {
    pub intparm: u32,
    /// Key, controls and logical-path mask (see [`OrbFlags`]).
    pub word1: u32,
    /// Channel-program address (31-bit, doubleword aligned).
    pub cpa: u32,
    pub reserved: [u32; 5],
}

impl Orb {
    pub const KEY_MASK: u32 = 0xF000_0000;
    pub const LPM_MASK: u32 = 0x0000_FF00;
    const LPM_SHIFT: u32 = 8;

    /// ORB for a format-1 channel program at `cpa` with prefetch allowed,
    /// key 0 and every logical path permitted.
    pub const fn format1(intparm: u32, cpa: u32) -> Self {
        // A channel program must start on a doubleword in the first 2 GiB;
        // otherwise the start ends with a program check.
        debug_assert!(cpa & 7 == 0 && cpa < 0x8000_0000);
        Self {
            intparm,
            word1: OrbFlags::FORMAT1.bits() | OrbFlags::PREFETCH.bits() | (0xFF << Self::LPM_SHIFT),
            cpa,
            reserved: [0; 5],
        }
    }

    pub fn flags(&self) -> OrbFlags {
        OrbFlags::from_bits_truncate(self.word1)
    }

    /// Size of the (extended) block in storage.
    pub const LEN: usize = 32;

    /// The block as it lies in storage (big-endian).
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        let mut w = Writer(&mut out, 0);
        for word in [self.intparm, self.word1, self.cpa] {
            w.put(&word.to_be_bytes());
        }
        for word in self.reserved {
            w.put(&word.to_be_bytes());
        }
        out
    }

    pub const fn key(&self) -> u8 {
        (self.word1 >> 28) as u8
    }

    pub const fn lpm(&self) -> u8 {
        ((self.word1 & Self::LPM_MASK) >> Self::LPM_SHIFT) as u8
    }
}

bitflags::bitflags! {
    /// Format-1 CCW flags.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[repr(transparent)]
    pub struct CcwFlags: u8 {
        /// CD: chain data.
        const CD = 0x80;
        /// CC: chain command.
        const CC = 0x40;
        /// SLI: suppress incorrect-length indication.
        const SLI = 0x20;
        /// SKP: skip data transfer.
        const SKP = 0x10;
        /// PCI: program-controlled interruption (intermediate status).
        const PCI = 0x08;
        /// IDA: data address designates an IDAW list.
        const IDA = 0x04;
        /// S: suspend before this CCW.
        const S = 0x02;
    }
}

/// CCW command codes used by ccwgate.
pub mod cmd {
    /// No operation: immediate command, channel end and device end with no
    /// data transfer.
    pub const NOP: u8 = 0x03;
    /// SENSE: the device's sense bytes (why it presented unit check).
    pub const SENSE: u8 = 0x04;
    /// SENSE ID: reads the control-unit and device type.
    pub const SENSE_ID: u8 = 0xE4;
}

/// Format-1 channel-command word (PoP ch. 15). CCWs must be doubleword
/// aligned or the channel program ends with a program check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(8))]
pub struct Ccw1 {
    pub cmd: u8,
    pub flags: CcwFlags,
    pub count: u16,
    /// Data address (31-bit).
    pub cda: u32,
}

impl Ccw1 {
    pub const fn new(cmd: u8, flags: CcwFlags, count: u16, cda: u32) -> Self {
        Self {
            cmd,
            flags,
            count,
            cda,
        }
    }
}

/// The identifying part of SENSE ID data: byte 0 is 0xFF, then the
/// control-unit type and model and the device type and model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SenseId {
    pub cu_type: u16,
    pub cu_model: u8,
    pub dev_type: u16,
    pub dev_model: u8,
}

/// Why bytes are not valid SENSE ID data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenseIdError {
    /// Fewer than [`SenseId::MIN_LEN`] bytes.
    Short { len: usize },
    /// Byte 0 is not 0xFF.
    Marker(u8),
}

impl SenseId {
    /// Bytes 0-6 carry the identification.
    pub const MIN_LEN: usize = 7;
    /// Byte 0 of valid SENSE ID data.
    pub const MARKER: u8 = 0xFF;

    /// Parses SENSE ID data as stored by the device (big-endian fields).
    pub fn parse(data: &[u8]) -> Result<Self, SenseIdError> {
        let Some(b) = data.get(..Self::MIN_LEN) else {
            return Err(SenseIdError::Short { len: data.len() });
        };
        if b[0] != Self::MARKER {
            return Err(SenseIdError::Marker(b[0]));
        }
        Ok(Self {
            cu_type: u16::from_be_bytes([b[1], b[2]]),
            cu_model: b[3],
            dev_type: u16::from_be_bytes([b[4], b[5]]),
            dev_model: b[6],
        })
    }
}

// The hardware reads and writes these blocks at their architected sizes;
// a wrong size or alignment is a specification exception or silent
// corruption, so pin them down at compile time.
const _: () = assert!(size_of::<Pmcw>() == 28 && align_of::<Pmcw>() == 4);
const _: () = assert!(offset_of!(Pmcw, flags) == 4);
const _: () = assert!(offset_of!(Pmcw, devno) == 6);
const _: () = assert!(offset_of!(Pmcw, lpm) == 8);
const _: () = assert!(offset_of!(Pmcw, pim) == 11);
const _: () = assert!(offset_of!(Pmcw, mbi) == 12);
const _: () = assert!(offset_of!(Pmcw, pom) == 14);
const _: () = assert!(offset_of!(Pmcw, chpid) == 16);
const _: () = assert!(offset_of!(Pmcw, chars) == 24);
const _: () = assert!(size_of::<Scsw>() == 12 && align_of::<Scsw>() == 4);
const _: () = assert!(size_of::<Schib>() == 52 && align_of::<Schib>() == 4);
const _: () = assert!(offset_of!(Schib, scsw) == 28);
const _: () = assert!(offset_of!(Schib, mda) == 40);
const _: () = assert!(size_of::<Irb>() == 96 && align_of::<Irb>() == 4);
const _: () = assert!(offset_of!(Irb, esw) == 12);
const _: () = assert!(offset_of!(Irb, ecw) == 32);
const _: () = assert!(offset_of!(Irb, emw) == 64);
const _: () = assert!(size_of::<Orb>() == 32 && align_of::<Orb>() == 4);
const _: () = assert!(offset_of!(Orb, word1) == 4);
const _: () = assert!(offset_of!(Orb, cpa) == 8);
const _: () = assert!(size_of::<CcwFlags>() == 1);
const _: () = assert!(size_of::<Ccw1>() == 8 && align_of::<Ccw1>() == 8);
const _: () = assert!(offset_of!(Ccw1, flags) == 1);
const _: () = assert!(offset_of!(Ccw1, count) == 2);
const _: () = assert!(offset_of!(Ccw1, cda) == 4);
const _: () = assert!(size_of::<SubchannelId>() == 4);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cc_round_trips_and_ignores_high_bits() {
        for v in 0..4u8 {
            assert_eq!(Cc::from_bits(v).as_u8(), v);
        }
        assert_eq!(Cc::from_bits(0x12), Cc::Two);
    }

    #[test]
    fn subchannel_id_ss0() {
        let sid = SubchannelId::ss0(0x1234);
        assert_eq!(sid.raw(), 0x0001_1234);
        assert_eq!(sid.number(), 0x1234);
        assert_eq!(sid.ssid(), 0);
        assert!(sid.is_valid());
        assert!(!SubchannelId(0x0000_1234).is_valid());
        assert!(sid.is_addressable());
        assert!(!SubchannelId(0x0000_1234).is_addressable());
        assert!(!SubchannelId(0x0003_0005).is_addressable());
        assert!(!SubchannelId(0x8001_0005).is_addressable());
        assert_eq!(SubchannelId(0x0007_0005).ssid(), 3);
    }

    #[test]
    fn scsw_completed_start_fields() {
        // Real hardware behind vfio-ccw, format-1 ORB with prefetch: F and P
        // reflected, start function, primary+secondary+pending, CE+DE,
        // CCW address just past a 2-CCW program at 0x2000, residual 0.
        let s = Scsw::from_words([0x00C0_4007, 0x0000_2010, 0x0C00_0000]);
        assert_eq!(s.key(), 0);
        assert_eq!(s.deferred_cc(), Cc::Zero);
        assert_eq!(s.flags(), ScswFlags::FORMAT1 | ScswFlags::PREFETCH);
        assert_eq!(s.fc(), FunctionControl::START);
        assert!(s.ac().is_empty());
        assert_eq!(
            s.sc(),
            StatusControl::PRIMARY | StatusControl::SECONDARY | StatusControl::PENDING
        );
        assert_eq!(s.cpa(), 0x2010);
        assert_eq!(
            s.device_status(),
            DeviceStatus::CHANNEL_END | DeviceStatus::DEVICE_END
        );
        assert!(s.subchannel_status().is_empty());
        assert_eq!(s.count(), 0);
    }

    #[test]
    fn scsw_setters_replace_their_field_alone() {
        let mut s = Scsw::from_words([0xFFFF_7FFF, 1, 2]);
        s.set_fc(FunctionControl::CLEAR);
        assert_eq!(s.0[0], 0xFFFF_1FFF);
        s.set_ac(ActivityControl::CLEAR_PENDING);
        assert_eq!(s.0[0], 0xFFFF_111F);
        s.set_sc(StatusControl::empty());
        assert_eq!(s.0[0], 0xFFFF_1100);
        assert_eq!(s.control(), 0x1100);
        s.set_control(0xFFFF_0000 | u32::from(u16::MAX));
        assert_eq!((s.0[0], s.control()), (0xFFFF_7FFF, Scsw::CONTROL_MASK));
        assert_eq!(
            (
                Scsw::FC_MASK,
                Scsw::AC_MASK,
                Scsw::SC_MASK,
                Scsw::CONTROL_MASK
            ),
            (0x7000, 0x0fe0, 0x001f, 0x7fff)
        );
        assert_eq!(s.0[1..], [1, 2]);
    }

    #[test]
    fn scsw_control_fields_do_not_bleed() {
        // Every defined bit set at once (bit 16 is reserved): each accessor
        // sees only its own field.
        let s = Scsw::from_words([0xFFFF_7FFF, 0xDEAD_BEE8, 0x2A40_0010]);
        assert_eq!(s.key(), 0xF);
        assert_eq!(s.deferred_cc(), Cc::Three);
        assert_eq!(s.fc(), FunctionControl::all());
        assert_eq!(s.ac(), ActivityControl::all());
        assert_eq!(s.sc(), StatusControl::all());
        assert_eq!(s.flags(), ScswFlags::all());
        assert_eq!(
            s.device_status(),
            DeviceStatus::CONTROL_UNIT_END | DeviceStatus::CHANNEL_END | DeviceStatus::UNIT_CHECK
        );
        assert_eq!(s.subchannel_status(), SubchannelStatus::INCORRECT_LENGTH);
        assert_eq!(s.count(), 0x10);
    }

    #[test]
    fn orb_format1() {
        let o = Orb::format1(0xCAFE_0001, 0x0000_3000);
        assert_eq!(o.intparm, 0xCAFE_0001);
        assert_eq!(o.cpa, 0x3000);
        assert_eq!(o.word1, 0x00C0_FF00);
        assert_eq!(o.flags(), OrbFlags::FORMAT1 | OrbFlags::PREFETCH);
        assert_eq!(o.lpm(), 0xFF);
        assert_eq!(o.key(), 0);
        assert_eq!(o.reserved, [0; 5]);
    }

    #[test]
    fn ccw_and_commands() {
        let c = Ccw1::new(cmd::SENSE_ID, CcwFlags::SLI | CcwFlags::CC, 8, 0x4000);
        assert_eq!(c.cmd, 0xE4);
        assert_eq!(c.flags.bits(), 0x60);
        assert_eq!(c.count, 8);
        assert_eq!(c.cda, 0x4000);
        assert_eq!(cmd::NOP, 0x03);
    }

    #[test]
    fn pmcw_accessors() {
        let mut p = Pmcw::ZERO;
        p.flags = 0x0001; // device number valid, as STSCH reports it
        p.set_isc(3);
        assert_eq!(p.isc(), 3);
        assert_eq!(p.flags, 0x1801);
        p.set_enabled(true);
        assert!(p.is_enabled());
        assert_eq!(p.flags, 0x1881);
        p.set_isc(0xFF);
        assert_eq!(p.isc(), 7);
        p.set_enabled(false);
        assert_eq!(p.flags, 0x3801);
        assert!(p.device_number_valid());
        assert_eq!(p.flag_set(), PmcwFlags::DNV);
        p.chars = 0x0020_0001;
        assert_eq!(p.subchannel_type(), 1);
        assert_eq!(p.char_set(), PmcwChars::CSENSE);
    }

    #[test]
    fn sense_id_parse() {
        // A 3390 on a 3990 control unit.
        let data = [0xFF, 0x39, 0x90, 0xE9, 0x33, 0x90, 0x0A, 0x00];
        assert_eq!(
            SenseId::parse(&data),
            Ok(SenseId {
                cu_type: 0x3990,
                cu_model: 0xE9,
                dev_type: 0x3390,
                dev_model: 0x0A,
            })
        );
        assert_eq!(
            SenseId::parse(&data[..6]),
            Err(SenseIdError::Short { len: 6 })
        );
        let mut bad = data;
        bad[0] = 0x00;
        assert_eq!(SenseId::parse(&bad), Err(SenseIdError::Marker(0)));
    }

    #[test]
    fn schib_bytes_follow_the_architected_layout() {
        let mut s = Schib::ZERO;
        s.pmcw.intparm = 0x0102_0304;
        s.pmcw.flags = 0x1881;
        s.pmcw.devno = 0xfe01;
        s.pmcw.pim = 0x80;
        s.pmcw.mbi = 0x0042;
        s.pmcw.chpid[7] = 0x77;
        s.pmcw.chars = 0x0000_0005;
        s.scsw = Scsw::from_words([0x00c0_4007, 0x2010, 0x0c00_0000]);
        s.set_mba(0x0000_0000_1234_5640);
        assert_eq!(s.mba(), 0x1234_5640);
        let b = s.to_bytes();
        assert_eq!(b.len(), size_of::<Schib>());
        assert_eq!(&b[0..8], &[1, 2, 3, 4, 0x18, 0x81, 0xfe, 0x01]);
        assert_eq!(b[11], 0x80);
        assert_eq!(&b[12..14], &[0x00, 0x42]);
        assert_eq!(b[23], 0x77);
        assert_eq!(&b[24..28], &[0, 0, 0, 5]);
        assert_eq!(&b[28..32], &[0x00, 0xc0, 0x40, 0x07]);
        assert_eq!(&b[40..48], &[0, 0, 0, 0, 0x12, 0x34, 0x56, 0x40]);
    }

    #[test]
    fn orb_bytes_follow_the_architected_layout() {
        let b = Orb::format1(0xCAFE_0001, 0x3000).to_bytes();
        assert_eq!(b.len(), size_of::<Orb>());
        assert_eq!(
            &b[0..12],
            &[0xca, 0xfe, 0, 1, 0, 0xc0, 0xff, 0, 0, 0, 0x30, 0]
        );
        assert!(b[12..].iter().all(|&x| x == 0));
    }

    #[test]
    fn zero_blocks() {
        assert_eq!(Irb::ZERO.scsw.words(), [0; 3]);
        assert_eq!(Schib::ZERO.pmcw.intparm, 0);
    }
}
