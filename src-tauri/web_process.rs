//! The window's page comes back when WebKit's web process ends.
//!
//! WebKitGTK renders the page in a process of its own. When that process crashes or is killed
//! for exceeding its memory limit, the window keeps its frame but the page is gone: a blank
//! window until the person restarts the app (seen once at launch in CI: "session deleted
//! because of page crash or hang"). The app's state lives in this process, so reloading the
//! page is enough: it asks for the session again and shows where the person was signed in.
//!
//! A page that ends its process again and again is reloaded at most [`RELOADS_PER_MINUTE`]
//! times a minute, so that a crash loop does not spin the CPU; after that it stays blank and an
//! error says why (a restart tries again).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Reloads allowed within [`RELOAD_WINDOW`].
pub const RELOADS_PER_MINUTE: usize = 3;
const RELOAD_WINDOW: Duration = Duration::from_secs(60);

/// The reloads made in the last minute: whether one more is allowed.
#[derive(Debug, Default)]
pub struct ReloadBudget {
    recent: VecDeque<Instant>,
}

impl ReloadBudget {
    /// Records a reload at `now` and says yes, unless [`RELOADS_PER_MINUTE`] were made in the
    /// minute before it.
    pub fn allow(&mut self, now: Instant) -> bool {
        while self
            .recent
            .front()
            .is_some_and(|&at| now.duration_since(at) >= RELOAD_WINDOW)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= RELOADS_PER_MINUTE {
            return false;
        }
        self.recent.push_back(now);
        true
    }
}

/// Reloads the window's page whenever its web process crashed or ran out of memory.
#[cfg(target_os = "linux")]
pub fn reload_when_it_ends(window: &tauri::WebviewWindow) {
    use std::cell::RefCell;
    use webkit2gtk::{WebProcessTerminationReason, WebViewExt};

    let outcome = window.with_webview(|platform| {
        let view = platform.inner();
        // Signals are delivered on the GTK main thread: no lock needed.
        let budget = RefCell::new(ReloadBudget::default());
        view.connect_web_process_terminated(move |view, reason| {
            let why = match reason {
                WebProcessTerminationReason::Crashed => "crashed",
                WebProcessTerminationReason::ExceededMemoryLimit => "exceeded its memory limit",
                // Ended on request (only the app could ask, and it never does), or for a reason
                // newer than this code: logged, not taken for a fault.
                _ => {
                    tracing::info!(?reason, "the window's web process was ended");
                    return;
                }
            };
            if budget.borrow_mut().allow(Instant::now()) {
                tracing::warn!("the window's web process {why}; reloading the page");
                view.reload();
            } else {
                tracing::error!(
                    "the window's web process {why} again: more than {RELOADS_PER_MINUTE} times \
                     in a minute, so the page is not reloaded; restart the app"
                );
            }
        });
    });
    if let Err(e) = outcome {
        tracing::warn!(error = %e, "the page will not be reloaded if its web process ends");
    }
}

/// Other platforms' webviews recover on their own or not at all; nothing to hook here.
#[cfg(not(target_os = "linux"))]
pub fn reload_when_it_ends(_window: &tauri::WebviewWindow) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_loop_gets_three_reloads_a_minute() {
        let start = Instant::now();
        let mut budget = ReloadBudget::default();
        let at = |s: u64| start + Duration::from_secs(s);
        assert!(budget.allow(at(0)));
        assert!(budget.allow(at(10)));
        assert!(budget.allow(at(20)));
        // A fourth within the minute of the first: refused, and not counted.
        assert!(!budget.allow(at(30)));
        assert!(!budget.allow(at(59)));
        // The first has left the window: one more.
        assert!(budget.allow(at(60)));
        assert!(!budget.allow(at(61)));
        // A quiet spell clears them all.
        assert!(budget.allow(at(200)));
        assert!(budget.allow(at(201)));
        assert!(budget.allow(at(202)));
    }
}
