//! Each of the 50 request bodies in Meta's OpenAPI spec for `POST /{phone}/messages`
//! (`shared/meta/examples/openapi_send_message_examples.json`) built with the builders of
//! `cloud_api::messages` and compared as JSON values.
//!
//! Placeholders such as `{{Recipient-Phone-Number}}` or `<AUDIO_OBJECT_ID>` are passed to the
//! builders as ordinary strings, so the comparison is exact. Every example is also parsed with
//! [`MessagesRequest`] (what the simulator does with incoming bodies) and must serialize back
//! unchanged. A final test checks that every example in the file has a test here and vice versa.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use cloud_api::messages::{
    Address, Amount, Audio, ButtonAction, ButtonIndex, ButtonParameter, ButtonSubType, Calendar,
    CatalogMessageAction, Contact, ContactLabel, ContactName, Currency, DateTime, Document, Email,
    FlowParameters, FlowRef, GoodsType, Header, Image, Interactive, ListRow, ListSection, Location,
    MarkRead, MessagesRequest, Order, OrderDetails, OrderItem, OrderStatus, OrderStatusParameters,
    Organization, Parameter, Phone, ProductSection, ReplyButton, SendMessage, Sticker, Template,
    Text, Url, Video,
};
use pretty_assertions::assert_eq;
use serde_json::{json, Map, Value};

/// The recipient placeholder most examples use.
const TO: &str = "{{Recipient-Phone-Number}}";

fn examples() -> &'static Map<String, Value> {
    static EXAMPLES: OnceLock<Map<String, Value>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/meta/examples/openapi_send_message_examples.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!(
                "cannot read Meta's send examples at {}: {error}. `shared/` must be a sibling of \
                 the repository directory.",
                path.display()
            )
        });
        serde_json::from_str(&text).expect("the send examples file is a JSON object")
    })
}

/// Builds the body for example `name` and compares it with the file; then parses the example
/// and checks it serializes back unchanged.
fn check(name: &str, built: impl Into<MessagesRequest>) {
    let expected = examples()
        .get(name)
        .unwrap_or_else(|| panic!("no example named {name:?} in the examples file"));
    let built = serde_json::to_value(built.into()).expect("bodies serialize");
    assert_eq!(
        &built, expected,
        "builder output differs from example {name:?}"
    );

    let parsed: MessagesRequest = serde_json::from_value(expected.clone())
        .unwrap_or_else(|error| panic!("example {name:?} does not parse: {error}"));
    let reserialized = serde_json::to_value(&parsed).expect("bodies serialize");
    assert_eq!(
        &reserialized, expected,
        "example {name:?} changed in a round trip"
    );
}

/// Declares one test per example and the list of example names covered.
macro_rules! examples {
    ($( $test:ident: $name:literal => $body:expr; )*) => {
        const COVERED: &[&str] = &[$($name),*];
        $(
            #[test]
            fn $test() {
                check($name, $body);
            }
        )*
    };
}

fn john_smith() -> Contact {
    let address = |street: &str, label| Address {
        street: Some(street.into()),
        city: Some("Menlo Park".into()),
        state: Some("CA".into()),
        zip: Some("94025".into()),
        country: Some("United States".into()),
        country_code: Some("us".into()),
        label: Some(label),
    };
    Contact::with_name(ContactName {
        formatted_name: "John Smith".into(),
        first_name: Some("John".into()),
        last_name: Some("Smith".into()),
        middle_name: Some("D.".into()),
        suffix: Some("Jr".into()),
        prefix: Some("Dr".into()),
    })
    .address(address("1 Hacker Way", ContactLabel::Home))
    .address(address("200 Jefferson Dr", ContactLabel::Work))
    .birthday("2012-08-18")
    .email(Email::new("test@fb.com", ContactLabel::Work))
    .email(Email::new("test@whatsapp.com", ContactLabel::Home))
    .org(Organization {
        company: Some("WhatsApp".into()),
        department: Some("Design".into()),
        title: Some("Manager".into()),
    })
    .phone(Phone::new("+1 (940) 555-1234", ContactLabel::Home))
    .phone(Phone::new("+1 (650) 555-1234", ContactLabel::Work).wa_id("16505551234"))
    .url(Url::new("https://www.facebook.com", ContactLabel::Work))
    .url(Url::new("https://www.whatsapp.com", ContactLabel::Home))
}

