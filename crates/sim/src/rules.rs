//! Meta's rules that decide whether a call is accepted: throughput (130429), pair rate
//! (131056), management-call rate (80007), the 24-hour window (131047) and the template
//! checks (132000, 132001, 132012, 132015, 132016, 132018).

use serde_json::Value;

use crate::config::LimitsConfig;
use crate::error::{GraphError, GraphResult};
use crate::state::{Phone, Template, User, Waba};

pub const WINDOW_MS: i64 = 24 * 3600 * 1000;

/// At most `throughput_mps` accepted sends per number in any one-second window: a sliding
/// window over the accepted sends' times (not a token bucket, which would let a full bucket
/// plus a second's refill through within one second). A refused send is not counted.
pub fn check_throughput(phone: &mut Phone, limits: &LimitsConfig, now_ms: i64) -> GraphResult<()> {
    while phone.sends.front().is_some_and(|&t| now_ms - t >= 1000) {
        phone.sends.pop_front();
    }
    if phone.sends.len() >= limits.throughput_mps as usize {
        phone.throughput_rejections += 1;
        return Err(GraphError::throughput());
    }
    Ok(())
}

pub fn record_send(phone: &mut Phone, now_ms: i64) {
    phone.sends.push_back(now_ms);
}

/// The pair rate as a token bucket per (number, user): `pair_burst` tokens, one token back
/// every `pair_interval_ms`. Simpler than Meta's description: Meta says a burst "borrows"
/// from future quota ("a burst of 20 requires a ~2-minute wait"), while this bucket lets a
/// second burst through as long as tokens are left.
pub fn check_pair_rate(
    user: &mut User,
    phone_id: &str,
    limits: &LimitsConfig,
    now_ms: i64,
) -> GraphResult<()> {
    let burst = f64::from(limits.pair_burst.max(1));
    let interval = limits.pair_interval_ms.max(1) as f64;
    let (tokens, last) = user
        .pair_tokens
        .get(phone_id)
        .copied()
        .unwrap_or((burst, now_ms));
    let refilled = (tokens + (now_ms - last).max(0) as f64 / interval).min(burst);
    if refilled < 1.0 {
        user.pair_tokens.insert(phone_id.into(), (refilled, now_ms));
        return Err(GraphError::pair_rate());
    }
    user.pair_tokens
        .insert(phone_id.into(), (refilled - 1.0, now_ms));
    Ok(())
}

/// Counts one management call against the WABA's hourly budget. Returns the usage percentage
/// for the `x-business-use-case-usage` header.
pub fn count_management_call(
    waba: &mut Waba,
    active: bool,
    limits: &LimitsConfig,
    now_ms: i64,
) -> GraphResult<u32> {
    while waba
        .management_calls
        .front()
        .is_some_and(|&t| now_ms - t >= 3600 * 1000)
    {
        waba.management_calls.pop_front();
    }
    let limit = if active {
        limits.management_calls_per_hour_active
    } else {
        limits.management_calls_per_hour
    }
    .max(1);
    if waba.management_calls.len() >= limit as usize {
        return Err(GraphError::management_rate(&waba.id));
    }
    waba.management_calls.push_back(now_ms);
    let pct = (waba.management_calls.len() as u64 * 100 / u64::from(limit)).min(100);
    Ok(u32::try_from(pct).unwrap_or(100))
}

/// Whether the user wrote to this number in the last 24 hours.
pub fn window_open(user: &User, phone_id: &str, now_ms: i64) -> bool {
    user.last_inbound
        .get(phone_id)
        .is_some_and(|&t| now_ms - t < WINDOW_MS)
}

/// The variables of a template text: `{{1}}`, `{{2}}`... or `{{first_name}}`...
pub fn variables(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim().to_string();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
        rest = &after[end + 2..];
    }
    out
}

fn component<'a>(components: &'a Value, ty: &str) -> Option<&'a Value> {
    components.as_array()?.iter().find(|c| {
        c.get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case(ty))
    })
}

