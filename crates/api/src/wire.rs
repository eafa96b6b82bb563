//! AWS JSON 1.1 as KMS speaks it: a request body is a JSON object with PascalCase members,
//! blobs are base64 strings, timestamps are epoch seconds; a member given as `null` counts as
//! absent, as in AWS's SDKs. [`parse`] reads a body into an operation's input with the errors
//! AWS's protocol gives; [`to_body`] writes an output.

use crate::error::{ApiError, ErrorCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use zeroize::{Zeroize, Zeroizing};

/// The content type of requests and responses.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// What a blob deserializer reports for text that is not base64 (turned into the member's
/// message by [`parse`]).
const NOT_BASE64: &str = "not valid base64";

/// Bytes that must not outlive their use: a plaintext, a data key, a shared secret. Zeroized
/// when dropped; `Debug` shows only the length.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl From<&[u8]> for SecretBytes {
    fn from(bytes: &[u8]) -> Self {
        Self::new(bytes.to_vec())
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBytes(<{} bytes>)", self.0.len())
    }
}

impl Serialize for SecretBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let encoded = Zeroizing::new(STANDARD.encode(self.expose()));
        serializer.serialize_str(&encoded)
    }
}

impl<'de> Deserialize<'de> for SecretBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(Base64Visitor).map(Self::new)
    }
}

/// Text that must not outlive its use: a password or PIN a request carries
/// (`KeyStorePassword`). Zeroized when dropped; `Debug` shows only its length, so printing
/// the request that holds it does not print it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretText(Zeroizing<String>);

impl SecretText {
    /// The text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SecretText {
    fn from(text: &str) -> Self {
        Self(Zeroizing::new(text.to_owned()))
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretText(<{} bytes>)", self.0.len())
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| Self(Zeroizing::new(text)))
    }
}

struct Base64Visitor;

impl serde::de::Visitor<'_> for Base64Visitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a base64 string")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Vec<u8>, E> {
        STANDARD.decode(text).map_err(|_| E::custom(NOT_BASE64))
    }
}

/// A blob member (`Vec<u8>` as base64): `#[serde(with = "wire::blob")]`.
pub mod blob {
    use super::*;

    /// Writes base64.
    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    /// Reads base64.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_str(Base64Visitor)
    }
}

/// A timestamp member: epoch seconds, milliseconds as the fraction.
pub mod timestamp {
    use super::*;

    /// Epoch seconds as a number with milliseconds.
    pub fn serialize<S: Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
        let millis = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        serializer.serialize_f64(millis as f64 / 1000.0)
    }

    /// Epoch seconds (fractions allowed), from 0 to 10^11.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SystemTime, D::Error> {
        deserializer.deserialize_f64(TimestampVisitor)
    }

    /// The same for an optional member (`#[serde(default, with = "wire::timestamp::option")]`).
    pub mod option {
        use super::*;

        /// Writes the time when there is one (the member is skipped otherwise).
        pub fn serialize<S: Serializer>(
            time: &Option<SystemTime>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match time {
                Some(t) => super::serialize(t, serializer),
                None => serializer.serialize_none(),
            }
        }

        /// Reads a present member.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<SystemTime>, D::Error> {
            super::deserialize(deserializer).map(Some)
        }
    }

    /// A timestamp in an answer as the aws CLI prints it: RFC 3339 text, or epoch seconds
    /// (for reading saved `aws kms ...` output; requests take epoch seconds only).
    pub mod printed {
        use super::*;

        /// Reads epoch seconds or RFC 3339 text.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<SystemTime>, D::Error> {
            deserializer.deserialize_any(PrintedVisitor).map(Some)
        }

        struct PrintedVisitor;

        impl serde::de::Visitor<'_> for PrintedVisitor {
            type Value = SystemTime;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a timestamp in epoch seconds or RFC 3339 text")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<SystemTime, E> {
                let time = chrono::DateTime::parse_from_rfc3339(text)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(text), &self))?;
                let millis = u64::try_from(time.timestamp_millis())
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(text), &self))?;
                Ok(UNIX_EPOCH + Duration::from_millis(millis))
            }

            fn visit_f64<E: serde::de::Error>(self, seconds: f64) -> Result<SystemTime, E> {
                TimestampVisitor.visit_f64(seconds)
            }

            fn visit_u64<E: serde::de::Error>(self, seconds: u64) -> Result<SystemTime, E> {
                TimestampVisitor.visit_u64(seconds)
            }

            fn visit_i64<E: serde::de::Error>(self, seconds: i64) -> Result<SystemTime, E> {
                TimestampVisitor.visit_i64(seconds)
            }
        }
    }

    struct TimestampVisitor;

    impl serde::de::Visitor<'_> for TimestampVisitor {
        type Value = SystemTime;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a timestamp in epoch seconds")
        }

        fn visit_f64<E: serde::de::Error>(self, seconds: f64) -> Result<SystemTime, E> {
            if seconds.is_finite() && (0.0..1.0e11).contains(&seconds) {
                Ok(UNIX_EPOCH + Duration::from_secs_f64(seconds))
            } else {
                Err(E::invalid_value(
                    serde::de::Unexpected::Float(seconds),
                    &self,
                ))
            }
        }

        fn visit_u64<E: serde::de::Error>(self, seconds: u64) -> Result<SystemTime, E> {
            self.visit_f64(seconds as f64)
        }

        fn visit_i64<E: serde::de::Error>(self, seconds: i64) -> Result<SystemTime, E> {
            self.visit_f64(seconds as f64)
        }
    }
}

