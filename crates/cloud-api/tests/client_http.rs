//! The client against a tiny local Graph API (axum on 127.0.0.1:0): what it sends (method, path,
//! query, Bearer token, body) and how it reads Meta-shaped answers and Meta's error envelopes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};

use cloud_api::account::{BusinessProfileUpdate, RegisterRequest, WebhookOverride};
use cloud_api::client::{ClientConfig, CloudApiClient, CloudApiError};
use cloud_api::error::{ErrorClass, SuggestedAction};
use cloud_api::media::MediaUpload;
use cloud_api::messages::{MarkRead, SendMessage};
use cloud_api::oauth::{AccessToken, AppSecret, CodeExchange};
use cloud_api::templates::{
    NewTemplate, TemplateButton, TemplateCategory, TemplateComponent, TemplateEdit, TemplateQuery,
    TemplateStatus,
};

const TOKEN: &str = "EAAtest-token_123";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    query: Option<String>,
    auth: Option<String>,
    content_type: Option<String>,
    body: Bytes,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_deref().unwrap_or_default().as_bytes())
            .into_owned()
            .collect()
    }

    fn query_value(&self, key: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// What the server answers.
struct Reply {
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
    delay: Duration,
}

impl Reply {
    fn json(value: Value) -> Self {
        Self::status_json(StatusCode::OK, value)
    }

    fn status_json(status: StatusCode, value: Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
            delay: Duration::ZERO,
        }
    }

    fn meta_error(status: StatusCode, code: i64, message: &str) -> Self {
        Self::status_json(
            status,
            json!({"error": {"message": message, "type": "OAuthException", "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": message},
                "fbtrace_id": "AXsgnV2Cm3ZMGF3dF_cfYIn"}}),
        )
    }
}

type Responder = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

struct Server {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    async fn start(respond: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let respond: Responder = Arc::new(respond);
        let recorder = seen.clone();
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let respond = respond.clone();
                let recorder = recorder.clone();
                async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .map(|v| v.to_str().expect("ascii header").to_owned())
                    };
                    let request = Seen {
                        method,
                        path: uri.path().to_owned(),
                        query: uri.query().map(str::to_owned),
                        auth: header("authorization"),
                        content_type: header("content-type"),
                        body,
                    };
                    let reply = respond(&request);
                    recorder.lock().expect("recorder lock").push(request);
                    tokio::time::sleep(reply.delay).await;
                    Response::builder()
                        .status(reply.status)
                        .header("content-type", reply.content_type)
                        .body(Body::from(reply.body))
                        .expect("a valid response")
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("test server") });
        Self {
            base: format!("http://{addr}"),
            seen,
        }
    }

    fn client(&self) -> CloudApiClient {
        self.client_with(ClientConfig::default())
    }

    fn client_with(&self, config: ClientConfig) -> CloudApiClient {
        CloudApiClient::new(ClientConfig {
            base_url: self.base.clone(),
            ..config
        })
        .expect("a client")
        .with_token(TOKEN)
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("recorder lock").clone()
    }

    fn only_request(&self) -> Seen {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "{requests:#?}");
        requests.into_iter().next().expect("one request")
    }
}

fn assert_bearer(seen: &Seen) {
    assert_eq!(seen.auth.as_deref(), Some(&*format!("Bearer {TOKEN}")));
}

// ----- Messages ------------------------------------------------------------------------------

#[tokio::test]
async fn send_message_posts_the_body_and_reads_the_wamid() {
    let server = Server::start(|_| {
        Reply::json(json!({"messaging_product": "whatsapp",
            "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
            "messages": [{"id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3NDc0NDFDRUI3NTA0Q0UA"}]}))
    })
    .await;
    let message = SendMessage::text("+16505551234", "Hello ✓ — ünïcode").reply_to("wamid.PREV");
    let response = server
        .client()
        .send_message("106540352242922", &message)
        .await
        .unwrap();
    assert_eq!(
        response.message_id(),
        Some("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3NDc0NDFDRUI3NTA0Q0UA")
    );
    let seen = server.only_request();
    assert_eq!(seen.method, Method::POST);
    assert_eq!(seen.path, "/v23.0/106540352242922/messages");
    assert_bearer(&seen);
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    assert_eq!(seen.json(), serde_json::to_value(&message).unwrap());
}

