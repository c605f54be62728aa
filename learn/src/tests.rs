//! Tests of the losses, the rollouts and whole (tiny) training runs.

use std::path::Path;

use candle_core::{DType, Device};
use sim_core::{Episode, Kind};

use crate::algorithms::{AdamW, Batch, ClippedObjective, OptimizerConfig, behaviour_cloning_loss, clipped_loss, score};
use crate::model::{Model, ModelConfig};
use crate::policy::{Policy, PolicySpec};
use crate::rollout::{Planned, Sample, play, samples_from_rollouts};
use crate::tokens::{ACT, ContextWindow, action_ids};
use crate::train::{TrainOptions, parse, train};

fn tiny_model() -> ModelConfig {
    ModelConfig { width: 16, layers: 1, heads: 2, mlp_width: 32, positions: 64 }
}

/// A turn whose context is one observation line, as [`ContextWindow::prompt_ids`] renders it.
fn sample(context: &str, action: &str, advantage: f32) -> Sample {
    let entries = [sim_core::Entry::new(sim_core::Speaker::Env, Kind::Observation, context.to_owned())];
    let mut ids = ContextWindow::default().prompt_ids(&entries);
    let action_start = ids.len();
    ids.extend(action_ids(action));
    Sample {
        ids,
        action_start,
        old_logprobs: Vec::new(),
        reward: 0.0,
        episode: 0,
        turn: 0,
        advantage,
        target: advantage * 0.5,
    }
}

/// The analytic gradient of the PPO loss (clipped term, value, KL and entropy) equals central
/// finite differences, in f64, for parameters of every kind.
#[test]
fn loss_gradients_match_finite_differences() {
    let model = Model::new(tiny_model(), 5, &Device::Cpu).unwrap().to_dtype(DType::F64).unwrap();
    let mut samples = vec![sample("ab", "xy", 1.0), sample("c", "z", -0.7), sample("abcd", "q", 0.3)];
    let (current, _) = score(&model, &samples, 8).unwrap();
    for (sample, logprobs) in samples.iter_mut().zip(&current) {
        // Old log-probabilities near the current ones: ratios inside and outside the clip.
        sample.old_logprobs = logprobs.iter().enumerate().map(|(i, l)| l + 0.05 * (i as f32 - 0.5)).collect();
    }
    let reference: Vec<f32> = current.iter().flatten().map(|l| l - 0.1).collect();
    let objective =
        ClippedObjective { clip: 0.2, kl_coefficient: 0.3, entropy_coefficient: 0.05, value_coefficient: 0.5 };
    let refs: Vec<&Sample> = samples.iter().collect();
    let loss_of = |model: &Model| {
        let batch = Batch::new(&refs, model).unwrap();
        clipped_loss(model, &batch, &refs, Some(&reference), &objective, true).unwrap()
    };
    let (loss, _) = loss_of(&model);
    let grads = loss.backward().unwrap();
    let names = ["token_embedding", "position_embedding", "layer0.qkv", "layer0.mlp_down", "lm_head", "value_head"];
    for name in names {
        let var = &model.parameters()[name];
        let grad = grads.get(var.as_tensor()).unwrap_or_else(|| panic!("no gradient for {name}"));
        let grad = grad.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        let values = var.as_tensor().flatten_all().unwrap().to_vec1::<f64>().unwrap();
        // The largest gradient entries of this parameter.
        let mut order: Vec<usize> = (0..grad.len()).collect();
        order.sort_by(|a, b| grad[*b].abs().total_cmp(&grad[*a].abs()));
        for &index in order.iter().take(3) {
            let step = 1e-6;
            let probe = |delta: f64| {
                let mut moved = values.clone();
                moved[index] += delta;
                var.set(&candle_core::Tensor::from_vec(moved, var.as_tensor().shape(), &Device::Cpu).unwrap()).unwrap();
                let (value, _) = loss_of(&model);
                value.to_scalar::<f64>().unwrap()
            };
            let numeric = (probe(step) - probe(-step)) / (2.0 * step);
            probe(0.0);
            let tolerance = 1e-5 + 1e-4 * numeric.abs();
            assert!(
                (numeric - grad[index]).abs() < tolerance,
                "{name}[{index}]: analytic {} vs numeric {numeric}",
                grad[index]
            );
        }
    }
}

