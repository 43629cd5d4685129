//! The README is a guide: at most 400 lines, none wider than 300
//! characters, with every page of `docs/` reachable from it, and every
//! relative link in README and `docs/` pointing at a file that exists.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the runner sits in the workspace")
        .to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The targets of the markdown links `[text](target)` in `text`, without
/// their `#fragment`; web addresses left out.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = &rest[..end];
        let target = target.split('#').next().unwrap_or("");
        if !target.is_empty() && !target.contains("://") && !target.contains(' ') {
            out.push(target.to_string());
        }
    }
    out
}

fn docs() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(workspace().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    pages
}

#[test]
fn the_readme_is_at_most_400_lines() {
    let readme = read(&workspace().join("README.md"));
    let lines = readme.lines().count();
    assert!(lines <= 400, "README.md has {lines} lines");
}

/// The widest line README may have: a table row wider than a screen or
/// two says its long cells belong in `docs/` (as `docs/options.md` and
/// `docs/detects.md` hold the options' and the classes' and deviations').
const README_WIDTH: usize = 300;

/// The README's lines wider than [`README_WIDTH`] characters: number and
/// width.
fn too_wide(readme: &str) -> Vec<(usize, usize)> {
    readme
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.chars().count()))
        .filter(|&(_, w)| w > README_WIDTH)
        .collect()
}

#[test]
fn no_readme_line_is_over_300_characters() {
    let readme = read(&workspace().join("README.md"));
    assert_eq!(
        too_wide(&readme),
        vec![],
        "README.md lines (number, characters) over {README_WIDTH}: move the long \
         cells into docs/ and link them"
    );
    // The check sees a row as wide as the one README had before.
    let row = format!("| `x` | {} |\n", "a".repeat(1_190));
    assert_eq!(too_wide(&format!("ok\n{row}")), vec![(2, 1_200)]);
    assert!(too_wide(&"b".repeat(README_WIDTH)).is_empty());
}

#[test]
fn every_docs_page_is_linked_from_the_readme() {
    let readme = read(&workspace().join("README.md"));
    let linked = links(&readme);
    for page in docs() {
        let name = format!("docs/{}", page.file_name().unwrap().to_string_lossy());
        assert!(
            linked.contains(&name),
            "{name} is not linked from README.md"
        );
    }
}

#[test]
fn every_relative_link_resolves() {
    let root = workspace();
    let mut files = vec![root.join("README.md")];
    files.extend(docs());
    for file in files {
        let dir = file.parent().unwrap();
        for target in links(&read(&file)) {
            assert!(
                dir.join(&target).exists(),
                "{}: link to {target} that does not exist",
                file.display()
            );
        }
    }
}
