//! `search_feedback-v0`: ConvSim's effects with fixed seeds (the figures in
//! docs/envs/search_feedback.md), the user's leak budget, the hidden need, the action grammar
//! and the BM25 index.

use envs::search_feedback::collection::{self, CollectionConfig, Need};
use envs::search_feedback::metrics::SearchMetrics;
use envs::search_feedback::user::informative_words;
use envs::search_feedback::{Command, QUERY_ONLY_MEAN_RETURN, ndcg_at_3, parse_command};
use sim_core::{EpisodeRecord, Kind, Speaker};

const ENV: &str = "search_feedback-v0";

fn play(agent: &str, config: Option<&str>, seed: u64, episodes: u64) -> Vec<EpisodeRecord> {
    gym_tests::play_records(ENV, config, agent, seed, episodes, 32)
}

fn metrics(agent: &str, config: Option<&str>, seed: u64, episodes: u64) -> SearchMetrics {
    SearchMetrics::from_records(&play(agent, config, seed, episodes))
}

#[test]
#[ignore = "prints the metrics table of the docs"]
fn print_metrics() {
    for leak in 0..=3 {
        let config = format!("(leak: {leak})");
        for agent in ["query_only", "feedback_append", "asker", "random"] {
            let m = metrics(agent, Some(&config), 0, 500);
            let mean_return = play(agent, Some(&config), 0, 500).iter().map(|r| r.episode_return).sum::<f64>() / 500.0;
            println!("leak {leak} {agent}: return {mean_return:.4} {}", serde_json::to_string(&m).unwrap());
        }
    }
}

/// ConvSim's effect: feedback rounds raise nDCG@3 monotonically for the feedback-append agent,
/// with a large relative gain after 3 rounds (the paper: +35%). Read from the `summary.json` of
/// a real run, as a user gets it.
#[test]
fn feedback_append_gains_over_rounds() {
    let summary = crate::runs::summary(ENV, None, "feedback_append", 200, 1);
    let ndcg: Vec<f64> =
        (0..4).map(|round| crate::runs::metric(&summary, &format!("ndcg_at_3_round_{round}"))).collect();
    for round in 1..4 {
        assert!(ndcg[round] >= ndcg[round - 1], "{ndcg:?}");
    }
    assert!(ndcg[1] > ndcg[0] + 0.05, "{ndcg:?}");
    let gain = crate::runs::metric(&summary, "relative_gain");
    assert!(gain > 0.2, "{gain}");
    assert!((gain - (ndcg[3] - ndcg[0]) / ndcg[0]).abs() < 1e-9, "the pooled ratio is the gain of the means");
    // The in-process aggregation of the same episodes agrees.
    let m = metrics("feedback_append", None, 1, 200);
    assert!((m.relative_gain - gain).abs() < 1e-9, "{m:?}");
}

/// The query-only agent answers the same top 3 every round: no gain.
#[test]
fn query_only_does_not_gain() {
    let m = metrics("query_only", None, 1, 200);
    assert!(m.relative_gain.abs() < 1e-9, "{m:?}");
    assert_eq!(m.clarifying_questions_per_episode, 0.0);
}

/// Asking a clarifying question first beats query-only BM25 at round 0; its questions are on
/// target.
#[test]
fn clarify_first_beats_query_only_at_round_zero() {
    let asker = metrics("asker", None, 1, 200);
    let query_only = metrics("query_only", None, 1, 200);
    assert!(asker.ndcg_by_round[0] > query_only.ndcg_by_round[0] + 0.1, "{asker:?} vs {query_only:?}");
    assert!(asker.clarify_usefulness.unwrap() > 0.9, "{asker:?}");
}

/// More leaked words make feedback more useful: the feedback-append agent's gain grows with
/// the leak knob, and nothing is gained from feedback that leaks nothing but a diagnosis.
#[test]
fn more_leak_more_gain() {
    let gains: Vec<f64> = (0..=2)
        .map(|leak| metrics("feedback_append", Some(&format!("(leak: {leak})")), 2, 150).relative_gain)
        .collect();
    assert!(gains[0] < gains[1] && gains[1] <= gains[2], "{gains:?}");
    assert!(gains[0].abs() < 0.05, "{gains:?}");
}