/// BC on a fixed toy dataset learns it: the loss falls far below its start.
#[test]
fn behaviour_cloning_drives_the_loss_down() {
    let model = Model::new(tiny_model(), 1, &Device::Cpu).unwrap();
    let samples = [sample("go left", "l", 0.0), sample("go right", "r", 0.0), sample("stay", "s", 0.0)];
    let refs: Vec<&Sample> = samples.iter().collect();
    let mut optimizer = AdamW::new(OptimizerConfig { learning_rate: 1e-2, ..OptimizerConfig::default() });
    let batch = Batch::new(&refs, &model).unwrap();
    let (first, terms) = behaviour_cloning_loss(&model, &batch).unwrap();
    assert!(terms.loss > 3.0, "an untrained model is near uniform over 257 tokens: {}", terms.loss);
    optimizer.step(&model, &first.backward().unwrap()).unwrap();
    let mut last = terms.loss;
    for _ in 0..150 {
        let (loss, terms) = behaviour_cloning_loss(&model, &batch).unwrap();
        optimizer.step(&model, &loss.backward().unwrap()).unwrap();
        last = terms.loss;
    }
    assert!(last < 0.05, "loss after 150 steps: {last}");
    let policy = Policy::new(model, PolicySpec { model: tiny_model(), ..PolicySpec::default() });
    let entries = [sim_core::Entry::new(sim_core::Speaker::Env, Kind::Observation, "go right")];
    let greedy = agents_llm::Sampling::GREEDY;
    assert_eq!(policy.act(&entries, 3, 0, &greedy).unwrap().text, "r");
    // The memo of model states changes nothing: sampled actions are the same with it warm and
    // after forgetting it.
    let sampled = |policy: &Policy| policy.act(&entries, 9, 2, &crate::policy::TRAINING_SAMPLING).unwrap();
    let warm = (sampled(&policy), sampled(&policy));
    policy.forget();
    assert_eq!(warm.0, warm.1);
    assert_eq!(sampled(&policy), warm.0);
}

/// The K rollouts of a group replay the identical episode and differ only by their sampling.
#[test]
fn a_group_starts_from_the_identical_episode() {
    let kind = envs::registry().make("wordle-v0", None).unwrap();
    let spec = PolicySpec {
        model: tiny_model(),
        context: ContextWindow { lines: 2, max_bytes: 40 },
        max_action_tokens: 6,
        ..PolicySpec::default()
    };
    let policy = Policy::new(Model::new(spec.model, 2, &Device::Cpu).unwrap(), spec);
    let episode = Episode { index: 7, seed: sim_core::seed::episode_seed(3, 7) };
    let plan: Vec<Planned> = (1..=4).map(|key| Planned { episode, sampling_key: key }).collect();
    let records = play(&kind, &policy, &plan, 3).unwrap();
    assert_eq!(records.len(), 4);
    for record in &records {
        assert_eq!((record.episode, record.seed), (7, episode.seed));
        assert_eq!(record.hidden, records[0].hidden);
        assert_eq!(record.transcript.entries()[0], records[0].transcript.entries()[0]);
    }
    let first_actions: Vec<&str> = records.iter().map(|r| r.transcript.actions().next().unwrap()).collect();
    assert!(first_actions.iter().any(|a| *a != first_actions[0]), "keys sample differently: {first_actions:?}");
    // The same plan again gives the same records; the tokens are in the transcript.
    assert_eq!(play(&kind, &policy, &plan, 1).unwrap(), records);
    let samples = samples_from_rollouts(&records);
    assert_eq!(samples.len() as u32, records.iter().map(|r| r.turns).sum::<u32>());
    assert!(samples.iter().all(|s| s.old_logprobs.len() == s.action_len() && s.ids[s.action_start - 1] == ACT));
}

const TINY_TRAINING: &str = r#"(
    env: (id: "maze-fo-v0", config: (max_moves: 4)),
    policy: (
        model: (width: 16, layers: 1, heads: 2, mlp_width: 32, positions: 96),
        context: (lines: 1, max_bytes: 80),
        max_action_tokens: 12,
    ),
    init: Scratch,
    algorithm: ALGORITHM,
    dataset: Some(Generate(episodes: 6, seed: 0)),
    updates: 4,
    eval: (every: 2, episodes: 4, batch_size: 3),
    seed: 11,
    checkpoint_every: 2,
    live_episodes: 5,
    out: "OUT",
)"#;

fn tiny_file(algorithm: &str, out: &Path) -> String {
    TINY_TRAINING.replace("ALGORITHM", algorithm).replace("OUT", &out.display().to_string())
}

const ALGORITHMS: [&str; 4] = [
    "Bc(batch_size: 8)",
    "FilteredBc(batch_size: 8, keep: TopFraction(0.5))",
    "Ppo(episodes: 3, epochs: 2, minibatch: 4, reward_scale: 0.5)",
    "Grpo(groups: 2, group_size: 3, epochs: 1, minibatch: 5)",
];

