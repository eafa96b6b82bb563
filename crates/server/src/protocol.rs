//! The AWS JSON 1.1 protocol as KMS speaks it: a request body that is a JSON object with
//! PascalCase members, blobs in base64, timestamps in epoch seconds; errors as
//! `{"__type": "<Code>", "message": "..."}` (no `message` where AWS sends none).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keyward_kms::KmsError;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The content type of requests and responses.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// An error as the client sees it: HTTP status, `__type` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: Cow<'static, str>,
    pub message: Option<String>,
}

impl ApiError {
    /// A client error (HTTP 400).
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: 400,
            code: Cow::Borrowed(code),
            message: Some(message.into()),
        }
    }

    /// The body does not deserialize into the operation's input.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new("SerializationException", message)
    }

    /// A required member is missing: AWS's validation message.
    pub fn missing(member: &str) -> Self {
        Self::new(
            "ValidationException",
            format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                camel(member)
            ),
        )
    }

    /// The JSON body of the error.
    pub fn body(&self) -> Vec<u8> {
        let mut object = Map::new();
        object.insert("__type".into(), Value::String(self.code.to_string()));
        if let Some(message) = &self.message {
            object.insert("message".into(), Value::String(message.clone()));
        }
        serde_json::to_vec(&Value::Object(object)).unwrap_or_default()
    }
}

impl From<KmsError> for ApiError {
    fn from(e: KmsError) -> Self {
        let status = if e.code() == "KMSInternalException" {
            500
        } else {
            400
        };
        Self {
            status,
            code: Cow::Borrowed(e.code()),
            message: e.message,
        }
    }
}

impl From<crate::sigv4::AuthError> for ApiError {
    fn from(e: crate::sigv4::AuthError) -> Self {
        Self {
            status: 400,
            code: Cow::Borrowed(e.code()),
            message: Some(e.message()),
        }
    }
}

/// `KeyId` as AWS's messages spell member names: `keyId`.
fn camel(member: &str) -> String {
    let mut chars = member.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Type names as AWS's serialization errors use them.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a structure",
    }
}

fn wrong(member: &str, expected: &str, value: &Value) -> ApiError {
    ApiError::serialization(format!(
        "Value of '{}' must be {expected}, not {}",
        camel(member),
        kind(value)
    ))
}

/// The request body: a JSON object. Members given as `null` count as absent, as in AWS's SDKs.
/// Its strings (a plaintext's base64 among them) are zeroized when it is dropped.
#[derive(Debug, Clone, Default)]
pub struct Input {
    members: Map<String, Value>,
}

impl Drop for Input {
    fn drop(&mut self) {
        for value in self.members.values_mut() {
            scrub(value);
        }
    }
}

/// Zeroizes every string in `value` (a plaintext's base64 in a request or an answer) before it
/// is dropped.
pub fn scrub(value: &mut Value) {
    match value {
        Value::String(text) => zeroize::Zeroize::zeroize(text),
        Value::Array(items) => items.iter_mut().for_each(scrub),
        Value::Object(members) => members.values_mut().for_each(scrub),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

impl Input {
    /// Parses a body. An empty body is an empty object.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(members)) => Ok(Self { members }),
            Ok(other) => Err(ApiError::serialization(format!(
                "The request body must be a JSON object, not {}",
                kind(&other)
            ))),
            Err(e) => Err(ApiError::serialization(format!(
                "The request body is not valid JSON: {e}"
            ))),
        }
    }

    fn get(&self, member: &str) -> Option<&Value> {
        self.members.get(member).filter(|v| !v.is_null())
    }

    pub fn string(&self, member: &str) -> Result<Option<String>, ApiError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(wrong(member, "a string", other)),
        }
    }

    pub fn required_string(&self, member: &str) -> Result<String, ApiError> {
        self.string(member)?
            .ok_or_else(|| ApiError::missing(member))
    }

    /// A base64 blob.
    pub fn blob(&self, member: &str) -> Result<Option<Vec<u8>>, ApiError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::String(s)) => STANDARD.decode(s).map(Some).map_err(|_| {
                ApiError::serialization(format!("Value of '{}' is not valid base64", camel(member)))
            }),
            Some(other) => Err(wrong(member, "a base64 string", other)),
        }
    }

    pub fn required_blob(&self, member: &str) -> Result<Vec<u8>, ApiError> {
        self.blob(member)?.ok_or_else(|| ApiError::missing(member))
    }

    pub fn boolean(&self, member: &str) -> Result<Option<bool>, ApiError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(wrong(member, "a boolean", other)),
        }
    }

    /// A whole number that fits `u32`.
    pub fn integer(&self, member: &str) -> Result<Option<u32>, ApiError> {
        match self.get(member) {
            None => Ok(None),
            Some(v @ Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| wrong(member, "a whole number from 0 to 4294967295", v)),
            Some(other) => Err(wrong(member, "a number", other)),
        }
    }

    /// A map of strings (`EncryptionContext`).
    pub fn string_map(&self, member: &str) -> Result<Option<BTreeMap<String, String>>, ApiError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    other => Err(wrong(&format!("{member}.{k}"), "a string", other)),
                })
                .collect::<Result<_, _>>()
                .map(Some),
            Some(other) => Err(wrong(member, "a map of strings", other)),
        }
    }

    /// A list of strings.
    pub fn string_list(&self, member: &str) -> Result<Vec<String>, ApiError> {
        match self.get(member) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(wrong(member, "a list of strings", other)),
                })
                .collect(),
            Some(other) => Err(wrong(member, "a list of strings", other)),
        }
    }

    /// `Tags`: a list of `{"TagKey": ..., "TagValue": ...}`.
    pub fn tags(&self, member: &str) -> Result<Vec<(String, String)>, ApiError> {
        match self.get(member) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    let Value::Object(members) = item else {
                        return Err(wrong(member, "a list of tags", item));
                    };
                    let tag = Self {
                        members: members.clone(),
                    };
                    Ok((
                        tag.required_string("TagKey")?,
                        tag.required_string("TagValue")?,
                    ))
                })
                .collect(),
            Some(other) => Err(wrong(member, "a list of tags", other)),
        }
    }

    /// A timestamp in epoch seconds (fractions allowed).
    pub fn timestamp(&self, member: &str) -> Result<Option<SystemTime>, ApiError> {
        match self.get(member) {
            None => Ok(None),
            Some(v @ Value::Number(n)) => n
                .as_f64()
                .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1.0e11)
                .map(|s| Some(UNIX_EPOCH + Duration::from_secs_f64(s)))
                .ok_or_else(|| wrong(member, "a timestamp in epoch seconds", v)),
            Some(other) => Err(wrong(member, "a timestamp in epoch seconds", other)),
        }
    }

    /// A nested structure.
    pub fn structure(&self, member: &str) -> Result<Option<Self>, ApiError> {
        match self.get(member) {
            None => Ok(None),
            Some(Value::Object(members)) => Ok(Some(Self {
                members: members.clone(),
            })),
            Some(other) => Err(wrong(member, "a structure", other)),
        }
    }

    /// True when the member is present (and not null).
    pub fn has(&self, member: &str) -> bool {
        self.get(member).is_some()
    }
}

