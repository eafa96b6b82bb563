//! The request context: the condition keys a request carries, typed when a condition reads them.
//!
//! Key names compare case-insensitively (they are stored folded to ASCII lowercase, and the
//! compiled conditions look them up the same way). A value is single or multivalued; each
//! scalar is read as a number, an instant, an address, a boolean or base64 the first time a
//! condition asks for that reading, and never again.

use crate::value;
use chrono::{DateTime, Utc};
use keyward_policy::catalog;
use rust_decimal::Decimal;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

/// One request value and its typed readings, made together the first time a condition asks
/// for one (most values are only ever compared as text) and kept.
#[derive(Debug, Clone)]
pub struct Scalar {
    text: Box<str>,
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
            text: text.into(),
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContextKey {
    hash: u64,
    folded: Box<str>,
}

impl ContextKey {
    /// Prepare `name` (any case).
    pub fn new(name: &str) -> Self {
        let folded: Box<str> = name.to_ascii_lowercase().into();
        // FNV-1a: short keys, no allocation, stable across runs.
        let hash = folded.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Self { hash, folded }
    }

    /// The name folded to ASCII lowercase.
    pub fn folded(&self) -> &str {
        &self.folded
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: ContextKey,
    key: Box<str>,
    value: ContextValue,
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// Sorted by name (hash, then folded text).
    entries: Vec<Entry>,
    /// Shared lower layers, the last added highest.
    layers: Vec<Arc<RequestContext>>,
}

impl RequestContext {
    /// An empty context: every key is missing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set `key` to `value`, replacing a value whose key differs only in case. A single value
    /// for a key the catalog types as multivalued becomes a set of one.
    pub fn insert(&mut self, key: &str, value: ContextValue) {
        let value = match value {
            ContextValue::Single(s) if catalog::is_multivalued(key) => {
                ContextValue::Multi(Box::new([s]))
            }
            value => value,
        };
        let entry = Entry {
            name: ContextKey::new(key),
            key: key.into(),
            value,
        };
        if self.entries.capacity() == 0 {
            // A request's context holds a dozen keys or so: one allocation, not four growths.
            self.entries.reserve(ENTRIES_AT_FIRST);
        }
        match self.entries.binary_search_by(|e| e.name.cmp(&entry.name)) {
            Ok(i) => {
                if let Some(slot) = self.entries.get_mut(i) {
                    *slot = entry;
                }
            }
            Err(i) => self.entries.insert(i, entry),
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
        let mut named: Vec<(ContextKey, Box<str>, &'p str)> = pairs
            .into_iter()
            .map(|(k, v)| {
                // Concatenated rather than formatted: this runs for every pair of every request.
                let mut key = String::with_capacity(EC_PREFIX.len() + k.len());
                key.push_str(EC_PREFIX);
                key.push_str(k);
                let key = key.into_boxed_str();
                (ContextKey::new(&key), key, v)
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
        named.sort_by(|a, b| a.0.cmp(&b.0));
        // Group the readings of each condition key (the sort keeps a key's variants together).
        let mut groups: Vec<(ContextKey, Box<str>, Vec<Scalar>)> = Vec::with_capacity(named.len());
        for (name, key, value) in named {
            match groups.last_mut() {
                Some((last, _, readings)) if *last == name => readings.push(Scalar::new(value)),
                _ => groups.push((name, key, vec![Scalar::new(value)])),
            }
        }
        let mut added: Vec<Entry> = groups
            .into_iter()
            .map(|(name, key, mut readings)| Entry {
                name,
                key,
                value: match readings.pop() {
                    Some(only) if readings.is_empty() => ContextValue::Single(only),
                    Some(last) => {
                        readings.push(last);
                        ContextValue::Variants(readings.into())
                    }
                    None => ContextValue::Multi(Box::new([])),
                },
            })
            .collect();
        added.push(Entry {
            name: ContextKey::new("kms:EncryptionContextKeys"),
            key: "kms:EncryptionContextKeys".into(),
            value: keys,
        });
        self.merge(added);
    }

    /// Adds `entries` (replacing same-named ones already here) with one sort.
    fn merge(&mut self, entries: Vec<Entry>) {
        let mut all = std::mem::take(&mut self.entries);
        all.extend(entries);
        // Stable: for equal names the later (added) entry comes last and wins.
        all.sort_by(|a, b| a.name.cmp(&b.name));
        let mut merged: Vec<Entry> = Vec::with_capacity(all.len());
        for entry in all {
            match merged.last_mut() {
                Some(last) if last.name == entry.name => *last = entry,
                _ => merged.push(entry),
            }
        }
        self.entries = merged;
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
        let start = self.entries.partition_point(|e| e.name.hash < key.hash);
        self.entries
            .get(start..)?
            .iter()
            .take_while(|e| e.name.hash == key.hash)
            .find(|e| e.name.folded == key.folded)
            .map(|e| &e.value)
    }

    /// Empties the context (its own keys and its layers), keeping its buffers for reuse.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.layers.clear();
    }

    /// Puts `layer` under this context, above the layers already there: its keys are found
    /// unless this context or a higher layer sets them. Layers are shared, not copied.
    pub fn with_layer(&mut self, layer: Arc<RequestContext>) {
        self.layers.push(layer);
    }

    /// Every visible entry: this context's own, then each layer's that nothing above hides.
    fn visible(&self) -> Vec<&Entry> {
        let mut out: Vec<&Entry> = self.entries.iter().collect();
        for (depth, layer) in self.layers.iter().enumerate().rev() {
            for entry in layer.visible() {
                let hidden = self.own(&entry.name).is_some()
                    || self
                        .layers
                        .iter()
                        .skip(depth + 1)
                        .any(|upper| upper.lookup(&entry.name).is_some());
                if !hidden {
                    out.push(entry);
                }
            }
        }
        out
    }

    /// The keys as given and their values (layers included, hidden keys not), in an
    /// unspecified but stable order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.visible().into_iter().map(|e| (&*e.key, &e.value))
    }

    /// The number of keys set, layers included.
    pub fn len(&self) -> usize {
        if self.layers.is_empty() {
            self.entries.len()
        } else {
            self.visible().len()
        }
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.layers.iter().all(|l| l.is_empty())
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
