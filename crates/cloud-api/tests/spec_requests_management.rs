//! The management bodies the client sends (templates, registration, business profile,
//! `subscribed_apps`, mark as read) against the request schemas of Meta's official spec, and the
//! response types against the spec's response schemas and examples.
//!
//! Meta's template schemas in the spec are generated from examples and therefore loose, so the
//! template tests go further: the builders must reproduce the spec's create examples exactly, and
//! every create example must parse into [`NewTemplate`] and serialize back unchanged.

mod common;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use cloud_api::account::{
    BusinessAccount, BusinessProfileResponse, BusinessProfileUpdate, PhoneNumber, RegisterRequest,
    SubscribedAppsList, SubscriptionResult, WebhookOverride,
};
use cloud_api::client::{Page, SuccessResponse};
use cloud_api::media::{MediaInfo, MediaUploaded};
use cloud_api::messages::MarkRead;
use cloud_api::templates::{
    HeaderFormat, MessageTemplate, NamedParamExample, NewTemplate, ParameterFormat, TemplateButton,
    TemplateCategory, TemplateComponent, TemplateCreated, TemplateEdit,
};
use common::{assert_request_valid, assert_response_valid, Spec};

const TEMPLATES: &str = "/{Version}/{WABA-ID}/message_templates";
const TEMPLATE: &str = "/{Version}/{TEMPLATE_ID}";
const REGISTER: &str = "/{Version}/{Phone-Number-ID}/register";
const DEREGISTER: &str = "/{Version}/{Phone-Number-ID}/deregister";
const PROFILE: &str = "/{Version}/{Phone-Number-ID}/whatsapp_business_profile";
const SUBSCRIBED_APPS: &str = "/{Version}/{WABA-ID}/subscribed_apps";
const PHONE_NUMBERS: &str = "/{Version}/{WABA-ID}/phone_numbers";
const PHONE_NUMBER: &str = "/{Version}/{Phone-Number-ID}";
const WABA: &str = "/{Version}/{WABA-ID}";
const MEDIA_UPLOAD: &str = "/{Version}/{Phone-Number-ID}/media";
const MEDIA: &str = "/{Version}/{Media-ID}";

fn body<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("serializable")
}

/// The named `examples` of an operation's JSON request body.
fn request_examples(path: &str, method: &str) -> Vec<(String, Value)> {
    named_examples(
        &Spec::official().document()["paths"][path][method]["requestBody"]["content"]
            ["application/json"]["examples"],
    )
}

/// The named `examples` of an operation's JSON response for `status`.
fn response_examples(path: &str, method: &str, status: &str) -> Vec<(String, Value)> {
    named_examples(
        &Spec::official().document()["paths"][path][method]["responses"][status]["content"]
            ["application/json"]["examples"],
    )
}

fn named_examples(examples: &Value) -> Vec<(String, Value)> {
    let examples = examples
        .as_object()
        .unwrap_or_else(|| panic!("no examples: {examples}"));
    examples
        .iter()
        .map(|(name, example)| (name.clone(), example["value"].clone()))
        .collect()
}

fn example(path: &str, method: &str, name: &str) -> Value {
    request_examples(path, method)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no request example {name:?} on {method} {path}"))
        .1
}

/// Parses `value` as `T` and serializes it back; the two must be equal.
fn assert_round_trip<T: DeserializeOwned + Serialize>(what: &str, value: &Value) -> T {
    let parsed: T = serde_json::from_value(value.clone())
        .unwrap_or_else(|e| panic!("{what} does not parse: {e}\n{value:#}"));
    pretty_assertions::assert_eq!(&body(&parsed), value, "{what} changed in a round trip");
    parsed
}

// ----- Templates -----------------------------------------------------------------------------

