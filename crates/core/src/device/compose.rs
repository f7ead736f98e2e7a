//! What the composer builds beyond text: reply buttons, list menus and contact cards, checked
//! against Meta's limits field by field (so the form can say which field is wrong) before they
//! become Cloud API content. The outbox checks the message as a whole again before queueing.

use serde::Deserialize;

use cloud_api::messages::{
    Contact, ContactLabel, ContactName, Email, Header, Interactive, ListRow, ListSection,
    MessageContent, Organization, Phone, ReplyButton,
};

use super::DeviceError;

/// Reply buttons under a message (Meta: 1–3 buttons, titles ≤ 20 characters, unique).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ButtonsForm {
    pub header: Option<String>,
    pub body: String,
    pub footer: Option<String>,
    /// The buttons' titles, in order.
    pub buttons: Vec<String>,
}

/// A list menu (Meta: a button label ≤ 20 characters, 1–10 sections, 1–10 rows in all, row
/// titles ≤ 24 and descriptions ≤ 72 characters, section titles ≤ 24 and required when there
/// are several sections).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ListForm {
    pub header: Option<String>,
    pub body: String,
    pub footer: Option<String>,
    /// The label of the button that opens the list.
    pub button: String,
    pub sections: Vec<ListSectionForm>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ListSectionForm {
    pub title: Option<String>,
    pub rows: Vec<ListRowForm>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ListRowForm {
    pub title: String,
    pub description: Option<String>,
}

/// A contact card to share (a person or another business).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ContactCardForm {
    pub name: String,
    /// Phone numbers, as written (international format recommended).
    pub phones: Vec<String>,
    pub email: Option<String>,
    pub organization: Option<String>,
}

const BODY_MAX: usize = 1024;
const HEADER_MAX: usize = 60;
const FOOTER_MAX: usize = 60;
const BUTTON_TITLE_MAX: usize = 20;
const MAX_BUTTONS: usize = 3;
const LIST_BUTTON_MAX: usize = 20;
const SECTION_TITLE_MAX: usize = 24;
const ROW_TITLE_MAX: usize = 24;
const ROW_DESCRIPTION_MAX: usize = 72;
const MAX_SECTIONS: usize = 10;
const MAX_ROWS: usize = 10;

fn invalid(message: impl Into<String>) -> DeviceError {
    DeviceError::InvalidInput(message.into())
}

/// A required text, trimmed, within `max` characters.
fn required(value: &str, what: &str, max: usize) -> Result<String, DeviceError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid(format!("{what} is empty")));
    }
    if value.chars().count() > max {
        return Err(invalid(format!("{what} is at most {max} characters")));
    }
    Ok(value.to_owned())
}

/// An optional text: blank means absent.
fn optional(value: Option<&str>, what: &str, max: usize) -> Result<Option<String>, DeviceError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => required(v, what, max).map(Some),
    }
}

/// Header and footer around a body.
fn frame(
    interactive: Interactive,
    header: Option<&str>,
    footer: Option<&str>,
) -> Result<Interactive, DeviceError> {
    let mut interactive = interactive;
    if let Some(h) = optional(header, "the header", HEADER_MAX)? {
        interactive = interactive.header(Header::text(h));
    }
    if let Some(f) = optional(footer, "the footer", FOOTER_MAX)? {
        interactive = interactive.footer(f);
    }
    Ok(interactive)
}

pub(crate) fn buttons(form: &ButtonsForm) -> Result<MessageContent, DeviceError> {
    let body = required(&form.body, "the message", BODY_MAX)?;
    if form.buttons.is_empty() || form.buttons.len() > MAX_BUTTONS {
        return Err(invalid("a message has 1 to 3 reply buttons"));
    }
    let mut titles: Vec<String> = Vec::with_capacity(form.buttons.len());
    for (i, title) in form.buttons.iter().enumerate() {
        let title = required(title, &format!("button {}", i + 1), BUTTON_TITLE_MAX)?;
        if titles.iter().any(|t| t.eq_ignore_ascii_case(&title)) {
            return Err(invalid(format!("two buttons are titled {title:?}")));
        }
        titles.push(title);
    }
    // The ids come back in the customer's `button_reply`; the position says which was chosen.
    let replies = titles
        .into_iter()
        .enumerate()
        .map(|(i, title)| ReplyButton::new(format!("button-{}", i + 1), title));
    let interactive = Interactive::reply_buttons(body, replies);
    Ok(frame(interactive, form.header.as_deref(), form.footer.as_deref())?.into())
}

