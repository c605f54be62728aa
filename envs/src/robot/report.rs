//! Campaign metrics. Each episode records them from the env's own log of finished tasks
//! ([`FinishedTask`], [`METRICS`], [`ITERATION_METRICS`]); [`campaign_tasks`] reads the same
//! task boundaries and corrections back from a transcript, for analyses of old runs.

use sim_core::{EpisodeMetrics, EpisodeRecord, Kind, MetricSpec};

/// A task as the env logs it when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinishedTask {
    /// 1-based iteration of the campaign.
    pub iteration: u32,
    pub success: bool,
    /// Human corrections (interventions) during the task.
    pub corrections: u32,
}

/// The metrics every `robot_correction-v0` episode records (YAY Robot).
pub const METRICS: &[MetricSpec] = &[
    MetricSpec::mean("tasks", "tasks finished (succeeded or failed) in the episode"),
    MetricSpec::mean("tasks_succeeded", "tasks that ended in success"),
    MetricSpec::mean("corrections", "human corrections (interventions) in the episode"),
    MetricSpec::mean("autonomous_successes", "tasks that succeeded with no correction"),
    MetricSpec::ratio("corrections_per_task", "corrections", "tasks", "human corrections per task"),
    MetricSpec::ratio("task_success_rate", "tasks_succeeded", "tasks", "share of tasks that succeeded"),
    MetricSpec::ratio(
        "autonomous_success_rate",
        "autonomous_successes",
        "tasks",
        "share of tasks solved without any human correction",
    ),
];

/// The per-iteration metrics a `robot_memory-v0` campaign records beside [`METRICS`] (DROC):
/// corrections per task in each of the first three iterations.
pub const ITERATION_METRICS: &[MetricSpec] = &[
    MetricSpec::mean("tasks_iteration_1", "tasks finished in iteration 1"),
    MetricSpec::mean("corrections_iteration_1", "corrections during iteration 1"),
    MetricSpec::ratio(
        "corrections_per_task_iteration_1",
        "corrections_iteration_1",
        "tasks_iteration_1",
        "corrections per task in iteration 1 (DROC: halves by iteration 2)",
    ),
    MetricSpec::mean("tasks_iteration_2", "tasks finished in iteration 2"),
    MetricSpec::mean("corrections_iteration_2", "corrections during iteration 2"),
    MetricSpec::ratio(
        "corrections_per_task_iteration_2",
        "corrections_iteration_2",
        "tasks_iteration_2",
        "corrections per task in iteration 2",
    ),
    MetricSpec::mean("tasks_iteration_3", "tasks finished in iteration 3"),
    MetricSpec::mean("corrections_iteration_3", "corrections during iteration 3"),
    MetricSpec::ratio(
        "corrections_per_task_iteration_3",
        "corrections_iteration_3",
        "tasks_iteration_3",
        "corrections per task in iteration 3",
    ),
];

/// Iterations [`ITERATION_METRICS`] break down.
const REPORTED_ITERATIONS: u32 = 3;

/// The metrics of one finished episode from its finished tasks ([`METRICS`]).
pub fn episode_metrics(tasks: &[FinishedTask]) -> EpisodeMetrics {
    let count = |keep: &dyn Fn(&FinishedTask) -> bool| tasks.iter().filter(|task| keep(task)).count() as f64;
    let corrections = |keep: &dyn Fn(&FinishedTask) -> bool| {
        tasks.iter().filter(|task| keep(task)).map(|task| f64::from(task.corrections)).sum::<f64>()
    };
    let mut metrics = EpisodeMetrics::default();
    metrics
        .set("tasks", count(&|_| true))
        .set("tasks_succeeded", count(&|task| task.success))
        .set("corrections", corrections(&|_| true))
        .set("autonomous_successes", count(&|task| task.success && task.corrections == 0));
    metrics
}

