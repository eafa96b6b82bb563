//! The request context: the condition keys a request carries, typed when a condition reads them.
//!
//! Key names compare without ASCII case: a context keeps each name as given, with a hash that
//! folds case, in a sorted index; the compiled conditions look names up by that hash and then
//! compare without case. Short names and values (up to 24 bytes) are held inline, so building
//! a context costs about one allocation per long string. A value is single or multivalued; each
//! scalar is read as a number, an instant, an address, a boolean or base64 the first time a
//! condition asks for that reading, and never again.

use crate::value;
use chrono::{DateTime, Utc};
use compact_str::CompactString;
use keyward_policy::catalog;
use rust_decimal::Decimal;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

/// One request value and its typed readings, made together the first time a condition asks
/// for one (most values are only ever compared as text) and kept.
#[derive(Debug, Clone)]
pub struct Scalar {
    /// Up to 24 bytes inline: most request values (accounts, key specs, tags, addresses) are
    /// stored without an allocation.
    text: CompactString,
    readings: OnceLock<Readings>,
}

/// A value read as a number, an instant, an address, a boolean and base64, where it is one.
#[derive(Debug, Clone)]
struct Readings {
    number: Option<Decimal>,
    instant: Option<DateTime<Utc>>,
    address: Option<IpAddr>,
    boolean: Option<bool>,
    binary: Option<Box<[u8]>>,
}

impl Readings {
    /// Every reading of `text`; those that cannot succeed (judged by the first character and
    /// the characters present) are not attempted.
    fn of(text: &str) -> Self {
        let first = text.trim_start().bytes().next().unwrap_or(b' ');
        let numeric = first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.');
        Self {
            number: numeric.then(|| value::parse_number(text)).flatten(),
            instant: (first.is_ascii_digit() || first == b'-')
                .then(|| value::parse_instant(text))
                .flatten(),
            address: (first.is_ascii_hexdigit() || first == b':')
                .then(|| value::parse_address(text))
                .flatten(),
            boolean: value::parse_bool(text),
            binary: (!text.contains([':', '.', '-', ' ']))
                .then(|| value::parse_binary(text).map(Vec::into_boxed_slice))
                .flatten(),
        }
    }
}

/// Two scalars are equal when their texts are: the readings are a function of the text,
/// whether they have been made yet or not.
impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Scalar {}

impl Scalar {
    /// A value; its typed readings are made when first asked for.
    pub fn new(text: &str) -> Self {
        Self {
            text: CompactString::new(text),
            readings: OnceLock::new(),
        }
    }

    fn readings(&self) -> &Readings {
        self.readings.get_or_init(|| Readings::of(&self.text))
    }

    /// The value as text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// As a number, when it is one.
    pub fn number(&self) -> Option<Decimal> {
        self.readings().number
    }

    /// As an instant, when it is one.
    pub fn instant(&self) -> Option<DateTime<Utc>> {
        self.readings().instant
    }

    /// As an IP address, when it is one.
    pub fn address(&self) -> Option<IpAddr> {
        self.readings().address
    }

    /// As a boolean, when it is one.
    pub fn boolean(&self) -> Option<bool> {
        self.readings().boolean
    }

    /// As base64-decoded bytes, when it is base64.
    pub fn binary(&self) -> Option<&[u8]> {
        self.readings().binary.as_deref()
    }
}

/// A context value: one scalar, or a set of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    /// A single-valued key.
    Single(Scalar),
    /// A multivalued key (`kms:EncryptionContextKeys`, `aws:TagKeys`, ...), possibly empty.
    Multi(Box<[Scalar]>),
    /// A single-valued key the request gives more than once, under names that differ only in
    /// case (`kms:EncryptionContext:TENANT` and `...:tenant`): each is a reading of the key.
    /// An Allow's test must hold for every reading, a Deny's for any
    /// ([`crate::encryption_context`]).
    Variants(Box<[Scalar]>),
}

impl ContextValue {
    /// A single value.
    pub fn single(text: &str) -> Self {
        Self::Single(Scalar::new(text))
    }

