//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in `rampart-crypto`.
///
/// Variants keep "bad untrusted input" (a malformed key, a tampered ciphertext, a bad signature)
/// apart from "the environment failed" (I/O, the system random source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A file or directory could not be read or written.
    #[error("cannot access `{path}`: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A reader failed while being hashed.
    #[error("cannot read input while hashing: {0}")]
    Read(#[source] std::io::Error),

    /// A symbolic link was found while hashing a directory that does not allow them.
    #[error("`{path}` is a symbolic link; symlinks are refused unless explicitly allowed")]
    SymlinkRefused {
        /// The symbolic link.
        path: PathBuf,
    },

    /// A directory entry is neither a regular file, a directory nor an allowed symlink.
    #[error("`{path}` is not a regular file or directory; remove it or add it to the ignore list")]
    UnsupportedFileType {
        /// The offending entry.
        path: PathBuf,
    },

    /// A path inside a hashed directory is not valid UTF-8, so it has no portable name.
    #[error("`{path}` has a name that is not valid UTF-8; rename it or add it to the ignore list")]
    NonUtf8Path {
        /// The offending entry.
        path: PathBuf,
    },

    /// Directory hashing went deeper than the nesting limit (usually a symlink loop).
    #[error("`{path}` is a symlink loop or nested deeper than {limit} directories")]
    TooDeep {
        /// Where the limit was hit.
        path: PathBuf,
        /// The limit.
        limit: usize,
    },

    /// Key material could not be parsed.
    #[error("invalid key: {0}")]
    InvalidKey(String),

    /// A key file or variable was too large to be key material.
    #[error("key material in `{source_name}` is larger than {limit} bytes; is it the right file?")]
    KeyTooLarge {
        /// File path or environment variable name.
        source_name: String,
        /// The size limit.
        limit: usize,
    },

    /// A required environment variable is not set (or not valid Unicode).
    #[error("environment variable `{name}` is not set or not valid UTF-8")]
    MissingEnv {
        /// The variable name.
        name: String,
    },

    /// A file that should be created already exists; keys are never overwritten silently.
    #[error("`{path}` already exists; remove it first or choose another path")]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },

    /// A signature is malformed or does not verify.
    #[error("signature verification failed: {0}")]
    BadSignature(String),

    /// The system random number generator failed.
    #[error("system random number generator failed: {0}")]
    Random(String),

    /// A hex or base64 value could not be decoded.
    #[error("cannot decode `{value}`: {reason}")]
    Decode {
        /// The (possibly shortened) offending value; never secret material.
        value: String,
        /// Why decoding failed.
        reason: String,
    },

    /// The keyring holds no key-encryption key with this id.
    #[error(
        "no key-encryption key with id `{kek_id}` in the keyring; add it or restore it before decrypting"
    )]
    UnknownKek {
        /// The missing KEK id.
        kek_id: String,
    },

    /// The key does not match the ciphertext (wrong KEK for a wrapped DEK, or wrong DEK for a field).
    #[error("wrong key: {0}")]
    WrongKey(String),

    /// The record id or field name supplied does not match the one the field was sealed for.
    #[error(
        "associated data mismatch: field was not sealed for record `{record_id}` field `{field}`"
    )]
    AssociatedDataMismatch {
        /// Record id supplied by the caller.
        record_id: String,
        /// Field name supplied by the caller.
        field: String,
    },

    /// The serialized ciphertext is shorter than its header says or than the minimum.
    #[error("truncated ciphertext: need at least {needed} bytes, got {got}")]
    Truncated {
        /// Minimum length.
        needed: usize,
        /// Actual length.
        got: usize,
    },

    /// Authentication failed although key and associated data match: ciphertext or tag altered.
    #[error("authentication tag mismatch: the ciphertext or its tag was altered")]
    TagMismatch,

    /// A serialized form carries a version or type this code does not understand.
    #[error("unsupported format: {0}")]
    UnsupportedFormat(String),

    /// An argument is outside what the operation accepts (caller misuse, not bad data).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl CryptoError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// Names the key file an invalid key was read from; other errors already carry their
    /// context.
    pub(crate) fn in_key_file(self, path: &std::path::Path) -> Self {
        match self {
            Self::InvalidKey(msg) => Self::InvalidKey(format!("`{}`: {msg}", path.display())),
            other => other,
        }
    }
}

/// Fills `buf` from the operating system's random source.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|e| CryptoError::Random(e.to_string()))
}
