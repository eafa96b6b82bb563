//! The catalog: one source of truth for every KMS action and condition key.
//!
//! Transcribed from the Service Authorization Reference ("Actions, resources, and condition
//! keys for AWS Key Management Service"), the AWS KMS API Reference and the AWS KMS Developer
//! Guide ("AWS KMS condition keys"). Tests pin its contents.

mod actions;
mod keys;

use std::fmt;

/// Access level of an action (Service Authorization Reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessLevel {
    /// Describe*/Get*.
    Read,
    /// List*.
    List,
    /// Most operations.
    Write,
    /// TagResource, UntagResource.
    Tagging,
    /// CreateGrant, PutKeyPolicy, RetireGrant, RevokeGrant.
    PermissionsManagement,
}

/// What an action's resource is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceScope {
    /// A KMS key: authorized by its key policy (and IAM when delegated) and grants.
    Key,
    /// An alias and its key(s): the alias by IAM, the key by its key policy.
    AliasAndKey,
    /// No resource (`"Resource": "*"` in IAM): decided by identity policies alone.
    NoResource,
}

/// Whether an action can be used on a key in another account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrossAccount {
    /// Allowed cross-account when both sides allow.
    Yes,
    /// Permissions for other accounts have no effect.
    No,
    /// Only principals of the caller's own account (ListRetirableGrants).
    OwnAccountOnly,
    /// The action has no account-owned resource (GenerateRandom).
    NotApplicable,
    /// Internal to AWS; no public API.
    Internal,
}

/// Where the Allow for an action must live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AllowPlacement {
    /// The key policy, or an identity policy when the key policy delegates to the account.
    KeyPolicy,
    /// Both: the key policy for the key (as above) and an identity policy for the alias or
    /// the other Region.
    KeyPolicyAndIam,
    /// Identity policies only (no key resource).
    IamOnly,
    /// Authorized by the grant itself (retiring principal or grantee); policies have no effect.
    GrantOnly,
    /// Only AWS uses it.
    InternalOnly,
}

/// One KMS action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KmsAction {
    /// The operation name without the `kms:` prefix, e.g. `Decrypt`.
    pub name: &'static str,
    /// Access level.
    pub access_level: AccessLevel,
    /// What the action acts on.
    pub resource: ResourceScope,
    /// Condition keys the action sets, besides the resource keys of `key`.
    pub condition_keys: &'static [&'static str],
    /// Whether it works cross-account.
    pub cross_account: CrossAccount,
    /// Where its Allow must live.
    pub allow_in: AllowPlacement,
    /// Whether a grant can allow it.
    pub grantable: bool,
}

/// The index of an action in [`actions()`]; small and `Copy`, for bitsets and tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActionId(u8);

