//! The baseline of `scripts/bench.sh app` (BENCHMARKS.md): the smallest Tauri v2 app that shows
//! a window with a static page and reports its first paint the way DataOptix does, so that the
//! app's start-up time and memory can be compared with what a bare window costs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// When `main` started, and whether the first paint was reported.
struct Launch {
    started: Instant,
    reported: AtomicBool,
}

/// Prints the same line DataOptix logs at its first paint (`commands::first_screen_painted`),
/// once.
#[tauri::command]
fn first_screen_painted(launch: tauri::State<'_, Launch>, screen: String) {
    if !launch.reported.swap(true, Ordering::SeqCst) {
        println!(
            "first screen painted: {screen} {} ms after launch",
            launch.started.elapsed().as_millis()
        );
    }
}

fn main() {
    let launch = Launch {
        started: Instant::now(),
        reported: AtomicBool::new(false),
    };
    let result = tauri::Builder::default()
        .manage(launch)
        .invoke_handler(tauri::generate_handler![first_screen_painted])
        .run(tauri::generate_context!());
    if let Err(error) = result {
        eprintln!("the baseline window could not start: {error}");
        std::process::exit(1);
    }
}