fn run_tiny(algorithm: &str, out: &Path, options: TrainOptions) {
    let text = tiny_file(algorithm, out);
    let config = parse(&text, "tiny", "tiny.ron", &envs::registry()).unwrap();
    train(&config, options).unwrap();
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Two identical runs write identical metrics and checkpoints, for every algorithm; a run
/// stopped and resumed ends identical to the uninterrupted one.
#[test]
fn training_is_reproducible_and_resumable() {
    let dir = tempfile::tempdir().unwrap();
    for (index, algorithm) in ALGORITHMS.iter().enumerate() {
        let (a, b, c) = (
            dir.path().join(format!("a{index}")),
            dir.path().join(format!("b{index}")),
            dir.path().join(format!("c{index}")),
        );
        run_tiny(algorithm, &a, TrainOptions::default());
        run_tiny(algorithm, &b, TrainOptions::default());
        run_tiny(algorithm, &c, TrainOptions { stop_after: Some(3), ..TrainOptions::default() });
        run_tiny(algorithm, &c, TrainOptions { resume: true, ..TrainOptions::default() });
        for file in [
            "metrics.jsonl",
            "checkpoint/model.safetensors",
            "checkpoint/optimizer.safetensors",
            "checkpoint/state.json",
        ] {
            assert_eq!(read(&a.join(file)), read(&b.join(file)), "{algorithm}: {file} differs between two runs");
            assert_eq!(read(&a.join(file)), read(&c.join(file)), "{algorithm}: {file} differs after a resume");
        }
        let metrics = String::from_utf8(read(&a.join("metrics.jsonl"))).unwrap();
        assert_eq!(metrics.lines().count(), 5, "{algorithm}: updates 0..=4");
        assert!(metrics.lines().all(|line| line.contains("\"algorithm\"")));
        assert!(String::from_utf8(read(&a.join("curve.svg"))).unwrap().contains("<polyline"));
        let policy = Policy::load(&a.join("checkpoint"), &Device::Cpu).unwrap();
        assert_eq!(policy.spec.max_action_tokens, 12);
        // `best/` holds the policy of the best evaluation (evaluations at 0, 2 and 4).
        let best: serde_json::Value = serde_json::from_slice(&read(&a.join("best/eval.json"))).unwrap();
        let scores: Vec<f64> = metrics
            .lines()
            .filter_map(|line| {
                serde_json::from_str::<serde_json::Value>(line).unwrap()["eval"]["normalized_score"].as_f64()
            })
            .collect();
        assert_eq!(scores.len(), 3);
        let top = scores.iter().copied().fold(f64::MIN, f64::max);
        assert_eq!(best["eval"]["normalized_score"].as_f64(), Some(top), "{algorithm}");
        assert_eq!(
            read(&a.join("best/eval.json")),
            read(&c.join("best/eval.json")),
            "{algorithm}: best after a resume"
        );
        Policy::load(&a.join("best"), &Device::Cpu).unwrap();
    }
    // A resume with another file is refused.
    let a = dir.path().join("a0");
    let other = tiny_file(ALGORITHMS[1], &a);
    let config = parse(&other, "tiny", "tiny.ron", &envs::registry()).unwrap();
    let error = train(&config, TrainOptions { resume: true, ..TrainOptions::default() }).unwrap_err();
    assert!(error.to_string().contains("another training file"), "{error}");
}

/// Mistakes in a training file name their line and column.
#[test]
fn bad_training_files_name_the_place() {
    let registry = envs::registry();
    let cases = [
        (TINY_TRAINING.replace("updates: 4,", "updates: 4,\n    learning: 3,"), 12, "learning"),
        (TINY_TRAINING.replace("max_moves: 4", "max_moves: 0"), 2, "max_moves"),
        (TINY_TRAINING.replace("positions: 96", "positions: 40"), 3, "positions"),
        (
            TINY_TRAINING.replace("ALGORITHM", "Grpo(groups: 2, group_size: 1, epochs: 1, minibatch: 5)"),
            9,
            "group_size",
        ),
        (TINY_TRAINING.replace("maze-fo-v0", "maze-v9"), 2, "maze-v9"),
    ];
    for (text, line, needle) in cases {
        let text = text.replace("ALGORITHM", "Bc(batch_size: 8)");
        let error = parse(&text, "bad", "bad.ron", &registry).err().unwrap_or_else(|| panic!("{needle} accepted"));
        let message = error.to_string();
        assert!(message.starts_with(&format!("bad.ron:{line}:")), "{needle}: {message}");
        assert!(matches!(error, crate::LearnError::File { .. }));
    }
}
