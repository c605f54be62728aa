//! `scenarios report RUN_DIR [RUN_DIR...]`: one self-contained HTML page per run folder (or one
//! comparing several), written as `report.html` in the first folder.
//!
//! The page is `report/page.html` (CSS and JavaScript inline, plots drawn as inline SVG) with
//! the data embedded as one JSON block. The generator streams `trajectories.jsonl` line by
//! line: every episode feeds the aggregates (histograms, the per-turn reward curve, ending
//! counts), and only a deterministic sample stratified by ending keeps its full record for the
//! transcript browser, so a run of any size is read in one pass with bounded memory.

use std::collections::{BTreeMap, BinaryHeap};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

/// The page template; `__REPORT_DATA__` is replaced by the run data as JSON.
const PAGE: &str = include_str!("report/page.html");
const DATA_MARKER: &str = "__REPORT_DATA__";

/// Episodes embedded per run folder unless `--max-episodes` says otherwise.
pub const DEFAULT_MAX_EPISODES: usize = 2000;

/// Why a report could not be written. Every input problem names its file, and a JSON problem
/// its line and column; the binary exits with code 2 for those.
#[derive(Debug, Error)]
pub enum ReportError {
    #[error("{path}: {source}")]
    Unreadable { path: String, source: std::io::Error },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid { path: String, line: u64, column: usize, message: String },
    #[error("writing {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("scenarios report needs at least one run folder")]
    NoRuns,
}

impl ReportError {
    /// Whether the error is about the input files (the binary's exit code 2), not about writing.
    pub fn is_input_error(&self) -> bool {
        !matches!(self, ReportError::Write { .. })
    }
}

/// What `scenarios report` was asked for.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Episodes whose full record each run embeds at most (a sample stratified by ending).
    pub max_episodes: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self { max_episodes: DEFAULT_MAX_EPISODES }
    }
}

/// The fields of an episode record the aggregates use; the rest of the line is skipped.
#[derive(Deserialize)]
struct Header {
    episode: u64,
    turns: u32,
    #[serde(rename = "return")]
    episode_return: f64,
    success: bool,
    ending: String,
    rewards: Vec<f64>,
}

/// One run folder, read.
#[derive(Debug, Serialize)]
struct RunData {
    dir: String,
    summary: Value,
    episodes_total: u64,
    episodes_embedded: usize,
    sampled: bool,
    successes: u64,
    ending_counts: BTreeMap<String, u64>,
    /// Mean reward of the t-th agent action (t = 1, 2, ...) over the episodes that have one.
    reward_by_turn: Vec<TurnReward>,
    episodes: Vec<Value>,
    #[serde(skip)]
    returns: Vec<f64>,
    #[serde(skip)]
    turns: Vec<f64>,
}

#[derive(Debug, Serialize)]
struct TurnReward {
    turn: usize,
    mean: f64,
    count: u64,
}

/// Writes integers JavaScript numbers cannot hold exactly (beyond 2^53, e.g. episode seeds) as
/// strings, so the page shows them digit for digit.
fn exact_integers(value: Value) -> Value {
    const EXACT: u64 = 1 << 53;
    match value {
        Value::Number(number)
            if number.as_u64().is_some_and(|n| n > EXACT) || number.as_i64().is_some_and(|n| n < -(EXACT as i64)) =>
        {
            Value::String(number.to_string())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(exact_integers).collect()),
        Value::Object(fields) => {
            Value::Object(fields.into_iter().map(|(key, value)| (key, exact_integers(value))).collect())
        }
        other => other,
    }
}

/// Bins shared by every run, so histograms overlay: bin `i` covers `[lo + i·width, lo + (i+1)·width)`.
#[derive(Debug, Serialize, PartialEq)]
struct Histogram {
    lo: f64,
    width: f64,
    /// Per run, the count in each bin.
    counts: Vec<Vec<u64>>,
}

/// Metrics whose names share a prefix and end in a number: `success_at_5`, `success_at_10`,
/// ... form the series `success_at` with points 5, 10, ....
#[derive(Debug, Serialize, PartialEq)]
struct Series {
    prefix: String,
    points: Vec<SeriesPoint>,
}

