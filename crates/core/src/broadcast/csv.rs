//! Recipients from a CSV file: a header row naming the columns (one of them the phone number),
//! then one recipient per row. Numbers are normalised the way contacts are
//! ([`normalize_phone`]), so `+44 20 7946 0958` and `00442079460958` are one recipient.
//!
//! Nothing is dropped silently: a row without a usable number is reported with its line
//! number, and a number seen again is collapsed into its first row and reported too.
//! Spreadsheets in many locales export `;`-separated files, so the separator is taken from the
//! header line.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::store::normalize_phone;

/// Header names accepted for the phone-number column (compared without case).
const PHONE_COLUMNS: &[&str] = &[
    "phone",
    "phone_number",
    "phone number",
    "number",
    "mobile",
    "wa_id",
    "whatsapp",
];

/// Most rows one import takes: a broadcast is not a bulk-mail engine, and the whole file is
/// held in memory.
pub const MAX_ROWS: usize = 100_000;

/// A parsed CSV import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvImport {
    /// The header's column names, lower-cased and trimmed.
    pub columns: Vec<String>,
    /// The distinct recipients, in file order.
    pub rows: Vec<CsvRow>,
    /// Rows refused or collapsed.
    pub issues: Vec<ImportIssue>,
}

/// One recipient row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRow {
    /// 1-based line where the row starts.
    pub line: usize,
    /// The normalised number (digits, country code first).
    pub phone: String,
    /// Every column's value by (lower-cased) column name.
    pub fields: BTreeMap<String, String>,
}

/// A row that was refused (`invalid`) or collapsed into an earlier one (`duplicate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "camelCase")]
pub struct ImportIssue {
    /// 1-based line of the row.
    pub line: u32,
    /// `invalid` or `duplicate`.
    pub kind: String,
    /// What is wrong, in plain words.
    pub message: String,
}

/// Why a CSV cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    /// Nothing but blank lines.
    #[error("the CSV is empty")]
    Empty,
    /// No column is the phone number.
    #[error("the CSV's first line must name the columns, one of them `phone` (found: {0})")]
    NoPhoneColumn(String),
    /// A quoted field never ends.
    #[error("line {0}: a quoted field is not closed")]
    UnclosedQuote(usize),
    /// Too many rows.
    #[error("the CSV has more than {MAX_ROWS} rows; split it into several broadcasts")]
    TooLarge,
}

/// Parses `text` (see the module docs).
pub fn parse(text: &str) -> Result<CsvImport, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let separator = separator(text);
    let mut records = records(text, separator)?.into_iter();
    let Some((_, header)) = records.next() else {
        return Err(CsvError::Empty);
    };
    let columns: Vec<String> = header.iter().map(|c| c.trim().to_lowercase()).collect();
    let phone_col = columns
        .iter()
        .position(|c| PHONE_COLUMNS.contains(&c.as_str()))
        .ok_or_else(|| CsvError::NoPhoneColumn(header.join(", ")))?;
    let mut import = CsvImport {
        columns: columns.clone(),
        ..CsvImport::default()
    };
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for (line, values) in records {
        if import.rows.len() >= MAX_ROWS {
            return Err(CsvError::TooLarge);
        }
        let raw = values.get(phone_col).map_or("", |v| v.trim());
        let issue = |kind: &str, message: String| ImportIssue {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            kind: kind.into(),
            message,
        };
        if raw.is_empty() {
            import
                .issues
                .push(issue("invalid", format!("line {line}: no phone number")));
            continue;
        }
        let Some(phone) = normalize_phone(raw) else {
            import.issues.push(issue(
                "invalid",
                format!(
                    "line {line}: {raw:?} is not an international phone number \
                     (country code first, e.g. +44 20 7946 0958)"
                ),
            ));
            continue;
        };
        if let Some(first) = first_line.get(&phone) {
            import.issues.push(issue(
                "duplicate",
                format!("line {line}: same number as line {first}; sent once"),
            ));
            continue;
        }
        first_line.insert(phone.clone(), line);
        let fields = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    c.clone(),
                    values
                        .get(i)
                        .map(|v| v.trim().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect();
        import.rows.push(CsvRow {
            line,
            phone,
            fields,
        });
    }
    Ok(import)
}

/// `;` when the header line has semicolons and no commas, else `,`.
fn separator(text: &str) -> char {
    let header = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if header.contains(';') && !header.contains(',') {
        ';'
    } else {
        ','
    }
}

/// The non-blank records with the line each starts on. Quoted fields may hold separators,
/// doubled quotes and line breaks (RFC 4180).
fn records(text: &str, separator: char) -> Result<Vec<(usize, Vec<String>)>, CsvError> {
    let mut out = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    let mut finish = |fields: &mut Vec<String>, field: &mut String, start: usize| {
        fields.push(std::mem::take(field));
        let record = std::mem::take(fields);
        if record.iter().any(|f| !f.trim().is_empty()) {
            out.push((start, record));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            '\n' if quoted => {
                line += 1;
                field.push('\n');
            }
            '\r' if !quoted && chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                finish(&mut fields, &mut field, start);
                line += 1;
                start = line;
            }
            c if c == separator && !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    if quoted {
        return Err(CsvError::UnclosedQuote(start));
    }
    finish(&mut fields, &mut field, start);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalised_invalid_rows_reported_duplicates_collapsed() {
        let csv = "Name,Phone,Discount\n\
                   Maria,+55 11 99999-8888,10%\n\
                   Bob,not a number,5%\n\
                   \n\
                   Maria again,5511999998888,20%\n\
                   Nobody,,1%\n\
                   \"Lee, Jr.\",0044 20 7946 0958,\"say \"\"hi\"\"\"\n";
        let import = parse(csv).unwrap();
        assert_eq!(import.columns, ["name", "phone", "discount"]);
        let phones: Vec<_> = import.rows.iter().map(|r| r.phone.as_str()).collect();
        assert_eq!(phones, ["5511999998888", "442079460958"]);
        assert_eq!(import.rows[1].line, 7);
        assert_eq!(import.rows[1].fields["name"], "Lee, Jr.");
        assert_eq!(import.rows[1].fields["discount"], "say \"hi\"");
        let issues: Vec<_> = import
            .issues
            .iter()
            .map(|i| (i.line, i.kind.as_str()))
            .collect();
        assert_eq!(
            issues,
            [(3, "invalid"), (5, "duplicate"), (6, "invalid")],
            "{:?}",
            import.issues
        );
        assert!(import.issues[1].message.contains("line 2"));
    }

    #[test]
    fn semicolons_multiline_fields_and_crlf() {
        let csv = "phone;note\r\n+1 650 555 1234;\"two\nlines\"\r\n+1 650 555 9876;x\r\n";
        let import = parse(csv).unwrap();
        assert_eq!(import.rows.len(), 2);
        assert_eq!(import.rows[0].fields["note"], "two\nlines");
        // The second record starts on line 4: the quoted line break counts.
        assert_eq!(import.rows[1].line, 4);
    }

    #[test]
    fn a_file_without_a_phone_column_or_with_an_open_quote_is_refused() {
        assert!(matches!(
            parse("name,email\nA,a@x.org\n"),
            Err(CsvError::NoPhoneColumn(_))
        ));
        assert_eq!(parse(" \n\n"), Err(CsvError::Empty));
        assert_eq!(
            parse("phone\n\"+1 650 555 1234\n"),
            Err(CsvError::UnclosedQuote(2))
        );
    }
}
