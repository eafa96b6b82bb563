//! Standard output and standard error that never panic: when the reader has gone (a closed
//! pipe, `keyward lint dir | head -1`), the rest is dropped quietly and the command still ends
//! with its own exit status. (`print!` would panic on the broken pipe.)

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_GONE: AtomicBool = AtomicBool::new(false);

fn write(to: &mut dyn Write, gone: &AtomicBool, text: &str) {
    if gone.load(Ordering::Relaxed) {
        return;
    }
    if to
        .write_all(text.as_bytes())
        .and_then(|()| to.flush())
        .is_err()
    {
        gone.store(true, Ordering::Relaxed);
    }
}

/// Prints `text` as it is.
pub(crate) fn print(text: &str) {
    write(&mut std::io::stdout().lock(), &STDOUT_GONE, text);
}

/// Prints `text` and a newline.
pub(crate) fn println(text: &str) {
    print(&format!("{text}\n"));
}

/// Prints `text` and a newline on standard error (dropped if standard error is closed).
pub(crate) fn eprintln(text: &str) {
    static STDERR_GONE: AtomicBool = AtomicBool::new(false);
    write(
        &mut std::io::stderr().lock(),
        &STDERR_GONE,
        &format!("{text}\n"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_output_is_dropped_quietly() {
        let gone = AtomicBool::new(false);
        write(&mut Closed, &gone, "first");
        assert!(gone.load(Ordering::Relaxed));
        write(&mut Closed, &gone, "second");
    }
}
