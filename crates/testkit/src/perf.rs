//! Profiling a benchmark's timed part alone.

/// Turns `perf record` on or off (`"enable"`, `"disable"`) when `DATAOPTIX_BENCH_PERF_CTL`
/// names the control FIFO of `perf record --control=fifo:FIFO -D -1`: a bench calls it around
/// the part it times, so that data generation and baselines stay out of the profile. Does
/// nothing without the variable.
///
/// # Panics
/// When the variable names something that cannot be opened or written: a profile of the
/// wrong part would mislead.
#[allow(clippy::expect_used)]
pub fn perf_control(command: &str) {
    use std::io::Write;
    if let Some(fifo) = std::env::var_os("DATAOPTIX_BENCH_PERF_CTL") {
        let mut control = std::fs::OpenOptions::new()
            .write(true)
            .open(fifo)
            .expect("DATAOPTIX_BENCH_PERF_CTL names perf's control FIFO");
        writeln!(control, "{command}").expect("perf's control FIFO takes the command");
    }
}