#[derive(Debug, Serialize, PartialEq)]
struct SeriesPoint {
    x: u64,
    metric: String,
}

#[derive(Debug, Serialize)]
struct ReportData {
    generator: &'static str,
    max_episodes: usize,
    runs: Vec<RunData>,
    return_histogram: Histogram,
    turns_histogram: Histogram,
    series: Vec<Series>,
}

/// Writes `report.html` into the first run folder and returns its path.
///
/// # Errors
/// [`ReportError`] naming the file (and line and column) of the first bad input, or the page
/// that could not be written.
pub fn write_report(dirs: &[PathBuf], options: &ReportOptions) -> Result<PathBuf, ReportError> {
    let first = dirs.first().ok_or(ReportError::NoRuns)?;
    let page = render(dirs, options)?;
    let path = first.join("report.html");
    std::fs::write(&path, page).map_err(|source| ReportError::Write { path: path.display().to_string(), source })?;
    Ok(path)
}

/// The page for these run folders, as one HTML string.
///
/// # Errors
/// [`ReportError`] naming the file (and line and column) of the first bad input.
pub fn render(dirs: &[PathBuf], options: &ReportOptions) -> Result<String, ReportError> {
    if dirs.is_empty() {
        return Err(ReportError::NoRuns);
    }
    let runs = dirs.iter().map(|dir| read_run(dir, options.max_episodes)).collect::<Result<Vec<_>, _>>()?;
    let returns: Vec<&[f64]> = runs.iter().map(|run| run.returns.as_slice()).collect();
    let turns: Vec<&[f64]> = runs.iter().map(|run| run.turns.as_slice()).collect();
    let mut names = std::collections::BTreeSet::new();
    for run in &runs {
        if let Some(metrics) = run.summary.get("metrics").and_then(Value::as_object) {
            names.extend(metrics.keys().cloned());
        }
    }
    let data = ReportData {
        generator: concat!("lm-gym scenarios ", env!("CARGO_PKG_VERSION")),
        max_episodes: options.max_episodes,
        return_histogram: histogram(&returns),
        turns_histogram: histogram(&turns),
        series: series(names.iter().map(String::as_str)),
        runs,
    };
    // Serializing plain data cannot fail; the fallback keeps the page loadable regardless.
    let json = serde_json::to_string(&data).unwrap_or_else(|_| "null".to_owned());
    // `<` only occurs inside JSON strings, where `\u003c` means the same; so no `</script>`
    // or `<!--` in the data can end the block early.
    let json = json.replace('<', "\\u003c");
    Ok(PAGE.replacen(DATA_MARKER, &json, 1))
}

fn json_error(path: &Path, line: u64, error: &serde_json::Error) -> ReportError {
    // serde_json counts lines within the text it parsed: for a JSON-lines file that is one line.
    let line = if line == 0 { error.line() as u64 } else { line + error.line().saturating_sub(1) as u64 };
    let message = error.to_string();
    let message = match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    };
    ReportError::Invalid { path: path.display().to_string(), line, column: error.column(), message }
}

fn read_summary(dir: &Path) -> Result<Value, ReportError> {
    let path = dir.join("summary.json");
    let text =
        std::fs::read(&path).map_err(|source| ReportError::Unreadable { path: path.display().to_string(), source })?;
    let summary: Value = serde_json::from_slice(&text).map_err(|error| json_error(&path, 0, &error))?;
    let summary = exact_integers(summary);
    if !summary.is_object() {
        let message = "expected a JSON object (a run's summary)".to_owned();
        return Err(ReportError::Invalid { path: path.display().to_string(), line: 1, column: 1, message });
    }
    Ok(summary)
}

/// A deterministic pseudo-random key per episode (SplitMix64 of its index): each ending keeps
/// the episodes with the smallest keys.
fn sample_key(episode: u64) -> u64 {
    let mut z = episode.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Default)]
