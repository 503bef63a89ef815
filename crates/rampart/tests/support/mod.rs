//! Running the real `rampart` binary from the integration tests.

#![allow(dead_code, reason = "each test file uses the helpers it needs")]
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test by panicking"
)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Runs `rampart ARGS --data-dir DATA_DIR` with default configuration and quiet logs.
pub fn rampart(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("RAMPART_CONFIG")
        .env("RAMPART_LOG", "warn")
        .output()
        .expect("rampart runs")
}

/// The JSON on stdout of a command that must have succeeded.
pub fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "rampart failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
