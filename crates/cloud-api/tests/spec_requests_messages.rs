//! Every body the message builders produce validates against Meta's official OpenAPI spec for
//! `POST /{Version}/{Phone-Number-ID}/messages`.
//!
//! What is validated:
//! - All 50 official examples, each parsed into `MessagesRequest` and serialized again, i.e. the
//!   body this crate produces for them (`send_examples.rs` proves the builders produce exactly
//!   these bodies).
//! - Builder combinations the examples do not cover (voice note as a reply, mark-as-read with
//!   typing indicator, CTA URL, location request, named template parameters, coupon code, …).
//! - Mark-as-read bodies against the spec's `MarkMessageRequestPayload`: the operation's request
//!   schema (`Message`) only describes sends, although the operation's own example list includes
//!   "Send typing indicator and read receipt".
//! - Template components and parameters additionally against the schema their `type` maps to
//!   (`HeaderComponent`, `CurrencyParameter`, …). The spec declares those mappings with
//!   `discriminator` only, which JSON Schema ignores, so without this step nothing inside
//!   `template.components[]` beyond `type`/`sub_type`/`index` would be checked.
//! - Send and mark-as-read responses against the response schemas.
//!
//! The spec is wrong in places where Meta's own examples and guides agree with each other. Those
//! places are corrected by the narrow [`errata`] below (one keyword each, with the evidence), and
//! a test proves every erratum is still needed. Separately, a few examples omit members that
//! Meta fills with a documented default, or keep a placeholder where the spec expects an enum
//! value: those are [`Deviation`]s of named examples only, and a test proves each is needed.

mod common;

use cloud_api::messages::{
    Audio, ButtonAction, Contact, ContactLabel, Currency, DateTime, Document, Header, Image,
    Interactive, ListRow, ListSection, Location, MarkRead, MarkReadResponse, MessagesRequest,
    PacingStatus, Parameter, Phone, RecipientType, ReplyButton, SendMessage, SendResponse,
    SentContact, SentMessage, Sticker, Template, Text, Video,
};
use common::{Erratum, Spec};
use serde_json::{json, Map, Value};

const MESSAGES: &str = "/{Version}/{Phone-Number-ID}/messages";