impl ActionId {
    /// The position in [`actions()`].
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The catalog entry.
    #[allow(
        clippy::indexing_slicing,
        reason = "ids are only made from indices below ACTIONS.len()"
    )]
    pub fn info(self) -> &'static KmsAction {
        &actions::ACTIONS[self.index()]
    }

    /// Whether a request for this action can carry condition key `key` (names compare without
    /// case; `${...}` in a catalog name stands for any text).
    pub fn sets_key(self, key: &str) -> bool {
        let info = self.info();
        // A `$` is only ever the start of `${...}` in a catalog name (a character search, not
        // a substring search: this runs for every key of every action the analysis groups).
        let listed = |name: &str| match name.find('$') {
            Some(i) => name
                .get(..i)
                .is_some_and(|prefix| extends_ignoring_case(key, prefix)),
            None => key.eq_ignore_ascii_case(name),
        };
        if info.condition_keys.iter().any(|name| listed(name)) {
            return true;
        }
        if matches!(
            info.resource,
            ResourceScope::Key | ResourceScope::AliasAndKey
        ) && key_resource_condition_keys()
            .iter()
            .any(|name| listed(name))
        {
            return true;
        }
        // Global keys are in every request, except the tag keys, which only tagging actions and
        // key-resource actions set.
        let action_specific = ["aws:RequestTag/", "aws:TagKeys", "aws:ResourceTag/"]
            .iter()
            .any(|prefix| extends_ignoring_case(key, prefix) || key.eq_ignore_ascii_case(prefix));
        key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")) && !action_specific
    }

    /// Every action id, in catalog order.
    pub fn all() -> impl Iterator<Item = ActionId> {
        (0..actions::ACTIONS.len()).map(|i| ActionId(i as u8))
    }

    /// Every action on a key (resource scope [`ResourceScope::Key`]: not the alias
    /// operations, not the actions without a resource), in catalog order.
    pub fn on_a_key() -> impl Iterator<Item = ActionId> {
        Self::all().filter(|a| a.is_on_a_key())
    }

    /// Whether the action acts on a key ([`ActionId::on_a_key`]).
    pub fn is_on_a_key(self) -> bool {
        self.info().resource == ResourceScope::Key
    }

    /// Every action that involves a key: the actions on a key and the alias operations, which
    /// act on an alias and on the key it names (resource scope [`ResourceScope::Key`] or
    /// [`ResourceScope::AliasAndKey`]), in catalog order.
    pub fn involving_a_key() -> impl Iterator<Item = ActionId> {
        Self::all().filter(|a| a.involves_a_key())
    }

    /// Whether the action involves a key ([`ActionId::involving_a_key`]).
    pub fn involves_a_key(self) -> bool {
        matches!(
            self.info().resource,
            ResourceScope::Key | ResourceScope::AliasAndKey
        )
    }

    /// The action named exactly `name` (`Decrypt`, without `kms:`). A `const fn`, so that code
    /// naming an action it performs finds it when it is compiled:
    /// `const DECRYPT: Option<ActionId> = ActionId::named("Decrypt");`.
    pub const fn named(name: &str) -> Option<ActionId> {
        let mut rest = actions::ACTIONS;
        let mut index = 0u8;
        while let [action, tail @ ..] = rest {
            if same_bytes(action.name.as_bytes(), name.as_bytes()) {
                return Some(ActionId(index));
            }
            rest = tail;
            index = index.wrapping_add(1);
        }
        None
    }
}

/// Byte-wise equality, usable in a `const fn`.
const fn same_bytes(mut a: &[u8], mut b: &[u8]) -> bool {
    loop {
        match (a, b) {
            ([], []) => return true,
            ([x, a_rest @ ..], [y, b_rest @ ..]) if *x == *y => {
                a = a_rest;
                b = b_rest;
            }
            _ => return false,
        }
    }
}

impl ActionId {
    /// The qualified name, `kms:Decrypt`.
    pub fn qualified_name(self) -> &'static str {
        static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        NAMES
            .get_or_init(|| {
                actions::ACTIONS
                    .iter()
                    .map(|a| format!("kms:{}", a.name))
                    .collect()
            })
            .get(self.index())
            .map_or("kms:", String::as_str)
    }
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.qualified_name())
    }
}

/// A set of KMS actions, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ActionSet(u64);

// Every action must fit in the bitset.
const _: () = assert!(actions::ACTIONS.len() <= 64);

impl ActionSet {
    /// No actions.
    pub const EMPTY: Self = Self(0);

    /// Every KMS action.
    pub fn all() -> Self {
        ActionId::all().fold(Self::EMPTY, |s, a| s.with(a))
    }

    /// This set plus `action`.
    #[must_use]
    pub const fn with(self, action: ActionId) -> Self {
        Self(self.0 | (1u64 << action.0))
    }

    /// Whether `action` is in the set.
    pub const fn contains(self, action: ActionId) -> bool {
        self.0 & (1u64 << action.0) != 0
    }

    /// The union of two sets.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The actions not in this set.
    #[must_use]
    pub fn complement(self) -> Self {
        Self(!self.0 & Self::all().0)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The number of actions.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The actions, in catalog order.
    pub fn iter(self) -> impl Iterator<Item = ActionId> {
        ActionId::all().filter(move |a| self.contains(*a))
    }
}

/// Every KMS action, sorted by name.
pub fn actions() -> &'static [KmsAction] {
    actions::ACTIONS
}

/// The longest operation name, in bytes; longer text is no action.
const MAX_NAME: usize = 48;

/// Action names lower-cased and sorted, for binary search. Catalog names are distinct ignoring
/// case, so every case-insensitive prefix selects a contiguous run.
fn by_folded_name() -> &'static [(Box<[u8]>, ActionId)] {
    static ORDER: std::sync::OnceLock<Vec<(Box<[u8]>, ActionId)>> = std::sync::OnceLock::new();
    ORDER.get_or_init(|| {
        let mut names: Vec<_> = ActionId::all()
            .map(|id| {
                (
                    id.info()
                        .name
                        .to_ascii_lowercase()
                        .into_bytes()
                        .into_boxed_slice(),
                    id,
                )
            })
            .collect();
        names.sort();
        names
    })
}

