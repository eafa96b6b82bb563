//! Shapes several operations share.

use serde::{Deserialize, Serialize};

/// The answer of an operation that returns nothing: `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// A tag: `{"TagKey": ..., "TagValue": ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The key.
    pub tag_key: String,
    /// The value.
    pub tag_value: String,
}

impl Tag {
    /// A tag.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            tag_key: key.into(),
            tag_value: value.into(),
        }
    }
}

/// An encryption context (`EncryptionContext` and the like): keys and values, in key order.
pub type EncryptionContext = std::collections::BTreeMap<String, String>;

/// Gives requests whose only required member is `KeyId` a constructor taking it.
macro_rules! key_id_constructor {
    ($($request:ident),* $(,)?) => {
        $(
            impl $request {
                /// The request for the key `key_id`, its other members absent.
                #[allow(
                    clippy::needless_update,
                    reason = "the same constructor serves requests with and without other members"
                )]
                pub fn new(key_id: impl Into<String>) -> Self {
                    Self {
                        key_id: key_id.into(),
                        ..Self::default()
                    }
                }
            }
        )*
    };
}
pub(crate) use key_id_constructor;

/// A member the API defines for a capability Keyward does not offer (a Nitro Enclaves
/// `Recipient`): only whether it is present matters, and it is refused when it is.
pub type Unsupported = Option<serde_json::Value>;
