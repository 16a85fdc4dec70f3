//! Replays every committed fuzz input (`fuzz/corpus/<target>/*`) through its target on stable,
//! so plain `cargo test` (and CI) checks what fuzzing found and kept: a fixed crash stays fixed.
//! A target without a corpus folder, or a folder without a target, fails the test.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use longshore_fuzz_targets::TARGETS;

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus")
}

#[test]
fn every_target_has_a_corpus_folder_and_every_folder_a_target() {
    let folders: BTreeSet<String> = fs::read_dir(corpus_root())
        .expect("fuzz/corpus exists")
        .map(|e| e.expect("a readable entry"))
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let targets: BTreeSet<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(folders, targets, "fuzz/corpus folders vs TARGETS");
    let harnesses: BTreeSet<String> = fs::read_dir(corpus_root().join("../fuzz_targets"))
        .expect("fuzz/fuzz_targets exists")
        .map(|e| e.expect("a readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| {
            p.file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(harnesses, targets, "fuzz/fuzz_targets/*.rs vs TARGETS");
}

#[test]
fn every_committed_input_replays_without_failing() {
    let mut failed = Vec::new();
    for (name, target) in TARGETS {
        let folder = corpus_root().join(name);
        let mut inputs: Vec<PathBuf> = fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
            .map(|e| e.expect("a readable entry").path())
            .filter(|p| p.is_file())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "{} holds no inputs", folder.display());
        let started = std::time::Instant::now();
        let count = inputs.len();
        for input in inputs {
            let data = fs::read(&input).expect("a readable input");
            if std::panic::catch_unwind(|| target(&data)).is_err() {
                failed.push(format!("{name}: {}", input.display()));
            }
        }
        eprintln!("{name}: {count} inputs in {:?}", started.elapsed());
    }
    assert!(
        failed.is_empty(),
        "inputs that fail:\n{}",
        failed.join("\n")
    );
}
