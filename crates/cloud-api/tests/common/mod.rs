//! Validates request and response bodies against Meta's official OpenAPI spec
//! (`shared/meta/business-messaging-api_v23.0.yaml`, OpenAPI 3.1, facebook/openapi).
//!
//! Shared by the integration tests of this crate: add `mod common;` and call
//!
//! ```ignore
//! common::assert_request_valid("/{Version}/{Phone-Number-ID}/messages", "post", &body);
//! common::assert_response_valid("/{Version}/{Phone-Number-ID}/messages", "post", "200", &body);
//! common::Spec::official().assert_schema_valid("MarkMessageRequestPayload", &body);
//! ```
//!
//! `path` is the spec's path key exactly as written in the YAML (with `{Version}`), `method` is
//! case-insensitive, `status` is the response code as a string. A failing body panics with every
//! validation error listed, each with the location in the body and in the schema. A missing spec
//! file, path, method or schema panics with a message saying which.
//!
//! # How the spec becomes JSON Schema
//!
//! OpenAPI 3.1 schemas are JSON Schema draft 2020-12 plus a few OpenAPI keywords, so the spec is
//! validated with the `jsonschema` crate after four mechanical steps:
//!
//! 1. YAML to JSON. Non-string mapping keys (the spec has an unquoted `200:`) become strings.
//! 2. OpenAPI 3.0's `nullable: true` (one leftover in v23.0) becomes `"null"` in `type`.
//! 3. `additionalProperties: false` inside an `allOf` member is moved to the schema holding the
//!    `allOf`, as `unevaluatedProperties: false`. The spec writes message types as
//!    `allOf: [BaseMessageProperties, {properties: {text}, additionalProperties: false}]`. In
//!    JSON Schema `additionalProperties` only sees its own member's `properties`, so read
//!    literally that rejects `to`, `messaging_product`… and no body at all could be valid. The
//!    rewrite expresses what the authors meant ("the union of these properties and nothing
//!    else") and keeps the check exactly as strict.
//! 4. Each validator's root is the target schema plus the spec's `components`, so every
//!    `#/components/...` reference resolves. `format` is an annotation, as draft 2020-12 and
//!    OpenAPI 3.1 define it; `discriminator` and `example` are annotations too (a
//!    `discriminator` without `oneOf` therefore constrains nothing; validate against the mapped
//!    schema yourself if you need it).
//!
//! Values under `example`, `examples`, `enum`, `const` and `default` are data, never rewritten.
//!
//! # Errata
//!
//! Where the spec is demonstrably wrong (Meta's own examples or guides contradict it), a test
//! may validate against [`Spec::with_errata`]: each [`Erratum`] changes one value at one JSON
//! pointer *of the YAML document*, states what it expected to find there (a corrected spec makes
//! the erratum fail loudly instead of silently masking a difference) and why. Keep them narrow:
//! fix the one keyword that is wrong, never relax a whole schema.

#![allow(dead_code)] // Each test binary uses a different subset of these helpers.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, ValidationError, Validator};
use serde_json::{Map, Value};

/// Where the spec lives: `shared/` is a sibling of the repository directory.
pub fn spec_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/meta/business-messaging-api_v23.0.yaml")
}

/// Asserts that `body` is a valid `application/json` request body of `method path`.
pub fn assert_request_valid(path: &str, method: &str, body: &Value) {
    Spec::official().assert_request_valid(path, method, body);
}

/// Asserts that `body` is a valid `application/json` response of `method path` with `status`.
pub fn assert_response_valid(path: &str, method: &str, status: &str, body: &Value) {
    Spec::official().assert_response_valid(path, method, status, body);
}

/// A correction of the spec at one place. See the module docs.
#[derive(Debug, Clone)]
pub struct Erratum {
    /// JSON pointer into the spec document as written in the YAML (e.g.
    /// `/components/schemas/LanguageObject/required`).
    pub pointer: String,
    /// What changes there.
    pub fix: Fix,
    /// Why the spec is wrong: which Meta example or guide contradicts it.
    pub why: &'static str,
}

