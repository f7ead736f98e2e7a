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

/// The profile photo and a media template header's sample go through Meta's Resumable Upload
/// API (the simulator's), checked from the file's bytes first.
#[tokio::test]
async fn a_photo_and_a_header_sample_are_uploaded_and_used() {
    use dataoptix_core::device::{HeaderForm, TemplateForm};

    let w = SignupWorld::start("cfg-profile-photo").await;
    let dir = tempfile::tempdir().unwrap();
    let d = connected_device(&w, dir.path(), &MemoryStore::new()).await;
    let files = tempfile::tempdir().unwrap();
    let png = files.path().join("shop front.png");
    std::fs::write(&png, dataoptix_sim::assets::PNG.bytes).unwrap();
    let pdf = files.path().join("menu.png"); // a PDF under a photo's name
    std::fs::write(&pdf, dataoptix_sim::assets::PDF.bytes).unwrap();

    let before = d.business_profile(None).await.unwrap();
    assert!(before
        .profile_picture_url
        .as_deref()
        .unwrap_or("")
        .is_empty());
    let after = d.set_profile_photo(None, &png).await.unwrap();
    let url = after.profile_picture_url.unwrap();
    assert!(url.contains("/_sim/profile_pictures/4%3A%3A"), "{url}");
    // The bytes decide, not the name.
    let refused = d.set_profile_photo(None, &pdf).await;
    assert!(
        matches!(&refused, Err(DeviceError::InvalidInput(m)) if m.contains("application/pdf")),
        "{refused:?}"
    );

    // A header sample: the handle makes an IMAGE-header template Meta accepts.
    let sample = d.upload_header_sample("IMAGE", &png).await.unwrap();
    assert_eq!(sample.file_name, "shop front.png");
    let handle = sample.handle;
    assert!(handle.starts_with("4::"), "{handle}");
    assert!(matches!(
        d.upload_header_sample("VIDEO", &png).await,
        Err(DeviceError::InvalidInput(_))
    ));
    assert!(matches!(
        d.upload_header_sample("TEXT", &png).await,
        Err(DeviceError::InvalidInput(_))
    ));
    let form = |example: &str| TemplateForm {
        name: "window_display".into(),
        language: "en_US".into(),
        category: "MARKETING".into(),
        header: Some(HeaderForm {
            format: "IMAGE".into(),
            text: None,
            example: Some(example.into()),
        }),
        body: "Our new window display is up: come and see it.".into(),
        ..TemplateForm::default()
    };
    let created = d.create_template(&form(&handle)).await.unwrap();
    assert_eq!(created.name, "window_display");
    // A handle that Meta never issued is refused by Meta.
    let mut forged = form("4::aW1hZ2UvcG5n:forged");
    forged.name = "window_display_two".into();
    let refused = d.create_template(&forged).await;
    assert!(
        matches!(&refused, Err(DeviceError::InvalidInput(m)) if m.contains("header_handle")),
        "{refused:?}"
    );
}