fn meta_hq() -> Location {
    Location::new(37.758056, -122.425332)
        .name("META HQ")
        .address("1 Hacker Way, Menlo Park, CA 94025")
}

fn two_section_list() -> Interactive {
    let section = |n: u8| {
        let row = |r: u8| {
            ListRow::new(
                format!("<LIST_SECTION_{n}_ROW_{r}_ID>"),
                format!("<SECTION_{n}_ROW_{r}_TITLE>"),
            )
            .description(format!("<SECTION_{n}_ROW_{r}_DESC>"))
        };
        ListSection::new(format!("<LIST_SECTION_{n}_TITLE>"), [row(1), row(2)])
    };
    Interactive::list("<BODY_TEXT>", "<BUTTON_TEXT>", [section(1), section(2)])
        .header(Header::text("<HEADER_TEXT>"))
        .footer("<FOOTER_TEXT>")
}

fn custom_data() -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("<CUSTOM_KEY>".into(), json!("<CUSTOM_VALUE>"));
    data
}

/// The Flow examples differ only in how the Flow is named, its mode and its texts.
fn flow_message(flow: FlowRef, draft: bool) -> SendMessage {
    let (text, cta) = if draft {
        ("Not shown in draft mode", "Not shown in draft mode")
    } else {
        ("<BODY_TEXT>", "Open Flow!")
    };
    let mut parameters = FlowParameters::new(flow, cta)
        .token("<FLOW_TOKEN>")
        .navigate("<SCREEN_ID>", Some(custom_data()));
    let (header, footer) = if draft {
        parameters = parameters.draft();
        (text, text)
    } else {
        ("<HEADER_TEXT>", "<FOOTER_TEXT>")
    };
    SendMessage::new(
        TO,
        Interactive::flow(text, parameters)
            .header(Header::text(header))
            .footer(footer),
    )
}

/// Body parameters shared by the "template text/media/sample" examples.
fn text_currency_date_time() -> [Parameter; 3] {
    [
        Parameter::text("text-string"),
        Parameter::currency(Currency::new("$100.99", "USD", 100990)),
        Parameter::date_time(
            DateTime::new("February 25, 1977")
                .date(1977, 2, 25)
                .time(15, 33)
                .day_of_week(5)
                .calendar(Calendar::Gregorian),
        ),
    ]
}

fn sample_template(to: &str, with_header: bool) -> SendMessage {
    let mut template = Template::new("template-name", "language-and-locale-code");
    if with_header {
        template = template.header([Parameter::image(Image::link("http(s)://the-image-url"))]);
    }
    SendMessage::new(to, template.body(text_currency_date_time()))
}

fn bread_order() -> OrderDetails {
    let described = |value| Amount::new(value, 100).description("optional_text");
    let mut discount = described(100);
    discount.discount_program_name = Some("optional_text".into());
    OrderDetails {
        reference_id: "unique-reference-id".into(),
        goods_type: GoodsType::DigitalGoods,
        payment_type: Some("upi".into()),
        payment_configuration: Some("my-payment-config-name".into()),
        currency: "INR".into(),
        total_amount: Amount::new(1100, 100),
        order: Order {
            status: OrderStatus::Pending,
            catalog_id: None,
            items: vec![OrderItem {
                retailer_id: "1234567".into(),
                name: "bread".into(),
                amount: Amount::new(1500, 100),
                quantity: 1,
                sale_amount: Some(Amount::new(1000, 100)),
                country_of_origin: None,
                importer_name: None,
            }],
            subtotal: Amount::new(1000, 100),
            tax: described(100),
            shipping: Some(described(100)),
            discount: Some(discount),
        },
    }
}

