//! ccwgate's portable core.
//!
//! Everything here is plain `no_std` Rust without `unsafe`: it is linked into
//! the s390x guest kernel and unit-tested on the build host with `cargo test`.
//! Nothing in this crate touches hardware; the kernel supplies the real
//! channel instructions through [`driver::Channel`].
#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

/// A fieldless enum and its list: declares the enum as written (attributes
/// and doc comments kept) and `ALL`, every variant in declaration order,
/// its length counted from the declaration. Written `Variant => "name"`,
/// each variant also gets its stable name, and the enum a `const fn
/// name(self)`:
///
/// ```
/// gate::named_enum! {
///     /// How it ends.
///     #[derive(Clone, Copy, Debug, PartialEq, Eq)]
///     pub enum Ending {
///         Pass => "PASS",
///         /// The host broke a rule.
///         Fail => "FAIL",
///     }
/// }
/// assert_eq!(Ending::ALL, [Ending::Pass, Ending::Fail]);
/// assert_eq!(Ending::Fail.name(), "FAIL");
/// ```
///
/// `ALL` and `name` have the enum's visibility. A variant added to the
/// declaration is in both; no list is kept by hand.
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $enum:ident {
            $($(#[$vmeta:meta])* $variant:ident => $name:expr),+ $(,)?
        }
    ) => {
        $crate::named_enum! {
            $(#[$meta])*
            $vis enum $enum {
                $($(#[$vmeta])* $variant),+
            }
        }

        impl $enum {
            /// The stable name.
            #[allow(dead_code)]
            $vis const fn name(self) -> &'static str {
                match self {
                    $($enum::$variant => $name),+
                }
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $enum:ident {
            $($(#[$vmeta:meta])* $variant:ident),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $enum {
            $($(#[$vmeta])* $variant),+
        }

        impl $enum {
            /// Every variant, in declaration order.
            #[allow(dead_code)]
            $vis const ALL: [$enum; [$(stringify!($variant)),+].len()] = [$($enum::$variant),+];
        }
    };
}

/// The names of `$all` (a constant array of values with a `const fn
/// name(self) -> &'static str`), as a constant array in the same order:
/// `gate::names_of!(Collect::ALL)`.
#[macro_export]
macro_rules! names_of {
    ($all:expr) => {{
        let mut names = [""; $all.len()];
        let mut i = 0;
        while i < names.len() {
            names[i] = $all[i].name();
            i += 1;
        }
        names
    }};
}

pub mod accel;
pub mod cmdline;
pub mod conformance;
pub mod css;
pub mod driver;
pub mod kut;
pub mod measure;
pub mod oracle;
pub mod ring;
pub mod rng;
pub mod route;
pub mod sim;
pub mod stats;
pub mod tod;
pub mod trace;
pub mod verdict;