/// Corrections of the spec, each backed by Meta's own examples or guides.
fn errata() -> Vec<Erratum> {
    let mut errata = Vec::new();
    for component in [
        "/components/schemas/TemplateComponent/properties",
        "/components/schemas/ButtonComponent/allOf/1/properties",
    ] {
        errata.push(Erratum::replace(
            format!("{component}/index/pattern"),
            json!("^[2-6, 11-14]$"),
            json!("^[0-9]$"),
            "The pattern is a malformed character class that rejects \"0\", the index of the \
             first button, which Meta's examples use (\"Send Message Template Interactive\", \
             \"Send Flow Template Message\"); its own description says 0-9.",
        ));
        errata.push(Erratum::replace(
            format!("{component}/index/type"),
            json!("string"),
            json!(["string", "integer"]),
            "Meta's examples \"Send Catalog Template Message\" and \"Send Sample Issue \
             Resolution Template\" and its coupon-code guide send the index as a JSON number.",
        ));
        errata.push(Erratum::replace(
            format!("{component}/sub_type/enum"),
            json!(["quick_reply", "url", "catalog"]),
            json!([
                "quick_reply",
                "url",
                "catalog",
                "flow",
                "copy_code",
                "CATALOG"
            ]),
            "Meta's example \"Send Flow Template Message\" uses sub_type flow, \"Send Catalog \
             Template Message\" writes CATALOG in upper case, and the coupon-code guide sends \
             copy-code buttons.",
        ));
    }
    errata.push(Erratum::replace(
        "/components/schemas/ButtonParameterObject/properties/type/enum",
        json!(["payload", "text"]),
        json!(["payload", "text", "action", "coupon_code"]),
        "Flow and catalog buttons take an `action` parameter (Meta's examples \"Send Flow \
         Template Message\", \"Send Catalog Template Message\"); coupon buttons a `coupon_code` \
         parameter (coupon-code guide).",
    ));
    errata.push(Erratum::replace(
        "/components/schemas/LanguageObject/required",
        json!(["policy", "code"]),
        json!(["code"]),
        "`policy` is optional: nine of Meta's ten template examples (\"Send Test Message\" with \
         hello_world among them) send only `code`.",
    ));
    for axis in ["latitude", "longitude"] {
        errata.push(Erratum::replace(
            format!(
                "/components/schemas/LocationMessage/allOf/1/properties/location/properties/\
                 {axis}/type"
            ),
            json!("string"),
            json!("number"),
            "Coordinates are numbers in Meta's examples (\"Send Location Message\") and guide; \
             the spec's own `example` for them is a number too.",
        ));
    }
    errata.push(Erratum::replace(
        "/components/schemas/InteractiveObject/properties/type/enum",
        json!([
            "button",
            "call_permission_request",
            "catalog_message",
            "list",
            "product",
            "product_list",
            "flow"
        ]),
        json!([
            "button",
            "call_permission_request",
            "catalog_message",
            "list",
            "product",
            "product_list",
            "flow",
            "order_details",
            "order_status",
            "cta_url",
            "location_request_message"
        ]),
        "order_details and order_status are Meta's examples \"Send Order Details Message\" and \
         \"Send Order Status Message\"; cta_url and location_request_message are documented in \
         Meta's interactive message guides (CLOUD-API-NOTES.md §3).",
    ));
    errata.push(Erratum::append(
        "/components/schemas/ActionObject/oneOf",
        json!({
            "required": ["name", "parameters"],
            "properties": {
                "name": {"type": "string", "enum": ["review_and_pay", "review_order"]},
                "parameters": {"type": "object", "required": ["reference_id", "order"]}
            }
        }),
        "The actions of Meta's order examples (\"Send Order Details Message\", \"Send Order \
         Status Message\") match none of the spec's action alternatives.",
    ));
    errata.push(Erratum::append(
        "/components/schemas/ActionObject/oneOf",
        json!({
            "required": ["name", "parameters"],
            "properties": {
                "name": {"type": "string", "enum": ["cta_url"]},
                "parameters": {
                    "type": "object",
                    "required": ["display_text", "url"],
                    "properties": {
                        "display_text": {"type": "string", "maxLength": 20},
                        "url": {"type": "string"}
                    }
                }
            }
        }),
        "The CTA URL action (Meta's \"Interactive CTA URL button messages\" guide) is missing.",
    ));
    errata.push(Erratum::append(
        "/components/schemas/ActionObject/oneOf",
        json!({
            "required": ["name"],
            "properties": {"name": {"type": "string", "enum": ["send_location"]}}
        }),
        "The location request action (Meta's \"Location request messages\" guide) is missing.",
    ));
    errata.push(Erratum::insert(
        "/components/schemas/BaseMessageProperties/properties/biz_opaque_callback_data",
        json!({"type": "string", "maxLength": 512}),
        "Meta's status webhook reference documents `biz_opaque_callback_data` on sends (echoed \
         in status webhooks); the spec omits it.",
    ));
    errata
}

/// How a named example differs from what the spec requires, although Meta accepts it.
#[derive(Debug, Clone, Copy)]
enum Deviation {
    /// `recipient_type` omitted: Meta defaults it to `individual`, the spec marks it required.
    DefaultRecipientType,
    /// `type` omitted: the spec marks it required. For text Meta's default (`text`) applies;
    /// "Send Reply to List Message" omits `"type": "interactive"`, which on Graph would default
    /// to `text`, so that example is probably broken as written. Validated with the type its
    /// content implies.
    DefaultType,
    /// "Send Sample Issue Resolution Template" sends JSON booleans as quick-reply `text`; the
    /// spec and every guide make it a string. Validated with the strings `"true"`/`"false"`.
    BooleanButtonText,
    /// "Send Multi-Product Message" keeps the placeholder `<HEADER_TYPE>` where the spec
    /// enumerates header types; validated with `text`, the header it has.
    HeaderTypePlaceholder,
}