/// A blob in a response.
pub fn blob(bytes: &[u8]) -> Value {
    Value::String(STANDARD.encode(bytes))
}

/// A timestamp in a response: epoch seconds, milliseconds as the fraction.
pub fn timestamp(time: SystemTime) -> Value {
    let millis = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let seconds = millis as f64 / 1000.0;
    serde_json::Number::from_f64(seconds).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]
    use super::*;

    #[test]
    fn members_are_read_with_their_types_and_null_is_absent() {
        let input = Input::parse(
            br#"{"KeyId":"k","Plaintext":"aGk=","DryRun":true,"NumberOfBytes":32,
                "EncryptionContext":{"a":"b"},"GrantTokens":["t"],"ValidTo":1700000000.5,
                "Tags":[{"TagKey":"k","TagValue":"v"}],"Description":null}"#,
        )
        .unwrap();
        assert_eq!(input.required_string("KeyId").unwrap(), "k");
        assert_eq!(input.required_blob("Plaintext").unwrap(), b"hi");
        assert_eq!(input.boolean("DryRun").unwrap(), Some(true));
        assert_eq!(input.integer("NumberOfBytes").unwrap(), Some(32));
        assert_eq!(
            input.string_map("EncryptionContext").unwrap().unwrap()["a"],
            "b"
        );
        assert_eq!(input.string_list("GrantTokens").unwrap(), ["t"]);
        assert_eq!(
            input.tags("Tags").unwrap(),
            [("k".to_owned(), "v".to_owned())]
        );
        assert_eq!(
            input.timestamp("ValidTo").unwrap().unwrap(),
            UNIX_EPOCH + Duration::from_millis(1_700_000_000_500)
        );
        assert_eq!(input.string("Description").unwrap(), None);
        assert!(!input.has("Description"));
    }

    #[test]
    fn wrong_types_are_serialization_errors_naming_the_member() {
        let input = Input::parse(
            br#"{"KeyId":5,"Plaintext":"not base64!","DryRun":"yes","NumberOfBytes":-1,
                "EncryptionContext":{"a":1},"GrantTokens":"t","ValidTo":"soon","Tags":[5]}"#,
        )
        .unwrap();
        let errors = [
            input.string("KeyId").unwrap_err(),
            input.blob("Plaintext").unwrap_err(),
            input.boolean("DryRun").unwrap_err(),
            input.integer("NumberOfBytes").unwrap_err(),
            input.string_map("EncryptionContext").unwrap_err(),
            input.string_list("GrantTokens").unwrap_err(),
            input.timestamp("ValidTo").unwrap_err(),
            input.tags("Tags").unwrap_err(),
        ];
        for (e, member) in errors.iter().zip([
            "keyId",
            "plaintext",
            "dryRun",
            "numberOfBytes",
            "encryptionContext.a",
            "grantTokens",
            "validTo",
            "tags",
        ]) {
            assert_eq!(e.code, "SerializationException");
            assert!(e.message.as_deref().unwrap().contains(member), "{e:?}");
        }
    }

    #[test]
    fn bodies_that_are_not_objects_are_refused_and_empty_is_empty() {
        for body in [&b"[1]"[..], b"\"x\"", b"{", b"\xff\xfe", b"{\"a\":1}}"] {
            assert_eq!(
                Input::parse(body).unwrap_err().code,
                "SerializationException"
            );
        }
        assert!(!Input::parse(b"  ").unwrap().has("KeyId"));
        assert_eq!(
            Input::default()
                .required_string("KeyId")
                .unwrap_err()
                .message
                .unwrap(),
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn errors_without_a_message_have_no_message_member() {
        let e = ApiError::from(KmsError {
            code: keyward_kms::ErrorCode::InvalidCiphertext,
            message: None,
        });
        assert_eq!(e.body(), br#"{"__type":"InvalidCiphertextException"}"#);
        let e = ApiError::new("AccessDeniedException", "no");
        assert_eq!(
            e.body(),
            br#"{"__type":"AccessDeniedException","message":"no"}"#
        );
    }

    #[test]
    fn timestamps_are_epoch_seconds() {
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_millis(1_700_000_000_250)),
            serde_json::json!(1_700_000_000.25)
        );
    }
}