struct Stratum {
    count: u64,
    /// The lines with the smallest keys seen so far, at most `max_episodes` (a max-heap, so
    /// the largest key is dropped first).
    kept: BinaryHeap<(u64, u64, Vec<u8>)>,
}

fn read_run(dir: &Path, max_episodes: usize) -> Result<RunData, ReportError> {
    let summary = read_summary(dir)?;
    let path = dir.join("trajectories.jsonl");
    let unreadable = |source| ReportError::Unreadable { path: path.display().to_string(), source };
    let mut reader = BufReader::with_capacity(1 << 20, File::open(&path).map_err(unreadable)?);
    let mut strata: BTreeMap<String, Stratum> = BTreeMap::new();
    let (mut returns, mut turns) = (Vec::new(), Vec::new());
    let (mut reward_sums, mut reward_counts): (Vec<f64>, Vec<u64>) = (Vec::new(), Vec::new());
    let mut successes = 0;
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(unreadable)? == 0 {
            break;
        }
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let header: Header =
            serde_json::from_slice(line.trim_ascii_end()).map_err(|error| json_error(&path, number, &error))?;
        returns.push(header.episode_return);
        turns.push(f64::from(header.turns));
        successes += u64::from(header.success);
        if reward_sums.len() < header.rewards.len() {
            reward_sums.resize(header.rewards.len(), 0.0);
            reward_counts.resize(header.rewards.len(), 0);
        }
        for (turn, reward) in header.rewards.iter().enumerate() {
            reward_sums[turn] += reward;
            reward_counts[turn] += 1;
        }
        let stratum = match strata.get_mut(&header.ending) {
            Some(stratum) => stratum,
            None => strata.entry(header.ending.clone()).or_default(),
        };
        stratum.count += 1;
        let key = sample_key(header.episode);
        let wanted = stratum.kept.len() < max_episodes || stratum.kept.peek().is_some_and(|top| key < top.0);
        if wanted {
            stratum.kept.push((key, header.episode, std::mem::take(&mut line)));
            if stratum.kept.len() > max_episodes {
                stratum.kept.pop();
            }
        }
    }
    let episodes_total = returns.len() as u64;
    let counts: Vec<u64> = strata.values().map(|stratum| stratum.count).collect();
    let quotas = quotas(&counts, max_episodes);
    let mut chosen: Vec<(u64, Vec<u8>)> = Vec::new();
    for (stratum, quota) in strata.values_mut().zip(quotas) {
        let mut kept = std::mem::take(&mut stratum.kept).into_sorted_vec();
        kept.truncate(quota);
        chosen.extend(kept.into_iter().map(|(_, episode, line)| (episode, line)));
    }
    chosen.sort_by_key(|(episode, _)| *episode);
    let episodes = chosen
        .iter()
        .map(|(_, line)| serde_json::from_slice::<Value>(line).map(|record| exact_integers(compact_tokens(record))))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| json_error(&path, 0, &error))?;
    let reward_by_turn = reward_sums
        .iter()
        .zip(&reward_counts)
        .enumerate()
        .map(|(turn, (sum, &count))| TurnReward { turn: turn + 1, mean: sum / count.max(1) as f64, count })
        .collect();
    Ok(RunData {
        dir: dir.display().to_string(),
        summary,
        episodes_total,
        episodes_embedded: episodes.len(),
        sampled: (episodes.len() as u64) < episodes_total,
        successes,
        ending_counts: strata.iter().map(|(ending, stratum)| (ending.clone(), stratum.count)).collect(),
        reward_by_turn,
        episodes,
        returns,
        turns,
    })
}