    /// A set of values.
    pub fn multi<'t>(texts: impl IntoIterator<Item = &'t str>) -> Self {
        Self::Multi(texts.into_iter().map(Scalar::new).collect())
    }

    /// The scalars: one for a single value, all of a set, every reading of variants.
    pub fn scalars(&self) -> &[Scalar] {
        match self {
            Self::Single(s) => std::slice::from_ref(s),
            Self::Multi(values) | Self::Variants(values) => values,
        }
    }

    /// Whether this is a set (whatever its size).
    pub fn is_multi(&self) -> bool {
        matches!(self, Self::Multi(_))
    }
}

/// A condition key name prepared for lookup: folded to ASCII lowercase (key names compare
/// without case) and hashed, once, when a policy is compiled or a context built.
///
/// It also keeps the name as written, so that a lookup first compares bytes (a policy and a
/// request mostly spell a key alike) and folds case only when they differ. Two keys are equal
/// when their folded names are, however they were written.
#[derive(Debug, Clone)]
pub struct ContextKey {
    hash: u64,
    folded: Box<str>,
    written: Box<str>,
}

impl PartialEq for ContextKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.folded == other.folded
    }
}

impl Eq for ContextKey {}

impl std::hash::Hash for ContextKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.folded.hash(state);
    }
}

impl PartialOrd for ContextKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ContextKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.hash, &self.folded).cmp(&(other.hash, &other.folded))
    }
}

impl ContextKey {
    /// Prepare `name` (any case).
    pub fn new(name: &str) -> Self {
        Self {
            hash: folded_hash(name),
            folded: name.to_ascii_lowercase().into(),
            written: name.into(),
        }
    }

    /// Whether `name` is this key, compared without ASCII case: bytes first, then folded.
    fn names(&self, name: &str) -> bool {
        *name == *self.written || name.eq_ignore_ascii_case(&self.folded)
    }

    /// The name folded to ASCII lowercase.
    pub fn folded(&self) -> &str {
        &self.folded
    }
}

/// The hash of `name` as compared without ASCII case, read eight bytes at a time with no
/// copy. Setting bit 5 of every byte folds an ASCII capital to its small letter and leaves a
/// small letter as it is, so two names equal but for ASCII case hash alike; other bytes it
/// may merge (`@` and `` ` ``), which costs a string comparison, never a wrong answer. Fixed,
/// not seeded: the same in every process.
fn folded_hash(name: &str) -> u64 {
    const FOLD: u64 = 0x2020_2020_2020_2020;
    const MIX: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes = name.as_bytes();
    let mut hash = (bytes.len() as u64).wrapping_mul(MIX);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        hash = (hash ^ (u64::from_le_bytes(word) | FOLD)).wrapping_mul(MIX);
        hash ^= hash >> 29;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        if let Some(head) = word.get_mut(..rest.len()) {
            head.copy_from_slice(rest);
        }
        hash = (hash ^ (u64::from_le_bytes(word) | FOLD)).wrapping_mul(MIX);
        hash ^= hash >> 29;
    }
    hash
}

/// The order of entries: by the hash of the folded name, then by the folded name, compared
/// as it is folded.
fn name_order(a_hash: u64, a: &str, b_hash: u64, b: &str) -> std::cmp::Ordering {
    a_hash.cmp(&b_hash).then_with(|| {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    })
}

/// A key about to be set: the name as given, its folded hash, its value.
struct Entry {
    hash: u64,
    key: CompactString,
    value: ContextValue,
}

impl Entry {
    fn new(key: CompactString, value: ContextValue) -> Self {
        Self {
            hash: folded_hash(&key),
            key,
            value,
        }
    }

    /// A key as [`RequestContext::insert`] sets it: a single value for a key the catalog types
    /// as multivalued becomes a set of one.
    fn typed(key: CompactString, value: ContextValue) -> Self {
        let hash = folded_hash(&key);
        let value = match value {
            ContextValue::Single(s) if is_multivalued(hash, &key) => {
                ContextValue::Multi(Box::new([s]))
            }
            value => value,
        };
        Self { hash, key, value }
    }
}