/// Lexicographic order of two short byte strings, compared inline (a `memcmp` call costs more
/// than the comparison for names this short).
fn compare_bytes(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// `text` lower-cased into `buffer`, when it fits.
fn fold<'b>(text: &str, buffer: &'b mut [u8; MAX_NAME]) -> Option<&'b [u8]> {
    let folded = buffer.get_mut(..text.len())?;
    folded.copy_from_slice(text.as_bytes());
    folded.make_ascii_lowercase();
    Some(folded)
}

/// Look up an action by its operation name (`Decrypt`), case-insensitively. A binary search
/// over folded names; no allocation.
pub fn action_by_name(name: &str) -> Option<ActionId> {
    let mut buffer = [0u8; MAX_NAME];
    let folded = fold(name, &mut buffer)?;
    let order = by_folded_name();
    let i = order
        .binary_search_by(|(n, _)| compare_bytes(n, folded))
        .ok()?;
    order.get(i).map(|(_, id)| *id)
}

/// The actions whose operation names start with `prefix`, ignoring ASCII case (the
/// `kms:Prefix*` pattern). Two binary searches.
pub fn actions_with_name_prefix(prefix: &str) -> ActionSet {
    let mut buffer = [0u8; MAX_NAME];
    let Some(folded) = fold(prefix, &mut buffer) else {
        return ActionSet::EMPTY;
    };
    let order = by_folded_name();
    let head = |n: &[u8]| compare_bytes(n.get(..folded.len()).unwrap_or(n), folded);
    let start = order.partition_point(|(n, _)| head(n).is_lt());
    let end = order.partition_point(|(n, _)| head(n).is_le());
    order
        .get(start..end)
        .unwrap_or(&[])
        .iter()
        .fold(ActionSet::EMPTY, |set, (_, id)| set.with(*id))
}

/// Look up a full action (`kms:Decrypt`), prefix and name case-insensitively.
pub fn kms_action(full_name: &str) -> Option<ActionId> {
    let (service, name) = full_name.split_once(':')?;
    if !service.eq_ignore_ascii_case("kms") {
        return None;
    }
    action_by_name(name)
}

/// The type of a condition key's value (Service Authorization Reference types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// A string.
    String,
    /// A number.
    Numeric,
    /// A date-time (also epoch seconds).
    Date,
    /// `true` / `false`.
    Bool,
    /// An ARN.
    Arn,
    /// An IP address.
    IpAddress,
    /// A set of strings: multivalued, needs `ForAnyValue`/`ForAllValues`.
    ArrayOfString,
}

impl KeyType {
    /// Whether a value of this type is a set of values.
    pub const fn is_multivalued(self) -> bool {
        matches!(self, Self::ArrayOfString)
    }
}

/// Where a condition key may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPlacement {
    /// Key policies and identity policies.
    Anywhere,
    /// Identity policies only; KMS rejects it in a key policy.
    IdentityPolicyOnly,
}

/// One condition key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConditionKeyInfo {
    /// The name as documented; `${...}` marks a template part (`aws:ResourceTag/${TagKey}`).
    pub name: &'static str,
    /// The value type.
    pub value_type: KeyType,
    /// Where it may be used.
    pub allowed_in: KeyPlacement,
}

impl ConditionKeyInfo {
    /// Whether the value is a set (`ArrayOfString`).
    pub const fn is_multivalued(&self) -> bool {
        self.value_type.is_multivalued()
    }

    /// For a template key, the fixed prefix before `${...}`.
    pub fn template_prefix(&self) -> Option<&'static str> {
        self.name.find("${").and_then(|i| self.name.get(..i))
    }

    /// Whether `key` (as written in a policy) is this key. Names compare case-insensitively;
    /// a template matches its prefix followed by any non-empty text.
    pub fn matches(&self, key: &str) -> bool {
        match self.template_prefix() {
            Some(prefix) => extends_ignoring_case(key, prefix),
            None => key.eq_ignore_ascii_case(self.name),
        }
    }
}

/// Every `kms:` condition key.
pub fn kms_condition_keys() -> &'static [ConditionKeyInfo] {
    keys::KMS_KEYS
}