/// The change an [`Erratum`] makes.
#[derive(Debug, Clone)]
pub enum Fix {
    /// Replace the value, which must currently equal `was`.
    Replace { was: Value, now: Value },
    /// Add a member that must not exist yet (the pointer names the new member).
    Insert(Value),
    /// Append an item to the array at the pointer (it must not contain it yet).
    Append(Value),
}

impl Erratum {
    /// Replaces `was` by `now` at `pointer`.
    pub fn replace(pointer: impl Into<String>, was: Value, now: Value, why: &'static str) -> Self {
        Self {
            pointer: pointer.into(),
            fix: Fix::Replace { was, now },
            why,
        }
    }

    /// Adds the new member `pointer` with `value`.
    pub fn insert(pointer: impl Into<String>, value: Value, why: &'static str) -> Self {
        Self {
            pointer: pointer.into(),
            fix: Fix::Insert(value),
            why,
        }
    }

    /// Appends `item` to the array at `pointer`.
    pub fn append(pointer: impl Into<String>, item: Value, why: &'static str) -> Self {
        Self {
            pointer: pointer.into(),
            fix: Fix::Append(item),
            why,
        }
    }

    fn apply(&self, document: &mut Value) {
        let stale = |detail: String| -> ! {
            panic!(
                "erratum at {} no longer applies ({detail}); the spec changed, revisit it. \
                 Reason given: {}",
                self.pointer, self.why
            )
        };
        match &self.fix {
            Fix::Replace { was, now } => {
                let Some(current) = document.pointer_mut(&self.pointer) else {
                    stale("nothing there".into())
                };
                if current != was {
                    stale(format!("expected {was}, found {current}"));
                }
                *current = now.clone();
            }
            Fix::Insert(value) => {
                let (parent, key) = split_pointer(&self.pointer);
                let Some(Value::Object(members)) = document.pointer_mut(parent) else {
                    stale("the parent is not an object".into())
                };
                if members.contains_key(&key) {
                    stale(format!("member {key:?} already exists"));
                }
                members.insert(key, value.clone());
            }
            Fix::Append(item) => {
                let Some(Value::Array(items)) = document.pointer_mut(&self.pointer) else {
                    stale("not an array".into())
                };
                if items.contains(item) {
                    stale(format!("already contains {item}"));
                }
                items.push(item.clone());
            }
        }
    }

    fn cache_key(&self) -> String {
        match &self.fix {
            Fix::Replace { now, .. } => format!("{}={now}", self.pointer),
            Fix::Insert(value) => format!("{}+={value}", self.pointer),
            Fix::Append(item) => format!("{}[]+={item}", self.pointer),
        }
    }
}

/// The spec converted to JSON Schema, optionally with errata.
#[derive(Clone)]
pub struct Spec {
    document: Arc<Value>,
    key: String,
}

impl Spec {
    /// The spec as published (after the mechanical conversion of the module docs).
    pub fn official() -> Self {
        Self::with_errata(&[])
    }

    /// The spec with `errata` applied, in order.
    pub fn with_errata(errata: &[Erratum]) -> Self {
        static DOCUMENTS: OnceLock<Mutex<HashMap<String, Arc<Value>>>> = OnceLock::new();
        let key = errata
            .iter()
            .map(Erratum::cache_key)
            .collect::<Vec<_>>()
            .join("\n");
        let mut documents = lock(DOCUMENTS.get_or_init(Default::default));
        let document = documents
            .entry(key.clone())
            .or_insert_with(|| {
                let mut document = raw_spec().clone();
                for erratum in errata {
                    erratum.apply(&mut document);
                }
                to_json_schema(&mut document);
                Arc::new(document)
            })
            .clone();
        Self { document, key }
    }

