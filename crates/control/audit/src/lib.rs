//! Rampart's tamper-evident transparency log: RFC 6962 Merkle tree, proofs, signed checkpoints.