examples! {
    audio_by_id: "Send Audio Message by ID" =>
        SendMessage::new(TO, Audio::id("<AUDIO_OBJECT_ID>"));
    audio_by_url: "Send Audio Message by URL" =>
        SendMessage::new(TO, Audio::link("<http(s)://audio-url>"));
    catalog_message: "Send Catalog Message" => SendMessage::new(
        "+16505551234",
        Interactive::catalog_message(
            "Hello! Thanks for your interest. Ordering is easy. Just visit our catalog and add \
             items to purchase.",
            CatalogMessageAction::thumbnail("2lc20305pt"),
        )
        .footer("Best grocery deals on WhatsApp!"),
    );
    catalog_template: "Send Catalog Template Message" => SendMessage::new(
        "+16505551234",
        Template::new("intro_catalog_offer", "en_US")
            .body(["100", "400", "3"].map(Parameter::text))
            // Meta's example writes the sub-type in upper case and the index as a number.
            .button(
                ButtonSubType::Other("CATALOG".into()),
                ButtonIndex::numeric(0),
                [ButtonParameter::action(ButtonAction::catalog("2lc20305pt"))],
            ),
    );
    contact: "Send Contact Message" =>
        SendMessage::new(TO, john_smith()).without_recipient_type();
    document_by_id: "Send Document Message by ID" => SendMessage::new(
        TO,
        Document::id("<DOCUMENT_OBJECT_ID>")
            .caption("<DOCUMENT_CAPTION_TO_SEND>")
            .filename("<DOCUMENT_FILENAME>"),
    );
    document_by_url: "Send Document Message by URL" => SendMessage::new(
        TO,
        Document::link("<http(s)://document-url>").caption("<DOCUMENT-CAPTION-TEXT>"),
    );
    draft_flow_by_id: "Send Draft Flow by ID" =>
        flow_message(FlowRef::Id("{{Flow-ID}}".into()), true);
    draft_flow_by_name: "Send Draft Flow by Name" =>
        flow_message(FlowRef::Name("{{Flow-Name}}".into()), true);
    flow_template: "Send Flow Template Message" => SendMessage::new(
        TO,
        Template::new("<TEMPLATE_NAME>", "en_US")
            .flow_button(0, ButtonAction::flow("<FLOW_TOKEN>", Some(custom_data()))),
    )
    .without_recipient_type();
    image_by_id: "Send Image Message by ID" =>
        SendMessage::new(TO, Image::id("<IMAGE_OBJECT_ID>"));
    image_by_url: "Send Image Message by URL" =>
        SendMessage::new(TO, Image::link("http(s)://image-url"));
    list: "Send List Message" => SendMessage::new(TO, two_section_list());
    location: "Send Location Message" => SendMessage::new(TO, meta_hq());
    template_interactive: "Send Message Template Interactive" => SendMessage::new(
        TO,
        Template::new("template-name", "language-and-locale-code")
            .header([Parameter::image(Image::link("http(s)://the-image-url"))])
            .body(text_currency_date_time())
            .quick_reply(0, "aGlzIHRoaXMgaXMgY29v")
            .quick_reply(1, "9rwnB8RbYmPF5t2Mn09x4h"),
    );
    template_media: "Send Message Template Media" => sample_template(TO, true);
    template_text: "Send Message Template Text" => sample_template(TO, false);
    multi_product: "Send Multi-Product Message" => SendMessage::new(
        TO,
        Interactive::product_list(
            // The example leaves the header type as a placeholder, which no typed header has.
            Header::Other(json!({"type": "<HEADER_TYPE>", "text": "<YOUR_TEXT_HEADER_CONTENT>"})),
            "<YOUR_TEXT_BODY_CONTENT>",
            "146265584024623",
            [
                ProductSection::new(
                    "<SECTION1_TITLE>",
                    ["<YOUR_PRODUCT1_SKU_IN_CATALOG>", "<YOUR_SECOND_PRODUCT1_SKU_IN_CATALOG>"],
                ),
                ProductSection::new(
                    "<SECTION2_TITLE>",
                    ["<YOUR_PRODUCT2_SKU_IN_CATALOG>", "<YOUR_SECOND_PRODUCT2_SKU_IN_CATALOG>"],
                ),
            ],
        )
        .footer("<YOUR_TEXT_FOOTER_CONTENT>"),
    );
    order_details: "Send Order Details Message" => SendMessage::new(
        "{{Recipient-WA-Phone-Number}}",
        Interactive::order_details("your-text-body-content", bread_order())
            .header(Header::image(Image::link(
                "https://upload.wikimedia.org/wikipedia/commons/thumb/3/3b/\
                 Home_made_sour_dough_bread.jpg/640px-Home_made_sour_dough_bread.jpg",
            )))
            .footer("your-text-footer-content"),
    );
    order_status: "Send Order Status Message" => SendMessage::new(
        "{{Recipient-WA-Phone-Number}}",
        Interactive::order_status(
            "your-text-body-content",
            OrderStatusParameters::new(
                "unique-reference-id-from-order-details-msg",
                OrderStatus::Processing,
            )
            .description("optional-text"),
        ),
    );
    published_flow_by_id: "Send Published Flow by ID" =>
        flow_message(FlowRef::Id("{{Flow-ID}}".into()), false);
    published_flow_by_name: "Send Published Flow by Name" =>
        flow_message(FlowRef::Name("{{Flow-Name}}".into()), false);
    reply_button: "Send Reply Button" => SendMessage::new(
        TO,
        Interactive::reply_buttons(
            "<BUTTON_TEXT>",
            [
                ReplyButton::new("<UNIQUE_BUTTON_ID_1>", "<BUTTON_TITLE_1>"),
                ReplyButton::new("<UNIQUE_BUTTON_ID_2>", "<BUTTON_TITLE_2>"),
            ],
        ),
    );
    reply_to_audio_by_id: "Send Reply to Audio Message by ID" =>
        SendMessage::new(TO, Audio::id("<AUDIO_OBJECT_ID>"))
            .reply_to("<MSGID_OF_MSG_YOU_ARE_REPLYING_TO>");
    reply_to_audio_by_url: "Send Reply to Audio Message by URL" =>
        SendMessage::new(TO, Audio::link("http(s)://audio-url"))
            .reply_to("<MSGID_OF_MSG_YOU_ARE_REPLYING_TO>");
    reply_to_contact: "Send Reply to Contact Message" =>
        SendMessage::new(TO, john_smith())
            .reply_to("<MSGID_OF_PREV_MSG>")
            .without_recipient_type();
    reply_to_document_by_id: "Send Reply to Document Message by ID" => SendMessage::new(
        TO,
        Document::id("<DOCUMENT_OBJECT_ID>")
            .caption("<DOCUMENT_CAPTION_TO_SEND>")
            .filename("<DOCUMENT_FILENAME>"),
    )
    .reply_to("<MSGID_OF_MSG_YOU_ARE_REPLYING_TO>");
    reply_to_document_by_url: "Send Reply to Document Message by URL" => SendMessage::new(
        TO,
        Document::link("<http(s)://document-url>").caption("<DOCUMENT_CAPTION_TEXT>"),
    )
    .reply_to("<MSGID_OF_MSG_YOU_ARE_REPLYING_TO>");
    reply_to_image_by_id: "Send Reply to Image Message by ID" =>
        SendMessage::new(TO, Image::id("<IMAGE_OBJECT_ID>")).reply_to("<MSGID_OF_PREV_MSG>");
    reply_to_image_by_url: "Send Reply to Image Message by URL" =>
        SendMessage::new(TO, Image::link("http(s)://image-url")).reply_to("<MSGID_OF_PREV_MSG>");
    // Meta's example omits `"type": "interactive"`.
    reply_to_list: "Send Reply to List Message" =>
        SendMessage::new(TO, two_section_list())
            .reply_to("<MSGID_OF_PREV_MSG>")
            .without_type();
    reply_to_location: "Send Reply to Location Message" =>
        SendMessage::new(TO, meta_hq()).reply_to("<MSGID_OF_PREV_MSG>");
    reply_to_sticker_by_id: "Send Reply to Sticker Message by ID" =>
        SendMessage::new(TO, Sticker::id("<MEDIA_OBJECT_ID>"))
            .reply_to("<MSGID_OF_MSG_YOU_ARE_REPLYING_TO>");
    reply_to_sticker_by_url: "Send Reply to Sticker Message by URL" =>
        SendMessage::new(TO, Sticker::link("<http(s)://sticker-url>"))
            .reply_to("<MSGID_OF_MSG_YOU_ARE_REPLYING_TO>");
    reply_to_text: "Send Reply to Text Message" =>
        SendMessage::new(TO, Text::new("<TEXT_MSG_CONTENT>").preview_url(false))
            .reply_to("<MSGID_OF_PREV_MSG>");
    reply_to_video_by_id: "Send Reply to Video Message by ID" =>
        SendMessage::new(TO, Video::id("<VIDEO_OBJECT_ID>").caption("<VIDEO_CAPTION_TEXT>"))
            .reply_to("<MSGID_OF_MSG_YOU_ARE_REPLYING_TO>");
    reply_to_video_by_url: "Send Reply to Video Message by URL" =>
        SendMessage::new(TO, Video::link("<http(s)://video-url>").caption("<VIDEO_CAPTION_TEXT>"))
            .reply_to("<MSGID_OF_MSG_YOU_ARE_REPLYING_TO>");
    reaction: "Send Reply with Reaction Message" =>
        SendMessage::reaction(TO, "wamid.HBgLM...", "\u{1F600}");
    issue_resolution_template: "Send Sample Issue Resolution Template" => SendMessage::new(
        TO,
        Template::new("sample_issue_resolution", "en_US")
            .deterministic()
            .body([Parameter::text("*Mr. Jones*")])
            // Meta's example sends JSON booleans as button text and numeric indexes; no typed
            // parameter holds a boolean, so they go through the verbatim variant.
            .button(
                ButtonSubType::QuickReply,
                ButtonIndex::numeric(0),
                [ButtonParameter::Other(json!({"type": "text", "text": true}))],
            )
            .button(
                ButtonSubType::QuickReply,
                ButtonIndex::numeric(1),
                [ButtonParameter::Other(json!({"type": "text", "text": false}))],
            ),
    )
    .without_recipient_type();
    shipping_confirmation_template: "Send Sample Shipping Confirmation Template" =>
        sample_template("16315555555", false);
    sample_text_template: "Send Sample Text Message" => sample_template("16315555555", false);
    single_product: "Send Single Product Message" => SendMessage::new(
        TO,
        Interactive::product("367025965434465", "<ID_TEST_ITEM_1>")
            .body("<OPTIONAL_BODY_TEXT>")
            .footer("<OPTIONAL_FOOTER_TEXT>"),
    );
    sticker_by_id: "Send Sticker Message by ID" =>
        SendMessage::new(TO, Sticker::id("<MEDIA_OBJECT_ID>"));
    sticker_by_url: "Send Sticker Message by URL" =>
        SendMessage::new(TO, Sticker::link("<http(s)://sticker-url>"));
    hello_world: "Send Test Message" =>
        SendMessage::new(TO, Template::new("hello_world", "en_US")).without_recipient_type();
    text: "Send Text Message" =>
        SendMessage::new(TO, Text::new("text-message-content").preview_url(false));
    // Meta's example omits both `recipient_type` and `type` (both default correctly for text).
    text_with_preview_url: "Send Text Message with Preview URL" => SendMessage::new(
        TO,
        Text::new("Please visit https://youtu.be/hpltvTEiRrY.").preview_url(true),
    )
    .without_recipient_type()
    .without_type();
    video_by_id: "Send Video Message by ID" =>
        SendMessage::new(TO, Video::id("<VIDEO_OBJECT_ID>").caption("<VIDEO_CAPTION_TEXT>"));
    video_by_url: "Send Video Message by URL" =>
        SendMessage::new(TO, Video::link("<http(s)://video-url>").caption("<VIDEO_CAPTION_TEXT>"));
    typing_indicator_and_read_receipt: "Send typing indicator and read receipt" =>
        MarkRead::new("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYzMjEzNDM2RTZGQ0MzMDJBRgA=")
            .with_typing_indicator();
}

#[test]
fn every_example_in_the_file_has_a_test() {
    let in_file: BTreeSet<&str> = examples().keys().map(String::as_str).collect();
    let covered: BTreeSet<&str> = COVERED.iter().copied().collect();
    assert_eq!(COVERED.len(), covered.len(), "an example is tested twice");
    assert_eq!(
        in_file, covered,
        "examples in the file vs examples with a builder test"
    );
    assert_eq!(in_file.len(), 50, "Meta's spec has 50 send examples");
}