/// A JSON value whose strings are zeroized when it is dropped (a request body holds a
/// plaintext's base64).
struct Scrubbed(Value);

impl Drop for Scrubbed {
    fn drop(&mut self) {
        scrub(&mut self.0);
    }
}

/// Zeroizes every string in `value`.
pub fn scrub(value: &mut Value) {
    match value {
        Value::String(text) => text.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(scrub),
        Value::Object(members) => members.values_mut().for_each(scrub),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Members given as `null` are absent, at every depth.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(members) => {
            members.retain(|_, v| !v.is_null());
            members.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
    }
}

/// Reads a request body into `T`. An empty body is an empty object. The errors are AWS's:
/// `SerializationException` for a body that is not a JSON object or a member of the wrong
/// type (naming the member as AWS's messages spell it, `keyId`), `ValidationException` for a
/// required member that is missing or null.
///
/// A body that is an object and holds no `null` anywhere (not even inside a string) is read
/// straight into `T`, with no `serde_json::Value` between: without nulls, dropping them changes
/// nothing, so that reading gives what the general one gives. Any failure there (a duplicate
/// member, a wrong type) is left to the general reading, which gives AWS's error.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{')
        && memchr::memmem::find(body, b"null").is_none()
        && let Ok(parsed) = serde_json::from_slice::<T>(body)
    {
        return Ok(parsed);
    }
    parse_through_value(body)
}

/// The general reading of [`parse`]: the body read into a `serde_json::Value`, its nulls
/// dropped, then into `T`, with AWS's errors.
fn parse_through_value<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice::<Value>(body)
            .map_err(|e| serialization(format!("The request body is not valid JSON: {e}")))?
    };
    let mut value = Scrubbed(value);
    if !value.0.is_object() {
        return Err(serialization(format!(
            "The request body must be a JSON object, not {}",
            kind(&value.0)
        )));
    }
    drop_nulls(&mut value.0);
    serde_path_to_error::deserialize(&value.0).map_err(|e| translate(&e, &value.0))
}

/// Writes a response body (zeroized when dropped: it may hold a plaintext).
pub fn to_body<T: Serialize>(output: &T) -> Result<Zeroizing<Vec<u8>>, ApiError> {
    let mut body = SecretBuffer::with_capacity(BODY_CAPACITY);
    serde_json::to_writer(&mut body, output)
        .map_err(|e| ApiError::new(ErrorCode::KmsInternal, e.to_string()))?;
    Ok(body.0)
}

/// What a response body starts with room for: most answers fit, a large plaintext moves a few
/// times.
const BODY_CAPACITY: usize = 1024;

