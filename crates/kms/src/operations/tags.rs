//! Tags: TagResource, UntagResource, ListResourceTags.

use super::audited_tags;
use crate::error::KmsError;
use crate::gate::operation;
use crate::paging::{PageSize, paginate};
use keyward_api::{
    Empty, ErrorCode, ListResourceTagsRequest, ListResourceTagsResponse, Tag, TagResourceRequest,
    UntagResourceRequest,
};
use serde_json::json;

/// The most tags a key has.
const MAX_TAGS: usize = 50;

/// Tags as KMS checks them: first the API's shape (a key of 1 to 128 characters, a value of at
/// most 256, with AWS's `ValidationException` text naming the tag's position), then KMS's
/// rules (`TagException`: at most 50, no key beginning with `aws:` in any case, no key twice).
pub(crate) fn check_tags(tags: &[Tag]) -> Result<(), KmsError> {
    for (i, tag) in tags.iter().enumerate() {
        let at = i + 1;
        let length = |member: &str, text: &str, constraint: &str| {
            KmsError::validation(format!(
                "1 validation error detected: Value '{text}' at 'tags.{at}.member.{member}' failed to satisfy constraint: Member must have length {constraint}"
            ))
        };
        if tag.tag_key.is_empty() {
            return Err(length("tagKey", &tag.tag_key, "greater than or equal to 1"));
        }
        if tag.tag_key.chars().count() > 128 {
            return Err(length("tagKey", &tag.tag_key, "less than or equal to 128"));
        }
        if tag.tag_value.chars().count() > 256 {
            return Err(length(
                "tagValue",
                &tag.tag_value,
                "less than or equal to 256",
            ));
        }
    }
    let tag_error = |m: &str| KmsError::refused(ErrorCode::Tag, m);
    if tags.len() > MAX_TAGS {
        return Err(tag_error("Too many tags"));
    }
    for (i, tag) in tags.iter().enumerate() {
        if tag
            .tag_key
            .get(..4)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws:"))
        {
            return Err(tag_error("Tags beginning with aws: are reserved"));
        }
        if tags.iter().take(i).any(|t| t.tag_key == tag.tag_key) {
            return Err(tag_error("Duplicate tag keys"));
        }
    }
    Ok(())
}

operation! {
    /// TagResource: adds or changes tags; a key keeps at most 50.
    TagResource(TagResourceRequest) -> Empty, via Change, action "TagResource", state NotPendingDeletion;
    audit |r| json!({"keyId": r.key_id, "tags": audited_tags(&r.tags)});
    check |r| check_tags(&r.tags);
    context |r, keys| for tag in &r.tags {
        keys.insert_single(&format!("aws:RequestTag/{}", tag.tag_key), &tag.tag_value);
    };
    perform |_, entry, r| {
        let mut merged = entry.meta.tags.clone();
        merged.extend(r.tags.iter().map(|t| (t.tag_key.clone(), t.tag_value.clone())));
        if merged.len() > MAX_TAGS {
            return Err(KmsError::refused(ErrorCode::Tag, "Too many tags"));
        }
        entry.meta.tags = merged;
        Ok(Empty {})
    }
}

operation! {
    /// UntagResource.
    UntagResource(UntagResourceRequest) -> Empty, via Change, action "UntagResource", state NotPendingDeletion;
    audit |r| json!({"keyId": r.key_id, "tagKeys": r.tag_keys});
    perform |_, entry, r| {
        for key in &r.tag_keys {
            entry.meta.tags.remove(key);
        }
        Ok(Empty {})
    }
}

operation! {
    /// ListResourceTags: the key's tags, in tag key order.
    ListResourceTags(ListResourceTagsRequest) -> ListResourceTagsResponse, via Read,
        action "ListResourceTags", state Any;
    audit |r| json!({"keyId": r.key_id});
    perform |_, entry, r| {
        let tags = entry.meta.tags.iter().map(|(k, v)| Tag::new(k.clone(), v.clone())).collect();
        let page = paginate(tags, r.limit, r.marker.as_deref(), PageSize { default: 50, max: 1000 })?;
        Ok(ListResourceTagsResponse { tags: page.items, next_marker: page.next_marker, truncated: page.truncated })
    }
}