fn params(component: Option<&Value>) -> Vec<Value> {
    component
        .and_then(|c| c.get("parameters"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Finds the template a send names: `Err(132001)` when no template of that name exists in
/// that language, or it exists but is not approved; 132015/132016 when paused/disabled.
pub fn find_template<'a>(
    templates: impl Iterator<Item = &'a Template>,
    waba_id: &str,
    name: &str,
    language: &str,
) -> GraphResult<&'a Template> {
    let mut same_name = false;
    for t in templates {
        if t.waba_id != waba_id || t.name != name {
            continue;
        }
        same_name = true;
        if t.language != language {
            continue;
        }
        return match t.status.as_str() {
            "APPROVED" => Ok(t),
            "PAUSED" => Err(GraphError::template_paused(name)),
            "DISABLED" => Err(GraphError::template_disabled(name)),
            other => Err(GraphError::template_missing(format!(
                "template name ({name}) exists in {language} but its status is {other}, not APPROVED"
            ))),
        };
    }
    Err(GraphError::template_missing(if same_name {
        format!("template name ({name}) does not exist in {language}")
    } else {
        format!("template name ({name}) does not exist in {language}: no template of that name")
    }))
}

/// Checks the parameters of a template send against the template (132000, 132012, 132018).
pub fn check_template_params(template: &Template, request: &Value) -> GraphResult<()> {
    let req_components = request.get("components").cloned().unwrap_or(Value::Null);
    let named = template.parameter_format.eq_ignore_ascii_case("NAMED");

    // Header: a text header with a variable wants one text parameter; a media header wants
    // one parameter of its format.
    if let Some(header) = component(&template.components, "HEADER") {
        let format = header
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or("TEXT")
            .to_ascii_uppercase();
        let given = params(component(&req_components, "header"));
        let expected = if format == "TEXT" {
            variables(header.get("text").and_then(Value::as_str).unwrap_or("")).len()
        } else {
            1
        };
        if given.len() != expected {
            return Err(GraphError::template_params(format!(
                "header: number of localizable_params ({}) does not match the expected number of params ({expected})",
                given.len()
            )));
        }
        if format != "TEXT" {
            if let Some(p) = given.first() {
                let want = format.to_ascii_lowercase();
                let ty = p.get("type").and_then(Value::as_str).unwrap_or("");
                if ty != want || p.get(&want).is_none() {
                    return Err(GraphError::template_format(format!(
                        "header: the template's header is {format}, the parameter is of type '{ty}'"
                    )));
                }
            }
        } else {
            check_param_values("header", &given)?;
        }
    }

    // Body. An authentication template's body is Meta's fixed text with the code as {{1}}
    // (authentication templates doc): it has no `text` of its own.
    let authentication = template.category.eq_ignore_ascii_case("AUTHENTICATION");
    let body_text = component(&template.components, "BODY")
        .and_then(|b| b.get("text"))
        .and_then(Value::as_str)
        .unwrap_or(if authentication {
            "{{1}} is your verification code."
        } else {
            ""
        });
    let expected = variables(body_text);
    let given = params(component(&req_components, "body"));
    if given.len() != expected.len() {
        return Err(GraphError::template_params(format!(
            "body: number of localizable_params ({}) does not match the expected number of params ({})",
            given.len(),
            expected.len()
        )));
    }
    if named {
        for p in &given {
            let name = p.get("parameter_name").and_then(Value::as_str);
            match name {
                Some(n) if expected.iter().any(|e| e == n) => {}
                _ => {
                    return Err(GraphError::template_params(format!(
                        "body: parameter_name {} is not one of the template's parameters ({})",
                        name.unwrap_or("(missing)"),
                        expected.join(", ")
                    )))
                }
            }
        }
    }
    check_param_values("body", &given)?;

    // Buttons: every URL button with a variable, copy-code button and authentication code
    // button wants a `button` component with its index and one parameter (a coupon code for
    // copy-code buttons).
    if let Some(buttons) = component(&template.components, "BUTTONS")
        .and_then(|b| b.get("buttons"))
        .and_then(Value::as_array)
    {
        for (index, button) in buttons.iter().enumerate() {
            let ty = button
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_uppercase();
            let url = button.get("url").and_then(Value::as_str).unwrap_or("");
            let wants_value = match ty.as_str() {
                "URL" => !variables(url).is_empty(),
                "COPY_CODE" | "OTP" => true,
                _ => false,
            };
            if !wants_value {
                continue;
            }
            let given = req_components
                .as_array()
                .and_then(|cs| {
                    cs.iter().find(|c| {
                        c.get("type").and_then(Value::as_str) == Some("button")
                            && index_of(c) == Some(index)
                    })
                })
                .map(|c| params(Some(c)))
                .unwrap_or_default();
            if given.len() != 1 {
                return Err(GraphError::template_params(format!(
                    "button at index {index}: number of parameters ({}) does not match the expected number of params (1)",
                    given.len()
                )));
            }
            let (want, key) = if ty == "COPY_CODE" {
                ("coupon_code", "coupon_code")
            } else {
                ("text", "text")
            };
            let value = given[0].get(key).and_then(Value::as_str).unwrap_or("");
            if given[0].get("type").and_then(Value::as_str) != Some(want) || value.is_empty() {
                return Err(GraphError::template_format(format!(
                    "button at index {index}: the parameter must be of type '{want}' with a value"
                )));
            }
        }
    }
    Ok(())
}

/// The file of a template send's media header: its kind (`image`, `video`, `document`) and
/// the media object (`{"id": ..}` or `{"link": ..}`).
pub fn template_header_media(request: &Value) -> Option<(String, Value)> {
    let header = component(request.get("components")?, "header")?;
    let first = header.get("parameters")?.as_array()?.first()?;
    let kind = first.get("type")?.as_str()?;
    if !matches!(kind, "image" | "video" | "document") {
        return None;
    }
    Some((kind.to_owned(), first.get(kind)?.clone()))
}

fn index_of(component: &Value) -> Option<usize> {
    match component.get("index")? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        _ => None,
    }
}

