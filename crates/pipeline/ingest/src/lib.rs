//! Readers for real telemetry and threat-intel formats, with dead letters for bad input.
