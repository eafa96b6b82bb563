//! Named policy documents that requests refer to instead of embedding them:
//! `"key_policy": {"ref": "payroll"}`, and the same for each entry of `identity_policies`
//! (`keyward authorize --batch --policies FILE`). A batch of millions of requests then carries
//! each policy once.

use crate::request::RequestError;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::HashMap;

/// Policy documents by name: a JSON object of name → document (an object, or a string holding
/// the document, as a request may give one).
#[derive(Debug, Clone, Default)]
pub struct PolicyLibrary {
    /// By name: the document's number (its place among the library's documents) and text.
    policies: HashMap<String, (usize, String)>,
}

/// A reference to a named policy: an object whose only member is `ref`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyRef {
    #[serde(rename = "ref")]
    pub(crate) name: String,
}

impl PolicyRef {
    /// Whether `text` (an object) starts with a `ref` member: only then can it be a reference.
    pub(crate) fn may_be(text: &str) -> bool {
        text.strip_prefix('{')
            .is_some_and(|rest| rest.trim_start().starts_with("\"ref\""))
    }
}

impl PolicyLibrary {
    /// Reads a library: a JSON object whose members are named policy documents. A document is
    /// kept as written; it is checked where a request uses it, as the policy it stands for.
    pub fn parse(text: &str) -> Result<Self, RequestError> {
        let raw: HashMap<String, Box<RawValue>> =
            serde_json::from_str(text).map_err(|e| RequestError::Format {
                message: crate::request::strip_position(&e.to_string()),
                line: e.line(),
                column: e.column(),
            })?;
        let mut policies = HashMap::with_capacity(raw.len());
        for (name, document) in raw {
            let text = document.get();
            let text = if text.starts_with('"') {
                serde_json::from_str::<String>(text).map_err(|e| RequestError::Field {
                    field: "policies",
                    message: format!("policy \"{name}\": {e}"),
                })?
            } else if text.starts_with('{') {
                text.to_owned()
            } else {
                return Err(RequestError::Field {
                    field: "policies",
                    message: format!(
                        "policy \"{name}\" is not a policy document (an object, or a string holding one)"
                    ),
                });
            };
            let number = policies.len();
            policies.insert(name, (number, text));
        }
        Ok(Self { policies })
    }

    /// The document named `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.document(name).map(|(_, text)| text)
    }

    /// The document named `name` and its number in this library: two references to the same
    /// number are the same text (a cache can compare numbers rather than texts).
    pub fn document(&self, name: &str) -> Option<(usize, &str)> {
        self.policies
            .get(name)
            .map(|(number, text)| (*number, text.as_str()))
    }

    /// How many documents it holds.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;
    use crate::Request;

    const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;

    fn line(key_policy: &str) -> String {
        format!(
            r#"{{"principal":"arn:aws:iam::111122223333:root","action":"kms:Decrypt","resource":"arn:aws:kms:us-east-1:111122223333:key/k","key_policy":{key_policy}}}"#
        )
    }

    #[test]
    fn documents_are_objects_or_strings_holding_one() {
        let library = PolicyLibrary::parse(&format!(
            r#"{{"object": {DOC}, "string": {}}}"#,
            serde_json::to_string(DOC).unwrap()
        ))
        .unwrap();
        assert_eq!(library.len(), 2);
        assert_eq!(library.get("object"), Some(DOC));
        assert_eq!(library.get("string"), Some(DOC));
        for bad in [r#"{"n": 1}"#, r#"{"n": [1]}"#, "[]", "{"] {
            assert!(PolicyLibrary::parse(bad).is_err(), "{bad}");
        }
    }

    /// Each document has its own number, and a reference carries it with the text.
    #[test]
    fn documents_are_numbered_and_references_carry_the_number() {
        let library = PolicyLibrary::parse(&format!(r#"{{"a": {DOC}, "b": {DOC}}}"#)).unwrap();
        let (a, text) = library.document("a").unwrap();
        let (b, _) = library.document("b").unwrap();
        assert_ne!(a, b);
        assert_eq!(text, DOC);
        assert_eq!(library.document("c"), None);
        let request = Request::parse_with(&line(r#"{"ref":"b"}"#), Some(&library)).unwrap();
        assert_eq!(request.key_policy.unwrap().library_document, Some(b));
        let inline = Request::parse_with(&line(DOC), Some(&library)).unwrap();
        assert_eq!(inline.key_policy.unwrap().library_document, None);
    }

    #[test]
    fn a_reference_is_an_object_whose_only_member_is_ref() {
        let library = PolicyLibrary::parse(&format!(r#"{{"k": {DOC}}}"#)).unwrap();
        for reference in [r#"{"ref":"k"}"#, r#"{ "ref" : "k" }"#] {
            let request = Request::parse_with(&line(reference), Some(&library)).unwrap();
            assert_eq!(request.key_policy.map(|p| p.text).as_deref(), Some(DOC));
        }
        // Another member besides `ref`: a policy document (and an invalid one).
        let both = r#"{"ref":"k","Version":"2012-10-17"}"#;
        let request = Request::parse_with(&line(both), Some(&library)).unwrap();
        assert_eq!(request.key_policy.map(|p| p.text).as_deref(), Some(both));
        // A document whose first member is not `ref` is read as before, library or not.
        let request = Request::parse_with(&line(DOC), None).unwrap();
        assert_eq!(request.key_policy.map(|p| p.text).as_deref(), Some(DOC));
    }
}