    /// The converted spec document.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// Pointer to the `application/json` request body schema of `method path`.
    pub fn request_schema_pointer(&self, path: &str, method: &str) -> String {
        let operation = self.operation_pointer(path, method);
        let body = self.follow_refs(&format!("{operation}/requestBody"));
        let schema = format!("{body}/content/application~1json/schema");
        if self.document.pointer(&schema).is_none() {
            panic!(
                "{} {path} has no application/json request body schema",
                method_upper(method)
            );
        }
        schema
    }

    /// Pointer to the `application/json` response schema of `method path` for `status`, if the
    /// spec has one.
    pub fn response_schema_pointer(
        &self,
        path: &str,
        method: &str,
        status: &str,
    ) -> Option<String> {
        let operation = self.operation_pointer(path, method);
        let response = format!("{operation}/responses/{}", escape(status));
        self.document.pointer(&response)?;
        let schema = format!(
            "{}/content/application~1json/schema",
            self.follow_refs(&response)
        );
        self.document.pointer(&schema).map(|_| schema)
    }

    /// Pointer to the component schema `name`.
    pub fn component_schema_pointer(&self, name: &str) -> String {
        let pointer = format!("/components/schemas/{}", escape(name));
        if self.document.pointer(&pointer).is_none() {
            panic!("the spec has no component schema {name:?}");
        }
        pointer
    }

    /// Every validation error of `body` against the schema at `schema_pointer`.
    pub fn errors_at(&self, schema_pointer: &str, body: &Value) -> Vec<String> {
        let validator = self.validator(schema_pointer);
        let mut lines = Vec::new();
        for error in validator.iter_errors(body) {
            describe(&error, 0, &mut lines);
        }
        lines
    }

    /// Every validation error of `body` as request of `method path`.
    pub fn request_errors(&self, path: &str, method: &str, body: &Value) -> Vec<String> {
        self.errors_at(&self.request_schema_pointer(path, method), body)
    }

    /// Every validation error of `body` against component schema `name`.
    pub fn schema_errors(&self, name: &str, body: &Value) -> Vec<String> {
        self.errors_at(&self.component_schema_pointer(name), body)
    }

    /// Panics unless `body` is a valid request of `method path`.
    pub fn assert_request_valid(&self, path: &str, method: &str, body: &Value) {
        let what = format!("request body of {} {path}", method_upper(method));
        report(&what, body, self.request_errors(path, method, body));
    }

    /// Panics unless `body` is a valid `status` response of `method path`.
    pub fn assert_response_valid(&self, path: &str, method: &str, status: &str, body: &Value) {
        let what = format!("{status} response of {} {path}", method_upper(method));
        let pointer = self
            .response_schema_pointer(path, method, status)
            .unwrap_or_else(|| panic!("the spec has no application/json schema for the {what}"));
        report(&what, body, self.errors_at(&pointer, body));
    }

    /// Panics unless `body` is valid against component schema `name`.
    pub fn assert_schema_valid(&self, name: &str, body: &Value) {
        report(
            &format!("schema {name}"),
            body,
            self.schema_errors(name, body),
        );
    }

    fn operation_pointer(&self, path: &str, method: &str) -> String {
        let path_item = format!("/paths/{}", escape(path));
        if self.document.pointer(&path_item).is_none() {
            panic!("the spec has no path {path:?} (use the YAML's key, e.g. \"/{{Version}}/...\")");
        }
        let operation = format!("{path_item}/{}", method.to_ascii_lowercase());
        if self.document.pointer(&operation).is_none() {
            panic!(
                "the spec has no {} operation on {path}",
                method_upper(method)
            );
        }
        operation
    }

    /// Follows `$ref`s (`#/components/requestBodies/...`, `#/components/responses/...`) until
    /// the pointer names an object that is not a reference.
    fn follow_refs(&self, pointer: &str) -> String {
        let mut pointer = pointer.to_owned();
        for _ in 0..16 {
            let reference = self
                .document
                .pointer(&pointer)
                .and_then(|value| value.get("$ref"))
                .and_then(Value::as_str);
            match reference {
                Some(reference) => match reference.strip_prefix('#') {
                    Some(local) => pointer = local.to_owned(),
                    None => panic!("external reference {reference} at {pointer} is not supported"),
                },
                None => return pointer,
            }
        }
        panic!("reference cycle at {pointer}")
    }

