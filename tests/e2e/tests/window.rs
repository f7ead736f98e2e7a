//! A fresh install opens a real window under Xvfb, signed out, on the registration form with
//! the relay URL the build (here: the environment) suggests.

use anyhow::ensure;
use e2e::ui::{self, testid};

/// A relay nobody listens on: this test never submits the form.
const DEFAULT_RELAY: &str = "https://relay.dataoptix.test:8443";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_app_shows_the_registration_form_with_the_default_relay() -> anyhow::Result<()> {
    e2e::run(
        "first-start",
        |_home| {
            Ok(vec![(
                "DATAOPTIX_DEFAULT_RELAY".to_owned(),
                DEFAULT_RELAY.to_owned(),
            )])
        },
        async |client, _world| {
            // The session state arrives through IPC after the first paint; the form follows.
            ui::expect_registration_form(&client).await?;
            let selected = ui::element(&client, &testid("auth-tab-register"))
                .await?
                .attr("aria-selected")
                .await?;
            ensure!(
                selected.as_deref() == Some("true"),
                "the register tab is not the selected one: aria-selected={selected:?}"
            );
            let relay = ui::value_of(&client, &testid("register-relay")).await?;
            ensure!(relay == DEFAULT_RELAY, "the relay field holds {relay:?}");
            for field in ["register-email", "register-company", "register-password"] {
                let value = ui::value_of(&client, &testid(field)).await?;
                ensure!(value.is_empty(), "{field} is prefilled with {value:?}");
            }

            let title = client.title().await?;
            ensure!(title == "DataOptix", "window title is {title:?}");
            Ok(())
        },
    )
    .await
}
