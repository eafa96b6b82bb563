//! What every corpus shares: where the fixtures are, listing and loading files with their path
//! in every problem, comparing an expectation with what the code produces, and blessing.

use libtest_mimic::{Failed, Trial};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The repository's root directory.
pub(crate) fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `fixtures/CORPUS` in the repository.
pub(crate) fn corpus_dir(corpus: &str) -> PathBuf {
    repository().join("fixtures").join(corpus)
}

/// `path` as the repository names it (`fixtures/requests/grants/default-key-policy.json`).
pub(crate) fn shown(path: &Path) -> String {
    path.strip_prefix(repository())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Whether this run rewrites the expectations of the cases it runs (`KEYWARD_BLESS` is set).
pub(crate) fn blessing() -> bool {
    std::env::var_os("KEYWARD_BLESS").is_some()
}

/// The trials of every corpus, and the problems that keep some of it from running.
#[derive(Default)]
pub(crate) struct Collected {
    pub trials: Vec<Trial>,
    /// Each names the file (or directory) and what is wrong with it.
    pub problems: Vec<String>,
}

impl Collected {
    pub(crate) fn trial(
        &mut self,
        name: String,
        run: impl FnOnce() -> Result<(), Failed> + Send + 'static,
    ) {
        self.trials.push(Trial::test(name, run));
    }

    pub(crate) fn problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    /// A corpus that shrank below what it held when its runner was written is a problem: cases
    /// must not disappear unnoticed.
    pub(crate) fn at_least(&mut self, what: &str, count: usize, minimum: usize) {
        if count < minimum {
            self.problem(format!(
                "{what}: {count} cases, fewer than the {minimum} it must hold"
            ));
        }
    }
}

/// The files under `dir` (at any depth), sorted, each with an extension in `extensions`;
/// `README.md` files are documentation. Any other file, a missing directory or one without a
/// case file is a problem, so nothing is skipped silently.
pub(crate) fn list(dir: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>, Vec<String>> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                problems.push(format!("{}: {e}", shown(dir)));
                continue;
            }
        };
        if !entry.file_type().is_file() || entry.file_name() == "README.md" {
            continue;
        }
        let path = entry.into_path();
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if extensions.contains(&extension) {
            files.push(path);
        } else {
            problems.push(format!(
                "{}: not a case file (expected {})",
                shown(&path),
                extensions.join(" or ")
            ));
        }
    }
    if files.is_empty() && problems.is_empty() {
        problems.push(format!("{}: no case files", shown(dir)));
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(problems)
    }
}

pub(crate) fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", shown(path)))
}

/// Reads and parses a JSON case file.
pub(crate) fn load<T: DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = read(path)?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", shown(path)))
}

/// `path` without `base` and without its extension: `grants/default-key-policy`.
pub(crate) fn stem(base: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(base).unwrap_or(path).with_extension("");
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The names of `cases` that are not unique in their file, as problems.
pub(crate) fn duplicate_names<'a>(
    path: &Path,
    names: impl Iterator<Item = &'a str>,
) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    names
        .filter(|n| !seen.insert(*n))
        .map(|n| format!("{}: two cases are named {n:?}", shown(path)))
        .collect()
}

/// The pretty JSON of an expectation, as case files write it.
pub(crate) fn pretty<E: Serialize>(value: &E) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("(cannot be written: {e})"))
}

/// Settles the case `case` of the JSON case file `file`: nothing when the code's result is
/// `accepted`; otherwise, when blessing, `actual` replaces the case's `expect`; otherwise a
/// failure with the difference and `note` (what helps to understand it).
pub(crate) fn settle_json<E: Serialize>(
    file: &Path,
    case: &str,
    expected: &E,
    actual: &E,
    accepted: bool,
    note: impl FnOnce() -> String,
) -> Result<(), Failed> {
    if accepted {
        return Ok(());
    }
    let actual = pretty(actual);
    if blessing() {
        return bless_json(file, case, &actual).map_err(Failed::from);
    }
    Err(mismatch(
        &format!("{}: case {case:?}", shown(file)),
        &pretty(expected),
        &actual,
        &note(),
    ))
}

/// Settles a case whose expectation is the lines of an `.expected` file (lines starting with
/// `#` are comments or options, kept when blessing).
pub(crate) fn settle_lines(
    expected_path: &Path,
    expected: &[String],
    actual: &[String],
    note: impl FnOnce() -> String,
) -> Result<(), Failed> {
    if expected == actual {
        return Ok(());
    }
    if blessing() {
        return bless_lines(expected_path, actual).map_err(Failed::from);
    }
    let lines = |l: &[String]| l.iter().map(|l| format!("{l}\n")).collect::<String>();
    Err(mismatch(
        &shown(expected_path),
        &lines(expected),
        &lines(actual),
        &note(),
    ))
}

fn mismatch(what: &str, expected: &str, actual: &str, note: &str) -> Failed {
    let with_newline = |s: &str| {
        if s.ends_with('\n') {
            s.to_owned()
        } else {
            format!("{s}\n")
        }
    };
    let (expected, actual) = (with_newline(expected), with_newline(actual));
    let diff = similar::TextDiff::from_lines(&expected, &actual)
        .unified_diff()
        .context_radius(20)
        .header("expected", "actual")
        .to_string();
    let note = if note.is_empty() {
        String::new()
    } else {
        format!("{}\n", note.trim_end())
    };
    Failed::from(format!(
        "{what}: the expectation differs from what the code produces\n{diff}{note}\
         (KEYWARD_BLESS=1 rewrites the expectation to what the code produces)"
    ))
}

/// One blessing at a time: several cases of one file may be blessed by parallel trials.
static BLESSING: Mutex<()> = Mutex::new(());

/// Replaces the text of `expect` in the case named `case` of `file` with `actual` (pretty JSON),
/// indented as the line it starts on; the rest of the file is kept byte for byte.
fn bless_json(file: &Path, case: &str, actual: &str) -> Result<(), String> {
    #[derive(Deserialize)]
    struct Cases<'a> {
        #[serde(borrow)]
        cases: Vec<CaseExpect<'a>>,
    }
    #[derive(Deserialize)]
    struct CaseExpect<'a> {
        name: String,
        #[serde(borrow)]
        expect: &'a RawValue,
    }
    let _one_at_a_time = BLESSING.lock().unwrap_or_else(|e| e.into_inner());
    let text = read(file)?;
    let cases: Cases<'_> =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", shown(file)))?;
    let expect = cases
        .cases
        .iter()
        .find(|c| c.name == case)
        .ok_or_else(|| format!("{}: no case {case:?} to bless", shown(file)))?
        .expect
        .get();
    // `expect` borrows from `text`: its offset there is the distance between their starts.
    let start = (expect.as_ptr() as usize) - (text.as_ptr() as usize);
    let end = start + expect.len();
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = text[line_start..start]
        .chars()
        .take_while(|c| *c == ' ')
        .collect();
    let replacement = actual.replace('\n', &format!("\n{indent}"));
    let updated = format!("{}{replacement}{}", &text[..start], &text[end..]);
    std::fs::write(file, updated).map_err(|e| format!("{}: {e}", shown(file)))?;
    eprintln!("blessed {} case {case:?}", shown(file));
    Ok(())
}

/// Rewrites an `.expected` file: its comment lines as they were, then `actual`.
fn bless_lines(path: &Path, actual: &[String]) -> Result<(), String> {
    let _one_at_a_time = BLESSING.lock().unwrap_or_else(|e| e.into_inner());
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let mut text: String = old
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    for line in actual {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", shown(path)))?;
    eprintln!("blessed {}", shown(path));
    Ok(())
}
