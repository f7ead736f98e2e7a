//! Template review: a new or edited template is PENDING, then after `templates.review_delay_ms`
//! the rules below decide (first match wins), and `message_template_status_update` is sent.
//!
//! 1. name contains `pending` → stays PENDING (only the control API decides);
//! 2. name contains `reject` → REJECTED, reason `INVALID_FORMAT`;
//! 3. a variable in the BODY (or a TEXT HEADER) without an `example` → REJECTED,
//!    `INVALID_FORMAT` ("variables without sample values");
//! 4. two variables next to each other (`{{1}}{{2}}`) → REJECTED, `INVALID_FORMAT`;
//! 5. a URL shortener (bit.ly, tinyurl.com, goo.gl, t.co, ow.ly, is.gd, buff.ly, cutt.ly,
//!    rebrand.ly, shorturl.at) in the body or a URL button → REJECTED, `INVALID_FORMAT`;
//! 6. a UTILITY template with promotional wording (sale, discount, % off, promo, coupon,
//!    limited time, offer) → APPROVED but re-categorised as MARKETING, with a
//!    `template_category_update` webhook first (Meta's behaviour since 2025);
//! 7. otherwise → APPROVED.

use std::time::Duration;

use serde_json::{json, Value};

use crate::rules::variables;
use crate::state::{AppState, Template};
use crate::webhooks;

const SHORTENERS: [&str; 10] = [
    "bit.ly",
    "tinyurl.com",
    "goo.gl",
    "t.co/",
    "ow.ly",
    "is.gd",
    "buff.ly",
    "cutt.ly",
    "rebrand.ly",
    "shorturl.at",
];

const PROMO_WORDS: [&str; 7] = [
    "sale",
    "discount",
    "% off",
    "promo",
    "coupon",
    "limited time",
    "offer",
];

/// What the review decides.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    StayPending,
    Approve {
        recategorize_to: Option<String>,
    },
    Reject {
        reason: String,
        rejection_info: Option<Value>,
    },
}

fn component<'a>(t: &'a Template, ty: &str) -> Option<&'a Value> {
    t.components.as_array()?.iter().find(|c| {
        c.get("type")
            .and_then(Value::as_str)
            .is_some_and(|x| x.eq_ignore_ascii_case(ty))
    })
}

fn invalid(reason: &str, recommendation: &str) -> Verdict {
    Verdict::Reject {
        reason: "INVALID_FORMAT".into(),
        rejection_info: Some(json!({"reason": reason, "recommendation": recommendation})),
    }
}

/// The documented review rules.
pub fn decide(t: &Template) -> Verdict {
    if t.name.contains("pending") {
        return Verdict::StayPending;
    }
    if t.name.contains("reject") {
        return invalid(
            "The template was rejected by the simulator because its name contains 'reject'.",
            "Rename the template to get it approved.",
        );
    }
    let body = component(t, "BODY");
    let body_text = body
        .and_then(|b| b.get("text"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let body_has_example = body.and_then(|b| b.get("example")).is_some();
    if !variables(body_text).is_empty() && !body_has_example {
        return invalid(
            "Your template contains variables without sample values.",
            "Add a sample value for every variable so reviewers understand the message.",
        );
    }
    if let Some(h) = component(t, "HEADER") {
        let text = h.get("text").and_then(Value::as_str).unwrap_or("");
        if !variables(text).is_empty() && h.get("example").is_none() {
            return invalid(
                "Your template header contains a variable without a sample value.",
                "Add example.header_text for the header variable.",
            );
        }
    }
    let squeezed: String = body_text.split_whitespace().collect();
    if squeezed.contains("}}{{") {
        return invalid(
            "Your template has parameters placed next to each other (like {{1}}{{2}}) without text or punctuation between them.",
            "Separate parameters with descriptive text and ensure each parameter is clearly contextualized.",
        );
    }
    let mut urls = body_text.to_ascii_lowercase();
    if let Some(buttons) = component(t, "BUTTONS")
        .and_then(|b| b.get("buttons"))
        .and_then(Value::as_array)
    {
        for b in buttons {
            if let Some(u) = b.get("url").and_then(Value::as_str) {
                urls.push(' ');
                urls.push_str(&u.to_ascii_lowercase());
            }
        }
    }
    if SHORTENERS.iter().any(|s| urls.contains(s)) {
        return invalid(
            "Your template contains a shortened URL.",
            "Use the full URL of a domain you own instead of a URL shortener.",
        );
    }
    let lower = body_text.to_ascii_lowercase();
    if t.category == "UTILITY" && PROMO_WORDS.iter().any(|w| lower.contains(w)) {
        return Verdict::Approve {
            recategorize_to: Some("MARKETING".into()),
        };
    }
    Verdict::Approve {
        recategorize_to: None,
    }
}

/// Schedules the review of template `id` (if auto review is on).
pub fn schedule(state: &AppState, id: &str) {
    let cfg = state.cfg();
    if !cfg.templates.auto_review {
        return;
    }
    let generation = {
        let mut world = state.world.lock();
        let Some(t) = world.templates.get_mut(id) else {
            return;
        };
        t.review_generation += 1;
        t.review_generation
    };
    let state = state.clone();
    let id = id.to_string();
    tokio::spawn(async move {
        let mut shutdown = state.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(cfg.templates.review_delay_ms)) => {}
            _ = shutdown.changed() => return,
        }
        let template = {
            let world = state.world.lock();
            match world.templates.get(&id) {
                Some(t) if t.review_generation == generation && t.status == "PENDING" => t.clone(),
                _ => return,
            }
        };
        match decide(&template) {
            Verdict::StayPending => {}
            Verdict::Approve { recategorize_to } => {
                if let Some(new) = recategorize_to {
                    recategorize(&state, &id, &new);
                }
                set_status(&state, &id, "APPROVED", "NONE", None);
            }
            Verdict::Reject {
                reason,
                rejection_info,
            } => {
                set_status(&state, &id, "REJECTED", &reason, rejection_info);
            }
        }
    });
}

