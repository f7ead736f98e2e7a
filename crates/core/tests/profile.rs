//! The business profile through the device facade against `dataoptix-sim` over HTTP: read,
//! update, and Meta's limits checked before any call.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::pacing::{connected_device, sim_get};
use common::SignupWorld;
use dataoptix_core::device::{DeviceError, ProfileUpdate, ABOUT_MAX};
use dataoptix_core::vault::MemoryStore;

#[tokio::test]
async fn the_profile_is_read_updated_and_checked_against_metas_limits_first() {
    let w = SignupWorld::start("cfg-profile").await;
    let dir = tempfile::tempdir().unwrap();
    let d = connected_device(&w, dir.path(), &MemoryStore::new()).await;

    let before = d.business_profile(None).await.unwrap();
    assert_eq!(before.phone_number_id, w.sim.info.phone_number_id);
    assert!(before.verticals.iter().any(|v| v == "RESTAURANT"));

    let after = d
        .update_business_profile(
            None,
            ProfileUpdate {
                about: Some("Sourdough daily from 8".into()),
                description: Some("Family bakery since 1998.".into()),
                address: Some("Rua Augusta 12, Lisboa".into()),
                email: Some("ola@panaderia.example".into()),
                websites: Some(vec![
                    "https://panaderia.example".into(),
                    "https://instagram.com/panaderia".into(),
                ]),
                vertical: Some("RESTAURANT".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(after.about.as_deref(), Some("Sourdough daily from 8"));
    assert_eq!(after.websites.len(), 2);
    assert_eq!(after.vertical.as_deref(), Some("RESTAURANT"));
    // Meta (the simulator) has it, not only this device.
    let state = sim_get(&w, "/state").await;
    let phone = state["phones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == w.sim.info.phone_number_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(phone["profile"]["address"], "Rua Augusta 12, Lisboa");

    // Too long, a third website, an unknown vertical: refused here with every field's
    // problem, and Meta's copy is unchanged.
    let refused = d
        .update_business_profile(
            None,
            ProfileUpdate {
                about: Some("x".repeat(ABOUT_MAX + 1)),
                websites: Some(vec![
                    "https://a.example".into(),
                    "https://b.example".into(),
                    "https://c.example".into(),
                ]),
                vertical: Some("BAKERY".into()),
                ..ProfileUpdate::default()
            },
        )
        .await;
    let Err(DeviceError::InvalidInput(message)) = refused else {
        panic!("not refused: {refused:?}");
    };
    for field in ["about:", "websites:", "vertical:"] {
        assert!(message.contains(field), "{field} in {message}");
    }
    assert!(matches!(
        d.update_business_profile(None, ProfileUpdate::default())
            .await,
        Err(DeviceError::InvalidInput(_))
    ));
    let unchanged = d.business_profile(None).await.unwrap();
    assert_eq!(unchanged.about.as_deref(), Some("Sourdough daily from 8"));
    w.stop().await;
}
