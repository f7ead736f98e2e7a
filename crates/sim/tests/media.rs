//! Media: multipart upload, retrieve, Bearer-only download with URL expiry, delete, 131053.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

mod support;

use dataoptix_sim::assets;
use serde_json::json;
use support::start;

async fn upload(
    t: &support::TestSim,
    bytes: &'static [u8],
    mime: &str,
    filename: &str,
) -> (u16, serde_json::Value) {
    let form = reqwest::multipart::Form::new()
        .text("messaging_product", "whatsapp")
        .text("type", mime.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(filename.to_string())
                .mime_str(mime.split(';').next().unwrap())
                .unwrap(),
        );
    let resp = t
        .http
        .post(format!("{}/{}/media", t.graph, t.phone))
        .bearer_auth(&t.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn upload_retrieve_download_expire_delete() {
    let t = start().await;
    let (status, up) = upload(&t, assets::PNG.bytes, "image/png", "cake.png").await;
    assert_eq!(status, 200, "{up}");
    let id = up["id"].as_str().unwrap().to_string();
    assert!(id.bytes().all(|b| b.is_ascii_digit()));

    let (status, info) = t.get(&format!("{id}?phone_number_id={}", t.phone)).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["messaging_product"], "whatsapp");
    assert_eq!(info["mime_type"], "image/png");
    assert_eq!(info["id"], id.as_str());
    assert_eq!(info["file_size"], assets::PNG.bytes.len().to_string());
    assert_eq!(info["sha256"], assets::sha256_b64(assets::PNG.bytes));
    let url = info["url"].as_str().unwrap().to_string();

    // Without the token: refused. With it: the very bytes.
    let resp = t.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = t.http.get(&url).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert_eq!(&resp.bytes().await.unwrap()[..], assets::PNG.bytes);
    // A tampered URL is refused.
    let resp = t
        .http
        .get(url.replace("hash=", "hash=0"))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    // Five minutes later the URL has expired; a fresh one works.
    t.advance_clock(301.0).await;
    let resp = t.http.get(&url).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let (_, info) = t.get(&id).await;
    let resp = t
        .http
        .get(info["url"].as_str().unwrap())
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // Send it, then delete it.
    t.user_says("16505551234", "hi").await;
    let (status, resp) = t
        .send(
            json!({"messaging_product": "whatsapp", "to": "16505551234", "type": "image",
                     "image": {"id": id, "caption": "Your cake"}}),
        )
        .await;
    assert_eq!(status, 200, "{resp}");
    let (status, resp) = t.delete(&id).await;
    assert_eq!((status, resp), (200, json!({"success": true})));
    let (status, resp) = t.get(&id).await;
    assert_eq!((status, resp["error"]["code"].as_i64()), (400, Some(100)));
}

#[tokio::test]
async fn media_outside_meta_limits_is_131053() {
    let t = start().await;
    // Not a supported type.
    let (status, resp) = upload(&t, b"GIF89a....", "image/gif", "a.gif").await;
    assert_eq!(
        (status, resp["error"]["code"].as_i64()),
        (400, Some(131053))
    );
    // Content does not match the declared type.
    let (_, resp) = upload(&t, assets::PDF.bytes, "image/png", "fake.png").await;
    assert_eq!(resp["error"]["code"], 131053);
    // OGG without Opus.
    let (_, resp) = upload(&t, b"OggS\0\x02vorbis-not-opus", "audio/ogg", "a.ogg").await;
    assert_eq!(resp["error"]["code"], 131053);
    // Too big: an image over 5 MB.
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let big: &'static [u8] = Box::leak(big.into_boxed_slice());
    let (_, resp) = upload(&t, big, "image/png", "big.png").await;
    assert_eq!(resp["error"]["code"], 131053);
    // The real voice note, video, document and sticker are accepted.
    for a in [
        assets::VOICE,
        assets::VIDEO,
        assets::PDF,
        assets::STICKER,
        assets::JPEG,
    ] {
        let (status, resp) = upload(&t, a.bytes, a.mime_type, a.filename).await;
        assert_eq!(status, 200, "{} {resp}", a.key);
    }
    // A sticker id sent as audio fails asynchronously with 131053.
    let (_, st) = upload(&t, assets::STICKER.bytes, "image/webp", "s.webp").await;
    t.user_says("16505551234", "hi").await;
    let (status, resp) = t
        .send(
            json!({"messaging_product": "whatsapp", "to": "16505551234", "type": "audio",
                     "audio": {"id": st["id"]}}),
        )
        .await;
    assert_eq!(status, 200);
    let wamid = resp["messages"][0]["id"].as_str().unwrap().to_string();
    let hooks =
        t.rx.wait_for("failed 131053", |h| {
            support::statuses_of(h).contains(&(wamid.clone(), "failed".into()))
        })
        .await;
    let code = hooks
        .iter()
        .find(|h| h.value()["statuses"][0]["id"] == wamid.as_str())
        .unwrap()
        .value()["statuses"][0]["errors"][0]["code"]
        .clone();
    assert_eq!(code, 131053);
    t.rx.assert_all_typed();
}

/// A template's media header is checked as a media message is: an id never uploaded (or of
/// another business) is refused at once, a file of the wrong kind fails with 131053.
#[tokio::test]
async fn a_template_header_file_is_checked_like_a_media_message() {
    let t = start().await;
    let offer = |image: serde_json::Value| {
        json!({"messaging_product": "whatsapp", "to": "16505551234", "type": "template",
               "template": {"name": "weekend_offer", "language": {"code": "en_US"}, "components": [
                 {"type": "header", "parameters": [{"type": "image", "image": image}]},
                 {"type": "body", "parameters": [
                     {"type": "text", "parameter_name": "first_name", "text": "Maria"},
                     {"type": "text", "parameter_name": "discount", "text": "15%"}]},
                 {"type": "button", "sub_type": "url", "index": "0",
                  "parameters": [{"type": "text", "text": "spring"}]}]}})
    };
    let (status, resp) = t.send(offer(json!({"id": "4242424242"}))).await;
    assert_eq!(status, 400, "{resp}");
    assert!(
        resp["error"].to_string().contains("Invalid media id"),
        "{resp}"
    );
    let (status, resp) = t
        .send(offer(json!({"link": "ftp://example.com/a.png"})))
        .await;
    assert_eq!(status, 400, "{resp}");

    let (_, png) = upload(&t, assets::PNG.bytes, "image/png", "cake.png").await;
    let (status, resp) = t.send(offer(json!({"id": png["id"]}))).await;
    assert_eq!(status, 200, "{resp}");

    let (_, pdf) = upload(&t, assets::PDF.bytes, "application/pdf", "menu.pdf").await;
    let (status, resp) = t.send(offer(json!({"id": pdf["id"]}))).await;
    assert_eq!(status, 200, "{resp}");
    let wamid = resp["messages"][0]["id"].as_str().unwrap().to_string();
    let hooks =
        t.rx.wait_for("failed 131053", |h| {
            support::statuses_of(h).contains(&(wamid.clone(), "failed".into()))
        })
        .await;
    let failed = hooks
        .iter()
        .find(|h| h.value()["statuses"][0]["id"] == wamid.as_str())
        .unwrap();
    assert_eq!(failed.value()["statuses"][0]["errors"][0]["code"], 131053);
}

#[tokio::test]
async fn inbound_media_is_real_and_downloadable() {
    let t = start().await;
    for (ty, magic, mime) in [
        ("image", &b"\xff\xd8\xff"[..], "image/jpeg"),
        ("voice", &b"OggS"[..], "audio/ogg; codecs=opus"),
        ("document", &b"%PDF-"[..], "application/pdf"),
        ("video", &b"\0\0\0"[..], "video/mp4"),
        ("sticker", &b"RIFF"[..], "image/webp"),
    ] {
        let v = t
            .control("/inbound", json!({"from": "16505551234", "type": ty}))
            .await;
        let msg = &v["webhook"]["messages"][0];
        let kind = msg["type"].as_str().unwrap();
        let media = &msg[kind];
        assert_eq!(media["mime_type"], mime, "{ty}");
        let id = media["id"].as_str().unwrap();
        let (status, info) = t.get(id).await;
        assert_eq!(status, 200, "{info}");
        assert_eq!(info["sha256"], media["sha256"]);
        let bytes = t
            .http
            .get(info["url"].as_str().unwrap())
            .bearer_auth(&t.token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(bytes.starts_with(magic), "{ty}");
        if ty == "voice" {
            assert_eq!(msg["audio"]["voice"], true);
            assert!(bytes.windows(8).any(|w| w == b"OpusHead"));
        }
        if ty == "document" {
            assert_eq!(msg["document"]["filename"], "invoice-1042.pdf");
        }
    }
    t.rx.assert_all_typed();
}

#[tokio::test]
async fn an_uploaded_id_lives_30_days_then_is_unknown() {
    let t = start().await;
    let (status, up) = upload(&t, assets::PNG.bytes, "image/png", "menu.png").await;
    assert_eq!(status, 200, "{up}");
    let id = up["id"].as_str().unwrap().to_string();
    t.user_says("16505551234", "menu?").await;
    let image = json!({"messaging_product": "whatsapp", "to": "16505551234", "type": "image",
                       "image": {"id": id}});

    // Day 29: still there.
    t.advance_clock(29.0 * 24.0 * 3600.0).await;
    assert_eq!(t.get(&id).await.0, 200);
    t.user_says("16505551234", "still there?").await;
    let (status, resp) = t.send(image.clone()).await;
    assert_eq!(status, 200, "{resp}");

    // Day 30 and after: gone, for retrieval and for sending alike.
    t.advance_clock(24.0 * 3600.0).await;
    let (status, resp) = t.get(&id).await;
    assert_eq!(
        (status, resp["error"]["code"].as_i64()),
        (400, Some(100)),
        "{resp}"
    );
    t.user_says("16505551234", "and now?").await;
    let (status, resp) = t.send(image).await;
    assert_eq!(
        (status, resp["error"]["code"].as_i64()),
        (400, Some(131009)),
        "{resp}"
    );
}

#[tokio::test]
async fn a_webhook_media_id_lives_7_days() {
    let t = start().await;
    let msg = t
        .control(
            "/inbound",
            json!({"from": "16505551234", "type": "image", "asset": "png"}),
        )
        .await;
    let id = msg["webhook"]["messages"][0]["image"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(t.get(&id).await.0, 200);
    t.advance_clock(7.0 * 24.0 * 3600.0 + 1.0).await;
    assert_eq!(t.get(&id).await.0, 400);
}
