//! Scenario files of the request corpus (`fixtures/requests/TOPIC/NAME.json`, described in
//! `fixtures/README.md`): fields shared by every request of the file (a key policy, identity
//! policies, grants, key properties) and named requests, each with its expected result.
//!
//! Every case is a request in the format `keyward authorize` reads: the case's own `request`
//! fields in the order written, then the `shared` fields in the order written, printed as JSON
//! with two-space indentation. Field values are kept as written (raw JSON), so the policies
//! reach the policy parser exactly as in the file: key order and duplicate keys included.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::fmt;
use std::path::Path;

/// A JSON object's fields, in the order written, values as written.
#[derive(Debug, Default)]
pub(crate) struct Fields(pub Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of request fields")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(InOrder)
    }
}

/// A scenario file. `E` is what a case expects (the harness reads it; a test that only needs
/// the requests passes `serde::de::IgnoredAny`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Scenario<E> {
    /// What the scenario is about (a file of one request may leave it to the case).
    #[serde(default)]
    pub about: Option<String>,
    /// Request fields every case of the file has.
    #[serde(default)]
    pub shared: Fields,
    pub cases: Vec<ScenarioCase<E>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScenarioCase<E> {
    /// Unique in its file.
    pub name: String,
    /// Why the expected result is the right one, in a line.
    pub about: String,
    /// The request's own fields.
    pub request: Fields,
    pub expect: E,
}

/// What a request case expects: a decision with its reasons, or an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum RequestExpectation {
    Decision(ExpectedDecision),
    Error(ExpectedError),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectedDecision {
    /// `Allow`, `ExplicitDeny` or `ImplicitDeny`.
    pub decision: String,
    /// Every deciding statement or grant, in output order: `SOURCE STATEMENT-INDEX`
    /// (`key_policy 0`, `identity_policy:1 0`) or `grant:ID`.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpectedError {
    /// Text the rendered error must contain.
    pub error: String,
}

impl<E: serde::de::DeserializeOwned> Scenario<E> {
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

impl<E> Scenario<E> {
    /// The request of `case` in the format `keyward authorize` reads.
    pub(crate) fn request_text(&self, case: &ScenarioCase<E>) -> Result<String, String> {
        if let Some((name, _)) = case
            .request
            .0
            .iter()
            .find(|(name, _)| self.shared.0.iter().any(|(shared, _)| shared == name))
        {
            return Err(format!(
                "case {:?}: field `{name}` is both shared and the request's own",
                case.name
            ));
        }
        let mut compact = String::from("{");
        for (i, (name, value)) in case.request.0.iter().chain(&self.shared.0).enumerate() {
            if i > 0 {
                compact.push(',');
            }
            compact.push_str(&serde_json::to_string(name).map_err(|e| e.to_string())?);
            compact.push(':');
            compact.push_str(value.get());
        }
        compact.push('}');
        // Re-printed with indentation, keeping every key in its order (duplicates too).
        let mut pretty = Vec::new();
        let mut from = serde_json::Deserializer::from_str(&compact);
        serde_transcode::transcode(&mut from, &mut serde_json::Serializer::pretty(&mut pretty))
            .map_err(|e| format!("case {:?}: {e}", case.name))?;
        let mut text = String::from_utf8(pretty).map_err(|e| e.to_string())?;
        text.push('\n');
        Ok(text)
    }

    /// The request of the case named `name` (for the command tests; the harness goes through
    /// every case).
    #[allow(
        dead_code,
        reason = "kept for the case of a corpus file that needs it; not every file does"
    )]
    pub(crate) fn request_of(&self, name: &str) -> Result<String, String> {
        let case = self
            .cases
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| format!("no case {name:?}"))?;
        self.request_text(case)
    }
}