impl Deviation {
    fn apply(self, body: &mut Value) {
        match self {
            Self::DefaultRecipientType => {
                body["recipient_type"] = json!("individual");
            }
            Self::DefaultType => {
                let parsed: SendMessage =
                    serde_json::from_value(body.clone()).expect("the example parses");
                body["type"] = json!(parsed.message_type().as_str());
            }
            Self::BooleanButtonText => {
                for component in array_mut(&mut body["template"]["components"]) {
                    for parameter in array_mut(&mut component["parameters"]) {
                        if let Some(flag) = parameter["text"].as_bool() {
                            parameter["text"] = json!(flag.to_string());
                        }
                    }
                }
            }
            Self::HeaderTypePlaceholder => {
                assert_eq!(body["interactive"]["header"]["type"], "<HEADER_TYPE>");
                body["interactive"]["header"]["type"] = json!("text");
            }
        }
    }
}

fn deviations(example: &str) -> &'static [Deviation] {
    use Deviation::*;
    match example {
        "Send Contact Message"
        | "Send Reply to Contact Message"
        | "Send Flow Template Message"
        | "Send Test Message" => &[DefaultRecipientType],
        "Send Sample Issue Resolution Template" => &[DefaultRecipientType, BooleanButtonText],
        "Send Text Message with Preview URL" => &[DefaultRecipientType, DefaultType],
        "Send Reply to List Message" => &[DefaultType],
        "Send Multi-Product Message" => &[HeaderTypePlaceholder],
        _ => &[],
    }
}

fn array_mut(value: &mut Value) -> &mut [Value] {
    match value {
        Value::Array(items) => items,
        _ => &mut [],
    }
}

fn examples() -> Map<String, Value> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/meta/examples/openapi_send_message_examples.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).expect("the send examples file is a JSON object")
}

/// The body this crate produces for an example: parsed and serialized again.
fn produced(name: &str, example: &Value) -> Value {
    let parsed: MessagesRequest = serde_json::from_value(example.clone())
        .unwrap_or_else(|error| panic!("example {name:?} does not parse: {error}"));
    let body = serde_json::to_value(parsed).expect("bodies serialize");
    assert_eq!(&body, example, "example {name:?} changed in a round trip");
    body
}

/// All validation errors of a body of `POST /messages`.
fn errors(spec: &Spec, body: &Value) -> Vec<String> {
    if body.get("status").is_some() {
        return spec.schema_errors("MarkMessageRequestPayload", body);
    }
    let mut errors = spec.request_errors(MESSAGES, "post", body);
    errors.extend(template_errors(spec, body));
    errors
}

/// Template components and parameters against the schemas their `type` maps to (the spec's
/// `discriminator` mappings of `TemplateComponent`, `ParameterObject`, `ButtonParameterObject`).
fn template_errors(spec: &Spec, body: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let Some(components) = body
        .pointer("/template/components")
        .and_then(Value::as_array)
    else {
        return errors;
    };
    for (index, component) in components.iter().enumerate() {
        let kind = component["type"].as_str().unwrap_or_default();
        let schema = match kind {
            "header" => "HeaderComponent",
            "body" => "BodyComponent",
            "button" => "ButtonComponent",
            _ => continue,
        };
        let at = format!("template.components[{index}] ({schema})");
        let mut found: Vec<String> = spec.schema_errors(schema, component);
        for (position, parameter) in array(&component["parameters"]).iter().enumerate() {
            let mapped = match (kind, parameter["type"].as_str().unwrap_or_default()) {
                ("button", "payload") => "ButtonPayloadParameter",
                ("button", "text") => "ButtonTextParameter",
                ("button", _) => continue,
                (_, "text") => "TextParameter",
                (_, "currency") => "CurrencyParameter",
                (_, "date_time") => "DateTimeParameter",
                (_, "image") => "ImageParameter",
                (_, "video") => "VideoParameter",
                (_, "document") => "DocumentParameter",
                _ => continue,
            };
            found.extend(
                spec.schema_errors(mapped, parameter)
                    .into_iter()
                    .map(|error| format!("parameters[{position}] ({mapped}): {error}")),
            );
        }
        errors.extend(found.into_iter().map(|error| format!("{at}: {error}")));
    }
    errors
}