/// The score anchor's average is the query-only agent's mean return (500 episodes, seed 0).
#[test]
fn query_only_matches_its_score_anchor() {
    let records = play("query_only", None, 0, 500);
    let mean = records.iter().map(|r| r.episode_return).sum::<f64>() / records.len() as f64;
    assert!((mean - QUERY_ONLY_MEAN_RETURN).abs() < 1e-3, "mean return {mean}");
}

/// The need of a record, read back from its revealed hidden state ("need t3f1c2: ...").
fn need_of(record: &EpisodeRecord) -> Need {
    let id = record.hidden[0].strip_prefix("need t").unwrap().split(':').next().unwrap();
    let (topic, rest) = id.split_once('f').unwrap();
    let (facet, audience) = rest.split_once('c').unwrap();
    let audience: usize = audience.parse().unwrap();
    Need {
        topic: topic.parse().unwrap(),
        facet: facet.parse().unwrap(),
        audience: (audience < collection::AUDIENCES.len()).then_some(audience),
    }
}

/// No user utterance reveals more than `leak` of the need's informative words that were not in
/// the initial query or in the agent's action it answers; with leak 0 the feedback holds none.
#[test]
fn user_utterances_respect_the_leak_budget() {
    let shared = collection::collection(&CollectionConfig::default());
    for leak in 0..=3usize {
        let config = format!("(leak: {leak})");
        for agent in ["feedback_append", "asker", "random"] {
            let mut utterances = 0;
            for record in play(agent, Some(&config), 5, 40) {
                let need = need_of(&record);
                let informative = informative_words(&shared, &need);
                let entries = record.transcript.entries();
                let initial = envs::text::words(&entries[0].text);
                for pair in entries[1..].windows(2) {
                    let (action, reply) = (&pair[0], &pair[1]);
                    if action.kind != Kind::Action || reply.speaker != Speaker::Partner {
                        continue;
                    }
                    utterances += 1;
                    let asked = envs::text::words(&action.text);
                    let said = envs::text::words(&reply.text);
                    let mut new: Vec<&str> = informative
                        .iter()
                        .copied()
                        .filter(|w| said.iter().any(|s| s == w))
                        .filter(|w| !initial.iter().any(|s| s == w) && !asked.iter().any(|s| s == w))
                        .collect();
                    new.dedup();
                    assert!(new.len() <= leak, "leak {leak}, {agent}: {new:?} in {:?}", reply.text);
                }
            }
            assert!(utterances > 0);
        }
    }
}

/// The need's id, topic label and the qrels never appear before the end; the user never names
/// the need's topic qualifier unprompted when it may leak nothing.
#[test]
fn the_need_stays_hidden() {
    let shared = collection::collection(&CollectionConfig::default());
    for record in play("feedback_append", Some("(leak: 0)"), 7, 60) {
        let need = need_of(&record);
        let qualifier = shared.topics[need.topic].qualifier;
        for entry in record.transcript.entries() {
            if entry.speaker == Speaker::Partner {
                assert!(!envs::text::words(&entry.text).iter().any(|w| w == qualifier), "{:?}", entry.text);
            }
            for hidden in &record.hidden {
                assert!(!sim_core::conformance::contains_words(&entry.text, hidden), "{hidden:?} in {:?}", entry.text);
            }
        }
    }
}

#[test]
fn actions_parse() {
    assert_eq!(parse_command("search jaguar price"), Some(Command::Search("jaguar price")));
    assert_eq!(parse_command("  SEARCH  a b "), Some(Command::Search("a b")));
    assert_eq!(parse_command("ask_clarify \"cat or car?\""), Some(Command::Clarify("cat or car?")));
    assert_eq!(parse_command("answer d1,d2,d3"), Some(Command::Answer(vec![1, 2, 3], "")));
    assert_eq!(
        parse_command("answer d1, [d2] d3 These are good."),
        Some(Command::Answer(vec![1, 2, 3], "These are good."))
    );
    assert_eq!(parse_command("answer d4 cheap ones"), Some(Command::Answer(vec![4], "cheap ones")));
    assert_eq!(parse_command("answer d1,d1"), None);
    assert_eq!(parse_command("answer d1,d2,d3,d4"), None);
    assert_eq!(parse_command("answer the best"), None);
    assert_eq!(parse_command("search"), None);
    assert_eq!(parse_command("search   "), None);
    assert_eq!(parse_command(""), None);
    assert_eq!(parse_command("find jaguar"), None);
}

