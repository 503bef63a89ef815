//! Hashing, signatures, envelope encryption and keyed pseudonymisation for Rampart.