fn array(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// The bodies of all examples after their deviations, keyed by example name.
fn example_bodies() -> Vec<(String, Value)> {
    let examples = examples();
    assert_eq!(examples.len(), 50, "Meta's spec has 50 send examples");
    examples
        .iter()
        .map(|(name, example)| {
            let mut body = produced(name, example);
            for deviation in deviations(name) {
                deviation.apply(&mut body);
            }
            (name.clone(), body)
        })
        .collect()
}

const TO: &str = "+16505551234";
const WAMID: &str = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYzMjEzNDM2RTZGQ0MzMDJBRgA=";

/// Builder combinations beyond the examples.
fn combinations() -> Vec<(&'static str, MessagesRequest)> {
    vec![
        (
            "voice note replying to a message",
            SendMessage::new(TO, Audio::id("1013859600285441").voice(true))
                .reply_to(WAMID)
                .into(),
        ),
        (
            "read receipt with typing indicator",
            MarkRead::new(WAMID).with_typing_indicator().into(),
        ),
        ("read receipt", MarkRead::new(WAMID).into()),
        (
            "text with link preview replying to a message",
            SendMessage::new(
                TO,
                Text::new("Your order: https://example.com/o/42").preview_url(true),
            )
            .reply_to(WAMID)
            .into(),
        ),
        ("plain text", SendMessage::text(TO, "Hello").into()),
        (
            "text to a group with callback data",
            SendMessage::text(
                "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD",
                "Hi all",
            )
            .recipient_type(RecipientType::Group)
            .callback_data("campaign-7")
            .into(),
        ),
        (
            "reaction",
            SendMessage::reaction(TO, WAMID, "\u{2764}\u{fe0f}").into(),
        ),
        (
            "reaction removal",
            SendMessage::remove_reaction(TO, WAMID).into(),
        ),
        (
            "image by link with caption",
            SendMessage::new(TO, Image::link("https://example.com/a.jpg").caption("Menu")).into(),
        ),
        (
            "document by link with caption and filename",
            SendMessage::new(
                TO,
                Document::link("https://example.com/invoice.pdf")
                    .caption("Invoice")
                    .filename("invoice-42.pdf"),
            )
            .into(),
        ),
        (
            "video by id replying to a message",
            SendMessage::new(TO, Video::id("1166846181421424").caption("How to"))
                .reply_to(WAMID)
                .into(),
        ),
        (
            "sticker by link",
            SendMessage::new(TO, Sticker::link("https://example.com/s.webp")).into(),
        ),
        (
            "location with only coordinates",
            SendMessage::new(TO, Location::new(-33.8688, 151.2093)).into(),
        ),
        (
            "minimal contact card",
            SendMessage::new(
                TO,
                Contact::new("Ada Lovelace").phone(
                    Phone::new("+44 20 7946 0000", ContactLabel::Work).wa_id("442079460000"),
                ),
            )
            .into(),
        ),
        (
            "reply buttons with image header and footer",
            SendMessage::new(
                TO,
                Interactive::reply_buttons(
                    "Confirm your booking?",
                    [ReplyButton::new("yes", "Yes"), ReplyButton::new("no", "No")],
                )
                .header(Header::image(Image::link("https://example.com/room.jpg")))
                .footer("Reply within 24 h"),
            )
            .into(),
        ),
        (
            "list with one untitled section",
            SendMessage::new(
                TO,
                Interactive::list(
                    "Pick a slot",
                    "Slots",
                    [ListSection::untitled([
                        ListRow::new("9", "09:00"),
                        ListRow::new("10", "10:00").description("Last one"),
                    ])],
                ),
            )
            .into(),
        ),
        (
            "CTA URL with header and footer",
            SendMessage::new(
                TO,
                Interactive::cta_url("Track your parcel", "Track", "https://example.com/t/42")
                    .header(Header::text("Shipped"))
                    .footer("DataOptix Shop"),
            )
            .into(),
        ),
        (
            "location request",
            SendMessage::new(
                TO,
                Interactive::location_request("Where should we deliver?"),
            )
            .into(),
        ),
        (
            "template with named parameters, document header and URL button",
            SendMessage::new(
                TO,
                Template::new("order_confirmation", "en_US")
                    .header([Parameter::document(
                        Document::link("https://example.com/receipt.pdf").filename("receipt.pdf"),
                    )])
                    .body([
                        Parameter::named_text("first_name", "Jessica"),
                        Parameter::named_text("order_number", "SKBUP2-4CPIG9"),
                    ])
                    .url_button(0, "SKBUP2-4CPIG9"),
            )
            .into(),
        ),
        (
            "template with currency, date/time, video header and quick replies",
            SendMessage::new(
                TO,
                Template::new("appointment_reminder", "pt_BR")
                    .deterministic()
                    .header([Parameter::video(Video::id("1166846181421424"))])
                    .body([
                        Parameter::currency(Currency::new("R$ 50,00", "BRL", 50_000)),
                        Parameter::date_time(DateTime::new("12 de março, 14:00")),
                    ])
                    .quick_reply(0, "CONFIRM")
                    .quick_reply(1, "RESCHEDULE"),
            )
            .into(),
        ),
        (
            "authentication template (one-time password)",
            SendMessage::new(
                TO,
                Template::new("login_code", "en")
                    .body([Parameter::text("482913")])
                    .url_button(0, "482913"),
            )
            .into(),
        ),
        (
            "coupon template",
            SendMessage::new(
                TO,
                Template::new("fall_sale", "en_US")
                    .body([Parameter::text("25OFF"), Parameter::text("25%")])
                    .copy_code(1, "25OFF"),
            )
            .into(),
        ),
        (
            "flow template",
            SendMessage::new(
                TO,
                Template::new("signup", "en_US").flow_button(0, ButtonAction::flow("t-1", None)),
            )
            .into(),
        ),
    ]
}

fn combination_bodies() -> Vec<(String, Value)> {
    combinations()
        .into_iter()
        .map(|(label, request)| {
            let body = serde_json::to_value(&request).expect("bodies serialize");
            let parsed: MessagesRequest =
                serde_json::from_value(body.clone()).expect("builder output parses");
            assert_eq!(parsed, request, "{label}: changed in a round trip");
            (label.to_owned(), body)
        })
        .collect()
}

fn assert_all_valid(spec: &Spec, bodies: &[(String, Value)]) {
    let failures: Vec<String> = bodies
        .iter()
        .filter_map(|(name, body)| {
            let errors = errors(spec, body);
            (!errors.is_empty()).then(|| format!("{name}:\n    {}", errors.join("\n    ")))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} bodies do not match the spec (with errata):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_example_validates() {
    assert_all_valid(&Spec::with_errata(&errata()), &example_bodies());
}

#[test]
fn builder_combinations_validate() {
    assert_all_valid(&Spec::with_errata(&errata()), &combination_bodies());
}

#[test]
fn every_deviation_is_needed() {
    let spec = Spec::with_errata(&errata());
    for (name, example) in examples() {
        let listed = deviations(&name);
        for skipped in 0..listed.len() {
            let mut body = produced(&name, &example);
            for (index, deviation) in listed.iter().enumerate() {
                if index != skipped {
                    deviation.apply(&mut body);
                }
            }
            assert!(
                !errors(&spec, &body).is_empty(),
                "{name:?} validates without deviation {:?}: drop it",
                listed[skipped]
            );
        }
    }
}

#[test]
fn every_erratum_is_needed() {
    let all = errata();
    let mut bodies = example_bodies();
    bodies.extend(combination_bodies());
    for (index, erratum) in all.iter().enumerate() {
        let mut others = all.clone();
        others.remove(index);
        let spec = Spec::with_errata(&others);
        assert!(
            bodies
                .iter()
                .any(|(_, body)| !errors(&spec, body).is_empty()),
            "every body validates without the erratum at {}: drop it",
            erratum.pointer
        );
    }
}

#[test]
fn the_official_spec_rejects_what_the_errata_fix() {
    // A sanity check that errata are not papering over a broken validator: the unmodified spec
    // must reject the hello_world template (no `policy`) and accept a plain text message.
    let spec = Spec::official();
    let hello_world =
        serde_json::to_value(SendMessage::new(TO, Template::new("hello_world", "en_US")))
            .expect("bodies serialize");
    assert!(!spec
        .request_errors(MESSAGES, "post", &hello_world)
        .is_empty());
    common::assert_request_valid(
        MESSAGES,
        "post",
        &serde_json::to_value(SendMessage::text(TO, "Hello")).expect("bodies serialize"),
    );
}

#[test]
fn the_validator_reports_real_mistakes() {
    let spec = Spec::with_errata(&errata());
    let mut body = serde_json::to_value(SendMessage::text(TO, "Hello")).expect("bodies serialize");
    body["recipient_type"] = json!("everyone");
    body["text"]["preview"] = json!(true);
    let errors = errors(&spec, &body).join("\n");
    assert!(errors.contains("everyone"), "{errors}");
    assert!(errors.contains("preview"), "{errors}");
}

#[test]
fn send_responses_parse_and_validate() {
    let spec = Spec::official();
    let pointer = format!(
        "/paths/{}/post/responses/200/content/application~1json/examples",
        MESSAGES.replace('/', "~1")
    );
    let examples = spec
        .document()
        .pointer(&pointer)
        .and_then(Value::as_object)
        .expect("the spec has 200 response examples for sends");
    assert!(!examples.is_empty());
    for (name, example) in examples {
        let body = &example["value"];
        common::assert_response_valid(MESSAGES, "post", "200", body);
        // The operation's examples include the answer to a mark-as-read request.
        let reserialized = if body.get("success").is_some() {
            spec.assert_schema_valid("MarkMessageResponsePayload", body);
            let parsed: MarkReadResponse = serde_json::from_value(body.clone())
                .unwrap_or_else(|error| panic!("response example {name:?}: {error}"));
            serde_json::to_value(parsed)
        } else {
            let parsed: SendResponse = serde_json::from_value(body.clone())
                .unwrap_or_else(|error| panic!("response example {name:?}: {error}"));
            assert!(parsed.message_id().is_some(), "{name}: no message id");
            serde_json::to_value(parsed)
        };
        assert_eq!(
            &reserialized.expect("serializes"),
            body,
            "{name} changed in a round trip"
        );
    }

    let paced = SendResponse {
        messaging_product: Default::default(),
        contacts: vec![SentContact {
            input: TO.into(),
            wa_id: Some("16505551234".into()),
        }],
        messages: vec![SentMessage {
            id: "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA".into(),
            message_status: Some(PacingStatus::HeldForQualityAssessment),
            group_id: None,
        }],
    };
    common::assert_response_valid(
        MESSAGES,
        "post",
        "200",
        &serde_json::to_value(paced).expect("serializes"),
    );
    spec.assert_schema_valid(
        "MarkMessageResponsePayload",
        &serde_json::to_value(MarkReadResponse { success: true }).expect("serializes"),
    );
}