/// Changes a template's status and sends `message_template_status_update`.
pub fn set_status(
    state: &AppState,
    id: &str,
    status: &str,
    reason: &str,
    rejection_info: Option<Value>,
) -> Option<Template> {
    let template = {
        let mut world = state.world.lock();
        let t = world.templates.get_mut(id)?;
        t.status = status.into();
        t.rejected_reason = reason.into();
        t.rejection_info = rejection_info.clone();
        t.review_generation += 1;
        t.clone()
    };
    emit_status(state, &template, status, reason, rejection_info);
    Some(template)
}

fn numeric_id(id: &str) -> Value {
    id.parse::<u64>()
        .map(|n| json!(n))
        .unwrap_or_else(|_| json!(id))
}

/// Sends `message_template_status_update` for `t`.
pub fn emit_status(
    state: &AppState,
    t: &Template,
    event: &str,
    reason: &str,
    rejection_info: Option<Value>,
) {
    let mut value = json!({
        "event": event,
        "message_template_id": numeric_id(&t.id),
        "message_template_name": t.name,
        "message_template_language": t.language,
        "reason": reason,
        "message_template_category": t.category,
    });
    if let Some(info) = rejection_info {
        value["rejection_info"] = info;
    }
    webhooks::emit(
        state,
        &t.waba_id,
        None,
        "message_template_status_update",
        value,
    );
}

/// Moves a template to another category and sends `template_category_update`.
pub fn recategorize(state: &AppState, id: &str, new_category: &str) -> Option<Template> {
    let t = {
        let mut world = state.world.lock();
        let t = world.templates.get_mut(id)?;
        let previous = std::mem::replace(&mut t.category, new_category.to_string());
        t.previous_category = Some(previous);
        t.clone()
    };
    let value = json!({
        "message_template_id": numeric_id(&t.id),
        "message_template_name": t.name,
        "message_template_language": t.language,
        "previous_category": t.previous_category,
        "new_category": t.category,
    });
    webhooks::emit(state, &t.waba_id, None, "template_category_update", value);
    Some(t)
}

/// Sets a template's quality and sends `message_template_quality_update`.
pub fn set_quality(state: &AppState, id: &str, score: &str) -> Option<Template> {
    let (t, previous) = {
        let mut world = state.world.lock();
        let t = world.templates.get_mut(id)?;
        let previous = std::mem::replace(&mut t.quality_score, score.to_string());
        (t.clone(), previous)
    };
    let value = json!({
        "previous_quality_score": previous,
        "new_quality_score": score,
        "message_template_id": numeric_id(&t.id),
        "message_template_name": t.name,
        "message_template_language": t.language,
    });
    webhooks::emit(
        state,
        &t.waba_id,
        None,
        "message_template_quality_update",
        value,
    );
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tpl(name: &str, category: &str, components: Value) -> Template {
        Template {
            id: "1".into(),
            waba_id: "w".into(),
            name: name.into(),
            language: "en_US".into(),
            category: category.into(),
            previous_category: None,
            status: "PENDING".into(),
            parameter_format: "POSITIONAL".into(),
            components,
            rejected_reason: "NONE".into(),
            rejection_info: None,
            quality_score: "UNKNOWN".into(),
            seq: 1,
            review_generation: 0,
        }
    }

    fn body(text: &str, example: bool) -> Value {
        if example {
            json!([{"type": "BODY", "text": text, "example": {"body_text": [["a", "b"]]}}])
        } else {
            json!([{"type": "BODY", "text": text}])
        }
    }

    #[test]
    fn rules() {
        let approve = Verdict::Approve {
            recategorize_to: None,
        };
        assert_eq!(
            decide(&tpl("ok", "UTILITY", body("Hi there", false))),
            approve
        );
        assert_eq!(
            decide(&tpl("still_pending", "UTILITY", body("x", false))),
            Verdict::StayPending
        );
        assert!(matches!(
            decide(&tpl("please_reject", "UTILITY", body("x", false))),
            Verdict::Reject { .. }
        ));
        assert!(matches!(
            decide(&tpl("vars", "UTILITY", body("Hi {{1}} ok", false))),
            Verdict::Reject { .. }
        ));
        assert!(matches!(
            decide(&tpl("adj", "UTILITY", body("Hi {{1}} {{2}} ok", true))),
            Verdict::Reject { .. }
        ));
        assert!(matches!(
            decide(&tpl("short", "MARKETING", body("see bit.ly/x", false))),
            Verdict::Reject { .. }
        ));
        assert_eq!(
            decide(&tpl("promo", "UTILITY", body("Big sale today", false))),
            Verdict::Approve {
                recategorize_to: Some("MARKETING".into())
            }
        );
        assert_eq!(
            decide(&tpl("promo", "MARKETING", body("Big sale", false))),
            approve
        );
    }
}
