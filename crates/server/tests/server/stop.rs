//! `stop_signal` registers its handlers when it is called, not when its future is first
//! polled: a SIGTERM that arrives in between must complete the future, not kill the process.

use keyward_server::stop_signal;
use std::process::Command;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigterm_before_the_first_poll_completes_the_stop_future() {
    let stop = stop_signal().unwrap();
    // Not yet polled. Under a lazily registered handler this signal ends the test binary.
    let sent = Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    tokio::time::timeout(Duration::from_secs(10), stop)
        .await
        .expect("the stop future completes on the SIGTERM sent before it was polled");
}
