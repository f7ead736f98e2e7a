//! Contact cards (`type: "contacts"`): one message carries up to five vCard-like contacts.
//!
//! The nested objects have many optional members and no rules between them, so they are plain
//! structs with public fields and `Default` (fill them with `..Default::default()`); only the
//! repeated lists get builder methods on [`Contact`].

use serde::{Deserialize, Serialize};

/// `HOME` or `WORK`, the label of an address, email, phone or URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ContactLabel {
    /// Private.
    Home,
    /// Work.
    Work,
}

/// One contact card.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Contact {
    /// Postal addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    /// Birthday as `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthday: Option<String>,
    /// Email addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<Email>,
    /// The name; `formatted_name` is what WhatsApp displays.
    pub name: ContactName,
    /// Employer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<Organization>,
    /// Phone numbers; one with a `wa_id` gets "Message" and "Add" buttons in WhatsApp.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<Phone>,
    /// Web addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<Url>,
}

impl Contact {
    /// A card with only a display name.
    pub fn new(formatted_name: impl Into<String>) -> Self {
        Self::with_name(ContactName::new(formatted_name))
    }

    /// A card with a full [`ContactName`].
    pub fn with_name(name: ContactName) -> Self {
        Self {
            name,
            ..Self::default()
        }
    }

    /// Adds a postal address.
    pub fn address(mut self, address: Address) -> Self {
        self.addresses.push(address);
        self
    }

    /// Sets the birthday (`YYYY-MM-DD`).
    pub fn birthday(mut self, birthday: impl Into<String>) -> Self {
        self.birthday = Some(birthday.into());
        self
    }

    /// Adds an email address.
    pub fn email(mut self, email: Email) -> Self {
        self.emails.push(email);
        self
    }

    /// Sets the employer.
    pub fn org(mut self, org: Organization) -> Self {
        self.org = Some(org);
        self
    }

    /// Adds a phone number.
    pub fn phone(mut self, phone: Phone) -> Self {
        self.phones.push(phone);
        self
    }

    /// Adds a web address.
    pub fn url(mut self, url: Url) -> Self {
        self.urls.push(url);
        self
    }
}

/// The name of a contact. Meta requires `formatted_name`; the parts are optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ContactName {
    /// Full name as displayed.
    pub formatted_name: String,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Middle name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Suffix, e.g. "Jr".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    /// Prefix, e.g. "Dr".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

impl ContactName {
    /// A name with only the displayed form.
    pub fn new(formatted_name: impl Into<String>) -> Self {
        Self {
            formatted_name: formatted_name.into(),
            ..Self::default()
        }
    }
}

/// A postal address of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Address {
    /// Street and number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or region abbreviation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    /// Full country name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Two-letter ISO country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// Home or work.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub label: Option<ContactLabel>,
}

/// An email address of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// The address.
    pub email: String,
    /// Home or work.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub label: Option<ContactLabel>,
}

impl Email {
    /// An email address with a label.
    pub fn new(email: impl Into<String>, label: ContactLabel) -> Self {
        Self {
            email: email.into(),
            label: Some(label),
        }
    }
}

/// The employer of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Organization {
    /// Company name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// A phone number of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    /// The number as displayed.
    pub phone: String,
    /// Home or work.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub label: Option<ContactLabel>,
    /// The WhatsApp id of the number, if it is on WhatsApp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
}

impl Phone {
    /// A phone number with a label.
    pub fn new(phone: impl Into<String>, label: ContactLabel) -> Self {
        Self {
            phone: phone.into(),
            label: Some(label),
            wa_id: None,
        }
    }

    /// Marks the number as a WhatsApp account with this id.
    pub fn wa_id(mut self, wa_id: impl Into<String>) -> Self {
        self.wa_id = Some(wa_id.into());
        self
    }
}

/// A web address of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Url {
    /// The URL.
    pub url: String,
    /// Home or work.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub label: Option<ContactLabel>,
}

impl Url {
    /// A web address with a label.
    pub fn new(url: impl Into<String>, label: ContactLabel) -> Self {
        Self {
            url: url.into(),
            label: Some(label),
        }
    }
}