/// How many episodes of each ending (with these counts) a sample of at most `max` keeps: shares
/// in proportion to the counts, the remainder to the largest fractions (ties to the earlier
/// ending), then one for every ending left without any, taken from the largest share, while
/// there is room.
fn quotas(counts: &[u64], max: usize) -> Vec<usize> {
    let total: u64 = counts.iter().sum();
    if total <= max as u64 {
        return counts.iter().map(|&count| count as usize).collect();
    }
    let share = |i: usize| counts[i] as f64 * max as f64 / total as f64;
    let mut quotas: Vec<usize> = (0..counts.len()).map(|i| share(i).floor() as usize).collect();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| (share(b) - share(b).floor()).total_cmp(&(share(a) - share(a).floor())).then(a.cmp(&b)));
    let left = max.saturating_sub(quotas.iter().sum());
    for &i in order.iter().take(left) {
        quotas[i] += 1;
    }
    if counts.iter().filter(|&&count| count > 0).count() <= max {
        for i in 0..counts.len() {
            if counts[i] > 0 && quotas[i] == 0 {
                let largest = (0..counts.len()).max_by_key(|&j| (quotas[j], std::cmp::Reverse(j))).unwrap_or(i);
                quotas[largest] -= 1;
                quotas[i] = 1;
            }
        }
    }
    quotas
}

/// Replaces each action's `tokens` (ids and log-probabilities, large) by their counts and the
/// mean log-probability: what the page shows.
fn compact_tokens(mut record: Value) -> Value {
    let Some(entries) = record.get_mut("transcript").and_then(Value::as_array_mut) else {
        return record;
    };
    for entry in entries {
        let Some(tokens) = entry.get_mut("tokens") else { continue };
        let length = |field: &str| tokens.get(field).and_then(Value::as_array).map_or(0, Vec::len);
        let mut compact = Map::new();
        compact.insert("prompt_tokens".into(), length("prompt_ids").into());
        compact.insert("completion_tokens".into(), length("token_ids").into());
        let logprobs: Vec<f64> =
            tokens.get("logprobs").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_f64).collect();
        if !logprobs.is_empty() {
            let mean = logprobs.iter().sum::<f64>() / logprobs.len() as f64;
            compact
                .insert("mean_logprob".into(), serde_json::Number::from_f64(mean).map_or(Value::Null, Value::Number));
        }
        *tokens = Value::Object(compact);
    }
    record
}

/// Bins shared by every run: one per integer value when all values are integers spanning at
/// most 60, else 30 equal bins from the smallest to the largest value.
fn histogram(runs: &[&[f64]]) -> Histogram {
    let values = || runs.iter().flat_map(|run| run.iter().copied()).filter(|value| value.is_finite());
    let (lo, hi) = values().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return Histogram { lo: 0.0, width: 1.0, counts: runs.iter().map(|_| Vec::new()).collect() };
    }
    let integers = values().all(|value| value.fract() == 0.0);
    let (start, width, bins) = if integers && hi - lo <= 60.0 {
        (lo - 0.5, 1.0, (hi - lo) as usize + 1)
    } else if hi == lo {
        (lo - 0.5, 1.0, 1)
    } else {
        (lo, (hi - lo) / 30.0, 30)
    };
    let counts = runs
        .iter()
        .map(|run| {
            let mut counts = vec![0; bins];
            for value in run.iter().filter(|value| value.is_finite()) {
                let bin = (((value - start) / width).floor().max(0.0) as usize).min(bins - 1);
                counts[bin] += 1;
            }
            counts
        })
        .collect();
    Histogram { lo: start, width, counts }
}

/// Splits a metric name into its prefix and trailing number: `ndcg_at_3_round_2` →
/// (`ndcg_at_3_round`, 2); `success_at10` → (`success_at`, 10); no trailing number → None.
fn split_trailing_number(name: &str) -> Option<(&str, u64)> {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 || digits == name.len() {
        return None;
    }
    let (prefix, number) = name.split_at(name.len() - digits);
    let prefix = prefix.strip_suffix('_').unwrap_or(prefix);
    Some((prefix, number.parse().ok()?)).filter(|(prefix, _)| !prefix.is_empty())
}

