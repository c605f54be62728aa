//! The conformance checker, run for every registered env with its default config.

use sim_core::conformance::{ConformanceOptions, check_env};

#[test]
fn every_registered_env_conforms() {
    let registry = envs::registry();
    let ids: Vec<&str> = registry.ids().collect();
    assert!(ids.contains(&"twenty_questions-v0"));
    for id in ids {
        let kind = registry.make(id, None).unwrap();
        check_env(&kind, &ConformanceOptions::default()).unwrap_or_else(|error| panic!("{id}: {error}"));
    }
}
