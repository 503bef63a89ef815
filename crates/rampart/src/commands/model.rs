//! `rampart model sign|verify|provenance`: model signatures in the OMS v1.0 format (compatible
//! with `model_signing`) and SLSA provenance of model directories.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use rampart_registry::{
    Bundle, KeyStore, SignOptions, TrustPolicy, VerifyOptions, load_public_key, load_signing_key,
    show_provenance, sign_model_to_file, verify_model_with,
};
use serde::Serialize;

use crate::config::Config;
use crate::output::print_json;

/// Arguments of `rampart model`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ModelCommand,
}

/// `rampart model` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Sign every file of a model directory (writes DIR/model.sig; verifiable with
    /// `model_signing verify key`).
    Sign(SignArgs),
    /// Verify a model directory against its signature; exits non-zero with the reason when
    /// any file is changed, missing or extra, or the signer is not trusted.
    Verify(VerifyArgs),
    /// Verify and show the SLSA provenance stored in DIR/provenance.json.
    Provenance(ProvenanceArgs),
    /// Explain one record's score: the exact additive contribution of each input.
    Explain(super::explain::ExplainArgs),
}

/// Arguments of `rampart model sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The model directory.
    pub dir: PathBuf,
    /// PEM private key (ECDSA P-256, PKCS#8 or SEC1). Default: the data dir's own key,
    /// created on first use.
    #[arg(long, value_name = "KEY.pem")]
    pub key: Option<PathBuf>,
    /// Where to write the signature. Default: DIR/model.sig.
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// Path relative to DIR to leave out of the signature (repeatable).
    #[arg(long = "ignore-path", value_name = "PATH")]
    pub ignore_paths: Vec<String>,
}

/// Arguments of `rampart model verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The model directory.
    pub dir: PathBuf,
    /// Verify with this PEM public key only, instead of the data dir's trust policy.
    #[arg(long = "public-key", value_name = "PUB.pem")]
    pub public_key: Option<PathBuf>,
    /// The signature to check. Default: DIR/model.sig.
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// Model name matched against the trust policy's globs. Default: the directory name.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

/// Arguments of `rampart model provenance`.
#[derive(Debug, Args)]
pub struct ProvenanceArgs {
    /// The model directory.
    pub dir: PathBuf,
    /// Verify with this PEM public key only, instead of the data dir's trust policy.
    #[arg(long = "public-key", value_name = "PUB.pem")]
    pub public_key: Option<PathBuf>,
}

#[derive(Serialize)]
struct SignReport {
    model: String,
    signature: String,
    key_id: String,
    files: usize,
    root_digest: String,
}

#[derive(Serialize)]
struct VerifyReport {
    model: String,
    verified: bool,
    key_id: String,
    key_name: String,
    files: usize,
    root_digest: String,
}

/// Runs `rampart model`.
pub fn run(args: &ModelArgs, data_dir: &Path, config: &Config, json: bool) -> anyhow::Result<()> {
    match &args.command {
        ModelCommand::Explain(a) => super::explain::run(a, data_dir, config, json),
        ModelCommand::Sign(a) => sign(a, data_dir, json),
        ModelCommand::Verify(a) => verify(a, data_dir, json),
        ModelCommand::Provenance(a) => provenance(a, data_dir, json),
    }
}

fn sign(args: &SignArgs, data_dir: &Path, json: bool) -> anyhow::Result<()> {
    let key = match &args.key {
        Some(path) => load_signing_key(path)?,
        None => KeyStore::open_or_init(data_dir)
            .with_context(|| format!("cannot open the key store in `{}`", data_dir.display()))?
            .signing_key()
            .clone(),
    };
    let options = SignOptions {
        signature_path: args.signature.clone(),
        ignore_paths: args.ignore_paths.clone(),
    };
    let (signed, path) = sign_model_to_file(&args.dir, &key, &options)
        .with_context(|| format!("cannot sign `{}`", args.dir.display()))?;
    let audit = crate::audit_log::open(data_dir)?;
    rampart_registry::audit_signed(&audit, "rampart model sign", &args.dir, &signed, &path)
        .context("cannot record the signing in the audit log")?;
    let report = SignReport {
        model: rampart_registry::model_name(&args.dir),
        signature: path.display().to_string(),
        key_id: signed.key_id.to_string(),
        files: signed.manifest.len(),
        root_digest: hex_digest(&signed.manifest.root_digest()),
    };
    if json {
        return print_json(&report);
    }
    println!(
        "signed `{}`: {} files, root digest {}, key {}\nsignature written to {}",
        report.model,
        report.files,
        report.root_digest,
        signed.key_id.short(),
        report.signature
    );
    Ok(())
}

