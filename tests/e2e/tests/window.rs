//! The app opens a real window under Xvfb and shows its name and version, read through IPC.

use anyhow::ensure;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_shows_product_name_and_version() -> anyhow::Result<()> {
    e2e::run("welcome-window", |client| async move {
        let name = e2e::text_of(&client, "[data-testid=app-name]").await?;
        ensure!(name == "DataOptix", "app name reads {name:?}");

        // The version arrives through the typed `app_info` IPC command, after first paint.
        let version = e2e::wait_for_text(&client, "[data-testid=app-version]", |text| {
            text.contains(env!("CARGO_PKG_VERSION"))
        })
        .await?;
        ensure!(
            version.contains("v23.0"),
            "Graph version missing in {version:?}"
        );

        let title = client.title().await?;
        ensure!(title == "DataOptix", "window title is {title:?}");
        Ok(())
    })
    .await
}
