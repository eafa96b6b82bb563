//! Reading policy files (or standard input) with errors that name the file.

use std::io::Read;

/// A file's display name and text.
#[derive(Debug)]
pub struct Input {
    /// How messages name it: the path, or `<stdin>` for `-`.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// Read `path`, or standard input for `-`. The error is a full message for the user.
pub fn read(path: &str) -> Result<Input, String> {
    if path == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("keyward: error: cannot read standard input: {e}"))?;
        return Ok(Input {
            name: "<stdin>".to_owned(),
            text,
        });
    }
    let bytes =
        std::fs::read(path).map_err(|e| format!("keyward: error: cannot read {path}: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        format!("keyward: error: {path}: not UTF-8 text (invalid byte at offset {at})")
    })?;
    Ok(Input {
        name: path.to_owned(),
        text,
    })
}
