//! Tags: TagResource, UntagResource, ListResourceTags.

use crate::common::{Tag, key_id_constructor};
use serde::{Deserialize, Serialize};

/// TagResource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// The tags to add or change.
    pub tags: Vec<Tag>,
}

/// UntagResource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// The keys of the tags to remove.
    pub tag_keys: Vec<String>,
}

/// ListResourceTags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourceTagsRequest {
    /// Key ID or key ARN.
    pub key_id: String,
    /// 1 to 1000; 50 when absent.
    pub limit: Option<u32>,
    /// The `NextMarker` of the previous page.
    pub marker: Option<String>,
}

/// ListResourceTags's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListResourceTagsResponse {
    /// The key's tags, in tag key order.
    pub tags: Vec<Tag>,
    /// Where the next page starts, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    /// Whether more tags follow.
    pub truncated: bool,
}

key_id_constructor!(ListResourceTagsRequest);
