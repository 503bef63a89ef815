//! The model directories of a data dir: publishing a trained model (model file, signed SLSA
//! provenance, OMS signature, audit record) and loading models for scoring through the
//! verifier.
//!
//! Layout: `DATA_DIR/models/<name>/{model.json, provenance.json, model.sig}`. `rampart run`
//! scores with every model there and with the directories listed in `[scoring].models`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use rampart_audit::AuditSink;
use rampart_core::{Event, Format, Ingested};
use rampart_ml::model::Model;
use rampart_registry::{
    KeyStore, LoadOptions, ResourceDescriptor, SignOptions, TrainingRun, audit_signed,
    dataset_file, load_model, sign_model_to_file, write_provenance,
};
use rampart_score::{MODEL_FILE, ScoringModel};
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// `[scoring]`: which models score events in `rampart run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringConfig {
    /// Score with every signed model under `DATA_DIR/models/`. Default true.
    pub data_dir_models: bool,
    /// More signed model directories to score with. Default none.
    pub models: Vec<PathBuf>,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        Self {
            data_dir_models: true,
            models: Vec::new(),
        }
    }
}

/// Where a data dir keeps its models.
pub fn models_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("models")
}

/// Labelled events read from training or evaluation inputs.
pub struct InputEvents {
    /// Events, in input order.
    pub events: Vec<Event>,
    /// Records that could not be read.
    pub dead_letters: u64,
    /// Every input file with its SHA-256, for provenance.
    pub datasets: Vec<ResourceDescriptor>,
}

/// Reads `inputs` (files or directories) into events and describes every file read.
pub fn read_events(
    inputs: &[PathBuf],
    format: Option<Format>,
    config: &Config,
) -> anyhow::Result<InputEvents> {
    let mut datasets = Vec::new();
    for input in inputs {
        anyhow::ensure!(input.exists(), "input `{}` does not exist", input.display());
        for file in files_under(input)? {
            datasets.push(
                dataset_file(&file).with_context(|| format!("cannot hash `{}`", file.display()))?,
            );
        }
    }
    let options = rampart_ingest::ReadOptions {
        format,
        limits: config.ingest.clone(),
    };
    let items = rampart_ingest::read_all(inputs, &options).context("reading inputs failed")?;
    let mut events = Vec::with_capacity(items.len());
    let mut dead_letters = 0;
    for item in items {
        match item {
            Ingested::Event(e) => events.push(*e),
            Ingested::DeadLetter(_) => dead_letters += 1,
            Ingested::Intel(_) => {}
        }
    }
    Ok(InputEvents {
        events,
        dead_letters,
        datasets,
    })
}

/// Labelled events already in the store: every event, or those one run first stored. The
/// provenance names the store and digests the event ids used, in order.
pub fn stored_events(
    store: &dyn rampart_store::Store,
    run: Option<rampart_core::RunId>,
    data_dir: &Path,
) -> anyhow::Result<InputEvents> {
    let query = rampart_store::EventQuery {
        run,
        ..rampart_store::EventQuery::default()
    };
    let events = rampart_store::scan_events(store, query)
        .collect::<Result<Vec<Event>, _>>()
        .context("cannot read events from the store")?;
    let mut ids = String::new();
    for event in &events {
        ids.push_str(&event.id.to_string());
        ids.push('\n');
    }
    let name = match run {
        Some(run) => format!("store:{} events of {run}", data_dir.display()),
        None => format!("store:{} events", data_dir.display()),
    };
    Ok(InputEvents {
        events,
        dead_letters: 0,
        datasets: vec![ResourceDescriptor::sha256(
            name,
            &rampart_registry::sha256_bytes(ids.as_bytes()),
        )],
    })
}

