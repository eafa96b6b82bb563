//! Set-up the lint tests share.

use std::path::{Path, PathBuf};

/// `fixtures/lint/NAME`: the lint corpus.
pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/lint")
        .join(name)
}