    fn validator(&self, schema_pointer: &str) -> Arc<Validator> {
        /// Compiled validators by (errata key, schema pointer).
        type Cache = Mutex<HashMap<(String, String), Arc<Validator>>>;
        static VALIDATORS: OnceLock<Cache> = OnceLock::new();
        let cache_key = (self.key.clone(), schema_pointer.to_owned());
        if let Some(validator) = lock(VALIDATORS.get_or_init(Default::default)).get(&cache_key) {
            return validator.clone();
        }
        let schema = self
            .document
            .pointer(schema_pointer)
            .unwrap_or_else(|| panic!("no schema at {schema_pointer}"));
        let mut root = match schema {
            Value::Object(members) => members.clone(),
            other => Map::from_iter([("allOf".to_owned(), Value::Array(vec![other.clone()]))]),
        };
        root.insert("components".into(), self.document["components"].clone());
        root.insert(
            "$schema".into(),
            "https://json-schema.org/draft/2020-12/schema".into(),
        );
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .build(&Value::Object(root))
            .unwrap_or_else(|error| {
                panic!("the schema at {schema_pointer} does not compile: {error}")
            });
        let validator = Arc::new(validator);
        lock(VALIDATORS.get_or_init(Default::default)).insert(cache_key, validator.clone());
        validator
    }
}

/// The YAML document as JSON, loaded once.
fn raw_spec() -> &'static Value {
    static RAW: OnceLock<Value> = OnceLock::new();
    RAW.get_or_init(|| {
        let path = spec_path();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!(
                "cannot read Meta's OpenAPI spec at {}: {error}. The tests expect the `shared/` \
                 directory (with meta/business-messaging-api_v23.0.yaml) next to the repository \
                 directory.",
                path.display()
            )
        });
        let yaml: serde_yaml::Value = serde_yaml::from_str(&text)
            .unwrap_or_else(|error| panic!("{} is not valid YAML: {error}", path.display()));
        yaml_to_json(yaml)
    })
}