fn templates_we_build() -> Vec<(&'static str, NewTemplate)> {
    vec![
        (
            "text header, positional body, footer, quick replies",
            NewTemplate::new(
                "seasonal_promotion",
                "en_US",
                TemplateCategory::Marketing,
                vec![
                    TemplateComponent::header_text_with_example("Our {{1}} is on!", "Summer Sale"),
                    TemplateComponent::body_positional(
                        "Shop now through {{1}} and use code {{2}} to get {{3}} off.",
                        ["the end of August", "25OFF", "25%"],
                    ),
                    TemplateComponent::footer("Reply STOP to opt out"),
                    TemplateComponent::buttons(vec![
                        TemplateButton::quick_reply("Unsubscribe from Promos"),
                        TemplateButton::quick_reply("Unsubscribe from All"),
                    ]),
                ],
            ),
        ),
        (
            "named variables",
            NewTemplate::new(
                "order_update",
                "en_US",
                TemplateCategory::Utility,
                vec![
                    TemplateComponent::header_text_named(
                        "Hi {{first_name}}",
                        NamedParamExample::new("first_name", "Pablo"),
                    ),
                    TemplateComponent::body_named(
                        "Your order {{order_id}} ships on {{date}}.",
                        vec![
                            NamedParamExample::new("order_id", "860198-230332"),
                            NamedParamExample::new("date", "May 3"),
                        ],
                    ),
                ],
            )
            .with_parameter_format(ParameterFormat::Named),
        ),
        (
            "media header, URL, phone and copy-code buttons",
            NewTemplate::new(
                "receipt_with_coupon",
                "pt_BR",
                TemplateCategory::Marketing,
                vec![
                    TemplateComponent::header_media(HeaderFormat::Image, "4::aW1hZ2UvanBn:ARb"),
                    TemplateComponent::body("Thanks for shopping with us!"),
                    TemplateComponent::buttons(vec![
                        TemplateButton::dynamic_url(
                            "Track",
                            "https://shop.example/track/{{1}}",
                            "860198",
                        ),
                        TemplateButton::phone_number("Call us", "+16467043595"),
                        TemplateButton::copy_code("SAVE25"),
                    ]),
                ],
            ),
        ),
        (
            "authentication with OTP copy code",
            NewTemplate::new(
                "login_code",
                "en_US",
                TemplateCategory::Authentication,
                vec![
                    TemplateComponent::authentication_body(true),
                    TemplateComponent::authentication_footer(10),
                    TemplateComponent::buttons(vec![TemplateButton::otp_copy_code("Copy Code")]),
                ],
            ),
        ),
    ]
}

#[test]
fn template_create_bodies_are_valid_requests() {
    for (what, template) in templates_we_build() {
        let value = body(&template);
        assert_request_valid(TEMPLATES, "post", &value);
        let back: NewTemplate = serde_json::from_value(value).unwrap();
        assert_eq!(back, template, "{what}");
    }
}