/// Whether the catalog types the key `name`, whose folded hash is `hash`, as multivalued: a
/// scan of the few multivalued keys' hashes, asking the catalog only when one is equal (or
/// when it has multivalued templates, which a hash cannot test).
fn is_multivalued(hash: u64, name: &str) -> bool {
    static HASHES: OnceLock<(Vec<u64>, bool)> = OnceLock::new();
    let (hashes, templates) = HASHES.get_or_init(|| {
        let (names, templates) = catalog::multivalued_keys();
        (
            names.iter().map(|n| folded_hash(n)).collect(),
            !templates.is_empty(),
        )
    });
    (*templates || hashes.contains(&hash)) && catalog::is_multivalued(name)
}

/// A key of a context in its sorted index: the name as given (up to 24 bytes inline), its
/// folded hash and where its value is. The folded name is not kept: a lookup compares without
/// ASCII case. Forty bytes, so that keeping the index sorted moves little; the values, larger,
/// stay where they were first put.
#[derive(Debug, Clone)]
struct Name {
    hash: u64,
    key: CompactString,
    slot: usize,
}

impl Name {
    fn order(&self, hash: u64, key: &str) -> std::cmp::Ordering {
        name_order(self.hash, &self.key, hash, key)
    }
}

/// The room a context makes for its entries at its first key.
const ENTRIES_AT_FIRST: usize = 16;

/// The prefix of an encryption context pair's condition key.
const EC_PREFIX: &str = "kms:EncryptionContext:";

/// The condition keys of one request.
///
/// A context may sit on shared lower layers ([`with_layer`](Self::with_layer)): keys that do
/// not change from one request to the next (the caller's, the key's) are stored once in a
/// layer, and each request only adds its own keys on top. A key set in an upper layer (or in
/// the context itself) hides the same key, in any case, below it.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// The keys, sorted by name (folded hash, then folded text).
    names: Vec<Name>,
    /// The values, each where its key's [`Name::slot`] says, in the order keys were first set.
    values: Vec<ContextValue>,
    /// Shared lower layers, the last added highest.
    layers: Vec<Arc<RequestContext>>,
}

/// Two contexts are equal when they set the same keys, spelled the same, to the same values,
/// on equal layers, whatever order the keys were set in.
impl PartialEq for RequestContext {
    fn eq(&self, other: &Self) -> bool {
        self.names.len() == other.names.len()
            && self
                .own_entries()
                .zip(other.own_entries())
                .all(|((a, x), (b, y))| a.key == b.key && x == y)
            && self.layers == other.layers
    }
}

impl Eq for RequestContext {}

impl RequestContext {
    /// An empty context: every key is missing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set `key` to `value`, replacing a value whose key differs only in case. A single value
    /// for a key the catalog types as multivalued becomes a set of one.
    pub fn insert(&mut self, key: &str, value: ContextValue) {
        self.set(Entry::typed(CompactString::new(key), value));
    }

    /// [`insert`](Self::insert) for a name built for it: its buffer is kept, not copied.
    pub fn insert_owned(&mut self, key: String, value: ContextValue) {
        self.set(Entry::typed(CompactString::from(key), value));
    }

    /// [`insert`](Self::insert) for a name the program spells: it is kept by reference, not
    /// copied.
    pub fn insert_static(&mut self, key: &'static str, value: ContextValue) {
        self.set(Entry::typed(CompactString::const_new(key), value));
    }

    /// Set one key, replacing one whose name differs only in case.
    fn set(&mut self, entry: Entry) {
        if self.names.capacity() == 0 {
            // A request's context holds a dozen keys or so: one allocation, not four growths.
            self.names.reserve(ENTRIES_AT_FIRST);
            self.values.reserve(ENTRIES_AT_FIRST);
        }
        match self
            .names
            .binary_search_by(|n| n.order(entry.hash, &entry.key))
        {
            Ok(i) => self.replace(i, entry),
            Err(i) => {
                let slot = self.values.len();
                self.values.push(entry.value);
                self.names.insert(
                    i,
                    Name {
                        hash: entry.hash,
                        key: entry.key,
                        slot,
                    },
                );
            }
        }
    }

