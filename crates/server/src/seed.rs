//! The seed file (`seed = "..."` in the config, or `--seed FILE`): keys created when the server
//! starts, idempotently ([`keyward_kms::seed`]), read from TOML with every error naming the
//! file, line, column and field.
//!
//! ```toml
//! [[keys]]
//! id = "1234abcd-12ab-34cd-56ef-1234567890ab"
//! account = "111122223333"          # default: the config's account
//! key_spec = "SYMMETRIC_DEFAULT"    # default
//! key_usage = "ENCRYPT_DECRYPT"     # required for other specs, as in CreateKey
//! description = "payments"
//! policy = "policies/payments.json" # a file (relative to the seed file) or the JSON itself
//! aliases = ["alias/payments"]
//! tags = { team = "payments" }
//! material = "keys/payments.bin"    # optional file: raw key bytes, or PKCS#8 DER
//! enabled = true                    # default
//! ```

use crate::config::{ConfigError, position};
pub use keyward_kms::seed::Seeded;
use keyward_kms::seed::{Secret, SeedKey};
use std::collections::BTreeMap;
use std::path::Path;

/// The largest material file read (a PKCS#8 RSA-4096 key is about 2.4 KB).
const MAX_MATERIAL_BYTES: u64 = 16 * 1024;
/// The largest policy file read (a key policy is at most 32 KB).
const MAX_POLICY_BYTES: u64 = 64 * 1024;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFile {
    #[serde(default)]
    keys: Vec<SeedEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedEntry {
    id: toml::Spanned<String>,
    account: Option<toml::Spanned<String>>,
    key_spec: Option<String>,
    key_usage: Option<String>,
    description: Option<String>,
    policy: Option<toml::Spanned<String>>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    material: Option<toml::Spanned<String>>,
    enabled: Option<bool>,
}

/// A seed file, read: its keys, and where each key's entry starts (for errors).
#[derive(Debug, Clone, Default)]
pub struct Seed {
    /// The file, as given.
    pub file: String,
    /// The keys, in the file's order.
    pub keys: Vec<SeedKey>,
    /// 1-based line and column of each key's `id`.
    pub positions: Vec<(usize, usize)>,
}

impl Seed {
    /// Reads the seed file at `path`; keys without an `account` get `default_account`.
    pub fn load(path: &Path, default_account: &str) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let fail = |position: Option<(usize, usize)>, field: &str, problem: String| ConfigError {
            file: shown.clone(),
            position,
            field: field.to_owned(),
            problem,
        };
        let text = read_bounded(path, MAX_POLICY_BYTES * 16)
            .map_err(|e| fail(None, "(file)", format!("cannot read it: {e}")))?;
        let text = String::from_utf8(text)
            .map_err(|_| fail(None, "(file)", "is not UTF-8 text".into()))?;
        let folder = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, &shown, folder, default_account)
    }

    /// Reads a seed file's `text`; `file` names it in errors and `folder` resolves the policy
    /// and material files it names.
    pub fn parse(
        text: &str,
        file: &str,
        folder: &Path,
        default_account: &str,
    ) -> Result<Self, ConfigError> {
        let shown = file.to_owned();
        let fail = |position: Option<(usize, usize)>, field: &str, problem: String| ConfigError {
            file: shown.clone(),
            position,
            field: field.to_owned(),
            problem,
        };
        let at = |offset: usize| position(text, offset);
        let raw: SeedFile = toml::from_str(text).map_err(|e| {
            fail(
                e.span().map(|s| at(s.start)),
                e.message().split('`').nth(1).unwrap_or("(syntax)"),
                e.message().trim().to_owned(),
            )
        })?;
        let mut seed = Self {
            file: shown.clone(),
            ..Self::default()
        };
        for (i, entry) in raw.keys.into_iter().enumerate() {
            let start = at(entry.id.span().start);
            let field = |name: &str| format!("keys[{i}].{name}");
            if seed.keys.iter().any(|k| k.id == *entry.id.get_ref()) {
                return Err(fail(
                    Some(at(entry.id.span().start)),
                    &field("id"),
                    format!("key {} is seeded twice", entry.id.get_ref()),
                ));
            }
            let policy = match &entry.policy {
                None => None,
                Some(p) if p.get_ref().trim_start().starts_with('{') => Some(p.get_ref().clone()),
                Some(p) => {
                    let file = folder.join(p.get_ref());
                    let bytes = read_bounded(&file, MAX_POLICY_BYTES).map_err(|e| {
                        fail(
                            Some(at(p.span().start)),
                            &field("policy"),
                            format!("cannot read {}: {e}", file.display()),
                        )
                    })?;
                    Some(String::from_utf8(bytes).map_err(|_| {
                        fail(
                            Some(at(p.span().start)),
                            &field("policy"),
                            format!("{} is not UTF-8 text", file.display()),
                        )
                    })?)
                }
            };
            let material = match &entry.material {
                None => None,
                Some(m) => {
                    let file = folder.join(m.get_ref());
                    let bytes = read_bounded(&file, MAX_MATERIAL_BYTES).map_err(|e| {
                        fail(
                            Some(at(m.span().start)),
                            &field("material"),
                            format!("cannot read {}: {e}", file.display()),
                        )
                    })?;
                    Some(Secret::new(bytes))
                }
            };
            seed.keys.push(SeedKey {
                id: entry.id.get_ref().clone(),
                account: entry
                    .account
                    .map_or_else(|| default_account.to_owned(), |a| a.into_inner()),
                key_spec: entry.key_spec,
                key_usage: entry.key_usage,
                description: entry.description,
                policy,
                aliases: entry.aliases,
                tags: entry.tags,
                material,
                enabled: entry.enabled.unwrap_or(true),
            });
            seed.positions.push(start);
        }
        Ok(seed)
    }

    /// Where key `id`'s entry gives its `id`.
    pub fn position_of(&self, id: &str) -> Option<(usize, usize)> {
        self.keys
            .iter()
            .position(|k| k.id == id)
            .and_then(|i| self.positions.get(i).copied())
    }
}

