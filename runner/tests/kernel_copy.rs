//! The runner boots a private copy of the kernel, so that a kernel rebuilt
//! while a campaign runs (cargo writes the same path) never reaches a boot.

use std::path::Path;

use ccwgate_runner::Setup;

#[test]
fn runs_boot_a_private_copy_that_goes_with_the_setup() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    // Any file stands in for the kernel: Setup only copies it.
    let original =
        std::env::temp_dir().join(format!("ccwgate-copy-test-{}.elf", std::process::id()));
    std::fs::write(&original, b"an ELF, as far as this test cares").unwrap();
    let setup = Setup::new(workspace, Some(original.clone()), 5, vec![]).expect("a setup");
    assert_ne!(setup.kernel, original, "the runs boot a copy");
    assert_eq!(
        std::fs::read(&setup.kernel).unwrap(),
        std::fs::read(&original).unwrap()
    );
    // A rebuild of the original leaves the copy as it was.
    std::fs::write(&original, b"rebuilt").unwrap();
    assert_eq!(
        std::fs::read(&setup.kernel).unwrap(),
        b"an ELF, as far as this test cares"
    );
    let copy = setup.kernel.clone();
    let clone = setup.clone();
    drop(setup);
    assert!(copy.exists(), "a clone still holds it");
    drop(clone);
    assert!(!copy.exists(), "removed with the last clone");
    let _ = std::fs::remove_file(&original);
}