    /// Replace the key at `index` in the sorted names (same name, any case) with `entry`.
    fn replace(&mut self, index: usize, entry: Entry) {
        if let Some(name) = self.names.get_mut(index) {
            name.key = entry.key;
            if let Some(value) = self.values.get_mut(name.slot) {
                *value = entry.value;
            }
        }
    }

    /// Set a single-valued key.
    pub fn insert_single(&mut self, key: &str, text: &str) {
        self.insert(key, ContextValue::single(text));
    }

    /// Set a multivalued key.
    pub fn insert_multi<'t>(&mut self, key: &str, texts: impl IntoIterator<Item = &'t str>) {
        self.insert(key, ContextValue::multi(texts));
    }

    /// Set the keys a KMS encryption context implies: `kms:EncryptionContext:<k>` for each pair
    /// and the set `kms:EncryptionContextKeys`. An empty context sets nothing (the keys are then
    /// missing, as in AWS). Keys that differ only in case become one condition key with
    /// [`ContextValue::Variants`]. Linear after one sort: a large context costs `n log n`, not
    /// `n²`.
    pub fn insert_encryption_context<'p>(
        &mut self,
        pairs: impl IntoIterator<Item = (&'p str, &'p str)>,
    ) {
        let mut named: Vec<(u64, CompactString, &'p str)> = pairs
            .into_iter()
            .map(|(k, v)| {
                // Concatenated rather than formatted: this runs for every pair of every request.
                let mut key = CompactString::with_capacity(EC_PREFIX.len() + k.len());
                key.push_str(EC_PREFIX);
                key.push_str(k);
                (folded_hash(&key), key, v)
            })
            .collect();
        if named.is_empty() {
            return;
        }
        let keys = ContextValue::Multi(
            named
                .iter()
                .map(|(_, key, _)| Scalar::new(key.get(EC_PREFIX.len()..).unwrap_or("")))
                .collect(),
        );
        // Stable: a key's variants stay in the order given.
        named.sort_by(|a, b| name_order(a.0, &a.1, b.0, &b.1));
        // Group the readings of each condition key (the sort keeps a key's variants together):
        // a key given once keeps its single value, one given in several cases gets them all.
        let mut added: Vec<Entry> = Vec::with_capacity(named.len() + 1);
        let mut pairs = named.into_iter().peekable();
        while let Some((hash, key, value)) = pairs.next() {
            let same =
                |next: &(u64, CompactString, &str)| name_order(hash, &key, next.0, &next.1).is_eq();
            let value = if pairs.peek().is_some_and(same) {
                let mut variants = vec![Scalar::new(value)];
                while let Some((_, _, next)) = pairs.next_if(same) {
                    variants.push(Scalar::new(next));
                }
                ContextValue::Variants(variants.into())
            } else {
                ContextValue::Single(Scalar::new(value))
            };
            added.push(Entry { hash, key, value });
        }
        added.push(Entry::new(
            CompactString::const_new("kms:EncryptionContextKeys"),
            keys,
        ));
        self.merge(added);
    }

    /// Adds `entries`, whose names are distinct, replacing same-named keys already here, with
    /// one sort: `n log n` for many entries, where inserting each would be `n²`.
    fn merge(&mut self, entries: Vec<Entry>) {
        /// Up to this many, each entry is put in place (moving a few 40-byte names) rather
        /// than all sorted again.
        const ONE_BY_ONE: usize = 8;
        if entries.len() <= ONE_BY_ONE {
            for entry in entries {
                self.set(entry);
            }
            return;
        }
        let known = self.names.len();
        self.names.reserve(entries.len());
        self.values.reserve(entries.len());
        for entry in entries {
            let existing = self.names.get(..known).and_then(|sorted| {
                sorted
                    .binary_search_by(|n| n.order(entry.hash, &entry.key))
                    .ok()
            });
            match existing {
                Some(i) => self.replace(i, entry),
                None => {
                    self.names.push(Name {
                        hash: entry.hash,
                        key: entry.key,
                        slot: self.values.len(),
                    });
                    self.values.push(entry.value);
                }
            }
        }
        self.names
            .sort_by(|a, b| name_order(a.hash, &a.key, b.hash, &b.key));
    }

    /// Whether `key` is set (any case).
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The value of `key` (any case). Prepares the key each time: prefer [`lookup`](Self::lookup)
    /// with a [`ContextKey`] made once.
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        self.lookup(&ContextKey::new(key))
    }

    /// The value of a prepared key: a binary search on hashes, then one string comparison, in
    /// this context and then in each layer below it. No allocation.
    pub fn lookup(&self, key: &ContextKey) -> Option<&ContextValue> {
        self.own(key)
            .or_else(|| self.layers.iter().rev().find_map(|layer| layer.lookup(key)))
    }

    /// `key` in this context's own entries, not its layers.
    fn own(&self, key: &ContextKey) -> Option<&ContextValue> {
        let found = self.candidates(key.hash).find(|n| key.names(&n.key))?;
        self.values.get(found.slot)
    }

    /// The names whose folded hash is `hash`.
    fn candidates(&self, hash: u64) -> impl Iterator<Item = &Name> {
        let start = self.names.partition_point(|n| n.hash < hash);
        self.names
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(move |n| n.hash == hash)
    }

    /// The value of the key named `name` (any case) whose folded hash is `hash`.
    fn own_named(&self, hash: u64, name: &str) -> Option<&ContextValue> {
        let found = self
            .candidates(hash)
            .find(|n| n.key.eq_ignore_ascii_case(name))?;
        self.values.get(found.slot)
    }

    /// Whether this context or a layer sets the key named `name` (any case).
    fn sets(&self, hash: u64, name: &str) -> bool {
        self.own_named(hash, name).is_some() || self.layers.iter().any(|l| l.sets(hash, name))
    }

    /// Empties the context (its own keys and its layers), keeping its buffers for reuse.
    pub fn clear(&mut self) {
        self.names.clear();
        self.values.clear();
        self.layers.clear();
    }

    /// Puts `layer` under this context, above the layers already there: its keys are found
    /// unless this context or a higher layer sets them. Layers are shared, not copied.
    pub fn with_layer(&mut self, layer: Arc<RequestContext>) {
        self.layers.push(layer);
    }

    /// Every visible entry: this context's own, then each layer's that nothing above hides.
    fn visible(&self) -> Vec<(&Name, &ContextValue)> {
        let mut out: Vec<(&Name, &ContextValue)> = self.own_entries().collect();
        for (depth, layer) in self.layers.iter().enumerate().rev() {
            for (name, value) in layer.visible() {
                let hidden = self.own_named(name.hash, &name.key).is_some()
                    || self
                        .layers
                        .iter()
                        .skip(depth + 1)
                        .any(|upper| upper.sets(name.hash, &name.key));
                if !hidden {
                    out.push((name, value));
                }
            }
        }
        out
    }

    /// This context's own keys and values, in name order.
    fn own_entries(&self) -> impl Iterator<Item = (&Name, &ContextValue)> {
        self.names
            .iter()
            .filter_map(|n| Some((n, self.values.get(n.slot)?)))
    }

    /// The keys as given and their values (layers included, hidden keys not), in an
    /// unspecified but stable order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.visible()
            .into_iter()
            .map(|(name, value)| (name.key.as_str(), value))
    }

    /// The number of keys set, layers included.
    pub fn len(&self) -> usize {
        if self.layers.is_empty() {
            self.names.len()
        } else {
            self.visible().len()
        }
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.layers.iter().all(|l| l.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scalar_equals_another_of_the_same_text_whether_read_or_not() {
        let read = Scalar::new("42");
        assert_eq!(read.number().map(|n| n.to_string()), Some("42".to_owned()));
        let unread = Scalar::new("42");
        assert_eq!(read, unread);
        assert_ne!(read, Scalar::new("42.0"));
        // Reading afterwards gives the same answers as reading first.
        assert_eq!(unread.number(), read.number());
        assert_eq!(unread.clone().instant(), read.instant());
    }

    #[test]
    fn keys_are_found_whatever_their_case() {
        let mut ctx = RequestContext::new();
        ctx.insert_single("aws:SourceIP", "203.0.113.7");
        assert!(ctx.contains("AWS:sourceip"));
        assert_eq!(
            ctx.get("aws:sourceip").map(|v| v.scalars()[0].text()),
            Some("203.0.113.7")
        );
        ctx.insert_single("AWS:SOURCEIP", "198.51.100.1");
        assert_eq!(
            ctx.len(),
            1,
            "a key differing only in case replaces the first"
        );
    }

    proptest::proptest! {
        /// Names equal but for ASCII case hash alike, are found by each other, and are one key
        /// of a context; a name differing in any other way is another key.
        #[test]
        fn a_name_in_any_ascii_case_is_the_same_key(
            name in "[ -~\u{e9}\u{130}]{0,40}",
            flips in proptest::collection::vec(proptest::bool::ANY, 40),
        ) {
            let recased: String = name
                .chars()
                .zip(flips.iter().chain(std::iter::repeat(&false)))
                .map(|(c, flip)| {
                    if *flip && c.is_ascii_lowercase() {
                        c.to_ascii_uppercase()
                    } else if *flip {
                        c.to_ascii_lowercase()
                    } else {
                        c
                    }
                })
                .collect();
            proptest::prop_assert_eq!(folded_hash(&name), folded_hash(&recased));
            proptest::prop_assert_eq!(ContextKey::new(&name), ContextKey::new(&recased));
            let mut ctx = RequestContext::new();
            ctx.insert_single(&name, "v1");
            proptest::prop_assert!(ctx.lookup(&ContextKey::new(&recased)).is_some());
            ctx.insert_single(&recased, "v2");
            proptest::prop_assert_eq!(ctx.len(), 1);
            let other = format!("{name}x");
            proptest::prop_assert!(ctx.lookup(&ContextKey::new(&other)).is_none());
        }
    }

    /// Keys and values over the 24 bytes held inline, and text beyond ASCII, are kept whole.
    #[test]
    fn long_and_non_ascii_keys_and_values_are_kept_whole() {
        let long_key = "kms:EncryptionContext:a-rather-long-context-key-name";
        let long_value = "dynamodb.eu-west-1.amazonaws.com/ünïcödé/value";
        let mut ctx = RequestContext::new();
        ctx.insert_single(long_key, long_value);
        ctx.insert_single("aws:PrincipalTag/équipe", "bleu");
        assert_eq!(
            ctx.get(&long_key.to_ascii_uppercase())
                .map(|v| v.scalars()[0].text()),
            Some(long_value)
        );
        assert_eq!(
            ctx.get("AWS:principaltag/équipe")
                .map(|v| v.scalars()[0].text()),
            Some("bleu")
        );
        assert!(
            ctx.get("aws:principaltag/ÉQUIPE").is_none(),
            "only ASCII folds"
        );
        let keys: Vec<&str> = ctx.iter().map(|(k, _)| k).collect();
        assert!(keys.contains(&long_key) && keys.contains(&"aws:PrincipalTag/équipe"));
    }

    /// Contexts setting the same keys to the same values are equal whatever the order they were
    /// set in; a different spelling or value makes them differ.
    #[test]
    fn contexts_are_equal_whatever_order_keys_were_set_in() {
        let mut one = RequestContext::new();
        one.insert_single("aws:SourceIp", "10.0.0.1");
        one.insert_single("kms:ViaService", "s3.us-east-1.amazonaws.com");
        one.insert_encryption_context([("app", "x")]);
        let mut two = RequestContext::new();
        two.insert_encryption_context([("app", "x")]);
        two.insert_single("kms:ViaService", "s3.us-east-1.amazonaws.com");
        two.insert_single("aws:SourceIp", "10.0.0.9");
        assert_ne!(one, two);
        two.insert_single("aws:SourceIp", "10.0.0.1");
        assert_eq!(one, two);
        two.insert_single("AWS:SourceIp", "10.0.0.1");
        assert_ne!(one, two, "the name as given is part of the context");
    }

    /// An encryption context replaces a key set before it under the same name, in any case,
    /// and keeps the keys set before that it does not name.
    #[test]
    fn an_encryption_context_replaces_and_keeps_earlier_keys() {
        let mut ctx = RequestContext::new();
        ctx.insert_single("KMS:ENCRYPTIONCONTEXT:APP", "old");
        ctx.insert_single("aws:SourceIp", "10.0.0.1");
        ctx.insert_encryption_context([("app", "new"), ("tenant", "t")]);
        assert_eq!(ctx.len(), 4);
        assert_eq!(
            ctx.get("kms:encryptioncontext:app")
                .map(|v| v.scalars()[0].text()),
            Some("new")
        );
        let names: Vec<&str> = ctx.iter().map(|(k, _)| k).collect();
        assert!(names.contains(&"kms:EncryptionContext:app"), "{names:?}");
        assert_eq!(
            ctx.get("aws:sourceip").map(|v| v.scalars()[0].text()),
            Some("10.0.0.1")
        );
    }

    /// A name inserted by reference or with its buffer is the same key as one inserted by
    /// copy: typed by the catalog, replaced in any case, found in any case.
    #[test]
    fn static_and_owned_names_are_keys_like_any_other() {
        let mut ctx = RequestContext::new();
        ctx.insert_static("kms:ResourceAliases", ContextValue::single("alias/app"));
        ctx.insert_owned(
            "aws:ResourceTag/CostCenter-with-a-long-name".to_owned(),
            ContextValue::single("42"),
        );
        assert!(
            ctx.get("KMS:RESOURCEALIASES")
                .is_some_and(ContextValue::is_multi)
        );
        ctx.insert(
            "aws:resourcetag/costcenter-WITH-a-long-name",
            ContextValue::single("43"),
        );
        assert_eq!(ctx.len(), 2);
        assert_eq!(
            ctx.get("aws:ResourceTag/CostCenter-with-a-long-name")
                .map(|v| v.scalars()[0].text()),
            Some("43")
        );
    }

    #[test]
    fn the_catalog_makes_multivalued_keys_sets() {
        let mut ctx = RequestContext::new();
        ctx.insert_single("kms:ResourceAliases", "alias/app");
        ctx.insert_single("kms:ViaService", "s3.us-east-1.amazonaws.com");
        assert!(
            ctx.get("kms:resourcealiases")
                .is_some_and(ContextValue::is_multi)
        );
        assert!(ctx.get("kms:viaservice").is_some_and(|v| !v.is_multi()));
    }

    #[test]
    fn an_encryption_context_sets_pairs_and_the_key_set() {
        let mut ctx = RequestContext::new();
        ctx.insert_encryption_context([("Dept", "Finance"), ("app", "payroll")]);
        assert_eq!(
            ctx.get("kms:encryptioncontext:dept")
                .map(|v| v.scalars()[0].text()),
            Some("Finance")
        );
        let keys: Vec<_> = ctx
            .get("kms:encryptioncontextkeys")
            .map(|v| v.scalars().iter().map(Scalar::text).collect())
            .unwrap_or_default();
        assert_eq!(keys, ["Dept", "app"]);
        let mut empty = RequestContext::new();
        empty.insert_encryption_context([]);
        assert!(empty.is_empty());
    }

    #[test]
    fn context_keys_differing_only_in_case_are_variants_of_one_key() {
        let mut ctx = RequestContext::new();
        ctx.insert_single("kms:EncryptionContext:tenant", "replaced");
        ctx.insert_encryption_context([("TENANT", "a"), ("tenant", "b"), ("app", "x")]);
        let readings: Vec<_> = ctx
            .get("kms:EncryptionContext:Tenant")
            .map(|v| v.scalars().iter().map(Scalar::text).collect())
            .unwrap_or_default();
        assert_eq!(readings, ["a", "b"]);
        assert!(matches!(
            ctx.get("kms:encryptioncontext:tenant"),
            Some(ContextValue::Variants(_))
        ));
        assert!(matches!(
            ctx.get("kms:encryptioncontext:app"),
            Some(ContextValue::Single(_))
        ));
        let keys: Vec<_> = ctx
            .get("kms:EncryptionContextKeys")
            .map(|v| v.scalars().iter().map(Scalar::text).collect())
            .unwrap_or_default();
        assert_eq!(keys, ["TENANT", "tenant", "app"]);
        assert_eq!(ctx.len(), 3);
    }

    /// A hostile context of many pairs is read in `n log n`: 50,000 pairs (far over the bound
    /// the key service enforces) take well under a second even in a debug build.
    #[test]
    fn a_large_context_is_inserted_without_quadratic_cost() {
        let pairs: Vec<(String, String)> = (0..50_000)
            .map(|i| (format!("k{i}"), format!("v{i}")))
            .collect();
        let started = std::time::Instant::now();
        let mut ctx = RequestContext::new();
        ctx.insert_encryption_context(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(ctx.len(), 50_001);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn layers_are_found_below_and_hidden_from_above() {
        let mut caller = RequestContext::new();
        caller.insert_single("aws:PrincipalTag/team", "blue");
        caller.insert_single("aws:SourceIp", "10.0.0.1");
        let mut key = RequestContext::new();
        key.insert_single("aws:ResourceTag/env", "prod");
        key.insert_single("AWS:SOURCEIP", "10.0.0.2");
        let mut ctx = RequestContext::new();
        ctx.with_layer(Arc::new(caller));
        ctx.with_layer(Arc::new(key));
        ctx.insert_single("kms:EncryptionContext:tenant", "acme");
        let text =
            |ctx: &RequestContext, k: &str| ctx.get(k).map(|v| v.scalars()[0].text().to_owned());
        assert_eq!(text(&ctx, "aws:principaltag/team").as_deref(), Some("blue"));
        assert_eq!(text(&ctx, "aws:resourcetag/env").as_deref(), Some("prod"));
        assert_eq!(
            text(&ctx, "aws:sourceip").as_deref(),
            Some("10.0.0.2"),
            "the higher layer hides the lower"
        );
        assert_eq!(ctx.len(), 4, "the hidden key is not counted");
        assert_eq!(ctx.iter().count(), 4);
        ctx.insert_single("aws:SourceIp", "10.0.0.3");
        assert_eq!(text(&ctx, "aws:SourceIp").as_deref(), Some("10.0.0.3"));
        assert_eq!(ctx.len(), 4);
        assert!(!ctx.is_empty());
        let mut empty = RequestContext::new();
        empty.with_layer(Arc::new(RequestContext::new()));
        assert!(empty.is_empty());
        assert_eq!(empty.len(), 0);
    }

    #[test]
    fn scalars_are_typed_once() {
        let s = Scalar::new("2026-11-23T10:00:00Z");
        assert!(s.instant().is_some() && s.number().is_none());
        let n = Scalar::new("1700000000");
        assert!(n.instant().is_some() && n.number().is_some());
        assert_eq!(
            Scalar::new("10.1.2.3").address().map(|a| a.is_ipv4()),
            Some(true)
        );
        assert_eq!(Scalar::new("True").boolean(), Some(true));
        assert_eq!(
            Scalar::new("-86400").instant().map(|d| d.timestamp()),
            Some(-86_400),
            "epoch seconds before 1970"
        );
        assert_eq!(Scalar::new("QmluYXJ5").binary(), Some(&b"Binary"[..]));
        assert_eq!(
            Scalar::new(" 42").number().map(|n| n.to_string()),
            Some("42".to_owned())
        );
        assert_eq!(
            Scalar::new("::1").address().map(|a| a.is_ipv6()),
            Some(true)
        );
    }

    /// Issue: on a `[::]` listener an IPv4 client's `aws:SourceIp` is `::ffff:a.b.c.d`, so an
    /// IPv4 Deny never matched. IPv4-mapped addresses are read as IPv4.
    #[test]
    fn ipv4_mapped_addresses_are_read_as_ipv4() {
        assert_eq!(
            Scalar::new("::ffff:10.1.2.3").address(),
            Some(IpAddr::from([10, 1, 2, 3]))
        );
        assert_eq!(
            Scalar::new("::ffff:a01:203").address(),
            Some(IpAddr::from([10, 1, 2, 3]))
        );
        assert!(
            Scalar::new("2001:db8::1")
                .address()
                .is_some_and(|a| a.is_ipv6())
        );
    }
}
