//! `scenarios report`: the real binary writes one self-contained page per run (or comparing
//! runs), samples large runs by ending, names the file and line of bad input, and the page
//! loads in headless Chromium with its plots, transcripts and filters working.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn scenarios(args: &[&str]) -> Output {
    Command::new(gym_tests::scenarios_binary()).args(args).stdin(Stdio::null()).output().unwrap()
}

fn succeed(args: &[&str]) -> Output {
    let output = scenarios(args);
    assert!(output.status.success(), "scenarios {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// Plays `scenario` into `out` with extra flags and checks the run tells the report command.
fn run(scenario: &str, out: &Path, extra: &[&str]) {
    let mut args = vec![scenario, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = succeed(&args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let hint = format!("report: scenarios report {}", out.display());
    assert!(stdout.lines().any(|line| line == hint), "the run does not print `{hint}`: {stdout}");
}

fn report(dirs: &[&Path], extra: &[&str]) -> String {
    let mut args = vec!["report"];
    args.extend(dirs.iter().map(|dir| dir.to_str().unwrap()));
    args.extend_from_slice(extra);
    let output = succeed(&args);
    let path = dirs[0].join("report.html");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), path.display().to_string());
    std::fs::read_to_string(path).unwrap()
}

/// The JSON block the page embeds.
fn embedded_data(page: &str) -> Value {
    let start = r#"<script type="application/json" id="report-data">"#;
    let from = page.find(start).expect("the page has its data block") + start.len();
    let to = from + page[from..].find("</script>").unwrap();
    serde_json::from_str(&page[from..to]).unwrap()
}

fn records(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("trajectories.jsonl")).unwrap();
    text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

/// How `text` appears inside the page's JSON block.
fn as_embedded(text: &str) -> String {
    let json = serde_json::to_string(text).unwrap().replace('<', "\\u003c");
    json[1..json.len() - 1].to_owned()
}

fn assert_self_contained(page: &str) {
    let lower = page.to_lowercase();
    for pattern in
        ["src=\"http", "src='http", "href=\"http", "href='http", "url(http", "@import", "src=\"//", "href=\"//"]
    {
        assert!(!lower.contains(pattern), "the page refers to something outside it: {pattern}");
    }
    assert!(!lower.contains("<link"), "the page links a stylesheet");
}

#[test]
fn report_is_self_contained_with_every_metric_and_the_transcripts() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("search");
    run("search_feedback", &run_dir, &["--episodes", "20"]);
    let page = report(&[&run_dir], &[]);
    assert_self_contained(&page);
    let summary: Value = serde_json::from_slice(&std::fs::read(run_dir.join("summary.json")).unwrap()).unwrap();
    let data = embedded_data(&page);
    let embedded = &data["runs"][0];
    assert_eq!(embedded["summary"], summary, "the page embeds summary.json whole");
    assert_eq!(embedded["episodes_total"], 20);
    assert_eq!(embedded["episodes"].as_array().unwrap().len(), 20);
    assert_eq!(embedded["sampled"], false);
    for (name, metric) in summary["metrics"].as_object().unwrap() {
        assert!(page.contains(&format!("\"{name}\"")), "{name} is missing");
        assert!(page.contains(&as_embedded(metric["definition"].as_str().unwrap())), "{name}'s definition is missing");
    }
    let series: Vec<&str> = data["series"].as_array().unwrap().iter().map(|s| s["prefix"].as_str().unwrap()).collect();
    assert!(series.contains(&"ndcg_at_3_round"), "nDCG@3 by round is a series: {series:?}");
    let episode = &records(&run_dir)[7];
    for entry in episode["transcript"].as_array().unwrap() {
        assert!(page.contains(&as_embedded(entry["text"].as_str().unwrap())), "episode 7's transcript is missing");
    }
    assert_eq!(embedded["reward_by_turn"][0]["turn"], 1);
}

#[test]
fn report_compares_runs_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let (expert, random) = (dir.path().join("expert"), dir.path().join("random"));
    run("conv_rec", &expert, &["--episodes", "30"]);
    run("conv_rec", &random, &["--episodes", "30", "--agent", "always_recommend"]);
    let page = report(&[&expert, &random], &[]);
    assert_self_contained(&page);
    assert!(expert.join("report.html").is_file() && !random.join("report.html").exists());
    let data = embedded_data(&page);
    let runs = data["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1]["summary"]["agent"], "always_recommend");
    let histogram = &data["return_histogram"]["counts"];
    assert_eq!(histogram.as_array().unwrap().len(), 2, "one histogram per run, on shared bins");
    assert_eq!(histogram[0].as_array().unwrap().len(), histogram[1].as_array().unwrap().len());
    let total: u64 = histogram[1].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).sum();
    assert_eq!(total, 30);
    let series: Vec<&str> = data["series"].as_array().unwrap().iter().map(|s| s["prefix"].as_str().unwrap()).collect();
    assert!(series.contains(&"success_at"), "SR@k is a series: {series:?}");
}