/// Regular files under `path` (itself when it is a file), sorted.
pub(crate) fn files_under(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list `{}`", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The digest recorded in a model file for its training inputs: SHA-256 over each input
/// file's name and digest, in order.
pub fn training_data_digest(datasets: &[ResourceDescriptor]) -> String {
    let mut text = String::new();
    for d in datasets {
        text.push_str(d.name.as_deref().unwrap_or_default());
        text.push(' ');
        text.push_str(d.digest.get("sha256").map_or("", String::as_str));
        text.push('\n');
    }
    format!(
        "sha256:{}",
        hex::encode(rampart_registry::sha256_bytes(text.as_bytes()))
    )
}

/// What publishing wrote.
#[derive(Debug, Serialize)]
pub struct Published {
    /// The model directory.
    pub dir: String,
    /// The OMS signature bundle.
    pub signature: String,
    /// The signed SLSA provenance.
    pub provenance: String,
    /// The signing key's id.
    pub key_id: String,
    /// The signed root digest over the directory's files.
    pub root_digest: String,
}

/// Writes `model` into `dir` with signed provenance and a signature by the data dir's key,
/// and records the signing in the audit log. Refuses to overwrite a directory that holds
/// anything unless `replace` is set.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site per command; each argument is distinct"
)]
pub fn publish(
    dir: &Path,
    model: &Model,
    data_dir: &Path,
    audit: &dyn AuditSink,
    parameters: serde_json::Value,
    datasets: Vec<ResourceDescriptor>,
    started_on: DateTime<Utc>,
    replace: bool,
) -> anyhow::Result<Published> {
    if dir.exists() {
        let occupied = std::fs::read_dir(dir)
            .with_context(|| format!("cannot list `{}`", dir.display()))?
            .next()
            .is_some();
        anyhow::ensure!(
            !occupied || replace,
            "`{}` already holds files; pass `--replace` to overwrite the model there",
            dir.display()
        );
        if occupied {
            for name in [MODEL_FILE, "provenance.json", "model.sig"] {
                let path = dir.join(name);
                if path.exists() {
                    std::fs::remove_file(&path)
                        .with_context(|| format!("cannot remove `{}`", path.display()))?;
                }
            }
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let bytes = model.to_bytes()?;
    std::fs::write(dir.join(MODEL_FILE), bytes)
        .with_context(|| format!("cannot write the model into `{}`", dir.display()))?;
    let keys = KeyStore::open_or_init(data_dir)
        .with_context(|| format!("cannot open the key store in `{}`", data_dir.display()))?;
    let run = TrainingRun {
        parameters,
        datasets,
        invocation_id: rampart_core::RunId::derive(&[
            dir.display().to_string().as_bytes(),
            started_on.to_rfc3339().as_bytes(),
        ])
        .to_string(),
        started_on,
        finished_on: Utc::now(),
    };
    let provenance = write_provenance(dir, keys.signing_key(), &run)
        .context("cannot write the model's provenance")?;
    let (signed, signature) = sign_model_to_file(dir, keys.signing_key(), &SignOptions::default())
        .context("cannot sign the model")?;
    audit_signed(audit, "rampart train", dir, &signed, &signature)
        .context("cannot record the signing in the audit log")?;
    Ok(Published {
        dir: dir.display().to_string(),
        signature: signature.display().to_string(),
        provenance: provenance.display().to_string(),
        key_id: signed.key_id.as_str().to_owned(),
        root_digest: hex::encode(signed.manifest.root_digest()),
    })
}

/// Verifies `dir` against the data dir's trust policy and loads its model for scoring. The
/// load, allowed or refused, is recorded in the audit log.
pub fn load_scoring_model(
    dir: &Path,
    data_dir: &Path,
    audit: &dyn AuditSink,
    actor: &str,
) -> anyhow::Result<ScoringModel> {
    let keys = KeyStore::open_or_init(data_dir)
        .with_context(|| format!("cannot open the key store in `{}`", data_dir.display()))?;
    let options = LoadOptions {
        actor: actor.to_owned(),
        ..LoadOptions::default()
    };
    let verified = load_model(dir, keys.trust(), audit, &options)
        .with_context(|| format!("model `{}` failed verification", dir.display()))?;
    ScoringModel::load(&verified, audit)
        .with_context(|| format!("cannot load the model in `{}`", dir.display()))
}

/// Every model `rampart run` scores with: the data dir's models and the configured ones.
/// A model that fails verification stops the run: scoring with fewer models than configured
/// would be a silent loss of detection.
pub fn configured_models(
    data_dir: &Path,
    config: &ScoringConfig,
    audit: &dyn AuditSink,
) -> anyhow::Result<Vec<ScoringModel>> {
    let mut dirs = Vec::new();
    let root = models_dir(data_dir);
    if config.data_dir_models && root.is_dir() {
        for entry in
            std::fs::read_dir(&root).with_context(|| format!("cannot list `{}`", root.display()))?
        {
            let path = entry?.path();
            if path.join(MODEL_FILE).is_file() {
                dirs.push(path);
            }
        }
        dirs.sort();
    }
    dirs.extend(config.models.iter().cloned());
    dirs.iter()
        .map(|dir| load_scoring_model(dir, data_dir, audit, "rampart run"))
        .collect()
}
