//! Phone-number normalization, used only to *merge* contacts, never to key them.
//!
//! One person can reach us under several spellings of one number: with or without `+`, spaces
//! and dashes, a `00` international prefix, and — the case that matters most — Brazil's mobile
//! 9th digit, which WhatsApp's `wa_id` often omits (`55 11 9999-8888` vs `55 11 9 9999-8888`).
//! Mexico has the mirror case (`521` + 10 digits in old `wa_id`s vs `52` + 10 digits).
//! [`normalize_phone`] maps every variant to one canonical string of digits (E.164 without the
//! `+`) so that contacts can be merged on it.

/// The canonical digits of an international phone number, or `None` if `input` is not one.
///
/// ```
/// use dataoptix_core::store::normalize_phone;
/// assert_eq!(normalize_phone("+55 (11) 9999-8888").as_deref(), Some("5511999998888"));
/// assert_eq!(normalize_phone("5511999998888").as_deref(), Some("5511999998888"));
/// ```
pub fn normalize_phone(input: &str) -> Option<String> {
    let trimmed = input.trim();
    if trimmed
        .chars()
        .any(|c| !(c.is_ascii_digit() || " +-().\u{a0}/".contains(c)))
    {
        return None;
    }
    let plus = trimmed.starts_with('+');
    if trimmed.chars().skip(usize::from(plus)).any(|c| c == '+') {
        return None;
    }
    let mut digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if !plus {
        if let Some(rest) = digits.strip_prefix("00") {
            digits = rest.to_owned();
        }
    }
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return None;
    }
    Some(canonical_mobile(digits))
}

fn canonical_mobile(digits: String) -> String {
    let bytes = digits.as_bytes();
    // Brazil: 55 + area code (11..99) + 8-digit mobile starting 6-9 -> insert the 9th digit.
    if digits.len() == 12
        && digits.starts_with("55")
        && bytes[2] != b'0'
        && bytes[3] != b'0'
        && (b'6'..=b'9').contains(&bytes[4])
    {
        return format!("{}9{}", &digits[..4], &digits[4..]);
    }
    // Mexico: the legacy mobile prefix 1 after the country code is dropped.
    if digits.len() == 13 && digits.starts_with("521") {
        return format!("52{}", &digits[3..]);
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::normalize_phone as n;

    #[test]
    fn formatting_is_removed() {
        assert_eq!(n("+1 (415) 555-0100").as_deref(), Some("14155550100"));
        assert_eq!(n("0044 20 7946 0958").as_deref(), Some("442079460958"));
        assert_eq!(n("44.20.7946.0958").as_deref(), Some("442079460958"));
    }

    #[test]
    fn brazil_ninth_digit_variants_merge() {
        let with = n("+55 11 99999-8888");
        assert_eq!(with.as_deref(), Some("5511999998888"));
        assert_eq!(n("551199998888"), with, "wa_id without the 9th digit");
        assert_eq!(n("+55 (11) 9 9999-8888"), with);
        // Landlines (first digit 2-5) have no 9th digit and stay as they are.
        assert_eq!(n("551133334444").as_deref(), Some("551133334444"));
    }

    #[test]
    fn mexico_mobile_prefix_variants_merge() {
        assert_eq!(n("5215512345678"), n("+52 55 1234 5678"));
        assert_eq!(n("+52 55 1234 5678").as_deref(), Some("525512345678"));
    }

    #[test]
    fn non_numbers_are_rejected() {
        for bad in [
            "",
            "abc",
            "+12",
            "12345",
            "1234567890123456",
            "+1 415 555 01x0",
            "0123456789",
            "1+2345678",
        ] {
            assert_eq!(n(bad), None, "{bad:?}");
        }
    }
}