/// The `aws:` global condition keys.
pub fn global_condition_keys() -> &'static [ConditionKeyInfo] {
    keys::GLOBAL_KEYS
}

/// Condition keys by folded name, and the template keys by folded prefix.
struct KeyIndex {
    /// Hashed with foldhash: looked up for every key of every request context.
    exact:
        std::collections::HashMap<String, &'static ConditionKeyInfo, foldhash::fast::RandomState>,
    templates: Vec<(String, &'static ConditionKeyInfo)>,
    /// The multivalued keys' folded names, and the multivalued templates' folded prefixes:
    /// what [`is_multivalued`] compares a key with, without hashing it.
    multivalued: Vec<String>,
    multivalued_templates: Vec<String>,
}

fn key_index() -> &'static KeyIndex {
    static INDEX: std::sync::OnceLock<KeyIndex> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = KeyIndex {
            exact: std::collections::HashMap::default(),
            templates: Vec::new(),
            multivalued: Vec::new(),
            multivalued_templates: Vec::new(),
        };
        for info in keys::KMS_KEYS.iter().chain(keys::GLOBAL_KEYS) {
            match info.template_prefix() {
                Some(prefix) => {
                    if info.is_multivalued() {
                        index
                            .multivalued_templates
                            .push(prefix.to_ascii_lowercase());
                    }
                    index.templates.push((prefix.to_ascii_lowercase(), info));
                }
                None => {
                    if info.is_multivalued() {
                        index.multivalued.push(info.name.to_ascii_lowercase());
                    }
                    index.exact.insert(info.name.to_ascii_lowercase(), info);
                }
            }
        }
        index
    })
}

/// Look up a condition key as written in a policy (`kms:EncryptionContext:Dept`,
/// `AWS:SourceIP`), case-insensitively: one hash lookup, then the few template prefixes.
pub fn condition_key(key: &str) -> Option<&'static ConditionKeyInfo> {
    let index = key_index();
    let mut buffer = [0u8; 96];
    if let Some(folded) = buffer.get_mut(..key.len()) {
        folded.copy_from_slice(key.as_bytes());
        folded.make_ascii_lowercase();
        if let Some(info) = std::str::from_utf8(folded)
            .ok()
            .and_then(|k| index.exact.get(k))
        {
            return Some(info);
        }
    }
    index
        .templates
        .iter()
        .find(|(prefix, _)| extends_ignoring_case(key, prefix))
        .map(|(_, info)| *info)
}

/// Whether the catalog types `key` (any case) as multivalued: what
/// [`condition_key`]`(key).is_some_and(|k| k.is_multivalued())` says, by comparing `key` with
/// the few multivalued names and template prefixes rather than looking it up. Asked for every
/// key a request context sets.
pub fn is_multivalued(key: &str) -> bool {
    let index = key_index();
    index
        .multivalued
        .iter()
        .any(|name| name.len() == key.len() && key.eq_ignore_ascii_case(name))
        || index
            .multivalued_templates
            .iter()
            .any(|prefix| extends_ignoring_case(key, prefix))
}

/// The keys [`is_multivalued`] says yes to: the multivalued keys' names folded to ASCII
/// lowercase, and the folded prefixes of the multivalued templates (none today). For a caller
/// that prepares its own quick test (a request context hashes these names once).
pub fn multivalued_keys() -> (&'static [String], &'static [String]) {
    let index = key_index();
    (&index.multivalued, &index.multivalued_templates)
}

/// Whether KMS refuses `key` in a key policy (`aws:ResourceTag/*`, `kms:ResourceAliases`, ...).
pub fn forbidden_in_key_policy(key: &str) -> bool {
    keys::FORBIDDEN_IN_KEY_POLICY.iter().any(|forbidden| {
        if forbidden.ends_with('/') {
            extends_ignoring_case(key, forbidden)
        } else {
            key.eq_ignore_ascii_case(forbidden)
        }
    })
}

/// Whether `key` is `prefix` (compared without ASCII case) followed by at least one character:
/// how a templated key such as `kms:EncryptionContext:${k}` matches what a policy writes.
pub fn extends_ignoring_case(key: &str, prefix: &str) -> bool {
    key.len() > prefix.len()
        && key
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// The resource condition keys of the `key` resource type, set for every key-scoped action.
pub fn key_resource_condition_keys() -> &'static [&'static str] {
    keys::KEY_RESOURCE_KEYS
}

#[cfg(test)]
mod tests;
