//! Collects the relay's per-phase timing events (`relay::timing`) during the relay run and
//! prints where the time of the slow requests went: each phase's percentiles, the slowest
//! group commits phase by phase, and the WAL checkpoints.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// One timing event: when, which, and its numeric fields.
#[derive(Debug, Clone)]
pub struct Record {
    pub at: Instant,
    pub name: String,
    pub fields: Vec<(&'static str, i64)>,
}

impl Record {
    fn get(&self, field: &str) -> i64 {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(0, |(_, v)| *v)
    }
}

#[derive(Clone, Default)]
pub struct Recorder {
    records: Arc<Mutex<Vec<Record>>>,
}

struct Fields<'a>(&'a mut Record);

impl Visit for Fields<'_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0
            .fields
            .push((field.name(), i64::try_from(value).unwrap_or(i64::MAX)));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.fields.push((field.name(), value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0.name = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Recorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut record = Record {
            at: Instant::now(),
            name: String::new(),
            fields: Vec::with_capacity(8),
        };
        event.record(&mut Fields(&mut record));
        self.records.lock().unwrap().push(record);
    }
}

impl Recorder {
    /// Installs the global subscriber: the relay's own logs as `dataoptix-relay serve` writes
    /// them (its filter, formatted, into a sink: the bench pays for what production does), and
    /// with `record` a recorder of the timing target.
    pub fn install(record: bool) -> Option<Self> {
        let recorder = record.then(Self::default);
        let timing = recorder.clone().map(|r| {
            r.with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target(relay::timing::TARGET, tracing::Level::DEBUG),
            )
        });
        let logs = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(std::io::sink)
            .with_filter(relay::log_filter());
        let subscriber = tracing_subscriber::registry().with(logs).with(timing);
        tracing::subscriber::set_global_default(subscriber).unwrap();
        recorder
    }

    /// Forgets what was recorded so far (the set-up before the measured run).
    pub fn clear(&self) {
        self.records.lock().unwrap().clear();
    }

    pub fn take(&self) -> Vec<Record> {
        std::mem::take(&mut *self.records.lock().unwrap())
    }
}

fn percentiles(mut values: Vec<i64>) -> String {
    if values.is_empty() {
        return "-".into();
    }
    values.sort_unstable();
    let at = |p: f64| {
        let i = ((values.len() as f64 * p).ceil() as usize).clamp(1, values.len()) - 1;
        values[i] as f64 / 1000.0
    };
    let over = values.iter().filter(|v| **v > 20_000).count();
    format!(
        "p50 {:>7.2}  p99 {:>7.2}  max {:>7.2} ms  >20ms: {over}",
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

/// Prints the phase percentiles, the slowest commits and the checkpoints.
pub fn report(records: &[Record], started: Instant) {
    if records.is_empty() {
        return;
    }
    println!("  relay phases ({} timing events):", records.len());
    let mut by_phase: BTreeMap<(String, &'static str), Vec<i64>> = BTreeMap::new();
    for r in records {
        for (field, value) in &r.fields {
            if field.ends_with("_us") || *field == "us" {
                by_phase
                    .entry((r.name.clone(), field))
                    .or_default()
                    .push(*value);
            }
        }
    }
    for ((name, field), values) in by_phase {
        println!("    {name:>12}.{field:<14} {}", percentiles(values));
    }
    // Per commit: the segment, commit and log events that precede each group_commit.
    let mut pending: Vec<&Record> = Vec::new();
    let mut commits: Vec<(i64, Vec<&Record>)> = Vec::new();
    for r in records {
        match r.name.as_str() {
            // The index and the checkpoints run beside the group commits, not in them.
            "request" | "checkpoint" | "index" => {}
            "group_commit" => {
                pending.push(r);
                let total = r.get("queue_us") + r.get("store_us") + r.get("answer_us");
                commits.push((total, std::mem::take(&mut pending)));
            }
            _ => pending.push(r),
        }
    }
    let indexes: Vec<&Record> = records.iter().filter(|r| r.name == "index").collect();
    println!(
        "  index transactions: {} for {} appends ({:.1} each), {} chunk rows",
        indexes.len(),
        indexes.iter().map(|r| r.get("appends")).sum::<i64>(),
        indexes.iter().map(|r| r.get("appends")).sum::<i64>() as f64 / indexes.len().max(1) as f64,
        indexes.iter().map(|r| r.get("chunks")).sum::<i64>()
    );
    let checkpoints: Vec<&Record> = records.iter().filter(|r| r.name == "checkpoint").collect();
    commits.sort_by_key(|(total, _)| std::cmp::Reverse(*total));
    println!("  slowest group commits (queue + store + answer; ms since the run started):");
    for (total, parts) in commits.iter().take(12) {
        let end = parts.last().map_or(started, |r| r.at);
        let mut line = format!(
            "    {:>7.2} ms at {:>8.1}:",
            *total as f64 / 1000.0,
            end.duration_since(started).as_secs_f64() * 1000.0
        );
        for p in parts {
            line.push_str(&format!(" {}[", p.name));
            for (f, v) in &p.fields {
                line.push_str(&format!("{f}={v} "));
            }
            line.push(']');
        }
        // The checkpoint nearest in time (it reports when it ended).
        if let Some(c) = checkpoints
            .iter()
            .min_by_key(|c| (c.at.max(end) - c.at.min(end)).as_micros())
        {
            let delta = c.at.duration_since(started).as_secs_f64() * 1000.0
                - end.duration_since(started).as_secs_f64() * 1000.0;
            line.push_str(&format!(
                " | nearest checkpoint ended {delta:+.1} ms from here, took {} us, {} frames",
                c.get("us"),
                c.get("frames")
            ));
        }
        println!("{line}");
    }
    let mut line = format!(
        "  checkpoints: {} (ms since the start: took ms, WAL frames / copied):",
        checkpoints.len()
    );
    for c in &checkpoints {
        line.push_str(&format!(
            " {:.0}: {:.1}, {}/{};",
            c.at.duration_since(started).as_secs_f64() * 1000.0,
            c.get("us") as f64 / 1000.0,
            c.get("frames"),
            c.get("copied")
        ));
    }
    println!("{line}");
}
