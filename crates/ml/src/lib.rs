//! Learning algorithms and statistics for Rampart: pure functions over arrays, no I/O.