/// Reads at most `max` bytes of a regular file, never through a symbolic link to somewhere
/// else than a regular file, refusing a larger one.
fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if metadata.len() > max {
        return Err(std::io::Error::other(format!("larger than {max} bytes")));
    }
    let mut out = Vec::new();
    file.take(max + 1).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(std::io::Error::other(format!("larger than {max} bytes")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn a_seed_file_reads_its_keys_policies_and_material_relative_to_itself() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "p.json",
            br#"{"Version":"2012-10-17","Statement":[]}"#,
        );
        write(dir.path(), "k.bin", &[9; 32]);
        let path = write(
            dir.path(),
            "seed.toml",
            br#"
[[keys]]
id = "1234abcd-12ab-34cd-56ef-1234567890ab"
policy = "p.json"
material = "k.bin"
aliases = ["alias/a"]
tags = { team = "t" }

[[keys]]
id = "0987dcba-09fe-87dc-65ba-ab0987654321"
account = "444455556666"
key_spec = "HMAC_256"
key_usage = "GENERATE_VERIFY_MAC"
policy = '{"Version":"2012-10-17"}'
enabled = false
"#,
        );
        let seed = Seed::load(&path, "111122223333").unwrap();
        assert_eq!(seed.keys.len(), 2);
        let (a, b) = (&seed.keys[0], &seed.keys[1]);
        assert_eq!(a.account, "111122223333");
        assert_eq!(
            a.policy.as_deref(),
            Some(r#"{"Version":"2012-10-17","Statement":[]}"#)
        );
        assert_eq!(a.material.as_ref().unwrap().expose(), &[9; 32]);
        assert!(a.enabled);
        assert_eq!(b.account, "444455556666");
        assert!(!b.enabled);
        assert_eq!(b.policy.as_deref(), Some(r#"{"Version":"2012-10-17"}"#));
        assert_eq!(seed.position_of(&b.id), Some((10, 6)));
    }

    #[test]
    fn errors_name_the_file_the_entry_and_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, &str, Option<usize>); 4] = [
            (
                "[[keys]]\nid = \"a\"\nmaterial = \"missing.bin\"\n",
                "keys[0].material",
                Some(3),
            ),
            (
                "[[keys]]\nid = \"a\"\npolicy = \"missing.json\"\n",
                "keys[0].policy",
                Some(3),
            ),
            (
                "[[keys]]\nid = \"a\"\n[[keys]]\nid = \"a\"\n",
                "keys[1].id",
                Some(4),
            ),
            (
                "[[keys]]\nid = \"a\"\ncolour = \"red\"\n",
                "colour",
                Some(3),
            ),
        ];
        for (text, field, line) in cases {
            let path = write(dir.path(), "seed.toml", text.as_bytes());
            let e = Seed::load(&path, "111122223333").unwrap_err();
            assert_eq!(e.field, field, "{e}");
            assert_eq!(e.position.map(|p| p.0), line, "{e}");
            assert!(e.file.ends_with("seed.toml"));
        }
        let big = write(dir.path(), "big.bin", &vec![0; 20_000]);
        let path = write(
            dir.path(),
            "seed.toml",
            format!("[[keys]]\nid = \"a\"\nmaterial = \"{}\"\n", big.display()).as_bytes(),
        );
        let e = Seed::load(&path, "111122223333").unwrap_err();
        assert!(e.problem.contains("larger than"), "{e}");
        let e = Seed::load(&dir.path().join("none.toml"), "111122223333").unwrap_err();
        assert_eq!(e.field, "(file)");
    }
}
