//! The window's page comes back when WebKit's web process dies under it (a crash, or the
//! kernel's OOM killer): the app reloads it instead of leaving a blank window.

use std::path::Path;

use anyhow::{anyhow, ensure, Context, Result};
use e2e::{ui, World, UI_TIMEOUT};

/// The first screen of a fresh install, painted (`commands::FIRST_PAINT_LOG`).
const PAINTED_LINE: &str = "first screen painted: SignedOut";
/// What the app logs when it reloads the page (`src-tauri/web_process.rs`).
const RELOAD_LINE: &str = "the window's web process crashed; reloading the page";
/// What it logs when the reloaded page painted its first screen (`commands::REPAINT_LOG`).
const REPAINTED_LINE: &str = "the page was loaded again and painted: SignedOut";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_reloaded_when_its_web_process_is_killed() -> Result<()> {
    let app = e2e::app_binary()?;
    // Without WebDriver: its session ends with its page's process, and a person's app has none.
    let world = World::start("web-process-killed", |_home| Ok(Vec::new())).await?;
    let mut child = world.launch_alone(&app)?;
    let outcome = page_comes_back(&world).await;
    e2e::stop_group(&mut child).await;
    let logs = world.logs_dir();
    let log = world.app_log();
    let kept = std::fs::read_to_string(&log).unwrap_or_default();
    world.stop().await;
    outcome.with_context(|| {
        format!(
            "the app's log ({}):\n{kept}\nother logs were in {}",
            log.display(),
            logs.display()
        )
    })
}

async fn page_comes_back(world: &World) -> Result<()> {
    let log = world.app_log();
    let logged = |line: &'static str| {
        let log = log.clone();
        async move || {
            Ok(std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains(line)
                .then_some(()))
        }
    };
    ui::eventually("the first screen", UI_TIMEOUT, logged(PAINTED_LINE)).await?;
    let before = web_processes(world.home())?;
    ensure!(
        before.len() == 1,
        "expected the app's one web process, found {before:?}"
    );
    // SIGKILL, as the OOM killer sends it: WebKit reports the process as crashed.
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &before[0].to_string()])
        .status()?;
    ensure!(killed.success(), "kill -KILL {} failed", before[0]);

    // The app says so and reloads; the new page paints the screen the person was on.
    ui::eventually("the reload", UI_TIMEOUT, logged(RELOAD_LINE)).await?;
    ui::eventually("the page painted again", UI_TIMEOUT, logged(REPAINTED_LINE)).await?;
    let after = web_processes(world.home())?;
    ensure!(
        after.len() == 1 && !before.contains(&after[0]),
        "expected one new web process after {before:?}, found {after:?}"
    );
    eprintln!(
        "[e2e web-process-killed] web process {} killed; {} painted the page again",
        before[0], after[0]
    );
    Ok(())
}

/// The pids of the WebKit web processes of the app whose HOME is `home` (other tests' apps
/// run beside this one, each in a home of its own).
fn web_processes(home: &Path) -> Result<Vec<u32>> {
    let home_var = format!("HOME={}", home.display());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Some(pid) = entry?
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // The kernel keeps 15 characters of a command's name.
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim_end() != "WebKitWebProces" {
            continue;
        }
        // The web process inherits the app's environment; its parent is the app.
        let ours = [pid, parent_of(pid).unwrap_or(0)].iter().any(|p| {
            std::fs::read(format!("/proc/{p}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == home_var.as_bytes()))
        });
        if ours {
            found.push(pid);
        }
    }
    Ok(found)
}

fn parent_of(pid: u32) -> Result<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // After the command name, which is in parentheses and may hold spaces: state, then ppid.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok())
        .ok_or_else(|| anyhow!("no parent in /proc/{pid}/stat"))
}
