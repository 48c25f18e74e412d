//! A CVLab-Kit lab's configs run as they are: for each config in
//! `cvlabkit_configs/` (written the way CVLab-Kit's own examples are:
//! `!!python/tuple` values, block and flow lists, a flow list closed at
//! column 1, nested axes), Trainyard's run count equals what CVLab-Kit's
//! `Config.expand()` makes (`expected.json`), or both refuse the file.

use std::path::PathBuf;

use trainyard_core::config::{parse_experiment, SweepLimits};

#[test]
fn run_counts_match_cvlabkits_expand() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/cvlabkit_configs");
    let expected: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"),
    )
    .expect("expected.json is JSON");
    let mut checked = 0;
    for (file, runs) in expected.iter().filter(|(k, _)| !k.starts_with('_')) {
        let yaml = std::fs::read_to_string(dir.join(file)).expect("the config file");
        let got = parse_experiment(&yaml).map(|e| {
            e.expand(&SweepLimits::default())
                .expect("the grid expands")
                .len()
        });
        match runs.as_u64() {
            Some(n) => assert_eq!(
                got.as_ref().ok().copied(),
                usize::try_from(n).ok(),
                "{file}: {got:?}"
            ),
            None => assert!(
                got.is_err(),
                "{file}: CVLab-Kit refuses it, Trainyard made {got:?}"
            ),
        }
        checked += 1;
    }
    assert_eq!(checked, 9);
}