/// A body being written that may hold a secret (a plaintext, a data key, in base64). It grows
/// by moving into a buffer twice as large and zeroizing the one it leaves, so no copy of what it
/// held stays behind in freed memory, as a `Vec` growing in place of itself would leave.
struct SecretBuffer(Zeroizing<Vec<u8>>);

impl SecretBuffer {
    fn with_capacity(capacity: usize) -> Self {
        Self(Zeroizing::new(Vec::with_capacity(capacity)))
    }
}

impl std::io::Write for SecretBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let needed = self
            .0
            .len()
            .checked_add(bytes.len())
            .ok_or_else(|| std::io::Error::other("a response body beyond memory"))?;
        if needed > self.0.capacity() {
            let mut larger = Self::with_capacity(needed.max(self.0.capacity().saturating_mul(2)));
            larger.0.extend_from_slice(&self.0);
            // The smaller buffer is zeroized as it drops.
            *self = larger;
        }
        // Within the capacity: no reallocation.
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn serialization(message: String) -> ApiError {
    ApiError::new(ErrorCode::Serialization, message)
}

/// The `ValidationException` for a required member that is missing.
pub fn missing(member: &str) -> ApiError {
    ApiError::new(
        ErrorCode::Validation,
        format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            camel(member)
        ),
    )
}