#[test]
fn template_builders_reproduce_the_spec_examples() {
    let handle = "4::YXBwbGljYXRpb24vcGRm:ARZVv4zuogJMxmAdS3_6T4o_K4ll2806avA7rWpikisTzYPsXXUeKk0REjS-hIM1rYrizHD7rQXj951TKgUFblgd_BDWVROCwRkg9Vhjj-cHNQ:e:1681237341:634974688087057:100089620928913:ARa1ZDhwbLZM3EENeeg";
    let cases = [
        (
            "Create template w/ document header, text body, a phone number button, and a URL button",
            NewTemplate::new(
                "order_confirmation",
                "en_US",
                TemplateCategory::Utility,
                vec![
                    TemplateComponent::header_media(HeaderFormat::Document, handle),
                    TemplateComponent::body_positional(
                        "Thank you for your order, {{1}}! Your order number is {{2}}. Tap the PDF linked above to view your receipt. If you have any questions, please use the buttons below to contact support. Thanks again!",
                        ["Mark", "860198-230332"],
                    ),
                    TemplateComponent::buttons(vec![
                        TemplateButton::phone_number("Call", "16467043595"),
                        TemplateButton::url("Contact Support", "https://www.examplesite.com/support"),
                    ]),
                ],
            ),
        ),
        (
            "Create template w/ location header, text body, text footer, and a website buttons",
            NewTemplate::new(
                "order_delivery_update",
                "en_US",
                TemplateCategory::Utility,
                vec![
                    TemplateComponent::header_location(),
                    TemplateComponent::body_positional(
                        "Good news {{1}}! Your order #{{2}} is on its way to the location above. Thank you for your order!",
                        ["Mark", "566701"],
                    ),
                    TemplateComponent::footer(
                        "To stop receiving delivery updates, tap the button below.",
                    ),
                    TemplateComponent::buttons(vec![TemplateButton::quick_reply(
                        "Stop Delivery Updates",
                    )]),
                ],
            ),
        ),
        (
            "Create template w/ text header, text body, text footer, and 2 quick reply buttons",
            NewTemplate::new(
                "seasonal_promotion_text_only",
                "en",
                TemplateCategory::Marketing,
                vec![
                    TemplateComponent::header_text_with_example("Our {{1}} is on!", "Summer Sale"),
                    TemplateComponent::body_positional(
                        "Shop now through {{1}} and use code {{2}} to get {{3}} off of all merchandise.",
                        ["the end of August", "25OFF", "25%"],
                    ),
                    TemplateComponent::footer(
                        "Use the buttons below to manage your marketing subscriptions",
                    ),
                    TemplateComponent::buttons(vec![
                        TemplateButton::quick_reply("Unsubcribe from Promos"),
                        TemplateButton::quick_reply("Unsubscribe from All"),
                    ]),
                ],
            ),
        ),
        (
            "Create authentication template w/ OTP copy code button",
            NewTemplate::new(
                "authentication_code_copy_code_button",
                "en_US",
                TemplateCategory::Authentication,
                vec![
                    TemplateComponent::authentication_body(true),
                    TemplateComponent::authentication_footer(10),
                    TemplateComponent::buttons(vec![TemplateButton::otp_copy_code("Copy Code")]),
                ],
            ),
        ),
    ];
    for (name, built) in cases {
        pretty_assertions::assert_eq!(body(&built), example(TEMPLATES, "post", name), "{name}");
    }
}

/// Meta's examples write some component types in lowercase (`"type": "body"`); the crate
/// accepts that and writes the uppercase form Meta documents.
fn with_uppercase_component_types(mut value: Value) -> Value {
    if let Some(components) = value["components"].as_array_mut() {
        for component in components {
            if let Some(kind) = component["type"].as_str() {
                component["type"] = kind.to_ascii_uppercase().into();
            }
        }
    }
    value
}

#[test]
fn every_spec_create_example_parses_without_loss() {
    let examples = request_examples(TEMPLATES, "post");
    assert!(examples.len() >= 10);
    for (name, value) in examples {
        let value = with_uppercase_component_types(value);
        let template: NewTemplate = assert_round_trip(&name, &value);
        assert_request_valid(TEMPLATES, "post", &body(&template));
    }
}

#[test]
fn template_edit_body_is_a_valid_request() {
    let edit = TemplateEdit {
        category: Some(TemplateCategory::Marketing),
        components: Some(vec![
            TemplateComponent::header_text("Fall Sale"),
            TemplateComponent::body_positional(
                "Hi {{1}}, our Fall Sale is on! Use promo code {{2}}.",
                ["Mark", "FALL25"],
            ),
            TemplateComponent::footer("Not interested? Tap Stop promotions"),
            TemplateComponent::buttons(vec![TemplateButton::quick_reply("Stop promotions")]),
        ]),
        ..TemplateEdit::default()
    };
    assert_request_valid(TEMPLATE, "post", &body(&edit));
}

#[test]
fn template_responses_match_the_spec() {
    for (name, value) in response_examples(TEMPLATES, "get", "200") {
        let page: Page<MessageTemplate> = assert_round_trip(&name, &value);
        assert!(!page.data.is_empty());
        assert_response_valid(TEMPLATES, "get", "200", &body(&page));
    }
    for (name, value) in response_examples(TEMPLATES, "post", "200") {
        let created: TemplateCreated = assert_round_trip(&name, &value);
        assert_response_valid(TEMPLATES, "post", "200", &body(&created));
    }
    for (path, method) in [(TEMPLATE, "post"), (TEMPLATES, "delete")] {
        for (name, value) in response_examples(path, method, "200") {
            let ok: SuccessResponse = assert_round_trip(&name, &value);
            assert!(ok.success);
        }
        assert_response_valid(path, method, "200", &json!({"success": true}));
    }
    for (name, value) in response_examples(TEMPLATE, "get", "200") {
        let template: MessageTemplate = assert_round_trip(&name, &value);
        assert_response_valid(TEMPLATE, "get", "200", &body(&template));
    }
}

