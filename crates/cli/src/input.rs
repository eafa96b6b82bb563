//! Reading policy files (or standard input) with errors that name the file: only regular
//! files (or a pipe), and never more than a policy may be (1 MiB), checked before reading.

use keyward_policy::parser::MAX_INPUT_BYTES;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A file's display name and text.
#[derive(Debug)]
pub(crate) struct Input {
    /// How messages name it: the path, or `<stdin>` for `-`.
    pub name: String,
    /// Its text (empty when it is too large to read).
    pub text: String,
    /// Its size, when it is over [`MAX_INPUT_BYTES`] and was therefore not read.
    pub too_large: Option<u64>,
}

impl Input {
    /// The `input-too-large` error of a file that was not read.
    pub(crate) fn too_large_error(&self) -> Option<keyward_policy::PolicyError> {
        let size = self.too_large?;
        Some(keyward_policy::PolicyError {
            kind: keyward_policy::PolicyErrorKind::InputTooLarge {
                size: usize::try_from(size).unwrap_or(usize::MAX),
                limit: MAX_INPUT_BYTES,
            },
            span: keyward_policy::Span::new(0, 0),
        })
    }
}

/// Reads at most one byte more than `limit` (everything without a limit), into a buffer made
/// ready for `size` bytes (a file's length, read from its metadata), so that a batch of
/// millions of lines is not copied at every doubling of the buffer. The size is a hint: a file
/// that grows while it is read is still read to its end (within the limit).
fn read_bounded(
    reader: impl Read,
    name: &str,
    limit: Option<usize>,
    size: u64,
) -> Result<(Vec<u8>, Option<u64>), String> {
    let expected = usize::try_from(size)
        .unwrap_or(usize::MAX)
        .min(limit.unwrap_or(usize::MAX));
    let mut bytes = Vec::new();
    // A size the allocator refuses is no error: the read grows the buffer as it goes.
    let _ = bytes.try_reserve_exact(expected.saturating_add(1));
    reader
        .take(limit.map_or(u64::MAX, |l| l as u64 + 1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("keyward: error: cannot read {name}: {e}"))?;
    if limit.is_some_and(|l| bytes.len() > l) {
        let size = bytes.len() as u64;
        return Ok((Vec::new(), Some(size)));
    }
    Ok((bytes, None))
}

/// Read the policy at `path`, or standard input for `-`: see [`read_limited`], with the
/// 1 MiB a policy may have.
pub(crate) fn read(path: &str) -> Result<Input, String> {
    read_limited(path, Some(MAX_INPUT_BYTES))
}

/// A document given as the AWS CLI takes one: `file://PATH`, inline JSON (text that starts
/// with `{` or `[`), or a path (`-` for standard input), with the 1 MiB a policy may have.
pub(crate) fn read_document(argument: &str) -> Result<Input, String> {
    if let Some(path) = argument.strip_prefix("file://") {
        return read(path);
    }
    let trimmed = argument.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if argument.len() > MAX_INPUT_BYTES {
            return Err(format!(
                "keyward: error: an inline document of {} bytes is over the {MAX_INPUT_BYTES} a policy may have",
                argument.len()
            ));
        }
        return Ok(Input {
            name: "<inline>".to_owned(),
            text: argument.to_owned(),
            too_large: None,
        });
    }
    read(argument)
}

/// Read `path`, or standard input for `-`. The error is a full message for the user. A path
/// that is not a regular file (a directory, a device such as `/dev/zero`) is refused; a file
/// over `limit` is not read (its size is checked first).
pub(crate) fn read_limited(path: &str, limit: Option<usize>) -> Result<Input, String> {
    let (bytes, too_large, name) = if path == "-" {
        let (bytes, too_large) = read_bounded(std::io::stdin().lock(), "standard input", limit, 0)?;
        (bytes, too_large, "<stdin>".to_owned())
    } else {
        let (file, metadata) = open_file(path)?;
        if limit.is_some_and(|l| metadata.len() > l as u64) {
            return Ok(Input {
                name: path.to_owned(),
                text: String::new(),
                too_large: Some(metadata.len()),
            });
        }
        let (bytes, too_large) = read_bounded(file, path, limit, metadata.len())?;
        (bytes, too_large, path.to_owned())
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        format!("keyward: error: {name}: not UTF-8 text (invalid byte at offset {at})")
    })?;
    Ok(Input {
        name,
        text,
        too_large,
    })
}

/// The regular file at `path`, opened, and its metadata; or the error that names it.
fn open_file(path: &str) -> Result<(std::fs::File, std::fs::Metadata), String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("keyward: error: cannot read {path}: {e}"))?;
    let metadata = file
        .metadata()
        .map_err(|e| format!("keyward: error: cannot read {path}: {e}"))?;
    if !metadata.is_file() {
        return Err(format!(
            "keyward: error: {path}: not a regular file; policies are read from files"
        ));
    }
    Ok((file, metadata))
}

/// `path` (standard input for `-`) opened to be read as it goes, with how messages name it
/// (`<stdin>` for `-`): the same files [`read_limited`] reads, with no size limit.
pub(crate) fn open_stream(path: &str) -> Result<(Box<dyn Read + Send>, String), String> {
    if path == "-" {
        return Ok((Box::new(std::io::stdin()), "<stdin>".to_owned()));
    }
    let (file, _) = open_file(path)?;
    Ok((Box::new(file), path.to_owned()))
}

