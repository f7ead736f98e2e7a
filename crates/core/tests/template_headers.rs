//! Templates with a picture (or other media) header and buttons that take a value, through the
//! device facade against the real relay and `dataoptix-sim` over HTTP: a file from this
//! computer is uploaded by the outbox and named in the send, a link is passed on, the wrong
//! kind of file or a missing value is refused before anything is queued, and a broadcast
//! uploads its header once for everyone while each recipient gets their own coupon.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::eventually_within as eventually;
use common::pacing::{cli_connected, connected_device, sim_get, sim_post};
use common::SignupWorld;
use dataoptix_core::broadcast::{ParamSource, RecipientSource};
use dataoptix_core::device::{
    BroadcastForm, Device, DeviceError, HeaderMediaInput, Outgoing, TemplateView,
};
use dataoptix_core::vault::MemoryStore;
use dataoptix_sim::assets;
use serde_json::{json, Value};

const CONFIG_ID: &str = "cfg-template-headers";

/// The seeded `weekend_offer`: an image header, `{{first_name}}` and `{{discount}}`, an "Order
/// now" button whose address ends in a variable, and a quick reply.
async fn weekend_offer(d: &Device) -> TemplateView {
    d.templates(true)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "weekend_offer")
        .expect("the simulator's demo templates are synced")
}

fn offer(header_media: Option<HeaderMediaInput>, button: &str) -> Outgoing {
    Outgoing::Template {
        name: "weekend_offer".into(),
        language: "en_US".into(),
        params: vec!["Maria".into(), "15%".into()],
        header_params: vec![],
        header_media,
        button_params: vec![button.into()],
    }
}

fn file(path: &std::path::Path) -> Option<HeaderMediaInput> {
    Some(HeaderMediaInput::File {
        path: path.to_string_lossy().into_owned(),
        filename: None,
    })
}

