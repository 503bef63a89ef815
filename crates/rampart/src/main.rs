//! The `rampart` command-line interface.

fn main() {}
