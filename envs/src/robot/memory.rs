//! `robot_memory-v0`: the tabletop campaign of `robot_correction-v0` with a knowledge base that
//! lasts across its tasks (DROC). The tabletop and its systems are the parent module's; this
//! module holds what memory adds: the config, the `note` and `recall` commands, and the env.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use sim_core::prelude::*;

use super::{
    RobotVariant, Settings, Tabletop, TabletopConfig, add_tabletop_systems, opening, tabletop_hidden_state,
    tabletop_sample_actions,
};

/// `robot_memory-v0`'s config: the tabletop, the campaign's shape and the knowledge base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RobotMemoryConfig {
    pub tabletop: TabletopConfig,
    /// Passes over the task slots (DROC's iterations).
    pub iterations: u32,
    pub tasks_per_iteration: u32,
    /// `note`/`recall` actions per task beyond which they are invalid (and count as steps).
    pub memory_actions_per_task: u32,
    /// Notes kept; the oldest is dropped beyond.
    pub max_notes: usize,
    /// Characters per note.
    pub max_note_chars: usize,
    /// Notes returned by a `recall`.
    pub recall_limit: usize,
}

impl Default for RobotMemoryConfig {
    fn default() -> Self {
        Self {
            tabletop: TabletopConfig::default(),
            iterations: 3,
            tasks_per_iteration: 2,
            memory_actions_per_task: 8,
            max_notes: 64,
            max_note_chars: 200,
            recall_limit: 3,
        }
    }
}

pub(super) const MEMORY_RULES: &str = " This campaign has several tasks with the same robot and the same human. \
`note \"<text>\"` stores a note in a knowledge base that lasts for the whole campaign, and `recall <query>` shows \
the notes that share the most words with the query.";

impl Tabletop {
    pub(super) fn add_note(&mut self, memory: Option<&RobotMemoryConfig>, text: &str) {
        let Some(rules) = memory else { return };
        // One line per note, so a note cannot fake a task boundary in the transcript.
        let text: String =
            text.chars().take(rules.max_note_chars).map(|c| if c.is_control() { ' ' } else { c }).collect();
        if self.notes.len() >= rules.max_notes {
            self.notes.remove(0);
        }
        self.notes.push(text);
        self.step.result = format!("Noted. The knowledge base has {} notes.", self.notes.len());
    }

    /// Top notes by the number of query words they contain; ties go to the newest.
    pub(super) fn recall(&mut self, memory: Option<&RobotMemoryConfig>, query: &str) {
        let Some(rules) = memory else { return };
        let words = |text: &str| -> Vec<String> {
            text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
        };
        let mut query_words = words(query);
        query_words.sort();
        query_words.dedup();
        let mut scored: Vec<(usize, usize)> = self
            .notes
            .iter()
            .enumerate()
            .map(|(i, note)| {
                let note_words = words(note);
                (query_words.iter().filter(|w| note_words.contains(w)).count(), i)
            })
            .filter(|(score, _)| *score > 0)
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        let shown: Vec<String> = scored
            .iter()
            .take(rules.recall_limit)
            .enumerate()
            .map(|(rank, &(_, i))| format!("({}) {}", rank + 1, self.notes[i]))
            .collect();
        let query: String = query.chars().take(60).collect();
        self.step.result = if shown.is_empty() {
            format!("No notes match \"{query}\".")
        } else {
            format!("Recalled for \"{query}\": {}", shown.join(" "))
        };
    }
}

/// Marker of `robot_memory-v0` episodes.
#[derive(Component, Debug, Clone, Copy)]
pub struct MemoryEpisode;

/// The env type registered as `robot_memory-v0`.
pub struct RobotMemory;

impl RobotVariant for RobotMemory {
    fn settings(config: &RobotMemoryConfig) -> Settings<'_> {
        Settings { tabletop: &config.tabletop, memory: Some(config) }
    }
}

impl Environment for RobotMemory {
    type Config = RobotMemoryConfig;
    const ID: &'static str = "robot_memory-v0";

    fn spec(config: &Self::Config) -> EnvSpec {
        let tasks = config.iterations * config.tasks_per_iteration;
        let tabletop = &config.tabletop;
        EnvSpec::new(
            tasks * (tabletop.max_steps_per_task + config.memory_actions_per_task),
            (-tabletop.unsafe_penalty - tabletop.intervention_cost, 1.0),
            "A campaign of tabletop tasks with corrections and a persistent knowledge base (DROC)",
        )
        .with_metrics(&[super::report::METRICS, super::report::ITERATION_METRICS].concat())
    }

    fn validate(config: &Self::Config) -> Result<(), String> {
        config.tabletop.check()?;
        if config.iterations == 0 || config.tasks_per_iteration == 0 {
            return Err("robot_memory: iterations and tasks_per_iteration must be at least 1".into());
        }
        if config.max_notes == 0 || config.max_note_chars == 0 || config.recall_limit == 0 {
            return Err("robot_memory: max_notes, max_note_chars and recall_limit must be at least 1".into());
        }
        Ok(())
    }

    fn spawn(config: &Self::Config, episode: Episode, entity: &mut EntityWorldMut) -> Cow<'static, str> {
        let tabletop = Tabletop::new(&config.tabletop, config.iterations, config.tasks_per_iteration, episode.seed);
        let prompt = opening(&tabletop, true);
        entity.insert((MemoryEpisode, tabletop));
        Cow::Owned(prompt)
    }

    fn add_systems(schedule: &mut Schedule) {
        add_tabletop_systems::<Self>(schedule);
    }

    fn hidden_state(entity: EntityRef) -> Vec<String> {
        entity.get::<Tabletop>().map(tabletop_hidden_state).unwrap_or_default()
    }

    fn episode_metrics(entity: EntityRef, _record: &EpisodeRecord) -> EpisodeMetrics {
        let iterations = entity.get::<EnvConfig<RobotMemory>>().map_or(1, |config| config.iterations);
        entity
            .get::<Tabletop>()
            .map(|tabletop| super::report::campaign_metrics(tabletop.finished_tasks(), iterations))
            .unwrap_or_default()
    }

    fn sample_actions(_config: &Self::Config) -> Vec<String> {
        tabletop_sample_actions(true)
    }
}
