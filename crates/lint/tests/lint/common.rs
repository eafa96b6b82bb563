//! Set-up the lint tests share.

use std::path::{Path, PathBuf};

/// `fixtures/lint/NAME`: the lint corpus.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/lint")
        .join(name)
}