// ----- Registration --------------------------------------------------------------------------

#[test]
fn register_bodies_are_valid_requests() {
    let basic = RegisterRequest::new("123456");
    assert_request_valid(REGISTER, "post", &body(&basic));
    assert_eq!(
        body(&basic),
        example(REGISTER, "post", "basic_registration")
    );

    let localized = RegisterRequest {
        data_localization_region: Some("DE".into()),
        ..RegisterRequest::new("000111")
    };
    assert_request_valid(REGISTER, "post", &body(&localized));

    // The schema is strict about the PIN: the client's own check agrees with it.
    let spec = Spec::official();
    for pin in ["12345", "1234567", "12a456"] {
        let request = RegisterRequest::new(pin);
        assert!(!request.pin_is_valid(), "{pin}");
        assert!(
            !spec
                .request_errors(REGISTER, "post", &body(&request))
                .is_empty(),
            "the spec accepts PIN {pin}"
        );
    }

    for path in [REGISTER, DEREGISTER] {
        for (name, value) in response_examples(path, "post", "200") {
            let ok: SuccessResponse = assert_round_trip(&name, &value);
            assert_response_valid(path, "post", "200", &body(&ok));
        }
    }
}

// ----- Business profile ----------------------------------------------------------------------

#[test]
fn business_profile_updates_are_valid_requests() {
    let update = BusinessProfileUpdate {
        about: Some("Fresh fruit, every day 🍓".into()),
        address: Some("1 Market Street, Springfield".into()),
        description: Some("Family grocer since 1982.".into()),
        email: Some("hello@grocer.example".into()),
        websites: Some(vec![
            "https://grocer.example".into(),
            "https://www.instagram.com/grocer".into(),
        ]),
        vertical: Some("GROCERY".into()),
        profile_picture_handle: Some("4::aW1hZ2UvanBlZw==:ARa".into()),
        ..BusinessProfileUpdate::default()
    };
    assert_request_valid(PROFILE, "post", &body(&update));
    let minimal = BusinessProfileUpdate {
        description: Some("Updated business description".into()),
        ..BusinessProfileUpdate::default()
    };
    assert_request_valid(PROFILE, "post", &body(&minimal));

    for (name, value) in request_examples(PROFILE, "post") {
        let parsed: BusinessProfileUpdate = assert_round_trip(&name, &value);
        assert_request_valid(PROFILE, "post", &body(&parsed));
    }

    // The spec is live: a third website is refused.
    let too_many = BusinessProfileUpdate {
        websites: Some(vec!["https://a.example".into(); 3]),
        ..BusinessProfileUpdate::default()
    };
    assert!(!Spec::official()
        .request_errors(PROFILE, "post", &body(&too_many))
        .is_empty());
}

#[test]
fn business_profile_responses_match_the_spec() {
    for (name, value) in response_examples(PROFILE, "get", "200") {
        let response: BusinessProfileResponse = assert_round_trip(&name, &value);
        assert_response_valid(PROFILE, "get", "200", &body(&response));
        let profile = response.into_profile();
        assert_eq!(profile.vertical.as_deref(), Some("RESTAURANT"));
    }
    assert_response_valid(PROFILE, "post", "200", &json!({"success": true}));
}

// ----- Webhook subscription ------------------------------------------------------------------