/// [`episode_metrics`] plus the [`ITERATION_METRICS`] of a campaign of `iterations`.
pub fn campaign_metrics(tasks: &[FinishedTask], iterations: u32) -> EpisodeMetrics {
    let mut metrics = episode_metrics(tasks);
    for iteration in 1..=iterations.min(REPORTED_ITERATIONS) {
        let of_iteration = tasks.iter().filter(|task| task.iteration == iteration);
        metrics.set(&format!("tasks_iteration_{iteration}"), of_iteration.clone().count() as f64).set(
            &format!("corrections_iteration_{iteration}"),
            of_iteration.map(|task| f64::from(task.corrections)).sum(),
        );
    }
    metrics
}

/// One task of a campaign, as the transcript shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskReport {
    /// 1-based task number in the campaign.
    pub task: u32,
    /// 1-based iteration.
    pub iteration: u32,
    pub success: bool,
    /// Human corrections (transcript entries of kind `feedback`) during the task.
    pub corrections: u32,
    /// Agent actions spent on the task.
    pub actions: u32,
}

/// The tasks of a campaign, in order. Tasks that never started (a truncated run) are absent.
pub fn campaign_tasks(record: &EpisodeRecord) -> Vec<TaskReport> {
    let mut tasks = Vec::new();
    let mut current: Option<TaskReport> = None;
    for entry in record.transcript.entries() {
        if entry.kind == Kind::Action {
            if let Some(task) = current.as_mut() {
                task.actions += 1;
            }
            continue;
        }
        if entry.kind == Kind::Feedback
            && let Some(task) = current.as_mut()
        {
            task.corrections += 1;
        }
        for line in entry.text.lines() {
            if let Some(rest) = line.strip_prefix("Task ") {
                if let Some((numbers, _)) = rest.split_once(" ended: ") {
                    let success = rest.contains(" ended: success");
                    if let Some(mut task) = current.take()
                        && numbers.split(' ').next().and_then(|n| n.parse::<u32>().ok()) == Some(task.task)
                    {
                        task.success = success;
                        tasks.push(task);
                    }
                } else if let Some((head, _)) = rest.split_once("):") {
                    // "k of N (iteration i of I"
                    let numbers: Vec<u32> = head
                        .split(|c: char| !c.is_ascii_digit())
                        .filter(|w| !w.is_empty())
                        .filter_map(|w| w.parse().ok())
                        .collect();
                    if let [task, _, iteration, _] = numbers[..] {
                        current = Some(TaskReport { task, iteration, success: false, corrections: 0, actions: 0 });
                    }
                }
            }
        }
    }
    tasks
}

/// Mean corrections per task for each iteration (index 0 = iteration 1) over many campaigns.
pub fn corrections_per_task_by_iteration(records: &[EpisodeRecord]) -> Vec<f64> {
    let mut sums: Vec<(f64, f64)> = Vec::new();
    for record in records {
        for task in campaign_tasks(record) {
            let i = task.iteration as usize - 1;
            if sums.len() <= i {
                sums.resize(i + 1, (0.0, 0.0));
            }
            sums[i].0 += f64::from(task.corrections);
            sums[i].1 += 1.0;
        }
    }
    sums.into_iter().map(|(total, count)| if count > 0.0 { total / count } else { 0.0 }).collect()
}

/// Summary figures of a set of campaigns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CampaignSummary {
    pub tasks: u32,
    pub task_success_rate: f64,
    /// Tasks solved without any human intervention, over all tasks.
    pub autonomous_success_rate: f64,
    pub corrections_per_task: f64,
    pub corrections_per_episode: f64,
}

pub fn summarise(records: &[EpisodeRecord]) -> CampaignSummary {
    let tasks: Vec<TaskReport> = records.iter().flat_map(campaign_tasks).collect();
    let count = tasks.len().max(1) as f64;
    let corrections: u32 = tasks.iter().map(|t| t.corrections).sum();
    CampaignSummary {
        tasks: tasks.len() as u32,
        task_success_rate: tasks.iter().filter(|t| t.success).count() as f64 / count,
        autonomous_success_rate: tasks.iter().filter(|t| t.success && t.corrections == 0).count() as f64 / count,
        corrections_per_task: f64::from(corrections) / count,
        corrections_per_episode: f64::from(corrections) / records.len().max(1) as f64,
    }
}
