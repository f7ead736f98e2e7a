//! The cloud-api client against the simulator: the client's real HTTP, parsing and error
//! classification meet the simulator's real server.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use cloud_api::client::{ClientConfig, CloudApiClient};
use cloud_api::error::ErrorClass;
use cloud_api::media::MediaUpload;
use cloud_api::messages::{MarkRead, Parameter, SendMessage, Template};
use cloud_api::oauth::{AccessToken, AppSecret, CodeExchange};
use cloud_api::templates::TemplateQuery;
use dataoptix_sim::assets;
use serde_json::json;
use support::{start, start_with, TestSim};

const USER: &str = "16505551234";

fn client(t: &TestSim) -> CloudApiClient {
    CloudApiClient::new(ClientConfig {
        base_url: t.sim.info.base_url.clone(),
        ..ClientConfig::default()
    })
    .unwrap()
    .with_token(t.token.clone())
}

#[tokio::test]
async fn messages_and_error_classes() {
    let t = start_with(|c| c.limits.pair_burst = 2).await;
    let api = client(&t);
    let inbound = t.user_says(USER, "hi").await;

    let sent = api
        .send_message(&t.phone, &SendMessage::text(USER, "Hello from the client"))
        .await
        .unwrap();
    let id = sent.message_id().unwrap().to_string();
    assert!(id.starts_with("wamid."));
    t.rx.wait_for("read", |h| {
        support::statuses_of(h).contains(&(id.clone(), "read".into()))
    })
    .await;

    let tpl = Template::new("order_ready", "en_US")
        .body([Parameter::text("Maria"), Parameter::text("#1042")]);
    api.send_message(&t.phone, &SendMessage::new(USER, tpl))
        .await
        .unwrap();

    // Pair rate: the third message in the burst is refused, and classified as a rate limit.
    let err = api
        .send_message(&t.phone, &SendMessage::text(USER, "one too many"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(131056));
    assert!(
        matches!(err.class(), ErrorClass::RateLimited { .. }),
        "{err:?}"
    );

    // 132000 is for the user to fix.
    let bad = Template::new("order_ready", "en_US").body([Parameter::text("Maria")]);
    let err = api
        .send_message(&t.phone, &SendMessage::new("16505550001", bad))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(132000));
    assert_eq!(err.class(), ErrorClass::FixableByUser);

    api.mark_as_read(&t.phone, &MarkRead::new(inbound).with_typing_indicator())
        .await
        .unwrap();

    // A revoked token.
    t.control("/tokens/revoke", json!({"token": t.token})).await;
    let err = api
        .send_message(&t.phone, &SendMessage::text(USER, "x"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(190));
    assert_eq!(err.class(), ErrorClass::TokenInvalid);
}

#[tokio::test]
async fn window_closed_needs_a_template() {
    let t = start_with(|c| {
        c.statuses.window_enforcement = dataoptix_sim::config::WindowEnforcement::Sync
    })
    .await;
    let err = client(&t)
        .send_message(&t.phone, &SendMessage::text(USER, "hello?"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(131047));
    assert_eq!(err.class(), ErrorClass::NeedsTemplate);
}

#[tokio::test]
async fn media_templates_and_account() {
    let t = start().await;
    let api = client(&t);

    let up = api
        .upload_media(
            &t.phone,
            MediaUpload::new(assets::VOICE.bytes, "voice.ogg", "audio/ogg"),
        )
        .await
        .unwrap();
    let info = api.media_info(&up.id, Some(&t.phone)).await.unwrap();
    assert_eq!(info.mime_type, "audio/ogg");
    let bytes = api.download_media(&info.url).await.unwrap();
    assert_eq!(&bytes[..], assets::VOICE.bytes);
    api.delete_media(&up.id, Some(&t.phone)).await.unwrap();

    let all = api
        .list_all_templates(
            &t.waba,
            TemplateQuery {
                limit: Some(2),
                ..TemplateQuery::default()
            },
        )
        .await
        .unwrap();
    let names: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
    assert!(names.contains(&"hello_world"), "{names:?}");
    assert!(names.contains(&"weekend_offer"), "{names:?}");
    assert_eq!(names.len(), 4);

    let phone = api.phone_number(&t.phone, None).await.unwrap();
    assert_eq!(phone.id, t.phone);
    let phones = api.list_phone_numbers(&t.waba, None).await.unwrap();
    assert_eq!(phones.len(), 1);
    api.business_account(&t.waba, None).await.unwrap();
    api.business_profile(&t.phone).await.unwrap();
    api.subscribed_apps(&t.waba).await.unwrap();
}

#[tokio::test]
async fn embedded_signup_exchange_with_the_client() {
    let t = start().await;
    let s = t
        .control(
            "/signup/session",
            json!({"app_id": t.sim.info.app_id, "config_id": "cfg"}),
        )
        .await;
    let api = CloudApiClient::new(ClientConfig {
        base_url: t.sim.info.base_url.clone(),
        ..ClientConfig::default()
    })
    .unwrap();
    let secret = AppSecret::new(support::SECRET);
    let token = api
        .exchange_code(&CodeExchange::new(
            t.sim.info.app_id.clone(),
            secret.clone(),
            s["code"].as_str().unwrap(),
        ))
        .await
        .unwrap()
        .access_token;
    let info = api
        .with_token(AccessToken::app_token(&t.sim.info.app_id, &secret))
        .debug_token(&token)
        .await
        .unwrap();
    assert!(info.is_valid);
    let business = api.with_token(token);
    let waba = s["waba_id"].as_str().unwrap();
    let phone = s["phone_number_id"].as_str().unwrap();
    business.subscribe_app(waba, None).await.unwrap();
    business
        .register(phone, &cloud_api::account::RegisterRequest::new("112233"))
        .await
        .unwrap();
    business
        .send_message(
            phone,
            &SendMessage::new(USER, Template::new("hello_world", "en_US")),
        )
        .await
        .unwrap();
    // The code is single use.
    let err = api
        .exchange_code(&CodeExchange::new(
            t.sim.info.app_id.clone(),
            secret,
            s["code"].as_str().unwrap(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(100));
}

/// Resumable Upload: the client's upload yields a handle that a media template header and the
/// business profile photo accept; handles the simulator never issued, or of the wrong kind of
/// file, are refused and change nothing; an interrupted upload resumes from Meta's offset.
#[tokio::test]
async fn resumable_uploads_give_handles_for_headers_and_the_profile_photo() {
    use cloud_api::account::BusinessProfileUpdate;
    use cloud_api::templates::{HeaderFormat, NewTemplate, TemplateCategory, TemplateComponent};

    let t = start().await;
    let api = client(&t);
    let app = t.sim.info.app_id.clone();
    let png = bytes::Bytes::from_static(assets::PNG.bytes);
    let handle = api
        .resumable_upload(&app, "cake.png", "image/png", png.clone())
        .await
        .unwrap();
    assert!(handle.starts_with("4::"), "{handle}");
    let pdf = api
        .resumable_upload(
            &app,
            "menu.pdf",
            "application/pdf",
            assets::PDF.bytes.into(),
        )
        .await
        .unwrap();
    // Types Meta does not take are refused before anything is sent.
    let gif = api
        .resumable_upload(&app, "a.gif", "image/gif", png.clone())
        .await
        .unwrap_err();
    assert!(matches!(gif.class(), ErrorClass::FixableByUser), "{gif:?}");

    let header = |h: &str| {
        NewTemplate::new(
            format!("photo_offer_{}", h.len() % 7),
            "en_US",
            TemplateCategory::Marketing,
            vec![
                TemplateComponent::header_media(HeaderFormat::Image, h),
                TemplateComponent::body("Fresh from the oven today"),
            ],
        )
    };
    api.create_template(&t.waba, &header(&handle))
        .await
        .unwrap();
    for bad in ["4::aW1hZ2UvcG5n:forged", pdf.as_str()] {
        let err = api
            .create_template(&t.waba, &header(bad))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(100), "{bad}: {err:?}");
    }

    let photo = |h: &str| BusinessProfileUpdate {
        about: Some("Open every day".into()),
        profile_picture_handle: Some(h.into()),
        ..BusinessProfileUpdate::default()
    };
    let err = api
        .update_business_profile(&t.phone, &photo("4::forged"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(100));
    let before = api.business_profile(&t.phone).await.unwrap();
    assert_ne!(
        before.about.as_deref(),
        Some("Open every day"),
        "refused: nothing changed"
    );
    api.update_business_profile(&t.phone, &photo(&handle))
        .await
        .unwrap();
    let after = api.business_profile(&t.phone).await.unwrap();
    assert_eq!(after.about.as_deref(), Some("Open every day"));
    assert!(after.profile_picture_url.is_some_and(|u| !u.is_empty()));

    // The protocol by hand: half the file, ask where it stands, the rest from there.
    let opened: serde_json::Value = t
        .http
        .post(format!(
            "{}/{app}/uploads?file_name=cake.png&file_length={}&file_type=image/png",
            t.graph,
            png.len()
        ))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let step = format!("{}/{}", t.graph, opened["id"].as_str().unwrap());
    let half = png.len() / 2;
    let put = |offset: usize, body: bytes::Bytes| {
        t.http
            .post(&step)
            .header("authorization", format!("OAuth {}", t.token))
            .header("file_offset", offset.to_string())
            .body(body)
            .send()
    };
    assert!(put(0, png.slice(..half))
        .await
        .unwrap()
        .status()
        .is_success());
    let at: serde_json::Value = t
        .http
        .get(&step)
        .header("authorization", format!("OAuth {}", t.token))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(at["file_offset"], half);
    assert_eq!(
        put(0, png.clone()).await.unwrap().status(),
        400,
        "wrong offset"
    );
    let done: serde_json::Value = put(half, png.slice(half..))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(done["h"].as_str().unwrap().starts_with("4::"), "{done}");
}