#[test]
fn subscribed_apps_bodies_are_valid_requests() {
    let hook = WebhookOverride {
        override_callback_uri: "https://relay.example/webhooks/meta".into(),
        verify_token: "a-long-random-verify-token".into(),
    };
    assert_request_valid(SUBSCRIBED_APPS, "post", &body(&hook));
    // Without an override the client sends no body; `{}` is the spec's equivalent.
    assert_request_valid(SUBSCRIBED_APPS, "post", &json!({}));
    let custom = example(SUBSCRIBED_APPS, "post", "custom_callback");
    assert_round_trip::<WebhookOverride>("custom_callback", &custom);

    for (name, value) in response_examples(SUBSCRIBED_APPS, "post", "200") {
        let result: SubscriptionResult = assert_round_trip(&name, &value);
        assert!(result.success);
        assert_response_valid(SUBSCRIBED_APPS, "post", "200", &body(&result));
    }
    for (name, value) in response_examples(SUBSCRIBED_APPS, "get", "200") {
        let list: SubscribedAppsList = assert_round_trip(&name, &value);
        assert_response_valid(SUBSCRIBED_APPS, "get", "200", &body(&list));
    }
    for (name, value) in response_examples(SUBSCRIBED_APPS, "delete", "200") {
        let result: SubscriptionResult = assert_round_trip(&name, &value);
        assert_response_valid(SUBSCRIBED_APPS, "delete", "200", &body(&result));
    }
}

// ----- Mark as read --------------------------------------------------------------------------

#[test]
fn mark_as_read_bodies_are_valid() {
    let spec = Spec::official();
    for read in [
        MarkRead::new("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYzMjEzNDM2RTZGQ0MzMDJBRgA="),
        MarkRead::new("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYzMjEzNDM2RTZGQ0MzMDJBRgA=")
            .with_typing_indicator(),
    ] {
        spec.assert_schema_valid("MarkMessageRequestPayload", &body(&read));
    }
    let with_typing =
        MarkRead::new("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYzMjEzNDM2RTZGQ0MzMDJBRgA=")
            .with_typing_indicator();
    assert_eq!(
        body(&with_typing),
        example(
            "/{Version}/{Phone-Number-ID}/messages",
            "post",
            "Send typing indicator and read receipt"
        )
    );
}

// ----- Phone numbers, WABA, media ------------------------------------------------------------

#[test]
fn account_responses_match_the_spec() {
    for (name, value) in response_examples(PHONE_NUMBERS, "get", "200") {
        let page: Page<PhoneNumber> = assert_round_trip(&name, &value);
        assert!(!page.data.is_empty());
    }
    let sample: Page<PhoneNumber> = serde_json::from_value(json!({"data": [{
        "id": "1906385232743451", "display_phone_number": "+1 631-555-5555",
        "verified_name": "Jasper's Market", "status": "LINKED", "quality_rating": "GREEN",
        "code_verification_status": "VERIFIED", "messaging_limit_tier": "TIER_1K",
        "account_mode": "LIVE", "host_platform": "CLOUD_API"}],
        "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}}))
    .unwrap();
    assert_response_valid(PHONE_NUMBERS, "get", "200", &body(&sample));

    for (name, value) in response_examples(PHONE_NUMBER, "get", "200") {
        let number: PhoneNumber = assert_round_trip(&name, &value);
        assert_response_valid(PHONE_NUMBER, "get", "200", &body(&number));
    }
    for (name, value) in response_examples(WABA, "get", "200") {
        let waba: BusinessAccount = assert_round_trip(&name, &value);
        assert_response_valid(WABA, "get", "200", &body(&waba));
    }
}

#[test]
fn media_responses_match_the_spec() {
    for (name, value) in response_examples(MEDIA_UPLOAD, "post", "200") {
        let uploaded: MediaUploaded = assert_round_trip(&name, &value);
        assert_response_valid(MEDIA_UPLOAD, "post", "200", &body(&uploaded));
    }
    for (name, value) in response_examples(MEDIA, "get", "200") {
        let info: MediaInfo = assert_round_trip(&name, &value);
        assert_response_valid(MEDIA, "get", "200", &body(&info));
    }
    for (name, value) in response_examples(MEDIA, "delete", "200") {
        let ok: SuccessResponse = assert_round_trip(&name, &value);
        assert_response_valid(MEDIA, "delete", "200", &body(&ok));
    }
}