/// `KeyId` as AWS's messages spell member names: `keyId`.
pub fn camel(member: &str) -> String {
    let mut chars = member.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Type names as the serialization errors use them.
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

/// A deserialization error as AWS's protocol reports it.
fn translate(error: &serde_path_to_error::Error<serde_json::Error>, root: &Value) -> ApiError {
    use serde_path_to_error::Segment;
    let inner = error.inner().to_string();
    if let Some(field) = inner
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        return missing(field);
    }
    // The member as AWS's messages spell it (`encryptionContext.a`), list positions left out,
    // and the value found there.
    let mut names = Vec::new();
    let mut found = Some(root);
    for segment in error.path().iter() {
        match segment {
            Segment::Map { key } => {
                names.push(camel(key));
                found = found.and_then(|v| v.get(key.as_str()));
            }
            Segment::Seq { index } => found = found.and_then(|v| v.get(index)),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    let member = names.join(".");
    if inner == NOT_BASE64 {
        return serialization(format!("Value of '{member}' is not valid base64"));
    }
    let expected = inner
        .rsplit_once(", expected ")
        .map(|(_, expected)| expected);
    match (expected, found) {
        (Some(expected), Some(value)) => serialization(format!(
            "Value of '{member}' must be {}, not {}",
            expected_text(expected),
            kind(value)
        )),
        _ => serialization(format!("Value of '{member}' is not valid: {inner}")),
    }
}

/// serde's name of what it expected, in the words of the protocol's messages.
fn expected_text(expected: &str) -> &str {
    match expected {
        "u32" | "u64" => "a whole number from 0 to 4294967295",
        "a map" => "a map of strings",
        "a sequence" => "a list",
        other if other.starts_with("struct ") => "a structure",
        other => other,
    }
}

#[cfg(test)]
mod straight_reading_tests {
    #![allow(
        clippy::unwrap_used,
        reason = "tests: a failure is a panic with the value shown"
    )]
    use super::{parse, parse_through_value};
    use crate::{EncryptRequest, ImportKeyMaterialRequest};
    use proptest::prelude::*;

    /// One member of a generated body: its JSON text, well or badly typed, null sometimes.
    fn member() -> impl Strategy<Value = String> {
        let text = "[a-zA-Z0-9 /:é\"\\\\\u{1}-]{0,12}";
        prop_oneof![
            text.prop_map(|t| format!("\"KeyId\":{}", serde_json::json!(t))),
            Just("\"KeyId\":5".to_owned()),
            prop_oneof![Just("AAECAw=="), Just("!!"), Just("")]
                .prop_map(|b| format!("\"Plaintext\":\"{b}\"")),
            proptest::collection::btree_map(text, text, 0..3)
                .prop_map(|m| { format!("\"EncryptionContext\":{}", serde_json::json!(m)) }),
            Just("\"EncryptionContext\":{\"a\":null}".to_owned()),
            Just("\"EncryptionContext\":\"x\"".to_owned()),
            proptest::collection::vec(text, 0..3)
                .prop_map(|v| format!("\"GrantTokens\":{}", serde_json::json!(v))),
            Just("\"GrantTokens\":null".to_owned()),
            Just("\"DryRun\":true".to_owned()),
            Just("\"DryRun\":\"yes\"".to_owned()),
            Just("\"EncryptionAlgorithm\":null".to_owned()),
            Just("\"Unknown\":[1,{\"b\":null}]".to_owned()),
            Just("\"ImportToken\":\"AAEC\"".to_owned()),
            Just("\"EncryptedKeyMaterial\":\"AAEC\"".to_owned()),
            Just("\"ValidTo\":1700000000".to_owned()),
            Just("\"ValidTo\":1700000000.5".to_owned()),
            Just("\"ValidTo\":\"2024-01-01T00:00:00Z\"".to_owned()),
            Just("\"ValidTo\":null".to_owned()),
        ]
    }

    proptest! {
        /// Reading a body straight into its type gives what reading it through a JSON value
        /// gives, answer or error, for bodies with and without nulls, duplicates, wrong types
        /// and unknown members.
        #[test]
        fn the_straight_reading_agrees_with_the_general_one(
            members in proptest::collection::vec(member(), 0..7),
            wrap in 0..3u8,
        ) {
            let object = format!("{{{}}}", members.join(","));
            let body = match wrap {
                0 => object,
                1 => format!("  \n{object}  "),
                _ => format!("[{object}]"),
            };
            let straight = parse::<EncryptRequest>(body.as_bytes());
            let general = parse_through_value::<EncryptRequest>(body.as_bytes());
            prop_assert_eq!(&straight, &general, "{}", body);
            let straight = parse::<ImportKeyMaterialRequest>(body.as_bytes());
            let general = parse_through_value::<ImportKeyMaterialRequest>(body.as_bytes());
            prop_assert_eq!(&straight, &general, "{}", body);
        }
    }

    /// A duplicate member, which the straight reading refuses, is read as the general reading
    /// reads it (the last one wins).
    #[test]
    fn a_duplicate_member_is_read_as_before() {
        let body = br#"{"KeyId":"a","Plaintext":"AAEC","KeyId":"b"}"#;
        let parsed = parse::<EncryptRequest>(body).unwrap();
        assert_eq!(parsed.key_id, "b");
        assert_eq!(parsed, parse_through_value::<EncryptRequest>(body).unwrap());
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests: a failure is a panic with the value shown"
    )]
    use super::*;
    use std::collections::BTreeMap;

    /// A body of any size, a secret in it or not, is what `serde_json` writes; past its first
    /// buffer it moves into one at least twice as large (a copy per doubling, not per write).
    #[test]
    fn a_body_is_serde_jsons_bytes_whatever_it_outgrows() {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Output {
            key_id: String,
            plaintext: SecretBytes,
        }
        for size in [0, 10, 700, 768, 769, 5000, 70_000] {
            let output = Output {
                key_id: "arn:aws:kms:us-east-1:111122223333:key/k".into(),
                plaintext: SecretBytes::new((0..size).map(|i| (i % 251) as u8).collect()),
            };
            let body = to_body(&output).unwrap();
            assert_eq!(*body, serde_json::to_vec(&output).unwrap(), "{size} bytes");
        }
        let mut buffer = SecretBuffer::with_capacity(4);
        std::io::Write::write_all(&mut buffer, b"abcde").unwrap();
        assert!(buffer.0.capacity() >= 8, "{}", buffer.0.capacity());
        std::io::Write::write_all(&mut buffer, &[b'x'; 100]).unwrap();
        assert_eq!(buffer.0.len(), 105);
        assert_eq!(&buffer.0[..5], b"abcde");
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Sample {
        key_id: String,
        plaintext: Option<SecretBytes>,
        #[serde(default)]
        dry_run: bool,
        number_of_bytes: Option<u32>,
        #[serde(default)]
        encryption_context: BTreeMap<String, String>,
        #[serde(default)]
        grant_tokens: Vec<String>,
        #[serde(default, with = "timestamp::option")]
        valid_to: Option<SystemTime>,
        #[serde(default)]
        tags: Vec<SampleTag>,
        description: Option<String>,
    }

    #[derive(Debug, Deserialize, PartialEq, Eq)]
    #[serde(rename_all = "PascalCase")]
    struct SampleTag {
        tag_key: String,
        tag_value: String,
    }

    #[test]
    fn members_are_read_with_their_types_and_null_is_absent() {
        let input: Sample = parse(
            br#"{"KeyId":"k","Plaintext":"aGk=","DryRun":true,"NumberOfBytes":32,
                "EncryptionContext":{"a":"b"},"GrantTokens":["t"],"ValidTo":1700000000.5,
                "Tags":[{"TagKey":"k","TagValue":"v"}],"Description":null,"Unknown":1}"#,
        )
        .unwrap();
        assert_eq!(input.key_id, "k");
        assert_eq!(input.plaintext.unwrap().expose(), b"hi");
        assert!(input.dry_run);
        assert_eq!(input.number_of_bytes, Some(32));
        assert_eq!(input.encryption_context["a"], "b");
        assert_eq!(input.grant_tokens, ["t"]);
        assert_eq!(
            input.tags,
            [SampleTag {
                tag_key: "k".into(),
                tag_value: "v".into()
            }]
        );
        assert_eq!(
            input.valid_to.unwrap(),
            UNIX_EPOCH + Duration::from_millis(1_700_000_000_500)
        );
        assert_eq!(input.description, None);
    }

    #[test]
    fn wrong_types_are_serialization_errors_naming_the_member() {
        for (body, member, expected) in [
            (
                r#"{"KeyId":5}"#,
                "'keyId'",
                "must be a string, not a number",
            ),
            (
                r#"{"KeyId":"k","Plaintext":"not base64!"}"#,
                "'plaintext'",
                "is not valid base64",
            ),
            (
                r#"{"KeyId":"k","DryRun":"yes"}"#,
                "'dryRun'",
                "must be a boolean",
            ),
            (
                r#"{"KeyId":"k","NumberOfBytes":-1}"#,
                "'numberOfBytes'",
                "must be a whole number",
            ),
            (
                r#"{"KeyId":"k","EncryptionContext":{"a":1}}"#,
                "'encryptionContext.a'",
                "must be a string",
            ),
            (
                r#"{"KeyId":"k","GrantTokens":"t"}"#,
                "'grantTokens'",
                "must be a list",
            ),
            (
                r#"{"KeyId":"k","ValidTo":"soon"}"#,
                "'validTo'",
                "must be a timestamp in epoch seconds",
            ),
            (
                r#"{"KeyId":"k","ValidTo":-4}"#,
                "'validTo'",
                "must be a timestamp in epoch seconds",
            ),
            (
                r#"{"KeyId":"k","Tags":[5]}"#,
                "'tags'",
                "must be a structure, not a number",
            ),
        ] {
            let e = parse::<Sample>(body.as_bytes()).unwrap_err();
            assert_eq!(e.code, ErrorCode::Serialization, "{body}");
            let message = e.message.unwrap();
            assert!(message.contains(member), "{body}: {message}");
            assert!(message.contains(expected), "{body}: {message}");
        }
    }

    #[test]
    fn a_missing_or_null_required_member_is_a_validation_error() {
        for body in [&b"{}"[..], br#"{"KeyId":null}"#, b"  "] {
            let e = parse::<Sample>(body).unwrap_err();
            assert_eq!(e.code, ErrorCode::Validation);
            assert_eq!(
                e.message.unwrap(),
                "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null"
            );
        }
        let e = parse::<Sample>(br#"{"KeyId":"k","Tags":[{"TagValue":"v"}]}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
        assert!(e.message.unwrap().contains("'tagKey'"));
    }

    #[test]
    fn bodies_that_are_not_objects_are_refused() {
        for body in [&b"[1]"[..], b"\"x\"", b"{", b"\xff\xfe", b"{\"a\":1}}"] {
            assert_eq!(
                parse::<Sample>(body).unwrap_err().code,
                ErrorCode::Serialization
            );
        }
        assert!(
            parse::<Sample>(b"[1]")
                .unwrap_err()
                .message
                .unwrap()
                .contains("must be a JSON object")
        );
    }

    #[test]
    fn outputs_write_blobs_as_base64_and_times_as_epoch_seconds() {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Out {
            plaintext: SecretBytes,
            #[serde(with = "blob")]
            blob: Vec<u8>,
            #[serde(with = "timestamp")]
            at: SystemTime,
        }
        let body = to_body(&Out {
            plaintext: SecretBytes::from(&b"hi"[..]),
            blob: vec![0, 1],
            at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_250),
        })
        .unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"Plaintext":"aGk=","Blob":"AAE=","At":1700000000.25}"#
        );
    }

    #[test]
    fn a_secret_shows_only_its_length() {
        assert_eq!(
            format!("{:?}", SecretBytes::from(&b"key"[..])),
            "SecretBytes(<3 bytes>)"
        );
    }

    /// A key store's password is read as the text sent, through either reading of a body
    /// (straight, and through a value when a `null` is in it), and a request printed with
    /// `Debug` shows only its length.
    #[test]
    fn a_key_store_password_is_read_and_never_printed() {
        for body in [
            r#"{"CustomKeyStoreName":"s","KeyStorePassword":"pin-1234567"}"#,
            r#"{"CustomKeyStoreName":"s","KeyStorePassword":"pin-1234567","XksProxyUriPath":null}"#,
        ] {
            let request: crate::CreateCustomKeyStoreRequest = parse(body.as_bytes()).unwrap();
            let password = request.key_store_password.as_ref().unwrap();
            assert_eq!(password.expose(), "pin-1234567");
            let printed = format!("{request:?}");
            assert!(!printed.contains("pin-1234567"), "{printed}");
            assert!(printed.contains("SecretText(<11 bytes>)"), "{printed}");
        }
        let update: crate::UpdateCustomKeyStoreRequest =
            parse(br#"{"CustomKeyStoreId":"cks-1","KeyStorePassword":"pin-7654321"}"#).unwrap();
        assert!(!format!("{update:?}").contains("pin-7654321"));
        assert_eq!(
            update.key_store_password.as_ref().map(SecretText::expose),
            Some("pin-7654321")
        );
    }
}

