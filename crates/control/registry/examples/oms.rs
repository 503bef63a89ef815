//! Minimal OMS signer/verifier used by `bench/trust/interop.sh` and
//! `bench/trust/model_signing.sh` to drive the library from the shell.
//!
//! ```text
//! oms sign   DIR PRIVATE_KEY.pem [SIGNATURE]   # default SIGNATURE: DIR/model.sig
//! oms verify DIR PUBLIC_KEY.pem  [SIGNATURE]
//! ```
//!
//! Exit status: 0 on success, 1 when verification fails, 2 on usage errors.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rampart_registry::{
    Bundle, RegistryError, SignOptions, TrustPolicy, VerifyOptions, load_public_key,
    load_signing_key, sign_model_to_file, verify_model_with,
};

fn sign(dir: &Path, key: &Path, signature: Option<PathBuf>) -> Result<PathBuf, RegistryError> {
    let key = load_signing_key(key)?;
    let options = SignOptions {
        signature_path: signature,
        ..SignOptions::default()
    };
    let (_, path) = sign_model_to_file(dir, &key, &options)?;
    Ok(path)
}

fn verify(dir: &Path, public: &Path, signature: Option<PathBuf>) -> Result<usize, RegistryError> {
    let key = load_public_key(public)?;
    let trust = TrustPolicy::single(key, "command-line key", &["*"])?;
    let signature = signature.unwrap_or_else(|| dir.join(rampart_registry::SIGNATURE_FILE));
    let bundle = Bundle::read(&signature)?;
    let options = VerifyOptions {
        signature_path: Some(signature),
        model_name: None,
    };
    let verified = verify_model_with(dir, &bundle, &trust, &options)?;
    Ok(verified.manifest().len())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(PathBuf::from);
    match (args.first().map(String::as_str), arg(1), arg(2)) {
        (Some("sign"), Some(dir), Some(key)) => match sign(&dir, &key, arg(3)) {
            Ok(path) => {
                println!("Signing succeeded: {}", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("signing failed: {e}");
                ExitCode::from(1)
            }
        },
        (Some("verify"), Some(dir), Some(key)) => match verify(&dir, &key, arg(3)) {
            Ok(files) => {
                println!("Verification succeeded ({files} files)");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("verification failed: {e}");
                ExitCode::from(1)
            }
        },
        _ => {
            eprintln!(
                "usage: oms sign DIR PRIVATE_KEY.pem [SIGNATURE] | oms verify DIR PUBLIC_KEY.pem [SIGNATURE]"
            );
            ExitCode::from(2)
        }
    }
}