#[tokio::test]
async fn mark_as_read_with_typing_indicator() {
    let server = Server::start(|_| Reply::json(json!({"success": true}))).await;
    let read = MarkRead::new("wamid.IN").with_typing_indicator();
    server.client().mark_as_read("111", &read).await.unwrap();
    let seen = server.only_request();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/v23.0/111/messages")
    );
    assert_bearer(&seen);
    assert_eq!(
        seen.json(),
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN",
            "typing_indicator": {"type": "text"}})
    );
}

// ----- Errors --------------------------------------------------------------------------------

#[tokio::test]
async fn window_closed_becomes_needs_template() {
    let server = Server::start(|_| {
        Reply::meta_error(
            StatusCode::BAD_REQUEST,
            131047,
            "(#131047) Re-engagement message",
        )
    })
    .await;
    let err = server
        .client()
        .send_message("111", &SendMessage::text("+1555", "hi"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(131047));
    assert_eq!(err.class(), ErrorClass::NeedsTemplate);
    let meta = err.meta().unwrap();
    assert_eq!(meta.action(), SuggestedAction::SendTemplate);
    assert_eq!(meta.fbtrace_id.as_deref(), Some("AXsgnV2Cm3ZMGF3dF_cfYIn"));
    assert_eq!(err.backoff(0), None);
}

#[tokio::test]
async fn expired_token_becomes_token_invalid() {
    let server = Server::start(|_| {
        Reply::meta_error(
            StatusCode::UNAUTHORIZED,
            190,
            "Error validating access token: Session has expired",
        )
    })
    .await;
    let err = server.client().phone_number("111", None).await.unwrap_err();
    assert!(
        matches!(err, CloudApiError::Meta(ref e) if e.code == 190),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::TokenInvalid);
    assert_eq!(err.meta().unwrap().action(), SuggestedAction::Reconnect);
}

#[tokio::test]
async fn rate_limits_carry_a_backoff() {
    let server = Server::start(|seen| {
        if seen.path.ends_with("/messages") {
            Reply::meta_error(
                StatusCode::BAD_REQUEST,
                131056,
                "(#131056) pair rate limit hit",
            )
        } else {
            Reply::meta_error(StatusCode::BAD_REQUEST, 80007, "rate limit")
        }
    })
    .await;
    let client = server.client();
    let err = client
        .send_message("111", &SendMessage::text("+1555", "hi"))
        .await
        .unwrap_err();
    assert!(matches!(err.class(), ErrorClass::RateLimited { .. }));
    assert_eq!(err.backoff(2), Some(Duration::from_secs(16)));
    let err = client
        .list_templates("222", &TemplateQuery::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(80007));
    assert!(err.backoff(0).unwrap() >= Duration::from_secs(60));
}

#[tokio::test]
async fn non_meta_error_bodies_are_kept_as_http_errors() {
    let server = Server::start(|_| Reply {
        status: StatusCode::BAD_GATEWAY,
        content_type: "text/html",
        body: b"<html>upstream down</html>".to_vec(),
        delay: Duration::ZERO,
    })
    .await;
    let err = server
        .client()
        .business_account("222", None)
        .await
        .unwrap_err();
    match &err {
        CloudApiError::Http { status, body } => {
            assert_eq!(*status, 502);
            assert!(body.contains("upstream down"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.class().is_retryable());
}

#[tokio::test]
async fn a_success_that_is_not_json_is_a_decode_error() {
    let server = Server::start(|_| Reply {
        status: StatusCode::OK,
        content_type: "text/plain",
        body: b"ok".to_vec(),
        delay: Duration::ZERO,
    })
    .await;
    let err = server.client().deregister("111").await.unwrap_err();
    assert!(matches!(err, CloudApiError::Decode(_)), "{err:?}");
}

#[tokio::test]
async fn success_false_is_an_error() {
    let server = Server::start(|_| Reply::json(json!({"success": false}))).await;
    let err = server.client().unsubscribe_app("222").await.unwrap_err();
    assert!(matches!(err, CloudApiError::Unsuccessful), "{err:?}");
}

#[tokio::test]
async fn slow_answers_time_out() {
    let server = Server::start(|_| Reply {
        delay: Duration::from_secs(3),
        ..Reply::json(json!({"success": true}))
    })
    .await;
    let client = server.client_with(ClientConfig {
        timeout: Duration::from_millis(200),
        ..ClientConfig::default()
    });
    let started = std::time::Instant::now();
    let err = client.deregister("111").await.unwrap_err();
    assert!(matches!(err, CloudApiError::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(err.class().is_retryable());
}

#[tokio::test]
async fn unreachable_server_is_a_transport_error_without_secrets() {
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = CloudApiClient::new(ClientConfig {
        base_url: format!("http://127.0.0.1:{port}"),
        ..ClientConfig::default()
    })
    .unwrap();
    let exchange = CodeExchange::new("1234", AppSecret::new("super-secret-value"), "code-xyz");
    let err = client.exchange_code(&exchange).await.unwrap_err();
    assert!(matches!(err, CloudApiError::Transport(_)), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("super-secret-value"), "{shown}");
    assert!(!shown.contains("code-xyz"), "{shown}");
    assert!(err.class().is_retryable());
}

#[tokio::test]
async fn calls_without_a_token_are_refused_before_sending() {
    let server = Server::start(|_| Reply::json(json!({"success": true}))).await;
    let client = CloudApiClient::new(ClientConfig {
        base_url: server.base.clone(),
        ..ClientConfig::default()
    })
    .unwrap();
    let err = client.deregister("111").await.unwrap_err();
    assert!(matches!(err, CloudApiError::MissingToken));
    assert!(server.requests().is_empty());
}

// ----- Templates -----------------------------------------------------------------------------

fn template_json(id: &str, name: &str) -> Value {
    json!({"id": id, "name": name, "language": "en_US", "status": "APPROVED",
        "category": "UTILITY", "components": [{"type": "BODY", "text": "Hi {{1}}"}]})
}

#[tokio::test]
async fn templates_are_listed_across_pages() {
    let server = Server::start(|seen| match seen.query_value("after").as_deref() {
        None => Reply::json(json!({
            "data": [template_json("1", "first"), template_json("2", "second")],
            "paging": {"cursors": {"before": "QVFIUB", "after": "QVFIUA"},
                "next": "https://graph.facebook.com/v23.0/222/message_templates?after=QVFIUA"}})),
        Some("QVFIUA") => Reply::json(json!({
            "data": [template_json("3", "third")],
            "paging": {"cursors": {"before": "QVFIUC", "after": "QVFIUD"}}})),
        Some(other) => panic!("unexpected cursor {other}"),
    })
    .await;
    let query = TemplateQuery {
        limit: Some(2),
        fields: Some("id,name,status".into()),
        ..TemplateQuery::default()
    };
    let all = server
        .client()
        .list_all_templates("222", query)
        .await
        .unwrap();
    let names: Vec<_> = all.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["first", "second", "third"]);
    assert_eq!(all[0].status, Some(TemplateStatus::Approved));

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for seen in &requests {
        assert_eq!(seen.method, Method::GET);
        assert_eq!(seen.path, "/v23.0/222/message_templates");
        assert_bearer(seen);
        assert_eq!(seen.query_value("limit").as_deref(), Some("2"));
        assert_eq!(
            seen.query_value("fields").as_deref(),
            Some("id,name,status")
        );
    }
    assert_eq!(requests[0].query_value("after"), None);
    assert_eq!(requests[1].query_value("after").as_deref(), Some("QVFIUA"));
}

#[tokio::test]
async fn one_page_keeps_its_cursors() {
    let server = Server::start(|_| {
        Reply::json(json!({"data": [template_json("1", "a")],
            "paging": {"cursors": {"before": "B", "after": "A"}, "next": "https://x/next"}}))
    })
    .await;
    let page = server
        .client()
        .list_templates("222", &TemplateQuery::default())
        .await
        .unwrap();
    assert_eq!(page.next_cursor(), Some("A"));
    let paging = page.paging.unwrap();
    assert_eq!(paging.cursors.unwrap().before.as_deref(), Some("B"));
    assert!(server.only_request().query.is_none());
}

#[tokio::test]
async fn create_edit_and_delete_templates() {
    let server = Server::start(|seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("POST", "/v23.0/222/message_templates") => Reply::json(
            json!({"id": "1689556908129832", "status": "PENDING", "category": "UTILITY"}),
        ),
        ("POST", "/v23.0/1689556908129832") | ("DELETE", "/v23.0/222/message_templates") => {
            Reply::json(json!({"success": true}))
        }
        other => panic!("unexpected {other:?}"),
    })
    .await;
    let client = server.client();
    let template = NewTemplate::new(
        "order_confirmation",
        "en_US",
        TemplateCategory::Utility,
        vec![
            TemplateComponent::body_positional(
                "Thank you for your order, {{1}}! Your order number is {{2}}.",
                ["Mark", "860198-230332"],
            ),
            TemplateComponent::buttons(vec![
                TemplateButton::phone_number("Call", "16467043595"),
                TemplateButton::url("Contact Support", "https://www.examplesite.com/support"),
            ]),
        ],
    );
    let created = client.create_template("222", &template).await.unwrap();
    assert_eq!(created.id, "1689556908129832");
    assert_eq!(created.status, TemplateStatus::Pending);
    assert_eq!(created.category, TemplateCategory::Utility);

    let edit = TemplateEdit {
        components: Some(vec![TemplateComponent::body("Your order has shipped.")]),
        ..TemplateEdit::default()
    };
    client
        .edit_template("1689556908129832", &edit)
        .await
        .unwrap();
    client
        .delete_template("222", "order_confirmation", Some("1407680676729941"))
        .await
        .unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for seen in &requests {
        assert_bearer(seen);
    }
    assert_eq!(
        requests[0].json(),
        json!({"name": "order_confirmation", "language": "en_US", "category": "UTILITY",
            "components": [
                {"type": "BODY",
                 "text": "Thank you for your order, {{1}}! Your order number is {{2}}.",
                 "example": {"body_text": [["Mark", "860198-230332"]]}},
                {"type": "BUTTONS", "buttons": [
                    {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "16467043595"},
                    {"type": "URL", "text": "Contact Support",
                     "url": "https://www.examplesite.com/support"}]}]})
    );
    assert_eq!(
        requests[1].json(),
        json!({"components": [{"type": "BODY", "text": "Your order has shipped."}]})
    );
    assert_eq!(requests[2].method, Method::DELETE);
    assert_eq!(
        requests[2].query_value("name").as_deref(),
        Some("order_confirmation")
    );
    assert_eq!(
        requests[2].query_value("hsm_id").as_deref(),
        Some("1407680676729941")
    );
}

// ----- Media ---------------------------------------------------------------------------------

#[tokio::test]
async fn media_upload_is_multipart() {
    let server = Server::start(|_| Reply::json(json!({"id": "4490709327384033"}))).await;
    let jpeg = b"\xFF\xD8\xFF\xE0fake-jpeg-bytes".to_vec();
    let uploaded = server
        .client()
        .upload_media(
            "111",
            MediaUpload::new(jpeg.clone(), "photo.jpg", "image/jpeg"),
        )
        .await
        .unwrap();
    assert_eq!(uploaded.id, "4490709327384033");
    let seen = server.only_request();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/v23.0/111/media")
    );
    assert_bearer(&seen);
    let content_type = seen.content_type.clone().unwrap();
    assert!(
        content_type.starts_with("multipart/form-data; boundary="),
        "{content_type}"
    );
    let body = String::from_utf8_lossy(&seen.body);
    assert!(
        body.contains("name=\"messaging_product\"\r\n\r\nwhatsapp\r\n"),
        "{body}"
    );
    assert!(
        body.contains("name=\"type\"\r\n\r\nimage/jpeg\r\n"),
        "{body}"
    );
    assert!(
        body.contains("name=\"file\"; filename=\"photo.jpg\""),
        "{body}"
    );
    assert!(body.contains("Content-Type: image/jpeg"), "{body}");
    let raw = seen.body.as_ref();
    assert!(raw.windows(jpeg.len()).any(|w| w == jpeg.as_slice()));
}

#[tokio::test]
async fn media_url_then_download_with_bearer() {
    let payload: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let served = payload.clone();
    let server = Server::start(move |seen| match seen.path.as_str() {
        // The test swaps SELF for this server's origin (the port is not known yet here).
        "/v23.0/2621233374848975" => Reply::json(json!({"messaging_product": "whatsapp",
            "url": "SELF/media-files/2621233374848975?ext=1&hash=abc",
            "mime_type": "image/jpeg", "sha256": "deadbeef", "file_size": "70000",
            "id": "2621233374848975"})),
        "/media-files/2621233374848975" => Reply {
            status: StatusCode::OK,
            content_type: "image/jpeg",
            body: served.clone(),
            delay: Duration::ZERO,
        },
        other => panic!("unexpected {other}"),
    })
    .await;
    let client = server.client();
    let info = client
        .media_info("2621233374848975", Some("111"))
        .await
        .unwrap();
    assert_eq!(info.mime_type, "image/jpeg");
    assert_eq!(info.file_size, Some(70_000));
    assert_eq!(info.sha256.as_deref(), Some("deadbeef"));
    let url = info.url.replace("SELF", &server.base);
    let bytes = client.download_media(&url).await.unwrap();
    assert_eq!(bytes.as_ref(), payload.as_slice());

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].query_value("phone_number_id").as_deref(),
        Some("111")
    );
    assert_eq!(requests[1].path, "/media-files/2621233374848975");
    assert_eq!(requests[1].query.as_deref(), Some("ext=1&hash=abc"));
    assert_bearer(&requests[1]);
}

#[tokio::test]
async fn oversized_media_is_refused() {
    let server = Server::start(|_| Reply {
        status: StatusCode::OK,
        content_type: "application/pdf",
        body: vec![7u8; 10_000],
        delay: Duration::ZERO,
    })
    .await;
    let client = server.client_with(ClientConfig {
        max_media_bytes: 1000,
        ..ClientConfig::default()
    });
    let err = client
        .download_media(&format!("{}/media-files/big", server.base))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CloudApiError::MediaTooLarge { max: 1000 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_token_is_not_sent_to_foreign_plain_http_hosts() {
    let server = Server::start(|_| Reply::json(json!({}))).await;
    let err = server
        .client()
        .download_media("http://evil.example/steal")
        .await
        .unwrap_err();
    assert!(
        matches!(err, CloudApiError::UntrustedMediaUrl { ref host } if host == "evil.example"),
        "{err:?}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn expired_media_url_is_a_meta_error() {
    let server = Server::start(|_| {
        Reply::meta_error(StatusCode::NOT_FOUND, 100, "Unsupported get request.")
    })
    .await;
    let err = server
        .client()
        .download_media(&format!("{}/media-files/expired", server.base))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(100));
}

#[tokio::test]
async fn media_delete() {
    let server = Server::start(|_| Reply::json(json!({"success": true}))).await;
    server.client().delete_media("999", None).await.unwrap();
    let seen = server.only_request();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("DELETE", "/v23.0/999")
    );
    assert_bearer(&seen);
}

// ----- Account -------------------------------------------------------------------------------

#[tokio::test]
async fn phone_numbers_waba_and_profile() {
    let server = Server::start(|seen| match seen.path.as_str() {
        "/v23.0/222/phone_numbers" => match seen.query_value("after").as_deref() {
            None => Reply::json(json!({"data": [{"id": "1906385232743451",
                "display_phone_number": "+1 631-555-5555", "verified_name": "Jasper's Market",
                "status": "LINKED", "quality_rating": "GREEN", "messaging_limit_tier": "TIER_1K",
                "throughput": {"level": "STANDARD"}, "new_field": 1}],
                "paging": {"cursors": {"after": "P2"}, "next": "https://graph/next"}})),
            Some("P2") => Reply::json(json!({"data": [{"id": "1913623884432103",
                "display_phone_number": "+1 631-555-5556", "status": "PENDING",
                "quality_rating": "UNKNOWN"}], "paging": {"cursors": {"after": "P3"}}})),
            Some(other) => panic!("cursor {other}"),
        },
        "/v23.0/111" => Reply::json(
            json!({"id": "111", "display_phone_number": "+1 555-555-5555",
            "verified_name": "Jaspers Market", "quality_rating": "GREEN",
            "code_verification_status": "VERIFIED", "name_status": "APPROVED"}),
        ),
        "/v23.0/222" => Reply::json(json!({"id": "222", "name": "My WABA", "timezone_id": "1",
            "message_template_namespace": "ba30dd89_2ebd_41e4_b805_f2c05ae04cc9",
            "account_review_status": "APPROVED"})),
        "/v23.0/111/whatsapp_business_profile" if seen.method == Method::GET => Reply::json(
            json!({"data": [{"business_profile": {"messaging_product": "whatsapp",
                "about": "Fresh fruit", "address": "1 Market St", "description": "Grocer",
                "email": "hi@jaspers.example", "profile_picture_url": "https://pps.example/p.jpg",
                "websites": ["https://jaspers.example"], "vertical": "GROCERY"}}]}),
        ),
        "/v23.0/111/whatsapp_business_profile" => Reply::json(json!({"success": true})),
        other => panic!("unexpected {other}"),
    })
    .await;
    let client = server.client();

    let numbers = client
        .list_phone_numbers("222", Some("id,display_phone_number,status"))
        .await
        .unwrap();
    assert_eq!(numbers.len(), 2);
    assert_eq!(
        numbers[0].throughput.as_ref().unwrap().level.as_deref(),
        Some("STANDARD")
    );
    assert_eq!(numbers[0].extra["new_field"], 1);
    assert_eq!(numbers[1].quality_rating.as_deref(), Some("UNKNOWN"));

    let number = client
        .phone_number("111", Some(cloud_api::account::PHONE_NUMBER_FIELDS))
        .await
        .unwrap();
    assert_eq!(number.verified_name.as_deref(), Some("Jaspers Market"));
    assert_eq!(number.name_status.as_deref(), Some("APPROVED"));

    let waba = client.business_account("222", None).await.unwrap();
    assert_eq!(waba.name.as_deref(), Some("My WABA"));

    let profile = client.business_profile("111").await.unwrap();
    assert_eq!(profile.about.as_deref(), Some("Fresh fruit"));
    assert_eq!(profile.websites, ["https://jaspers.example"]);

    let update = BusinessProfileUpdate {
        about: Some("Fresh fruit daily".into()),
        websites: Some(vec!["https://jaspers.example".into()]),
        vertical: Some("GROCERY".into()),
        ..BusinessProfileUpdate::default()
    };
    client
        .update_business_profile("111", &update)
        .await
        .unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 6);
    for seen in &requests {
        assert_bearer(seen);
    }
    assert_eq!(
        requests[0].query_value("fields").as_deref(),
        Some("id,display_phone_number,status")
    );
    assert_eq!(requests[1].query_value("after").as_deref(), Some("P2"));
    assert_eq!(
        requests[2].query_value("fields").as_deref(),
        Some(cloud_api::account::PHONE_NUMBER_FIELDS)
    );
    assert_eq!(requests[3].query, None);
    assert!(requests[4]
        .query_value("fields")
        .unwrap()
        .contains("profile_picture_url"));
    assert_eq!(requests[5].method, Method::POST);
    assert_eq!(
        requests[5].json(),
        json!({"messaging_product": "whatsapp", "about": "Fresh fruit daily",
            "websites": ["https://jaspers.example"], "vertical": "GROCERY"})
    );
}

#[tokio::test]
async fn onboarding_calls() {
    let server = Server::start(|seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("POST", "/v23.0/222/subscribed_apps") => Reply::json(json!({"success": true})),
        ("GET", "/v23.0/222/subscribed_apps") => Reply::json(json!({"data": [
            {"whatsapp_business_api_data": {"id": "1234567890123456",
                "name": "DataOptix", "link": "https://www.facebook.com/games/?app_id=1"}}]})),
        ("DELETE", "/v23.0/222/subscribed_apps")
        | ("POST", "/v23.0/111/register")
        | ("POST", "/v23.0/111/deregister") => Reply::json(json!({"success": true})),
        other => panic!("unexpected {other:?}"),
    })
    .await;
    let client = server.client();

    let result = client.subscribe_app("222", None).await.unwrap();
    assert!(result.success);
    let hook = WebhookOverride {
        override_callback_uri: "https://relay.example/webhook".into(),
        verify_token: "verify-me".into(),
    };
    client.subscribe_app("222", Some(&hook)).await.unwrap();
    let apps = client.subscribed_apps("222").await.unwrap();
    assert_eq!(apps[0].app_id(), Some("1234567890123456"));
    client.unsubscribe_app("222").await.unwrap();

    let bad = client
        .register("111", &RegisterRequest::new("12a456"))
        .await
        .unwrap_err();
    assert!(matches!(bad, CloudApiError::InvalidRequest(_)));
    client
        .register("111", &RegisterRequest::new("123456"))
        .await
        .unwrap();
    client.deregister("111").await.unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 6, "the bad PIN was never sent");
    for seen in &requests {
        assert_bearer(seen);
    }
    assert!(requests[0].body.is_empty(), "plain subscribe sends no body");
    assert_eq!(
        requests[1].json(),
        json!({"override_callback_uri": "https://relay.example/webhook",
            "verify_token": "verify-me"})
    );
    assert_eq!(
        requests[4].json(),
        json!({"messaging_product": "whatsapp", "pin": "123456"})
    );
    assert!(requests[5].body.is_empty());
}