pub(crate) fn list(form: &ListForm) -> Result<MessageContent, DeviceError> {
    let body = required(&form.body, "the message", BODY_MAX)?;
    let button = required(&form.button, "the list's button", LIST_BUTTON_MAX)?;
    if form.sections.is_empty() || form.sections.len() > MAX_SECTIONS {
        return Err(invalid("a list has 1 to 10 sections"));
    }
    let rows: usize = form.sections.iter().map(|s| s.rows.len()).sum();
    if rows == 0 || rows > MAX_ROWS {
        return Err(invalid("a list has 1 to 10 rows in all"));
    }
    let several = form.sections.len() > 1;
    let mut sections = Vec::with_capacity(form.sections.len());
    let mut seen: Vec<String> = Vec::with_capacity(rows);
    for (s, section) in form.sections.iter().enumerate() {
        let what = format!("section {}", s + 1);
        let title = optional(
            section.title.as_deref(),
            &format!("{what}'s title"),
            SECTION_TITLE_MAX,
        )?;
        if several && title.is_none() {
            return Err(invalid(format!(
                "{what} needs a title when the list has several sections"
            )));
        }
        if section.rows.is_empty() {
            return Err(invalid(format!("{what} has no rows")));
        }
        let mut built = Vec::with_capacity(section.rows.len());
        for (r, row) in section.rows.iter().enumerate() {
            let row_what = format!("row {} of {what}", r + 1);
            let row_title = required(&row.title, &format!("{row_what}'s title"), ROW_TITLE_MAX)?;
            if seen.iter().any(|t| t.eq_ignore_ascii_case(&row_title)) {
                return Err(invalid(format!("two rows are titled {row_title:?}")));
            }
            seen.push(row_title.clone());
            let mut list_row = ListRow::new(format!("row-{}-{}", s + 1, r + 1), row_title);
            if let Some(d) = optional(
                row.description.as_deref(),
                &format!("{row_what}'s description"),
                ROW_DESCRIPTION_MAX,
            )? {
                list_row = list_row.description(d);
            }
            built.push(list_row);
        }
        sections.push(match title {
            Some(t) => ListSection::new(t, built),
            None => ListSection::untitled(built),
        });
    }
    let interactive = Interactive::list(body, button, sections);
    Ok(frame(interactive, form.header.as_deref(), form.footer.as_deref())?.into())
}