fn yaml_to_json(yaml: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Yaml;
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(flag) => Value::Bool(flag),
        Yaml::Number(number) => {
            if let Some(integer) = number.as_i64() {
                integer.into()
            } else if let Some(integer) = number.as_u64() {
                integer.into()
            } else {
                number
                    .as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Yaml::String(text) => Value::String(text),
        Yaml::Sequence(items) => items.into_iter().map(yaml_to_json).collect(),
        Yaml::Mapping(mapping) => mapping
            .into_iter()
            .map(|(key, value)| (yaml_key(key), yaml_to_json(value)))
            .collect::<Map<_, _>>()
            .into(),
        Yaml::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

fn yaml_key(key: serde_yaml::Value) -> String {
    match yaml_to_json(key) {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

/// Steps 2 and 3 of the module docs, applied to every schema of the document.
fn to_json_schema(value: &mut Value) {
    match value {
        Value::Object(members) => {
            for (key, member) in members.iter_mut() {
                if !matches!(
                    key.as_str(),
                    "example" | "examples" | "enum" | "const" | "default"
                ) {
                    to_json_schema(member);
                }
            }
            convert_nullable(members);
            lift_closed_all_of(members);
        }
        Value::Array(items) => items.iter_mut().for_each(to_json_schema),
        _ => {}
    }
}

fn convert_nullable(schema: &mut Map<String, Value>) {
    if schema.get("nullable") != Some(&Value::Bool(true)) {
        return;
    }
    schema.remove("nullable");
    match schema.remove("type") {
        Some(Value::String(single)) => {
            schema.insert("type".into(), serde_json::json!([single, "null"]));
        }
        Some(Value::Array(mut several)) => {
            several.push("null".into());
            schema.insert("type".into(), Value::Array(several));
        }
        Some(other) => {
            schema.insert("type".into(), other);
        }
        None => {
            let inner = Value::Object(std::mem::take(schema));
            schema.insert("anyOf".into(), serde_json::json!([inner, {"type": "null"}]));
        }
    }
}

fn lift_closed_all_of(schema: &mut Map<String, Value>) {
    let Some(Value::Array(members)) = schema.get_mut("allOf") else {
        return;
    };
    let mut closed = false;
    for member in members.iter_mut() {
        if let Value::Object(member) = member {
            if member.get("additionalProperties") == Some(&Value::Bool(false)) {
                member.remove("additionalProperties");
                closed = true;
            }
        }
    }
    if closed {
        schema.insert("unevaluatedProperties".into(), Value::Bool(false));
    }
}

/// One line per error. For `oneOf`/`anyOf` the top-level error alone says nothing useful, so
/// the alternatives that came closest are listed, indented (see [`mismatch`]).
fn describe(error: &ValidationError<'_>, depth: usize, lines: &mut Vec<String>) {
    let indent = "  ".repeat(depth);
    let at = match error.instance_path.as_str() {
        "" => "(root)",
        path => path,
    };
    let alternatives = match &error.kind {
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            Some(context)
        }
        _ => None,
    };
    let Some(alternatives) = alternatives else {
        let mut message = error.to_string();
        if message.len() > 300 {
            let cut = (0..=300)
                .rev()
                .find(|&i| message.is_char_boundary(i))
                .unwrap_or(0);
            message.truncate(cut);
            message.push('…');
        }
        lines.push(format!(
            "{indent}{at}: {message} [schema {}]",
            error.schema_path
        ));
        return;
    };
    let scores: Vec<f64> = alternatives
        .iter()
        .map(|branch| mismatch(error, branch))
        .collect();
    let best = scores.iter().copied().fold(f64::INFINITY, f64::min);
    lines.push(format!(
        "{indent}{at}: matches none of the {} alternatives [schema {}]; the closest:",
        alternatives.len(),
        error.schema_path
    ));
    for (index, branch) in alternatives
        .iter()
        .enumerate()
        .filter(|(index, _)| scores[*index] <= best + f64::EPSILON)
        .take(3)
    {
        lines.push(format!("{indent}  alternative {index}:"));
        for inner in branch {
            describe(inner, depth + 2, lines);
        }
    }
}

/// How badly one alternative failed: errors close to the value the alternatives apply to
/// (a missing required member, a wrong `type` discriminator) weigh more than errors deep
/// inside it (the alternative was the right one, a detail is wrong). `unevaluatedProperties`
/// errors are ignored: they repeat the siblings' failures.
fn mismatch(parent: &ValidationError<'_>, branch: &[ValidationError<'_>]) -> f64 {
    let base = parent.instance_path.as_str().matches('/').count();
    branch
        .iter()
        .filter(|error| {
            !matches!(
                error.kind,
                ValidationErrorKind::UnevaluatedProperties { .. }
            )
        })
        .map(|error| {
            let depth = error.instance_path.as_str().matches('/').count();
            1.0 / (1.0 + depth.saturating_sub(base) as f64)
        })
        .sum()
}

fn report(what: &str, body: &Value, errors: Vec<String>) {
    if errors.is_empty() {
        return;
    }
    let mut message = format!("{what} does not match Meta's OpenAPI spec:\n");
    for line in &errors {
        let _ = writeln!(message, "  {line}");
    }
    let _ = write!(
        message,
        "body: {}",
        serde_json::to_string_pretty(body).unwrap_or_default()
    );
    panic!("{message}");
}

/// Escapes one JSON-pointer segment.
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

fn split_pointer(pointer: &str) -> (&str, String) {
    let (parent, last) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    (parent, last.replace("~1", "/").replace("~0", "~"))
}

fn method_upper(method: &str) -> String {
    method.to_ascii_uppercase()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
