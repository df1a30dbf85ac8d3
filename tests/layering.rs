//! The data flows one way: a library module may only use the modules declared before it in
//! `src/lib.rs` (`escape → format → file → render → library → pool → cache → schedule → http
//! → server`), and each names only the outside crates of its own layer: the pure modules no
//! async runtime, thread pool or command-line crate; nothing before `http` any HTTP crate;
//! `http` no thread pool (nothing renders on a request path). Checked on the source text, so
//! a stray `use` fails here rather than in review.

use std::fs;
use std::path::{Path, PathBuf};

/// Each library module, in flow order, with the crate modules it may use and the outside
/// crates it must not name.
type Rule = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);
const PURE: &[&str] = &["tokio", "warp", "hyper", "rayon", "clap"];
const FLOW: &[Rule] = &[
    ("escape", &[], PURE),
    ("format", &[], PURE),
    ("file", &[], PURE),
    ("render", &["escape", "format", "file", "render"], PURE),
    // The library has its own thread (never the async runtime's workers or the render pool):
    // of tokio it uses only the `watch` channel that publishes its snapshots.
    (
        "library",
        &["escape", "format", "file", "render", "library"],
        &[
            "warp",
            "hyper",
            "rayon",
            "clap",
            "tokio::task",
            "tokio::runtime",
        ],
    ),
    (
        "pool",
        &["escape", "file", "render", "pool"],
        &["warp", "hyper", "clap"],
    ),
    (
        "cache",
        &["library", "render", "pool", "cache"],
        &["warp", "hyper", "rayon", "clap"],
    ),
    (
        "schedule",
        &["escape", "library", "render", "cache", "schedule"],
        &["warp", "hyper", "rayon", "clap"],
    ),
    (
        "http",
        &["escape", "library", "render", "cache", "schedule", "http"],
        &["rayon", "clap"],
    ),
    (
        "server",
        &[
            "escape", "file", "render", "library", "pool", "cache", "schedule", "http", "server",
        ],
        &["clap"],
    ),
];

fn sources(module: &str) -> Vec<PathBuf> {
    // A module is a file, or a folder of files.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let file = src.join(format!("{module}.rs"));
    if file.exists() {
        return vec![file];
    }
    let mut files: Vec<PathBuf> = fs::read_dir(src.join(module))
        .unwrap_or_else(|e| panic!("module {module}: {e}"))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    files
}

#[test]
fn modules_only_use_earlier_ones() {
    let all: Vec<&str> = FLOW.iter().map(|(m, _, _)| *m).collect();
    for (module, allowed, forbidden) in FLOW {
        for file in sources(module) {
            let text = fs::read_to_string(&file).expect("read");
            for (n, line) in text.lines().enumerate() {
                for other in &all {
                    let uses = line.contains(&format!("crate::{other}::"))
                        || line.contains(&format!("crate::{other};"))
                        || line.contains(&format!("crate::{other}}}"));
                    assert!(
                        !uses || allowed.contains(other),
                        "{}:{}: {module} uses {other}, which comes later in the flow",
                        file.display(),
                        n + 1
                    );
                }
                for krate in *forbidden {
                    assert!(
                        !line.contains(&format!("{krate}::")),
                        "{}:{}: {module} names {krate}",
                        file.display(),
                        n + 1
                    );
                }
            }
        }
    }
}

#[test]
fn lib_declares_modules_in_flow_order() {
    let lib = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("read lib.rs");
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    let flow: Vec<&str> = FLOW.iter().map(|(m, _, _)| *m).collect();
    assert_eq!(declared, flow);
}