// ----- OAuth ---------------------------------------------------------------------------------

#[tokio::test]
async fn code_exchange_and_debug_token() {
    let server = Server::start(|seen| match seen.path.as_str() {
        "/v23.0/oauth/access_token" => Reply::json(json!({"access_token": "EAAbusiness",
            "token_type": "bearer"})),
        "/v23.0/debug_token" => Reply::json(json!({"data": {"app_id": "1234",
            "type": "SYSTEM_USER", "application": "DataOptix", "is_valid": true,
            "expires_at": 0, "issued_at": 1700000000,
            "scopes": ["whatsapp_business_management", "whatsapp_business_messaging"],
            "granular_scopes": [{"scope": "whatsapp_business_management",
                "target_ids": ["222"]}]}})),
        other => panic!("unexpected {other}"),
    })
    .await;
    // The relay's client has no user token; the code exchange needs none.
    let client = CloudApiClient::new(ClientConfig {
        base_url: server.base.clone(),
        ..ClientConfig::default()
    })
    .unwrap();
    let secret = AppSecret::new("app-secret");
    let token = client
        .exchange_code(&CodeExchange::new("1234", secret.clone(), "AQD-code"))
        .await
        .unwrap();
    assert_eq!(token.access_token.expose(), "EAAbusiness");
    assert_eq!(token.expires_in, None);

    let info = client
        .with_token(AccessToken::app_token("1234", &secret))
        .debug_token(&token.access_token)
        .await
        .unwrap();
    assert!(info.is_valid);
    assert_eq!(info.expiry(), None);
    assert_eq!(info.waba_ids(), ["222"]);

    let requests = server.requests();
    assert_eq!(requests[0].method, Method::GET);
    assert_eq!(requests[0].auth, None);
    assert_eq!(
        requests[0].query_pairs(),
        [
            ("client_id".to_owned(), "1234".to_owned()),
            ("client_secret".to_owned(), "app-secret".to_owned()),
            ("code".to_owned(), "AQD-code".to_owned()),
        ]
    );
    assert_eq!(requests[1].auth.as_deref(), Some("Bearer 1234|app-secret"));
    assert_eq!(
        requests[1].query_value("input_token").as_deref(),
        Some("EAAbusiness")
    );
}