#[cfg(test)]
mod printed_tests {
    #![allow(
        clippy::unwrap_used,
        reason = "tests: a failure is a panic with the value shown"
    )]
    use crate::ListGrantsResponse;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn saved_aws_cli_list_grants_output_reads_with_its_dates_as_text() {
        let printed = r#"{
            "Grants": [{
                "KeyId": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "GrantId": "0c237476b39f8bc44e45212e08498fbe3151305030726c0590dd8d3e9f3d6a60",
                "Name": "",
                "CreationDate": "2024-05-13T16:32:38-07:00",
                "GranteePrincipal": "arn:aws:iam::111122223333:role/app",
                "IssuingAccount": "arn:aws:iam::111122223333:root",
                "Operations": ["Decrypt"],
                "Constraints": {"EncryptionContextSubset": {"tenant": "acme"}}
            }]
        }"#;
        let listed: ListGrantsResponse = serde_json::from_str(printed).unwrap();
        let grant = listed.grants.first().unwrap();
        assert_eq!(
            grant.creation_date,
            Some(UNIX_EPOCH + Duration::from_secs(1_715_643_158))
        );
        assert!(!listed.truncated);
        let epoch = printed.replace("\"2024-05-13T16:32:38-07:00\"", "1715643158.0");
        let listed: ListGrantsResponse = serde_json::from_str(&epoch).unwrap();
        assert_eq!(
            listed.grants.first().unwrap().creation_date,
            grant.creation_date
        );
        let wrong = printed.replace("2024-05-13T16:32:38-07:00", "yesterday");
        let error = serde_json::from_str::<ListGrantsResponse>(&wrong).unwrap_err();
        assert!(error.to_string().contains("RFC 3339"), "{error}");
    }
}