/// Every `*.json` regular file under `root`, and every `*.yaml`, `*.yml` or `*.template` that
/// is a CloudFormation template (other YAML is not a policy), sorted, so output is stable. Symbolic links are
/// followed only while they stay inside `root` (a link out of the tree, to `/proc/self/environ`
/// say, is skipped with a warning), loops are detected and skipped, and anything that is not a
/// regular file is left out. Warnings are returned with the files.
pub(crate) fn walk(root: &Path) -> Result<(Vec<String>, Vec<String>), String> {
    let inside = root.canonicalize().map_err(|e| {
        format!(
            "keyward: error: cannot read directory {}: {e}",
            root.display()
        )
    })?;
    let mut warnings = Vec::new();
    let mut outside: Vec<PathBuf> = Vec::new();
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            if !entry.path_is_symlink() {
                return true;
            }
            let stays = entry
                .path()
                .canonicalize()
                .is_ok_and(|target| target.starts_with(&inside));
            if !stays {
                outside.push(entry.path().to_owned());
            }
            stays
        });
    for entry in walker {
        match entry {
            Ok(entry) => {
                let extension = entry.path().extension().and_then(|e| e.to_str());
                let wanted = match extension {
                    Some("json") => true,
                    Some("yaml" | "yml" | "template") => is_template(entry.path()),
                    _ => false,
                };
                if wanted && entry.file_type().is_file() {
                    files.push(entry.path().to_string_lossy().into_owned());
                }
            }
            Err(e) => {
                let place = e
                    .path()
                    .map_or_else(|| root.display().to_string(), |p| p.display().to_string());
                if e.loop_ancestor().is_some() {
                    warnings.push(format!(
                        "keyward: warning: {place}: a symbolic link loop; not followed"
                    ));
                } else {
                    warnings.push(format!("keyward: warning: {place}: {e}"));
                }
            }
        }
    }
    warnings.extend(outside.iter().map(|p| {
        format!(
            "keyward: warning: {}: a symbolic link out of {}; not followed",
            p.display(),
            root.display()
        )
    }));
    Ok((files, warnings))
}

/// Whether the file at `path` is a CloudFormation template (read at most 1 MiB of it).
fn is_template(path: &Path) -> bool {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(1024 * 1024).read_to_string(&mut text))
        .is_ok_and(|_| {
            keyward_templates::detect(&text) == keyward_templates::Format::CloudFormation
        })
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        reason = "tests: a failure panics with the value shown"
    )]
    use super::*;

    #[cfg(unix)]
    #[test]
    fn links_out_of_the_tree_and_loops_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("policies");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("a.json"), "{}").unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/b.json"), "{}").unwrap();
        std::fs::write(dir.path().join("secret.json"), "{}").unwrap();
        let link = |target: &Path, name: &str| {
            std::os::unix::fs::symlink(target, root.join(name)).unwrap();
        };
        link(&dir.path().join("secret.json"), "x.json");
        link(Path::new("/proc/self/environ"), "environ.json");
        link(Path::new("/dev/zero"), "zero.json");
        link(Path::new("."), "loop1");
        link(Path::new("."), "loop2");
        link(&root.join("sub/b.json"), "inside.json");
        let (files, warnings) = walk(&root).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|f| f.strip_prefix(&*root.to_string_lossy()).unwrap())
            .collect();
        assert_eq!(names, ["/a.json", "/inside.json", "/sub/b.json"]);
        assert_eq!(
            warnings.iter().filter(|w| w.contains("out of")).count(),
            3,
            "{warnings:?}"
        );
        assert_eq!(
            warnings.iter().filter(|w| w.contains("loop")).count(),
            2,
            "{warnings:?}"
        );
    }

    #[test]
    fn a_file_over_the_limit_is_not_read_and_a_device_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.json");
        std::fs::write(&big, vec![b' '; MAX_INPUT_BYTES + 10]).unwrap();
        let input = read(&big.to_string_lossy()).unwrap();
        assert_eq!(input.too_large, Some(MAX_INPUT_BYTES as u64 + 10));
        assert!(input.text.is_empty());
        assert_eq!(input.too_large_error().unwrap().code(), "input-too-large");
        #[cfg(unix)]
        {
            let error = read("/dev/zero").unwrap_err();
            assert!(error.contains("not a regular file"), "{error}");
        }
    }

    /// A file is read into a buffer of its size, not one grown by doubling (which copies a
    /// batch of millions of lines again at every step); a hint that is too small (a pipe's
    /// zero) still reads everything.
    #[test]
    fn a_file_is_read_into_a_buffer_of_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("batch.jsonl");
        let text = "{\"action\":\"kms:Decrypt\"}\n".repeat(40_000);
        std::fs::write(&path, &text).unwrap();
        let input = read_limited(&path.to_string_lossy(), None).unwrap();
        assert_eq!(input.text, text);
        assert!(
            input.text.capacity() <= text.len() + 1,
            "{} for {} bytes",
            input.text.capacity(),
            text.len()
        );
        let (bytes, too_large) =
            read_bounded(std::io::Cursor::new(text.as_bytes()), "pipe", None, 0).unwrap();
        assert_eq!((bytes.as_slice(), too_large), (text.as_bytes(), None));
        let (bytes, too_large) =
            read_bounded(std::io::Cursor::new(text.as_bytes()), "pipe", Some(10), 0).unwrap();
        assert_eq!((bytes.len(), too_large), (0, Some(11)));
    }
}