#[test]
fn large_runs_embed_a_sample_stratified_by_ending() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("random");
    run("twenty_questions", &run_dir, &["--episodes", "60", "--agent", "random"]);
    let page = report(&[&run_dir], &["--max-episodes", "10"]);
    let data = embedded_data(&page);
    let run = &data["runs"][0];
    assert_eq!((run["episodes_total"].as_u64(), run["episodes_embedded"].as_u64()), (Some(60), Some(10)));
    assert_eq!(run["sampled"], true);
    let episodes = run["episodes"].as_array().unwrap();
    let endings: std::collections::BTreeSet<&str> = episodes.iter().map(|e| e["ending"].as_str().unwrap()).collect();
    let all: Vec<&str> = run["ending_counts"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(endings.into_iter().collect::<Vec<_>>(), all, "every ending is in the sample");
    let indices: Vec<u64> = episodes.iter().map(|e| e["episode"].as_u64().unwrap()).collect();
    assert!(indices.windows(2).all(|w| w[0] < w[1]), "the sample is in episode order");
    assert_eq!(embedded_data(&report(&[&run_dir], &["--max-episodes", "10"])), data, "the sample is deterministic");
}

#[test]
fn bad_run_files_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let run_dir = dir.path().join("run");
    run("twenty_questions", &run_dir, &["--episodes", "5"]);
    let trajectories = run_dir.join("trajectories.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(&trajectories).unwrap().lines().map(str::to_owned).collect();
    lines[2] = lines[2][..40].to_owned();
    std::fs::write(&trajectories, lines.join("\n") + "\n").unwrap();
    let output = scenarios(&["report", run_dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{}:3:40: EOF", trajectories.display())), "{stderr}");

    std::fs::write(run_dir.join("summary.json"), "{\n  \"env\": \"x\",\n  oops\n}\n").unwrap();
    let output = scenarios(&["report", run_dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{}:3:3", run_dir.join("summary.json").display())), "{stderr}");

    let output = scenarios(&["report", dir.path().join("nothing").to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("summary.json"), "{stderr}");
}

/// Debian's `chromium`, installed with apt-get when missing (as root, the CI's case).
fn chromium() -> PathBuf {
    let find = || {
        std::env::var_os("PATH")
            .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join("chromium")).find(|path| path.is_file()))
            .unwrap_or_default()
    };
    if let Some(path) = find() {
        return path;
    }
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout.trim_ascii() == b"0").unwrap_or(false);
    assert!(root, "the report's browser test needs Debian's `chromium`: run `apt-get install -y chromium` as root");
    let status = Command::new("sh")
        .args(["-c", "apt-get update && apt-get install -y --no-install-recommends chromium"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "installing chromium (`apt-get update && apt-get install -y chromium`) failed; install it by hand"
    );
    find().expect("apt-get installed chromium, but it is not on PATH")
}

/// Runs headless Chromium on `url` with `flags`; returns stdout and stderr (through files, so a
/// large DOM cannot fill a pipe), killing it after a minute.
fn headless(chromium: &Path, profile: &Path, url: &str, flags: &[&str]) -> (String, String) {
    let (stdout, stderr) = (profile.with_extension("stdout"), profile.with_extension("stderr"));
    let mut child = Command::new(chromium)
        .args(["--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(flags)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("chromium did not finish within a minute on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let read = |path: &Path| String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    (read(&stdout), read(&stderr))
}

fn episode_count(dom: &str) -> u64 {
    let marker = "id=\"episode-count\">";
    let from = dom.find(marker).expect("the page shows an episode count") + marker.len();
    dom[from..].split('<').next().unwrap().parse().unwrap()
}

fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\u{a0}', "&nbsp;")
}

#[test]
fn report_loads_in_headless_chromium() {
    let chromium = chromium();
    // Under the target folder, so the screenshot stays for a person to look at.
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report_browser");
    let _ = std::fs::remove_dir_all(&base);
    let run_dir = base.join("search_feedback");
    run("search_feedback", &run_dir, &["--episodes", "20"]);
    report(&[&run_dir], &[]);
    let url = format!("file://{}", run_dir.join("report.html").display());
    let profile = tempfile::tempdir().unwrap();
    let profile = &profile.path().join("profile");

    let (dom, log) = headless(&chromium, profile, &format!("{url}#episode=7"), &["--dump-dom"]);
    let console: Vec<&str> = log.lines().filter(|line| line.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "the page logged to the console: {console:#?}");
    assert!(dom.contains("data-ready=\"true\""), "the page's script did not finish: {log}");
    for plot in ["returns", "turns", "reward-by-turn", "series-ndcg_at_3_round"] {
        assert!(dom.contains(&format!("data-plot=\"{plot}\"")), "the {plot} plot is missing");
    }
    let episode = &records(&run_dir)[7];
    for entry in episode["transcript"].as_array().unwrap() {
        let text = html_escaped(entry["text"].as_str().unwrap());
        assert!(dom.contains(&text), "episode 7's transcript is not shown: {text}");
    }
    let total = episode_count(&dom);
    assert_eq!(total, 20);

    let summary: Value = serde_json::from_slice(&std::fs::read(run_dir.join("summary.json")).unwrap()).unwrap();
    let (ending, share) = summary["endings"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(ending, share)| (ending.clone(), share.as_f64().unwrap()))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    let (filtered, log) = headless(&chromium, profile, &format!("{url}#ending={ending}"), &["--dump-dom"]);
    assert!(log.lines().all(|line| !line.contains("CONSOLE")), "{log}");
    assert_eq!(episode_count(&filtered), (share * 20.0).round() as u64, "#ending={ending} filters the list");
    assert!(share < 1.0 && episode_count(&filtered) < total, "filtering by {ending} changed nothing");

    let screenshot = run_dir.join("report.png");
    let shot = format!("--screenshot={}", screenshot.display());
    headless(&chromium, profile, &url, &[&shot, "--window-size=1280,2000", "--hide-scrollbars"]);
    assert!(
        std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 10_000),
        "no screenshot at {}",
        screenshot.display()
    );
}