/// The series among these metric names: groups of at least two sharing a prefix, by number.
fn series<'a>(names: impl Iterator<Item = &'a str>) -> Vec<Series> {
    let mut groups: BTreeMap<&str, Vec<SeriesPoint>> = BTreeMap::new();
    for name in names {
        if let Some((prefix, x)) = split_trailing_number(name) {
            groups.entry(prefix).or_default().push(SeriesPoint { x, metric: name.to_owned() });
        }
    }
    groups
        .into_iter()
        .filter(|(_, points)| points.len() >= 2)
        .map(|(prefix, mut points)| {
            points.sort_by(|a, b| a.x.cmp(&b.x).then_with(|| a.metric.cmp(&b.metric)));
            Series { prefix: prefix.to_owned(), points }
        })
        .collect()
}

/// Opens the page with `xdg-open` when there is one; a missing opener is only mentioned.
pub fn open(path: &Path) {
    let opened = std::process::Command::new("xdg-open")
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if opened.is_err() {
        eprintln!("could not run xdg-open; open {} in a browser", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_found_by_prefix_and_trailing_number() {
        let names = [
            "ndcg_at_3_round_0",
            "ndcg_at_3_round_1",
            "ndcg_at_3_round_10",
            "ndcg_at_3_round_2",
            "relative_gain",
            "success_at_5",
            "success_at_15",
            "success_at_10",
            "lonely_1",
            "average_turns",
        ];
        let found = series(names.into_iter());
        let shape: Vec<(&str, Vec<u64>)> =
            found.iter().map(|s| (s.prefix.as_str(), s.points.iter().map(|p| p.x).collect())).collect();
        assert_eq!(shape, vec![("ndcg_at_3_round", vec![0, 1, 2, 10]), ("success_at", vec![5, 10, 15])]);
        assert_eq!(split_trailing_number("42"), None);
        assert_eq!(split_trailing_number("plan_f1_round_3"), Some(("plan_f1_round", 3)));
    }

    #[test]
    fn quotas_are_proportional_keep_every_ending_and_fill_the_sample() {
        assert_eq!(quotas(&[3, 4], 10), vec![3, 4]);
        assert_eq!(quotas(&[900, 100], 100), vec![90, 10]);
        let rare = quotas(&[9_998, 1, 1], 10);
        assert_eq!(rare.iter().sum::<usize>(), 10);
        assert_eq!(&rare[1..], &[1, 1], "a rare ending is still shown");
        assert_eq!(quotas(&[5, 5, 5], 2).iter().sum::<usize>(), 2);
        assert_eq!(quotas(&[10, 0, 10], 4), vec![2, 0, 2]);
    }

    #[test]
    fn integer_values_get_one_bin_each_and_runs_share_bins() {
        let a = [1.0, 2.0, 2.0, 4.0];
        let b = [0.0, 4.0];
        let h = histogram(&[&a, &b]);
        assert_eq!((h.lo, h.width), (-0.5, 1.0));
        assert_eq!(h.counts, vec![vec![0, 1, 2, 0, 1], vec![1, 0, 0, 0, 1]]);
        let h = histogram(&[&[0.0, 0.25, 1.0]]);
        assert_eq!(h.counts[0].len(), 30);
        assert_eq!(h.counts[0].iter().sum::<u64>(), 3);
        assert_eq!(h.counts[0][29], 1, "the largest value falls in the last bin");
    }

    #[test]
    fn large_integers_become_strings() {
        let value =
            serde_json::json!({"seed": 4161450525220896000_u64, "episode": 3, "x": [-9007199254740993_i64, 0.5]});
        assert_eq!(
            exact_integers(value),
            serde_json::json!({"seed": "4161450525220896000", "episode": 3, "x": ["-9007199254740993", 0.5]})
        );
    }

    #[test]
    fn tokens_become_counts() {
        let record = serde_json::json!({"transcript": [
            {"speaker": "agent", "kind": "action", "text": "hi",
             "tokens": {"prompt_ids": [1, 2, 3], "token_ids": [4, 5], "logprobs": [-1.0, -3.0]}}
        ]});
        let compact = compact_tokens(record);
        assert_eq!(
            compact["transcript"][0]["tokens"],
            serde_json::json!({"prompt_tokens": 3, "completion_tokens": 2, "mean_logprob": -2.0})
        );
    }
}
