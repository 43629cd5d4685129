//! The README is a guide: at most 400 lines, with every page of `docs/`
//! reachable from it, and every relative link in README and `docs/`
//! pointing at a file that exists.

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
