//! Campaign metrics read back from an episode's record: the task boundaries and the human's
//! corrections are lines of the transcript, so "corrections per task across the iterations of
//! a campaign" needs nothing beyond `trajectories.jsonl`.

use sim_core::{EpisodeRecord, Kind};

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
