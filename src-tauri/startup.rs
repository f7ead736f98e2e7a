//! The start-up timeline: when each step of a launch finished, logged once with the first
//! paint, so that a slow start in the field (or in `scripts/bench.sh app`) says where its time
//! went instead of only how long it took.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Steps of a launch, marked as they finish (in whatever order they race).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Tauri called `setup()`: the plugins are in and the window exists.
    Setup,
    /// `setup()` returned: the event loop starts.
    SetupDone,
    /// The data is open (keyring, encrypted store) or known to need a passphrase.
    DataOpen,
    /// The signed-in device's background work (sync, outbox, media) was started.
    Background,
    /// The UI's first IPC call arrived: its script has loaded and run.
    FirstCall,
    /// The UI's session question was answered.
    SessionAnswered,
    /// The inbox asked for its first page of conversations.
    ListAsked,
    /// That page was answered (the inbox paints it next).
    ListAnswered,
}

impl Step {
    fn label(self) -> &'static str {
        match self {
            Step::Setup => "setup",
            Step::SetupDone => "setup done",
            Step::DataOpen => "data open",
            Step::Background => "background started",
            Step::FirstCall => "first ipc call",
            Step::SessionAnswered => "session answered",
            Step::ListAsked => "conversations asked",
            Step::ListAnswered => "conversations answered",
        }
    }
}

/// When `run()` started and when each step finished, until the first paint.
pub struct Timeline {
    launched: Instant,
    marks: Mutex<Vec<(Step, Duration)>>,
    painted: AtomicBool,
}

impl Timeline {
    pub fn new(launched: Instant) -> Self {
        Self {
            launched,
            marks: Mutex::new(Vec::new()),
            painted: AtomicBool::new(false),
        }
    }

    /// Records `step` the first time it finishes, until the first paint (later repeats say
    /// nothing new, and commands that mark run on every call afterwards).
    pub fn mark(&self, step: Step) {
        if self.painted.load(Ordering::Relaxed) {
            return;
        }
        let elapsed = self.launched.elapsed();
        let mut marks = self
            .marks
            .lock()
            // A list of timings stays usable whatever panicked while it was held.
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !marks.iter().any(|(s, _)| *s == step) {
            marks.push((step, elapsed));
        }
    }

    /// The time since launch and the steps so far ("setup 80 ms, data open 310 ms, …"), the
    /// first time it is asked for; `None` afterwards (one report per launch).
    pub fn first_paint(&self) -> Option<(Duration, String)> {
        if self.painted.swap(true, Ordering::SeqCst) {
            return None;
        }
        let elapsed = self.launched.elapsed();
        let mut marks = self
            .marks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        marks.sort_by_key(|(_, at)| *at);
        let steps = marks
            .iter()
            .map(|(step, at)| format!("{} {} ms", step.label(), at.as_millis()))
            .collect::<Vec<_>>()
            .join(", ");
        Some((elapsed, steps))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_paint_reports_each_step_once_in_time_order() {
        let timeline = Timeline::new(Instant::now());
        timeline.mark(Step::DataOpen);
        std::thread::sleep(Duration::from_millis(2));
        timeline.mark(Step::FirstCall);
        timeline.mark(Step::DataOpen);
        let (_, steps) = timeline.first_paint().expect("first report");
        assert!(
            steps.starts_with("data open ") && steps.contains(", first ipc call "),
            "{steps}"
        );
        assert_eq!(steps.matches("data open").count(), 1, "{steps}");
        assert!(timeline.first_paint().is_none(), "one report per launch");
        timeline.mark(Step::ListAsked);
        assert!(
            timeline
                .marks
                .lock()
                .unwrap()
                .iter()
                .all(|(s, _)| *s != Step::ListAsked),
            "nothing is recorded after the first paint"
        );
    }
}