fn check_param_values(where_: &str, params: &[Value]) -> GraphResult<()> {
    for p in params {
        let ty = p.get("type").and_then(Value::as_str).unwrap_or("");
        match ty {
            "text" => {
                let Some(text) = p.get("text").and_then(Value::as_str) else {
                    return Err(GraphError::template_format(format!(
                        "{where_}: a text parameter needs a 'text' string"
                    )));
                };
                if text.contains('\n') || text.contains('\t') || text.contains("     ") {
                    return Err(GraphError::template_param_text(format!(
                        "{where_}: Param text cannot have new-line/tab characters or more than 4 consecutive spaces"
                    )));
                }
            }
            "currency" => {
                let c = p.get("currency");
                let ok = c.is_some_and(|c| {
                    c.get("fallback_value").is_some()
                        && c.get("code").is_some()
                        && c.get("amount_1000").is_some()
                });
                if !ok {
                    return Err(GraphError::template_format(format!(
                        "{where_}: a currency parameter needs fallback_value, code and amount_1000"
                    )));
                }
            }
            "date_time" => {
                if p.get("date_time")
                    .and_then(|d| d.get("fallback_value"))
                    .is_none()
                {
                    return Err(GraphError::template_format(format!(
                        "{where_}: a date_time parameter needs fallback_value"
                    )));
                }
            }
            "image" | "video" | "document" | "location" | "payload" | "action" | "coupon_code" => {}
            other => {
                return Err(GraphError::template_format(format!(
                    "{where_}: unknown parameter type '{other}'"
                )))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_variables() {
        assert_eq!(variables("Hi {{1}}, order {{2}} {{1}}"), vec!["1", "2"]);
        assert_eq!(variables("Hi {{ first_name }}"), vec!["first_name"]);
        assert!(variables("no vars {{").is_empty());
    }

    #[test]
    fn pair_rate_bucket() {
        let limits = LimitsConfig {
            pair_burst: 2,
            pair_interval_ms: 1000,
            ..LimitsConfig::default()
        };
        let mut u = User::new("1", "x");
        assert!(check_pair_rate(&mut u, "p", &limits, 0).is_ok());
        assert!(check_pair_rate(&mut u, "p", &limits, 0).is_ok());
        assert_eq!(
            check_pair_rate(&mut u, "p", &limits, 10).unwrap_err().code,
            131056
        );
        assert!(check_pair_rate(&mut u, "p", &limits, 1100).is_ok());
    }

    fn phone() -> Phone {
        Phone {
            id: "p".into(),
            waba_id: "w".into(),
            display_phone_number: "15550001111".into(),
            verified_name: "Sim".into(),
            registered: true,
            pin: None,
            quality_rating: "GREEN".into(),
            name_status: "APPROVED".into(),
            throughput_level: "STANDARD".into(),
            messaging_limit_tier: "TIER_1K".into(),
            override_callback_uri: None,
            profile: Value::Null,
            throughput_rejections: 0,
            sends: std::collections::VecDeque::new(),
            register_attempts: std::collections::VecDeque::new(),
        }
    }

    /// Accepts like the simulator's send route: check, then record.
    fn send(p: &mut Phone, limits: &LimitsConfig, at: i64) -> bool {
        let ok = check_throughput(p, limits, at).is_ok();
        if ok {
            record_send(p, at);
        }
        ok
    }

    #[test]
    fn throughput_is_a_sliding_one_second_window() {
        let limits = LimitsConfig {
            throughput_mps: 3,
            ..LimitsConfig::default()
        };
        let mut p = phone();
        // Spread over the second, three pass; a fourth inside the same second is refused.
        assert!(send(&mut p, &limits, 0));
        assert!(send(&mut p, &limits, 400));
        assert!(send(&mut p, &limits, 800));
        assert_eq!(
            check_throughput(&mut p, &limits, 999).unwrap_err().code,
            130429
        );
        // At 1000 the send of 0 has left the window: one slot, not a refilled bucket of three.
        assert!(send(&mut p, &limits, 1000));
        assert!(!send(&mut p, &limits, 1001));
        assert!(!send(&mut p, &limits, 1399));
        assert!(send(&mut p, &limits, 1400));
        // Refused sends are counted for measurements but do not take a slot.
        assert_eq!(p.throughput_rejections, 3);
        assert_eq!(p.sends.len(), 3);
    }

    #[test]
    fn throughput_never_lets_more_than_the_limit_into_any_window() {
        let limits = LimitsConfig {
            throughput_mps: 5,
            ..LimitsConfig::default()
        };
        let mut p = phone();
        let accepted: Vec<i64> = (0..4000)
            .step_by(7)
            .filter(|&t| send(&mut p, &limits, t))
            .collect();
        for (i, t) in accepted.iter().enumerate() {
            let in_window = accepted[i..].iter().take_while(|&&u| u - t < 1000).count();
            assert!(in_window <= 5, "{in_window} sends in the second from {t}");
        }
        // And the limit is reached, not undershot: 5 per second over 4 seconds.
        assert_eq!(accepted.len(), 20);
    }
}