/// The sends the simulator accepted for `wa_id`, oldest first.
async fn sent_to(w: &SignupWorld, wa_id: &str) -> Vec<Value> {
    sim_get(w, &format!("/sent?to={wa_id}")).await["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A customer writes, so that a conversation with them exists; returns its id.
async fn conversation_with(w: &SignupWorld, d: &Device, wa_id: &str) -> i64 {
    sim_post(
        w,
        "/inbound",
        json!({"from": wa_id, "name": "Maria", "type": "text", "text": {"body": "any offers?"}}),
    )
    .await;
    eventually("the customer's conversation", 30, async || {
        sqlx::query_scalar::<_, i64>(
            "SELECT c.id FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
             WHERE ct.wa_id = ?",
        )
        .bind(wa_id)
        .fetch_optional(d.store().pool())
        .await
        .unwrap()
    })
    .await
}

fn header_of(request: &Value) -> Value {
    request["template"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "header")
        .map(|c| c["parameters"][0].clone())
        .unwrap_or(Value::Null)
}

/// The send's header names a file uploaded to the simulator, and it is the very PNG.
fn assert_header_is_the_uploaded_png(w: &SignupWorld, request: &Value) {
    let id = header_of(request)["image"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_ne!(id, "upload-pending");
    let uploaded = w
        .sim
        .state
        .world
        .lock()
        .media
        .get(&id)
        .map(|m| m.bytes.clone());
    assert_eq!(uploaded.as_deref(), Some(assets::PNG.bytes), "{request}");
}

fn button_of(request: &Value) -> Value {
    request["template"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "button")
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_picture_header_from_a_file_is_uploaded_and_the_button_gets_its_value() {
    let w = SignupWorld::start(CONFIG_ID).await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = connected_device(&w, dir.path(), &secrets).await;
    d.start_background().await.unwrap();
    let wa_id = "351910000001";
    let conversation = conversation_with(&w, &d, wa_id).await;

    // What the picker learns: an image header, and which button takes a value.
    let t = weekend_offer(&d).await;
    assert_eq!(t.header_format.as_deref(), Some("IMAGE"));
    let takes: Vec<(&str, bool)> = t
        .buttons
        .iter()
        .map(|b| (b.kind.as_str(), b.takes_value))
        .collect();
    assert_eq!(takes, [("URL", true), ("QUICK_REPLY", false)]);
    let names = || vec!["Maria".to_string(), "15%".to_string()];
    let preview = d
        .render_template(t.id, &names(), &[], &[], false)
        .await
        .unwrap();
    assert_eq!(preview.missing, ["header.media", "buttons[0]"]);
    let preview = d
        .render_template(t.id, &names(), &[], &["spring".into()], true)
        .await
        .unwrap();
    assert!(preview.missing.is_empty(), "{preview:?}");
    assert_eq!(preview.header.as_deref(), Some("[IMAGE]"));

    // Refused before anything is queued: no picture, no button value, a PDF for a picture.
    let pdf = dir.path().join("menu.pdf");
    std::fs::write(&pdf, assets::PDF.bytes).unwrap();
    for (wrong, says) in [
        (offer(None, "spring"), "header.media"),
        (offer(file(&pdf), "spring"), "an image"),
        (
            offer(
                Some(HeaderMediaInput::Link {
                    url: "https://b.example/cake.png".into(),
                    filename: None,
                }),
                " ",
            ),
            "buttons[0]",
        ),
    ] {
        let err = d.send(conversation, wrong, None).await.unwrap_err();
        assert!(
            matches!(&err, DeviceError::InvalidInput(m) if m.contains(says)),
            "{says}: {err:?}"
        );
    }
    let queued: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE message_id IS NOT NULL")
            .fetch_one(d.store().pool())
            .await
            .unwrap();
    assert_eq!(queued, 0);

    // The picture from this computer: the thread shows it at once; the outbox uploads it and
    // sends the template naming Meta's id for it.
    let png = dir.path().join("cake.png");
    std::fs::write(&png, assets::PNG.bytes).unwrap();
    let sent = d
        .send(conversation, offer(file(&png), "spring"), None)
        .await
        .unwrap();
    assert_eq!(sent.kind, "template");
    let media = sent.media.as_ref().expect("the header's picture is shown");
    assert_eq!(media.state, "done");
    let request = eventually("the template accepted", 60, async || {
        sent_to(&w, wa_id).await.pop().map(|m| m["request"].clone())
    })
    .await;
    assert_eq!(header_of(&request)["type"], "image", "{request}");
    assert_header_is_the_uploaded_png(&w, &request);
    let button = button_of(&request);
    assert_eq!(button["sub_type"], "url");
    assert_eq!(button["parameters"][0]["text"], "spring");
    // The message row ends sent (or further), with Meta's id for its picture.
    let status = eventually("the template's tick", 60, async || {
        sqlx::query_scalar::<_, Option<String>>("SELECT status FROM messages WHERE id = ?")
            .bind(sent.id)
            .fetch_one(d.store().pool())
            .await
            .unwrap()
            .filter(|s| s != "pending")
    })
    .await;
    assert_ne!(status, "failed");

    // A teammate's device shows the picture too: it fetches the header's file from Meta by
    // the id the sending device published with the message.
    let link = d
        .invite("bo@example.com", protocol::auth::Role::Agent)
        .await
        .unwrap();
    let laptop_dir = tempfile::tempdir().unwrap();
    let laptop = Device::open(
        laptop_dir.path(),
        &MemoryStore::new(),
        &dataoptix_core::vault::PassphraseSource::none(),
        "Laptop",
    )
    .await
    .unwrap();
    laptop
        .join(dataoptix_core::device::JoinInput {
            invite_link: link,
            name: "Bo Agent".into(),
            password: common::PASSWORD.into(),
        })
        .await
        .unwrap();
    laptop.start_background().await.unwrap();
    let wamid: String = sqlx::query_scalar("SELECT wamid FROM messages WHERE id = ?")
        .bind(sent.id)
        .fetch_one(d.store().pool())
        .await
        .unwrap();
    let on_laptop = eventually("the picture on the laptop", 60, async || {
        let state: Option<String> = sqlx::query_scalar(
            "SELECT md.download_state FROM media md JOIN messages m ON m.id = md.message_id
             WHERE m.wamid = ?",
        )
        .bind(&wamid)
        .fetch_optional(laptop.store().pool())
        .await
        .unwrap();
        state.filter(|s| s == "done")
    })
    .await;
    assert_eq!(on_laptop, "done");
    laptop.stop_background().await;

    // A public address goes out as it is, nothing uploaded.
    d.send(
        conversation,
        offer(
            Some(HeaderMediaInput::Link {
                url: "https://b.example/cake.png".into(),
                filename: None,
            }),
            "summer",
        ),
        None,
    )
    .await
    .unwrap();
    let request = eventually("the second template accepted", 60, async || {
        let all = sent_to(&w, wa_id).await;
        (all.len() == 2).then(|| all[1]["request"].clone())
    })
    .await;
    assert_eq!(
        header_of(&request)["image"]["link"],
        "https://b.example/cake.png"
    );
    assert_eq!(button_of(&request)["parameters"][0]["text"], "summer");
    d.stop_background().await;
}

#[tokio::test]
async fn a_broadcast_uploads_its_header_once_and_gives_each_recipient_their_own_code() {
    let w = SignupWorld::start(CONFIG_ID).await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = connected_device(&w, dir.path(), &secrets).await;
    d.start_background().await.unwrap();
    let png = dir.path().join("cake.png");
    std::fs::write(&png, assets::PNG.bytes).unwrap();
    let form = |header_media: Option<HeaderMediaInput>, buttons: Vec<ParamSource>| BroadcastForm {
        name: "Weekend".into(),
        phone_number_id: None,
        template_name: "weekend_offer".into(),
        language: "en_US".into(),
        body: vec![
            ParamSource::ContactName,
            ParamSource::Fixed {
                value: "15%".into(),
            },
        ],
        header: vec![],
        buttons,
        header_media,
        recipients: RecipientSource::Csv {
            text: "name,phone,code\nAna,+351 910 000 011,ANA15\nBea,+351 910 000 012,BEA15\n\
                   Cy,+351 910 000 013,\n"
                .into(),
        },
    };
    let code = || {
        vec![ParamSource::Column {
            column: "code".into(),
        }]
    };

    // The header and the button's value are required; a recipient without a code is left out.
    let err = d.preview_broadcast(&form(None, code())).await.unwrap_err();
    assert!(err.to_string().contains("image header"), "{err}");
    let err = d
        .preview_broadcast(&form(file(&png), vec![]))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("take a value"), "{err}");
    let uploads = || w.sim.state.world.lock().media.len();
    let before = uploads();
    let preview = d
        .preview_broadcast(&form(file(&png), code()))
        .await
        .unwrap();
    assert_eq!((preview.total, preview.sendable), (3, 2), "{preview:?}");
    assert!(preview.excluded[0]
        .skip_reason
        .as_deref()
        .unwrap()
        .contains("code"));
    assert_eq!(
        preview.sample.as_ref().unwrap().header.as_deref(),
        Some("[IMAGE]")
    );
    // A preview uploads nothing.
    assert_eq!(uploads(), before);

    let created = d.create_broadcast(form(file(&png), code())).await.unwrap();
    let requests = eventually("both sends accepted", 60, async || {
        let mut all = Vec::new();
        for wa_id in ["351910000011", "351910000012"] {
            all.extend(
                sent_to(&w, wa_id)
                    .await
                    .into_iter()
                    .map(|m| m["request"].clone()),
            );
        }
        (all.len() == 2).then_some(all)
    })
    .await;
    let ids: Vec<Value> = requests
        .iter()
        .map(|r| header_of(r)["image"]["id"].clone())
        .collect();
    assert_eq!(ids[0], ids[1], "one upload for everyone");
    assert_eq!(uploads(), before + 1);
    let codes: Vec<Value> = requests
        .iter()
        .map(|r| button_of(r)["parameters"][0]["text"].clone())
        .collect();
    assert_eq!(codes, [json!("ANA15"), json!("BEA15")]);
    assert!(sent_to(&w, "351910000013").await.is_empty());
    assert_eq!(created.counts.skipped, 1, "{created:?}");
    d.stop_background().await;
}

/// `dataoptix-cli send --template … --header-file … --button-param …`, as a separate process
/// over its own data directory.
#[tokio::test]
async fn the_cli_sends_a_template_with_a_header_file_and_a_button_value() {
    let w = SignupWorld::start(CONFIG_ID).await;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let cli = |args: Vec<String>, stdin: Vec<u8>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::cli(h, &args, &stdin).await
    };
    let owned = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    cli_connected(&w, h, "th@example.com").await;
    sim_post(
        &w,
        "/inbound",
        json!({"from": "351910000021", "type": "text", "text": {"body": "offers?"}}),
    )
    .await;
    let conversation = eventually("the conversation synced", 60, async || {
        let (ok, _, err) = cli(owned(&["sync", "--once", "--json"]), vec![]).await;
        assert!(ok, "{err}");
        let (_, out, _) = cli(owned(&["conversations", "--json"]), vec![]).await;
        let list: Value = serde_json::from_str(out.trim()).ok()?;
        list["items"][0]["id"].as_i64()
    })
    .await
    .to_string();
    let png = h.join("cake.png");
    std::fs::write(&png, assets::PNG.bytes).unwrap();
    let send = |header: [&str; 2]| {
        owned(&[
            "send",
            &conversation,
            "--template",
            "weekend_offer",
            "--param",
            "Maria",
            "--param",
            "15%",
            header[0],
            header[1],
            "--button-param",
            "spring",
            "--json",
        ])
    };

    let (ok, _, err) = cli(send(["--header-link", "http://b.example/cake.png"]), vec![]).await;
    assert!(!ok && err.contains("https"), "{err}");
    let (ok, out, err) = cli(send(["--header-file", png.to_str().unwrap()]), vec![]).await;
    assert!(ok, "{err}");
    let result: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(result["sent"], 1, "{out}");
    let request = sent_to(&w, "351910000021").await.pop().unwrap()["request"].clone();
    assert_header_is_the_uploaded_png(&w, &request);
    assert_eq!(button_of(&request)["parameters"][0]["text"], "spring");
}

/// An authentication template: the code is typed once and fills both the message and its
/// copy-code button, as Meta wants it in both.
#[tokio::test]
async fn an_authentication_code_is_typed_once_for_the_message_and_its_button() {
    let w = SignupWorld::start(CONFIG_ID).await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = MemoryStore::new();
    let d = connected_device(&w, dir.path(), &secrets).await;
    d.start_background().await.unwrap();
    let wa_id = "351910000031";
    let conversation = conversation_with(&w, &d, wa_id).await;
    let info = &w.sim.info;
    let created: Value = reqwest::Client::new()
        .post(format!(
            "{}/{}/{}/message_templates",
            info.base_url, info.graph_version, info.waba_id
        ))
        .bearer_auth(&info.access_token)
        .json(
            &json!({"name": "login_code", "language": "en_US", "category": "AUTHENTICATION",
                      "components": [
                        {"type": "BODY", "add_security_recommendation": true},
                        {"type": "FOOTER", "code_expiration_minutes": 10},
                        {"type": "BUTTONS", "buttons": [
                          {"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]}]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().expect("created").to_string();
    sim_post(
        &w,
        &format!("/templates/{id}/status"),
        json!({"status": "APPROVED"}),
    )
    .await;
    let t = eventually("the code template approved here", 30, async || {
        d.sync_templates().await.unwrap();
        d.templates(true)
            .await
            .unwrap()
            .into_iter()
            .find(|t| t.name == "login_code")
    })
    .await;
    assert!(t.buttons[0].takes_value, "{t:?}");
    // Its body is Meta's fixed text: the code is the one value the forms ask for.
    assert_eq!(t.param_count, 1, "{t:?}");
    assert!(
        t.body_text.as_deref().unwrap().starts_with("{{1}}"),
        "{t:?}"
    );
    let preview = d
        .render_template(t.id, &["551204".into()], &[], &[], false)
        .await
        .unwrap();
    assert!(preview.missing.is_empty(), "{preview:?}");
    assert!(preview
        .body
        .starts_with("551204 is your verification code."));

    d.send(
        conversation,
        Outgoing::Template {
            name: "login_code".into(),
            language: "en_US".into(),
            params: vec!["551204".into()],
            header_params: vec![],
            header_media: None,
            button_params: vec![],
        },
        None,
    )
    .await
    .unwrap();
    let request = eventually("the code accepted", 60, async || {
        sent_to(&w, wa_id).await.pop().map(|m| m["request"].clone())
    })
    .await;
    let body = request["template"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "body")
        .cloned()
        .unwrap();
    assert_eq!(body["parameters"][0]["text"], "551204");
    assert_eq!(button_of(&request)["parameters"][0]["text"], "551204");

    // Broadcast, each recipient's code from the CSV; the button left empty, or from a column
    // whose cell is empty: every button gets its own recipient's code.
    let form = BroadcastForm {
        name: "Codes".into(),
        phone_number_id: None,
        template_name: "login_code".into(),
        language: "en_US".into(),
        body: vec![ParamSource::Column {
            column: "code".into(),
        }],
        header: vec![],
        buttons: vec![ParamSource::Fixed {
            value: String::new(),
        }],
        header_media: None,
        recipients: RecipientSource::Csv {
            text: "name,phone,code,again\nEva,+351 910 000 032,700001,\n\
                   Flo,+351 910 000 033,700002,700002\n"
                .into(),
        },
    };
    let preview = d.preview_broadcast(&form).await.unwrap();
    assert_eq!((preview.total, preview.sendable), (2, 2), "{preview:?}");
    let by_column = BroadcastForm {
        buttons: vec![ParamSource::Column {
            column: "again".into(),
        }],
        ..form.clone()
    };
    let preview = d.preview_broadcast(&by_column).await.unwrap();
    assert_eq!((preview.total, preview.sendable), (2, 2), "{preview:?}");
    d.create_broadcast(by_column).await.unwrap();
    for (wa_id, code) in [("351910000032", "700001"), ("351910000033", "700002")] {
        let request = eventually("a code broadcast accepted", 60, async || {
            sent_to(&w, wa_id).await.pop().map(|m| m["request"].clone())
        })
        .await;
        assert_eq!(button_of(&request)["parameters"][0]["text"], code);
    }
    d.stop_background().await;
}