pub(crate) fn contact_card(form: &ContactCardForm) -> Result<MessageContent, DeviceError> {
    let name = required(&form.name, "the contact's name", 256)?;
    let phones: Vec<String> = form
        .phones
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    if phones.is_empty() {
        return Err(invalid("the contact needs a phone number"));
    }
    if let Some(bad) = phones.iter().find(|p| {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        !(5..=15).contains(&digits)
            || p.chars()
                .any(|c| !(c.is_ascii_digit() || " +-().".contains(c)))
    }) {
        return Err(invalid(format!("{bad:?} is not a phone number")));
    }
    let mut card = Contact::with_name(ContactName::new(name));
    for phone in phones {
        card = card.phone(Phone::new(phone, ContactLabel::Work));
    }
    if let Some(email) = optional(form.email.as_deref(), "the email", 256)? {
        if !email.contains('@') {
            return Err(invalid(format!("{email:?} is not an email address")));
        }
        card = card.email(Email::new(email, ContactLabel::Work));
    }
    if let Some(org) = optional(form.organization.as_deref(), "the organisation", 256)? {
        card = card.org(Organization {
            company: Some(org),
            ..Organization::default()
        });
    }
    Ok(card.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buttons_form(titles: &[&str]) -> ButtonsForm {
        ButtonsForm {
            header: None,
            body: "Pick up or delivery?".into(),
            footer: Some("  ".into()),
            buttons: titles.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    #[test]
    fn reply_buttons_follow_metas_limits() {
        let ok = serde_json::to_value(buttons(&buttons_form(&["Pick up", "Delivery"])).unwrap())
            .unwrap();
        let i = &ok["interactive"];
        assert_eq!(i["type"], "button");
        assert_eq!(i["action"]["buttons"][1]["reply"]["title"], "Delivery");
        assert_eq!(i["action"]["buttons"][1]["reply"]["id"], "button-2");
        assert!(i.get("footer").is_none(), "a blank footer is left out: {i}");
        for bad in [
            &[][..],
            &["a", "b", "c", "d"][..],
            &["A button title far too long"][..],
            &["Yes", "yes"][..],
            &["  "][..],
        ] {
            assert!(buttons(&buttons_form(bad)).is_err(), "{bad:?} accepted");
        }
    }

    fn row(title: &str) -> ListRowForm {
        ListRowForm {
            title: title.into(),
            description: None,
        }
    }

    #[test]
    fn lists_follow_metas_limits() {
        let form = ListForm {
            header: Some("Menu".into()),
            body: "What would you like?".into(),
            footer: None,
            button: "See the menu".into(),
            sections: vec![
                ListSectionForm {
                    title: Some("Bread".into()),
                    rows: vec![row("Rye"), row("Sourdough")],
                },
                ListSectionForm {
                    title: Some("Cakes".into()),
                    rows: vec![ListRowForm {
                        title: "Cheesecake".into(),
                        description: Some("Whole, 8 slices".into()),
                    }],
                },
            ],
        };
        let v = serde_json::to_value(list(&form).unwrap()).unwrap();
        let i = &v["interactive"];
        assert_eq!(i["type"], "list");
        assert_eq!(i["header"]["text"], "Menu");
        assert_eq!(i["action"]["sections"][1]["rows"][0]["id"], "row-2-1");
        assert_eq!(
            i["action"]["sections"][1]["rows"][0]["description"],
            "Whole, 8 slices"
        );

        let mut untitled = form.clone();
        untitled.sections[1].title = None;
        assert!(list(&untitled).is_err(), "several sections need titles");
        let mut long_row = form.clone();
        long_row.sections[0].rows[0].title = "x".repeat(25);
        assert!(list(&long_row).is_err());
        let mut too_many = form.clone();
        too_many.sections[0].rows = (0..10).map(|i| row(&format!("Row {i}"))).collect();
        assert!(list(&too_many).is_err(), "11 rows in all");
        let mut dup = form;
        dup.sections[1].rows[0].title = "rye".into();
        assert!(list(&dup).is_err());
    }

    #[test]
    fn contact_cards_need_a_name_and_a_real_phone() {
        let form = ContactCardForm {
            name: "Bakery supplies".into(),
            phones: vec!["+1 (650) 555-0100".into(), " ".into()],
            email: Some("orders@supplies.example".into()),
            organization: None,
        };
        let v = serde_json::to_value(contact_card(&form).unwrap()).unwrap();
        assert_eq!(
            v["contacts"][0]["name"]["formatted_name"],
            "Bakery supplies"
        );
        assert_eq!(v["contacts"][0]["phones"].as_array().unwrap().len(), 1);
        let mut bad = form.clone();
        bad.phones = vec!["call me".into()];
        assert!(contact_card(&bad).is_err());
        let mut no_phone = form.clone();
        no_phone.phones.clear();
        assert!(contact_card(&no_phone).is_err());
        let mut bad_mail = form;
        bad_mail.email = Some("nope".into());
        assert!(contact_card(&bad_mail).is_err());
    }
}
