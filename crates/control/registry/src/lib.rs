//! Model signing in the OpenSSF OMS format, trust policy and verify-before-load.