#[test]
fn ndcg_at_3_follows_trec_eval() {
    let qrels = [(1, 2), (2, 2), (3, 1), (4, 2)];
    assert!((ndcg_at_3(&[1, 2, 4], &qrels) - 1.0).abs() < 1e-12);
    assert_eq!(ndcg_at_3(&[7, 8, 9], &qrels), 0.0);
    // DCG = 1/log2(3) * 2 (doc 2 at rank 2) ; IDCG = 2 + 2/log2(3) + 2/2.
    let expected = (2.0 / 3f64.log2()) / (2.0 + 2.0 / 3f64.log2() + 1.0);
    assert!((ndcg_at_3(&[9, 2], &qrels) - expected).abs() < 1e-12);
    // Repeats gain nothing.
    assert!((ndcg_at_3(&[2, 2, 2], &qrels) - 2.0 / (2.0 + 2.0 / 3f64.log2() + 1.0)).abs() < 1e-12);
}

#[test]
fn the_index_is_shared_deterministic_and_ranks_by_bm25() {
    let config = CollectionConfig::default();
    let shared = collection::collection(&config);
    assert!(std::sync::Arc::ptr_eq(&shared, &collection::collection(&config)));
    let rebuilt = collection::Collection::build(&config).unwrap();
    assert_eq!(rebuilt.documents, shared.documents);
    for query in ["jaguar price", "python snake safety beginners", "mercury", "zzz"] {
        let hits = shared.search(query);
        assert_eq!(hits, rebuilt.search(query));
        assert!(hits.len() <= collection::RESULTS_PER_SEARCH);
        for pair in hits.windows(2) {
            assert!(pair[0].score > pair[1].score || (pair[0].score == pair[1].score && pair[0].doc < pair[1].doc));
        }
    }
    assert!(shared.search("zzz").is_empty());
    // A specific query finds documents of its topic and facet.
    for (index, topic) in shared.topics.iter().enumerate() {
        let facet = topic.facets[0];
        let hits = shared.search(&format!("{} {}", topic.name(), collection::FACETS[facet].0));
        let top = &shared.documents[hits[0].doc as usize];
        assert_eq!((top.topic, top.facet), (Some(index), facet), "{}", topic.name());
    }
}

proptest::proptest! {
    /// Any text parses or is rejected without panicking, and an accepted answer holds 1–3
    /// distinct ids.
    #[test]
    fn parsing_never_panics(text in "\\PC{0,80}", ids in proptest::collection::vec(0u32..2_000, 0..5)) {
        let _ = parse_command(&text);
        let answer = format!("answer {}", ids.iter().map(|d| format!("d{d}")).collect::<Vec<_>>().join(","));
        if let Some(Command::Answer(parsed, _)) = parse_command(&answer) {
            proptest::prop_assert!((1..=3).contains(&parsed.len()));
            let mut unique = parsed.clone();
            unique.sort_unstable();
            unique.dedup();
            proptest::prop_assert_eq!(unique.len(), parsed.len());
        }
    }

    /// nDCG@3 stays in [0, 1] for any ranking against any qrels.
    #[test]
    fn ndcg_is_a_fraction(
        ranking in proptest::collection::vec(0u32..30, 0..6),
        grades in proptest::collection::btree_map(0u32..30, 0u8..3, 0..12),
    ) {
        let qrels: Vec<(u32, u8)> = grades.into_iter().collect();
        let ndcg = ndcg_at_3(&ranking, &qrels);
        proptest::prop_assert!((0.0..=1.0 + 1e-12).contains(&ndcg), "{}", ndcg);
    }
}
