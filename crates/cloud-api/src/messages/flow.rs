//! Flow messages (`interactive.type: "flow"`): open a WhatsApp Flow (a multi-screen form).
//!
//! A Flow is named by id or by name, never both; [`FlowRef`] makes that an either/or.
//! `flow_message_version` must be `"3"` today, which [`FlowParameters`] fills in.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::interactive::{Interactive, InteractiveKind};
use super::tags;

/// The action of a Flow message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowAction {
    /// Always `"flow"`.
    pub name: tags::Flow,
    /// Which Flow, and how it opens.
    pub parameters: FlowParameters,
}

/// Which Flow to open and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowParameters {
    /// Always `"3"` for now.
    pub flow_message_version: String,
    /// The Flow, by id or by name.
    #[serde(flatten)]
    pub flow: FlowRef,
    /// Label of the button that opens the Flow (≤ 30 characters).
    pub flow_cta: String,
    /// Opaque token echoed back in the Flow's response; Meta defaults it to `"unused"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_token: Option<String>,
    /// `draft` to test an unpublished Flow; `published` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<FlowMode>,
    /// `navigate` (default) or `data_exchange`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_action: Option<FlowActionType>,
    /// First screen and its data (for `navigate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow_action_payload: Option<FlowActionPayload>,
}

impl FlowParameters {
    /// Opens `flow` behind a button labelled `flow_cta`.
    pub fn new(flow: FlowRef, flow_cta: impl Into<String>) -> Self {
        Self {
            flow_message_version: "3".to_owned(),
            flow,
            flow_cta: flow_cta.into(),
            flow_token: None,
            mode: None,
            flow_action: None,
            flow_action_payload: None,
        }
    }

    /// Sets the token echoed back in the Flow's response.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.flow_token = Some(token.into());
        self
    }

    /// Opens the (unpublished) draft of the Flow.
    pub fn draft(mut self) -> Self {
        self.mode = Some(FlowMode::Draft);
        self
    }

    /// `flow_action: navigate` to `screen`, with optional initial `data` for it.
    pub fn navigate(mut self, screen: impl Into<String>, data: Option<Map<String, Value>>) -> Self {
        self.flow_action = Some(FlowActionType::Navigate);
        self.flow_action_payload = Some(FlowActionPayload {
            screen: Some(screen.into()),
            data,
        });
        self
    }

    /// `flow_action: data_exchange`: the first screen comes from the business's Flow endpoint.
    pub fn data_exchange(mut self) -> Self {
        self.flow_action = Some(FlowActionType::DataExchange);
        self
    }
}

/// A Flow by id or by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowRef {
    /// `flow_id`.
    #[serde(rename = "flow_id")]
    Id(String),
    /// `flow_name`.
    #[serde(rename = "flow_name")]
    Name(String),
}

/// Whether to open the draft or the published Flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowMode {
    /// The unpublished draft (for testing).
    Draft,
    /// The published Flow.
    Published,
}

/// How the Flow starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowActionType {
    /// Open a given screen.
    Navigate,
    /// Ask the business's Flow endpoint for the first screen.
    DataExchange,
}

/// First screen of a `navigate` Flow and its input data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowActionPayload {
    /// Id of the first screen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen: Option<String>,
    /// Input data for the first screen (a non-empty object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Map<String, Value>>,
}

impl Interactive {
    /// A Flow message: `body` above a button that opens the Flow.
    pub fn flow(body: impl Into<String>, parameters: FlowParameters) -> Self {
        Self::new(InteractiveKind::Flow {
            action: FlowAction {
                name: tags::Flow,
                parameters,
            },
        })
        .body(body)
    }
}
