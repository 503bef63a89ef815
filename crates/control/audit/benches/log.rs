//! Append and proof benchmarks for the transparency log.

fn main() {}