/// The trust policy to verify with: one key from the command line, or the data dir's policy.
fn trust_for(public_key: Option<&Path>, data_dir: &Path) -> anyhow::Result<TrustPolicy> {
    match public_key {
        Some(path) => Ok(TrustPolicy::single(
            load_public_key(path)?,
            &path.display().to_string(),
            &["*"],
        )?),
        None => KeyStore::open_or_init(data_dir)
            .map(|store| store.trust().clone())
            .with_context(|| format!("cannot open the key store in `{}`", data_dir.display())),
    }
}

fn verify(args: &VerifyArgs, data_dir: &Path, json: bool) -> anyhow::Result<()> {
    let trust = trust_for(args.public_key.as_deref(), data_dir)?;
    let signature = args
        .signature
        .clone()
        .unwrap_or_else(|| args.dir.join(rampart_registry::SIGNATURE_FILE));
    let bundle = Bundle::read(&signature)?;
    let options = VerifyOptions {
        signature_path: Some(signature),
        model_name: args.name.clone(),
    };
    let verified = verify_model_with(&args.dir, &bundle, &trust, &options)
        .with_context(|| format!("verification of `{}` failed", args.dir.display()))?;
    let report = VerifyReport {
        model: verified.model().to_owned(),
        verified: true,
        key_id: verified.key_id().to_string(),
        key_name: verified.key_name().to_owned(),
        files: verified.manifest().len(),
        root_digest: hex_digest(&verified.manifest().root_digest()),
    };
    if json {
        return print_json(&report);
    }
    println!(
        "verified `{}`: {} files match the signature of `{}` (key {})",
        report.model,
        report.files,
        report.key_name,
        verified.key_id().short()
    );
    Ok(())
}

fn provenance(args: &ProvenanceArgs, data_dir: &Path, json: bool) -> anyhow::Result<()> {
    let trust = trust_for(args.public_key.as_deref(), data_dir)?;
    let shown = show_provenance(&args.dir, &trust)
        .with_context(|| format!("provenance of `{}` does not verify", args.dir.display()))?;
    if json {
        return print_json(&serde_json::json!({
            "model": rampart_registry::model_name(&args.dir),
            "key_id": shown.key_id,
            "key_name": shown.key_name,
            "subject": shown.subjects,
            "predicate": shown.provenance,
        }));
    }
    let p = &shown.provenance;
    let meta = &p.run_details.metadata;
    println!(
        "provenance of `{}` verified (signed by `{}`, key {})",
        rampart_registry::model_name(&args.dir),
        shown.key_name,
        shown.key_id.short()
    );
    println!("  builder:    {}", p.run_details.builder.id);
    println!("  build type: {}", p.build_definition.build_type);
    println!(
        "  run:        {} from {} to {}",
        meta.invocation_id.as_deref().unwrap_or("-"),
        meta.started_on.as_deref().unwrap_or("-"),
        meta.finished_on.as_deref().unwrap_or("-")
    );
    println!(
        "  parameters: {}",
        serde_json::to_string(&p.build_definition.external_parameters)?
    );
    println!("  datasets:");
    for dep in &p.build_definition.resolved_dependencies {
        println!(
            "    {} sha256:{}",
            dep.name.as_deref().or(dep.uri.as_deref()).unwrap_or("-"),
            dep.digest.get("sha256").map_or("-", String::as_str)
        );
    }
    println!("  model files:");
    for subject in &shown.subjects {
        println!(
            "    {} sha256:{}",
            subject.name.as_deref().unwrap_or("-"),
            subject.digest.get("sha256").map_or("-", String::as_str)
        );
    }
    Ok(())
}

fn hex_digest(digest: &[u8; 32]) -> String {
    use std::fmt::Write as _;
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
