// Keeps a console window from opening next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// Rust's allocations go through mimalloc. A catch-up opens and types webhooks on one thread
/// and frees them on another, where glibc's malloc and free took ~23 % of the apply's CPU
/// (`perf`); under mimalloc the store bench's apply into a million messages used ~12 % less CPU
/// per event and ran ~12 % faster (BENCHMARKS.md "Apply, round 6"). SQLite and WebKit keep
/// their own allocators.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    dataoptix_lib::run();
}
